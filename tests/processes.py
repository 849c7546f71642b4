"""Real processes for the queue tests: redis-server, Celery workers, gunicorn receivers.

Each starts in a session of its own (so a test can kill a worker's whole process group) and
writes its log to a file (a pipe nobody reads would fill up and block it).
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).parent


class Service:
    """One started process, its log, and how to stop it."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process, self.log = process, log

    @property
    def pid(self) -> int:
        return self.process.pid

    def children(self) -> list[int]:
        """The pids of its child processes (a prefork worker's pool)."""
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                if parent == self.pid:
                    children.append(int(entry.name))
        return children

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group, and wait for the leader."""
        with suppress(ProcessLookupError):
            os.killpg(self.pid, sig)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def start(
    argv: list[str], log: Path, env: Mapping[str, str] | None = None, cwd: Path = HERE
) -> Service:
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Service(process, log)


def wait_for(
    condition: object, what: str, service: Service | None = None, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        if service is not None and service.process.poll() is not None:
            raise AssertionError(f"{what}: the process exited\n{service.text()[-4000:]}")
        if time.monotonic() > deadline:
            log = service.text()[-4000:] if service else ""
            raise AssertionError(f"{what}: not within {timeout}s\n{log}")
        time.sleep(0.05)


def start_redis(port: int, directory: Path, *options: str, durable: bool = False) -> Service:
    """redis-server on 127.0.0.1:``port`` as Celery wants it (noeviction), with more
    ``options`` (``"--replicaof", ...``); ``durable``: every write in the append-only file
    first, so a restart loses no message."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: `make test` installs it (Debian package)"
    service = start(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if durable else "no",
            "--appendfsync",
            "always",
            "--maxmemory-policy",
            "noeviction",
            "--dir",
            str(directory),
            *options,
        ],
        directory / f"redis-{port}.log",
    )
    wait_for(lambda: accepts(port), "redis-server start", service)
    return service


def imported(module: str, env: Mapping[str, str]) -> ModuleType:
    """A test app module (tests/queue_app.py...) imported afresh with ``env`` set, as the
    workers started with that environment import it; the environment is restored after."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        sys.modules.pop(module, None)
        return importlib.import_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        sys.modules.pop(module, None)  # the next import is afresh too


def accepts(port: int) -> bool:
    """Whether something on 127.0.0.1 accepts connections on ``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def start_worker(
    name: str,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    concurrency: int = 1,
    pool: str = "prefork",
    app: str = "queue_app:celery_app",
    queues: str | None = None,
) -> Service:
    """``celery -A <app> worker`` (tests/queue_app.py's by default), ready when its log
    says so; ``queues``: its ``-Q`` (the broker queues it consumes)."""
    log = log_dir / f"worker-{name}.log"
    offset = log.stat().st_size if log.exists() else 0
    service = start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app,
            "worker",
            "-P",
            pool,
            "-c",
            str(concurrency),
            "-n",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-l",
            "INFO",
            *(["-Q", queues] if queues else []),
        ],
        log,
        {**env, "PYTHONPATH": f"{HERE}{os.pathsep}{HERE.parent}"},
    )
    wait_for(lambda: "ready." in log.read_text(errors="replace")[offset:], "worker ready", service)
    return service


class QueueStack:
    """A test module's services: a redis-server (which a test may stop and start again)
    and a worker of tests/queue_app.py; ``env`` points queue_app at them, its keys under
    ``prefix``."""

    def __init__(self, directory: Path, name: str, prefix: str) -> None:
        from support import free_port  # the tests' helpers, beside this module

        self.directory = directory
        self.port = free_port()
        self.env = {
            "QUEUE_REDIS_URL": f"redis://127.0.0.1:{self.port}/0",
            "QUEUE_PREFIX": prefix,
            "QUEUE_SPOOL": str(directory / "spool.sqlite3"),
        }
        self.redis = start_redis(self.port, directory)
        self.worker = start_worker(name, self.env, directory)

    def restart_redis(self) -> None:
        self.redis = start_redis(self.port, self.directory)

    def stop(self) -> None:
        self.worker.kill()
        self.redis.kill()


def start_gunicorn(port: int, env: Mapping[str, str], log_dir: Path, workers: int = 2) -> Service:
    """gunicorn serving ``queue_app:wsgi_app`` on 127.0.0.1:``port``."""
    service = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "queue_app:wsgi_app",
        ],
        log_dir / f"gunicorn-{port}.log",
        {**env, "PYTHONPATH": str(HERE)},
    )
    wait_for(lambda: accepts(port), "gunicorn start", service)
    return service


@contextmanager
def running(*services: Service) -> Iterator[None]:
    try:
        yield
    finally:
        for service in services:
            service.kill()
