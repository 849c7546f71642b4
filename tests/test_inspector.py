"""The inspector page of `bwhooks listen`, driven in a real headless Chromium (Debian's
`chromium` and `chromium-driver`, which `make services` and `.ci/run` install; Selenium is
pointed at them and never downloads a browser): deliveries sent over HTTP appear live with
their typed fields, replay works from the page, filters filter, and a foreign `Host` or a
missing token is refused."""

from __future__ import annotations

import http.client
import json
import os
import shutil
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
) -> tuple[int, Any]:
    parts = urlsplit(page)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        sent = {**(headers or {}), **({"Host": host} if host else {})}
        connection.request(method, path, body=body or None, headers=sent)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_a_foreign_host_or_a_missing_token_is_refused(listening: tuple[str, str, Path]) -> None:
    url, page, _ = listening
    token = page.split("token=", 1)[1]
    assert send(url, "sms", "--user", "u", "--password", "p").returncode == 0
    assert request(page, "GET", "/")[0] == 200
    status, body = request(page, "GET", "/api/deliveries")
    assert status == 200
    assert len(json.loads(body)) == 2
    for path in ("/", "/api/deliveries", "/events"):  # a tunnel or a rebound DNS name
        assert request(page, "GET", path, host="evil.example")[0] == 403
        assert request(page, "GET", path, host=f"evil.example:{urlsplit(page).port}")[0] == 403
    replay = json.dumps({"id": 2}).encode()
    assert request(page, "POST", "/api/replay", body=replay)[0] == 403
    wrong = {"X-Bwhooks-Token": "guessed", "Content-Type": "application/json"}
    assert request(page, "POST", "/api/replay", body=replay, headers=wrong)[0] == 403
    right = {"X-Bwhooks-Token": token, "Content-Type": "application/json"}
    status, body = request(page, "POST", "/api/replay", body=replay, headers=right)
    assert (status, json.loads(body)) == (200, {"exchange": [401, 200]})
    status, body = request(
        page, "POST", "/api/replay", body=replay, headers=right, host="evil.example"
    )
    assert status == 403


def test_bad_replay_requests_are_answered_400(listening: tuple[str, str, Path]) -> None:
    _, page, _ = listening
    token = {"X-Bwhooks-Token": page.split("token=", 1)[1], "Content-Type": "application/json"}
    for body in (b"{nope", b'{"url": "x"}', b'{"id": 999}', b'{"id": "x"}', b"[1]"):
        status, answer = request(page, "POST", "/api/replay", body=body, headers=token)
        assert status == 400, body
        assert json.loads(answer)["error"]
    huge = {**token, "Content-Length": str(10**9)}
    assert request(page, "POST", "/api/replay", headers=huge)[0] == 400
    assert request(page, "GET", "/nothing/here")[0] == 404
