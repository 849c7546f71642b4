"""A client stalled mid-body, tried as a new user deploys: gunicorn's default sync worker
holds every other callback until its timeout; the threaded worker docs/scaling.md
documents keeps answering."""

from __future__ import annotations

import http.client
import json
import socket
import sys
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
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.sendall(
        b"POST /callbacks HTTP/1.1\r\nHost: bw\r\nContent-Type: application/json\r\n"
        + f"Authorization: {AUTH}\r\n".encode()
        + b'Content-Length: 100\r\n\r\n{"'
    )
    return sock


def callback(port: int) -> int:
    body = json.dumps(fake_payload("sms")).encode()
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
        return response.status
    finally:
        connection.close()


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.kill()


# No clock in these tests: what happened first is told by what each side saw. The stalled
# client connects first, and a worker accepts connections in the order they came.


def test_a_sync_worker_keeps_callbacks_waiting_behind_a_stalled_client(
    tmp_path: Path, services: list[Service]
) -> None:
    service, port = serve(tmp_path)
    services.append(service)
    assert callback(port) == 200  # warm: the worker answers
    stalled = stalled_client(port)
    try:
        assert "WORKER TIMEOUT" not in service.text()
        status = callback(port)
        # answered only once gunicorn's --timeout aborted the worker stuck on the stall,
        # which answered the stalled client with gunicorn's own 500 on its way out
        assert "WORKER TIMEOUT" in service.text(), "the sync worker answered during the stall"
        assert stalled.recv(4096).startswith(b"HTTP/1.1 500 Internal Server Error")
    finally:
        stalled.close()
    assert status == 200  # the next worker answers it


def test_a_threaded_worker_keeps_answering(tmp_path: Path, services: list[Service]) -> None:
    service, port = serve(tmp_path, "--worker-class", "gthread", "--threads", "4")
    services.append(service)
    assert callback(port) == 200
    stalled = stalled_client(port)
    try:
        assert [callback(port) for _ in range(5)] == [200] * 5
        # all answered while the stalled request was still waiting for its body: it gets
        # its own answer only now (a 400: `{"` and spaces are no JSON), and no worker was killed
        stalled.sendall(b" " * 98)
        assert stalled.recv(4096).startswith(b"HTTP/1.1 400")
    finally:
        stalled.close()
    assert "WORKER TIMEOUT" not in service.text()
