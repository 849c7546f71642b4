"""What every family of webhooks says of itself: :class:`Family`."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

from bwhooks.events import Event
from bwhooks.families import replies
from bwhooks.http import CallbackResponse
from bwhooks.notes import Note

__all__ = ["JSON", "Family"]

#: The media types of JSON bodies: ``application/json`` and ``application/*+json``.
JSON: tuple[str, ...] = ("application/json", "+json")


class Family(abc.ABC):
    """One family of Bandwidth webhooks, all the receiver needs to know of it.

    How its requests are recognized (the media types of its bodies, whether it comes as a
    GET query, the keys or root element that mark its payloads: :meth:`class_for`), which
    event classes it gives (:meth:`owns`), what verifies it (:attr:`SIGNED`), and how a
    handler's return value becomes the answer (:meth:`answer`, :meth:`unanswered`). A
    :class:`~bwhooks.Receiver` runs the same steps for every family and knows none by name
    (:class:`~bwhooks.families.Families`).

    The default answers follow each event class's
    :attr:`~bwhooks.events.Event.REPLY`: BXML where Bandwidth reads it, an empty ``2xx``
    where it reads nothing.
    """

    #: What the family is called in docs and messages.
    NAME: ClassVar[str]
    #: The media types of its POST bodies, lowercase: exact types (``application/json``) or
    #: structured-syntax suffixes (``+json`` for ``application/*+json``).
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = ()
    #: Whether it also comes as a GET whose query string carries the fields.
    QUERIES: ClassVar[bool] = False
    #: Its verification needs beyond the Basic credentials every family carries: whether
    #: Bandwidth signs every body of it (a receiver reading it without a ``signature=``
    #: warns with :class:`~bwhooks.InsecureReceiverWarning`).
    SIGNED: ClassVar[bool] = False

    @abc.abstractmethod
    def class_for(
        self, payload: Mapping[str, Any], *, in_array: bool = False
    ) -> type[Event] | None:
        """The class ``payload`` parses into when it is one of this family's, else ``None``.

        ``in_array``: the payload is an element of a JSON array (a Messaging v2 delivery).
        A payload of the family whose type it does not know gets an unknown class
        (:meth:`unknown_classes`), never ``None``: what Bandwidth adds tomorrow is kept.
        """

    @abc.abstractmethod
    def owns(self, cls: type[Event]) -> bool:
        """Whether events of ``cls`` are this family's (how their answer is built)."""

    def direct(self) -> Mapping[str, Mapping[str, type[Event]]]:
        """``{key: {value: class}}``: payloads whose ``key`` is this string are of this
        class, whatever else they hold and whichever family is asked first (families
        never claim the same payload). One look-up before :meth:`class_for` is asked:
        the common payloads'. Empty by default."""
        return {}

    def unknown_classes(self) -> tuple[type[Event], ...]:
        """The classes of this family's payloads whose type bwhooks does not know (yet)."""
        return ()

    def answer(
        self, event: Event, result: Any, handler: str, notes: list[Note]
    ) -> CallbackResponse:
        """The answer a handler's return value (``result``, not ``None``) makes; ``handler``
        names it in what ``notes`` receives (an unusable or ignored answer)."""
        return replies.answer(event, result, handler, notes)

    def unanswered(self, event: Event, notes: list[Note]) -> CallbackResponse:
        """The answer to ``event`` when no handler returned one."""
        return replies.unanswered(event, notes)

    def __repr__(self) -> str:
        return f"<{self.NAME} webhooks>"
