"""The view: a translation from Django's request and response to the core's."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import decorators
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from bwhooks.adapters.wsgi import environ_headers, query_bytes
from bwhooks.events import Event
from bwhooks.http import CallbackResponse
from bwhooks.receiver import Receiver

# Django 5.1+ has LoginRequiredMiddleware; callbacks are exempt from it.
login_not_required: Callable[[Any], Any] = getattr(
    decorators, "login_not_required", lambda view: view
)

__all__ = ["callback_view", "known_receivers", "receiver_from_settings"]

_served: weakref.WeakKeyDictionary[Callable[..., Any], Receiver] = weakref.WeakKeyDictionary()


def callback_view(receiver: Receiver, *, asynchronous: bool = False) -> Callable[..., Any]:
    """A csrf-exempt Django view serving ``receiver`` (``asynchronous=True`` for ASGI).

    The body is read from the request stream up to the receiver's limit, so an oversized
    callback gets the receiver's 413 before Django's own upload limit could apply. Under
    the async view, plain ``def`` handlers run through ``sync_to_async`` (thread-sensitive),
    where Django's database connections are safe to use.
    """

    def view(request: HttpRequest) -> HttpResponse:
        answer = receiver.handle_stream(
            request.method or "GET",
            request.path_info,
            environ_headers(request.META),
            request.read,
            **_parts(request),
        )
        return _to_django(answer)

    async def async_view(request: HttpRequest) -> HttpResponse:
        async def read(size: int) -> bytes:  # the ASGI handler has spooled the body already
            return request.read(size)

        answer = await receiver.handle_stream_async(
            request.method or "GET",
            request.path_info,
            environ_headers(request.META),
            read,
            run_sync=_thread_sensitive,
            **_parts(request),
        )
        return _to_django(answer)

    exempt: Callable[..., Any] = login_not_required(
        csrf_exempt(async_view if asynchronous else view)
    )
    _served[exempt] = receiver
    return exempt


def receiver_from_settings() -> Receiver:
    """The receiver named by ``settings.BWHOOKS["RECEIVER"]`` (a dotted path), imported."""
    config = getattr(settings, "BWHOOKS", {})
    dotted = config.get("RECEIVER") if isinstance(config, dict) else None
    if not dotted:
        raise ImproperlyConfigured('set BWHOOKS = {"RECEIVER": "myapp.callbacks.receiver"}')
    receiver = import_string(dotted)
    if not isinstance(receiver, Receiver):
        raise ImproperlyConfigured(f'BWHOOKS["RECEIVER"] ({dotted}) is not a bwhooks.Receiver')
    return receiver


def known_receivers() -> list[Receiver]:
    """The receivers that views serve (what the system checks look at)."""
    return list(_served.values())


def _parts(request: HttpRequest) -> dict[str, Any]:
    remote = request.META.get("REMOTE_ADDR")
    return {
        "query_string": query_bytes(request.META.get("QUERY_STRING", "")),
        "client": (remote, int(request.META.get("REMOTE_PORT") or 0)) if remote else None,
    }


async def _thread_sensitive(handler: Callable[[Event], Any], event: Event) -> Any:
    return await sync_to_async(handler, thread_sensitive=True)(event)


def _to_django(answer: CallbackResponse) -> HttpResponse:
    response = HttpResponse(answer.body, status=answer.status)
    if "Content-Type" not in answer.headers:
        del response["Content-Type"]
    for name, value in answer.headers.pairs():
        response[name] = value
    return response
