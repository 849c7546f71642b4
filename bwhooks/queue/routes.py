"""Where a handler's work goes: one Celery queue, priority and rate limit per handler.

.. code-block:: python

    @receiver.on(RecordingCompleteEvent, queue=queue.route(queue="slow", rate_limit="10/m"))
    def transcribe(event: RecordingCompleteEvent) -> None: ...

A :class:`Route` is what ``CeleryQueue.route(...)`` gives ``on(..., queue=)``: the handler
is bound to the queue as any other, and its work is published with the route's options,
again when it is retried, swept or drained from the spool. A rate limit is Celery's, per
task and per worker: each distinct rate limit has a task of its own
(:func:`task_name`), registered where the route is made, by receivers and workers alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from bwhooks.events import Event
from bwhooks.registry import Handler

__all__ = ["Route", "RouteOptions", "task_name"]

#: A Celery rate limit: tasks per second, minute or hour (``"10/m"``), or per second.
_RATE = re.compile(r"[0-9]+(\.[0-9]+)?(/[smh])?", re.ASCII)
#: A broker queue's name, as Celery's routing keys spell them.
_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}", re.ASCII)


@attrs.frozen
class RouteOptions:
    """A handler's Celery ``queue`` (``None``: the app's default queue), ``priority``
    (0 to 255, as the broker orders them; ``None``: none) and ``rate_limit`` (``"10/m"``: at most
    that many runs per worker; ``None``: none)."""

    queue: str | None = None
    priority: int | None = None
    rate_limit: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.queue is not None and not _QUEUE.fullmatch(self.queue):
            raise ValueError(f"route queue {self.queue!r}: a broker queue name")
        if self.priority is not None and not 0 <= self.priority <= 255:
            raise ValueError(f"route priority {self.priority!r}: 0 to 255")
        if self.rate_limit is not None and not _RATE.fullmatch(self.rate_limit):
            raise ValueError(
                f"route rate_limit {self.rate_limit!r}: Celery's form, such as '10/s', "
                "'100/m' or '1000/h'"
            )

    def publish_options(self) -> dict[str, Any]:
        """The options of ``apply_async`` for this route."""
        options: dict[str, Any] = {}
        if self.queue is not None:
            options["queue"] = self.queue
        if self.priority is not None:
            options["priority"] = self.priority
        return options


def task_name(queue_name: str, rate_limit: str | None) -> str:
    """The Celery task that runs a queue's work: ``bwhooks.<queue>.run``, and one per rate
    limit, ``bwhooks.<queue>.run.per-10-m``."""
    base = f"bwhooks.{queue_name}.run"
    if rate_limit is None:
        return base
    return f"{base}.per-{rate_limit.replace('/', '-').replace('.', '_')}"


class RoutedQueue(Protocol):
    """What a route needs of its queue: to bind a handler and remember its route."""

    def bind(self, handler: Handler) -> Callable[[Event], None]:
        """Register ``handler``; return its publisher."""

    def bind_route(self, handler: Handler, options: RouteOptions) -> Callable[[Event], None]:
        """Register ``handler`` with ``options``; return its publisher."""


@attrs.frozen
class Route:
    """A queue with a handler's routing options, for ``on(..., queue=)``."""

    queue: RoutedQueue
    options: RouteOptions

    def bind(self, handler: Handler) -> Callable[[Event], None]:
        """Register ``handler`` on the queue with this route's options."""
        return self.queue.bind_route(handler, self.options)
