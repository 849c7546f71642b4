"""A delivery's idempotency claims: each event's key claimed before its handlers run, what
the claim found, and how the event's answer settles it (:mod:`bwhooks.idempotency` holds
the keys and the stores). Dispatch makes the store calls; these say which.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from bwhooks.answers import RETRY_LATER
from bwhooks.events import Event
from bwhooks.http import CallbackResponse
from bwhooks.notes import Fact, Note

if TYPE_CHECKING:  # imported when used: `import bwhooks` stays light
    from bwhooks.idempotency import Claimed, IdempotencyStore

__all__ = ["found", "key_of", "release", "settle", "store_failed"]


def key_of(event: Event) -> str:
    """The event's idempotency key."""
    from bwhooks.idempotency import idempotency_key

    return idempotency_key(event)


def found(event: Event, claimed: Claimed, notes: list[Note]) -> CallbackResponse | None:
    """What a claim found: ``None`` to run the handlers, else the duplicate's answer (the
    stored one, or ``409`` while the first delivery is still being handled)."""
    from bwhooks.idempotency import Claim

    if claimed.claim is Claim.NEW:
        return None
    if claimed.claim is Claim.DONE and claimed.response is not None:
        notes.append(Note(Fact.DUPLICATE_ANSWERED, event))
        return claimed.response
    notes.append(Note(Fact.DUPLICATE_IN_FLIGHT, event))
    return RETRY_LATER


def settle(store: IdempotencyStore, key: str, response: CallbackResponse) -> Callable[[], None]:
    """The store call that settles a claim: release it after a failure, or when a handler
    asked for a later delivery (:class:`~bwhooks.errors.RetryLater`): that delivery must run
    the handlers. Otherwise keep the answer for duplicates."""
    if response.status >= 500 or response is RETRY_LATER:
        return partial(store.release, key)
    return partial(store.complete, key, response)


def release(store: IdempotencyStore, key: str) -> None:
    """Release a claim whose delivery was interrupted (cancelled, ...): the retry must run
    the handlers."""
    store.release(key)


def store_failed(event: Event, error: BaseException, notes: list[Note], *, claiming: bool) -> bool:
    """Note that the store failed on ``event`` (``claiming``: its claim, else settling its
    answer); whether its handlers run all the same, without a claim: yes for an event
    Bandwidth never delivers again (a refusal would lose it), else it is not handled and
    its answer is a failure's (its family's, a ``500`` by default)."""
    reason = f"{type(error).__name__}: {error}"
    if not claiming:
        notes.append(Note(Fact.STORE_FAILED, event, "its answer is sent all the same", reason))
        return True
    if not event.RETRIED_AFTER_FAILURE:
        what = "handled without it (Bandwidth never delivers it again): a copy may run twice"
        notes.append(Note(Fact.STORE_FAILED, event, what, reason))
        return True
    notes.append(Note(Fact.STORE_FAILED, event, "not handled: Bandwidth delivers it again", reason))
    return False
