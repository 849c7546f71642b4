"""The compiled decoding path (msgspec) against the general path (cattrs): the same classes,
values and raw payloads, or ``None`` and the general path decides, on every example and on
generated bodies of every class, well-typed or not."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import attrs
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import EXAMPLES as V1_EXAMPLES
from support import load_json_example, load_v2_example, v2_example_names

from bwhooks import CallbackRequest, InvalidCallback
from bwhooks.decoding import decode
from bwhooks.decoding._hints import declared_type
from bwhooks.decoding.compiled import decode_body
from bwhooks.decoding.parsing import MAX_ARRAY_ELEMENTS, MAX_DEPTH, wire_key
from bwhooks.events import (
    EVENT_CLASSES,
    MESSAGING_V2_CLASSES,
    VOICE_V2_CLASSES,
    AnswerEvent,
    Event,
    HangupEvent,
    LazyRaw,
    RejectEvent,
    VoiceAnswerEvent,
)
from bwhooks.events._base import ALIASES, freeze_raw, thaw
from bwhooks.events.timestamps import Duration, parse_timestamp

EXAMPLES = sorted((p.parent.name, p.name) for p in V1_EXAMPLES.parent.glob("v*/*.json"))
# What the compiled path leaves to the general one, and why: msgspec reads RFC 3339 only.
LEFT_TO_THE_GENERAL_PATH = {
    ("v1", "reject-1.json"): "an hour-only offset (-03)",
    ("v2", "recordingAvailable-1.json"): "a timestamp without an offset (UTC)",
}


def general(body: bytes) -> tuple[Event, ...] | None:
    """The general path's events, or ``None`` where it refuses the body."""
    try:
        return decode(CallbackRequest("POST", "/cb", {}, body))
    except InvalidCallback:
        return None


def assert_agree(body: bytes, *, taken: bool = False) -> None:
    """The compiled path gives the general path's events or ``None``; ``taken``: not ``None``."""
    compiled = decode_body(body)
    expected = general(body)
    if taken:
        assert compiled is not None, body
    if compiled is None:
        return
    assert expected is not None, body  # never accepts what the general path refuses
    assert compiled == expected
    assert [type(e) for e in compiled] == [type(e) for e in expected]
    for fast, slow in zip(compiled, expected, strict=True):
        assert fast.raw == slow.raw
        assert thaw(fast.raw) == thaw(slow.raw)
        for field in attrs.fields(type(fast)):  # equal and of the same type
            if field.name == "raw":
                continue
            value = getattr(fast, field.name)
            assert type(value) is type(getattr(slow, field.name)), field.name
            if isinstance(value, Duration):
                assert value.iso == getattr(slow, field.name).iso


@pytest.mark.parametrize(("generation", "name"), EXAMPLES)
def test_every_example_agrees(generation: str, name: str) -> None:
    path = V1_EXAMPLES.parent / generation / name
    body = path.read_bytes()
    assert_agree(body, taken=(generation, name) not in LEFT_TO_THE_GENERAL_PATH)
    if (generation, name) in LEFT_TO_THE_GENERAL_PATH:
        assert decode_body(body) is None


# -- generated bodies -------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1), timezones=offsets)
finite = st.floats(allow_nan=False, allow_infinity=False)
json_scalars = st.none() | st.booleans() | st.integers() | finite | text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=8,
)
rfc3339 = st.builds(
    lambda moment, digits, zulu: (
        moment.isoformat(timespec="seconds")[:19]
        + ("." + f"{moment.microsecond:06d}"[:digits] if digits else "")
        + ("Z" if zulu and moment.utcoffset() == timedelta(0) else moment.isoformat()[-6:])
    ),
    moments,
    st.integers(0, 6),
    st.booleans(),
)
durations = st.builds(
    lambda h, m, s, f: f"PT{h}H{m}M{s}{'.' + f if f else ''}S",
    st.integers(0, 30),
    st.integers(0, 59),
    st.integers(0, 59),
    st.text("0123456789", max_size=9),
)


def well_typed(declared: Any, *, odd: bool = False) -> st.SearchStrategy[Any]:
    """A JSON value of the declared type, in the forms Bandwidth writes; ``odd``: anything
    at all besides (the general path converts it, leaves it ``None`` or refuses it)."""
    if declared is str:
        found: st.SearchStrategy[Any] = text
    elif declared is int:
        found = st.integers(0, 10**12) | st.integers(0, 10**6).map(str)
    elif declared is bool:
        found = st.booleans() | st.sampled_from(["true", "false"])
    elif declared is float:
        found = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6)
    elif declared is datetime:
        found = rfc3339
    elif declared is Duration:
        found = durations
    elif declared == tuple[str, ...]:
        found = st.lists(text, max_size=3)
    elif declared == Mapping[str, str]:
        found = st.dictionaries(text, text, max_size=3)
    else:
        assert attrs.has(declared), declared
        found = st.deferred(lambda: objects(declared, odd=odd))
    if odd:
        odd_forms = (
            json_values
            | st.sampled_from(["7", " 7", "1.0", "yes", "TRUE", "2026-01-02T03:04:05", "PT1Y"])
            | st.sampled_from(["2026-01-02T03:04:05-03", "2026-01-02T03:04:05.1234567Z"])
            | st.sampled_from([float("inf"), float("-inf"), 1e300, -0.0])
        )
        found = found | odd_forms
    return st.none() | found


UNKNOWN_KEYS = (b"futureField", b"nested", b"big")  # keys no class reads


def objects(cls: type[Any], *, odd: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of ``cls``'s wire keys (any subset, aliases too), and keys it does not know."""
    hints = typing.get_type_hints(cls)
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in attrs.fields(cls):
        if field.name in ("raw", "event_type"):
            continue
        value = well_typed(declared_type(hints[field.name]), odd=odd)
        for key in (wire_key(field), *field.metadata.get(ALIASES, ())):
            optional[key] = value
    unknown = st.dictionaries(st.sampled_from([k.decode() for k in UNKNOWN_KEYS]), json_values)
    return st.builds(
        lambda known, extra: {**extra, **known},
        st.fixed_dictionaries({}, optional=optional),
        unknown,
    )


def bodies(cls: type[Event], *, odd: bool = False) -> st.SearchStrategy[tuple[type, bytes]]:
    """``(cls, body)``: a body of ``cls``'s fields (the general path may see another class:
    a shared type without a v2 key is v1, a hangup is a reject by its cause)."""
    tags = st.sampled_from(cls.EVENT_TYPES)
    if cls in MESSAGING_V2_CLASSES:
        element = st.builds(
            lambda fields, tag: {**fields, "type": tag}, objects(cls, odd=odd), tags
        )
        return st.lists(element, min_size=1, max_size=3).map(
            lambda v: (cls, json.dumps(v).encode())
        )
    return st.builds(
        lambda fields, tag: (cls, json.dumps({"eventType": tag, **fields}).encode()),
        objects(cls, odd=odd),
        tags,
    )


CLASSES = [*EVENT_CLASSES, *VOICE_V2_CLASSES, *MESSAGING_V2_CLASSES]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(CLASSES).flatmap(bodies))
def test_well_typed_bodies_of_every_class_take_the_compiled_path(case: tuple[type, bytes]) -> None:
    cls, body = case
    expected = general(body)
    assert expected is not None
    # Keys no class reads are skipped unchecked: with more brackets than the nesting bound
    # allows, the body might nest deeper, and only the general path measures it.
    unknown = any(b'"%s":' % key in body for key in UNKNOWN_KEYS)
    shallow = body.count(b"[") + body.count(b"{") <= MAX_DEPTH
    assert_agree(body, taken=all(type(e) is cls for e in expected) and (shallow or not unknown))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(CLASSES).flatmap(lambda cls: bodies(cls, odd=True)))
def test_any_values_agree_or_go_to_the_general_path(case: tuple[type, bytes]) -> None:
    assert_agree(case[1])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(v2_example_names()), st.data())
def test_changed_v2_examples_agree(name: str, data: st.DataObject) -> None:
    delivery = load_v2_example(name)
    element = delivery[0] if isinstance(delivery, list) else delivery
    key = data.draw(st.sampled_from(sorted(element)))
    changed = {**element, key: data.draw(json_values)}
    if key in ("eventType", "type"):
        changed[key] = element[key]  # the kind stays; every other value may be anything
    assert_agree(json.dumps([changed] if isinstance(delivery, list) else changed).encode())


# -- the rules that choose a class --------------------------------------------------------


def test_a_shared_type_is_v2_by_any_v2_key_even_null() -> None:
    answer = load_json_example("answer-1.json")
    (v1,) = decode_body(json.dumps(answer).encode()) or ()
    assert type(v1) is AnswerEvent
    for extra in ({"accountId": "5"}, {"accountId": None}, {"digit": None}, {"callUrl": "x"}):
        body = json.dumps({**answer, **extra}).encode()
        (event,) = decode_body(body) or ()
        assert type(event) is VoiceAnswerEvent, extra
        assert_agree(body, taken=True)


def test_a_hangup_with_call_rejected_is_a_reject() -> None:
    hangup = {"eventType": "hangup", "callId": "c-1", "cause": "NORMAL_CLEARING"}
    for cause, cls in [("NORMAL_CLEARING", HangupEvent), ("CALL_REJECTED", RejectEvent)]:
        body = json.dumps({**hangup, "cause": cause}).encode()
        (event,) = decode_body(body) or ()
        assert type(event) is cls
        assert event.event_type == "hangup"
        assert_agree(body, taken=True)
    (literal,) = decode_body(b'{"eventType": "reject", "callId": "c-1"}') or ()
    assert type(literal) is RejectEvent
    assert literal.event_type == "reject"


@pytest.mark.parametrize(
    "body",
    [
        b'{"eventType": "answer", "eventType": "gather"}',  # duplicate keys: the last counts
        b'{"eventType": "Answer", "callId": "c"}',  # case-folded: the general path folds it
        b'{"eventType": "somethingNew", "callId": "c"}',  # unknown: an UnknownEvent there
        b'{"eventType": "sms", "text": "\\ud83d"}',  # a lone surrogate
        b'\xef\xbb\xbf{"eventType": "sms"}',  # a UTF-8 byte order mark
        '{"eventType": "sms"}'.encode("utf-16"),
        b'{"eventType": "sms", "segmentCount": 1.0}',  # a float where an integer is declared
        b'{"eventType": "sms", "segmentCount": " 7"}',
        b'{"eventType": "sms", "time": "2026-01-02T03:04:05"}',  # no offset: UTC there
        b'[{"type": "message-received", "eventType": "sms"}]',  # an eventType in an element
        b'[{"type": "message-received", "eventType": null}]',
        b"[]",
        b'[{"type": "message-received"}, 1]',
        b'{"type": "message-received", "message": {}}',  # one element outside an array
        b' [{"type": "message-received"}]',
        b'{"eventType": "sms"} trailing',
        b'{"eventType": "recordComplete", "accountId": "1", "duration": "PT1Y"}',
        # past timedelta's range (the fuzzer's find: an OverflowError answered 500)
        b'{"eventType": "recordComplete", "accountId": "1", "duration": "PT99999999999999S"}',
        b'{"eventType": "recordComplete", "accountId": "1", "duration": "P9999999999W"}',
    ],
)
def test_what_the_compiled_path_leaves_to_the_general_path(body: bytes) -> None:
    assert decode_body(body) is None
    assert_agree(body)


def test_arrays_past_the_limit_are_refused_by_the_general_path() -> None:
    element = {"type": "message-received", "message": {"id": "m"}}
    body = json.dumps([element] * (MAX_ARRAY_ELEMENTS + 1)).encode()
    assert decode_body(body) is None
    assert general(body) is None
    assert len(decode_body(json.dumps([element] * MAX_ARRAY_ELEMENTS).encode()) or ()) == 1000


def test_numbers_past_64_bits_stay_exact() -> None:
    big = 123456789012345678901234567890
    body = json.dumps({"eventType": "sms", "segmentCount": big, "future": {"n": [big]}}).encode()
    (event,) = decode_body(body) or ()
    assert event.segment_count == big  # type: ignore[attr-defined]
    assert event.raw["future"]["n"] == [big]
    assert_agree(body, taken=True)


# -- raw, decoded on first read ------------------------------------------------------------


def test_raw_is_decoded_when_first_read_and_read_only_all_the_way_down() -> None:
    (element,) = load_v2_example("message-received-1.json")
    body = json.dumps([{**element, "futureList": [1, {"a": 2}]}]).encode()
    (event,) = decode_body(body) or ()
    raw = event.raw
    assert isinstance(raw, LazyRaw)
    assert raw._value is None  # nothing decoded until read
    assert raw["futureList"] == [1, {"a": 2}]
    assert isinstance(raw.read(), MappingProxyType)
    with pytest.raises(TypeError):
        raw["futureList"][1]["a"] = 3
    with pytest.raises(TypeError):
        raw["message"]["text"] = "changed"
    assert freeze_raw(raw) is raw.read()
    assert dict(raw) == thaw(raw) | {"futureList": raw["futureList"], "message": raw["message"]}
    assert raw == json.loads(body)[0]
    assert repr(raw) == repr(raw.read())


def test_a_nested_object_keeps_its_raw() -> None:
    diversion = {"origTo": "+15551230000", "reason": "unavailable", "futureParam": "x"}
    body = json.dumps({"eventType": "answer", "callId": "c-1", "diversion": diversion}).encode()
    (event,) = decode_body(body) or ()
    nested = event.diversion  # type: ignore[attr-defined]
    assert isinstance(nested.raw, LazyRaw)
    assert nested.raw._value is None
    assert nested.raw == diversion
    assert nested.raw.read() is event.raw["diversion"]  # one decoding serves both
    assert_agree(body, taken=True)


def test_a_nested_object_under_an_alias_is_read() -> None:
    body = json.dumps(
        {
            "eventType": "realTimeTranscriptionStarted",
            "accountId": "1",
            "transcription": {"name": "t-1", "futureKey": 1},
        }
    ).encode()
    (event,) = decode_body(body) or ()
    transcription = event.real_time_transcription  # type: ignore[attr-defined]
    assert transcription.name == "t-1"
    assert event.raw["transcription"] == {"name": "t-1", "futureKey": 1}
    assert_agree(body, taken=True)


# -- timestamps: what msgspec accepts, bwhooks reads the same way ---------------------------

timestamp_texts = st.builds(
    lambda date, sep, time, fraction, offset: f"{date}{sep}{time}{fraction}{offset}",
    st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
    st.sampled_from(["T", "t", " "]),
    st.sampled_from(["00:00:00", "23:59:59", "12:30:45", "24:00:00", "23:59:60", "12:30"]),
    st.just("") | st.text("0123456789", min_size=0, max_size=12).map(lambda d: "." + d),
    st.sampled_from(["Z", "z", "", "+00:00", "-00:00", "+05:30", "-0300", "+23:59", "-03", " Z"])
    | st.integers(-1439, 1439).map(
        lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
    ),
)


@settings(max_examples=1000, deadline=None)
@given(timestamp_texts)
def test_every_timestamp_msgspec_reads_is_read_the_same_way(text: str) -> None:
    tz_aware = typing.Annotated[datetime, msgspec.Meta(tz=True)]
    try:
        compiled = msgspec.json.decode(json.dumps(text).encode(), type=tz_aware)
    except msgspec.ValidationError:
        return
    assert parse_timestamp(text) == compiled
    assert parse_timestamp(text).utcoffset() == compiled.utcoffset()


def test_fractions_past_microseconds_round_at_the_seventh_digit() -> None:
    assert parse_timestamp("2026-01-02T03:04:05.1234564Z").microsecond == 123456
    assert parse_timestamp("2026-01-02T03:04:05.1234565Z").microsecond == 123457
    assert parse_timestamp("2026-12-31T23:59:59.9999995Z") == datetime(
        2027, 1, 1, tzinfo=timezone.utc
    )
    with pytest.raises(ValueError):  # noqa: PT011
        parse_timestamp("9999-12-31T23:59:59.9999995Z")


# -- built when first needed ----------------------------------------------------------------


def test_decoders_and_event_classes_are_built_on_first_use_not_at_import() -> None:
    script = """
import sys, bwhooks, bwhooks.decoding.compiled as c
def loaded():
    values = ("bwhooks.events._slots", "bwhooks.events.timestamps")  # no event classes
    return sorted(m for m in sys.modules if m.startswith("bwhooks.events.") and m not in values)
assert "msgspec" not in sys.modules and c._plan is None
assert loaded() == ["bwhooks.events._base"], loaded()
assert bwhooks.SmsEvent.__module__ == "bwhooks.events.messaging"
assert "bwhooks.events.voice_v2" not in loaded()
c.prepare()
assert "msgspec" in sys.modules and c._plan is not None
assert "bwhooks.events.voice_v2" in loaded()
built = c._plan
c.prepare()
assert c.decode_body(b'{"eventType": "sms"}') is not None and c._plan is built
"""
    subprocess.run([sys.executable, "-c", script], check=True)


def test_prepare_builds_the_decoders_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process too (the test above runs its own), where mutation testing sees it."""
    from bwhooks.decoding import compiled

    monkeypatch.setattr(compiled, "_plan", None)
    compiled.prepare()
    built = compiled._plan
    assert built is not None
    compiled.prepare()
    assert compiled._plan is built


def test_every_event_name_is_found_where_the_lazy_table_says() -> None:
    import importlib

    import bwhooks
    from bwhooks import events

    for module, names in events._MODULES.items():
        loaded = importlib.import_module(f"bwhooks.events.{module}")
        defined = {  # the public classes the module defines, and its tuples of them
            name
            for name, value in vars(loaded).items()
            if not name.startswith("_")
            and (getattr(value, "__module__", None) == loaded.__name__ or name.endswith("_CLASSES"))
        }
        assert set(names) == defined, module
    for name in events.__all__:
        assert getattr(bwhooks, name) is getattr(events, name)
        assert name in dir(bwhooks)
        assert name in dir(events)
    with pytest.raises(AttributeError):
        bwhooks.NoSuchEvent  # noqa: B018
    with pytest.raises(AttributeError):
        events.NoSuchEvent  # noqa: B018


# -- hostile bodies: the nesting bound and the text of skipped keys ------------------------


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


class Unscanned(bytes):
    """A body that fails the test if the compiled path counts its brackets."""

    def count(self, *args: Any) -> int:
        raise AssertionError("the body was scanned")


@pytest.mark.parametrize(("generation", "name"), EXAMPLES)
def test_a_body_of_known_keys_is_read_without_a_scan(generation: str, name: str) -> None:
    if (generation, name) in LEFT_TO_THE_GENERAL_PATH:
        return
    body = (V1_EXAMPLES.parent / generation / name).read_bytes()
    assert decode_body(Unscanned(body)) == decode_body(body) is not None


@pytest.mark.parametrize(
    "body",
    [
        b'{"eventType": "sms", "future": ' + nested(MAX_DEPTH - 1) + b"}",  # at the bound
        b'{"eventType": "answer", "callId": "c", "callUri": "u", "future": {"a": [1]}}',
        b'[{"type": "message-received", "message": {"future": ' + nested(MAX_DEPTH - 3) + b"}}]",
        '{"eventType": "sms", "future": "caf\u00e9 \u2713"}'.encode(),
    ],
)
def test_a_body_with_keys_no_class_reads_takes_the_compiled_path_within_the_bound(
    body: bytes,
) -> None:
    assert_agree(body, taken=True)


@pytest.mark.parametrize(
    "body",
    [
        b'{"eventType": "sms", "future": ' + nested(MAX_DEPTH) + b"}",  # one level past it
        b'{"eventType": "sms", "future": ' + nested(600) + b"}",
        b'{"eventType": "sms", "future": ' + nested(5000) + b"}",
        b'[{"type": "message-received", "message": {"future": ' + nested(MAX_DEPTH) + b"}}]",
        b'{"eventType": "answer", "callId": "c", "accountId": ' + nested(600) + b"}",  # v2 key
        b'[{"type": "message-received", "eventType": ' + nested(600) + b"}]",  # the probe
        b'{"eventType": "sms", "future": "\xff"}',  # not UTF-8, in a key no struct reads
        b'{"eventType": "sms", "future": ["\xc3\x28"]}',
        b'[{"type": "message-received", "future": "\xc0\xaf"}]',  # an overlong encoding
    ],
)
def test_a_body_past_the_bound_or_not_utf8_is_refused_by_the_general_path(body: bytes) -> None:
    assert decode_body(body) is None
    with pytest.raises(InvalidCallback) as refused:
        decode(CallbackRequest("POST", "/cb", {}, body))
    assert refused.value.reason in (
        f"nested deeper than {MAX_DEPTH} levels",
        "body is not UTF-8 (nor UTF-16 or UTF-32 with a BOM)",
    )


def test_callbacks_arriving_together_on_a_cold_process_build_the_decoders_once() -> None:
    """Eight threads decode their first body at the same moment in a new process: the
    decoders are built once (the others wait for that build), not once per thread."""
    script = """
import json, threading
from bwhooks.decoding import compiled
builds = []
real = compiled._build_plan
def counted():
    builds.append(1)
    return real()
compiled._build_plan = counted
body = json.dumps({"eventType": "hangup", "callId": "c-1", "cause": "hangup"}).encode()
start = threading.Barrier(8)
results = []
def first():
    start.wait()
    results.append(compiled.decode_body(body) is not None)
threads = [threading.Thread(target=first) for _ in range(8)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(json.dumps({"builds": len(builds), "decoded": results}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    outcome = json.loads(done.stdout)
    assert outcome == {"builds": 1, "decoded": [True] * 8}
