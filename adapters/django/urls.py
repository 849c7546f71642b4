"""``path("callbacks", include("bwhooks.adapters.django.urls"))``: serves the receiver named
by ``settings.BWHOOKS["RECEIVER"]``; ``BWHOOKS["ASYNC"] = True`` gives the async view."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

from bwhooks.adapters.django.views import callback_view, receiver_from_settings

app_name = "bwhooks"


def _view() -> Any:
    config = getattr(settings, "BWHOOKS", {})
    asynchronous = bool(config.get("ASYNC", False)) if isinstance(config, dict) else False
    return callback_view(receiver_from_settings(), asynchronous=asynchronous)


urlpatterns = [path("", _view(), name="callbacks")]

__all__ = ["HttpRequest", "HttpResponse", "app_name", "urlpatterns"]
