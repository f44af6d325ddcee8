"""REST sources under auth, throttling and failures, against a real HTTP server on
127.0.0.1: every auth kind, 429 + Retry-After and 503 retried, OAuth2 tokens fetched again
when refused, and each failure one line naming source, endpoint and HTTP status (exit code
3 or 4), with no secret in it or in the logs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from headwater.config.rest import RestSettings
from headwater.errors import ConnectionError_, SourceError
from headwater.project import load_project
from headwater.runtime import run
from headwater.sources.rest.client import RestClient
from headwater.sources.rest.read import Window, read_endpoint
from headwater.testing.cli import query_warehouse as warehouse
from headwater.testing.rest_api import RestApi, make_orders
from headwater.testing.servers import free_port

SECRET = "tok-3f9a-SECRET-value"
PAGING = '{ type = "page_number", size_param = "per_page", size = 5 }'
AUTH = {
    "bearer": ('{ type = "bearer", token = "${REST_SECRET}" }', ("bearer", SECRET)),
    "basic": (
        '{ type = "basic", username = "ann", password = "${REST_SECRET}" }',
        ("basic", f"ann:{SECRET}"),
    ),
    "api_key_header": ('{ type = "api_key", key = "${REST_SECRET}" }', ("api_key", SECRET)),
    "api_key_query": (
        '{ type = "api_key", key = "${REST_SECRET}", name = "api_key", location = "query" }',
        ("api_key", SECRET),
    ),
    "oauth2": (
        '{ type = "oauth2", token_url = "BASE/oauth/token", client_id = "app", '
        'client_secret = "${REST_SECRET}" }',
        ("oauth2", f"app:{SECRET}"),
    ),
}


def project(project_dir: Any, url: str, rest: str, name: str = "proj") -> Path:
    toml = f"""
[sources.shop]
primary_key = "id"
[sources.shop.rest]
base_url = "{url}"
paginate = {PAGING}
backoff = 0.01
{rest}
[sources.shop.rest.endpoints.orders]
path = "/orders"
records = "data"
"""
    return Path(project_dir({"headwater.toml": toml.replace("BASE", url)}, name=name))


def outcome(root: Path) -> Any:
    return run(load_project(root)).steps["raw.shop_orders"]


def logs(root: Path) -> str:
    """Every log the project's runs wrote (run.log and each step's)."""
    folder = load_project(root).logs_dir
    return "".join(p.read_text() for p in sorted(folder.rglob("*.log")))


@pytest.mark.parametrize("kind", sorted(AUTH))
def test_each_auth_kind_loads_and_a_wrong_secret_fails_in_one_line(
    project_dir, monkeypatch, caplog, kind
):
    caplog.set_level(logging.DEBUG)
    declared, server_auth = AUTH[kind]
    with RestApi(make_orders(12), auth=server_auth) as api:
        monkeypatch.setenv("REST_SECRET", SECRET)
        root = project(project_dir, api.url, f"auth = {declared}")
        ok = outcome(root)
        assert ok.status == "success", ok.error
        assert warehouse(root, "select count(distinct id) from raw.shop_orders") == [(12,)]
        monkeypatch.setenv("REST_SECRET", "wrong-secret-value")
        bad = project(project_dir, api.url, f"auth = {declared}", "bad")
        failed = outcome(bad)
    error = failed.error or ""
    assert failed.status == "failed" and len(error.splitlines()) == 1
    assert "source 'shop'" in error and "HTTP 401" in error
    if kind != "oauth2":  # a refused client is refused at the token URL
        assert "endpoint 'orders'" in error
    for text in (error, caplog.text, logs(root), logs(bad)):
        assert SECRET not in text and "wrong-secret-value" not in text
        assert all(token not in text for token in api.tokens)


def test_an_expired_oauth2_token_is_fetched_again(project_dir, monkeypatch, caplog):
    """Each token is refused after 2 requests: the source fetches a new one after each 401
    (once per request) and every record loads once; no token reaches the logs."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("REST_SECRET", SECRET)
    with RestApi(make_orders(23), auth=("oauth2", f"app:{SECRET}"), token_uses=2) as api:
        root = project(project_dir, api.url, f"auth = {AUTH['oauth2'][0]}")
        step = outcome(root)
        assert step.status == "success", step.error
    assert warehouse(root, "select count(*), count(distinct id) from raw.shop_orders") == [(23, 23)]
    token_calls = [t for _, t in api.log if t == "/oauth/token"]
    assert len(token_calls) == 3 and len(api.tokens) == 3  # 5 pages, 2 per token
    assert [s for s, t in api.log if t != "/oauth/token"].count(401) == 2
    assert "HTTP 401, fetching a new token" in logs(root)
    for text in (caplog.text, logs(root)):
        assert SECRET not in text and all(token not in text for token in api.tokens)


def test_throttling_and_transient_failures_are_retried(project_dir):
    """Requests 1 and 2 get 503, every 4th 429 with Retry-After: 0.3 s. The load waits
    as told, and the table holds every record once."""
    with RestApi(
        make_orders(23), throttle_every=4, retry_after="0.3", fail=frozenset({1, 2})
    ) as api:
        root = project(project_dir, api.url, "")
        started = time.monotonic()
        step = outcome(root)
        took = time.monotonic() - started
    assert step.status == "success", step.error
    assert warehouse(root, "select count(*), count(distinct id) from raw.shop_orders") == [(23, 23)]
    statuses = [s for s, _ in api.log]
    assert statuses.count(503) == 2 and statuses.count(429) == 2
    assert statuses.count(200) == 5
    assert took >= 0.6  # two Retry-After waits of 0.3 s
    assert "endpoint 'orders': 429, retrying in 0.30 s" in logs(root)
    assert "endpoint 'orders': 503, retrying in 0.01 s" in logs(root)


def test_requests_per_second_cap(project_dir):
    with RestApi(make_orders(23)) as api:
        root = project(project_dir, api.url, "requests_per_second = 10")
        started = time.monotonic()
        assert outcome(root).status == "success"
        took = time.monotonic() - started
    assert len(api.log) == 5 and took >= 0.4  # 5 requests: 4 gaps of 0.1 s at least


def _settings(url: str, path: str = "/orders", **extra: Any) -> RestSettings:
    endpoints = {"orders": {"path": path, "records": "data"}}
    return RestSettings.model_validate(
        {"base_url": url, "backoff": 0.01, "endpoints": endpoints, **extra}
    )


def _read(settings: RestSettings) -> Any:
    client = RestClient(settings, source="shop", log=logging.getLogger("test"))
    try:
        return read_endpoint(client, settings, "orders", primary_key=["id"], window=Window())
    finally:
        client.close()


def test_an_unreachable_api_is_a_connection_error_after_the_retries():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ConnectionError_) as caught:
        _read(_settings(url, retries=2))
    error = str(caught.value)
    assert caught.value.exit_code == 3 and len(error.splitlines()) == 1
    assert error.startswith("source 'shop' endpoint 'orders': ConnectError after 3 attempts")


def test_a_persistent_5xx_is_a_source_error_naming_the_status():
    with (
        RestApi(make_orders(3), fail=frozenset(range(1, 10))) as api,
        pytest.raises(SourceError) as caught,
    ):
        _read(_settings(api.url, retries=2))
    assert caught.value.exit_code == 4
    assert str(caught.value) == (
        f"source 'shop' endpoint 'orders': HTTP 503 Service Unavailable from GET {api.url}/orders"
    )
    assert len(api.log) == 3


def test_an_api_key_in_the_query_is_redacted_from_the_error(monkeypatch):
    monkeypatch.setenv("REST_SECRET", SECRET)
    with RestApi(make_orders(3)) as api:
        auth = {"type": "api_key", "key": "${REST_SECRET}", "name": "api_key", "location": "query"}
        settings = _settings(api.url, auth=auth, path="/nowhere")
        with pytest.raises(SourceError) as caught:
            _read(settings)
    error = str(caught.value)
    assert "HTTP 404" in error and SECRET not in error and "api_key=***" in error
