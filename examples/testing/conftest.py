"""Your project's conftest.py: which credentials bwhooks' ``bw_client`` fixture sends."""

import os

import pytest

os.environ.setdefault("BWHOOKS_CREDENTIALS", "test-user:test-pass")  # before the apps import


@pytest.fixture
def bwhooks_credentials() -> tuple[str, str]:
    return ("test-user", "test-pass")
