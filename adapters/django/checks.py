"""System checks: the ``BWHOOKS`` setting, and receivers that accept anyone."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from bwhooks.adapters.django.views import known_receivers, receiver_from_settings
from bwhooks.receiver import Receiver

_KEYS = {"RECEIVER", "ASYNC"}
_HINT = 'Build it with Receiver(auth=BasicAuth.from_env()) (BWHOOKS_CREDENTIALS="user:pass").'


@register(Tags.security)
def check_bwhooks(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """bwhooks.E001 bad BWHOOKS setting; E002 no auth outside DEBUG (W001 in DEBUG)."""
    config = getattr(settings, "BWHOOKS", None)
    messages: list[CheckMessage] = []
    receivers = known_receivers()
    if config is not None:
        if not isinstance(config, dict) or set(config) - _KEYS:
            messages.append(
                Error(
                    f"BWHOOKS must be a dict with the keys {sorted(_KEYS)}",
                    id="bwhooks.E001",
                )
            )
        elif "RECEIVER" in config:
            try:
                receivers.append(receiver_from_settings())
            except (ImportError, ImproperlyConfigured) as exc:
                messages.append(Error(f'BWHOOKS["RECEIVER"]: {exc}', id="bwhooks.E001"))
    messages.extend(_insecure(receiver) for receiver in _unique(receivers) if receiver.auth is None)
    return messages


def _insecure(receiver: Receiver) -> CheckMessage:
    text = "a bwhooks Receiver has no credentials: anyone can post callbacks to it"
    if settings.DEBUG:
        return Warning(text, hint=_HINT, obj=receiver, id="bwhooks.W001")
    return Error(text, hint=_HINT, obj=receiver, id="bwhooks.E002")


def _unique(receivers: list[Receiver]) -> list[Receiver]:
    return list({id(receiver): receiver for receiver in receivers}.values())
