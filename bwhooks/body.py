"""Reading a request body up to a limit, from whatever a server offers (sans-I/O loops)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

__all__ = ["AsyncRead", "Read", "asgi_reader", "read_limited", "read_limited_async"]

Read = Callable[[int], bytes]
"""``read(n)``: at most ``n`` more bytes of the body (maybe fewer); ``b""`` at its end."""
AsyncRead = Callable[[int], Awaitable[bytes]]
"""The ``async`` twin of :data:`Read` (an ASGI ``receive`` loop, a Starlette stream, ...)."""

CHUNK_SIZE = 65536


def read_limited(read: Read, limit: int) -> bytes | None:
    """The whole body, or ``None`` as soon as it exceeds ``limit`` bytes (reading stops there)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = read(min(CHUNK_SIZE, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


async def read_limited_async(read: AsyncRead, limit: int) -> bytes | None:
    """The ``async`` twin of :func:`read_limited`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await read(min(CHUNK_SIZE, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


def asgi_reader(receive: Callable[[], Awaitable[Mapping[str, Any]]]) -> AsyncRead:
    """``read(n)`` over an ASGI ``receive``: the ``http.request`` bodies one by one, then
    ``b""`` at the end of the body or on ``http.disconnect`` (no receive after that)."""
    more = True

    async def read(size: int) -> bytes:
        nonlocal more
        while more:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect
                more = False
                break
            more = bool(message.get("more_body", False))
            chunk: bytes = message.get("body", b"")
            if chunk:
                return chunk
        return b""

    return read
