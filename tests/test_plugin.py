"""The pytest plugin, used as a user would: a fresh project, run by pytester."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"
USER_PROJECT = [
    EXAMPLES / "flask_app.py",
    EXAMPLES / "fastapi_app.py",
    EXAMPLES / "testing" / "conftest.py",
    EXAMPLES / "testing" / "test_flask_app.py",
    EXAMPLES / "testing" / "test_fastapi_app.py",
    EXAMPLES / "flask_v2_app.py",
    EXAMPLES / "fastapi_v2_app.py",
    EXAMPLES / "testing" / "test_flask_v2_app.py",
    EXAMPLES / "testing" / "test_fastapi_v2_app.py",
]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A fresh project holding the documented example app and its tests."""
    for source in USER_PROJECT:
        shutil.copy(source, pytester.path / source.name)
    return pytester


def test_documented_user_tests_pass(project: pytest.Pytester) -> None:
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=15)  # 8 for the v1 apps, 7 for the v2 ones


@pytest.mark.parametrize(
    ("app", "change", "failing"),
    [
        (  # the Flask v2 app answers a text with the wrong words
            "flask_v2_app.py",
            ('text=f"Got it: {event.message.text}"', 'text="Thanks!"'),
            "*test_a_text_is_answered_through_the_messaging_api*",
        ),
        (  # the FastAPI v2 app forgets to ask Bandwidth for the call back
            "fastapi_v2_app.py",
            ("calls_api().create_call(", "(lambda *_: None)("),
            "*test_pressing_1_calls_the_caller_back*",
        ),
    ],
)
def test_a_misbehaving_v2_handler_fails_its_documented_test(
    project: pytest.Pytester, app: str, change: tuple[str, str], failing: str
) -> None:
    source = project.path / app
    text = source.read_text()
    assert change[0] in text
    source.write_text(text.replace(*change))
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=14, failed=1)
    result.stdout.fnmatch_lines([failing])


def test_a_failing_user_test_fails(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_wrong="""
        import pytest
        import flask_app

        @pytest.fixture
        def bwhooks_app():
            return flask_app.create_app()

        def test_expects_the_wrong_greeting(bw_client, bw_fake):
            assert b"Goodbye" in bw_client.send(bw_fake("v1:answer")).body
    """
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=15, failed=1)
    result.stdout.fnmatch_lines(["*test_expects_the_wrong_greeting*"])


def test_bw_client_without_the_app_fixture_says_what_is_missing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_it(bw_client):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*needs a `bwhooks_app` fixture*"])


def test_marker_is_registered_and_the_plugin_is_inert(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_plain():
            assert 1 + 1 == 2
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=1)
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.bwhooks(path=*"])
    fixtures = pytester.runpytest("--fixtures")
    for fixture in ("bw_fake", "bw_client", "bandwidth_api", "bandwidth_api_v2", "numbers_api"):
        fixtures.stdout.fnmatch_lines([f"{fixture} -- *"])  # each listed, in any order


def test_plugin_imports_pytest_httpserver_only_when_used() -> None:
    code = "import sys, bwhooks.testing.plugin; assert 'pytest_httpserver' not in sys.modules"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
