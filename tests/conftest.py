"""Fixtures shared by the test suite."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from frameworks import TRANSPORTS
from hypothesis import settings
from processes import start_redis
from support import PASSWORD, USER, Send, free_port

from bwhooks import BasicAuth, InsecureReceiverWarning, Receiver

pytest_plugins = ["pytester"]

# `pytest --hypothesis-profile=mutation` (make mutation): the same examples on every run, so
# that a mutant's verdict does not depend on the draw.
settings.register_profile("mutation", derandomize=True, database=None)


@pytest.fixture(autouse=True)
def _build_once_state_per_test() -> None:
    """Under mutmut's tracing run only (make mutation): what bwhooks builds once per process
    (the compiled decoders, the general converter, the unknown classes) is built again for
    each test, so that mutmut knows every test relying on it reaches the code that builds
    it; otherwise only the first such test would be run against that code's mutants."""
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return
    from bwhooks import families
    from bwhooks.decoding import compiled, parsing

    compiled._plan = None
    families.DEFAULT._unknown = None
    families.DEFAULT._of.clear()
    parsing._LENIENT = parsing.make_converter()
    parsing._HOOKS.clear()


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
