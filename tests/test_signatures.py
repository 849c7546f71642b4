"""HmacSignature: a body's HMAC in one header, as Bandwidth signs toll-free verification
results (hex) and Subscriptions v2 notifications (base64)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging

import pytest
from support import load_v2_example

from bwhooks import BasicAuth, CallbackRequest, CallbackResponse, Headers, HmacSignature, Receiver
from bwhooks.events import Event

TFV_SECRET = "a-shared-secret-of-32-characters"
SUBS_SECRET = "subscription secret"
BODY = b'{"phoneNumber":"+18885555555","accountId":"9900900","status":"VERIFIED"}'


def hex_of(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def b64_of(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_toll_free_reads_lowercase_hex_in_its_header() -> None:
    signature = HmacSignature.toll_free(TFV_SECRET)
    good = hex_of(TFV_SECRET, BODY)
    assert signature.verify(Headers({"x-bandwidth-signature-hmac-sha256": good}), BODY)
    assert signature.verify(Headers({"X-Bandwidth-Signature-HMAC-SHA256": good.upper()}), BODY)
    assert signature.verify(Headers({"x-bandwidth-signature-hmac-sha256": f" {good}\t"}), BODY)
    assert signature.sign(BODY) == good
    assert signature.headers_for(BODY) == (("x-bandwidth-signature-hmac-sha256", good),)
    # base64 of the right digest is not what this header carries
    assert not signature.verify(
        Headers({"x-bandwidth-signature-hmac-sha256": b64_of(TFV_SECRET, BODY)}), BODY
    )


def test_subscriptions_reads_base64_in_its_header() -> None:
    signature = HmacSignature.subscriptions(SUBS_SECRET)
    good = b64_of(SUBS_SECRET, BODY)
    assert signature.verify(Headers({"X-Bandwidth-Signature-SHA-256": good}), BODY)
    assert signature.sign(BODY) == good
    assert not signature.verify(
        Headers({"X-Bandwidth-Signature-SHA-256": hex_of(SUBS_SECRET, BODY)}), BODY
    )
    for bad in (
        good.rstrip("="),  # unpadded: not what Bandwidth writes
        good[:10] + "!" + good[10:],  # a character out of the alphabet, the rest right
        good[:10] + " " + good[10:],
        good.replace("+", "-").replace("/", "_") if "+" in good or "/" in good else good + "-",
        base64.b64encode(
            hmac.new(SUBS_SECRET.encode(), BODY, hashlib.sha256).digest()[:-1]
        ).decode(),  # a byte short
        base64.b64encode(hmac.new(SUBS_SECRET.encode(), BODY, hashlib.sha512).digest()).decode(),
    ):
        assert not signature.verify(Headers({"X-Bandwidth-Signature-SHA-256": bad}), BODY), bad


@pytest.mark.parametrize(
    "headers",
    [
        [],  # missing
        [("x-bandwidth-signature-hmac-sha256", "")],
        [("x-bandwidth-signature-hmac-sha256", "0" * 64)],  # wrong
        [("x-bandwidth-signature-hmac-sha256", "zz" * 32)],  # not hex
        [("x-bandwidth-signature-hmac-sha256", "ab" * 31)],  # too short
        [("x-bandwidth-signature-hmac-sha256", "sha256=" + "ab" * 32)],
        [("x-bandwidth-signature-hmac-sha256", "é" * 64)],  # not ASCII
        [("x-bandwidth-signature-hmac-sha256", "\x00" * 64)],
        [("x-bandwidth-signature", "GOOD")],  # another header
        [("x-bandwidth-signature-hmac-sha256", "ab " * 21 + "a")],  # 64 characters, 21 bytes
        [("x-bandwidth-signature-hmac-sha256", "GOOD[:-2] ")],  # a byte short, padded
        [("x-bandwidth-signature-hmac-sha256", "GOOD:spaced")],  # the right digits, spaced
    ],
)
def test_a_missing_malformed_or_wrong_signature_is_refused(headers: list[tuple[str, str]]) -> None:
    signature = HmacSignature.toll_free(TFV_SECRET)
    good = hex_of(TFV_SECRET, BODY)
    spelled = {
        "GOOD": good,
        "GOOD[:-2] ": good[:-2] + "  ",
        "GOOD:spaced": " ".join(good[i : i + 2] for i in range(0, len(good), 2)),
    }
    sent = [(name, spelled.get(value, value)) for name, value in headers]
    assert not signature.verify(Headers(sent), BODY)


def test_a_repeated_signature_header_is_refused_even_when_one_value_is_right() -> None:
    signature = HmacSignature.toll_free(TFV_SECRET)
    good = hex_of(TFV_SECRET, BODY)
    header = "x-bandwidth-signature-hmac-sha256"
    assert not signature.verify(Headers([(header, good), (header, "0" * 64)]), BODY)
    assert not signature.verify(Headers([(header, good), (header.upper(), good)]), BODY)


@pytest.mark.parametrize(
    "body", [b"", b"\xff\xfe not UTF-8 \x80", b"{}" + b" " * 1_000_000, BODY + b"\n"]
)
def test_the_signature_covers_the_exact_bytes_whatever_they_are(body: bytes) -> None:
    signature = HmacSignature.subscriptions(SUBS_SECRET)
    assert signature.verify(Headers({signature.header: b64_of(SUBS_SECRET, body)}), body)
    assert not signature.verify(Headers({signature.header: b64_of(SUBS_SECRET, body)}), body + b" ")
    if body:
        shorter = body[:-1]
        assert not signature.verify(Headers({signature.header: b64_of(SUBS_SECRET, body)}), shorter)


def test_several_secrets_rotate() -> None:
    old, new = "old-secret-0123456789", "new-secret-0123456789"
    signature = HmacSignature.toll_free(new, old)
    for secret in (old, new):
        assert signature.verify(Headers({signature.header: hex_of(secret, BODY)}), BODY)
    assert not signature.verify(Headers({signature.header: hex_of("x" * 20, BODY)}), BODY)
    assert signature.sign(BODY) == hex_of(new, BODY)  # the first secret signs


def test_the_general_constructor_takes_header_encoding_and_digest() -> None:
    signature = HmacSignature(b"k", header="X-Sig", encoding="base64", digest="sha512")
    digest = base64.b64encode(hmac.new(b"k", BODY, hashlib.sha512).digest()).decode()
    assert signature.verify(Headers({"x-sig": digest}), BODY)
    assert not signature.verify(Headers({"x-sig": b64_of("k", BODY)}), BODY)


@pytest.mark.parametrize(
    ("secrets", "options", "error"),
    [
        ((), {"header": "X-Sig"}, ValueError),
        (("",), {"header": "X-Sig"}, ValueError),
        ((1,), {"header": "X-Sig"}, TypeError),
        (("k",), {"header": "X Sig"}, ValueError),
        (("k",), {"header": "X-Sig:"}, ValueError),
        (("k",), {"header": ""}, ValueError),
        (("k",), {"header": "X-Sig", "encoding": "base32"}, ValueError),
        (("k",), {"header": "X-Sig", "digest": "sha257"}, ValueError),
    ],
)
def test_a_signature_that_could_not_verify_is_refused_when_built(
    secrets: tuple[object, ...], options: dict[str, str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        HmacSignature(*secrets, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("secret", ["short", "x" * 65, "sixteen chars é!", "sixteen\tchars..."])
def test_a_toll_free_secret_bandwidth_would_not_accept_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="16 to 64 printable ASCII"):
        HmacSignature.toll_free(secret)


def test_repr_never_shows_a_secret() -> None:
    shown = repr(HmacSignature.toll_free(TFV_SECRET, "another-secret-123"))
    assert TFV_SECRET not in shown
    assert "another" not in shown
    assert "2 secret(s)" in shown


def test_a_receiver_refuses_an_unsigned_or_wrongly_signed_body_with_403_and_runs_nothing() -> None:
    auth = BasicAuth(("bandwidth", "pw"))
    receiver = Receiver(auth=auth, signature=HmacSignature.subscriptions(SUBS_SECRET))
    handled: list[Event] = []
    receiver.on(Event)(handled.append)
    body = json.dumps(load_v2_example("disconnect-1.json")).encode()
    base = [("Content-Type", "application/json"), ("Authorization", auth.authorization())]

    def send(*extra: tuple[str, str]) -> int:
        return receiver.handle(CallbackRequest("POST", "/cb", [*base, *extra], body)).status

    header = "X-Bandwidth-Signature-SHA-256"
    assert send() == 403
    assert send((header, b64_of("wrong", body))) == 403
    assert send((header, b64_of(SUBS_SECRET, body)), (header, b64_of(SUBS_SECRET, body))) == 403
    assert handled == []
    assert send((header, b64_of(SUBS_SECRET, body))) == 200
    assert len(handled) == 1


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_signed_receiver_refuses_a_query_which_no_signature_covers(
    asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A GET's event comes from its query string: a signed body sent along with a forged query
    must not make the query believed."""
    auth = BasicAuth(("bandwidth", "pw"))
    signature = HmacSignature.toll_free(TFV_SECRET)
    receiver = Receiver(auth=auth, signature=signature)
    handled: list[Event] = []
    receiver.on(Event)(handled.append)
    forged = "/cb?phoneNumber=%2B18885550002&accountId=9900900&status=VERIFIED"
    signed = [("Authorization", auth.authorization()), *signature.headers_for(BODY)]

    def send(target: str, headers: list[tuple[str, str]]) -> CallbackResponse:
        path, _, query = target.partition("?")
        request = CallbackRequest("GET", path, headers, BODY, query_string=query)
        if asynchronous:
            return asyncio.run(receiver.handle_async(request))
        return receiver.handle(request)

    with caplog.at_level(logging.WARNING, "bwhooks.receiver"):
        refused = send(forged, signed)
    assert refused.status == 403
    assert json.loads(refused.body) == {"error": "forbidden"}
    assert "WWW-Authenticate" not in refused.headers
    refusals = [r.getMessage() for r in caplog.records if r.name == "bwhooks.receiver"]
    assert refusals == ["callback refused: 403 a query is not covered by the signature"]
    emergency = send("/cb?to=911&from=%2B19195551234", signed)  # no family's query either
    assert emergency.status == 403
    challenged = send(forged, signed[1:])  # the challenge still comes first
    assert challenged.status == 401
    assert "WWW-Authenticate" in challenged.headers
    assert handled == []
    # the same receiver without a signature reads queries as before
    unsigned = Receiver(auth=auth)
    unsigned.on(Event)(handled.append)
    v1 = "/cb?eventType=answer&callId=c-1&from=%2B19195551234&to=%2B19195550000"
    assert (
        unsigned.handle(
            CallbackRequest("GET", "/cb", signed[:1], b"", query_string=v1.partition("?")[2])
        ).status
        == 200
    )
    assert len(handled) == 1
