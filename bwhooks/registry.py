"""Which handlers run for which event: a registry keyed by event class."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import attrs

from bwhooks.events import Event

__all__ = ["Handler", "HandlerRegistry", "Queue", "Registration", "handler_name"]

Handler = Callable[[Any], Any | Awaitable[Any]]
H = TypeVar("H", bound=Handler)


class Queue(Protocol):
    """What ``Receiver.on(..., queue=...)`` needs: a publisher for each handler. The core owns
    this protocol; a queue engine (:class:`bwhooks.queue.celery.CeleryQueue`) implements it."""

    def bind(self, handler: Handler) -> Callable[[Event], None]:
        """Remember ``handler`` for the workers; return what the receiver calls instead."""
        ...


def handler_name(handler: Handler) -> str:
    """A handler's qualified name, for logs."""
    return str(getattr(handler, "__qualname__", repr(handler)))


@attrs.frozen
class Registration:
    """One handler and the event classes it was registered for.

    ``handler`` is what dispatch calls: the function itself, or, for a handler registered
    with a ``queue``, the queue's publisher of it (``queue`` is then set).
    """

    handler: Handler
    event_classes: tuple[type[Event], ...]
    is_async: bool
    queue: Queue | None = None
    name: str = attrs.field(default=attrs.Factory(lambda self: handler_name(self.handler), True))


class HandlerRegistry:
    """Handlers by event class, run in the order they were registered.

    A handler registered for a class receives that class and its subclasses; register for
    :class:`~bwhooks.events.Event` to receive everything, unknown events included. A queued
    handler never receives an event whose answer must come from the request
    (:attr:`~bwhooks.events.Event.INLINE_ONLY`: port-out validation requests).
    """

    def __init__(self) -> None:
        self._registrations: list[Registration] = []
        self._by_class: dict[type[Event], tuple[Registration, ...]] = {}
        self._async: dict[type[Event], bool] = {}
        self._plain: dict[type[Event], tuple[Registration, ...] | None] = {}

    def on(self, *event_classes: type[Event], queue: Queue | None = None) -> Callable[[H], H]:
        """Decorator: run the decorated function (``def`` or ``async def``) for these events;
        with a ``queue``, on a worker of that queue instead (its return value is ignored)."""
        if not event_classes:
            raise TypeError("on() needs at least one event class, e.g. on(AnswerEvent)")
        for cls in event_classes:
            if not (isinstance(cls, type) and issubclass(cls, Event)):
                raise TypeError(f"on() takes event classes, not {cls!r}")

        def register(handler: H) -> H:
            self.add(handler, *event_classes, queue=queue)
            return handler

        return register

    def add(
        self, handler: Handler, *event_classes: type[Event], queue: Queue | None = None
    ) -> None:
        """Register ``handler`` for ``event_classes`` (the call form of :meth:`on`)."""
        if not callable(handler):
            raise TypeError(f"a handler must be callable, not {handler!r}")
        if queue is not None:
            _require_queueable(event_classes)
            # Dispatch calls the queue's publisher: a plain function (a thread under ASGI).
            publisher = queue.bind(handler)
            registration = Registration(
                publisher, event_classes, False, queue, f"{handler_name(handler)} (queued)"
            )
        else:
            is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
                getattr(handler, "__call__", None)  # noqa: B004  (objects with async __call__)
            )
            registration = Registration(handler, event_classes, is_async)
        self._registrations.append(registration)
        self._by_class.clear()
        self._async.clear()
        self._plain.clear()

    def handlers_for(self, event_class: type[Event]) -> tuple[Registration, ...]:
        """The registrations that match ``event_class``, in registration order (cached)."""
        found = self._by_class.get(event_class)
        if found is None:
            inline_only = bool(event_class.INLINE_ONLY)
            found = tuple(
                r
                for r in self._registrations
                if issubclass(event_class, r.event_classes)
                and not (inline_only and r.queue is not None)
            )
            self._by_class[event_class] = found
        return found

    def plain_handlers_for(self, event_class: type[Event]) -> tuple[Registration, ...] | None:
        """The registrations for ``event_class`` when there are some and none is ``async``
        (what runs with plain calls), else ``None`` (cached with the lookup)."""
        try:
            return self._plain[event_class]
        except KeyError:
            found = self.handlers_for(event_class)
            plain = found if found and not self.any_async(event_class) else None
            self._plain[event_class] = plain
            return plain

    def any_async(self, event_class: type[Event]) -> bool:
        """Whether any handler for ``event_class`` is ``async`` (cached with the lookup)."""
        found = self._async.get(event_class)
        if found is None:
            found = self._async[event_class] = any(
                r.is_async for r in self.handlers_for(event_class)
            )
        return found

    def queued_skipping(self, event_class: type[Event]) -> tuple[str, ...]:
        """The names of the queued handlers registered for a base of ``event_class`` that
        do not receive it (an :attr:`~bwhooks.events.Event.INLINE_ONLY` class)."""
        if not event_class.INLINE_ONLY:
            return ()
        return tuple(
            r.name
            for r in self._registrations
            if r.queue is not None and issubclass(event_class, r.event_classes)
        )

    def __len__(self) -> int:
        return len(self._registrations)


def _require_queueable(event_classes: tuple[type[Event], ...]) -> None:
    """``TypeError`` for a queued handler of a class whose answer must come from the
    request (:attr:`~bwhooks.events.Event.INLINE_ONLY`)."""
    for cls in event_classes:
        if cls.INLINE_ONLY:
            raise TypeError(
                f"a handler of {cls.__name__} cannot be queued: {cls.INLINE_ONLY}. Register "
                "it without queue= (a queued handler of Event or of a base class runs for "
                "the other events and never receives these)"
            )
