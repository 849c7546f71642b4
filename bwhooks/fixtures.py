"""Recorded deliveries as regression fixtures, with secrets and personal data replaced.

``bwhooks export FILE DIR`` writes one JSON fixture per chosen delivery: the request (method,
path, query, content type, body) and the answer it got (status, content type, body). Phone
numbers, message text, media URLs, account ids, ``uui``, SIP headers and credentials in URLs
are replaced by placeholders of the same kind (a phone number by ``+1555010000N``, a text by
``<text 1>``, ...); the same value always gets the same placeholder, in the body and in the
answer alike, so a conversation stays one conversation. The pytest plugin's ``bw_replay``
fixture delivers a fixture to your app through :class:`~bwhooks.testing.CallbackClient` and
checks that the answer is the one recorded (BXML compared as XML).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from bwhooks.recording import Delivery

__all__ = ["FIXTURE_VERSION", "Fixture", "Scrubber", "fixture_of", "load_fixture", "write_fixtures"]

#: The version of the fixture format (its ``bwhooks_fixture`` key).
FIXTURE_VERSION = 1
_LONG_TEXT = 6  # a text this long is replaced inside other strings too
_PHONE = re.compile(r"\+?[1-9]\d{9,14}")
_URL_CREDENTIALS = re.compile(r"(https?://)[^/@\s]+@")
# Keys whose values are personal or secret, by what they hold.
_TEXT_KEYS = frozenset({"text", "transcript", "postbackData", "uui"})
_ACCOUNT_KEYS = frozenset({"accountId", "userId"})
_MEDIA_KEYS = frozenset({"media", "mediaUrl", "fileUrl", "thumbnailUrl"})
_SIP_KEYS = frozenset({"sipHeaders"})
_SLUG = re.compile(r"[^A-Za-z0-9_-]+")
_PHONE_KEYS = frozenset(
    {"from", "to", "owner", "origTo", "transferCallerId", "transferTo", "forwardedFrom"}
)


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


class Scrubber:
    """Replaces secrets and personal data by placeholders, the same value by the same one."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], str] = {}

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder of ``value`` (a ``phone``, ``text``, ``account``, ``media``, ``sip``)."""
        found = self._seen.get((kind, value))
        if found is None:
            number = 1 + sum(1 for k, _ in self._seen if k == kind)
            found = {
                "phone": f"+1555010{number:04d}",
                "account": f"{90000000 + number}",
                "media": f"https://media.example.com/placeholder-{number}",
            }.get(kind, f"<{kind} {number}>")
            self._seen[(kind, value)] = found
        return found

    def value(self, key: str, value: Any) -> Any:
        """``value`` under ``key``, scrubbed (objects and arrays all the way down)."""
        if isinstance(value, Mapping):
            if key in _SIP_KEYS:
                return {name: self.placeholder("sip", str(v)) for name, v in value.items()}
            return {k: self.value(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(key, item) for item in value]
        if not isinstance(value, str):
            return value
        if key in _TEXT_KEYS:
            return self.placeholder("text", value)
        if key in _ACCOUNT_KEYS:
            return self.placeholder("account", value)
        if key in _MEDIA_KEYS:
            return self.placeholder("media", value)
        if key in _PHONE_KEYS or _PHONE.fullmatch(value):
            return self.placeholder("phone", value) if _PHONE.fullmatch(value) else value
        return _URL_CREDENTIALS.sub(r"\1", value)

    def text(self, text: str) -> str:
        """``text`` (an answer's body, a URL) with the values seen so far replaced wherever
        they appear: numbers, account ids and media URLs, and texts long enough not to be
        part of other words."""
        seen = sorted(self._seen.items(), key=lambda item: -len(item[0][1]))
        for (kind, value), placeholder in seen:
            if kind != "text" or len(value) >= _LONG_TEXT:
                text = text.replace(value, placeholder)
        return _URL_CREDENTIALS.sub(r"\1", text)


def fixture_of(delivery: Delivery, scrubber: Scrubber) -> Fixture:
    """The fixture of a recorded delivery, scrubbed with ``scrubber``."""
    headers = {n.lower(): v for n, v in delivery.headers}
    answer_headers = {n.lower(): v for n, v in delivery.response_headers}
    try:
        payload = json.loads(delivery.body)
    except ValueError:  # not JSON (a refused body): kept as text, values seen replaced
        body = scrubber.text(delivery.body.decode("utf-8", "replace")).encode()
    else:
        # Values, then what they left inside other strings (an account id in a URL).
        body = scrubber.text(json.dumps(scrubber.value("", payload), indent=2)).encode()
    answer = scrubber.text(delivery.response_body.decode("utf-8", "replace")).encode()
    return Fixture(
        id=delivery.id,
        method=delivery.method,
        path=delivery.path,
        query=scrubber.text(delivery.query),
        content_type=headers.get("content-type", "application/json"),
        body=body,
        status=delivery.status,
        answer_content_type=answer_headers.get("content-type", ""),
        answer=answer,
        event_types=tuple(str(e.get("event_type")) for e in delivery.events or ()),
    )


def write_fixtures(deliveries: Iterable[Delivery], directory: str | Path) -> list[Path]:
    """Write a fixture file per delivery into ``directory``; returns the paths written.

    One scrubber for all, so the same number gets the same placeholder in every file. File
    names are the delivery's id and its event types as a safe slug (no ``/``, ``..``, NUL or
    control character, 80 characters at most), unique in the directory; files are created
    readable by their owner only, never through a symbolic link (an existing file or link of
    that name is replaced).
    """
    folder = Path(directory)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    scrubber = Scrubber()
    written, names = [], set[str]()
    for delivery in deliveries:
        fixture = fixture_of(delivery, scrubber)
        path = folder / _file_name(fixture, names)
        _write_private(path, json.dumps(_document(fixture), indent=2) + "\n")
        written.append(path)
    return written


def _file_name(fixture: Fixture, taken: set[str]) -> str:
    """``00012-answer.json``: the id and a slug of the event types, unique among ``taken``."""
    slug = _SLUG.sub("_", "-".join(fixture.event_types)).strip("_-")[:80] or "delivery"
    stem = f"{fixture.id:05d}-{slug}"
    name, n = f"{stem}.json", 1
    while name.casefold() in taken:
        n += 1
        name = f"{stem}-{n}.json"
    taken.add(name.casefold())
    return name


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new owner-only file, then move it to ``path`` (replacing a file or
    a link there, never writing through one)."""
    descriptor, temporary = tempfile.mkstemp(prefix=".bwhooks-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _document(fixture: Fixture) -> dict[str, Any]:
    return {
        "bwhooks_fixture": FIXTURE_VERSION,
        "id": fixture.id,
        "event_types": list(fixture.event_types),
        "request": {
            "method": fixture.method,
            "path": fixture.path,
            "query": fixture.query,
            "content_type": fixture.content_type,
            "body": fixture.body.decode(),
        },
        "answer": {
            "status": fixture.status,
            "content_type": fixture.answer_content_type,
            "body": fixture.answer.decode(),
        },
    }


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
        body=request["body"].encode(),
        status=answer["status"],
        answer_content_type=answer["content_type"],
        answer=answer["body"].encode(),
        event_types=tuple(document.get("event_types", ())),
    )
