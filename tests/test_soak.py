"""A bounded soak: real servers on 127.0.0.1, concurrent clients, thousands of callbacks
with duplicates and bad requests. Run by `.ci/run` (`pytest -m soak`), not by `make test`.

Checks: every valid callback handled exactly once (counted in Redis), every duplicate
answered without a second handling, every bad request refused with a 4xx, no 5xx.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from support import free_port

from bwhooks.auth import basic_authorization
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.soak

HERE = Path(__file__).parent
SECONDS = float(os.environ.get("BWHOOKS_SOAK_SECONDS", "20"))  # per server
GOOD = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization("soak", "soak-pass"),
}
BAD_REQUESTS = [  # headers, body, the one answer each must get
    (
        {**GOOD, "Authorization": basic_authorization("soak", "bad-pass")},
        b'{"eventType":"sms"}',
        401,
    ),
    ({"Content-Type": "application/json"}, b'{"eventType":"sms"}', 401),
    (GOOD, b'{"eventType": "sms", "segmentCount": "many"}', 400),
    (GOOD, b"{not json", 400),
    ({**GOOD, "Content-Type": "text/plain"}, b"hello", 415),
    (GOOD, b"[" * 5000 + b"]" * 5000, 400),
]
SERVERS = {
    "gunicorn": lambda port: [
        "-m",
        "gunicorn",
        "--workers",
        "2",
        "--threads",
        "4",
        "--bind",
        f"127.0.0.1:{port}",
        "soak_app:wsgi_app",
    ],
    "uvicorn": lambda port: [
        "-m",
        "uvicorn",
        "--workers",
        "2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "soak_app:asgi_app",
    ],
}


def post(port: int, headers: dict[str, str], body: bytes) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request("POST", "/callbacks", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_soak(server: str, redis_server: int, tmp_path: Path) -> None:  # noqa: PLR0915
    prefix = f"soak-{server}-{random.randrange(10**9)}:"
    port = free_port()
    env = {
        **os.environ,
        "SOAK_REDIS_PORT": str(redis_server),
        "SOAK_PREFIX": prefix,
        "PYTHONPATH": str(HERE),
    }
    # The server's log goes to a file: a pipe that nobody reads while the soak runs fills
    # up (64 KiB), and every worker then blocks in its next log write, for good.
    log_path = tmp_path / f"{server}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, *SERVERS[server](port)],
        cwd=HERE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"{server} did not start"
            time.sleep(0.1)

    lock = threading.Lock()
    stats: dict[str, Any] = {
        "valid": 0,
        "duplicates": 0,
        "bad": 0,
        "retries": 0,
        "statuses": {},
        "ids": [],
    }
    stop_at = time.monotonic() + SECONDS

    def record(status: int) -> None:
        with lock:
            stats["statuses"][status] = stats["statuses"].get(status, 0) + 1

    def deliver(body: bytes) -> None:
        """Like Bandwidth: until a 2xx (409 means: being handled, retry)."""
        for _ in range(100):
            status = post(port, GOOD, body)
            record(status)
            if status < 300:
                return
            assert status == 409, status
            with lock:
                stats["retries"] += 1
            time.sleep(0.02)
        raise AssertionError("never acknowledged")

    def client(seed: int) -> None:
        rng = random.Random(seed)
        sent: list[bytes] = []
        while time.monotonic() < stop_at:
            roll = rng.random()
            if roll < 0.2 and sent:
                deliver(rng.choice(sent))
                with lock:
                    stats["duplicates"] += 1
            elif roll < 0.3:
                headers, body, expected = rng.choice(BAD_REQUESTS)
                status = post(port, headers, body)
                record(status)
                assert status == expected, (status, body[:40])
                with lock:
                    stats["bad"] += 1
            else:
                kind = rng.choice(["sms", "v1:answer", "v1:dtmf", "hangup", "mms", "v1:gather"])
                ident = f"c-{seed}-{len(sent)}" if kind not in {"sms", "mms"} else None
                payload = fake_payload(kind, **({"call_id": ident} if ident else {}))
                body = json.dumps(payload).encode()
                sent.append(body)
                if rng.random() < 0.1:  # a duplicate racing the first delivery
                    racer = racing.submit(deliver, body)
                    deliver(body)
                    racer.result()
                    with lock:
                        stats["duplicates"] += 1
                else:
                    deliver(body)
                with lock:
                    stats["valid"] += 1
                    stats["ids"].append(payload.get("callId") or payload.get("messageId"))

    try:
        with ThreadPoolExecutor(8) as racing, ThreadPoolExecutor(8) as pool:
            list(pool.map(client, range(8)))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            pytest.fail(f"{server} did not stop on SIGTERM; its log:\n{log_path.read_text()}")
        finally:
            log.close()

    counts = redis.Redis(port=redis_server)
    handled = [int(counts.get(f"{prefix}handled:{ident}") or 0) for ident in stats["ids"]]
    counts.close()
    five_xx = sum(n for status, n in stats["statuses"].items() if status >= 500)
    print(
        f"\nsoak {server}: {sum(stats['statuses'].values())} requests in {SECONDS:.0f}s, "
        f"{stats['valid']} valid callbacks, {stats['duplicates']} duplicate deliveries, "
        f"{stats['bad']} bad requests, {stats['retries']} 409 retries, statuses "
        f"{dict(sorted(stats['statuses'].items()))}"
    )
    assert five_xx == 0
    assert stats["statuses"].get(500, 0) == 0
    assert handled == [1] * len(handled), "a callback was lost or handled twice"
    assert stats["valid"] > 100
    assert stats["retries"] > 0, "no duplicate raced a delivery in flight"
    server_log = log_path.read_text()
    assert "callback refused: 401 invalid credentials" in server_log
    assert "Traceback" not in server_log
    for secret in ("soak-pass", basic_authorization("soak", "soak-pass").split()[1]):
        assert secret not in server_log
    for secret in ("bad-pass", basic_authorization("soak", "bad-pass").split()[1]):
        assert secret not in server_log
