"""The bodies the benchmarks parse: one documented v1 example per event kind."""

from __future__ import annotations

import json
from pathlib import Path

from bwhooks.auth import basic_authorization

EXAMPLES = Path(__file__).parents[1] / "tests" / "examples" / "v1"
DATA = Path(__file__).parent / "data"
CREDENTIALS = ("bw-user", "s3cret")
AUTHORIZATION = basic_authorization(*CREDENTIALS)
HEADERS = {"Content-Type": "application/json; charset=utf-8", "Authorization": AUTHORIZATION}


def _compact(path: Path) -> bytes:
    return json.dumps(json.loads(path.read_text()), separators=(",", ":")).encode()


def v1_bodies() -> dict[str, bytes]:
    """``{kind: body}`` for every v1 kind, from the richest example of each (the "-3" SDK
    fixtures carry real ids; the docs' "-1" examples fill the rest)."""
    bodies: dict[str, bytes] = {}
    by_preference = sorted(
        EXAMPLES.glob("*.json"), key=lambda p: (p.stem.rsplit("-", 1)[1] != "3", p.name)
    )
    for path in by_preference:
        kind = path.stem.rsplit("-", 1)[0]
        bodies.setdefault(kind, _compact(path))
    return dict(sorted(bodies.items()))


V1 = v1_bodies()
SDK_EQUIVALENTS = {  # bwhooks kind -> the v2 payload bandwidth-sdk parses for the same event
    "answer": _compact(DATA / "v2-answer-1.json"),
    "sms": json.dumps(json.loads((DATA / "v2-message-received-1.json").read_text())[0]).encode(),
}
