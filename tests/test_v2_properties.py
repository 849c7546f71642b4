"""Property tests for Voice v2 and Messaging v2: whatever the values of the known fields, the
event keeps its class and every attribute is either None or its declared type; the quick
path and the general path always agree."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import check_declared_types, load_v2_example, v2_example_names

from bwhooks import parse_event, to_payload
from bwhooks.events import MESSAGING_V2_CLASSES, VOICE_V2_CLASSES, Event
from bwhooks.events._base import thaw
from bwhooks.parsing import parse_delivery, quick_parse_delivery, wire_key

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


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(v2_example_names()), st.data())
def test_the_quick_path_and_the_general_path_agree(name: str, data: st.DataObject) -> None:
    delivery = load_v2_example(name)
    element = delivery[0] if isinstance(delivery, list) else delivery
    key = data.draw(st.sampled_from(sorted(element)))
    changed = {**element, key: data.draw(json_values | iso_like)}
    if key in ("eventType", "type"):
        changed[key] = element[key]  # the kind stays; every other value may be anything
    body = [changed] if isinstance(delivery, list) else changed
    quick = quick_parse_delivery(json.dumps(body).encode())
    assert quick is None or quick == parse_delivery(body)


def test_the_quick_path_takes_every_v2_example_nested_objects_included() -> None:
    for name in v2_example_names():
        body = json.dumps(load_v2_example(name)).encode()
        quick = quick_parse_delivery(body)  # aliases too ("transcription")
        assert quick == parse_delivery(load_v2_example(name)), name
        assert quick is not None
        for event, element in zip(quick, parse_delivery(load_v2_example(name)), strict=True):
            assert event.raw == element.raw  # raw read-only all the way down on both paths
            message = event.raw.get("message")
            if message is not None:
                assert message.__class__ is not dict


@pytest.mark.parametrize("use_orjson", [False, True], ids=["stdlib", "orjson"])
def test_big_integers_in_unknown_nested_fields_stay_exact(
    use_orjson: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if use_orjson:
        pytest.importorskip("orjson")
    from bwhooks.parsing import _json_backend

    loads, quick_loads = _json_backend(use_orjson=use_orjson)
    monkeypatch.setattr("bwhooks.parsing._loads", loads)
    monkeypatch.setattr("bwhooks.parsing._quick_loads", quick_loads)
    big = 123456789012345678901234567890
    (element,) = load_v2_example("message-received-1.json")
    element = {**element, "message": {**element["message"], "futureCounter": big}}
    body = json.dumps([element]).encode()
    quick = quick_parse_delivery(body)
    (event,) = quick if quick is not None else parse_delivery(json.loads(body))
    assert event.raw["message"]["futureCounter"] == big
    assert isinstance(event.raw["message"]["futureCounter"], int)
