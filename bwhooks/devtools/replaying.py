"""Replaying recorded deliveries: send them again the way Bandwidth does, compare the answers.

Each recorded exchange is sent once more (a ``401`` challenge whose retry was recorded is that
retry's first step, not a delivery of its own): first without credentials, then, after a Basic
challenge, with them; with its recorded method, query string, content type and body byte for
byte, and an ``X-Bwhooks-Replay-Of`` header naming the original, so that a listener recording
it labels it ``replayed``. Given a ``signature``, every attempt (the challenge's too) carries
the signature of the exact bytes sent (:mod:`~bwhooks.devtools.resigning`). An answer is
the same as the recorded one when its status is, and its body is: BXML compared as XML
(canonical form), JSON as JSON, anything else as bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from bwhooks.devtools.recording import Delivery, Recorder
from bwhooks.http import CallbackResponse
from bwhooks.signatures import HmacSignature
from bwhooks.testing.delivery import OutgoingRequest, deliver
from bwhooks.testing.recorded import same_body
from bwhooks.testing.sender import HttpSender

__all__ = [
    "REPLAY_HEADER",
    "Replayed",
    "Selection",
    "chosen",
    "proven",
    "replay",
    "same_answer",
    "same_body",
]

#: The header a replayed request carries: the id of the delivery it replays.
REPLAY_HEADER = "X-Bwhooks-Replay-Of"
_KEPT = frozenset({"content-type", "user-agent"})  # what a replay sends of the recorded headers


def chosen(
    recorder: Recorder,
    *,
    ids: Sequence[int] = (),
    status: int | None = None,
    event_type: str | None = None,
    text: str | None = None,
) -> Selection:
    """The recorded exchanges to replay, oldest first: all of them, or those with these
    ``ids``, this recorded ``status``, an event of this ``event_type``, or ``text`` in the
    body. Challenges answered by a recorded retry, replays, and requests not kept whole
    (:attr:`Selection.left_out` counts these) are left out, and so, unless chosen by ``ids``
    or ``status``, are requests whose sender never proved it may send them
    (:attr:`Selection.unproven` counts these; see :func:`proven`): a replay answers the
    challenge with your credentials, which a stranger's request must never borrow. The file
    is read a page at a time, again on each iteration."""
    return Selection(recorder, ids=ids, status=status, event_type=event_type, text=text)


class Selection:
    """The deliveries :func:`chosen` chooses: iterate it (as often as needed) to read them
    from the file a page at a time."""

    def __init__(
        self,
        recorder: Recorder,
        *,
        ids: Sequence[int] = (),
        status: int | None = None,
        event_type: str | None = None,
        text: str | None = None,
    ) -> None:
        self.recorder = recorder
        self.ids = frozenset(ids)
        self.status = status
        self.event_type = event_type
        self.text = None if text is None else text.encode()
        #: How many chosen deliveries the last iteration left out, not being kept whole
        #: (refused requests cut to their first bytes, bodies over the bound).
        self.left_out = 0
        #: How many the last iteration left out because their sender proved nothing
        #: (:func:`proven`); ``ids`` or ``status`` choose them all the same.
        self.unproven = 0

    def __iter__(self) -> Iterator[Delivery]:
        self.left_out = self.unproven = 0
        for page in self.recorder.pages():
            retried = self.recorder.retried(d.id for d in page if d.status == 401)
            for delivery in page:
                if delivery.id in retried or not self._matches(delivery):
                    continue
                if delivery.truncated:
                    self.left_out += 1
                    continue
                if not (self.ids or self.status is not None or proven(delivery)):
                    self.unproven += 1
                    continue
                yield delivery

    def _matches(self, delivery: Delivery) -> bool:
        if delivery.kind == "replayed":
            return False
        if self.ids and delivery.id not in self.ids:
            return False
        if self.status is not None and delivery.status != self.status:
            return False
        if self.event_type is not None and self.event_type not in {
            e.get("event_type") for e in delivery.events or ()
        }:
            return False
        return self.text is None or self.text in delivery.body


def proven(delivery: Delivery) -> bool:
    """Whether the recorded request was one its sender was entitled to send: the app
    accepted it (a ``2xx`` or ``3xx``), or it carried credentials that were not refused (not
    ``401``/``403``: a handler's ``500``, a forward target that was down). A stranger's
    request, refused or never checked (``502`` with no credentials), is not."""
    if delivery.status < 400:
        return True
    return delivery.status not in (401, 403) and delivery.header("Authorization") is not None


class Replayed:
    """One replay: the recorded delivery, the new answer, the statuses of the exchange."""

    def __init__(
        self, delivery: Delivery, answer: CallbackResponse, exchange: tuple[int, ...]
    ) -> None:
        self.delivery = delivery
        self.answer = answer
        self.exchange = exchange

    @property
    def same(self) -> bool:
        """Whether the answer is the one recorded (status, and body as BXML, JSON or bytes)."""
        return same_answer(self.delivery, self.answer)


def replay(
    delivery: Delivery, sender: HttpSender, signature: HmacSignature | None = None
) -> Replayed:
    """Send ``delivery`` again with ``sender`` (its URL and credentials), signed with
    ``signature`` when given (over the bytes sent: none for a ``GET``)."""
    headers = {n: v for n, v in delivery.headers if n.lower() in _KEPT}
    headers[REPLAY_HEADER] = str(delivery.id)
    if signature is not None:
        headers.update(signature.headers_for(b"" if delivery.method == "GET" else delivery.body))
    request = OutgoingRequest(
        method=delivery.method,
        path=sender.path,
        query=delivery.query or sender.query,
        body=delivery.body,
        headers=headers,
    )
    done = deliver(sender.request, request, sender.credentials)
    return Replayed(delivery, done.response, done.exchange)


def same_answer(delivery: Delivery, answer: CallbackResponse) -> bool:
    """Whether ``answer`` is the answer ``delivery`` recorded."""
    return answer.status == delivery.status and same_body(delivery.response_body, answer.body)
