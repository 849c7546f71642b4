"""Reading a body up to a limit: ASGI messages, async and sync read(n), and the request built."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest

from bwhooks import CallbackRequest, Headers
from bwhooks.body import ASGIBody, read_limited, read_limited_async
from bwhooks.http import _request_of


class Messages:
    """An ASGI ``receive`` over ``chunks`` (then ``tail``), counting the calls."""

    def __init__(self, chunks: list[bytes], tail: str = "end") -> None:
        self.pending = list(chunks)
        self.tail = tail
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if not self.pending:
            if self.tail == "disconnect":
                return {"type": "http.disconnect"}
            raise AssertionError("receive() called after the last body message")
        chunk = self.pending.pop(0)
        more = bool(self.pending) or self.tail == "disconnect"
        return {"type": "http.request", "body": chunk, "more_body": more}


def chunked_read(chunks: list[bytes]) -> Any:
    """A plain async ``read(n)`` (not an ASGIBody): the general loop."""
    pending = list(chunks)

    async def read(size: int) -> bytes:
        return pending.pop(0) if pending else b""

    return read


CASES = [
    ([b'{"a": 1}'], 100, b'{"a": 1}'),
    ([b"x" * 60, b"y" * 40], 100, b"x" * 60 + b"y" * 40),  # exactly the limit
    ([b"x" * 60, b"y" * 41], 100, None),  # one byte over
    ([b"x" * 101], 100, None),
    ([b""], 100, b""),
]


@pytest.mark.parametrize(("chunks", "limit", "expected"), CASES)
def test_asgi_messages_and_any_async_read_give_the_same_body(
    chunks: list[bytes], limit: int, expected: bytes | None
) -> None:
    via_asgi = asyncio.run(read_limited_async(ASGIBody(Messages(chunks)), limit))
    via_read = asyncio.run(read_limited_async(chunked_read(chunks), limit))
    assert via_asgi == via_read == expected


def test_a_sync_read_ends_at_its_first_empty_chunk_or_the_limit() -> None:
    def reader(chunks: list[bytes]) -> Any:
        return lambda size: chunks.pop(0) if chunks else b""

    assert read_limited(reader([b"ab", b"cd"]), 4) == b"abcd"
    assert read_limited(reader([b"ab", b"", b"cd"]), 4) == b"ab"
    assert read_limited(reader([b"ab", b"cde"]), 4) is None


class ShortReads(io.BytesIO):
    """A stream that gives at most ``most`` bytes per read, as a socket may."""

    def __init__(self, data: bytes, most: int) -> None:
        super().__init__(data)
        self.most = most

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None
        assert size > 0
        return super().read(min(size, self.most))

    async def read_async(self, size: int) -> bytes:
        return self.read(size)


@pytest.mark.parametrize("most", [1, 7, 600, 1000, 1001, 65536])
def test_reading_stops_one_byte_past_the_limit_however_the_stream_splits(most: int) -> None:
    """Never more than limit + 1 bytes are taken from the client, whatever each read gives:
    what is past them is not ours to read (the next request on the connection)."""
    for limit, size in [(1000, 5000), (1000, 1001), (1000, 1000), (70_000, 200_000)]:
        body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        stream = ShortReads(body, most)
        assert read_limited(stream.read, limit) == (body if size <= limit else None)
        assert stream.tell() == min(size, limit + 1)
        stream = ShortReads(body, most)
        got = asyncio.run(read_limited_async(stream.read_async, limit))
        assert got == (body if size <= limit else None)
        assert stream.tell() == min(size, limit + 1)


def test_empty_asgi_messages_before_the_last_are_skipped() -> None:
    body = ASGIBody(Messages([b'{"a"', b"", b": 1}"]))
    assert asyncio.run(read_limited_async(body, 100)) == b'{"a": 1}'


def test_a_message_without_a_body_counts_as_empty() -> None:
    first: dict[str, Any] = {"type": "http.request", "more_body": True, "body": None}
    messages = iter([first, {"type": "http.request"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    assert asyncio.run(read_limited_async(ASGIBody(receive), 100)) == b""


def test_a_single_message_is_the_body_itself() -> None:
    chunk = b'{"eventType": "answer"}'
    assert asyncio.run(read_limited_async(ASGIBody(Messages([chunk])), 1000)) is chunk


def test_receiving_stops_at_the_message_that_crosses_the_limit() -> None:
    receive = Messages([b"x" * 600] * 10)
    assert asyncio.run(read_limited_async(ASGIBody(receive), 1000)) is None
    assert receive.calls == 2


def test_a_disconnect_ends_the_body_and_nothing_is_received_after_it() -> None:
    receive = Messages([b'{"a"'], tail="disconnect")
    body = ASGIBody(receive)

    async def drain() -> tuple[bytes | None, bytes]:
        return await read_limited_async(body, 100), await body(100)

    assert asyncio.run(drain()) == (b'{"a"', b"")
    assert receive.calls == 2  # the message, then the disconnect: no third receive


def test_asgi_body_is_a_read_function_too() -> None:
    body = ASGIBody(Messages([b"ab", b"", b"cd"]))

    async def chunks() -> list[bytes]:
        return [await body(10) for _ in range(4)]

    assert asyncio.run(chunks()) == [b"ab", b"cd", b"", b""]


@pytest.mark.parametrize(
    ("method", "body", "query"),
    [
        ("POST", b"{}", b""),
        ("GET", b"", b"eventType=answer"),
        ("post", b"{}", b""),  # converted: upper case
        ("PUT", bytearray(b"{}"), b"a=1"),  # converted: bytes
        ("POST", memoryview(b"{}"), "a=1"),  # converted: bytes, query encoded
        ("POST", b"{}", "a=1"),  # converted: the query encoded
    ],
)
def test_a_request_from_server_parts_equals_the_converted_one(
    method: str, body: Any, query: Any
) -> None:
    headers = Headers([("Content-Type", "application/json")])
    built = _request_of(method, "/cb", headers, body, query_string=query, client=("h", 1))
    assert built == CallbackRequest(method, "/cb", headers, body, query, ("h", 1))
    assert (type(built.method), type(built.body), type(built.query_string)) == (str, bytes, bytes)
    assert built.method == method.upper()
