"""A deadline for all the handlers of an event: a 911 routing query's budget.

An event whose family sets a deadline (:meth:`bwhooks.families.Family.deadline`, a
``time.monotonic()`` instant counted from when the request was read) has its handlers run in
turn, each given what is left of it (at most the receiver's ``handler_timeout`` for an
``async def`` one). A handler is never started once the deadline passed. On an event loop
an ``async def`` handler still running at the deadline is cancelled, and a plain ``def`` one
is awaited in its thread no longer: left to finish there, its result is dropped (and told
once it comes). Each of these raises :class:`OutOfBudget` for dispatch to note. On a sync
server a ``def`` handler cannot be stopped: it runs to its end.

Plain ``def`` handlers of such events run on a small pool of their own (unless the server
passed its own ``run_sync``), which the slow handlers of other events cannot fill.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from bwhooks.events import Event
from bwhooks.registry import Registration

__all__ = ["POOL_SIZE", "OutOfBudget", "call", "run"]

#: Threads of the pool that runs the ``def`` handlers of events with a deadline.
POOL_SIZE = 4

_NOT_STARTED = "was not started: the budget had run out"
_pool: list[ThreadPoolExecutor] = []  # one, once started
_pool_lock = threading.Lock()


class OutOfBudget(Exception):
    """A handler was not started, or stopped being awaited, at its event's deadline.

    ``str()`` says which; ``late`` is the outcome of a ``def`` handler left running in its
    thread (its result or exception, dropped), else ``None``."""

    def __init__(self, what: str, late: Future[Any] | None = None) -> None:
        super().__init__(what)
        self.late = late


def call(registration: Registration, event: Event, timeout: float | None, deadline: float) -> Any:
    """One handler on a sync server: not started past ``deadline``; an ``async def`` one
    awaited on a loop of its own until the deadline (``timeout`` if sooner)."""
    if time.monotonic() >= deadline:
        raise OutOfBudget(_NOT_STARTED)
    result = registration.handler(event)
    if result is not None and inspect.isawaitable(result):
        import asyncio

        result = asyncio.run(_within(result, timeout, deadline))
    return result


async def run(
    registration: Registration,
    event: Event,
    run_sync: Callable[[Callable[[Event], Any], Event], Awaitable[Any]] | None,
    timeout: float | None,
    deadline: float,
) -> Any:
    """One handler on an event loop: not started past ``deadline``; an ``async def`` one
    cancelled at it (``timeout`` if sooner); a ``def`` one in a thread (``run_sync``, else
    the pool of its own), awaited until the deadline."""
    if time.monotonic() >= deadline:
        raise OutOfBudget(_NOT_STARTED)
    if registration.is_async:
        return await _within(registration.handler(event), timeout, deadline)
    result = await _in_thread(registration.handler, event, run_sync, deadline)
    if result is not None and inspect.isawaitable(result):
        result = await _within(result, timeout, deadline)
    return result


async def _within(awaitable: Any, timeout: float | None, deadline: float) -> Any:
    """Await an ``async`` handler's result until ``deadline``, or for ``timeout`` when
    that ends sooner (then its ``TimeoutError`` is the receiver's handler timeout's)."""
    import asyncio

    left = deadline - time.monotonic()
    if timeout is not None and timeout < left:
        return await asyncio.wait_for(awaitable, timeout)
    try:
        return await asyncio.wait_for(awaitable, max(left, 0.0))
    except asyncio.TimeoutError:
        if time.monotonic() < deadline:
            raise  # the handler's own
        raise OutOfBudget("ran past the budget: cancelled") from None


async def _in_thread(
    handler: Callable[[Event], Any],
    event: Event,
    run_sync: Callable[[Callable[[Event], Any], Event], Awaitable[Any]] | None,
    deadline: float,
) -> Any:
    """A ``def`` handler in a thread, awaited until ``deadline``: one that has not started
    by then never starts; one still running is left to finish, its outcome in ``late``."""
    import asyncio

    outcome: Future[Any] = Future()

    def guarded(event: Event) -> Any:  # in the thread
        if time.monotonic() >= deadline:
            outcome.cancel()
        if not outcome.set_running_or_notify_cancel():
            return None  # the deadline passed before a thread took it: never started
        try:
            result = handler(event)
        except BaseException as exc:
            outcome.set_exception(exc)
            raise
        outcome.set_result(result)
        return result

    waiting: Awaitable[Any]
    if run_sync is None:
        context = contextvars.copy_context()  # current_request() works in the handler
        waiting = asyncio.get_running_loop().run_in_executor(
            _threads(), context.run, guarded, event
        )
    else:
        waiting = run_sync(guarded, event)
    try:
        result = await asyncio.wait_for(waiting, max(deadline - time.monotonic(), 0.0))
    except asyncio.TimeoutError:
        if outcome.cancel():  # still waiting for a thread: it never runs
            raise OutOfBudget(f"{_NOT_STARTED}, waiting for a thread") from None
        raise OutOfBudget(
            "ran past the budget: left running in its thread, its result is dropped", outcome
        ) from None
    if outcome.cancelled():  # a thread took it once the deadline had passed
        raise OutOfBudget(f"{_NOT_STARTED}, waiting for a thread")
    return result


def _threads() -> ThreadPoolExecutor:
    """The pool of :data:`POOL_SIZE` threads of the ``def`` handlers with a deadline,
    started on first use."""
    with _pool_lock:
        if not _pool:
            _pool.append(ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="bwhooks-deadline"))
        return _pool[0]
