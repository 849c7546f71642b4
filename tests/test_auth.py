"""BasicAuth: the challenge, rotation, constant-time comparison, hostile headers."""

from __future__ import annotations

import hmac
import json
from base64 import b64encode
from typing import Any

import pytest

from bwhooks import AuthResult, BasicAuth, CallbackRequest, Headers, Receiver, SmsEvent
from bwhooks.auth import basic_authorization
from bwhooks.testing import fake_payload


def check(auth: BasicAuth, authorization: str | None) -> AuthResult:
    headers = Headers({} if authorization is None else {"Authorization": authorization})
    return auth.check(headers)


def basic(raw: bytes) -> str:
    return "Basic " + b64encode(raw).decode()


Secret = str | bytes  # BasicAuth compares bytes, the Receiver's one-step path ASCII text
PAIRS = [("bw-user", "s3cret"), ("bw-user", "next-s3cret"), ("ünï", "pässwörd")]
AUTH = BasicAuth(*PAIRS)


def test_missing_header_asks_for_the_challenge() -> None:
    assert check(AUTH, None) is AuthResult.MISSING
    assert AUTH.challenge() == (("WWW-Authenticate", 'Basic realm="bwhooks"'),)


def test_custom_realm_in_the_challenge() -> None:
    auth = BasicAuth(("u", "p"), realm="voice callbacks")
    assert auth.challenge() == (("WWW-Authenticate", 'Basic realm="voice callbacks"'),)


@pytest.mark.parametrize(
    ("user", "password"), [("bw-user", "s3cret"), ("bw-user", "next-s3cret"), ("ünï", "pässwörd")]
)
def test_every_rotated_pair_is_accepted(user: str, password: str) -> None:
    assert check(AUTH, basic_authorization(user, password)) is AuthResult.OK


@pytest.mark.parametrize(
    "authorization",
    [
        basic_authorization("bw-user", "wrong"),
        basic_authorization("other", "s3cret"),
        basic_authorization("bw-user", "s3cret "),
        basic_authorization("bw-user", "next-s3cret" + "x"),
        basic_authorization("bw-user", ""),
        basic(b"bw-user"),  # no colon
        basic(b"\xff\xfe:\x00"),  # not UTF-8
        "Basic",
        "Basic ",
        "Basic !!!not-base64!!!",
        "Basic YnctdXNlcjpzM2NyZXQ",  # bad padding
        "Bearer " + b64encode(b"bw-user:s3cret").decode(),
        "Digest username=bw-user",
        "Basic " + "é" * 20,  # non-ASCII in the header itself
        "",
        "   ",
        "Basic " + "A" * 100_000,
    ],
)
def test_wrong_or_malformed_credentials_are_invalid_never_an_exception(
    authorization: str,
) -> None:
    assert check(AUTH, authorization) is AuthResult.INVALID


def test_scheme_is_case_insensitive_and_whitespace_tolerated() -> None:
    token = b64encode(b"bw-user:s3cret").decode()
    assert check(AUTH, f"basic {token}") is AuthResult.OK
    assert check(AUTH, f"  BASIC   {token}  ") is AuthResult.OK


def test_password_may_contain_colons() -> None:
    auth = BasicAuth(("u", "a:b:c"))
    assert check(auth, basic_authorization("u", "a:b:c")) is AuthResult.OK
    # the general path too (another spelling of the scheme): split at the first colon
    assert check(auth, "basic " + b64encode(b"u:a:b:c").decode()) is AuthResult.OK


@pytest.mark.parametrize("junk", ["!", "*", "-", "."])
def test_a_token_with_characters_outside_base64_is_invalid(junk: str) -> None:
    """Not decoded by skipping what is not base64: the token must be base64 throughout."""
    token = b64encode(b"bw-user:s3cret").decode()
    assert check(AUTH, f"Basic {token[:4]}{junk}{token[4:]}") is AuthResult.INVALID
    assert check(AUTH, f"basic {token}{junk}") is AuthResult.INVALID


def spy_comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Secret, Secret]]:
    """Every hmac.compare_digest call from now on (BasicAuth's and the Receiver's)."""
    compared: list[tuple[Secret, Secret]] = []
    compare: Any = hmac.compare_digest

    def spy(a: Secret, b: Secret) -> bool:
        compared.append((a, b))
        return bool(compare(a, b))

    monkeypatch.setattr("bwhooks.auth.hmac.compare_digest", spy)
    return compared


def test_every_pair_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared = spy_comparisons(monkeypatch)
    assert check(AUTH, basic_authorization("bw-user", "s3cret")) is AuthResult.OK
    # the header against all three pairs, though the first one matched
    assert [expected for _, expected in compared] == [
        basic_authorization(u, p).encode()
        for u, p in [("bw-user", "s3cret"), ("bw-user", "next-s3cret"), ("ünï", "pässwörd")]
    ]


def test_wrong_user_and_wrong_password_take_the_same_path(monkeypatch: pytest.MonkeyPatch) -> None:
    compared = spy_comparisons(monkeypatch)
    assert check(AUTH, basic_authorization("bw-usex", "s3cret")) is AuthResult.INVALID
    wrong_user = list(compared)
    compared.clear()
    assert check(AUTH, basic_authorization("bw-user", "s3crex")) is AuthResult.INVALID
    wrong_password = list(compared)
    # the same comparisons, against the same expected values, in the same order
    assert [b for _, b in wrong_user] == [b for _, b in wrong_password]
    assert len(wrong_user) == 3 + 2 * 3  # the headers, then user and password of every pair
    assert [len(a) for a, _ in wrong_user] == [len(a) for a, _ in wrong_password]


def test_the_receivers_one_step_path_compares_every_pair_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The common request never reaches BasicAuth.check: the Receiver compares its header
    itself, and that comparison must be as constant-time as BasicAuth's (no ``==``)."""
    receiver = Receiver(auth=AUTH)
    handled: list[SmsEvent] = []
    receiver.on(SmsEvent)(handled.append)
    general: list[Headers] = []

    def general_check(self: BasicAuth, headers: Headers) -> AuthResult:
        general.append(headers)
        return AuthResult.OK

    monkeypatch.setattr(BasicAuth, "check", general_check)
    compared = spy_comparisons(monkeypatch)
    expected = [basic_authorization(u, p) for u, p in PAIRS]
    body = json.dumps(fake_payload("sms")).encode()
    for sent in expected:
        compared.clear()
        headers = {"Content-Type": "application/json", "Authorization": sent}
        assert receiver.handle(CallbackRequest("POST", "/", headers, body)).status == 200
        # the header against every pair, though one matched, with no early exit
        assert compared == [(sent, pair) for pair in expected]
    assert len(handled) == len(PAIRS)
    assert general == []  # all of them took the one-step path


def test_non_canonical_but_valid_headers_are_still_accepted() -> None:
    token = b64encode(b"bw-user:s3cret").decode()
    assert check(AUTH, f"basic   {token}") is AuthResult.OK


def test_from_url_percent_decodes() -> None:
    auth = BasicAuth.from_url("https://bw%40user:p%3Ass%2Fw%20rd@example.com:8443/callbacks")
    assert auth.users == ["bw@user"]
    assert check(auth, basic_authorization("bw@user", "p:ss/w rd")) is AuthResult.OK


@pytest.mark.parametrize("url", ["https://example.com/cb", "https://user@example.com/cb"])
def test_from_url_without_credentials_is_an_error(url: str) -> None:
    with pytest.raises(ValueError, match=r"^the URL carries no user:password@ credentials$"):
        BasicAuth.from_url(url)


def test_from_url_and_from_env_keep_the_realm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BWHOOKS_CREDENTIALS", "u:p")
    url = "https://u:p@example.com/cb"
    for auth in (BasicAuth.from_url(url), BasicAuth.from_env()):
        assert auth.challenge() == (("WWW-Authenticate", 'Basic realm="bwhooks"'),)
    for auth in (BasicAuth.from_url(url, realm="voice"), BasicAuth.from_env(realm="voice")):
        assert auth.challenge() == (("WWW-Authenticate", 'Basic realm="voice"'),)


def test_from_env_reads_rotated_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BWHOOKS_CREDENTIALS", "u1:p:1, u2:p2")
    auth = BasicAuth.from_env()
    assert auth.users == ["u1", "u2"]
    assert check(auth, basic_authorization("u1", "p:1")) is AuthResult.OK
    assert check(auth, basic_authorization("u2", "p2")) is AuthResult.OK


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (None, "^environment variable BWHOOKS_CREDENTIALS is not set$"),
        ("  ", "^environment variable BWHOOKS_CREDENTIALS is not set$"),
        ("no-colon", "^BWHOOKS_CREDENTIALS must read user:password"),
        ("u:", "^the password of user 'u' is empty$"),
    ],
)
def test_from_env_refuses_missing_or_malformed(
    monkeypatch: pytest.MonkeyPatch, value: str | None, error: str
) -> None:
    if value is None:
        monkeypatch.delenv("BWHOOKS_CREDENTIALS", raising=False)
    else:
        monkeypatch.setenv("BWHOOKS_CREDENTIALS", value)
    with pytest.raises(ValueError, match=error):
        BasicAuth.from_env()


def test_repr_and_str_never_show_passwords() -> None:
    text = repr(AUTH) + str(AUTH)
    assert "bw-user" in text
    for secret in ("s3cret", "pässwörd"):
        assert secret not in text


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((), ValueError),
        ((("", "p"),), ValueError),
        ((("a:b", "p"),), ValueError),
        ((("u", ""),), ValueError),
        ((("u", "p", "x"),), TypeError),
        ((["u", "p"],), TypeError),
        ((("u", 5),), TypeError),
    ],
)
def test_constructor_refuses_unusable_credentials(args: tuple[object, ...], error: type) -> None:
    with pytest.raises(error):
        BasicAuth(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize("realm", ['a"b', "a\\b", "a\nb"])
def test_realm_that_would_break_the_header_is_refused(realm: str) -> None:
    with pytest.raises(ValueError, match="realm"):
        BasicAuth(("u", "p"), realm=realm)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic_authorization("u", "p"), ("u", "p")),
        ("  basic   " + b64encode(b"u:a:b").decode() + "  ", ("u", "a:b")),
        (basic_authorization("ünï", "pässwörd"), ("ünï", "pässwörd")),
        ("Bearer " + b64encode(b"u:p").decode(), None),
        ("Basic " + b64encode(b"no-colon").decode(), None),
        ("Basic " + b64encode(b"\xff:\xfe").decode(), None),  # not UTF-8
        ("Basic dT*pw", None),  # not base64 throughout
        ("Basic", None),
        ("", None),
    ],
)
def test_parse_basic_reads_user_and_password(header: str, expected: tuple[str, str] | None) -> None:
    from bwhooks.auth import parse_basic

    assert parse_basic(header) == expected


def test_authorization_is_the_first_pairs_header() -> None:
    assert AUTH.authorization() == basic_authorization("bw-user", "s3cret")
    assert BasicAuth(("ünï", "pässwörd")).authorization() == basic_authorization("ünï", "pässwörd")
