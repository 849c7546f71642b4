"""What every family of webhooks says of itself: :class:`Family`."""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from typing import Any, ClassVar

from bwhooks.events import Event
from bwhooks.families import replies
from bwhooks.http import CallbackResponse
from bwhooks.notes import Note

__all__ = ["JSON", "XML", "Family", "Syntax"]

#: The media types of JSON bodies: ``application/json`` and ``application/*+json``.
JSON: tuple[str, ...] = ("application/json", "+json")
#: The media types of XML bodies: ``application/xml``, ``text/xml`` and ``application/*+xml``.
XML: tuple[str, ...] = ("application/xml", "text/xml", "+xml")


class Syntax(enum.Enum):
    """How a family's POST bodies are written: the parser the decoder chooses for a body by
    its media type."""

    JSON = "json"
    """A JSON object or array: payloads are recognized by their keys (:meth:`Family.class_for`)."""
    XML = "xml"
    """One XML document: payloads are recognized by their root element
    (:meth:`Family.class_for_root`), read safely (:mod:`bwhooks.decoding.xml`)."""


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
    #: How its POST bodies are written (a media type belongs to one syntax).
    SYNTAX: ClassVar[Syntax] = Syntax.JSON
    #: Whether it also comes as a GET whose query string carries the fields.
    QUERIES: ClassVar[bool] = False
    #: Its verification needs beyond the Basic credentials every family carries: whether
    #: Bandwidth signs every body of it. Without a ``signature=``, a receiver given it in
    #: ``families`` warns with :class:`~bwhooks.InsecureReceiverWarning`; one reading the
    #: default families logs a WARNING at the first such body, once.
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

    def class_for_root(self, root: str, payload: Mapping[str, Any]) -> type[Event] | None:
        """The class of an XML document whose root element is named ``root`` (its children
        in ``payload``) when it is one of this family's, else ``None`` (a family whose
        :attr:`SYNTAX` is :attr:`Syntax.XML`; JSON families claim none)."""
        return None

    def class_for_query(self, payload: Mapping[str, Any]) -> type[Event] | None:
        """The class of a GET query's values (``payload``) that only come as a query, never
        as a POST body (an Emergency Calling API routing query), else ``None``: asked
        before :meth:`class_for`, of the families that override it."""
        return None

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

    def failed(
        self, event: Event, response: CallbackResponse, notes: list[Note]
    ) -> CallbackResponse:
        """The answer to ``event`` when its handlers failed (one raised, ran past its
        timeout, or two answered) or could not run (a duplicate of a delivery still being
        handled): ``response`` (a ``500``, or a ``409``) by default."""
        return response

    def preempt(self, event: Event, notes: list[Note]) -> CallbackResponse | None:
        """The answer to ``event`` instead of running its handlers, for an event that must
        not reach them (a port-out validation request that could not be read whole);
        ``None`` by default: the handlers run."""
        return None

    def deadline(self, event: Event) -> float | None:
        """When all the handlers of ``event`` must have returned (a ``time.monotonic()``
        instant), or ``None``: no deadline, the default (each ``async`` handler then has
        the receiver's ``handler_timeout``). With one, the handlers run in turn, each
        given what is left; one not started by then never is (:mod:`bwhooks.budget`)."""
        return None

    def configure(self, **options: Any) -> Family:
        """This family with the receiver's options that concern it applied (a new
        instance), or itself when none does; options it does not know are ignored."""
        return self

    def __repr__(self) -> str:
        return f"<{self.NAME} webhooks>"
