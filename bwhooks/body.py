"""Reading a request body up to a limit, from whatever a server offers (sans-I/O loops)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

__all__ = [
    "GONE",
    "UNREADABLE",
    "ASGIBody",
    "AsyncRead",
    "Read",
    "asgi_reader",
    "read_limited",
    "read_limited_async",
]

Read = Callable[[int], bytes]
"""``read(n)``: at most ``n`` more bytes of the body (maybe fewer); ``b""`` at its end."""
AsyncRead = Callable[[int], Awaitable[bytes]]
"""The ``async`` twin of :data:`Read` (an ASGI ``receive`` loop, a Starlette stream, ...)."""

CHUNK_SIZE = 65536

#: What a server's body stream raises for bytes it cannot decode: werkzeug's chunked
#: decoder an ``OSError`` (a bad chunk size, an extension, a trailer, a missing CRLF),
#: others a ``ValueError``. Readers re-raise ``GONE`` first: a client that is gone or too
#: slow is the server's to drop, there is no one to answer.
UNREADABLE = (OSError, ValueError)
GONE = (TimeoutError, ConnectionError)


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
    if read.__class__ is ASGIBody:  # the ASGI messages, read without a read(n) per chunk
        return await read.read_limited(limit)
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


Receive = Callable[[], Awaitable[Mapping[str, Any]]]


class ASGIBody:
    """An :data:`AsyncRead` over an ASGI ``receive``: the ``http.request`` bodies one by one,
    then ``b""`` at the end of the body or on ``http.disconnect`` (no receive after that)."""

    __slots__ = ("_more", "_receive")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._more = True

    async def __call__(self, size: int) -> bytes:
        """The next non-empty chunk (``size`` is a hint: a message comes whole), or ``b""``."""
        while self._more:
            chunk, self._more = _body_of(await self._receive())
            if chunk:
                return chunk
        return b""

    async def read_limited(self, limit: int) -> bytes | None:
        """The rest of the body, or ``None`` as soon as it exceeds ``limit`` bytes."""
        chunks: list[bytes] = []
        size = 0
        while self._more:
            chunk, self._more = _body_of(await self._receive())
            size += len(chunk)
            if size > limit:
                return None
            if not self._more and not chunks:
                return chunk  # one message, nearly always: nothing to join
            chunks.append(chunk)
        return b"".join(chunks)


def _body_of(message: Mapping[str, Any]) -> tuple[bytes, bool]:
    """The body in an ASGI message, and whether more follows (not after a disconnect)."""
    if message["type"] != "http.request":  # http.disconnect
        return b"", False
    return message.get("body") or b"", bool(message.get("more_body", False))


def asgi_reader(receive: Receive) -> AsyncRead:
    """``read(n)`` over an ASGI ``receive`` (an :class:`ASGIBody`)."""
    return ASGIBody(receive)
