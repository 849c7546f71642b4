"""Who holds a lease, with real processes: a holder of one PID namespace is never judged dead
from another (two containers of one host, one hostname: same boot id, separate PID
namespaces, made here with `unshare --pid --fork --mount-proc`); a holder that died in this
namespace is, and so is a holder whose PID now belongs to a process started at another time.

The handler is tests/queue_app.py's, its runs counted in a redis-server of this module.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from processes import start_redis
from support import free_port

from bwhooks.auth import basic_authorization
from bwhooks.queue.leases import holder_is_dead, run_token
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(120)
HERE = Path(__file__).parent
PREFIX = "identity:"
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization("queue", "queue-pass"),
}
# A container's init: the process under test is its child, not PID 1 (which every
# namespace has, so PID 1 would tell nothing about another namespace's processes).
INIT = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
# Takes the lease of a callback's work as a worker's run does, says so, and holds it (alive)
# until its stdin closes.
HOLDER = """
import json, os, sys
import queue_app
from bwhooks import CallbackRequest
from bwhooks.queue.claims import Start
from bwhooks.queue.leases import run_token

headers, body = json.loads(sys.argv[1]), sys.argv[2].encode()
request = CallbackRequest("POST", "/callbacks", headers, body)
(event,) = queue_app.receiver.accept_all(request)
envelope = queue_app.queue.envelope("queue_app:record", event, request)
token = run_token()
begun = queue_app.queue.claims.begin(envelope.key, token, 60.0, 60.0)
assert begun.start is Start.RUN, begun
print(json.dumps({"pid": os.getpid(), "token": token, "envelope": envelope.to_dict()}))
sys.stdout.flush()
sys.stdin.read()
"""
# A worker given the message of that work: runs it (or defers it), and reports.
WORKER = """
import json, os, sys
import queue_app
from bwhooks.queue.leases import holder_is_dead

envelope, holder = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ran = queue_app.queue.run(envelope)
print(json.dumps({
    "verdict": ran.verdict.name,
    "dead": holder_is_dead(holder["token"]),
    "holder_pid_here": os.path.exists(f"/proc/{holder['pid']}"),
    "pid": os.getpid(),
}))
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    port = free_port()
    service = start_redis(port, tmp_path_factory.mktemp("identity"))
    try:
        yield redis.Redis(port=port)
    finally:
        service.kill()


def environment(store: redis.Redis) -> dict[str, str]:
    port = store.connection_pool.connection_kwargs["port"]
    return {
        **os.environ,
        "QUEUE_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "QUEUE_PREFIX": PREFIX,
        "QUEUE_SPOOL": "",
        "PYTHONPATH": f"{HERE}{os.pathsep}{HERE.parent}",
    }


def in_namespace(command: list[str], namespace: bool, *, init: bool = False) -> list[str]:
    """``command`` in a PID namespace (and /proc) of its own: its PID 1, or the child of
    its init."""
    if not namespace:
        return command
    started = [sys.executable, "-c", INIT, *command] if init else command
    return ["unshare", "--pid", "--fork", "--mount-proc", *started]


@contextmanager
def holding(
    store: redis.Redis, payload: Any, *, namespace: bool
) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """A live holder of the lease of ``payload``'s work: the process and what it said. It
    lets go (exits) when the block ends."""
    command = [sys.executable, "-c", HOLDER, json.dumps(HEADERS), json.dumps(payload)]
    with subprocess.Popen(
        in_namespace(command, namespace, init=True),
        env=environment(store),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None
        line = holder.stdout.readline()  # once the lease is held (or the holder failed)
        if not line:
            pytest.fail(f"the holder failed: exit {holder.wait(30)}")
        yield holder, json.loads(line)


def work(store: redis.Redis, said: dict[str, Any], *, namespace: bool) -> dict[str, Any]:
    """A worker's run of the held work's message, and its judgement of the holder."""
    worker = subprocess.run(
        in_namespace(
            [sys.executable, "-c", WORKER, json.dumps(said["envelope"]), json.dumps(said)],
            namespace,
        ),
        env=environment(store),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(worker.stdout.splitlines()[-1]))


def starts(store: redis.Redis) -> int:
    return sum(int(count) for count in store.hgetall(f"{PREFIX}starts").values())


@pytest.fixture(autouse=True)
def clean(store: redis.Redis) -> None:
    store.flushdb()


needs_namespaces = pytest.mark.skipif(
    shutil.which("unshare") is None or os.geteuid() != 0,
    reason="PID namespaces need util-linux's unshare, run as root",
)


@needs_namespaces
def test_a_live_holder_of_another_pid_namespace_is_not_judged_dead(store: redis.Redis) -> None:
    with holding(store, fake_payload("sms"), namespace=True) as (holder, said):
        judged = work(store, said, namespace=True)
        assert holder.poll() is None  # alive all along
    assert not judged["holder_pid_here"]  # its PID names no process in the worker's namespace
    assert judged["pid"] != said["pid"]
    assert not judged["dead"]
    assert judged["verdict"] == "RETRY"  # waits out the lease: not taken over
    assert starts(store) == 0  # the handler never ran beside its live holder


def test_a_holder_killed_in_this_pid_namespace_is_taken_over_at_once(store: redis.Redis) -> None:
    with holding(store, fake_payload("sms"), namespace=False) as (holder, said):
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
        judged = work(store, said, namespace=False)
    assert judged["dead"]
    assert judged["verdict"] == "ACK"  # ran at once, the lease (60 s) not waited out
    assert starts(store) == 1


def start_time(pid: int) -> int:
    """``pid``'s start, in clock ticks after boot (field 22 of /proc/<pid>/stat)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def test_a_pid_taken_by_a_process_started_at_another_time_is_a_dead_holder() -> None:
    place = run_token().rsplit(":", 2)[0]
    waiting = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    with subprocess.Popen(waiting, stdin=subprocess.PIPE) as other:  # alive until the end
        began = start_time(other.pid)
        assert not holder_is_dead(f"{place}:{other.pid}/{began}:abc")  # the holder itself
        assert holder_is_dead(f"{place}:{other.pid}/{began - 1}:abc")  # its PID, recycled
        assert holder_is_dead(f"{place}:{other.pid}/{began + 1}:abc")


def test_a_holder_of_another_namespace_boot_or_host_is_never_judged_dead() -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = gone.stdout.strip()
    place = run_token().rsplit(":", 2)[0]
    host, boot, namespace = place.rsplit("/", 2)
    assert holder_is_dead(f"{place}:{pid}:abc")  # of this namespace: dead
    assert not holder_is_dead(f"{host}/{boot}/4026531835:{pid}:abc")  # another namespace
    assert not holder_is_dead(f"{host}/{boot}:{pid}:abc")  # an older token: no namespace
    assert not holder_is_dead(f"{host}/00000000/{namespace}:{pid}:abc")  # another boot
    assert not holder_is_dead(f"elsewhere/{boot}/{namespace}:{pid}:abc")  # another host
    assert not holder_is_dead(f"{place}:{pid}/x:abc")  # unreadable
