"""Fixtures shared by the test suite."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from frameworks import TRANSPORTS
from processes import start_redis
from support import PASSWORD, USER, Send, free_port

from bwhooks import BasicAuth, InsecureReceiverWarning, Receiver

pytest_plugins = ["pytester"]


@pytest.fixture
def receiver() -> Receiver:
    """A receiver with Basic Auth (USER, PASSWORD) and no handlers yet."""
    return Receiver(auth=BasicAuth((USER, PASSWORD)))


@pytest.fixture
def open_receiver() -> Receiver:
    """A receiver without auth (its warning silenced: tests that check it build their own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureReceiverWarning)
        return Receiver(auth=None)


def _connect(name: str) -> Iterator[Callable[[Receiver], Send]]:
    with ExitStack() as stack:
        yield lambda receiver: stack.enter_context(TRANSPORTS[name].open(receiver))


@pytest.fixture(params=sorted(TRANSPORTS))
def connect(request: pytest.FixtureRequest) -> Iterator[Callable[[Receiver], Send]]:
    """connect(receiver) -> send: one request through the core or any adapter."""
    yield from _connect(request.param)


@pytest.fixture(params=sorted(name for name, t in TRANSPORTS.items() if t.adapter))
def connect_adapter(request: pytest.FixtureRequest) -> Iterator[Callable[[Receiver], Send]]:
    """The same, through the adapters only (a user's app in front)."""
    yield from _connect(request.param)


@pytest.fixture(params=sorted(name for name, t in TRANSPORTS.items() if t.chunked))
def connect_chunked(request: pytest.FixtureRequest) -> Iterator[Callable[[Receiver], Send]]:
    """The same, through the ways that deliver bodies without Content-Length."""
    yield from _connect(request.param)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real redis-server on a free port, for this session (make test installs it)."""
    port = free_port()
    service = start_redis(port, tmp_path_factory.mktemp("redis"))
    yield port
    service.stop()
