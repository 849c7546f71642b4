"""The README's first screen, run as a reader runs it.

Its first ```python block is saved verbatim as the file the README names and served with
`python <file>` from an empty folder; then the README's `bwhooks send` line and a Messaging v2
send reach it over HTTP. Here with this environment's Python (seconds, every `make test`);
tests/readme_install.py does the same from a clean venv holding only what the README's install
line installs (`make install-check`, CI).

The one substitution in what the README shows: the port. The snippet listens on 8000, which
another process may hold; a free port replaces `8000` once in the code and once in the send
line (both asserted).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import metadata
from pathlib import Path

import pytest
from processes import Service, accepts, wait_for
from support import free_port

from bwhooks.testing import fake_payload

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
README_PORT = "8000"
# What a terminal gives the snippet's print(): each line as it is printed (a pipe would hold
# the handler's line in Python's buffer until the server stops).
UNBUFFERED = {"PYTHONUNBUFFERED": "1"}


@dataclass(frozen=True)
class FirstScreen:
    """What the README's first screen tells a user to type and save."""

    installs: list[str]  # the `python -m pip install ...` lines, their comments included
    code: str  # the first ```python block, verbatim
    run: list[str]  # `python app.py`
    send: list[str]  # `bwhooks send initiate http://user:pass@127.0.0.1:8000/callbacks`

    @property
    def filename(self) -> str:
        """The file the run command names (the snippet is saved under it)."""
        return self.run[-1]


def first_screen(text: str | None = None) -> FirstScreen:
    """Parse the README (or ``text``): the install line(s), the first snippet, and the
    commands given in the paragraph that introduces it."""
    text = README.read_text(encoding="utf-8") if text is None else text
    snippet = re.search(r"^```python\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    assert snippet, "the README has no ```python block"
    intro = text[: snippet.start()].rstrip().rsplit("\n\n", 1)[-1]
    spans = re.findall(r"`([^`\n]+)`", intro)
    runs = [span for span in spans if span.startswith("python ")]
    sends = [span for span in spans if span.startswith("bwhooks send ")]
    assert len(runs) == 1, f"one `python FILE` before the snippet, not {runs}: {intro!r}"
    assert len(sends) == 1, f"one `bwhooks send ...` before the snippet, not {sends}: {intro!r}"
    installs = [
        line
        for block in re.findall(r"^```sh\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
        for line in block.splitlines()
        if line.startswith("python -m pip install ")
    ]
    assert installs, "no user's install line (```sh, `python -m pip install ...`) in the README"
    return FirstScreen(installs, snippet.group(1), shlex.split(runs[0]), shlex.split(sends[0]))


def install_forms(lines: list[str]) -> dict[str, list[str]]:
    """The install commands by form, "checkout" and "wheel" (one each): each line's command,
    and the same command with each alternative its comment offers (`"spec"  # or "spec"`)."""
    commands = []
    for line in lines:
        command = shlex.split(line, comments=True)
        assert command[:4] == ["python", "-m", "pip", "install"], command
        assert len(command) == 5, f"one requirement per form: {command}"
        commands.append(command)
        alternatives = shlex.split(line.partition("#")[2])
        if alternatives and alternatives[0] == "or":
            commands += [[*command[:4], other] for other in alternatives[1:]]
    forms: dict[str, list[str]] = {}
    for command in commands:
        form = "wheel" if re.sub(r"\[[^\]]*\]$", "", command[-1]).endswith(".whl") else "checkout"
        assert form not in forms, f"two {form} forms: {forms[form]}, {command}"
        forms[form] = command
    assert set(forms) == {"checkout", "wheel"}, f"a checkout and a wheel form, not {forms}"
    return forms


def extras(requirement: str) -> list[str]:
    """The extras a requirement names (`"/path/x[flask,celery]"`: flask, celery)."""
    named = re.search(r"\[([^\]]*)\]$", requirement)
    return [extra.strip() for extra in named.group(1).split(",")] if named else []


def replace_port(text: str, port: int) -> str:
    """``text`` with the README's port replaced by ``port``: exactly once."""
    replaced, count = re.subn(rf"\b{README_PORT}\b", str(port), text)
    assert count == 1, f"{README_PORT} is in there {count} times: {text!r}"
    return replaced


def python_env(bin_dir: Path) -> dict[str, str]:
    """This process's environment as a shell with the venv of ``bin_dir`` active has it:
    that venv first on PATH, no PYTHON* variable that would bring in other code."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", os.defpath)])
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    return env


def _aware_datetime() -> str:
    """str() of an aware datetime: `2026-03-01 12:00:00.123000+00:00`."""
    return r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?[+-]\d{2}:\d{2}"


def run_snippet(screen: FirstScreen, bin_dir: Path, folder: Path) -> None:
    """Save the snippet in ``folder``, serve it with ``bin_dir``'s python as the README says,
    send it the README's initiate and a message-received with ``bin_dir``'s `bwhooks`, and
    check the BXML answer and the handler's printed line."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / screen.filename).write_text(replace_port(screen.code, port), encoding="utf-8")
    env = {**python_env(bin_dir), **UNBUFFERED}
    assert screen.run[0] == "python", screen.run
    assert screen.send[0] == "bwhooks", screen.send
    send = [str(bin_dir / "bwhooks"), *shlex.split(replace_port(shlex.join(screen.send[1:]), port))]
    assert send[1:3] == ["send", "initiate"], send
    out, err = folder / "stdout.txt", folder / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [str(bin_dir / "python"), *screen.run[1:]],
            cwd=folder,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    app = Service(process, err)
    try:
        wait_for(lambda: accepts(port), f"{screen.filename} listening on {port}", app)

        def bwhooks(*argv: str) -> list[str]:
            done = subprocess.run(
                argv, check=False, cwd=folder, env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, (done, err.read_text())
            assert not done.stderr, done.stderr
            return done.stdout.splitlines()

        # Bandwidth's exchange (challenged, then accepted), and the handler's BXML.
        answered = bwhooks(*send)
        assert answered[0].endswith(" 401 -> 200"), answered
        assert answered[1:] == ["<Response><SpeakSentence>Hello!</SpeakSentence></Response>"]
        assert out.read_text() == "", "nothing printed for a call"

        messaged = bwhooks(*send[:2], "message-received", *send[3:])
        assert messaged == ["POST [message-received] 401 -> 200"], messaged
        # The handler ran before the answer was sent: its line is there already.
        text = fake_payload("message-received")[0]["message"]["text"]
        printed = out.read_text().splitlines()
        line = rf"\+\d+ {re.escape(text)} {_aware_datetime()}"
        assert len(printed) == 1, printed
        assert re.fullmatch(line, printed[0]), printed
        assert "Traceback" not in err.read_text(), err.read_text()
    finally:
        app.stop()


def test_the_readme_snippet_runs_as_pasted(tmp_path: Path) -> None:
    run_snippet(first_screen(), Path(sys.executable).parent, tmp_path / "app")


def test_the_install_line_offers_a_checkout_and_the_wheel_with_extras_that_exist() -> None:
    """Both forms, each naming extras the project defines (pip only warns about an unknown
    extra, and installs without it); tests/readme_install.py runs them."""
    forms = install_forms(first_screen().installs)
    assert forms["checkout"][-1].startswith("/path/to/bwhooks["), forms
    wheel = "/path/to/bwhooks/dist/bwhooks-<version>-py3-none-any.whl["  # what make wheel writes
    assert forms["wheel"][-1].startswith(wheel), forms
    defined = set(metadata("bwhooks").get_all("Provides-Extra") or [])
    for command in forms.values():
        assert extras(command[-1]), f"no extra named: {command}"
        assert set(extras(command[-1])) <= defined, (command, defined)


def test_a_changed_port_or_a_missing_command_fails_the_run() -> None:
    """What the tests above rely on: the port replaced exactly once, the commands found."""
    screen = first_screen()
    assert screen.filename == "app.py"
    assert screen.send[:3] == ["bwhooks", "send", "initiate"]
    with pytest.raises(AssertionError, match="2 times"):
        replace_port(screen.code + f"# {README_PORT}\n", 1234)
    text = README.read_text(encoding="utf-8")
    without_port = text.replace(f"127.0.0.1:{README_PORT}/callbacks`", "127.0.0.1/callbacks`")
    with pytest.raises(AssertionError, match="0 times"):
        replace_port(shlex.join(first_screen(without_port).send), 1234)
    with pytest.raises(AssertionError, match="one `bwhooks send"):
        first_screen(text.replace("`bwhooks send initiate", "`bwhooks sent initiate"))
