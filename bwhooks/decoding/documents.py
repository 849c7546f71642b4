"""XML documents (Numbers notifications, port-out validation) to typed events and back.

A document read by :func:`~bwhooks.decoding.xml.decode_xml` is recognized by its root
element (:meth:`~bwhooks.families.Families.class_for_root`) and structured by the lenient
converter, as Voice v2 and Messaging v2 payloads are: a field that cannot be converted is
left ``None`` with a :class:`~bwhooks.FieldConversionWarning`, its text kept in ``raw``.
What the converter is given is a view of the document by the class's fields: an empty
element is absent (``None``), a list of numbers is read from its container's
``<TelephoneNumber>`` elements (``()`` when it is absent or empty). ``raw`` is the
document as read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from bwhooks import events
from bwhooks.decoding.parsing import _LENIENT, to_payload, wire_key
from bwhooks.errors import InvalidCallback
from bwhooks.events import Event
from bwhooks.events._base import ITEM, FrozenList, thaw
from bwhooks.families import DEFAULT, Families
from bwhooks.xmltext import document

__all__ = ["parse_document", "parse_xml", "to_xml"]

_View = Callable[[Mapping[str, Any]], dict[str, Any]]


def parse_xml(body: bytes | str, *, families: Families = DEFAULT) -> Event:
    """Turn an XML body (a Numbers notification, a port-out validation request) into its
    event, as a receiver does; :class:`~bwhooks.InvalidCallback` for a body that is not one
    safe, well-formed XML document (a DTD or entity is refused)."""
    from bwhooks.decoding.xml import decode_xml  # defusedxml, loaded when first needed

    root, payload = decode_xml(body.encode("utf-8") if isinstance(body, str) else body)
    return parse_document(root, payload, families=families)


def parse_document(root: str, payload: Mapping[str, Any], *, families: Families = DEFAULT) -> Event:
    """The event of a decoded XML document: its root element's name and the read-only
    mapping of its children."""
    cls = families.class_for_root(root, payload)
    if not attrs.fields_dict(cls).keys() - {"event_type", "raw"}:  # an unknown document
        return cls(event_type=root, raw=payload)
    plan = _PLANS.get(cls) or _plan(cls)
    try:
        event: Event = plan[0](plan[1](payload), cls)
    except (TypeError, ValueError) as exc:  # pragma: no cover  (the lenient hook keeps all)
        raise InvalidCallback(str(exc)) from None
    object.__setattr__(event, "raw", payload)  # brand new, not yet shared: as attrs does
    return event


_Plan = tuple[Callable[[Any, type], Any], _View]  # the lenient hook, the view
_PLANS: dict[type[Event], _Plan] = {}


def _plan(cls: type[Event]) -> _Plan:
    """The lenient hook of ``cls`` and its view of a document, built once."""
    plan = _PLANS[cls] = (_LENIENT.get_structure_hook(cls), _view(cls))
    return plan


def _view(cls: type[Event]) -> _View:
    """How a document's children become what ``cls``'s lenient structure function reads:
    each field's element, an empty one left out, a list read from its items."""
    plan: list[tuple[str, str | None]] = []
    for field in attrs.fields(cls):
        if field.name == "raw" or wire_key(field) == "eventType":
            continue  # an event type that is no element of the document: the class's own
        plan.append((wire_key(field), field.metadata.get(ITEM)))

    def view(payload: Mapping[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, item in plan:
            value = payload.get(key)
            if value is None or value == "":
                continue
            if item is not None:
                value = _items(value, item)
                if value is None:
                    continue
            found[key] = value
        return found

    return view


def _items(value: Any, item: str) -> Any:
    """The texts of the ``item`` elements of a container (``None``: none), or ``value``
    itself when it is no container (the converter then leaves the field as it is)."""
    if not isinstance(value, Mapping):
        return value
    items = value.get(item)
    if items is None or items == "":
        return None
    texts = items if isinstance(items, FrozenList | tuple | list) else (items,)
    return tuple(text for text in texts if text != "")


def to_xml(event: Event) -> bytes:
    """Write an event as Bandwidth sends it: a UTF-8 XML document with its root element,
    from ``raw`` when it is set, else from the fields (``None`` left out), so that
    ``parse_xml(to_xml(event)) == event``. ``ValueError`` for an event that is not one
    of an XML family's."""
    if not isinstance(event, events.NumbersEvent):
        raise ValueError(f"{type(event).__name__} is not sent as XML")
    root = event.ROOT or event.event_type  # an unknown document's: its root element
    if event.raw:
        return document(root, _children(event.raw))
    children: dict[str, Any] = {}
    payload = to_payload(event)
    for field in attrs.fields(type(event)):
        key = wire_key(field)
        if field.name == "raw" or key == "eventType":  # a class's type, not an element
            continue
        value = payload.get(key)
        if value is None or value == []:
            continue
        item = field.metadata.get(ITEM)
        children[key] = {item: list(value)} if item is not None else value
    return document(root, children)


def _children(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` as the writer's children: mappings and lists, an empty element ``""``."""
    return {key: thaw(value) for key, value in raw.items()}
