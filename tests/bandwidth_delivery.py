"""Delivering a JSON body the way Bandwidth does: without credentials first, then, once
challenged (``401`` with a Basic ``WWW-Authenticate``), again with them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from support import AUTH, JSON, Send

from bwhooks import CallbackResponse

MORE = Path(__file__).parent / "examples" / "more"


def load_more(family: str, name: str) -> bytes:
    """The bytes of an example of ``tests/examples/more/<family>/``."""
    return (MORE / family / name).read_bytes()


def more_names(family: str) -> list[str]:
    return sorted(path.name for path in (MORE / family).glob("*.json"))


def as_bandwidth(
    send: Send,
    body: bytes | Mapping[str, Any] | list[Any],
    headers: Mapping[str, str] | None = None,
) -> CallbackResponse:
    """Send ``body`` (bytes, or JSON to serialize) as Bandwidth does, with ``headers``
    (a signature) on both attempts; the answer to the second one."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    first = {"Content-Type": JSON, **(headers or {})}
    challenge = send(body=data, headers=first)
    assert challenge.status == 401, challenge
    assert challenge.headers["WWW-Authenticate"].startswith("Basic realm=")
    return send(body=data, headers={**first, "Authorization": AUTH})
