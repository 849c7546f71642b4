"""docs/scaling.md's Quick start, followed as a newcomer follows it.

Every fenced block of the Quick start carries a marker on the line before it:

- ``<!-- file: NAME -->``: written into an empty project folder;
- ``<!-- run: tests/test_scaling_guide.py -->``: a command, run as written from that folder
  by ``/bin/sh``, the test venv's ``bin`` first on ``PATH`` (as an activated virtualenv);
- ``<!-- output: PROGRAM -->``: lines the command of that program prints (``…`` stands for
  what varies), waited for there, in the page's order;
- ``<!-- not run: REASON -->``: installs and checks of the reader's own machine.

The page's text is changed only by :func:`substitutions`, the commands' environment only by
:func:`environment`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from processes import Service, start_redis
from support import free_port

ROOT = Path(__file__).parents[1]
GUIDE = ROOT / "docs" / "scaling.md"
MARKER = re.compile(r"<!-- (file|run|output|not run): (.+?) -->")
RUN_BY = "tests/test_scaling_guide.py"

#: Commands the guide leaves running in a terminal of their own; every other one must exit 0.
SERVERS = ("celery", "flask")

#: Bounds for waiting on a process (a loaded CI machine starts a Celery worker slowly).
TIMEOUT = 90.0


@dataclass(frozen=True)
class Block:
    """One fenced block of the page and the marker on the line before it."""

    kind: str  # file, run, output, not run
    label: str  # the file's name, the test running it, the program, the reason
    text: str
    line: int


def quick_start() -> list[Block]:
    """The fenced blocks of the Quick start section (up to the next ``## `` heading)."""
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    first = lines.index("## Quick start")
    last = next(i for i in range(first + 1, len(lines)) if lines[i].startswith("## "))
    blocks: list[Block] = []
    number = first
    while number < last:
        line = lines[number]
        if not line.startswith("```"):
            number += 1
            continue
        marker = MARKER.fullmatch(lines[number - 1].strip())
        assert marker, f"scaling.md:{number + 1}: a block without a marker on the line before"
        end = lines.index("```", number + 1)
        text = "".join(f"{body}\n" for body in lines[number + 1 : end])
        blocks.append(Block(marker.group(1), marker.group(2), text, number + 1))
        number = end + 1
    return blocks


def program(command: str) -> str:
    """The program a command line runs (after its ``NAME=value`` assignments)."""
    words = shlex.split(command)
    return next(word for word in words if not re.fullmatch(r"\w+=.*", word))


def shows(output: str, expected: str) -> bool:
    """Whether ``output`` has the ``expected`` lines, in order (``…`` matches anything)."""
    patterns = [
        re.compile(".*?".join(re.escape(part) for part in line.strip().split("…")))
        for line in expected.splitlines()
        if line.strip()
    ]
    remaining = iter(output.splitlines())
    return all(any(pattern.search(line) for line in remaining) for pattern in patterns)


def environment(redis_port: int, state: Path) -> dict[str, str]:
    """The test's environment, as a newcomer's shell has it: nothing of bwhooks, Redis or
    Flask set beforehand, the venv's ``bin`` first on ``PATH`` (``. .venv/bin/activate``);
    then ``REDIS_URL``, the variable the guide names, for the test's own redis-server, and
    ``XDG_STATE_HOME`` so that the default spool lands in the test's folder."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("BWHOOKS_", "FLASK_", "CELERY_")) and name != "REDIS_URL"
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    env["XDG_STATE_HOME"] = str(state)
    return env


def substitutions(receiver_port: int, redis_port: int) -> dict[str, str]:
    """What the test changes in the page's commands and expected output, and nothing else:
    the receiver's port (5000 may be taken on a shared machine) and the Redis port the
    worker names (the test's redis-server, reached through ``REDIS_URL``)."""
    return {
        "--port 5000": f"--port {receiver_port}",
        "127.0.0.1:5000": f"127.0.0.1:{receiver_port}",
        "127.0.0.1:6379": f"127.0.0.1:{redis_port}",
    }


def substitute(text: str, table: dict[str, str], used: set[str]) -> str:
    for old, new in table.items():
        if old in text:
            used.add(old)
            text = text.replace(old, new)
    return text


def wait_for(condition: Callable[[], bool], what: str, service: Service) -> None:
    """Until ``condition`` holds; fails at once when the process exits without it holding."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if service.process.poll() is not None and not condition():
            raise AssertionError(f"{what}: the process exited\n{service.text()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {TIMEOUT}s\n{service.text()[-4000:]}")
        time.sleep(0.05)


@pytest.fixture
def started() -> Iterator[list[Service]]:
    """The processes a test starts; each whole process group killed at the end."""
    services: list[Service] = []
    try:
        yield services
    finally:
        for service in services:
            with suppress(ProcessLookupError):
                os.killpg(service.pid, signal.SIGKILL)
            service.process.wait()


def test_the_guide_shows_its_code_inline_and_marks_every_block() -> None:
    assert "--8<--" not in GUIDE.read_text(encoding="utf-8")  # shown as that line on GitHub
    blocks = quick_start()
    kinds = [block.kind for block in blocks]
    assert kinds.count("file") == 2, kinds  # the queued handlers' module, the user's Flask app
    assert "run" in kinds
    assert "output" in kinds
    runs = [program(block.text) for block in blocks if block.kind == "run"]
    assert len(set(runs)) == len(runs), runs  # an output names its command by its program
    for number, block in enumerate(blocks):
        where = f"scaling.md:{block.line}"
        if block.kind == "file":
            assert re.fullmatch(r"\w+\.py", block.label), where
        elif block.kind == "run":
            assert block.label == RUN_BY, where
        elif block.kind == "output":
            before = [program(b.text) for b in blocks[:number] if b.kind == "run"]
            assert block.label in before, f"{where}: output of {block.label}, not run before"


def test_the_guide_s_files_pass_the_project_s_lint(tmp_path: Path) -> None:
    binary = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if binary is None:  # nox's test sessions install the test extra only
        pytest.skip("ruff comes with the dev extra: make test runs this")
    for block in quick_start():
        if block.kind == "file":
            (tmp_path / block.label).write_text(block.text, encoding="utf-8")
    options = [
        "--config",
        str(ROOT / "pyproject.toml"),
        "--config",
        f"src = [{str(tmp_path)!r}]",  # the guide's modules import each other
    ]
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        done = subprocess.run(
            [binary, *command, *options, "."],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_quick_start_gives_a_handled_callback(tmp_path: Path, started: list[Service]) -> None:
    project, logs = tmp_path / "bandwidth-callbacks", tmp_path / "logs"
    project.mkdir()
    logs.mkdir()
    receiver_port, redis_port = free_port(), free_port()
    started.append(start_redis(redis_port, logs))
    env = environment(redis_port, tmp_path / "state")
    table = substitutions(receiver_port, redis_port)
    used: set[str] = set()
    services: dict[str, Service] = {}
    for block in quick_start():
        if block.kind == "file":
            (project / block.label).write_text(block.text, encoding="utf-8")
        elif block.kind == "run":
            command = substitute(block.text, table, used)
            name = program(command)
            with (logs / f"{name}.log").open("ab") as out:
                process = subprocess.Popen(
                    ["/bin/sh", "-c", command],
                    cwd=project,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            services[name] = Service(process, logs / f"{name}.log")
            started.append(services[name])
        elif block.kind == "output":
            service, expected = services[block.label], substitute(block.text, table, used)
            wait_for(
                lambda: shows(service.text(), expected),  # noqa: B023  (called in this loop)
                f"scaling.md:{block.line}: {block.label} printing {expected!r}",
                service,
            )
    assert used == set(table), f"substitutions the guide no longer needs: {set(table) - used}"
    for name, service in services.items():
        if name in SERVERS:
            assert service.process.poll() is None, f"{name} exited:\n{service.text()[-4000:]}"
        else:
            assert service.process.wait(TIMEOUT) == 0, f"{name}:\n{service.text()[-4000:]}"
    worker = services["celery"].text()
    # The guide's settings pass the worker's start-up check, and nothing went wrong.
    assert "bwhooks queue" not in worker, worker
    assert not re.search(r"^\[[^]]*: (WARNING|ERROR|CRITICAL)/", worker, re.MULTILINE), worker
    # The callback went through the test's Redis, the one REDIS_URL named.
    assert redis.Redis(port=redis_port).keys("{bwhooks:callbacks}:*")  # Celery("callbacks")
