"""The testing kit signs as Bandwidth does: CallbackClient, HttpSender, `bwhooks send` and
`bw_client`, each checked by a real Receiver(signature=...) (a real server where HTTP is
involved); the secret is never printed or logged."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from support import PASSWORD, USER

from bwhooks import BasicAuth, Event, HmacSignature, Receiver
from bwhooks.adapters import asgi, wsgi
from bwhooks.cli import main
from bwhooks.devtools.demo import serving
from bwhooks.signatures import SUBSCRIPTIONS_HEADER, TOLL_FREE_HEADER
from bwhooks.testing import CallbackClient, HttpSender, fake_payload
from bwhooks.testing.delivery import OutgoingRequest, build_request, signed

TFV_SECRET = "tfv-Shared-Secret-0123456789"  # 28 printable ASCII characters
SUBS_SECRET = "subscriptions-secret-value-42"
WRONG = "not-the-right-secret-at-all"
TOLL_FREE_KIND = "tollfree:verified"  # answered 204
SUBSCRIPTIONS_KIND = "subscriptions:PORTOUT_REQUEST"  # answered 204


def signed_receiver(signature: HmacSignature) -> tuple[Receiver, list[Event]]:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), signature=signature)
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    return receiver, seen


class Recording:
    """A WSGI app in front of another, keeping the headers of every request it passes on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers: list[dict[str, str]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.headers.append(
            {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k[:5] == "HTTP_"}
        )
        return self.app(environ, start_response)


@pytest.mark.parametrize(
    ("signature", "header", "kind"),
    [
        (HmacSignature.toll_free(TFV_SECRET), TOLL_FREE_HEADER, TOLL_FREE_KIND),
        (HmacSignature.subscriptions(SUBS_SECRET), SUBSCRIPTIONS_HEADER, SUBSCRIPTIONS_KIND),
    ],
)
def test_callback_client_signs_every_attempt_and_the_receiver_accepts_it(
    signature: HmacSignature, header: str, kind: str
) -> None:
    receiver, seen = signed_receiver(signature)
    app = Recording(wsgi.make_app(receiver))
    client = CallbackClient(app, (USER, PASSWORD), signature=signature)
    answer = client.send(fake_payload(kind))
    assert (answer.status, client.exchange) == (204, (401, 204))
    assert len(seen) == 1
    challenged, retried = app.headers
    assert "authorization" not in challenged
    assert challenged[header.lower()] == retried[header.lower()]  # the same bytes, each time


def test_a_wrong_secret_or_none_is_refused_with_403() -> None:
    receiver, seen = signed_receiver(HmacSignature.toll_free(TFV_SECRET))
    app = wsgi.make_app(receiver)
    wrong = CallbackClient(app, (USER, PASSWORD), signature=HmacSignature.toll_free(WRONG))
    assert (wrong.send(fake_payload(TOLL_FREE_KIND)).status, wrong.exchange) == (403, (401, 403))
    # the right secret in the other family's header and encoding is no signature either
    other = CallbackClient(app, (USER, PASSWORD), signature=HmacSignature.subscriptions(TFV_SECRET))
    assert other.send(fake_payload(TOLL_FREE_KIND)).status == 403
    unsigned = CallbackClient(app, (USER, PASSWORD))
    assert unsigned.send(fake_payload(TOLL_FREE_KIND)).status == 403
    assert seen == []


def test_an_asgi_app_and_send_async_are_signed_too() -> None:
    import asyncio

    signature = HmacSignature.subscriptions(SUBS_SECRET)
    receiver, seen = signed_receiver(signature)
    client = CallbackClient(asgi.make_app(receiver), (USER, PASSWORD), signature=signature)
    assert client.send(fake_payload(SUBSCRIPTIONS_KIND)).status == 204

    async def sent_async() -> int:
        return (await client.send_async(fake_payload(SUBSCRIPTIONS_KIND))).status

    assert asyncio.run(sent_async()) == 204
    assert len(seen) == 2


def test_a_request_sent_as_it_is_is_signed_over_its_exact_bytes() -> None:
    signature = HmacSignature.toll_free(TFV_SECRET)
    receiver, seen = signed_receiver(signature)
    body = b'{ "accountId" : "9900900",\n "phoneNumber": "+18885550100", "status": "VERIFIED"}'
    request = OutgoingRequest(
        "POST",
        "/callbacks",
        "",
        body,
        {"Content-Type": "application/json", TOLL_FREE_HEADER.upper(): "0" * 64},
    )
    client = CallbackClient(wsgi.make_app(receiver), (USER, PASSWORD), signature=signature)
    assert client.send_request(request).status == 204  # the stale header replaced, not doubled
    assert len(seen) == 1
    again = signed(request, signature)
    assert [k for k in again.headers if k.lower() == TOLL_FREE_HEADER] == [TOLL_FREE_HEADER]
    assert again.headers[TOLL_FREE_HEADER] == signature.sign(body)
    assert signed(request, None) is request


def test_build_request_signs_the_body_it_builds() -> None:
    signature = HmacSignature.subscriptions(SUBS_SECRET)
    request = build_request(
        fake_payload("subscriptions:PORTOUT_REQUEST"), "POST", "/", signature=signature
    )
    assert request.headers[SUBSCRIPTIONS_HEADER] == signature.sign(request.body)


def test_an_mfa_receipt_travels_as_one_object() -> None:
    request = build_request(fake_payload("mfa:message-failed"), "POST", "/")
    assert request.body.startswith(b"{")
    messaging = build_request(fake_payload("message-failed")[0], "POST", "/")
    assert messaging.body.startswith(b"[")  # a bare Messaging v2 element: in its array


@contextmanager
def served(receiver: Receiver) -> Iterator[str]:
    with serving(wsgi.make_app(receiver)) as base_url:
        yield f"{base_url}/callbacks"


def test_http_sender_signs_both_attempts_over_real_http() -> None:
    signature = HmacSignature.toll_free(TFV_SECRET)
    receiver, seen = signed_receiver(signature)
    with served(receiver) as url:
        sender = HttpSender(url, (USER, PASSWORD), signature=signature)
        answer = sender.send(fake_payload("tollfree:denial"))
        assert (answer.status, sender.exchange) == (204, (401, 204))
        wrong = HttpSender(url, (USER, PASSWORD), signature=HmacSignature.toll_free(WRONG))
        answer = wrong.send(fake_payload("tollfree:denial"))
        assert (answer.status, wrong.exchange) == (403, (401, 403))
    assert len(seen) == 1


def send(url: str, *options: str) -> int:
    return main(["send", TOLL_FREE_KIND, url, "--user", USER, "--password", PASSWORD, *options])


def test_bwhooks_send_signs_with_a_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TFV_SECRET", TFV_SECRET)
    monkeypatch.setenv("WRONG_SECRET", WRONG)
    receiver, seen = signed_receiver(HmacSignature.toll_free(TFV_SECRET))
    with served(receiver) as url:
        assert send(url, "--secret-env", "TFV_SECRET") == 0  # toll-free: the kind's family
        assert "POST tollfree:verified 401 -> 204" in capsys.readouterr().out
        assert send(url, "--secret-env", "WRONG_SECRET") == 1
        assert "401 -> 403" in capsys.readouterr().out
        assert send(url, "--secret", TFV_SECRET, "--signature", "toll-free") == 0
        assert send(url, "--secret", TFV_SECRET, "--signature", "subscriptions") == 1
        assert send(url) == 1  # unsigned
    assert len(seen) == 2
    out, err = capsys.readouterr()
    for text in (out, err, caplog.text):
        assert TFV_SECRET not in text
        assert WRONG not in text


def test_the_kind_chooses_the_signature(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """tollfree: kinds are signed as toll-free results, subscriptions: kinds as Subscriptions
    v2 notifications; --signature says otherwise."""
    monkeypatch.setenv("SECRET", SUBS_SECRET)
    seen: list[tuple[str, dict[str, str]]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k[:5] == "HTTP_"
        }
        seen.append((body.decode(), headers))
        start_response("204 No Content", [])
        return []

    with serving(app) as base_url:
        for kind, options in (
            ("tollfree:verified", ()),
            ("subscriptions:PORTOUT_REQUEST", ()),
            ("tollfree:denial", ("--signature", "subscriptions")),
            ("DEVICE_CONNECTED", ("--signature", "toll-free")),
        ):
            assert main(["send", kind, base_url, "--secret-env", "SECRET", *options]) == 0
    toll_free = HmacSignature.toll_free(SUBS_SECRET)
    subscriptions = HmacSignature.subscriptions(SUBS_SECRET)
    expected = [toll_free, subscriptions, subscriptions, toll_free]
    for (body, headers), signature in zip(seen, expected, strict=True):
        assert headers[signature.header.lower()] == signature.sign(body.encode())
        assert len([h for h in headers if "signature" in h]) == 1
    assert SUBS_SECRET not in "".join(capsys.readouterr())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tollfree:verified", "--signature", "toll-free"], "--signature needs a secret"),
        (["v2:answer", "--secret-env", "SECRET"], "Bandwidth signs no 'v2:answer' callback"),
        (["tollfree:verified", "--secret-env", "EMPTY"], "$EMPTY is not set, or empty"),
        (["tollfree:verified", "--secret-env", "UNSET_SECRET_VAR"], "$UNSET_SECRET_VAR is not set"),
        (["tollfree:verified", "--secret", ""], "--secret: the secret is empty"),
        (["tollfree:verified", "--secret", "short-secret"], "16 to 64 printable ASCII"),
    ],
)
def test_what_cannot_be_signed_is_a_usage_error_that_shows_no_secret(
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SECRET", SUBS_SECRET)
    monkeypatch.setenv("EMPTY", "")
    monkeypatch.delenv("UNSET_SECRET_VAR", raising=False)
    assert main(["send", argv[0], "http://127.0.0.1:9/callbacks", *argv[1:]]) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert "short-secret" not in out + err
    assert SUBS_SECRET not in out + err


def test_secret_and_secret_env_go_alone(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(
            ["send", "tollfree:verified", "http://x/", "--secret", TFV_SECRET, "--secret-env", "V"]
        )
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert "not allowed with" in err
    assert TFV_SECRET not in out + err


def test_the_console_script_keeps_the_secret_out_of_its_output() -> None:
    """Unreachable URL, a real process: the error names the URL, never the secret."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bwhooks",
            "send",
            "tollfree:blocked",
            "http://127.0.0.1:9/x",
            "--secret-env",
            "TFV_SECRET",
        ],
        env={"TFV_SECRET": TFV_SECRET, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert "cannot reach" in run.stderr
    assert TFV_SECRET not in run.stdout + run.stderr


def test_bw_client_signs_with_the_bwhooks_signature_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(f"""
        import pytest
        from bwhooks import BasicAuth, Event, HmacSignature, Receiver
        from bwhooks.adapters.wsgi import make_app

        SECRET = {TFV_SECRET!r}

        @pytest.fixture
        def bwhooks_app():
            signature = HmacSignature.toll_free(SECRET)
            receiver = Receiver(auth=BasicAuth(("u", "p")), signature=signature)
            receiver.on(Event)(lambda event: None)
            return make_app(receiver)

        @pytest.fixture
        def bwhooks_credentials():
            return ("u", "p")
    """)
    pytester.makepyfile(f"""
        import pytest
        from bwhooks import HmacSignature

        @pytest.fixture
        def bwhooks_signature():
            return HmacSignature.toll_free({TFV_SECRET!r})

        def test_signed(bw_client, bw_fake):
            assert bw_client.send(bw_fake({TOLL_FREE_KIND!r})).status == 204
            assert bw_client.exchange == (401, 204)

        class TestUnsigned:
            @pytest.fixture
            def bwhooks_signature(self):
                return None

            def test_refused(self, bw_client, bw_fake):
                assert bw_client.send(bw_fake({TOLL_FREE_KIND!r})).status == 403
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_bw_client_signs_nothing_without_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.fixture
        def bwhooks_app():
            def app(environ, start_response):
                signed = any("SIGNATURE" in key for key in environ)
                start_response("500 Signed" if signed else "204 No Content", [])
                return []
            return app

        @pytest.fixture
        def bwhooks_credentials():
            return None

        def test_unsigned(bw_client, bw_fake):
            assert bw_client.send(bw_fake("tollfree:verified")).status == 204
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
