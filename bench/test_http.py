"""3. HTTP on loopback: gunicorn and uvicorn serving bare vs bwhooks apps, loaded by wrk.

Bounded: each run lasts ``SECONDS`` and targets 127.0.0.1 only; the servers are stopped
after. Skipped (with the reason) when wrk is not installed (`make bench` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import report_row
from payloads import HEADERS, V1

HERE = Path(__file__).parent
SECONDS = int(os.environ.get("BWHOOKS_BENCH_HTTP_SECONDS", "4"))
# Rounds alternate the order (bare then bwhooks, bwhooks then bare, ...): a shared machine's
# drift hits both alike, and an even number of rounds runs each order equally often (the
# second server of a round measured up to 5% faster, whichever it was).
ROUNDS = 2 * max(1, int(os.environ.get("BWHOOKS_BENCH_HTTP_ROUNDS", "8")) // 2)
SERVERS = {
    "gunicorn": [
        "-m",
        "gunicorn",
        "--workers",
        "1",
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
        "--bind",
    ],
    "uvicorn": [
        "-m",
        "uvicorn",
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
        "--port",
    ],
}
# One server worker and one load thread on a two-core machine: neither starves the other,
# which two of each did (their ratios swung from 1.05x to 1.7x between runs).
_results: dict[str, dict[str, tuple[float, float, int]]] = {}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(server: str, app: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    address = f"127.0.0.1:{port}" if server == "gunicorn" else str(port)
    argv = [sys.executable, *SERVERS[server], address]
    if server == "uvicorn":
        argv += ["--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*argv, app],
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            import socket

            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{server} did not start")


def worker_rss_kib(process: subprocess.Popen[bytes]) -> int:
    """The largest resident set among the server's worker processes."""
    children = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    sizes = []
    for pid in children or [str(process.pid)]:
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            found = re.search(r"VmRSS:\s+(\d+)", status.read_text())
            if found:
                sizes.append(int(found.group(1)))
    return max(sizes, default=0)


def load(port: int, seconds: int = SECONDS) -> tuple[float, float, int]:
    """requests/s, p99 latency (ms) and non-2xx answers from a bounded wrk run."""
    script = HERE / "data" / "post.lua"
    headers = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in HEADERS.items())
    body = V1["answer"].decode().replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(f'wrk.method = "POST"\nwrk.body = "{body}"\n{headers}')
    result = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c16",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/callbacks",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", result).group(1))  # type: ignore[union-attr]
    p99_match = re.search(r"99%\s+([\d.]+)(us|ms|s)", result)
    assert p99_match
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99_match.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", result)
    return rps, float(p99_match.group(1)) * scale, int(bad.group(1)) if bad else 0


def _median_run(runs: list[tuple[float, float, int, int]]) -> tuple[float, float, int, int]:
    """Median req/s and p99 over the rounds; every non-2xx counted; the largest RSS."""
    return (
        statistics.median(r[0] for r in runs),
        statistics.median(r[1] for r in runs),
        sum(r[2] for r in runs),
        max(r[3] for r in runs),
    )


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench does)")
@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_loopback(server: str) -> None:
    kind = "wsgi" if server == "gunicorn" else "asgi"
    runs: dict[str, list[tuple[float, float, int, int]]] = {"baseline": [], "bwhooks": []}
    apps = [("baseline", f"apps:bare_{kind}"), ("bwhooks", f"apps:bwhooks_{kind}")]
    for round_ in range(ROUNDS):
        for role, app in apps if round_ % 2 == 0 else apps[::-1]:  # neither always first
            process, port = serve(server, app)
            try:
                load(port, seconds=1)  # every worker up and warm before the measured run
                rps, p99, bad = load(port)
                rss = worker_rss_kib(process)
            finally:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(20)
            runs[role].append((rps, p99, bad, rss))
            print(f"\n  {server} round {round_ + 1} {role}: {rps:.0f} req/s", end="")
    base, ours = (_median_run(runs["baseline"]), _median_run(runs["bwhooks"]))
    # Each round's bare run and bwhooks run are neighbours in time: their ratio is what a
    # shared machine's drift disturbs least. The geometric mean of those ratios cancels the
    # order effect exactly over an even number of alternating rounds.
    paired = statistics.geometric_mean(
        b[0] / o[0] for b, o in zip(runs["baseline"], runs["bwhooks"], strict=True)
    )
    report_row(
        f"http:{server}",
        "bwhooks",
        paired,
        f"(time per request) {ours[0]:.0f} vs {base[0]:.0f} req/s, p99 {ours[1]:.2f} vs "
        f"{base[1]:.2f} ms, non-2xx {ours[2]}, worker RSS {ours[3]} vs {base[3]} KiB",
    )
    assert ours[2] == 0, "bwhooks answered non-2xx under load"
    assert base[2] == 0
