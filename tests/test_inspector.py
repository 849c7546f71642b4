"""The inspector page of `bwhooks listen`, driven in a real headless Chromium (Debian's
`chromium` and `chromium-driver`, which `make services` and `.ci/run` install; Selenium is
pointed at them and never downloads a browser): deliveries sent over HTTP appear live with
their typed fields, replay works from the page, filters filter. Over real HTTP: every route
needs the token (never logged), a foreign `Host` or origin is refused, "Copy as a test"
keeps what a sender chose in Python literals, and credentials are remembered only from
accepted deliveries and sent only where they belong."""

from __future__ import annotations

import ast
import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from support import http_request
from test_cli import spawn_listen, start_listen, stop
from test_recording import send

from bwhooks import BasicAuth, Receiver
from bwhooks.adapters.wsgi import make_app
from bwhooks.auth import basic_authorization
from bwhooks.devtools.demo import serving
from bwhooks.devtools.inspector import MAX_PAGE, generated_test
from bwhooks.devtools.recording import Delivery
from bwhooks.events import Event
from bwhooks.testing import fake_payload

SCREENSHOT = Path(__file__).parents[1] / "docs" / "images" / "inspector.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium, "the inspector tests need Debian's chromium (make services installs it)"
    assert driver, "the inspector tests need Debian's chromium-driver"
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for a browser online
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,900")
    made = webdriver.Chrome(options=options, service=Service(driver))
    yield made
    made.quit()


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """``bwhooks listen`` with credentials and a recording: (callback URL, page, file)."""
    file = tmp_path / "inspected.sqlite3"
    process, url = start_listen("--user", "u", "--password", "p", "--record", str(file))
    assert process.stdout is not None
    assert process.stdout.readline().startswith("recording deliveries to")
    page = process.stdout.readline().strip().removeprefix("inspector: ")
    assert page.startswith("http://127.0.0.1:"), page
    yield url, page, file
    stop(process)


def wait(browser: webdriver.Chrome, condition: Any, timeout: float = 10) -> Any:
    return WebDriverWait(browser, timeout).until(condition)


def rows(browser: webdriver.Chrome) -> list[dict[str, str]]:
    """The listed deliveries, read at once (the list is redrawn as deliveries arrive)."""
    script = """return [...document.querySelectorAll('.delivery')].map(r => ({
        id: r.dataset.id, kind: r.querySelector('.kind').textContent,
        types: r.querySelector('.types').textContent,
        status: r.querySelector('.status').textContent}))"""
    found: list[dict[str, str]] = browser.execute_script(script)
    return found


def pick(browser: webdriver.Chrome, delivery_id: str) -> None:
    browser.find_element(By.CSS_SELECTOR, f'.delivery[data-id="{delivery_id}"]').click()


def text_of(browser: webdriver.Chrome, element_id: str) -> str:
    found: str = browser.execute_script(
        f"const e = document.getElementById('{element_id}'); return e ? e.textContent : ''"
    )
    return found


def test_deliveries_appear_live_typed_replayable_and_filtered(
    browser: webdriver.Chrome, listening: tuple[str, str, Path]
) -> None:
    url, page, _ = listening
    browser.get(page)
    wait(browser, lambda b: text_of(b, "connection") == "live")
    assert rows(browser) == []
    sent = send(url, "answer", "--user", "u", "--password", "p", "--set", "callId=c-page")
    assert sent.returncode == 0
    wait(browser, lambda b: len(rows(b)) == 2)  # the challenge and the retry, live
    (answered,) = [r for r in rows(browser) if r["status"] == "200"]
    assert (answered["types"], answered["kind"]) == ("answer", "live")
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "section.thread h2")]
    assert headings == ["call c-page"]  # grouped by call
    pick(browser, answered["id"])
    wait(browser, lambda b: "AnswerEvent" in text_of(b, "fields"))
    field = browser.find_element(By.CSS_SELECTOR, '[data-field="call_id"]')
    assert "c-page" in field.text
    assert '"callId": "c-page"' in text_of(browser, "raw")  # the body as received, beside
    # Replay from the page: to this listener, answering the challenge with this run's
    # credentials.
    browser.find_element(By.ID, "replay").click()
    wait(browser, lambda b: text_of(b, "replay-outcome").startswith("replayed"))
    assert text_of(browser, "replay-outcome") == "replayed: 401 -> 200"
    wait(browser, lambda b: any(r["kind"] == "replayed" for r in rows(b)))
    replayed = [r for r in rows(browser) if r["kind"] == "replayed" and r["status"] == "200"]
    pick(browser, replayed[0]["id"])
    wait(browser, lambda b: text_of(b, "replay-origin") == f"#{answered['id']}")
    # Copy as a test.
    browser.find_element(By.ID, "copy-test").click()
    code = browser.find_element(By.ID, "test-code")
    assert code.is_displayed()
    assert "def test_recorded_delivery_" in (code.get_attribute("value") or "")
    assert "CallbackClient" in (code.get_attribute("value") or "")


def test_filters_filter_and_the_page_is_pictured(
    browser: webdriver.Chrome, listening: tuple[str, str, Path]
) -> None:
    url, page, file = listening
    browser.get(page)
    for kind in ("answer", "message-received"):
        assert send(url, kind, "--user", "u", "--password", "p").returncode == 0
    assert send(url, "answer", "--user", "u", "--password", "wrong").returncode == 1
    wait(browser, lambda b: len(rows(b)) == 6)
    kinds = Select(browser.find_element(By.ID, "filter-type"))
    kinds.select_by_value("message-received")
    assert [r["types"] for r in rows(browser)] == ["message-received"] * 2  # 401, then 200
    kinds.select_by_value("")
    statuses = Select(browser.find_element(By.ID, "filter-status"))
    statuses.select_by_value("4")
    assert [r["status"] for r in rows(browser)] == ["401"] * 4  # two challenges, two refusals
    statuses.select_by_value("")
    box = browser.find_element(By.ID, "filter-text")
    box.send_keys("message")
    assert {r["types"] for r in rows(browser)} == {"message-received"}
    assert len(rows(browser)) == 2  # its challenge and its retry
    box.clear()
    box.send_keys(" ")
    wait(browser, lambda b: len(rows(b)) == 6)  # the list follows the box
    answered = next(r for r in rows(browser) if r["types"] == "answer" and r["status"] == "200")
    pick(browser, answered["id"])
    shot = file.with_suffix(".png")
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("BWHOOKS_UPDATE_SCREENSHOT"):  # the guide's picture, from this test
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def request(
    page: str,
    method: str,
    path: str,
    *,
    host: str | None = None,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    token: bool = False,
) -> tuple[int, Any]:
    """One request to the inspector; with ``token``, the run's token as a header."""
    status, _, answer = exchange(
        page, method, path, host=host, body=body, headers=headers, token=token
    )
    return status, answer


def exchange(
    page: str,
    method: str,
    path: str,
    *,
    host: str | None = None,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    token: bool = False,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    parts = urlsplit(page)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    sent = {**(headers or {}), **({"Host": host} if host else {})}
    if token:
        sent["X-Bwhooks-Token"] = token_of(page)
    try:
        connection.request(method, path, body=body or None, headers=sent)
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        connection.close()


def token_of(page: str) -> str:
    return page.split("token=", 1)[1]


def listed(page: str, query: str = "") -> dict[str, Any]:
    status, body = request(page, "GET", f"/api/deliveries{query}", token=True)
    assert status == 200, body
    found: dict[str, Any] = json.loads(body)
    return found


# The token, on every route.


def listen(*args: str, cwd: Path | None = None) -> tuple[subprocess.Popen[str], str, str]:
    """``bwhooks listen`` (in ``cwd``): the process, its callback URL and the page."""
    process = spawn_listen(*args, cwd=cwd)
    assert process.stdout is not None
    url = process.stdout.readline().split()[-1]
    for line in process.stdout:
        if line.startswith("inspector: "):
            return process, url, line.removeprefix("inspector: ").strip()
    raise AssertionError(f"no inspector address: {finish(process)}")


def finish(process: subprocess.Popen[str]) -> str:
    """Stop ``bwhooks listen``; returns what it wrote on stderr (its access log)."""
    process.terminate()
    _, err = process.communicate(timeout=10)
    return err


def test_every_route_needs_the_token(listening: tuple[str, str, Path]) -> None:
    url, page, _ = listening
    token = token_of(page)
    assert send(url, "sms", "--user", "u", "--password", "p").returncode == 0
    routes = ("/", "/api/deliveries", "/events", "/api/deliveries/2/test")
    cookie = f"bwhooks_inspector_{urlsplit(page).port}"
    for path in routes:
        for refused in (
            {},
            {"X-Bwhooks-Token": "guessed"},
            {"X-Bwhooks-Token": "é" + token},  # not ASCII: refused, never a 500
            {"Cookie": f"{cookie}=guessed"},
            {"Cookie": f"{cookie}=\xe9{token}"},
            {"Cookie": f"other=1; bwhooks_inspector={token}"},  # another run's cookie name
        ):
            status, answer = request(page, "GET", path, headers=refused)
            assert status == 403, (path, refused)
            assert b"+1919" not in answer  # no data
            assert b"sms" not in answer
    replay = json.dumps({"id": 2}).encode()
    json_type = {"Content-Type": "application/json"}
    assert request(page, "POST", "/api/replay", body=replay, headers=json_type)[0] == 403
    # The printed address sets the cookie and leaves the address bar.
    status, headers, _ = exchange(page, "GET", f"/?token={token}")
    assert (status, headers["Location"]) == (303, "/")
    assert headers["Set-Cookie"] == f"{cookie}={token}; Path=/; HttpOnly; SameSite=Strict"
    assert exchange(page, "GET", "/?token=guessed")[0] == 403
    assert "Set-Cookie" not in exchange(page, "GET", "/?token=guessed")[1]
    # The cookie (what the page and its event stream carry) or the header opens every route.
    for path in ("/", "/api/deliveries", "/api/deliveries/2/test"):
        for given in ({"Cookie": f"theirs=x; {cookie}={token}"}, {"X-Bwhooks-Token": token}):
            assert request(page, "GET", path, headers=given)[0] == 200, (path, given)
    parts = urlsplit(page)
    stream = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        stream.request("GET", "/events", headers={"Cookie": f"{cookie}={token}"})
        answer = stream.getresponse()
        assert answer.status == 200
        assert answer.read(5) == b"retry"
    finally:
        stream.close()
    status, body = request(
        page,
        "POST",
        "/api/replay",
        body=replay,
        headers={"Cookie": f"{cookie}={token}", **json_type},
    )
    assert (status, json.loads(body)) == (200, {"exchange": [401, 200]})


def test_the_host_allow_list_and_the_csrf_defences_hold(listening: tuple[str, str, Path]) -> None:
    url, page, _ = listening
    assert send(url, "sms", "--user", "u", "--password", "p").returncode == 0
    port = urlsplit(page).port
    for path in ("/", "/api/deliveries", "/events"):  # a tunnel or a rebound DNS name
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1:1"):
            assert request(page, "GET", path, host=host, token=True)[0] == 403
    replay = json.dumps({"id": 2}).encode()
    json_type = {"Content-Type": "application/json"}
    right = request(page, "POST", "/api/replay", body=replay, headers=json_type, token=True)
    assert right[0] == 200
    assert (
        request(
            page,
            "POST",
            "/api/replay",
            body=replay,
            headers=json_type,
            token=True,
            host="evil.example",
        )[0]
        == 403
    )
    # Another page of this machine (another port is the same site: the cookie goes along).
    for foreign in (
        {"Origin": "http://127.0.0.1:8080"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": f"http://127.0.0.1:{port}"},
    ):
        sent = {**json_type, **foreign}
        assert request(page, "POST", "/api/replay", body=replay, headers=sent, token=True)[0] == 403
    mine = {**json_type, "Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}
    assert request(page, "POST", "/api/replay", body=replay, headers=mine, token=True)[0] == 200
    # A form can post text/plain without a preflight: not a replay.
    form = {"Content-Type": "text/plain"}
    assert request(page, "POST", "/api/replay", body=replay, headers=form, token=True)[0] == 415


def test_the_token_never_reaches_the_access_log(tmp_path: Path) -> None:
    process, _, page = listen("--record", str(tmp_path / "logged.sqlite3"))
    token = token_of(page)
    try:
        assert exchange(page, "GET", f"/?token={token}")[0] == 303
        assert exchange(page, "GET", f"/?token={token}x")[0] == 403
        assert request(page, "GET", f"/api/deliveries?token={token}", token=True)[0] == 200
        parts = urlsplit(page)
        with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=10) as raw:
            raw.sendall(f"GET /?token={token} HTTP/1.1 junk\r\n\r\n".encode())  # malformed
            answered = b"".join(iter(lambda: raw.recv(4096), b""))
            assert b"400" in answered
    finally:
        log = finish(process)
    assert '"GET / HTTP/1.1" 303' in log  # requests are logged, by their path
    assert '"GET /api/deliveries HTTP/1.1" 200' in log
    assert "code 400" in log
    assert token not in log


def test_the_listeners_access_log_never_shows_a_callbacks_query(tmp_path: Path) -> None:
    process, url, _ = listen("--record", str(tmp_path / "logged.sqlite3"))
    query = "eventType=sms&from=%2B19195550199&text=card+4111111111111111"
    try:
        parts = urlsplit(url)
        answer = http_request(url, "GET", f"{parts.path}?{query}", b"", {})
        assert answer.status == 200
    finally:
        log = finish(process)
    assert f'"GET {urlsplit(url).path} HTTP/1.1" 200' in log  # logged, by its path
    for secret in ("19195550199", "4111111111111111", "eventType"):
        assert secret not in log


def test_a_page_of_deliveries_is_bounded_in_bytes_too(tmp_path: Path) -> None:
    """Large accepted bodies: a page stops at the recorder's page size in bytes, and the
    next one carries on where it stopped."""
    from test_recording import delivery
    from werkzeug.test import Client

    from bwhooks.devtools.inspector import Inspector
    from bwhooks.devtools.recording import PAGE_BYTES, Recorder

    big = b'{"eventType": "sms", "text": "' + b"x" * (PAGE_BYTES // 3) + b'"}'
    with Recorder(tmp_path / "big.sqlite3") as recorder:
        for _ in range(7):
            recorder.record(delivery(body=big))
        inspector = Inspector(recorder, lambda delivery_id, url: {}, token="t")
        inspector.serve_on(80)
        client = Client(inspector)
        seen: list[int] = []
        after: int | None = 0
        while after is not None:
            answer = client.get(
                f"/api/deliveries?limit=100&after={after}",
                headers={"Host": "127.0.0.1:80", "X-Bwhooks-Token": "t"},
            )
            found = answer.get_json()
            assert answer.status_code == 200
            assert 1 <= len(found["deliveries"]) <= 3  # ~1/3 of the page's bytes each
            seen.extend(d["id"] for d in found["deliveries"])
            after = found["next"]
    assert seen == list(range(1, 8))


def test_deliveries_are_listed_page_by_page(listening: tuple[str, str, Path]) -> None:
    url, page, _ = listening
    for _ in range(3):
        assert send(url, "sms", "--user", "u", "--password", "p").returncode == 0
    first = listed(page, "?limit=4")
    assert [d["id"] for d in first["deliveries"]] == [1, 2, 3, 4]
    assert first["next"] == 4
    last = listed(page, f"?limit=4&after={first['next']}")
    assert ([d["id"] for d in last["deliveries"]], last["next"]) == ([5, 6], None)
    assert len(listed(page)["deliveries"]) == 6  # the default page holds them
    for query in (
        "?limit=0",
        f"?limit={MAX_PAGE + 1}",
        "?limit=x",
        "?limit=%C2%B2",
        "?after=-1",
        "?after=%C2%B2",
        "?after=1e3",
    ):
        status, body = request(page, "GET", f"/api/deliveries{query}", token=True)
        assert status == 400, query
        assert json.loads(body)["error"]
    assert request(page, "GET", "/events", headers={"Last-Event-ID": "\xb2"}, token=True)[0] == 400


def test_bad_replay_requests_are_answered_4xx(listening: tuple[str, str, Path]) -> None:
    _, page, _ = listening
    json_type = {"Content-Type": "application/json"}
    for body in (
        b"{nope",
        b'{"url": "x"}',
        b'{"id": "x"}',
        b"[1]",
        b'{"id": 1e400}',
        b'{"id": true}',
        b'{"id": 99999999999999999999999}',
        b'{"id": 1, "url": 5}',
        b'{"id": 1, "url": "ftp://x"}',
        b"[" * 4000,
        b"\xff\xfe{",
    ):
        status, answer = request(
            page, "POST", "/api/replay", body=body, headers=json_type, token=True
        )
        assert status == 400, body
        assert json.loads(answer)["error"]
    missing = json.dumps({"id": 999}).encode()
    status, answer = request(
        page, "POST", "/api/replay", body=missing, headers=json_type, token=True
    )
    assert (status, json.loads(answer)) == (404, {"error": "no delivery 999"})
    for length in (str(10**9), "\xb2", "-1"):
        sent = {**json_type, "Content-Length": length}
        assert request(page, "POST", "/api/replay", headers=sent, token=True)[0] == 400, length
    assert request(page, "GET", "/api/deliveries/999/test", token=True)[0] == 404
    assert request(page, "GET", "/nothing/here", token=True)[0] == 404


# Copy as a test: what a sender chose is never code.

PAYLOAD = 'answer"""\n    __import__("os").system("touch {marker}")\n    """'
CODE_WORDS = ("__import__", "system", "touch")  # what running the payload needs


def check_literals_only(code: str, *values: str | bytes) -> None:
    """``code`` is Python whose every token outside string literals is the generator's own:
    none of ``CODE_WORDS`` appears outside a literal, and each of ``values`` is inside one."""
    tree = ast.parse(code)
    outside = [
        token.string
        for token in tokenize.generate_tokens(io.StringIO(code).readline)
        if token.type != tokenize.STRING
    ]
    for word in CODE_WORDS:
        assert not [t for t in outside if word in t], (word, code)
    texts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    for value in values:
        if isinstance(value, str):
            assert any(value in t for t in texts if isinstance(t, str)), (value, code)
        else:
            assert any(value in t for t in texts if isinstance(t, bytes)), (value, code)


def requested(code: str) -> dict[str, Any]:
    """The keyword arguments of ``REQUEST = OutgoingRequest(...)`` in a generated test."""
    tree = ast.parse(code)
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "REQUEST":
            assert isinstance(node.value, ast.Call)
            return {k.arg or "": ast.literal_eval(k.value) for k in node.value.keywords}
    raise AssertionError(code)


def test_a_generated_test_holds_every_recorded_value_as_an_escaped_literal() -> None:
    hostile = PAYLOAD.format(marker="/nowhere/x") + "\u2028\u202e\x00'''\\"
    delivery = Delivery(
        id=7,
        received_at=datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc),
        method="POST" + hostile,
        path="/callbacks" + hostile,
        query="a=" + hostile,
        headers=(
            ("Content-Type", "application/json" + hostile),
            ("Authorization", "Basic <masked>"),
        ),
        body=json.dumps({"eventType": hostile}).encode() + b"\xff" + hostile.encode(),
        status=200,
        response_body=b"<Response/>" + hostile.encode(),
    )
    code = generated_test(delivery)
    assert code.isascii()  # no bidi override or line separator reaches the text as such
    check_literals_only(code, hostile, hostile.encode())
    compile(code, "generated.py", "exec")
    # Each value comes back exactly as recorded: the escaping is a literal's own.
    assert requested(code) == {
        "method": delivery.method,
        "path": delivery.path,
        "query": delivery.query,
        "body": delivery.body,
        "headers": {"Content-Type": "application/json" + hostile},
    }
    assert 'credentials=("user", "password")' in code  # it carried some: yours go there
    unauthenticated = attrs.evolve(delivery, headers=(), status=401)
    assert "credentials=None" in generated_test(unauthenticated)


def test_copy_as_a_test_of_a_hostile_event_type_keeps_it_in_literals_in_chromium(
    browser: webdriver.Chrome, listening: tuple[str, str, Path], tmp_path: Path
) -> None:
    """An unauthenticated sender posts (and GETs) a malicious event type to a recording
    listener; "Copy as a test", clicked in the page, yields code that holds it as data."""
    url, page, _ = listening
    browser.get(page)
    wait(browser, lambda b: text_of(b, "connection") == "live")
    payload = PAYLOAD.format(marker=tmp_path / "pwned")
    body = json.dumps({"eventType": payload, "callId": "c-evil"}).encode()
    posted = http_request(
        url, "POST", urlsplit(url).path, body, {"Content-Type": "application/json"}
    )
    query = urlencode({"eventType": payload, "callId": "c-evil"})
    got = http_request(url, "GET", f"{urlsplit(url).path}?{query}", b"", {})
    assert (posted.status, got.status) == (401, 401)  # refused, and recorded all the same
    wait(browser, lambda b: len(rows(b)) == 2)
    sent: tuple[bytes | str, ...] = (body, query)  # as recorded: the body, the query
    for row, value in zip(rows(browser), sent, strict=True):
        assert row["types"] == payload  # the page shows it as text
        pick(browser, row["id"])
        browser.find_element(By.ID, "copy-test").click()
        wait(browser, lambda b, i=row["id"]: f"test_recorded_delivery_{i}(" in generated_code_in(b))
        code = generated_code_in(browser)
        check_literals_only(code, value)
        assert "credentials=None" in code
    assert not (tmp_path / "pwned").exists()


def generated_code_in(browser: webdriver.Chrome) -> str:
    found: str = browser.execute_script("return document.getElementById('test-code').value")
    return found


MYAPP = """
from bwhooks import BasicAuth, Receiver
from bwhooks.adapters.wsgi import make_app
from bwhooks.events import Event

BXML = '<?xml version="1.0"?><Response><SpeakSentence>hi</SpeakSentence></Response>'
receiver = Receiver(auth=BasicAuth(("user", "password")))


@receiver.on(Event)
def answered(event: Event) -> str | None:
    return BXML if event.event_type == "answer" else None


app = make_app(receiver, "/callbacks")
"""


def test_generated_tests_pass_against_the_app_that_answered_and_run_no_payload(
    tmp_path: Path,
) -> None:
    """POST and GET deliveries recorded from an app become tests that pass against it under
    pytest; the test of a malicious one runs nothing of it."""
    (tmp_path / "myapp.py").write_text(MYAPP)
    process, url, page = listen("--app", "myapp:receiver", cwd=tmp_path)
    try:
        posted = send(url, "v2:answer", "--user", "user", "--password", "password")
        got = send(url, "answer", "--method", "GET", "--user", "user", "--password", "password")
        assert (posted.returncode, got.returncode) == (0, 0), (posted.stderr, got.stderr)
        assert "<SpeakSentence>" in posted.stdout
        marker = tmp_path / "pwned"
        evil = json.dumps({"eventType": PAYLOAD.format(marker=marker)}).encode()
        http_request(url, "POST", "/callbacks", evil, {"Content-Type": "application/json"})
        deliveries = listed(page)["deliveries"]
        chosen = [d for d in deliveries if d["status"] == 200] + [deliveries[-1]]
        assert [d["method"] for d in chosen] == ["POST", "GET", "POST"]
        tests = tmp_path / "generated"
        tests.mkdir()
        for delivery in chosen:
            status, code = request(
                page, "GET", f"/api/deliveries/{delivery['id']}/test", token=True
            )
            assert status == 200
            (tests / f"test_delivery_{delivery['id']}.py").write_bytes(code)
    finally:
        finish(process)
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "3 passed" in ran.stdout
    assert not marker.exists()


# Credentials: remembered from accepted deliveries only, sent only to where they belong.


class Target:
    """A WSGI app that answers with a Basic challenge and keeps every Authorization sent."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        self.authorizations.append(environ.get("HTTP_AUTHORIZATION"))
        start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="x"')])
        return [b""]


def replayed(page: str, delivery_id: int, url: str = "") -> dict[str, Any]:
    body = json.dumps({"id": delivery_id, "url": url}).encode()
    headers = {"Content-Type": "application/json"}
    status, answer = request(page, "POST", "/api/replay", body=body, headers=headers, token=True)
    assert status == 200, answer
    found: dict[str, Any] = json.loads(answer)
    return found


def accepted_id(page: str) -> int:
    return int(next(d["id"] for d in listed(page)["deliveries"] if d["status"] == 200))


def test_refused_credentials_are_never_remembered(tmp_path: Path) -> None:
    receiver = Receiver(auth=BasicAuth(("u", "p")))
    receiver.on(Event)(lambda event: None)
    with serving(make_app(receiver, "/callbacks")) as app:
        process, url, page = listen(
            "--forward", f"{app}/callbacks", "--record", str(tmp_path / "f.sqlite3")
        )
        try:
            assert send(url, "sms", "--user", "u", "--password", "p").returncode == 0
            delivery_id = accepted_id(page)
            assert replayed(page, delivery_id) == {"exchange": [401, 200]}
            # curl -u attacker:x: credentials the app refuses are not the ones remembered.
            attacker = {"Authorization": basic_authorization("attacker", "x")}
            sms = json.dumps(fake_payload("sms")).encode()
            refused = http_request(
                url, "POST", "/callbacks", sms, {**attacker, "Content-Type": "application/json"}
            )
            assert refused.status == 401
            assert replayed(page, delivery_id) == {"exchange": [401, 200]}
            assert replayed(page, delivery_id, f"{app}/callbacks") == {"exchange": [401, 200]}
        finally:
            finish(process)


WRAPPED_APP = """
from bwhooks import BasicAuth, Receiver
from bwhooks.adapters.wsgi import CallbackMiddleware
from bwhooks.events import Event


def site(environ, start_response):  # the rest of the app checks no credentials
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"home"]


receiver = Receiver(auth=BasicAuth(("u", "p")))
receiver.on(Event)(lambda event: None)
app = CallbackMiddleware(site, receiver)
"""


def test_credentials_accepted_elsewhere_than_the_callbacks_are_not_remembered(
    tmp_path: Path,
) -> None:
    """The README's pattern: the receiver wraps a whole app, whose other routes answer
    ``2xx`` to anyone. Credentials a stranger sends there are not the receiver's."""
    (tmp_path / "wrapped.py").write_text(WRAPPED_APP)
    process, url, page = listen("--app", "wrapped:app", cwd=tmp_path)
    try:
        assert send(url, "sms", "--user", "u", "--password", "p").returncode == 0
        delivery_id = accepted_id(page)
        attacker = {"Authorization": basic_authorization("attacker", "x")}
        assert http_request(url, "GET", "/", b"", attacker).status == 200
        assert replayed(page, delivery_id) == {"exchange": [401, 200]}
    finally:
        finish(process)


def test_a_replay_elsewhere_never_sends_this_runs_credentials(
    listening: tuple[str, str, Path],
) -> None:
    url, page, _ = listening
    assert send(url, "answer", "--user", "u", "--password", "p").returncode == 0
    delivery_id = accepted_id(page)
    target = Target()
    with serving(target) as foreign:
        outcome = replayed(page, delivery_id, f"{foreign}/callbacks")
        assert outcome["exchange"] == [401]
        assert "credentials were not sent" in outcome["note"]
        assert urlsplit(url).netloc in outcome["note"]
        # Credentials typed into the URL on the page are the user's choice for that URL.
        typed = f"http://me:mine@{urlsplit(foreign).netloc}/callbacks"
        assert replayed(page, delivery_id, typed)["exchange"] == [401, 401]
    assert target.authorizations == [None, None, basic_authorization("me", "mine")]
    # To this listener, typed in full, they go: it is where they belong.
    assert replayed(page, delivery_id, url) == {"exchange": [401, 200]}


# Numbers webhooks (XML): the body as received, as text; the typed event; the answer.

XML = "application/xml; charset=utf-8"
HOSTILE_NAME = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
HOSTILE_XML = (
    '<?xml version="1.0"?>\n<PortOutValidationRequest>\n  <PON>pon-evil</PON>\n'
    f"  <SubscriberName><![CDATA[{HOSTILE_NAME}]]></SubscriberName>\n"
    "  <Pin>&lt;script&gt;window.pwned=3&lt;/script&gt;</Pin>\n"
    "  <script>window.pwned=4</script>\n"
    "  <TelephoneNumbers><TelephoneNumber>9195550100</TelephoneNumber></TelephoneNumbers>\n"
    "</PortOutValidationRequest>\n"
)


def test_an_xml_delivery_shows_its_body_as_text_its_event_and_its_answer_in_chromium(
    browser: webdriver.Chrome, listening: tuple[str, str, Path]
) -> None:
    """Markup a sender wrote (in CDATA, escaped text, an element of its own) is shown as
    the text it is, never made HTML; the port-out answer is shown beside it."""
    url, page, _ = listening
    browser.get(page)
    wait(browser, lambda b: text_of(b, "connection") == "live")
    order = send(url, "orderNotification", "--user", "u", "--password", "p")
    assert order.returncode == 0, order.stderr
    authorization = basic_authorization("u", "p")
    answered = http_request(
        url,
        "POST",
        urlsplit(url).path,
        HOSTILE_XML.encode(),
        {"Content-Type": XML, "Authorization": authorization},
    )
    assert answered.status == 200
    assert b"<PortOutValidationResponse>" in answered.body
    wait(browser, lambda b: len(rows(b)) == 3)  # the order's challenge and retry, the port-out
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "section.thread h2")]
    assert headings[0].startswith("order ")
    assert headings[1] == "port-out pon-evil"
    port_out = rows(browser)[-1]
    assert (port_out["types"], port_out["status"]) == ("portOutValidation", "200")
    pick(browser, port_out["id"])
    wait(browser, lambda b: "PortOutValidationEvent" in text_of(b, "fields"))
    assert text_of(browser, "raw") == HOSTILE_XML  # as received, byte for byte, as text
    assert text_of(browser, "body-type") == f"body as received ({XML})"
    name = browser.find_element(By.CSS_SELECTOR, '[data-field="subscriber_name"] td + td')
    assert name.text == HOSTILE_NAME
    pin = browser.find_element(By.CSS_SELECTOR, '[data-field="pin"] td + td')
    assert pin.text == "<script>window.pwned=3</script>"
    answer = text_of(browser, "answer")
    assert answer.startswith("200\n")
    assert "<Code>7598</Code>" in answer
    assert "<PON>pon-evil</PON>" in answer
    made: dict[str, Any] = browser.execute_script(
        "return {pwned: window.pwned === undefined ? null : window.pwned,"
        " images: document.querySelectorAll('img').length,"
        " scripts: document.querySelectorAll('body script').length,"
        " elements: document.querySelectorAll('#detail script, #detail img').length}"
    )
    assert made == {"pwned": None, "images": 0, "scripts": 1, "elements": 0}  # the page's own


PORTING_APP = """
from bwhooks import PortOutAnswer, PortOutError, Receiver, BasicAuth
from bwhooks.adapters.wsgi import make_app
from bwhooks.events import NumbersEvent, PortOutValidationEvent

receiver = Receiver(auth=BasicAuth(("user", "password")))


@receiver.on(NumbersEvent)
def answered(event):
    if isinstance(event, PortOutValidationEvent):
        return PortOutAnswer.deny(PortOutError.PIN_INVALID)
    return None


app = make_app(receiver, "/callbacks")
"""


def test_generated_tests_of_xml_deliveries_send_xml_and_pass(tmp_path: Path) -> None:
    """ "Copy as a test" of a Numbers notification and of a port-out request: the test
    sends the XML body byte for byte with its content type and passes against the app
    that answered (the port-out answer compared as XML)."""
    (tmp_path / "myapp.py").write_text(PORTING_APP)
    process, url, page = listen("--app", "myapp:receiver", cwd=tmp_path)
    try:
        for kind in ("orderNotification", "portOutValidation"):
            sent = send(url, kind, "--user", "user", "--password", "password")
            assert sent.returncode == 0, sent.stderr
        chosen = [d for d in listed(page)["deliveries"] if d["status"] == 200]
        assert len(chosen) == 2
        assert "<Code>7513</Code>" in chosen[1]["response_body"]
        tests = tmp_path / "generated"
        tests.mkdir()
        for delivery in chosen:
            status, code = request(
                page, "GET", f"/api/deliveries/{delivery['id']}/test", token=True
            )
            assert status == 200
            made = requested(code.decode())
            assert made["headers"] == {"Content-Type": XML}
            assert made["body"] == delivery["body"].encode()
            (tests / f"test_delivery_{delivery['id']}.py").write_bytes(code)
    finally:
        finish(process)
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "2 passed" in ran.stdout


def test_the_json_families_are_grouped_by_number_endpoint_request_and_query_in_chromium(
    browser: webdriver.Chrome, listening: tuple[str, str, Path]
) -> None:
    """Toll-free results of one number, events of one endpoint, a Subscriptions v2 request
    and 911 queries each in their thread, typed; sender text is shown as text."""
    url, page, _ = listening
    browser.get(page)
    wait(browser, lambda b: text_of(b, "connection") == "live")
    more = Path(__file__).parent / "examples" / "more"
    endpoint = json.loads((more / "endpoints" / "device-disconnected-1.json").read_bytes())
    hostile_name = "<img src=x onerror=window.pwned=4>"
    device = {"deviceId": "d-1", "deviceName": hostile_name, "status": "CONNECTED"}
    connected = {**endpoint, "eventType": "DEVICE_CONNECTED", "status": "CONNECTED"}
    bodies = [
        (more / "tollfree" / "denial-1.json").read_bytes(),
        (more / "subscriptions" / "messaging-transfer-confirmation-1.json").read_bytes(),
        json.dumps({**connected, "device": device}).encode(),
        (more / "tollfree" / "blocked-1.json").read_bytes(),
        json.dumps(endpoint).encode(),
    ]
    headers = {"Content-Type": "application/json", "Authorization": basic_authorization("u", "p")}
    path = urlsplit(url).path
    for body in bodies:
        assert http_request(url, "POST", path, body, headers).status == 204
    query = "to=911&from=%2B19195551234"
    routed = http_request(
        url, "GET", f"{path}?{query}", b"", {"Authorization": headers["Authorization"]}
    )
    assert routed.status in (200, 503)  # listen has no route to give: the 911 call goes on
    wait(browser, lambda b: len(rows(b)) == 6)
    threads: dict[str, list[str]] = browser.execute_script(
        """const found = {};
        for (const s of document.querySelectorAll('section.thread'))
          found[s.querySelector('h2').textContent] =
            [...s.querySelectorAll('.delivery .types')].map(t => t.textContent);
        return found"""
    )
    assert threads == {
        "toll-free +18885555555": ["tollFreeDenial", "tollFreeBlocked"],
        "notification 5f1d2c3b-8a9e-4b7c-9d0e-1f2a3b4c5d6e": ["PORTOUT_REQUEST"],
        f"endpoint {endpoint['endpointId']}": ["DEVICE_CONNECTED", "DEVICE_DISCONNECTED"],
        "emergency 911 queries": ["emergencyCall"],
    }
    listed = rows(browser)
    pick(browser, listed[-1]["id"])
    wait(browser, lambda b: "EmergencyCallEvent" in text_of(b, "fields"))
    heading = browser.find_element(By.CSS_SELECTOR, "#detail h2").text
    assert heading.endswith(f"GET {path}?{query}")
    connected_row = next(r for r in listed if r["types"] == "DEVICE_CONNECTED")
    pick(browser, connected_row["id"])
    wait(browser, lambda b: "DeviceConnectedEvent" in text_of(b, "fields"))
    shown = browser.find_element(By.CSS_SELECTOR, '[data-field="device"] td + td').text
    assert json.loads(shown)["device_name"] == hostile_name  # as text, never markup
    denial_row = next(r for r in listed if r["types"] == "tollFreeDenial")
    pick(browser, denial_row["id"])
    wait(browser, lambda b: "TollFreeDenialEvent" in text_of(b, "fields"))
    code = browser.find_element(By.CSS_SELECTOR, '[data-field="denial_status_code"] td + td')
    assert code.text == "511"
    made = browser.execute_script(
        "return {pwned: window.pwned === undefined ? null : window.pwned,"
        " images: document.querySelectorAll('#detail img, #deliveries img').length}"
    )
    assert made == {"pwned": None, "images": 0}
