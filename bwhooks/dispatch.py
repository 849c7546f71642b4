"""Dispatch: a delivery's events to their handlers, in order, and the one answer they give.

The common delivery (one event, no idempotency store) runs its handlers directly. Any other
takes the steps, written once as a generator that yields each handler call and store
operation and is sent its outcome; :meth:`Dispatcher.dispatch` drives it with plain calls,
:meth:`Dispatcher.dispatch_async` with ``await``. Both ways settle an event's answer with
the same rules (:mod:`bwhooks.answers`, :mod:`bwhooks.duplicates`). Nothing here logs: what
is worth telling about an event becomes a :class:`~bwhooks.notes.Note` for the delivery's
report. Nothing here knows HTTP beyond :class:`~bwhooks.CallbackResponse`.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from bwhooks.answers import OK, RETRY_LATER, Rules, answering, conflict, error, failure
from bwhooks.budget import call, run
from bwhooks.duplicates import found, key_of, release, settle, store_failed
from bwhooks.events import Event
from bwhooks.families import DEFAULT, Families
from bwhooks.http import CallbackRequest, CallbackResponse
from bwhooks.notes import Fact, Note
from bwhooks.registry import Handler, HandlerRegistry, Registration

if TYPE_CHECKING:  # imported when used: `import bwhooks` stays light
    from bwhooks.idempotency import IdempotencyStore

__all__ = ["OK", "Dispatched", "Dispatcher", "SyncRunner", "current_request", "handling"]

_STORE = object()  # marks a step that is a store operation: ``(_STORE, call)``
_current: ContextVar[CallbackRequest] = ContextVar("bwhooks_current_request")


SyncRunner = Callable[[Callable[[Event], Any], Event], Awaitable[Any]]
"""How ``handle_async`` runs a plain ``def`` handler: ``await run_sync(handler, event)``."""
Dispatched = tuple[CallbackResponse, bool]
"""The answer to a delivery, and whether it was a duplicate (answered without handlers)."""
_Call = tuple[Registration, Event] | tuple[object, Callable[[], Any]]
_Outcome = tuple[bool, Any]  # (True, the handler's result) or (False, its exception)
# The steps yield each handler call, then the delivery's answer as their last item (a final
# yield costs less than the StopIteration of a return).
_Steps = Generator[_Call | Dispatched, _Outcome, None]


def current_request() -> CallbackRequest:
    """The :class:`~bwhooks.CallbackRequest` being handled.

    Raises ``LookupError`` outside a handler.
    """
    try:
        return _current.get()
    except LookupError:
        raise LookupError("current_request() is only available inside a handler") from None


@contextmanager
def handling(request: CallbackRequest) -> Iterator[None]:
    """Make ``request`` what :func:`current_request` returns inside the block (a queue's
    worker runs a handler in it)."""
    token = _current.set(request)
    try:
        yield
    finally:
        _current.reset(token)


class Dispatcher:
    """Runs a delivery's events through the registry's handlers and settles one answer.

    Each event's handlers run in registration order; a handler that raises stops the
    delivery with ``500``, and so does a second answer, which each event's family builds
    (``families``: every family bwhooks reads). With an ``idempotency`` store each event
    is claimed first: a duplicate runs no handler. What the delivery's report tells of its
    events goes to the ``notes`` each dispatch is given.
    """

    def __init__(
        self,
        registry: HandlerRegistry,
        *,
        idempotency: IdempotencyStore | None = None,
        handler_timeout: float | None = None,
        families: Families = DEFAULT,
    ) -> None:
        self.registry = registry
        self.idempotency = idempotency
        self.handler_timeout = handler_timeout
        self.families = families
        self._unknown: frozenset[type[Event]] | None = None  # their classes, on first use
        self._answering: dict[type[Event], Rules] = {}

    def _settled(
        self, event: Event, answer: tuple[Registration, Any] | None, notes: list[Note]
    ) -> CallbackResponse:
        """The answer to an event whose handlers all returned, as its family builds it:
        from the value a handler returned, or the family's default when none answered."""
        rules = self._answering.get(event.__class__) or self._rules(event)
        if answer is None:
            return rules[1](event, notes)
        return rules[0](event, answer[1], answer[0].name, notes)

    def _failed(
        self, event: Event, response: CallbackResponse, notes: list[Note]
    ) -> CallbackResponse:
        """The answer to an event whose handlers failed (``response``), as its family
        builds it (the failure's own by default)."""
        rule = (self._answering.get(event.__class__) or self._rules(event))[2]
        return response if rule is None else rule(event, response, notes)

    def _preempted(self, event: Event, notes: list[Note]) -> CallbackResponse | None:
        """The answer ``event``'s family gives instead of running its handlers (an event
        that must not reach them), else ``None``."""
        rule = (self._answering.get(event.__class__) or self._rules(event))[3]
        return None if rule is None else rule(event, notes)

    def _rules(self, event: Event) -> Rules:
        """How events of this one's class are answered (its family's rules), kept."""
        cls = event.__class__
        rules = self._answering[cls] = answering(self.families.of(cls))
        return rules

    def _deadline(self, event: Event) -> float | None:
        """When all of ``event``'s handlers must have returned: its family's, else ``None``."""
        rule = (self._answering.get(event.__class__) or self._rules(event))[4]
        return None if rule is None else rule(event)

    def _unknown_classes(self) -> frozenset[type[Event]]:
        self._unknown = self.families.unknown  # their modules are loaded on first use
        return self._unknown

    def dispatch(
        self, request: CallbackRequest, events: tuple[Event, ...], notes: list[Note]
    ) -> Dispatched:
        """Run the handlers with plain calls; ``async def`` ones on an event loop of their
        own, so this must not be called from inside a running loop. ``notes`` receives what
        the report tells of the events, in order, and keeps it if dispatch raises."""
        if self.idempotency is None and len(events) == 1:  # the common delivery, directly
            event = events[0]
            registrations = self.registry.plain_handlers_for(event.__class__)
            if registrations is not None and event.__class__ not in (
                self._unknown or self._unknown_classes()
            ):
                token = _current.set(request)
                try:
                    return self._run(event, registrations, notes), False
                finally:
                    _current.reset(token)
        for event in events:
            if self.registry.any_async(event.__class__):
                _require_no_running_loop()
                break
        steps = self._steps(events, notes)
        token = _current.set(request)
        try:
            step = next(steps)
            while True:
                head = step[0]
                if head.__class__ is Registration:
                    try:
                        event = cast(Event, step[1])
                        result = _call(head, event, self.handler_timeout, self._deadline(event))
                        outcome: _Outcome = (True, result)
                    except (Exception, _asyncio().CancelledError) as exc:  # the handler's own
                        outcome = (False, exc)
                elif head is _STORE:
                    try:
                        outcome = (True, cast(Callable[[], Any], step[1])())
                    except Exception as exc:
                        outcome = (False, exc)
                else:
                    return cast(Dispatched, step)  # the last item: the answer
                step = steps.send(outcome)
        finally:
            steps.close()  # interrupted (KeyboardInterrupt, ...): claims are released
            _current.reset(token)

    async def dispatch_async(
        self,
        request: CallbackRequest,
        events: tuple[Event, ...],
        notes: list[Note],
        run_sync: SyncRunner | None = None,
    ) -> Dispatched:
        """Run the handlers on the running loop; ``def`` ones through ``run_sync`` (a
        worker thread by default), so the loop never blocks. ``notes`` as in
        :meth:`dispatch`."""
        run_sync = run_sync or _to_thread
        if self.idempotency is None and len(events) == 1:  # the common delivery, directly
            event = events[0]
            registrations = self.registry.handlers_for(event.__class__)
            if registrations and event.__class__ not in (self._unknown or self._unknown_classes()):
                token = _current.set(request)
                try:
                    return await self._run_async(event, registrations, run_sync, notes), False
                finally:
                    _current.reset(token)
        steps = self._steps(events, notes)
        token = _current.set(request)
        try:
            step = next(steps)
            while True:
                head = step[0]
                if head.__class__ is Registration:
                    try:
                        event = cast(Event, step[1])
                        deadline = self._deadline(event)
                        timeout = self.handler_timeout
                        result = await _call_async(head, event, run_sync, timeout, deadline)
                        outcome: _Outcome = (True, result)
                    except _asyncio().CancelledError as exc:
                        if _being_cancelled():
                            raise  # the request itself is cancelled (server shutdown, ...)
                        outcome = (False, exc)  # the handler's own
                    except Exception as exc:
                        outcome = (False, exc)
                elif head is _STORE:
                    try:
                        call = cast(Callable[[], Any], step[1])
                        outcome = (True, await _store_call(self.idempotency, call))
                    except Exception as exc:
                        outcome = (False, exc)
                else:
                    return cast(Dispatched, step)  # the last item: the answer
                step = steps.send(outcome)
        finally:
            steps.close()  # cancelled: claims are released, the retry must run the handlers
            _current.reset(token)

    # -- one event without a store: the common delivery, run directly ---------------------

    def _run(
        self, event: Event, registrations: tuple[Registration, ...], notes: list[Note]
    ) -> CallbackResponse:
        """Run a known event's handlers with plain calls (none is ``async def``) and
        settle its answer, as :meth:`_steps` does for any delivery."""
        preempted = self._preempted(event, notes)
        if preempted is not None:
            return preempted
        answer: tuple[Registration, Any] | None = None
        rules = self._answering.get(event.__class__) or self._rules(event)  # _settled, inlined
        deadline = None if rules[4] is None else rules[4](event)
        for registration in registrations:
            try:
                if deadline is not None:
                    result = call(registration, event, self.handler_timeout, deadline)
                else:
                    result = registration.handler(event)
                    if result is not None and _awaitable(result):
                        result = _asyncio().run(_await(result, self.handler_timeout))
            except (Exception, _asyncio().CancelledError) as exc:  # nothing else cancels here
                failed = failure(registration, event, exc, self.handler_timeout, notes)
                return self._failed(event, failed, notes)
            if result is not None:
                if answer is not None:
                    failed = conflict(event, (answer[0], registration), notes)
                    return self._failed(event, failed, notes)
                answer = (registration, result)
        if answer is None:
            return rules[1](event, notes)
        return rules[0](event, answer[1], answer[0].name, notes)

    async def _run_async(
        self,
        event: Event,
        registrations: tuple[Registration, ...],
        run_sync: SyncRunner,
        notes: list[Note],
    ) -> CallbackResponse:
        """The ``async`` twin of :meth:`_run`."""
        preempted = self._preempted(event, notes)
        if preempted is not None:
            return preempted
        answer: tuple[Registration, Any] | None = None
        timeout, deadline = self.handler_timeout, self._deadline(event)
        for registration in registrations:
            try:
                result = await _call_async(registration, event, run_sync, timeout, deadline)
            except _asyncio().CancelledError as exc:
                if _being_cancelled():
                    raise  # the request itself is cancelled (server shutdown, ...)
                failed = failure(registration, event, exc, timeout, notes)  # the handler's own
                return self._failed(event, failed, notes)
            except Exception as exc:
                failed = failure(registration, event, exc, timeout, notes)
                return self._failed(event, failed, notes)
            if result is not None:
                if answer is not None:
                    failed = conflict(event, (answer[0], registration), notes)
                    return self._failed(event, failed, notes)
                answer = (registration, result)
        return self._settled(event, answer, notes)

    # -- the steps, written once ----------------------------------------------------------

    def _steps(self, events: tuple[Event, ...], notes: list[Note]) -> _Steps:
        """Each event in order: claim it, run its handlers, settle its answer.

        An event's handlers run in registration order; the first failure, or a second
        answer, is that event's ``500``. The delivery stops at the first answer that is not
        ``2xx``; otherwise its answer is the one a handler gave, or the events' default (an
        empty ``200``, or an empty BXML document for a synchronous Voice v2 callback).
        """
        store = self.idempotency
        explicit: CallbackResponse | None = None
        default = OK
        duplicates = 0
        for event in events:
            claimed: tuple[IdempotencyStore, str] | None = None  # the store, the event's key
            if store is not None and event.CLAIMED:
                key = key_of(event)
                outcome = yield _STORE, partial(store.claim, key)
                claimed = (store, key) if outcome[0] else None
                decided = _claim_decides(event, outcome, notes, self._failed)
                if decided is not None:
                    early, duplicate = decided
                    duplicates += duplicate
                    if not duplicate or len(events) == 1 or not 200 <= early.status < 300:
                        yield early, duplicate
                        return
                    continue  # handled before: the retried delivery skips it
            answer: tuple[Registration, Any] | None = None
            response = self._preempted(event, notes)
            registrations = () if response is not None else _registrations(self, event, notes)
            try:
                for registration in registrations:
                    succeeded, result = yield registration, event
                    if not succeeded:
                        response = failure(registration, event, result, self.handler_timeout, notes)
                        response = self._failed(event, response, notes)
                        break
                    if result is not None:
                        if answer is not None:
                            response = conflict(event, (answer[0], registration), notes)
                            response = self._failed(event, response, notes)
                            break
                        answer = (registration, result)
            except BaseException:  # cancelled, interrupted: the retry must run it
                if claimed is not None:
                    release(*claimed)
                raise
            if response is None:
                response = self._settled(event, answer, notes)
            if claimed is not None:  # a store that fails now leaves the answer as it is
                _noted(event, (yield _STORE, settle(*claimed, response)), notes)
            if not 200 <= response.status < 300:
                yield response, False
                return
            if answer is None:
                default = response
            elif explicit is None:
                explicit = response
            else:
                yield error("several events of one delivery answered"), False
                return
        yield (default if explicit is None else explicit), duplicates == len(events)


def _registrations(
    dispatcher: Dispatcher, event: Event, notes: list[Note]
) -> tuple[Registration, ...]:
    """The handlers of ``event`` (none for an unknown type), noting why none runs."""
    registry = dispatcher.registry
    registrations = registry.handlers_for(event.__class__)
    unknown = event.__class__ in (dispatcher._unknown or dispatcher._unknown_classes())
    if registrations and not unknown:
        return registrations  # the common case
    notes.append(Note(Fact.UNKNOWN_TYPE if unknown else Fact.NO_HANDLER, event))
    skipping = registry.queued_skipping(event.__class__)
    if skipping:  # an INLINE_ONLY event: say why its queued handlers did not run
        detail = event.INLINE_ONLY
        notes.append(Note(Fact.INLINE_ONLY, event, " and ".join(skipping), detail))
    return registrations


async def _store_call(store: IdempotencyStore | None, call: Callable[[], Any]) -> Any:
    """A store operation under ``dispatch_async``: in a thread when the store does I/O
    (:class:`~bwhooks.idempotency.RedisStore`), so the loop never waits on it."""
    if getattr(store, "blocking", True):
        return await _asyncio().to_thread(call)
    return call()


def _claim_decides(
    event: Event,
    outcome: _Outcome,
    notes: list[Note],
    failed: Callable[[Event, CallbackResponse, list[Note]], CallbackResponse],
) -> tuple[CallbackResponse, bool] | None:
    """What the claim of ``event`` (the store call's outcome) decides: ``None`` to run its
    handlers, else its answer and whether it is a duplicate's (handled before, or still
    being handled: then its family may answer instead of the ``409``). A store that
    failed lets an event Bandwidth never delivers again run without a claim; any other
    gets a failure's answer (``failed``: its family's)."""
    if not outcome[0]:
        if store_failed(event, outcome[1], notes, claiming=True):
            return None
        return failed(event, error("idempotency store unavailable"), notes), False
    early = found(event, outcome[1], notes)
    if early is RETRY_LATER:
        early = failed(event, early, notes)
    return None if early is None else (early, True)


def _noted(event: Event, outcome: _Outcome, notes: list[Note]) -> None:
    """Note a store call that failed once ``event`` was handled (its answer stands)."""
    if not outcome[0]:
        store_failed(event, outcome[1], notes, claiming=False)


def _awaitable(result: Any) -> bool:
    """Whether a handler's result is to be awaited (the usual answers are told at once)."""
    kind = result.__class__
    return kind is not str and kind is not CallbackResponse and inspect.isawaitable(result)


def _asyncio() -> ModuleType:
    """asyncio, imported when first needed: ``import bwhooks`` stays light for sync servers
    (an event loop can only be running once asyncio has been imported)."""
    import asyncio

    return asyncio


def _require_no_running_loop() -> None:
    if "asyncio" not in sys.modules:
        return
    try:
        _asyncio().get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "Receiver.handle() cannot run async handlers inside a running event loop; "
        "await Receiver.handle_async() instead"
    )


async def _await(awaitable: Any, timeout: float | None = None) -> Any:
    if timeout is None:
        return await awaitable
    return await _asyncio().wait_for(awaitable, timeout)


def _being_cancelled() -> bool:
    """Whether the request's own task is being cancelled (not just a handler's error).

    Python 3.10 cannot tell the two apart: there a ``CancelledError`` always counts as the
    request's cancellation and goes on to the server, as cancellations must.
    """
    task = _asyncio().current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return bool(cancelling()) if cancelling is not None else True


async def _to_thread(handler: Callable[[Event], Any], event: Event) -> Any:
    return await _asyncio().to_thread(handler, event)


def _call(
    registration: Registration, event: Event, timeout: float | None, deadline: float | None
) -> Any:
    """One handler called on a sync server: an ``async def`` one run on a loop of its own,
    bounded by ``timeout``; within its event's ``deadline`` when it has one
    (:mod:`bwhooks.budget`)."""
    if deadline is not None:
        return call(registration, event, timeout, deadline)
    result = registration.handler(event)
    if result is not None and _awaitable(result):
        result = _asyncio().run(_await(result, timeout))
    return result


def _call_async(
    registration: Registration,
    event: Event,
    run_sync: SyncRunner,
    timeout: float | None,
    deadline: float | None = None,
) -> Awaitable[Any]:
    """What to await for one handler: an ``async def`` handler's own coroutine (no frame
    around it), bounded by ``timeout`` when there is one; a ``def`` handler in a thread.
    Within its event's ``deadline`` when it has one (:mod:`bwhooks.budget`: a ``def``
    handler on its pool unless the server gave ``run_sync``)."""
    if deadline is not None:
        return run(
            registration, event, None if run_sync is _to_thread else run_sync, timeout, deadline
        )
    if registration.is_async:
        coroutine = registration.handler(event)
        return coroutine if timeout is None else _asyncio().wait_for(coroutine, timeout)
    return _in_thread(registration.handler, event, run_sync)


async def _in_thread(handler: Handler, event: Event, run_sync: SyncRunner) -> Any:
    # A thread cannot be stopped: no timeout for def handlers.
    result = await run_sync(handler, event)
    if result is not None and _awaitable(result):
        result = await result
    return result
