"""Recorded deliveries as regression tests: the fixture files ``bwhooks export`` writes, read
back, and the comparison of an answer with the recorded one (``bw_replay``, ``bwhooks replay``)."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import attrs

__all__ = ["FIXTURE_VERSION", "Fixture", "load_fixture", "same_body"]

#: The version of the fixture format (its ``bwhooks_fixture`` key).
FIXTURE_VERSION = 1


@attrs.frozen(kw_only=True)
class Fixture:
    """A recorded delivery as a regression test: the request, and the answer expected."""

    id: int
    method: str
    path: str
    query: str
    content_type: str
    body: bytes
    status: int
    answer_content_type: str
    answer: bytes
    event_types: tuple[str, ...] = ()
    #: The encodings of ``body`` and ``answer`` (a JSON body may be UTF-16, say).
    body_encoding: str = "utf-8"
    answer_encoding: str = "utf-8"


def load_fixture(path: str | Path) -> Fixture:
    """Read a fixture file that ``bwhooks export`` wrote."""
    document = json.loads(Path(path).read_text())
    if document.get("bwhooks_fixture") != FIXTURE_VERSION:
        raise ValueError(f"{path} is no bwhooks fixture of version {FIXTURE_VERSION}")
    request, answer = document["request"], document["answer"]
    return Fixture(
        id=document["id"],
        method=request["method"],
        path=request["path"],
        query=request["query"],
        content_type=request["content_type"],
        body=request["body"].encode(request.get("encoding", "utf-8")),
        status=answer["status"],
        answer_content_type=answer["content_type"],
        answer=answer["body"].encode(answer.get("encoding", "utf-8")),
        event_types=tuple(document.get("event_types", ())),
        body_encoding=request.get("encoding", "utf-8"),
        answer_encoding=answer.get("encoding", "utf-8"),
    )


def same_body(recorded: bytes, answered: bytes) -> bool:
    """Whether two answer bodies say the same: as XML (canonical form), as JSON, or bytes."""
    return _comparable(recorded) == _comparable(answered)


def _comparable(body: bytes) -> object:
    text = body.strip()
    if text.startswith(b"<"):
        try:
            return ("xml", ElementTree.canonicalize(text.decode(), strip_text=True))
        except (ElementTree.ParseError, UnicodeDecodeError, ValueError):
            pass
    if text[:1] in (b"{", b"["):
        try:
            return ("json", json.loads(text))
        except ValueError:
            pass
    return ("bytes", body)
