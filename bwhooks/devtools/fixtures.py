"""Recorded deliveries as regression fixtures, with personal data and secrets replaced.

``bwhooks export FILE DIR`` writes one JSON fixture per chosen delivery: the request (method,
path, query, content type, body) and the answer it got (status, content type, body). The
sender wrote the request, so it is scrubbed by default: a string is kept only under a key
known to hold structure (``eventType``, ``callState``, timestamps, the ids Bandwidth
generates, ...) and only when it has that shape; every other string, in a JSON body, a query
string or a form body, is replaced by a placeholder of its shape: a phone number by a
fictional number written the same way (``+1555010000N``), an e-mail by ``userN@example.com``,
digits (keypad input, PINs) by as many digits, a SIP address by ``sip:userN@host``, an
account id by ``9000000N``, a URL by the same URL with its credentials dropped and its
parts scrubbed, anything else by ``<text N>``. Answers, which the app wrote, keep their
words: in BXML (element text and attributes) and other text, every value collected from the
requests is replaced wherever it appears, and so is whatever is shaped like a phone number
(E.164, 10 digits, ``+1 (919) 555-0199``, percent-encoded ``%2B1919...``), an e-mail, a SIP
address, a number of four digits or more, a credential in a URL or a secret-looking
parameter. BXML attributes are kept only when they shape the call (``voice``, ``maxDigits``,
...; URLs are scrubbed as text), the others (``username``, ``password``, ``tag``, ``uui``,
...) are replaced whole, and so is the text of ``<Conference>`` and ``<Tag>``; an XML
request (a Numbers notification, a port-out request) and a port-out answer are scrubbed
element by element (:mod:`~bwhooks.devtools.scrubbing.numbers`: ids, statuses, times and
error codes kept, telephone numbers and the subscriber's data replaced, the elements and
their order kept); BXML is
written again from the scrubbed tree (comments and namespace declarations dropped), never
as it was when anything could hide outside the tree. A part nested deeper than a scrub
follows is replaced whole. Bodies are read as the receiver reads them (UTF-8, or UTF-16/32
by BOM or NULs; an answer also by its ``charset``) and written back in that encoding; one
that does not decode to text the scrub can read is replaced whole.

Values are collected over every delivery before any is written (:meth:`Scrubber.collect`),
so a name or number first seen in a later delivery is replaced in an earlier one too, and
the same value always gets the same placeholder, in bodies and answers alike. The pytest
plugin's ``bw_replay`` delivers a fixture to your app through
:class:`~bwhooks.testing.CallbackClient` and checks that the answer is the one recorded (BXML
compared as XML).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bwhooks.devtools.recording import Delivery
from bwhooks.devtools.scrubbing.scrubber import Scrubber
from bwhooks.testing.recorded import FIXTURE_VERSION, Fixture, load_fixture

__all__ = ["FIXTURE_VERSION", "Fixture", "Scrubber", "fixture_of", "load_fixture", "write_fixtures"]

_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


def fixture_of(delivery: Delivery, scrubber: Scrubber) -> Fixture:
    """The fixture of a recorded delivery, scrubbed with ``scrubber`` (which collects this
    delivery's values first; collect every delivery beforehand to replace values found in
    others too, as :func:`write_fixtures` does)."""
    scrubber.collect((delivery,))
    return scrubber.fixture(delivery)


def write_fixtures(deliveries: Iterable[Delivery], directory: str | Path) -> list[Path]:
    """Write a fixture file per delivery into ``directory``; returns the paths written.

    The deliveries are read twice (an iterator is read into a list first): every value is
    collected before any file is written, so one scrubber replaces the same value by the same
    placeholder in every file, whatever the order. File names are the delivery's id and its
    event types as a safe slug (no ``/``, ``..``, NUL or control character, 80 characters at
    most), unique in the directory; files are created readable by their owner only, never
    through a symbolic link (an existing file or link of that name is replaced).
    """
    if iter(deliveries) is deliveries:
        deliveries = list(deliveries)
    folder = Path(directory)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    scrubber = Scrubber()
    for _ in range(3):  # until no pass finds a new value (the second, in practice)
        if not scrubber.collect(deliveries):
            break
    written, names = [], set[str]()
    for delivery in deliveries:
        fixture = scrubber.fixture(delivery)
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
            "body": fixture.body.decode(fixture.body_encoding),
            **_encoding(fixture.body_encoding),
        },
        "answer": {
            "status": fixture.status,
            "content_type": fixture.answer_content_type,
            "body": fixture.answer.decode(fixture.answer_encoding),
            **_encoding(fixture.answer_encoding),
        },
    }


def _encoding(name: str) -> dict[str, str]:
    """The ``encoding`` key of a body not in UTF-8."""
    return {} if name == "utf-8" else {"encoding": name}
