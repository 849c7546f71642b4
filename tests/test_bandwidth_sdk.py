"""An independent producer agrees: every v2 callback model of bandwidth-sdk, filled in and
serialized the way the SDK serializes, is typed by bwhooks with its own class and the same
values; the SDK's BXML objects are answered as XML."""

from __future__ import annotations

import enum
import json
import typing
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pydantic
from bandwidth import ApiClient
from bandwidth import models as sdk
from bandwidth.models.bxml import Gather, Response, SpeakSentence
from support import Send

from bwhooks import Receiver, events
from bwhooks.events import Event

Connect = Callable[[Receiver], Send]
VOICE_MODELS = sorted(
    name
    for name in dir(sdk)
    if name.endswith("Callback") and name not in ("Callback", "InboundCallback", "StatusCallback")
)
START = datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=timezone.utc)


def _plain(annotation: Any) -> Any:
    """The type inside Optional[...] and Annotated[...]; str of a bytes-or-str union."""
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin is typing.Annotated:
            annotation = args[0]
        elif origin is typing.Union:  # Optional[X], or bytes-or-str: take X, or str
            annotation = next(a for a in args if _plain(a) is not bytes)
        else:
            return annotation


def filled(model: type[pydantic.BaseModel], **given: Any) -> Any:
    """An instance of an SDK model with every field set to a realistic value."""
    values: dict[str, Any] = {}
    for index, (name, field) in enumerate(model.model_fields.items()):
        if name == "additional_properties" or name in given:
            continue
        values[name] = _value(name, _plain(field.annotation), index)
    return model(**values, **given)


def _value(name: str, kind: Any, index: int) -> Any:
    origin = typing.get_origin(kind)
    if origin in (list, typing.List):  # noqa: UP006  (the SDK's own annotation)
        return ["+15553334444", "+15553335555"]
    if origin in (dict, typing.Dict):  # noqa: UP006
        return {"x-custom-header": "customer-value", "x-session-id": "sess-12345"}
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return list(kind)[-1]
    if isinstance(kind, type) and issubclass(kind, pydantic.BaseModel):
        return filled(kind)
    if kind is datetime:
        return START + timedelta(seconds=index)
    if kind is int:
        return 400 + index
    if kind is float:
        return 0.875
    if kind is bool:
        return True
    if name == "duration":
        return "PT12.345678912S"
    if name in ("var_from", "to", "owner", "transfer_to", "transfer_caller_id", "orig_to"):
        return f"+1555000{index:04d}"
    if name in ("latitude", "longitude"):
        return "37.7749"
    if name in ("counter", "limit"):  # digits in a string, as the SIP Diversion header has
        return str(index)
    return f"{name.replace('_', '-')}-{index}"


def serialized(model: Any) -> Any:
    """The JSON the SDK itself writes for a model (its REST serialization)."""
    return json.loads(json.dumps(ApiClient().sanitize_for_serialization(model)))


def assert_same(ours: Any, theirs: pydantic.BaseModel, raw: Mapping[str, Any]) -> None:
    """Every field the SDK model has, typed by bwhooks with the same value."""
    names = attrs.fields_dict(type(ours))
    for name in type(theirs).model_fields:
        if name == "additional_properties":
            continue
        expected = getattr(theirs, name)
        attribute = "from_" if name == "var_from" else name
        if attribute not in names:  # not a documented field (Diversion.unknown): kept in raw
            alias = type(theirs).model_fields[name].alias or name
            assert raw[alias] == expected, name
            continue
        value = getattr(ours, attribute)
        if isinstance(expected, pydantic.BaseModel):
            assert_same(value, expected, raw[type(theirs).model_fields[name].alias or name])
        elif isinstance(expected, enum.Enum):
            assert value == expected.value, name
        elif isinstance(expected, list):
            assert value == tuple(expected), name
        elif isinstance(expected, timedelta | datetime | dict | float):
            assert value == expected, name
        elif name == "duration":
            assert value.iso == expected, name
        elif isinstance(value, int) and isinstance(expected, str):  # diversion.counter/limit
            assert str(value) == expected, name
        else:
            assert value == expected, name


def wire_type(model_name: str) -> str:
    stem = model_name.removesuffix("Callback")
    return stem[0].lower() + stem[1:]


def by_type(event_type: str) -> type[Event]:
    for cls in (*events.VOICE_V2_CLASSES, *events.MESSAGING_V2_CLASSES):
        if event_type in cls.EVENT_TYPES:
            return cls
    raise AssertionError(event_type)


def sdk_callbacks() -> list[tuple[str, Any]]:
    built: list[tuple[str, Any]] = []
    for name in VOICE_MODELS:
        built.append((name, filled(getattr(sdk, name), event_type=wire_type(name))))
    for kind in sdk.InboundCallbackTypeEnum:
        built.append((f"InboundCallback[{kind.value}]", filled(sdk.InboundCallback, type=kind)))
    for kind in sdk.StatusCallbackTypeEnum:
        built.append((f"StatusCallback[{kind.value}]", filled(sdk.StatusCallback, type=kind)))
    return built


def test_the_sdk_has_the_24_callback_models_we_build() -> None:
    assert len(VOICE_MODELS) + 2 == 24  # ReferCompleteCallback included (23.x)
    assert "ReferCompleteCallback" in VOICE_MODELS
    assert len(sdk_callbacks()) == 22 + 8  # every messaging type of the two messaging models


def test_every_sdk_callback_is_typed_with_its_own_class(
    connect: Connect, receiver: Receiver
) -> None:
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    send = connect(receiver)
    classes: set[type[Event]] = set()
    for name, model in sdk_callbacks():
        payload = serialized(model)
        is_messaging = "eventType" not in payload
        bodies = [[payload], payload] if is_messaging else [payload]  # as Bandwidth, as the SDK
        for body in bodies:
            response = send(body=json.dumps(body).encode())
            assert response.status == 200, name
            event = seen[-1]
            expected = by_type(payload["type"] if is_messaging else payload["eventType"])
            assert type(event) is expected, name
            assert_same(event, model, event.raw)
        classes.add(type(seen[-1]))
    assert len(classes) == 22 + 8


def test_the_sdks_bxml_response_is_answered_as_xml(connect: Connect, receiver: Receiver) -> None:
    document = Response([Gather(gather_url="/gathered", max_digits=1), SpeakSentence("Welcome")])

    @receiver.on(events.VoiceInitiateEvent)
    def initiated(event: events.VoiceInitiateEvent) -> Response:
        return document

    payload = serialized(filled(sdk.InitiateCallback, event_type="initiate"))
    response = connect(receiver)(body=json.dumps(payload).encode())
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert response.body.decode() == document.to_bxml()
    assert b"<SpeakSentence>Welcome</SpeakSentence>" in response.body


def test_our_payloads_parse_in_the_sdk() -> None:
    """The other direction: what bwhooks writes back (to_payload) is what the SDK reads."""
    from bwhooks import parse_event, to_payload

    for name, model in sdk_callbacks():
        payload = serialized(model)
        ours = to_payload(parse_event(payload))
        model_class = type(model)
        again = model_class.from_dict(ours)
        assert again is not None, name
        assert again.model_dump() == model.model_dump(), name
