"""Django: a csrf-exempt view for a :class:`~bwhooks.Receiver`, an ``include()``-able urls
module, an AppConfig with system checks.

```python
path("callbacks", callback_view(receiver))  # in urls.py, with your receiver, or with
path("callbacks", include("bwhooks.adapters.django.urls"))  # settings.BWHOOKS["RECEIVER"]
```

Add ``"bwhooks.adapters.django"`` to ``INSTALLED_APPS`` for the system checks.
"""

from __future__ import annotations

from bwhooks.extras import missing_extra

try:
    import django  # noqa: F401
except ImportError as exc:  # pragma: no cover  (tested in a subprocess without Django)
    raise missing_extra("django", "Django", "django") from exc

from bwhooks.adapters.django.views import callback_view, receiver_from_settings

__all__ = ["callback_view", "receiver_from_settings"]
