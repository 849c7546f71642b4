"""The Django app config: ``INSTALLED_APPS += ["bwhooks.adapters.django"]``."""

from __future__ import annotations

from django.apps import AppConfig


class BwhooksConfig(AppConfig):
    """Registers bwhooks' system checks."""

    name = "bwhooks.adapters.django"
    label = "bwhooks"
    verbose_name = "Bandwidth callbacks (bwhooks)"

    def ready(self) -> None:
        from bwhooks.adapters.django import checks  # noqa: F401  (registers the checks)
