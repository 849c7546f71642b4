"""Families of webhooks: each is one place for all the receiver knows of a kind of
Bandwidth webhook (:class:`Family`), and :class:`Families` is the set a receiver reads.

Adding a family: its event classes under :mod:`bwhooks.events`, a :class:`Family` here (its
media types, how its payloads are recognized, how its answers are built), and a place in
:data:`DEFAULT`. The receiver's steps do not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bwhooks.errors import InvalidCallback
from bwhooks.events import Event
from bwhooks.families.catapult import Catapult
from bwhooks.families.emergency import Emergency
from bwhooks.families.endpoints import Endpoints
from bwhooks.families.family import Family, Syntax
from bwhooks.families.messaging import MessagingV2
from bwhooks.families.numbers import Numbers
from bwhooks.families.subscriptions import SubscriptionsV2
from bwhooks.families.tollfree import TollFree
from bwhooks.families.voice import VoiceV2

__all__ = [
    "DEFAULT",
    "Catapult",
    "Emergency",
    "Endpoints",
    "Families",
    "Family",
    "MessagingV2",
    "Numbers",
    "SubscriptionsV2",
    "Syntax",
    "TollFree",
    "VoiceV2",
]


class Families:
    """The families one receiver reads, in the order they are asked to recognize a payload
    (the first that claims it gives its class; bwhooks's own never claim the same one).

    What the receiver asks: whether a media type is read (:meth:`reads`), the class of a
    payload (:meth:`class_for`), the family of an event class (:meth:`of`), the classes of
    unknown types (:attr:`unknown`)."""

    def __init__(self, families: Iterable[Family]) -> None:
        self.members = tuple(families)
        if not self.members:
            raise ValueError("a receiver reads at least one family of webhooks")
        syntax: dict[str, Syntax] = {}
        for family in self.members:
            for media_type in family.MEDIA_TYPES:
                if syntax.setdefault(media_type, family.SYNTAX) is not family.SYNTAX:
                    raise ValueError(f"{media_type} bodies are read as one syntax, not two")
        #: The exact media types read (for the ``415`` reason: the suffixes are not named).
        self.media_types: tuple[str, ...] = tuple(t for t in syntax if not t.startswith("+"))
        self._exact = {t: s for t, s in syntax.items() if not t.startswith("+")}
        self._suffixes = tuple((t, s) for t, s in syntax.items() if t.startswith("+"))
        #: ``Content-Type`` header values of JSON bodies read without parsing (the common
        #: request, which the compiled path reads): never an XML one.
        self.content_types = frozenset(
            value
            for t, s in self._exact.items()
            if s is Syntax.JSON
            for value in (t, f"{t}; charset=utf-8")
        )
        #: Whether some family comes as a GET query string.
        self.queries = any(family.QUERIES for family in self.members)
        self._recognizers = tuple(family.class_for for family in self.members)
        self._queried = tuple(  # the families with queries of their own
            family.class_for_query
            for family in self.members
            if type(family).class_for_query is not Family.class_for_query
        )
        self._direct: tuple[tuple[str, dict[str, type[Event]]], ...] | None = None
        self._of: dict[type[Event], Family | None] = {}
        self._unknown: frozenset[type[Event]] | None = None

    def reads(self, content_type: str | None) -> bool:
        """Whether a POST body of this ``Content-Type`` is some family's (parameters such
        as ``charset`` aside; media types are case-insensitive)."""
        if content_type is None:
            return False
        return content_type in self.content_types or self.syntax_of(content_type) is not None

    def syntax_of(self, content_type: str | None) -> Syntax | None:
        """How a POST body of this ``Content-Type`` is written (``None``: no family reads
        it); a body without a ``Content-Type`` is read as JSON."""
        if content_type is None or content_type in self.content_types:
            return Syntax.JSON
        media_type = content_type.partition(";")[0].strip().lower()
        found = self._exact.get(media_type)
        if found is not None:
            return found
        if media_type.startswith("application/"):
            for suffix, syntax in self._suffixes:
                if media_type.endswith(suffix):
                    return syntax
        return None

    def class_for(self, payload: Mapping[str, Any], *, in_array: bool = False) -> type[Event]:
        """The class of ``payload``: the first family's that claims it;
        :class:`~bwhooks.InvalidCallback` when none does (no callback bwhooks reads)."""
        direct = self._direct if self._direct is not None else self._load_direct()
        for key, classes in direct:  # the common payloads
            value = payload.get(key)
            if value.__class__ is str:
                cls = classes.get(value)
                if cls is not None:
                    return cls
        for class_for in self._recognizers:
            cls = class_for(payload, in_array=in_array)
            if cls is not None:
                return cls
        if in_array:
            raise InvalidCallback("missing type", field="type")
        raise InvalidCallback("missing eventType", field="eventType")

    def class_for_query(self, payload: Mapping[str, Any]) -> type[Event]:
        """The class of a GET query's values: the first family's that claims them as a
        query only (:meth:`Family.class_for_query`), else as :meth:`class_for` finds it."""
        for class_for_query in self._queried:
            cls = class_for_query(payload)
            if cls is not None:
                return cls
        return self.class_for(payload)

    def class_for_root(self, root: str, payload: Mapping[str, Any]) -> type[Event]:
        """The class of an XML document whose root element is ``root``: the first family's
        that claims it; :class:`~bwhooks.InvalidCallback` when none does."""
        for family in self.members:
            if family.SYNTAX is Syntax.XML:
                cls = family.class_for_root(root, payload)
                if cls is not None:
                    return cls
        raise InvalidCallback("no family reads this XML document")

    def configure(self, **options: Any) -> Families:
        """These families with a receiver's options applied (:meth:`Family.configure`):
        itself when no member changes."""
        members = tuple(family.configure(**options) for family in self.members)
        if all(new is old for new, old in zip(members, self.members, strict=True)):
            return self
        return Families(members)

    def _load_direct(self) -> tuple[tuple[str, dict[str, type[Event]]], ...]:
        """Every family's :meth:`~Family.direct` look-ups, merged by key (on first use: the
        event classes are loaded then)."""
        merged: dict[str, dict[str, type[Event]]] = {}
        for family in self.members:
            for key, classes in family.direct().items():
                for value, cls in classes.items():
                    merged.setdefault(key, {}).setdefault(value, cls)
        self._direct = tuple(merged.items())
        return self._direct

    def of(self, cls: type[Event]) -> Family | None:
        """The family whose events are of ``cls`` (``None``: no member's)."""
        try:
            return self._of[cls]
        except KeyError:
            found = next((family for family in self.members if family.owns(cls)), None)
            self._of[cls] = found
            return found

    @property
    def unknown(self) -> frozenset[type[Event]]:
        """The classes of payloads whose type bwhooks does not know (yet), every family's."""
        if self._unknown is None:
            self._unknown = frozenset(
                cls for family in self.members for cls in family.unknown_classes()
            )
        return self._unknown

    def __repr__(self) -> str:
        return f"Families({', '.join(family.NAME for family in self.members)})"


#: Every family bwhooks reads (no two claim the same payload).
DEFAULT = Families(
    (
        MessagingV2(),
        VoiceV2(),
        Catapult(),
        TollFree(),
        SubscriptionsV2(),
        Endpoints(),
        Numbers(),
        Emergency(),
    )
)
