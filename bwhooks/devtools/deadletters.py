"""``bwhooks dead-letters``: a queue's dead letters listed with its gauges, and re-queued.

The queue is the user's own (``--queue callbacks:queue``, imported as ``listen --app``
imports an app), so the letters and claims are read where its workers keep them. Listing
shows what a letter is about (its handler, the event's type and ids, the error), never the
event's payload unless asked (``--payloads``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from bwhooks.errors import InvalidCallback
from bwhooks.observe import event_ids
from bwhooks.queue.envelopes import DeadLetter, Envelope, EnvelopeError
from bwhooks.queue.requeuing import Requeue, Requeued
from bwhooks.queue.tasks import TaskQueue

__all__ = ["DeadLettersCommand"]

#: How much of a letter's error a listed line shows.
ERROR_SHOWN = 200


class DeadLettersCommand:
    """``bwhooks dead-letters`` on ``queue`` (what ``--queue spec`` named): prints to ``out``
    (JSON with ``as_json``), says what went wrong on ``err``."""

    def __init__(
        self,
        spec: str,
        queue: object,
        *,
        as_json: bool = False,
        payloads: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.spec, self.queue = spec, queue
        self.as_json, self.payloads = as_json, payloads
        self.out, self.err = out or sys.stdout, err or sys.stderr

    def run(
        self,
        *,
        count: int = 100,
        requeue: list[str] | None = None,
        requeue_all: bool = False,
        handler: str | None = None,
    ) -> int:
        """List the newest ``count`` letters (``handler``'s only, when given), or re-queue
        the letters ``requeue`` or every letter (``requeue_all``, ``handler``'s only when
        given). Exits 0; 1 when some letter could not be re-queued or the queue's store
        failed; 2 when ``queue`` is no bwhooks queue."""
        queue = self.queue
        if not isinstance(queue, TaskQueue):
            kind = type(queue).__name__
            self._say(f"{self.spec!r} is a {kind}, not a bwhooks queue (TaskQueue, CeleryQueue)")
            return 2
        try:
            if requeue or requeue_all:
                return self._requeue(queue, requeue or None, handler)
            self._list(queue, count, handler)
        except Exception as exc:  # the queue's Redis unreachable, most often
            self._say(f"{type(exc).__name__}: {exc}")
            return 1
        return 0

    def _list(self, queue: TaskQueue, count: int, handler: str | None) -> None:
        letters = [
            letter
            for letter in queue.dead_letters(count)
            if handler is None or letter.envelope.get("handler") == handler
        ]
        gauges = queue.gauges()
        if self.as_json:
            described = [self._described(letter) for letter in letters]
            self._print(json.dumps({"dead_letters": described, "gauges": gauges}, indent=2))
            return
        for letter in letters:
            self._print(self._line(letter))
        self._print(
            f"dead letters: {gauges['dead-letters']:.0f} ({len(letters)} listed); pending work: "
            f"{gauges['pending']:.0f}, the oldest unmoved for {gauges['pending-oldest-age']:.1f}s;"
            f" spool: {gauges['spool-depth']:.0f}"
        )

    def _requeue(self, queue: TaskQueue, ids: list[str] | None, handler: str | None) -> int:
        outcomes = queue.requeuer.requeue_many(ids, handler)
        if self.as_json:
            results = [
                {"id": done.id, "outcome": done.outcome.name.lower(), "detail": done.detail}
                for done in outcomes
            ]
            self._print(json.dumps({"requeued": results}, indent=2))
        else:
            for done in outcomes:
                self._print(_said(done))
            counted = [done.outcome for done in outcomes]
            kept = sum(not done.removed for done in outcomes)
            self._print(
                f"{counted.count(Requeue.REQUEUED)} re-queued, {counted.count(Requeue.DONE)} "
                f"dropped (done meanwhile), {kept} not re-queued"
            )
        return 1 if any(not done.removed for done in outcomes) else 0

    def _described(self, letter: DeadLetter) -> dict[str, Any]:
        envelope = letter.envelope
        event_type, ids = _event_of(envelope)
        described = {
            "id": letter.id,
            "at": letter.at,
            "handler": envelope.get("handler"),
            "attempts": letter.attempts,
            "error": letter.error,
            "event_type": event_type,
            "ids": ids,
            "key": envelope.get("key"),
            "received_at": envelope.get("received_at"),
        }
        if self.payloads:
            described["envelope"] = dict(envelope)
        return described

    def _line(self, letter: DeadLetter) -> str:
        described = self._described(letter)
        event = described["event_type"]
        about = f"{event} ({described['ids']})" if event else "unreadable event"
        error = _printable(letter.error)
        if len(error) > ERROR_SHOWN:
            error = error[: ERROR_SHOWN - 1] + "…"
        line = "  ".join(
            _printable(str(part))
            for part in (
                letter.id,
                letter.at,
                described["handler"] or "-",
                f"{letter.attempts} attempts",
            )
        )
        line = f"{line}  {_printable(about)}  {error}"
        if self.payloads:
            line += "\n    " + json.dumps(dict(letter.envelope))
        return line

    def _print(self, text: str) -> None:
        print(text, file=self.out)

    def _say(self, text: str) -> None:
        print(f"bwhooks dead-letters: {_printable(text)}", file=self.err)


def _event_of(envelope: Mapping[str, Any]) -> tuple[str | None, str]:
    """The event type and ids of a letter's envelope (``None``, ``""`` when unreadable)."""
    try:
        event = Envelope.from_dict(envelope).event()
    except (EnvelopeError, InvalidCallback):
        return None, ""
    return event.event_type, event_ids(event)


def _said(done: Requeued) -> str:
    """One line for the outcome of one letter."""
    detail = f" ({_printable(done.detail)})" if done.detail else ""
    if done.removed:
        return f"{done.id}: {done.outcome.value}{detail}"
    return f"{_printable(done.id)}: not re-queued: {done.outcome.value}{detail}"


def _printable(text: str) -> str:
    """``text`` on one line, what a terminal would act on (escapes, newlines) made ``?``."""
    return "".join(char if char.isprintable() else "?" for char in text)
