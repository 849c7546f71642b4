"""Slower checks that .ci/run adds to `make test`: other Pythons, and the built wheel."""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests", "wheel"]
nox.options.default_venv_backend = "venv"

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

_IMPORT_EVERY_ADAPTER = """
import importlib, pkgutil, sys, types
import django
from django.conf import settings
from bwhooks import BasicAuth, Receiver
sys.modules["wheel_check"] = types.ModuleType("wheel_check")
sys.modules["wheel_check"].receiver = Receiver(auth=BasicAuth(("u", "p")))
settings.configure(INSTALLED_APPS=["bwhooks.adapters.django"],
                   BWHOOKS={"RECEIVER": "wheel_check.receiver"})
django.setup()  # the Django adapter's urls module resolves the receiver when imported
import bwhooks.adapters as adapters
names = [m.name for m in pkgutil.walk_packages(adapters.__path__, "bwhooks.adapters.")]
for name in names:
    importlib.import_module(name)
expected = {"wsgi", "asgi", "flask", "fastapi", "django", "django.views", "django.urls",
            "django.apps", "django.checks"}
assert {"bwhooks.adapters." + name for name in expected} <= set(names), names
print("imported", len(names), "adapter modules:", ", ".join(names))
"""
_IMPORT_WITHOUT_FRAMEWORKS = """
import sys, bwhooks, bwhooks.adapters.wsgi, bwhooks.adapters.asgi
assert not {"flask", "fastapi", "starlette", "django", "werkzeug"} & set(sys.modules)
import bwhooks.testing
assert not {"flask", "fastapi", "starlette", "django", "pytest_httpserver"} & set(sys.modules)
print("the core and the raw adapters import no framework")
"""


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite against a regular (non-editable) install."""
    session.install(".[test]")
    session.run("pytest", "-q", "-p", "no:cacheprovider", "-m", "not soak", *session.posargs)


@nox.session(python="3.11")
def wheel(session: nox.Session) -> None:
    """Build sdist and wheel, install the wheel alone, import every adapter, run the demo."""
    session.install("build")
    dist = os.path.abspath(session.create_tmp())
    session.run("python", "-m", "build", "--outdir", dist)
    wheels = [name for name in os.listdir(dist) if name.endswith(".whl")]
    session.install("--force-reinstall", f"{dist}/{wheels[0]}")
    session.chdir(dist)  # away from the source tree: only the installed wheel is importable
    session.run("python", "-c", _IMPORT_WITHOUT_FRAMEWORKS)
    session.run("bwhooks", "demo")
    session.install(f"{dist}/{wheels[0]}[flask,fastapi,django]")
    session.run("python", "-c", _IMPORT_EVERY_ADAPTER)
