"""The alternatives bwhooks is measured against, built from bwhooks' own field lists so
that every library parses exactly the same fields: msgspec (the floor for typed parsing)
and pydantic v2, both as tagged unions on ``eventType``."""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Annotated, Any, Literal, Union

import attrs

from bwhooks.decoding.parsing import wire_name
from bwhooks.events import EVENT_CLASSES, Diversion, Event


def _fields(cls: type[Event]) -> list[tuple[str, Any]]:
    hints = typing.get_type_hints(cls)
    fields = []
    for field in attrs.fields(cls):
        if field.name in ("raw", "event_type"):
            continue
        declared = next(t for t in typing.get_args(hints[field.name]) if t is not type(None))
        if declared is Diversion:
            declared = dict
        fields.append((field.name, declared))
    return fields


def msgspec_decoder() -> Any:
    import msgspec

    structs = []
    for cls in EVENT_CLASSES:
        if cls.__name__ == "RejectEvent":  # on the wire a hangup: the same struct
            continue
        structs.append(
            msgspec.defstruct(
                cls.__name__,
                [(name, Union[typ, None], None) for name, typ in _fields(cls)],  # noqa: UP007
                tag_field="eventType",
                tag=cls.EVENT_TYPES[0],
                rename=wire_name,
                frozen=True,
            )
        )
    return msgspec.json.Decoder(Union[tuple(structs)], strict=False)  # type: ignore[arg-type]  # noqa: UP007


def pydantic_adapter() -> Any:
    import pydantic

    models = []
    for cls in EVENT_CLASSES:
        if cls.__name__ == "RejectEvent":
            continue
        fields: dict[str, Any] = {
            name: (typ | None, pydantic.Field(None, alias=wire_name(name)))
            for name, typ in _fields(cls)
        }
        fields["event_type"] = (Literal[cls.EVENT_TYPES[0]], pydantic.Field(alias="eventType"))
        models.append(
            pydantic.create_model(
                cls.__name__,
                __config__=pydantic.ConfigDict(frozen=True, extra="allow"),
                **fields,
            )
        )
    union = Annotated[Union[tuple(models)], pydantic.Field(discriminator="event_type")]  # noqa: UP007
    return pydantic.TypeAdapter(union)


__all__ = ["datetime", "msgspec_decoder", "pydantic_adapter"]
