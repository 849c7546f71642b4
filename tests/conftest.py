"""Fixtures shared by the test suite."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from support import PASSWORD, TRANSPORTS, USER, Send

from bwhooks import BasicAuth, InsecureReceiverWarning, Receiver


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


@pytest.fixture(params=sorted(TRANSPORTS))
def connect(request: pytest.FixtureRequest) -> Iterator[Callable[[Receiver], Send]]:
    """connect(receiver) -> send: one request through handle, handle_async, WSGI or ASGI."""
    with ExitStack() as stack:
        yield lambda receiver: stack.enter_context(TRANSPORTS[request.param](receiver))
