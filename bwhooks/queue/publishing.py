"""A receiver's side of a queue: claim the ``(event, handler)``, publish its envelope within a
bound, and spool it when the broker is down and Bandwidth would not retry the event."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from bwhooks import events
from bwhooks.dispatch import current_request
from bwhooks.errors import QueueUnavailable, RetryLater
from bwhooks.events import Event
from bwhooks.events._base import thaw
from bwhooks.http import CREDENTIAL_HEADERS, CallbackRequest
from bwhooks.idempotency import idempotency_key
from bwhooks.observe import event_ids
from bwhooks.queue.claims import ENQUEUING
from bwhooks.queue.context import Deadline, NotReplicated, PublishTimeout, QueueContext, report
from bwhooks.queue.draining import SpoolDrainer
from bwhooks.queue.envelopes import Envelope
from bwhooks.registry import Handler

__all__ = ["Publisher", "handler_key"]


def handler_key(handler: Handler) -> str:
    """The name a worker finds ``handler`` by: ``module:qualname``."""
    return f"{getattr(handler, '__module__', '?')}:{getattr(handler, '__qualname__', '?')}"


class Publisher:
    """What a receiver does with the events of ``queue``'s handlers: each is claimed in the
    shared claims store and published (``queue.publish``), so that the callback is answered
    ``2xx`` only once the broker took it, and a duplicate delivery is published once. Its
    :attr:`drainer` publishes what was spooled while the broker was down."""

    def __init__(self, queue: QueueContext) -> None:
        self.queue = queue
        self.drainer = SpoolDrainer(queue, self.claim_and_publish)
        # Until when (time.monotonic) callbacks are not made to wait for a broker or store
        # that just let a publish run out of time: they are answered at once, as when it
        # is down, rather than one ``publish_timeout`` each behind a server's few threads.
        self._stalled_until = 0.0

    def bind(self, handler: Handler) -> Callable[[Event], None]:
        """Register ``handler`` under its ``module:qualname`` and return its publisher."""
        queue = self.queue
        name = handler_key(handler)
        known = queue.handlers.get(name)
        if known is not None and known is not handler and _code(known) is not _code(handler):
            raise ValueError(
                f"two different handlers are named {name} on queue {queue.name!r}: "
                "workers find handlers by name, give them distinct names"
            )
        queue.handlers[name] = handler

        def publish_event(event: Event) -> None:
            self.enqueue(self.envelope(name, event, current_request()), event)

        publish_event.__qualname__ = f"{name} (queued)"
        return publish_event

    def envelope(self, handler: str, event: Event, request: CallbackRequest) -> Envelope:
        """The envelope of ``event`` for ``handler``, from the request that carried it: a
        JSON event's payload, or an XML body as received (one document, one event)."""
        get = request.method == "GET"
        xml = isinstance(event, events.NumbersEvent)
        body, body_encoding = Envelope.for_body(request.body) if xml else (None, "utf-8")
        return Envelope(
            key=f"{idempotency_key(event)}|{handler}",
            handler=handler,
            payload=None if get or xml else thaw(event.raw),
            array=not get and not xml and request.body.lstrip()[:1] == b"[",
            method=request.method,
            path=request.path,
            query=request.query_string.decode("latin-1"),
            headers=tuple(
                pair
                for pair in request.headers.pairs()
                if pair[0].lower() not in CREDENTIAL_HEADERS
            ),
            received_at=datetime.now(timezone.utc).isoformat(),
            body=body,
            body_encoding=body_encoding,
        )

    def enqueue(self, envelope: Envelope, event: Event) -> None:
        """Claim and publish ``envelope``; when the broker (or the store) fails, spool it if
        Bandwidth would not retry the event, else raise :class:`QueueUnavailable`."""
        self.drainer.ensure_running()
        stalled = self._stalled_until - time.monotonic()
        if stalled > 0:
            reason = PublishTimeout(
                f"the broker (or the claims store) let a publish run out of its "
                f"{self.queue.publish_timeout:g}s moments ago: not waited for again for "
                f"{stalled:.1f}s"
            )
            self._unqueued(envelope, event, reason)
            return
        try:
            published = self.claim_and_publish(envelope)
        except RetryLater:
            raise
        except Exception as exc:
            self._unqueued(envelope, event, exc)
            return
        report(self.queue, "queued" if published else "duplicate", event, envelope.handler)

    def claim_and_publish(self, envelope: Envelope) -> bool:
        """``True`` when published, ``False`` for a duplicate; raises if it could not be
        (:class:`~bwhooks.errors.RetryLater` while another delivery is publishing it,
        :class:`~bwhooks.queue.context.PublishTimeout` past ``publish_timeout``). The claim
        and the publish share one :class:`~bwhooks.queue.context.Deadline`."""
        deadline = Deadline.after(self.queue.publish_timeout)
        try:
            published = deadline.run(lambda: self._claim_and_publish(envelope, deadline), "queuing")
        except PublishTimeout:
            # the next callbacks are answered at once for as long again; the spool's
            # drainer keeps trying, and its first publish that lands ends it
            self._stalled_until = time.monotonic() + self.queue.publish_timeout
            raise
        self._stalled_until = 0.0
        return published

    def _claim_and_publish(self, envelope: Envelope, deadline: Deadline) -> bool:
        queue = self.queue
        deadline.left("claiming")  # begun late, behind publishes stuck on a silent broker
        token = uuid.uuid4().hex
        pending = json.dumps(envelope.to_dict())  # pending from the claim on: see claims.sweep
        held = queue.claims.enqueue(envelope.key, token, queue.enqueue_ttl, pending)
        if held is not None:
            if held.startswith(ENQUEUING):
                raise RetryLater("the same event is being queued by another delivery")
            return False  # queued, running, done or dead: handled once already
        try:
            deadline.left("publishing")  # the claim may have used it all
            queue.publish(envelope)
        except BaseException:
            try:
                queue.claims.abandon(envelope.key, token)
            except Exception:  # the store went down too: the claim expires by itself
                queue.logger.debug("could not free the claim of %s", envelope.key)
            raise
        try:
            replicated = queue.claims.queued(
                envelope.key,
                token,
                queue.done_ttl,
                pending,
                replicas=queue.replicas,
                wait=deadline.remaining() if queue.replicas else 0.0,
            )
        except Exception as exc:  # the worker runs an `enqueuing` claim all the same
            queue.logger.error(
                "published %s, but could not mark it queued (%s: %s): it runs all the same, "
                "pending since its claim",
                envelope.key,
                type(exc).__name__,
                exc,
            )
            if queue.replicas:  # nor could the replicas be asked: not acknowledged
                raise
            return True
        if replicated < queue.replicas:  # a failover now could lose it: not acknowledged
            raise NotReplicated(
                f"{replicated} of {queue.replicas} replicas acknowledged it within the deadline"
            )
        return True

    def _unqueued(self, envelope: Envelope, event: Event, error: Exception) -> None:
        queue, spool = self.queue, self.queue.spool
        reason = f"{type(error).__name__}: {error}"
        if event.RETRIED_AFTER_FAILURE or spool is None:
            report(queue, "unqueued", event, envelope.handler)
            raise QueueUnavailable(reason) from error
        try:
            spool.put(json.dumps(envelope.to_dict()))
        except Exception as exc:
            report(queue, "unqueued", event, envelope.handler)
            raise QueueUnavailable(f"{reason}; the spool failed too: {exc}") from error
        queue.logger.warning(
            "could not queue the %s event (%s) for %s (%s): spooled in %s, published when "
            "the broker is back",
            event.event_type,
            event_ids(event),
            envelope.handler,
            reason,
            spool.path,
        )
        report(queue, "spooled", event, envelope.handler)
        self.drainer.ensure_running(force=True)


def _code(handler: Handler) -> object:
    return getattr(handler, "__code__", handler)
