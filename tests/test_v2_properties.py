"""Property tests for Voice v2 and Messaging v2: whatever the values of the known fields, the
event keeps its class and every attribute is either None or its declared type (the
compiled path against the general one: test_compiled.py)."""

from __future__ import annotations

from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from support import check_declared_types

from bwhooks import parse_event, to_payload
from bwhooks.decoding.parsing import parse_delivery, wire_key
from bwhooks.events import MESSAGING_V2_CLASSES, VOICE_V2_CLASSES, Event
from bwhooks.events._base import thaw

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=8,
)
iso_like = st.sampled_from(
    ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.123456", "PT1.5S", "PT1M2.123456789S", "7"]
)


def wire_keys(cls: type[Any]) -> list[str]:
    return [wire_key(f) for f in attrs.fields(cls) if f.name not in ("raw", "event_type")]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([*VOICE_V2_CLASSES, *MESSAGING_V2_CLASSES]), st.data())
def test_any_values_in_known_fields_keep_the_class_and_the_types(
    cls: type[Event], data: st.DataObject
) -> None:
    values = json_values | iso_like
    fields = data.draw(st.dictionaries(st.sampled_from(wire_keys(cls)), values, max_size=8))
    if cls in MESSAGING_V2_CLASSES:
        (event,) = parse_delivery([{"type": cls.EVENT_TYPES[0], **fields}])
        expected = {"type": cls.EVENT_TYPES[0], **fields}
    else:
        expected = {**fields, "eventType": cls.EVENT_TYPES[0], "accountId": "55555555"}
        event = parse_event(expected)
    assert type(event) is cls
    check_declared_types(event)
    assert thaw(event.raw) == expected  # kept as received (floats compared as JSON has them)
    assert parse_delivery([to_payload(event)]) == (event,)  # what was typed, round trips
