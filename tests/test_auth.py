"""BasicAuth: the challenge, rotation, constant-time comparison, hostile headers."""

from __future__ import annotations

import hmac
from base64 import b64encode

import pytest

from bwhooks import AuthResult, BasicAuth, Headers
from bwhooks.auth import basic_authorization


def check(auth: BasicAuth, authorization: str | None) -> AuthResult:
    headers = Headers({} if authorization is None else {"Authorization": authorization})
    return auth.check(headers)


def basic(raw: bytes) -> str:
    return "Basic " + b64encode(raw).decode()


AUTH = BasicAuth(("bw-user", "s3cret"), ("bw-user", "next-s3cret"), ("ünï", "pässwörd"))


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


def spy_comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    compared: list[tuple[bytes, bytes]] = []
    real_compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real_compare(a, b)

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


def test_non_canonical_but_valid_headers_are_still_accepted() -> None:
    token = b64encode(b"bw-user:s3cret").decode()
    assert check(AUTH, f"basic   {token}") is AuthResult.OK


def test_from_url_percent_decodes() -> None:
    auth = BasicAuth.from_url("https://bw%40user:p%3Ass%2Fw%20rd@example.com:8443/callbacks")
    assert auth.users == ["bw@user"]
    assert check(auth, basic_authorization("bw@user", "p:ss/w rd")) is AuthResult.OK


@pytest.mark.parametrize("url", ["https://example.com/cb", "https://user@example.com/cb"])
def test_from_url_without_credentials_is_an_error(url: str) -> None:
    with pytest.raises(ValueError, match="credentials"):
        BasicAuth.from_url(url)


def test_from_env_reads_rotated_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BWHOOKS_CREDENTIALS", "u1:p:1, u2:p2")
    auth = BasicAuth.from_env()
    assert auth.users == ["u1", "u2"]
    assert check(auth, basic_authorization("u1", "p:1")) is AuthResult.OK
    assert check(auth, basic_authorization("u2", "p2")) is AuthResult.OK


@pytest.mark.parametrize("value", [None, "", "no-colon", "u:"])
def test_from_env_refuses_missing_or_malformed(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("BWHOOKS_CREDENTIALS", raising=False)
    else:
        monkeypatch.setenv("BWHOOKS_CREDENTIALS", value)
    with pytest.raises(ValueError, match=r"BWHOOKS_CREDENTIALS|password"):
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
