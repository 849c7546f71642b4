"""The optional client allow-list, and the proxy depth it trusts for X-Forwarded-For."""

from __future__ import annotations

import json

import pytest
from support import AUTH, JSON, PASSWORD, USER, wsgi_server

from bwhooks import BasicAuth, CallbackRequest, Headers, Receiver
from bwhooks.events import Event
from bwhooks.network import AllowList
from bwhooks.testing import fake_payload

BODY = json.dumps(fake_payload("sms")).encode()


def send(
    receiver: Receiver, client: tuple[str, int] | None, forwarded: list[str] | None = None
) -> int:
    headers = [("Content-Type", JSON), ("Authorization", AUTH)]
    headers += [("X-Forwarded-For", value) for value in forwarded or []]
    return receiver.handle(CallbackRequest("POST", "/callbacks", headers, BODY, b"", client)).status


def receiver(allow: AllowList) -> tuple[Receiver, list[Event]]:
    made = Receiver(auth=BasicAuth((USER, PASSWORD)), allow=allow)
    seen: list[Event] = []
    made.on(Event)(seen.append)
    return made, seen


def test_peer_address_without_proxies() -> None:
    made, seen = receiver(AllowList(["203.0.113.0/24", "2001:db8::/32"]))
    assert send(made, ("203.0.113.9", 5000)) == 200
    assert send(made, ("2001:db8::1", 5000)) == 200
    assert send(made, ("198.51.100.1", 5000)) == 403
    assert send(made, None) == 403
    assert send(made, ("198.51.100.1", 5000), ["203.0.113.9"]) == 403  # no proxy: ignored
    assert len(seen) == 2


def test_one_trusted_proxy_vouches_for_the_last_hop_only() -> None:
    made, seen = receiver(AllowList(["203.0.113.0/24"], trusted_proxies=1))
    proxy = ("10.0.0.2", 443)
    assert send(made, proxy, ["203.0.113.9"]) == 200
    assert send(made, proxy, ["203.0.113.9, 198.51.100.7"]) == 403  # the client wrote the first
    assert send(made, proxy, ["198.51.100.7", "203.0.113.9"]) == 200  # repeated headers join
    assert send(made, proxy) == 403  # no header: nobody vouched
    assert send(made, proxy, ["not-an-address"]) == 403
    assert len(seen) == 2


def test_two_trusted_proxies() -> None:
    allow = AllowList(["203.0.113.0/24"], trusted_proxies=2)
    headers = Headers([("X-Forwarded-For", "1.2.3.4, 203.0.113.5, 10.0.0.9")])
    assert allow.client_address(("10.0.0.1", 1), headers) == "203.0.113.5"
    assert not allow.allows(("10.0.0.1", 1), Headers([("X-Forwarded-For", "203.0.113.5")]))


def test_refused_before_credentials_and_body() -> None:
    made, _ = receiver(AllowList(["203.0.113.0/24"]))
    early = made.early_response("POST", Headers({}), ("198.51.100.1", 1))
    assert early is not None
    assert early.status == 403
    assert json.loads(early.body) == {"error": "forbidden"}


def test_through_a_real_server() -> None:
    allowed, seen = receiver(AllowList(["127.0.0.0/8"]))
    with wsgi_server(allowed) as deliver:
        assert deliver(body=BODY).status == 200
    refused, _ = receiver(AllowList(["10.0.0.0/8"]))
    with wsgi_server(refused) as deliver:
        assert deliver(body=BODY).status == 403
    assert len(seen) == 1


@pytest.mark.parametrize(("networks", "proxies"), [([], 0), (["10.0.0.0/8"], -1), (["nope"], 0)])
def test_bad_configuration_is_refused(networks: list[str], proxies: int) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        AllowList(networks, trusted_proxies=proxies)
