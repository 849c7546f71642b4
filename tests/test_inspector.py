"""The inspector page of `bwhooks listen`, driven in a real headless Chromium (Debian's
`chromium` and `chromium-driver`, which `make services` and `.ci/run` install; Selenium is
pointed at them and never downloads a browser): deliveries sent over HTTP appear live with
their typed fields, replay works from the page, filters filter. Over real HTTP: every route
needs the token (never logged), a foreign `Host` or origin is refused."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from test_cli import start_listen, stop
from test_recording import send

from bwhooks.inspector import MAX_PAGE

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
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("BWHOOKS_CREDENTIALS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bwhooks", "listen", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
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
    routes = ("/", "/api/deliveries", "/events")
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
    for path in ("/", "/api/deliveries"):
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
    assert request(page, "GET", "/nothing/here", token=True)[0] == 404
