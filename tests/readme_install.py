"""The README's install line, both forms, each into a new clean venv; then its snippet.

`make wheel` writes the wheel the second form names. Each form runs as the README writes it,
in "your own project" (a new folder outside the checkout) with a new venv's `python`
(`python -m venv`: no system site packages, not .venv), from PyPI. Then the README's snippet
is served by that venv from that folder (the import must come from the venv's
site-packages) and answers the README's `bwhooks send`.

Slow and online: pytest does not collect this file by itself (its name does not start with
``test_``); `make install-check` runs it by path, and so do `make ci` and `.ci/run`.
tests/test_readme.py runs the snippet with the test environment in every `make test`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from test_readme import ROOT, extras, first_screen, install_forms, python_env, run_snippet

VERSION = version("bwhooks")
WHEEL = f"dist/bwhooks-{VERSION}-py3-none-any.whl"
# What a reader puts in place of the README's placeholders, and what this test puts: each must
# be in its form exactly once. `python` is the new venv's (the README: "with its virtualenv
# active").
PLACEHOLDERS = {
    "checkout": {"/path/to/bwhooks": str(ROOT)},
    "wheel": {"/path/to/bwhooks": str(ROOT), "<version>": VERSION},
}

# In the venv: where bwhooks comes from, and every requirement of the named extras installed.
_INSTALLED = """
import importlib.metadata as metadata, re, sys, sysconfig
import bwhooks
print(bwhooks.__file__)
print(sysconfig.get_path("purelib"))
print(metadata.version("bwhooks"))
requirements = metadata.requires("bwhooks") or []
for extra in sys.argv[1:]:
    needed = [r for r in requirements if re.search(r"extra\\s*==\\s*['\\"]%s['\\"]" % extra, r)]
    assert needed, f"bwhooks declares no requirement for the extra {extra!r}"
    for requirement in needed:
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group()
        print(extra, name, metadata.version(name))
"""


@pytest.fixture(scope="module")
def built_wheel() -> Path:
    """`make wheel`, as the README says; the file its install line names."""
    make = shutil.which("make")
    assert make, "make is needed to build the wheel"
    subprocess.run([make, "wheel"], cwd=ROOT, check=True, timeout=600)
    wheel = ROOT / WHEEL
    assert wheel.is_file(), sorted(path.name for path in (ROOT / "dist").iterdir())
    return wheel


@pytest.mark.parametrize("form", ["checkout", "wheel"])
def test_the_install_line_then_the_snippet_in_a_clean_venv(
    form: str, built_wheel: Path, tmp_path: Path
) -> None:
    command = install_forms(first_screen().installs)[form]
    requirement = command[-1]
    for placeholder, value in PLACEHOLDERS[form].items():
        assert requirement.count(placeholder) == 1, (placeholder, command)
        requirement = requirement.replace(placeholder, value)
    named = extras(requirement)
    assert named, f"the README's {form} form names no extra: {requirement}"

    venv, app = tmp_path / "venv", tmp_path / "app"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / "bin"
    app.mkdir()
    env = python_env(bin_dir)

    def in_venv(*argv: str, cwd: Path = app) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir / "python"), *argv],
            check=False,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    before = in_venv("-c", "import bwhooks")
    assert "No module named 'bwhooks'" in before.stderr, before

    installed = in_venv(*command[1:-1], requirement)  # as written, in the user's project
    assert installed.returncode == 0, installed
    assert "does not provide the extra" not in installed.stderr, installed.stderr

    found = in_venv("-c", _INSTALLED, *named)
    assert found.returncode == 0, found
    module, site_packages, installed_version, *extra_lines = found.stdout.splitlines()
    assert Path(module).is_relative_to(Path(site_packages)), (module, site_packages)
    assert Path(site_packages).is_relative_to(venv), site_packages
    assert installed_version == VERSION
    assert {line.split()[0] for line in extra_lines} == set(named), extra_lines

    run_snippet(first_screen(), bin_dir, app)
