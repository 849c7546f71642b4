"""The Receiver: verify, parse, dispatch, respond; no web framework involved."""

from __future__ import annotations

import hmac
import inspect
import logging
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

if TYPE_CHECKING:  # imported when used: `import bwhooks` stays light
    from bwhooks.idempotency import IdempotencyStore
    from bwhooks.network import AllowList

from bwhooks.auth import Authenticator, AuthResult, BasicAuth
from bwhooks.body import AsyncRead, Read, read_limited, read_limited_async
from bwhooks.errors import InsecureReceiverWarning, InvalidCallback
from bwhooks.events import Event, UnknownEvent
from bwhooks.http import (
    CallbackRequest,
    CallbackResponse,
    Headers,
    HeadersInput,
    _request_of,
    _to_headers,
)
from bwhooks.observe import Outcome, mask_payload
from bwhooks.parsing import decode_json_body, decode_query, parse_event, quick_parse, to_payload
from bwhooks.registry import Handler, HandlerRegistry, Registration

__all__ = ["DEFAULT_MAX_BODY_SIZE", "Receiver", "SyncRunner", "current_request"]

DEFAULT_MAX_BODY_SIZE = 1_000_000
_ALLOWED = (("Allow", "GET, HEAD, POST"),)
_RETRY = (("Retry-After", "5"),)
_OK = CallbackResponse.empty()  # immutable: one instance serves every acknowledgement
_current: ContextVar[CallbackRequest] = ContextVar("bwhooks_current_request")
H = TypeVar("H", bound=Handler)
_Answer = tuple[Registration, Any]  # a handler's non-None result, and who returned it
SyncRunner = Callable[[Callable[[Event], Any], Event], Awaitable[Any]]
"""How ``handle_async`` runs a plain ``def`` handler: ``await run_sync(handler, event)``."""


def current_request() -> CallbackRequest:
    """The :class:`~bwhooks.CallbackRequest` being handled.

    Raises ``LookupError`` outside a handler.
    """
    try:
        return _current.get()
    except LookupError:
        raise LookupError("current_request() is only available inside a handler") from None


class Receiver:
    """Receives Bandwidth callbacks: verifies, parses, dispatches to handlers, responds.

    ``auth`` verifies each request (a :class:`~bwhooks.BasicAuth`); ``auth=None`` accepts
    anyone and warns with :class:`~bwhooks.InsecureReceiverWarning`. Bodies over
    ``max_body_size`` bytes are refused with ``413``. With an ``idempotency`` store
    (:class:`~bwhooks.idempotency.MemoryStore`, :class:`~bwhooks.idempotency.RedisStore`),
    a duplicate delivery is answered without running the handlers again. An ``async``
    handler running past ``handler_timeout`` seconds is cancelled (the answer is ``500``).
    ``metrics`` is called with an :class:`Outcome` for every callback; each is also logged
    at INFO on the ``bwhooks.receiver`` logger. ``allow`` (an
    :class:`~bwhooks.network.AllowList`) refuses clients outside its networks with ``403``.
    """

    def __init__(
        self,
        auth: Authenticator | None = None,
        *,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        logger: logging.Logger | None = None,
        idempotency: IdempotencyStore | None = None,
        handler_timeout: float | None = None,
        metrics: Callable[[Outcome], None] | None = None,
        allow: AllowList | None = None,
    ) -> None:
        if auth is None:
            warnings.warn(
                "Receiver(auth=None) accepts callbacks from anyone; "
                "pass auth=BasicAuth(...) with the credentials of your callback URL",
                InsecureReceiverWarning,
                stacklevel=2,
            )
        if not isinstance(max_body_size, int) or max_body_size <= 0:
            raise ValueError("max_body_size must be a positive number of bytes")
        self.auth = auth
        self.max_body_size = max_body_size
        self.idempotency = idempotency
        self.handler_timeout = handler_timeout
        self.metrics = metrics
        self.allow = allow
        # The one-step path for the common request needs to know the credentials exactly:
        # () without auth, the exact headers with BasicAuth, None (never) for other verifiers.
        self._exact_auth: tuple[bytes, ...] | None = (
            () if auth is None else auth.exact_headers() if type(auth) is BasicAuth else None
        )
        if allow is not None:
            self._exact_auth = None  # every request takes the general path and its checks
        self.logger = logger or logging.getLogger("bwhooks.receiver")
        self.registry = HandlerRegistry()

    def on(self, *event_classes: type[Event]) -> Callable[[H], H]:
        """Decorator: run the function (``def`` or ``async def``) for these event classes.

        A class matches its subclasses too; handlers run in registration order.
        """
        return self.registry.on(*event_classes)

    # -- checks that need no body ---------------------------------------------------------

    def early_response(
        self, method: str, headers: Headers, client: tuple[str, int] | None = None
    ) -> CallbackResponse | None:
        """The answer to a request that can be given before reading its body, else ``None``.

        Adapters call this first, so that a wrong method (405), a client outside the
        allow-list (403), missing or bad credentials (401) and a ``Content-Length`` over
        the limit (413) never cost a body read.
        """
        if method != "POST" and method != "GET":  # noqa: PLR1714  (the common case first)
            method = method.upper()
        if method == "HEAD":
            return _OK
        if method not in ("POST", "GET"):
            return CallbackResponse.error(405, "method not allowed", _ALLOWED)
        if self.allow is not None and not self.allow.allows(client, headers):
            self.logger.warning("callback refused: client address not allowed")
            return CallbackResponse.error(403, "forbidden")
        if self.auth is not None:
            result = self.auth.check(headers)
            if result is not AuthResult.OK:
                if result is AuthResult.INVALID:
                    self.logger.warning("callback refused: invalid credentials")
                return CallbackResponse.error(401, "unauthorized", self.auth.challenge())
        length = headers.get("Content-Length")
        if length is not None:
            if not length.isdigit() and not length.strip().isdigit():
                return CallbackResponse.error(400, "invalid Content-Length")
            if int(length) > self.max_body_size:
                return self._too_large()
        if method == "POST" and not _is_json(headers.get("Content-Type")):
            return CallbackResponse.error(415, "content type must be application/json")
        return None

    def _too_large(self) -> CallbackResponse:
        return CallbackResponse.error(413, f"body over {self.max_body_size} bytes")

    def accept(self, request: CallbackRequest) -> Event | CallbackResponse:
        """Verify and parse ``request`` without dispatching it.

        Returns the event, or the response that refuses the request (401, 413, 400, ...).
        This is what a framework dependency needs (``fastapi.verified_event``).
        """
        early = self.early_response(request.method, request.headers, request.client)
        return early if early is not None else self._parse(request)

    def _parse_checked(self, request: CallbackRequest) -> Event | CallbackResponse:
        """Parse a request whose method and headers passed :meth:`early_response`."""
        if request.method == "POST":
            event = quick_parse(request.body)
            if event is not None:
                return event
        return self._parse(request)

    def _parse(self, request: CallbackRequest) -> Event | CallbackResponse:
        if len(request.body) > self.max_body_size:
            return self._too_large()
        payload: Mapping[str, Any]
        try:
            if request.method == "GET":
                payload = decode_query(request.query_string)
            else:
                payload = decode_json_body(request.body)
            return parse_event(MappingProxyType(payload))
        except InvalidCallback as exc:
            self.logger.warning("callback refused: %s", exc.reason)
            return CallbackResponse.error(400, exc.reason)

    # -- for adapters: checks first, then a body read up to the limit ---------------------

    def read_request(
        self,
        method: str,
        path: str,
        headers: HeadersInput,
        read: Read,
        *,
        query_string: bytes = b"",
        client: tuple[str, int] | None = None,
    ) -> CallbackRequest | CallbackResponse:
        """Build the request from a server's parts, or refuse it before reading its body.

        Method and headers are checked first (405, 401, 413 by ``Content-Length``, 415);
        only then is the body read with ``read(n)``, never past ``max_body_size + 1``
        bytes (413).
        """
        headers = _to_headers(headers)
        if not self._quick_checks(method, headers):  # the common request needs no more
            early = self.early_response(method, headers, client)
            if early is not None:
                return early
        body = read_limited(read, self.max_body_size)
        if body is None:
            return self._too_large()
        return _request_of(method, path, headers, body, query_string=query_string, client=client)

    async def read_request_async(
        self,
        method: str,
        path: str,
        headers: HeadersInput,
        read: AsyncRead,
        *,
        query_string: bytes = b"",
        client: tuple[str, int] | None = None,
    ) -> CallbackRequest | CallbackResponse:
        """The ``async`` twin of :meth:`read_request`."""
        headers = _to_headers(headers)
        if not self._quick_checks(method, headers):  # the common request needs no more
            early = self.early_response(method, headers, client)
            if early is not None:
                return early
        body = await read_limited_async(read, self.max_body_size)
        if body is None:
            return self._too_large()
        return _request_of(method, path, headers, body, query_string=query_string, client=client)

    def handle_stream(
        self,
        method: str,
        path: str,
        headers: HeadersInput,
        read: Read,
        *,
        query_string: bytes = b"",
        client: tuple[str, int] | None = None,
    ) -> CallbackResponse:
        """Answer a request whose body is still unread: what a sync adapter calls.

        :meth:`read_request`, then parsing and dispatch as in :meth:`handle`.
        """
        headers = _to_headers(headers)
        request = self.read_request(
            method, path, headers, read, query_string=query_string, client=client
        )
        if isinstance(request, CallbackResponse):
            self._observe(headers, None, request, 0.0)
            return request
        return self._dispatch_sync(request, self._parse_checked(request))

    async def handle_stream_async(
        self,
        method: str,
        path: str,
        headers: HeadersInput,
        read: AsyncRead,
        *,
        query_string: bytes = b"",
        client: tuple[str, int] | None = None,
        run_sync: SyncRunner | None = None,
    ) -> CallbackResponse:
        """The ``async`` twin of :meth:`handle_stream`: what an async adapter calls."""
        headers = _to_headers(headers)
        request = await self.read_request_async(
            method, path, headers, read, query_string=query_string, client=client
        )
        if isinstance(request, CallbackResponse):
            self._observe(headers, None, request, 0.0)
            return request
        return await self._dispatch_async(request, self._parse_checked(request), run_sync)

    # -- handling -------------------------------------------------------------------------

    def handle(self, request: CallbackRequest) -> CallbackResponse:
        """Answer one callback request (for sync servers).

        ``async def`` handlers run to completion on an event loop of their own, so this
        must not be called from inside a running loop: use :meth:`handle_async` there.
        """
        event = self._quick_accept(request)
        return self._dispatch_sync(request, event or self.accept(request))

    def _quick_accept(self, request: CallbackRequest) -> Event | None:
        """The common request in one step: a POST of JSON, the exact credentials header, a
        known event with well-typed fields. ``None`` sends anything else down the general
        path, which checks, answers and explains it in full."""
        body = request.body
        if len(body) > self.max_body_size or not self._quick_checks(
            request.method, request.headers
        ):
            return None
        return quick_parse(body)

    def _quick_checks(self, method: str, headers: Headers) -> bool:
        """Whether the method and headers are those of the common request, which
        :meth:`early_response` would let through: a POST, the exact credentials header
        (compared in constant time), a JSON content type, a ``Content-Length`` within the
        limit. ``False`` only means: take the general path."""
        exact = self._exact_auth
        if exact is None or method != "POST":
            return False
        first = headers.first_values()
        if exact:
            found = first.get("authorization")
            if found is None or not found[1].isascii():
                return False
            raw = found[1].encode()
            matched = False
            for expected in exact:  # every pair, in constant time
                matched |= hmac.compare_digest(raw, expected)
            if not matched:
                return False
        found = first.get("content-type")
        if found is None or found[1] not in _JSON_TYPES:
            return False
        found = first.get("content-length")
        return found is None or (found[1].isdigit() and int(found[1]) <= self.max_body_size)

    def _dispatch_sync(
        self, request: CallbackRequest, event: Event | CallbackResponse
    ) -> CallbackResponse:
        if isinstance(event, CallbackResponse):
            self._observe(request.headers, None, event, 0.0)
            return event
        if self.idempotency is None and not self._observing():
            return self._run_sync(request, event)  # nothing to time, store or report
        started = time.perf_counter()
        if self.idempotency is None:
            response = self._run_sync(request, event)
            self._observe(request.headers, event, response, time.perf_counter() - started)
            return response
        key, early = self._claim(event)
        if early is not None:
            self._observe(request.headers, event, early, 0.0, duplicate=True)
            return early
        try:
            response = self._run_sync(request, event)
        except BaseException:
            self.idempotency.release(key)
            raise
        self._observe(request.headers, event, response, time.perf_counter() - started)
        return self._settle(key, response)

    def _run_sync(self, request: CallbackRequest, event: Event) -> CallbackResponse:
        registrations = self._registrations(event)
        if registrations and self.registry.any_async(event.__class__):
            _require_no_running_loop()
        token = _current.set(request)
        try:
            answer: _Answer | None = None
            for registration in registrations:  # the same steps as handle_async, without await
                try:
                    result = registration.handler(event)
                    if result is not None and inspect.isawaitable(result):
                        result = _asyncio().run(_await(result, self.handler_timeout))
                except Exception:
                    return self._failure(registration, event)
                if result is not None:
                    if answer is not None:
                        return self._conflict(event, answer[0], registration)
                    answer = (registration, result)
            return _OK if answer is None else self._answer(event, answer)
        finally:
            _current.reset(token)

    async def handle_async(
        self, request: CallbackRequest, *, run_sync: SyncRunner | None = None
    ) -> CallbackResponse:
        """Answer one callback request (for async servers).

        Plain ``def`` handlers run in a worker thread (``asyncio.to_thread``), so the event
        loop never blocks; ``run_sync`` replaces that (Django passes ``sync_to_async``).
        """
        event = self._quick_accept(request)
        return await self._dispatch_async(request, event or self.accept(request), run_sync)

    async def _dispatch_async(
        self,
        request: CallbackRequest,
        event: Event | CallbackResponse,
        run_sync: SyncRunner | None,
    ) -> CallbackResponse:
        if isinstance(event, CallbackResponse):
            self._observe(request.headers, None, event, 0.0)
            return event
        if self.idempotency is None and not self._observing():
            return await self._run_async(request, event, run_sync)
        started = time.perf_counter()
        if self.idempotency is None:
            response = await self._run_async(request, event, run_sync)
            self._observe(request.headers, event, response, time.perf_counter() - started)
            return response
        key, early = self._claim(event)
        if early is not None:
            self._observe(request.headers, event, early, 0.0, duplicate=True)
            return early
        try:
            response = await self._run_async(request, event, run_sync)
        except BaseException:  # cancelled, say: the retry must be processed
            self.idempotency.release(key)
            raise
        self._observe(request.headers, event, response, time.perf_counter() - started)
        return self._settle(key, response)

    async def _run_async(
        self, request: CallbackRequest, event: Event, run_sync: SyncRunner | None
    ) -> CallbackResponse:
        token = _current.set(request)
        try:
            answer: _Answer | None = None
            for registration in self._registrations(event):
                try:
                    result = await _run_async(
                        registration, event, run_sync or _to_thread, self.handler_timeout
                    )
                except _asyncio().CancelledError:
                    if _being_cancelled():
                        raise  # the request itself is cancelled (server shutdown, disconnect)
                    return self._failure(registration, event)  # the handler's own
                except Exception:
                    return self._failure(registration, event)
                if result is not None:
                    if answer is not None:
                        return self._conflict(event, answer[0], registration)
                    answer = (registration, result)
            return _OK if answer is None else self._answer(event, answer)
        finally:
            _current.reset(token)

    def _observing(self) -> bool:
        """Whether outcomes are reported: a metrics hook, or INFO logging enabled."""
        return self.metrics is not None or self.logger.isEnabledFor(logging.INFO)

    def _observe(
        self,
        headers: Headers,
        event: Event | None,
        response: CallbackResponse,
        duration: float,
        *,
        duplicate: bool = False,
    ) -> None:
        """One INFO line per callback, the metrics hook, the masked payload at DEBUG."""
        if not self._observing():
            return
        logger = self.logger
        status = response.status
        if duplicate:
            name = "duplicate"
        elif status == 401:
            name = "rejected" if "authorization" in headers else "challenged"
        elif status >= 500:
            name = "failed"
        elif status >= 400:
            name = "refused"
        else:
            name = "handled"
        ids = _ids(event) if event is not None else ""
        event_type = event.event_type if event is not None else None
        if self.metrics is not None:
            try:
                self.metrics(Outcome(name, status, event_type, ids, duration))
            except Exception:
                logger.exception("the metrics hook failed")
        logger.info(
            "callback %s (%s): %d %s in %.2f ms",
            event_type or "-",
            ids or "no ids",
            status,
            name,
            duration * 1000,
        )
        if event is not None and logger.isEnabledFor(logging.DEBUG):
            logger.debug("payload of %s: %s", event_type, mask_payload(to_payload(event)))

    def _claim(self, event: Event) -> tuple[str, CallbackResponse | None]:
        """Claim the event's key: ``(key, None)`` to run the handlers, else the answer."""
        from bwhooks.idempotency import Claim, idempotency_key

        assert self.idempotency is not None
        key = idempotency_key(event)
        claimed = self.idempotency.claim(key)
        if claimed.claim is Claim.NEW:
            return key, None
        if claimed.claim is Claim.DONE and claimed.response is not None:
            self.logger.info(
                "duplicate %s event (%s): answered again", event.event_type, _ids(event)
            )
            return key, claimed.response
        self.logger.info(
            "duplicate %s event (%s) while the first is handled: retry asked",
            event.event_type,
            _ids(event),
        )
        # 409, as the IETF Idempotency-Key draft answers a retry of a request still being
        # processed: a 4xx the sender retries unchanged, and every 5xx stays a failure.
        return key, CallbackResponse.error(409, "being handled, retry later", _RETRY)

    def _settle(self, key: str, response: CallbackResponse) -> CallbackResponse:
        assert self.idempotency is not None
        if response.status >= 500:
            self.idempotency.release(key)  # failed: the retry must run the handlers
        else:
            self.idempotency.complete(key, response)
        return response

    def _registrations(self, event: Event) -> tuple[Registration, ...]:
        registrations = self.registry.handlers_for(event.__class__)
        if registrations and event.__class__ is not UnknownEvent:
            return registrations
        if isinstance(event, UnknownEvent):
            self.logger.info("unknown callback event type %r (%s)", event.event_type, _ids(event))
        elif not registrations:
            self.logger.info("no handler for %s event (%s)", event.event_type, _ids(event))
        return registrations

    def _answer(self, event: Event, answer: _Answer) -> CallbackResponse:
        registration, result = answer
        response = _to_response(result)
        if response is None:
            self.logger.error(
                "handler %s returned a %s for %s event (%s); return None, BXML (str, bytes or "
                "an object with to_bxml()) or a CallbackResponse",
                registration.name,
                type(result).__name__,
                event.event_type,
                _ids(event),
            )
            return CallbackResponse.error(500, "handler returned an unusable answer")
        return response

    def _conflict(self, event: Event, *authors: Registration) -> CallbackResponse:
        self.logger.error(
            "handlers %s both answered the %s event (%s): an answer must have one author",
            " and ".join(r.name for r in authors),
            event.event_type,
            _ids(event),
        )
        return CallbackResponse.error(500, "several handlers answered")

    def _failure(self, registration: Registration, event: Event) -> CallbackResponse:
        error = sys.exc_info()[1]
        if isinstance(error, TimeoutError | _asyncio().TimeoutError):
            self.logger.error(
                "handler %s ran past %ss on %s event (%s): cancelled",
                registration.name,
                self.handler_timeout,
                event.event_type,
                _ids(event),
            )
        else:
            self.logger.exception(
                "handler %s failed on %s event (%s)",
                registration.name,
                event.event_type,
                _ids(event),
            )
        return CallbackResponse.error(500, "handler failed")


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    if content_type in _JSON_TYPES:
        return True
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})


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


def _run_async(
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
    if result is not None and inspect.isawaitable(result):
        result = await result
    return result


def _to_response(result: Any) -> CallbackResponse | None:
    if isinstance(result, CallbackResponse):
        return result
    if isinstance(result, (str, bytes)):
        return CallbackResponse.bxml(result)
    to_bxml = getattr(result, "to_bxml", None)
    if callable(to_bxml):
        document = to_bxml()
        if isinstance(document, (str, bytes)):
            return CallbackResponse.bxml(document)
    return None


_ID_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _ids(event: Event) -> str:
    """The event's ids (``call_id=c-1 gather_id=g-2``) for logs: never credentials or text."""
    if isinstance(event, UnknownEvent):
        found = [(k, v) for k, v in event.raw.items() if k.endswith("Id") and isinstance(v, str)]
    else:
        names = _ID_NAMES.get(type(event))
        if names is None:
            names = tuple(a.name for a in attrs.fields(type(event)) if a.name.endswith("_id"))
            _ID_NAMES[type(event)] = names
        found = [(n, getattr(event, n)) for n in names if getattr(event, n) is not None]
    return " ".join(f"{k}={v}" for k, v in found) or "no ids"
