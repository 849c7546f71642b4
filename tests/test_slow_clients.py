"""A client stalled mid-body, tried as a new user deploys: gunicorn's default sync worker
holds every other callback until its timeout; the threaded worker docs/scaling.md
documents keeps answering."""

from __future__ import annotations

import http.client
import json
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import Service, start, wait_for
from support import free_port

from bwhooks.auth import basic_authorization
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).parents[1]
CREDENTIALS = ("bw-user", "s3cret")
AUTH = basic_authorization(*CREDENTIALS)


def serve(tmp_path: Path, *options: str) -> tuple[Service, int]:
    port = free_port()
    service = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--timeout",
            "3",
            "--bind",
            f"127.0.0.1:{port}",
            *options,
            "examples.wsgi_app:app",
        ],
        tmp_path / f"gunicorn-{port}.log",
        {"BWHOOKS_CREDENTIALS": ":".join(CREDENTIALS), "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )

    def accepts() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    wait_for(accepts, "gunicorn start", service)
    return service, port


def stalled_client(port: int) -> socket.socket:
    """Declares 100 bytes of body, sends 2, and waits."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /callbacks HTTP/1.1\r\nHost: bw\r\nContent-Type: application/json\r\n"
        + f"Authorization: {AUTH}\r\n".encode()
        + b'Content-Length: 100\r\n\r\n{"'
    )
    return sock


def timed_callback(port: int) -> tuple[int, float]:
    body = json.dumps(fake_payload("sms")).encode()
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request(
            "POST",
            "/callbacks",
            body=body,
            headers={"Content-Type": "application/json", "Authorization": AUTH},
        )
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        connection.close()


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.kill()


def test_a_sync_worker_keeps_callbacks_waiting_behind_a_stalled_client(
    tmp_path: Path, services: list[Service]
) -> None:
    service, port = serve(tmp_path)
    services.append(service)
    assert timed_callback(port)[0] == 200  # warm: the worker answers
    stalled = stalled_client(port)
    time.sleep(0.3)
    try:
        status, seconds = timed_callback(port)
    finally:
        stalled.close()
    assert seconds > 2.5, "the sync worker answered during the stall"  # gunicorn's --timeout 3
    assert status == 200  # the next worker answers it, once the stuck one was killed
    wait_for(lambda: "WORKER TIMEOUT" in service.text(), "gunicorn's timeout kill", service)


def test_a_threaded_worker_keeps_answering(tmp_path: Path, services: list[Service]) -> None:
    service, port = serve(tmp_path, "--worker-class", "gthread", "--threads", "4")
    services.append(service)
    assert timed_callback(port)[0] == 200
    stalled = stalled_client(port)
    time.sleep(0.3)
    try:
        answers = [timed_callback(port) for _ in range(5)]
    finally:
        stalled.close()
    assert all(status == 200 for status, _ in answers)
    assert max(seconds for _, seconds in answers) < 1.0
