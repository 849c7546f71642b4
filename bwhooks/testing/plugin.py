"""The bwhooks pytest plugin (registered through the ``pytest11`` entry point).

Inert until a test asks for one of its fixtures:

- ``bw_fake``: :func:`~bwhooks.testing.fake_payload`, realistic wire payloads;
- ``bw_client``: a :class:`~bwhooks.testing.CallbackClient` for the app your
  ``bwhooks_app`` fixture returns, authenticating with your ``bwhooks_credentials`` and,
  when your ``bwhooks_signature`` fixture returns one, signing every body with it;
- ``bandwidth_api``: a :class:`~bwhooks.testing.FakeBandwidthApi` served by
  pytest-httpserver (imported only when this fixture is used), recording what your
  handlers call;
- ``bandwidth_api_v2``: a :class:`~bwhooks.testing.FakeBandwidthApiV2`, Bandwidth's
  Messaging v2 and Voice v2 REST APIs (OAuth2 or Basic) on the same server;
- ``numbers_api``: a :class:`~bwhooks.testing.FakeNumbersApi`, Bandwidth's Numbers
  (Dashboard) API (XML, Basic) on a server of its own, usable beside the other two;
- ``bw_replay``: ``bw_replay(path)`` delivers a fixture that ``bwhooks export`` wrote to
  ``bwhooks_app`` through ``bw_client`` and fails unless the answer is the one recorded.

The ``bwhooks`` marker sets the ``bw_client`` path: ``@pytest.mark.bwhooks(path="/hooks")``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from bwhooks.testing.bandwidth_api import FakeBandwidthApi
from bwhooks.testing.bandwidth_api_v2 import FakeBandwidthApiV2
from bwhooks.testing.client import CallbackClient
from bwhooks.testing.delivery import Signer
from bwhooks.testing.fakes import fake_payload
from bwhooks.testing.numbers_api import FakeNumbersApi


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", 'bwhooks(path="/callbacks"): where bw_client sends callbacks in this test'
    )


@pytest.fixture
def bw_fake() -> Callable[..., Any]:
    """``bw_fake(kind, **overrides)``: a realistic wire payload (see ``fake_payload``): a
    JSON-ready ``dict`` or ``list``, or for a Numbers kind the XML text."""
    return fake_payload


@pytest.fixture
def bwhooks_app() -> Any:
    """Override this fixture: return the WSGI or ASGI app that serves your callbacks."""
    pytest.fail(
        "bw_client needs a `bwhooks_app` fixture returning your WSGI or ASGI app", pytrace=False
    )


@pytest.fixture
def bwhooks_credentials() -> tuple[str, str] | None:
    """Override this fixture: return the ``(user, password)`` your receiver accepts."""
    pytest.fail(
        "bw_client needs a `bwhooks_credentials` fixture returning (user, password)", pytrace=False
    )


@pytest.fixture
def bwhooks_signature() -> Signer | None:
    """Override this fixture to have ``bw_client`` sign what it sends, as Bandwidth signs
    toll-free verification results and Subscriptions v2 notifications: return
    ``HmacSignature.toll_free(secret)`` or ``HmacSignature.subscriptions(secret)``. By
    default nothing is signed."""
    return None


@pytest.fixture
def bw_client(
    request: pytest.FixtureRequest,
    bwhooks_app: Any,
    bwhooks_credentials: tuple[str, str] | None,
    bwhooks_signature: Signer | None,
) -> CallbackClient:
    """Sends callbacks to ``bwhooks_app`` in-process, challenge first, like Bandwidth (signed
    with ``bwhooks_signature`` when that fixture returns a signature)."""
    marker = request.node.get_closest_marker("bwhooks")
    path = marker.kwargs.get("path", "/callbacks") if marker else "/callbacks"
    return CallbackClient(bwhooks_app, bwhooks_credentials, path, signature=bwhooks_signature)


def _local_server() -> Iterator[Any]:
    """A local HTTP server (pytest-httpserver's), imported only when a fixture needs one."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


_Api = TypeVar("_Api", FakeBandwidthApi, FakeBandwidthApiV2, FakeNumbersApi)


def _serving(server: Any, make: Callable[[str], _Api]) -> Iterator[_Api]:
    """A fake API ``make(base URL)`` answering every request ``server`` gets, for one test."""
    import re

    server.clear()
    api = make(server.url_for("/").rstrip("/"))
    server.expect_request(re.compile(r"/.*")).respond_with_handler(api.handle)
    yield api
    server.clear()


@pytest.fixture(scope="session")
def bwhooks_api_server() -> Iterator[Any]:
    """The local HTTP server (pytest-httpserver's) behind ``bandwidth_api``, one per session."""
    yield from _local_server()


@pytest.fixture
def bandwidth_api_v2(bwhooks_api_server: Any) -> Iterator[FakeBandwidthApiV2]:
    """A fake of Bandwidth's v2 REST APIs (Messaging v2, Voice v2, OAuth2), fresh for each
    test; configure bandwidth-sdk with ``.sdk_configuration()``, or your client with ``.url``."""
    yield from _serving(bwhooks_api_server, FakeBandwidthApiV2)


@pytest.fixture
def bandwidth_api(bwhooks_api_server: Any) -> Iterator[FakeBandwidthApi]:
    """A fake Bandwidth REST API, fresh for each test; point your code at ``.url``."""
    yield from _serving(bwhooks_api_server, FakeBandwidthApi)


@pytest.fixture(scope="session")
def bwhooks_numbers_server() -> Iterator[Any]:
    """The local HTTP server behind ``numbers_api`` (its own: ``numbers_api`` and
    ``bandwidth_api_v2`` can serve one test together), one per session."""
    yield from _local_server()


@pytest.fixture
def numbers_api(bwhooks_numbers_server: Any) -> Iterator[FakeNumbersApi]:
    """A fake of Bandwidth's Numbers (Dashboard) API, fresh for each test; point your
    client at ``.url`` with ``.username``/``.password``, seed orders with ``.add_order``."""
    yield from _serving(bwhooks_numbers_server, FakeNumbersApi)


@pytest.fixture
def bw_replay(bw_client: CallbackClient) -> Callable[..., Any]:
    """``bw_replay(path)``: deliver a fixture of ``bwhooks export`` to ``bwhooks_app`` (its
    method, query, content type and body, the challenge first) and fail unless the answer
    has the recorded status and body (BXML compared as XML, JSON as JSON); returns it."""
    from bwhooks.testing.delivery import OutgoingRequest
    from bwhooks.testing.recorded import load_fixture, same_body

    def replay(path: Any) -> Any:
        fixture = load_fixture(path)
        headers = {"Content-Type": fixture.content_type, "User-Agent": "BandwidthAPI/v1 (bwhooks)"}
        request = OutgoingRequest(
            fixture.method, bw_client.path, fixture.query, fixture.body, headers
        )
        answer = bw_client.send_request(request)
        if answer.status != fixture.status or not same_body(fixture.answer, answer.body):
            pytest.fail(
                f"{path}: answered {answer.status} {answer.body[:300]!r}, "
                f"recorded {fixture.status} {fixture.answer[:300]!r}",
                pytrace=False,
            )
        return answer

    return replay
