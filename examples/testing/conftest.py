"""Your project's conftest.py: which credentials bwhooks' ``bw_client`` fixture sends."""

import os

import pytest

os.environ.setdefault("BWHOOKS_CREDENTIALS", "test-user:test-pass")  # before the apps import


@pytest.fixture
def bwhooks_credentials() -> tuple[str, str]:
    return ("test-user", "test-pass")


@pytest.fixture
def bandwidth_v2(bandwidth_api_v2, monkeypatch: pytest.MonkeyPatch):
    """The fake v2 REST API, with the environment the v2 example apps read it from."""
    api = bandwidth_api_v2
    monkeypatch.setenv("BANDWIDTH_API_URL", api.url)
    monkeypatch.setenv("BANDWIDTH_TOKEN_URL", api.token_url)
    monkeypatch.setenv("BANDWIDTH_CLIENT_ID", api.client_id)
    monkeypatch.setenv("BANDWIDTH_CLIENT_SECRET", api.client_secret)
    monkeypatch.setenv("BANDWIDTH_ACCOUNT_ID", api.account_id)
    monkeypatch.setenv("BANDWIDTH_APPLICATION_ID", "93de2206-9669-4e07-948d-329f4b722ee2")
    return api
