"""Flask: an extension that mounts a :class:`~bwhooks.Receiver` at a path through a Blueprint.

```python
callbacks = BandwidthCallbacks(receiver)          # app factory style ...
callbacks.init_app(app)                           # ... or BandwidthCallbacks(receiver, app)
```

The path is ``path`` unless the app's config sets ``BWHOOKS_PATH``. Several receivers
(voice and messaging, say) mount side by side, each on its own path. With
``use_async=True`` the view is ``async`` (``pip install "flask[async]"``) and runs
handlers through ``Receiver.handle_stream_async``.
"""

from __future__ import annotations

import re
from typing import Any

from bwhooks.adapters.wsgi import environ_headers, handle_environ
from bwhooks.extras import missing_extra
from bwhooks.http import CallbackResponse
from bwhooks.receiver import Receiver

try:
    import flask
except ImportError as exc:  # pragma: no cover  (tested in a subprocess without Flask)
    raise missing_extra("flask", "Flask", "flask") from exc

__all__ = ["METHODS", "BandwidthCallbacks"]

#: Every method goes to the receiver, which answers 405 itself for the ones it refuses.
METHODS = ["GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"]


class BandwidthCallbacks:
    """A Flask extension serving Bandwidth callbacks for ``receiver`` at ``path``."""

    def __init__(
        self,
        receiver: Receiver,
        app: flask.Flask | None = None,
        *,
        path: str = "/callbacks",
        use_async: bool = False,
    ) -> None:
        self.receiver = receiver
        self.path = path
        self.use_async = use_async
        if app is not None:
            self.init_app(app)

    def init_app(self, app: flask.Flask) -> None:
        """Mount the receiver on ``app`` (config ``BWHOOKS_PATH`` overrides the path)."""
        path = app.config.get("BWHOOKS_PATH", self.path)
        blueprint = flask.Blueprint("bwhooks" + re.sub(r"\W", "_", path), __name__)
        view = self._async_view if self.use_async else self._view
        blueprint.add_url_rule(
            path, "callbacks", view, methods=METHODS, provide_automatic_options=False
        )
        app.register_blueprint(blueprint)
        app.extensions.setdefault("bwhooks", {})[path] = self

    def _view(self) -> flask.Response:
        return _to_flask(handle_environ(self.receiver, flask.request.environ))

    async def _async_view(self) -> flask.Response:
        request = flask.request

        async def read(size: int) -> bytes:  # Flask's stream is synchronous underneath
            return request.stream.read(size)

        answer = await self.receiver.handle_stream_async(
            request.method,
            request.path,
            environ_headers(request.environ),
            read,
            query_string=request.query_string,
            client=_client(request.environ),
        )
        return _to_flask(answer)


def _client(environ: dict[str, Any]) -> tuple[str, int] | None:
    remote = environ.get("REMOTE_ADDR")
    return (remote, int(environ.get("REMOTE_PORT") or 0)) if remote else None


def _to_flask(answer: CallbackResponse) -> flask.Response:
    response = flask.Response(answer.body, status=answer.status, headers=answer.headers.pairs())
    if "Content-Type" not in answer.headers:
        del response.headers["Content-Type"]
    return response
