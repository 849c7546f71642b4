"""Slower checks that .ci/run adds to `make test`: other Pythons, and the built wheel."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "wheel"]
nox.options.default_venv_backend = "venv"

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

_IMPORT_EVERY_ADAPTER = """
import importlib, pkgutil, sys
import bwhooks.adapters as adapters
names = [m.name for m in pkgutil.iter_modules(adapters.__path__, "bwhooks.adapters.")]
for name in names:
    importlib.import_module(name)
assert {"bwhooks.adapters.wsgi", "bwhooks.adapters.asgi"} <= set(names), names
assert "flask" not in sys.modules and "django" not in sys.modules
print("imported", len(names), "adapter modules:", ", ".join(names))
"""


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite against a regular (non-editable) install."""
    session.install(".[test]")
    session.run("pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python="3.11")
def wheel(session: nox.Session) -> None:
    """Build sdist and wheel, install the wheel alone, import every adapter, run the demo."""
    session.install("build")
    dist = session.create_tmp()
    session.run("python", "-m", "build", "--outdir", dist)
    wheels = [name for name in __import__("os").listdir(dist) if name.endswith(".whl")]
    session.install("--force-reinstall", f"{dist}/{wheels[0]}")
    session.chdir(dist)  # away from the source tree: only the installed wheel is importable
    session.run("python", "-c", _IMPORT_EVERY_ADAPTER)
    session.run("bwhooks", "demo")
