"""Property tests: every kind, any overrides, the fake parses back to exactly that event."""

from __future__ import annotations

import json
import typing
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from bwhooks import parse_event, to_payload
from bwhooks.decoding.parsing import wire_name
from bwhooks.events import EVENT_CLASSES, Diversion, Event
from bwhooks.testing import fake_event

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
offsets = st.integers(-23 * 60, 23 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1), timezones=offsets)
diversions = st.builds(
    Diversion,
    orig_to=text,
    reason=text,
    screen=text,
    privacy=text,
    counter=st.integers(0, 10),
    limit=st.integers(0, 10),
)
BY_TYPE: dict[Any, st.SearchStrategy[Any]] = {
    str: text,
    int: st.integers(0, 10**9),
    bool: st.booleans(),
    datetime: moments,
    tuple[str, ...]: st.lists(text, max_size=3).map(tuple),
    Diversion: diversions,
}


def overrides_for(cls: type[Event]) -> st.SearchStrategy[dict[str, Any]]:
    hints = typing.get_type_hints(cls)
    fields = {}
    for field in attrs.fields(cls):
        if field.name in ("raw", "event_type"):
            continue
        declared = [t for t in typing.get_args(hints[field.name]) if t is not type(None)]
        fields[field.name] = BY_TYPE[declared[0]]
    return st.fixed_dictionaries({}, optional=fields)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(EVENT_CLASSES).flatmap(lambda c: st.tuples(st.just(c), overrides_for(c))))
def test_fake_events_carry_their_overrides_and_round_trip(
    case: tuple[type[Event], dict[str, Any]],
) -> None:
    cls, overrides = case
    event = fake_event(cls, **overrides)
    assert type(event) is cls
    for name, value in overrides.items():
        assert getattr(event, name) == value, name
    assert parse_event(to_payload(event)) == event
    assert parse_event(dict(event.raw)) == event  # raw is the payload fake_payload made


def wire_values(cls: type[Event]) -> st.SearchStrategy[dict[str, Any]]:
    """Well-typed JSON payloads for ``cls``: any subset of its fields, explicit nulls too."""
    json_types: dict[Any, st.SearchStrategy[Any]] = {
        str: text,
        int: st.integers(0, 10**9) | st.integers(0, 10**6).map(str),
        bool: st.booleans(),
        datetime: moments.map(lambda m: m.isoformat()),
        tuple[str, ...]: st.lists(text, max_size=3),
        Diversion: st.fixed_dictionaries(
            {}, optional={"origTo": text, "counter": st.integers(0, 9)}
        ),
    }
    hints = typing.get_type_hints(cls)
    fields = {}
    for field in attrs.fields(cls):
        if field.name in ("raw", "event_type"):
            continue
        declared = next(t for t in typing.get_args(hints[field.name]) if t is not type(None))
        fields[wire_name(field.name)] = st.none() | json_types[declared]
    return st.fixed_dictionaries({"eventType": st.sampled_from(cls.EVENT_TYPES)}, optional=fields)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(EVENT_CLASSES).flatmap(wire_values))
def test_the_compiled_path_equals_the_strict_cattrs_path(payload: dict[str, Any]) -> None:
    """Whatever a well-typed payload holds, the compiled path, the lenient converter and the
    strict one agree."""
    from bwhooks import make_converter
    from bwhooks.decoding.compiled import decode_body

    strict = parse_event(payload, converter=make_converter(strict=True))
    assert parse_event(payload) == strict
    assert type(parse_event(payload)) is type(strict)
    compiled = decode_body(json.dumps(payload).encode())
    assert compiled is not None
    assert compiled == (strict,)
    assert type(compiled[0]) is type(strict)
