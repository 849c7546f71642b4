"""Dispatch: a delivery's events to their handlers, in order, and the one answer they give.

The common delivery (one event, no idempotency store) runs its handlers directly. Any other
takes the steps, written once as a generator that yields each handler call and store
operation and is sent its outcome; :meth:`Dispatcher.dispatch` drives it with plain calls,
:meth:`Dispatcher.dispatch_async` with ``await``. Both ways settle an event's answer with
the same rules. Nothing here knows HTTP beyond :class:`~bwhooks.CallbackResponse`.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from bwhooks import events
from bwhooks.errors import QueueUnavailable, RetryLater
from bwhooks.events import Event, Reply
from bwhooks.http import CallbackRequest, CallbackResponse
from bwhooks.observe import event_ids
from bwhooks.registry import Handler, HandlerRegistry, Registration

if TYPE_CHECKING:  # imported when used: `import bwhooks` stays light
    from bwhooks.idempotency import Claimed, IdempotencyStore

__all__ = ["Dispatched", "Dispatcher", "SyncRunner", "current_request", "handling"]

OK = CallbackResponse.empty()  # immutable: one instance serves every acknowledgement
EMPTY_BXML = CallbackResponse.bxml('<?xml version="1.0" encoding="UTF-8"?><Response/>')
# 409, as the IETF Idempotency-Key draft answers a retry of a request still being processed:
# a 4xx the sender retries unchanged, and every 5xx stays a failure.
RETRY_LATER = CallbackResponse.error(409, "being handled, retry later", (("Retry-After", "5"),))
_STORE = object()  # marks a step that is a store operation: ``(_STORE, call)``
_current: ContextVar[CallbackRequest] = ContextVar("bwhooks_current_request")
_BXML = Reply.BXML
_UNKNOWN: frozenset[type[Event]] = frozenset()  # the unknown event classes, on first use


def _unknown() -> frozenset[type[Event]]:
    global _UNKNOWN  # noqa: PLW0603  (their modules are loaded on first use)
    _UNKNOWN = frozenset(events.UNKNOWN_EVENT_CLASSES)
    return _UNKNOWN


_NONE = Reply.NONE

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


def _key_of(event: Event) -> str:
    from bwhooks.idempotency import idempotency_key

    return idempotency_key(event)


class Dispatcher:
    """Runs a delivery's events through the registry's handlers and settles one answer.

    Each event's handlers run in registration order; a handler that raises stops the
    delivery with ``500``, and so does a second answer. With an ``idempotency`` store
    each event is claimed first: a duplicate runs no handler.
    """

    def __init__(
        self,
        registry: HandlerRegistry,
        logger: logging.Logger,
        *,
        idempotency: IdempotencyStore | None = None,
        handler_timeout: float | None = None,
    ) -> None:
        self.registry = registry
        self.logger = logger
        self.idempotency = idempotency
        self.handler_timeout = handler_timeout

    def dispatch(self, request: CallbackRequest, events: tuple[Event, ...]) -> Dispatched:
        """Run the handlers with plain calls; ``async def`` ones on an event loop of their
        own, so this must not be called from inside a running loop."""
        if self.idempotency is None and len(events) == 1:  # the common delivery, directly
            event = events[0]
            registrations = self.registry.plain_handlers_for(event.__class__)
            if registrations is not None and event.__class__ not in (_UNKNOWN or _unknown()):
                token = _current.set(request)
                try:
                    return self._run(event, registrations), False
                finally:
                    _current.reset(token)
        for event in events:
            if self.registry.any_async(event.__class__):
                _require_no_running_loop()
                break
        steps = self._steps(events)
        token = _current.set(request)
        try:
            step = next(steps)
            while True:
                head = step[0]
                if head.__class__ is Registration:
                    try:
                        result = head.handler(cast(Event, step[1]))
                        if result is not None and _awaitable(result):
                            result = _asyncio().run(_await(result, self.handler_timeout))
                        outcome: _Outcome = (True, result)
                    except Exception as exc:
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
        run_sync: SyncRunner | None = None,
    ) -> Dispatched:
        """Run the handlers on the running loop; ``def`` ones through ``run_sync`` (a
        worker thread by default), so the loop never blocks."""
        run_sync = run_sync or _to_thread
        if self.idempotency is None and len(events) == 1:  # the common delivery, directly
            event = events[0]
            registrations = self.registry.handlers_for(event.__class__)
            if registrations and event.__class__ not in (_UNKNOWN or _unknown()):
                token = _current.set(request)
                try:
                    return await self._run_async(event, registrations, run_sync), False
                finally:
                    _current.reset(token)
        steps = self._steps(events)
        token = _current.set(request)
        try:
            step = next(steps)
            while True:
                head = step[0]
                if head.__class__ is Registration:
                    try:
                        result = await _call_async(
                            head, cast(Event, step[1]), run_sync, self.handler_timeout
                        )
                        outcome: _Outcome = (True, result)
                    except _asyncio().CancelledError as exc:
                        if _being_cancelled():
                            raise  # the request itself is cancelled (server shutdown, ...)
                        outcome = (False, exc)  # the handler's own
                    except Exception as exc:
                        outcome = (False, exc)
                elif head is _STORE:
                    try:
                        outcome = (True, await self._store_call(cast(Callable[[], Any], step[1])))
                    except Exception as exc:
                        outcome = (False, exc)
                else:
                    return cast(Dispatched, step)  # the last item: the answer
                step = steps.send(outcome)
        finally:
            steps.close()  # cancelled: claims are released, the retry must run the handlers
            _current.reset(token)

    async def _store_call(self, call: Callable[[], Any]) -> Any:
        """A store operation under ``dispatch_async``: in a thread when the store does I/O
        (:class:`~bwhooks.idempotency.RedisStore`), so the loop never waits on it."""
        if getattr(self.idempotency, "blocking", True):
            return await _asyncio().to_thread(call)
        return call()

    # -- one event without a store: the common delivery, run directly ---------------------

    def _run(self, event: Event, registrations: tuple[Registration, ...]) -> CallbackResponse:
        """Run a known event's handlers with plain calls (none is ``async def``) and
        settle its answer, as :meth:`_steps` does for any delivery."""
        answer: tuple[Registration, Any] | None = None
        for registration in registrations:
            try:
                result = registration.handler(event)
                if result is not None and _awaitable(result):
                    result = _asyncio().run(_await(result, self.handler_timeout))
            except Exception as exc:
                return self._failure(registration, event, exc)
            if result is not None:
                if answer is not None:
                    return self._conflict(event, answer[0], registration)
                answer = (registration, result)
        return self._settled(event, answer)

    async def _run_async(
        self, event: Event, registrations: tuple[Registration, ...], run_sync: SyncRunner
    ) -> CallbackResponse:
        """The ``async`` twin of :meth:`_run`."""
        answer: tuple[Registration, Any] | None = None
        for registration in registrations:
            try:
                result = await _call_async(registration, event, run_sync, self.handler_timeout)
            except _asyncio().CancelledError as exc:
                if _being_cancelled():
                    raise  # the request itself is cancelled (server shutdown, ...)
                return self._failure(registration, event, exc)  # the handler's own
            except Exception as exc:
                return self._failure(registration, event, exc)
            if result is not None:
                if answer is not None:
                    return self._conflict(event, answer[0], registration)
                answer = (registration, result)
        return self._settled(event, answer)

    def _settled(self, event: Event, answer: tuple[Registration, Any] | None) -> CallbackResponse:
        """The answer to an event whose handlers all returned: the one a handler gave, or
        the default (an empty BXML document where Bandwidth waits for one, else ``200``)."""
        if answer is not None:
            return self._answer(event, *answer)
        if event.REPLY is _BXML:
            return self._unanswered(event)
        return OK

    # -- the steps, written once ----------------------------------------------------------

    def _steps(self, events: tuple[Event, ...]) -> _Steps:
        """Each event in order: claim it, run its handlers, settle its answer.

        An event's handlers run in registration order; the first failure, or a second
        answer, is that event's ``500``. The delivery stops at the first answer that is not
        ``2xx``; otherwise its answer is the one a handler gave, or the events' default (an
        empty ``200``, or an empty BXML document for a synchronous Voice v2 callback).
        """
        explicit: CallbackResponse | None = None
        default = OK
        duplicates = 0
        for event in events:
            key: str | None = None
            if self.idempotency is not None:
                key = _key_of(event)
                early = self._early(event, (yield _STORE, partial(self.idempotency.claim, key)))
                if early is not None:
                    duplicates += 1
                    if len(events) == 1 or not 200 <= early.status < 300:
                        yield early, True
                        return
                    continue  # handled before: the retried delivery skips it
            answer: tuple[Registration, Any] | None = None
            response: CallbackResponse | None = None
            try:
                for registration in self._registrations(event):
                    succeeded, result = yield registration, event
                    if not succeeded:
                        response = self._failure(registration, event, result)
                        break
                    if result is not None:
                        if answer is not None:
                            response = self._conflict(event, answer[0], registration)
                            break
                        answer = (registration, result)
            except BaseException:  # cancelled, interrupted: the retry must run it
                if key is not None:
                    self._release(key)
                raise
            if response is None:
                response = self._settled(event, answer)
            if key is not None:
                _stored((yield _STORE, self._settle(key, response)))
            if not 200 <= response.status < 300:
                yield response, False
                return
            if answer is None:
                default = response
            elif explicit is None:
                explicit = response
            else:
                yield self._error("several events of one delivery answered"), False
                return
        yield (default if explicit is None else explicit), duplicates == len(events)

    def _registrations(self, event: Event) -> tuple[Registration, ...]:
        registrations = self.registry.handlers_for(event.__class__)
        unknown = event.__class__ in (_UNKNOWN or _unknown())
        if registrations and not unknown:
            return registrations  # the common case
        if unknown:
            self.logger.info(
                "unknown callback event type %r (%s)", event.event_type, event_ids(event)
            )
        elif not registrations:
            self.logger.info("no handler for %s event (%s)", event.event_type, event_ids(event))
        return registrations

    # -- answers --------------------------------------------------------------------------

    def _unanswered(self, event: Event) -> CallbackResponse:
        """A synchronous Voice v2 webhook no handler answered: an empty BXML document."""
        if event.ENDS_CALL_UNANSWERED:
            self.logger.warning(
                "no handler answered the %s event (%s) with BXML: the empty answer ends the call",
                event.event_type,
                event_ids(event),
            )
        return EMPTY_BXML

    def _answer(self, event: Event, registration: Registration, result: Any) -> CallbackResponse:
        if result.__class__ is str and event.REPLY is not _NONE:  # BXML text: the usual answer
            return CallbackResponse.bxml(result)
        response = _to_response(result)
        if response is None:
            self.logger.error(
                "handler %s returned a %s for %s event (%s); return None, BXML (str, bytes or "
                "an object with to_bxml()) or a CallbackResponse",
                registration.name,
                type(result).__name__,
                event.event_type,
                event_ids(event),
            )
            return self._error("handler returned an unusable answer")
        if event.REPLY is _NONE and not isinstance(result, CallbackResponse):
            self.logger.error(
                "handler %s returned BXML for the %s event (%s), whose answer Bandwidth "
                "ignores: not sent",
                registration.name,
                event.event_type,
                event_ids(event),
            )
            return OK
        return response

    def _conflict(self, event: Event, *authors: Registration) -> CallbackResponse:
        self.logger.error(
            "handlers %s both answered the %s event (%s): an answer must have one author",
            " and ".join(r.name for r in authors),
            event.event_type,
            event_ids(event),
        )
        return self._error("several handlers answered")

    def _failure(
        self, registration: Registration, event: Event, error: BaseException
    ) -> CallbackResponse:
        if isinstance(error, RetryLater):
            self.logger.info(
                "%s asked for a later delivery of the %s event (%s): %s",
                registration.name,
                event.event_type,
                event_ids(event),
                error,
            )
            return RETRY_LATER
        if isinstance(error, QueueUnavailable):
            self.logger.error(
                "%s: the %s event (%s) could not be queued (%s): answered 500 so that "
                "Bandwidth delivers it again",
                registration.name,
                event.event_type,
                event_ids(event),
                error,
            )
            return self._error("could not queue the event")
        if isinstance(error, TimeoutError | _asyncio().TimeoutError):
            self.logger.error(
                "handler %s ran past %ss on %s event (%s): cancelled",
                registration.name,
                self.handler_timeout,
                event.event_type,
                event_ids(event),
            )
        else:
            self.logger.error(
                "handler %s failed on %s event (%s)",
                registration.name,
                event.event_type,
                event_ids(event),
                exc_info=error,
            )
        return self._error("handler failed")

    def _error(self, reason: str) -> CallbackResponse:
        return CallbackResponse.error(500, reason)

    # -- duplicates -----------------------------------------------------------------------

    def _early(self, event: Event, outcome: _Outcome) -> CallbackResponse | None:
        """What a claim found: ``None`` to run the handlers, else the duplicate's answer."""
        from bwhooks.idempotency import Claim

        claimed: Claimed = _stored(outcome)

        if claimed.claim is Claim.NEW:
            return None
        if claimed.claim is Claim.DONE and claimed.response is not None:
            self.logger.info(
                "duplicate %s event (%s): answered again", event.event_type, event_ids(event)
            )
            return claimed.response
        self.logger.info(
            "duplicate %s event (%s) while the first is handled: retry asked",
            event.event_type,
            event_ids(event),
        )
        return RETRY_LATER

    def _settle(self, key: str, response: CallbackResponse) -> Callable[[], None]:
        """The store call that settles a claim: release it after a failure, or when a
        handler asked for a later delivery (:class:`~bwhooks.errors.RetryLater`): that delivery
        must run the handlers. Otherwise keep the answer for duplicates."""
        assert self.idempotency is not None
        if response.status >= 500 or response is RETRY_LATER:
            return partial(self.idempotency.release, key)
        return partial(self.idempotency.complete, key, response)

    def _release(self, key: str) -> None:
        assert self.idempotency is not None
        self.idempotency.release(key)


def _stored(outcome: _Outcome) -> Any:
    """The result of a store call, or its exception raised (the store is unreachable: the
    server answers ``500``)."""
    if not outcome[0]:
        raise outcome[1]
    return outcome[1]


def _awaitable(result: Any) -> bool:
    """Whether a handler's result is to be awaited (the usual answers are told at once)."""
    kind = result.__class__
    return kind is not str and kind is not CallbackResponse and inspect.isawaitable(result)


def _to_response(result: Any) -> CallbackResponse | None:
    if result.__class__ is str or isinstance(result, bytes | str):
        return CallbackResponse.bxml(result)
    if isinstance(result, CallbackResponse):
        return result
    to_bxml = getattr(result, "to_bxml", None)
    if callable(to_bxml):
        document = to_bxml()
        if isinstance(document, (str, bytes)):
            return CallbackResponse.bxml(document)
    return None


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


def _call_async(
    registration: Registration, event: Event, run_sync: SyncRunner, timeout: float | None
) -> Awaitable[Any]:
    """What to await for one handler: an ``async def`` handler's own coroutine (no frame
    around it), bounded by ``timeout`` when there is one; a ``def`` handler in a thread."""
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
