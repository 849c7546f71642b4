"""The Receiver: the story of one callback request, told with the core's parts.

The same steps for every family of webhooks (:mod:`bwhooks.families`): check what needs no
body (:mod:`bwhooks.checks`: method, client, credentials, size, content type), read the
body up to the limit, verify what needs the body (a signature), decode it into events
(:mod:`bwhooks.decoding`), run their handlers and build the answer as their family does
(:mod:`bwhooks.dispatch`), then report the delivery once (:mod:`bwhooks.observe`). No web
framework, and no family by name.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # imported when used: `import bwhooks` stays light
    from bwhooks.idempotency import IdempotencyStore
    from bwhooks.network import AllowList
    from bwhooks.registry import Queue

from bwhooks.auth import Authenticator, BodyVerifier
from bwhooks.body import GONE, UNREADABLE, AsyncRead, Read
from bwhooks.checks import UNREADABLE_ANSWER, Checks, warn_unsigned
from bwhooks.decoding import Decoder
from bwhooks.dispatch import Dispatcher, SyncRunner, current_request
from bwhooks.errors import InsecureReceiverWarning, InvalidCallback
from bwhooks.events import Event
from bwhooks.families import DEFAULT, Families, Family
from bwhooks.families.emergency import DEFAULT_BUDGET
from bwhooks.families.porting import PortOutFallback
from bwhooks.http import (
    CallbackRequest,
    CallbackResponse,
    Headers,
    HeadersInput,
    _request_of,
    _to_headers,
)
from bwhooks.notes import Note
from bwhooks.observe import Observer, Outcome
from bwhooks.registry import Handler, HandlerRegistry

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "GONE",
    "UNREADABLE",
    "Receiver",
    "SyncRunner",
    "current_request",
    "unreadable",
]

DEFAULT_MAX_BODY_SIZE = 1_000_000
H = TypeVar("H", bound=Handler)
_Accepted = tuple[Event, ...] | CallbackResponse  # the events, or the refusal


class Receiver:
    """Receives Bandwidth callbacks: verifies, parses, dispatches to handlers, responds.

    ``auth`` verifies each request (a :class:`~bwhooks.BasicAuth`); ``auth=None`` accepts
    anyone and warns with :class:`~bwhooks.InsecureReceiverWarning`. Bodies over
    ``max_body_size`` bytes are refused with ``413``. With an ``idempotency`` store
    (:class:`~bwhooks.idempotency.MemoryStore`, :class:`~bwhooks.idempotency.RedisStore`),
    a duplicate delivery is answered without running the handlers again. An ``async``
    handler running past ``handler_timeout`` seconds is cancelled (the answer is ``500``).
    ``metrics`` is called with an :class:`Outcome` for every callback; each is also logged
    at INFO on the ``bwhooks.receiver`` logger, and every refusal (405, 403, 401 for wrong
    credentials, 400, 413, 415) as one WARNING with its status and reason (the challenge,
    a 401 to a request without credentials, is Basic Auth's first step). ``allow`` (an
    :class:`~bwhooks.network.AllowList`) refuses clients outside its networks with ``403``.
    A ``signature`` (a :class:`~bwhooks.auth.BodyVerifier`) is checked on every body after
    the credentials: missing or wrong, the answer is ``403`` and nothing is decoded
    (without one, a receiver given ``families`` that Bandwidth always signs warns, and one
    reading the default families logs a WARNING at its first Subscriptions v2 body).
    ``families`` are the webhooks read (:mod:`bwhooks.families`; every family bwhooks
    knows by default; queued handlers' workers read every family bwhooks knows).
    ``port_out_fallback`` answers a port-out validation request no handler answered (none
    registered, none returned a :class:`~bwhooks.PortOutAnswer`, or one raised):
    ``"review"`` (the default) denies with ``7598``, which Bandwidth sends to a person;
    ``"approve"`` keeps Bandwidth's rule, for which no answer approves the port-out
    (:class:`~bwhooks.PortOutFallback`). Either way it is logged at ERROR.
    ``emergency_budget`` is the seconds the handlers of a 911 routing query
    (:class:`~bwhooks.EmergencyCallEvent`) have to return its
    :class:`~bwhooks.EmergencyRoute` (Bandwidth waits 450 ms), all of them in turn, counted
    from when the query was read: one not started by then never is, an ``async`` one still
    running is cancelled (on an async server a ``def`` one is awaited no longer), and the
    call answered without a route (``503``, logged at ERROR).
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
        signature: BodyVerifier | None = None,
        families: Families | tuple[Family, ...] = DEFAULT,
        port_out_fallback: PortOutFallback | str = PortOutFallback.REVIEW,
        emergency_budget: float = DEFAULT_BUDGET,
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
        self.logger = logger or logging.getLogger("bwhooks.receiver")
        families = _configured(
            families,
            signature,
            port_out_fallback=PortOutFallback(port_out_fallback),
            emergency_budget=emergency_budget,
        )
        self.checks = Checks(
            auth, max_body_size, self.logger, allow, families=families, signature=signature
        )
        self.decoder = Decoder(families)
        self.registry = HandlerRegistry()
        self.dispatcher = Dispatcher(
            self.registry,
            idempotency=idempotency,
            handler_timeout=handler_timeout,
            families=families,
        )
        self.observer = Observer(self.logger, metrics)

    @property
    def auth(self) -> Authenticator | None:
        """What verifies each request (``None``: anyone is accepted)."""
        return self.checks.auth

    @property
    def allow(self) -> AllowList | None:
        """The networks clients must come from (``None``: any)."""
        return self.checks.allow

    @property
    def signature(self) -> BodyVerifier | None:
        """What verifies each body (``None``: no signature is checked)."""
        return self.checks.signature

    @property
    def families(self) -> Families:
        """The families of webhooks this receiver reads."""
        return self.checks.families

    @property
    def max_body_size(self) -> int:
        """Bodies over this many bytes are refused with ``413``."""
        return self.checks.max_body_size

    @max_body_size.setter
    def max_body_size(self, size: int) -> None:
        self.checks.max_body_size = size

    @property
    def idempotency(self) -> IdempotencyStore | None:
        """The store that absorbs duplicate deliveries (``None``: every delivery runs)."""
        return self.dispatcher.idempotency

    @property
    def handler_timeout(self) -> float | None:
        """Seconds an ``async`` handler may run before it is cancelled."""
        return self.dispatcher.handler_timeout

    @property
    def metrics(self) -> Callable[[Outcome], None] | None:
        """The hook called with every callback's :class:`~bwhooks.observe.Outcome`."""
        return self.observer.metrics

    def on(self, *event_classes: type[Event], queue: Queue | None = None) -> Callable[[H], H]:
        """Decorator: run the function (``def`` or ``async def``) for these event classes.

        A class matches its subclasses too; handlers run in registration order. With a
        ``queue`` (:class:`bwhooks.queue.celery.CeleryQueue`) the function runs on a worker: the
        callback is answered once the queue has accepted the event, and the function's
        return value is ignored.
        """
        return self.registry.on(*event_classes, queue=queue)

    # -- checks that need no body ---------------------------------------------------------

    def early_response(
        self, method: str, headers: Headers, client: tuple[str, int] | None = None
    ) -> CallbackResponse | None:
        """The answer to a request that can be given before reading its body, else ``None``.

        Adapters call this first, so that a wrong method (405), a client outside the
        allow-list (403), missing or bad credentials (401) and a ``Content-Length`` over
        the limit (413) never cost a body read (see :class:`~bwhooks.checks.Checks`).
        """
        return self.checks.early_response(method, headers, client)

    def accept(self, request: CallbackRequest) -> Event | CallbackResponse:
        """Verify and parse ``request`` without dispatching it.

        Returns the event, or the response that refuses the request (401, 413, 400, ...).
        This is what a framework dependency needs (``fastapi.verified_event``). A Messaging
        v2 array of several events is answered ``500`` (logged): use :meth:`accept_all`.
        """
        accepted = self.accept_all(request)
        return accepted if isinstance(accepted, CallbackResponse) else self.only_event(accepted)

    def only_event(self, events: tuple[Event, ...]) -> Event | CallbackResponse:
        """The one event of a delivery; several (a Messaging v2 array) are answered ``500``,
        logged as the programming error it is to expect one."""
        if len(events) == 1:
            return events[0]
        self.logger.error(
            "a delivery of %d events reached code that takes one: use accept_all()",
            len(events),
        )
        return CallbackResponse.error(500, "several events in one delivery")

    def accept_all(self, request: CallbackRequest) -> tuple[Event, ...] | CallbackResponse:
        """Verify and parse ``request`` without dispatching it: all of its events, in order
        (several for a Messaging v2 array), or the response that refuses it."""
        early = self.early_response(request.method, request.headers, request.client)
        return early if early is not None else self._decode(request)

    def _decode(self, request: CallbackRequest) -> _Accepted:
        """Verify what needs the body, then decode it (or the refusal)."""
        refused = self.checks.body_response(request)
        if refused is not None:
            return refused
        try:
            return self.checks.unverified(self.decoder.decode(request))
        except InvalidCallback as exc:
            return self.checks.refuse(400, exc.reason)

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
        bytes (413). A read that fails (a chunked body the server cannot decode) is a
        ``400`` (see :func:`unreadable`).
        """
        headers = _to_headers(headers)
        body = self.checks.read_body(method, headers, read, client)
        if isinstance(body, CallbackResponse):
            return body
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
        body = await self.checks.read_body_async(method, headers, read, client)
        if isinstance(body, CallbackResponse):
            return body
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
            self.observer.report(headers, (), request, 0.0)
            return request
        return self._dispatch(request, self._decode_checked(request))

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
            self.observer.report(headers, (), request, 0.0)
            return request
        return await self._dispatch_async(request, self._decode_checked(request), run_sync)

    # -- handling -------------------------------------------------------------------------

    def handle(self, request: CallbackRequest) -> CallbackResponse:
        """Answer one callback request (for sync servers).

        ``async def`` handlers run to completion on an event loop of their own, so this
        must not be called from inside a running loop: use :meth:`handle_async` there.
        """
        body = request.body
        checks = self.checks
        if len(body) <= checks.max_body_size and checks.quick(request.method, request.headers):
            events = self.decoder.quick(body)  # the common request, in one step
            if events is not None:
                return self._dispatch(request, events)
        return self._dispatch(request, self.accept_all(request))

    async def handle_async(
        self, request: CallbackRequest, *, run_sync: SyncRunner | None = None
    ) -> CallbackResponse:
        """Answer one callback request (for async servers).

        Plain ``def`` handlers run in a worker thread (``asyncio.to_thread``), so the event
        loop never blocks; ``run_sync`` replaces that (Django passes ``sync_to_async``).
        """
        body = request.body
        checks = self.checks
        if len(body) <= checks.max_body_size and checks.quick(request.method, request.headers):
            events = self.decoder.quick(body)  # the common request, in one step
            if events is not None:
                return await self._dispatch_async(request, events, run_sync)
        return await self._dispatch_async(request, self.accept_all(request), run_sync)

    def _decode_checked(self, request: CallbackRequest) -> _Accepted:
        """Decode a request whose method and headers passed :meth:`early_response`."""
        if self.checks.signature is None:
            events = self.decoder.quick_request(request)
            if events is not None:
                return events
        return self._decode(request)

    def _dispatch(self, request: CallbackRequest, accepted: _Accepted) -> CallbackResponse:
        """Dispatch the events, then report the delivery once: refused, answered, or
        interrupted (then only what dispatch noted is told)."""
        if isinstance(accepted, CallbackResponse):  # refused: nothing to dispatch
            self.observer.report(request.headers, (), accepted, 0.0)
            return accepted
        notes: list[Note] = []
        if not self.observer.enabled():  # no outcome to time or report: only the notes
            try:
                return self.dispatcher.dispatch(request, accepted, notes)[0]
            finally:
                if notes:
                    self.observer.report(request.headers, accepted, None, 0.0, notes=notes)
        response: CallbackResponse | None = None
        duplicate = False
        started = time.perf_counter()
        try:
            response, duplicate = self.dispatcher.dispatch(request, accepted, notes)
            return response
        finally:
            self.observer.report(
                request.headers,
                accepted,
                response,
                time.perf_counter() - started,
                duplicate=duplicate,
                notes=notes,
            )

    async def _dispatch_async(
        self, request: CallbackRequest, accepted: _Accepted, run_sync: SyncRunner | None
    ) -> CallbackResponse:
        """The ``async`` twin of :meth:`_dispatch`."""
        if isinstance(accepted, CallbackResponse):  # refused: nothing to dispatch
            self.observer.report(request.headers, (), accepted, 0.0)
            return accepted
        notes: list[Note] = []
        if not self.observer.enabled():  # no outcome to time or report: only the notes
            try:
                return (await self.dispatcher.dispatch_async(request, accepted, notes, run_sync))[0]
            finally:
                if notes:
                    self.observer.report(request.headers, accepted, None, 0.0, notes=notes)
        response: CallbackResponse | None = None
        duplicate = False
        started = time.perf_counter()
        try:
            dispatching = self.dispatcher.dispatch_async(request, accepted, notes, run_sync)
            response, duplicate = await dispatching
            return response
        finally:
            self.observer.report(
                request.headers,
                accepted,
                response,
                time.perf_counter() - started,
                duplicate=duplicate,
                notes=notes,
            )


def _configured(
    families: Families | tuple[Family, ...], signature: BodyVerifier | None, **options: Any
) -> Families:
    """``families`` with a receiver's ``options`` applied (:meth:`Families.configure`),
    warning when a set given explicitly has a signed family no ``signature`` verifies
    (:func:`~bwhooks.checks.warn_unsigned`; the default set logs at the first unverified body)."""
    if not isinstance(families, Families):
        families = Families(families)
    if families is not DEFAULT:
        warn_unsigned(families, signature, stacklevel=4)
    return families.configure(**options)


def unreadable() -> CallbackResponse:
    """The answer to a request whose body could not be read: ``400``."""
    return CallbackResponse.error(*UNREADABLE_ANSWER)
