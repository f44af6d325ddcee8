"""Alerts from real runs to a real local webhook (http.server on 127.0.0.1) and a command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alert_hooks import webhook

from headwater.alerts import flush, send
from headwater.project import load_project
from headwater.runtime import run
from headwater.runtime.check_run import run_checks_now

GRAPH = {
    "models/s/base.sql": "select * from range(10) t(i)",
    "models/s/bad.sql": "select nosuchcolumn from base",
    "models/s/good.sql": "select count(*) as n from base",
}
SIDE = 'materialized: table\nchecks:\n  - type: expression\n    sql: "i < {limit}"\n'
CHECKED = {"models/s/base.sql": "select * from range(10) t(i)", "models/s/base.yml": SIDE}


def _toml(target: str, extra: str = "") -> str:
    return f"[alerts.ops]\n{target}\n{extra}"


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(send, "BACKOFF_S", 0.01)


def test_a_failing_run_posts_run_failed_to_the_webhook(project_dir) -> None:
    with webhook() as hook:
        root = project_dir({"headwater.toml": _toml(f'webhook = "{hook.url}"'), **GRAPH})
        result = run(load_project(root))
        assert result.status == "failed"
        assert flush(10)
    [payload] = hook.delivered
    assert payload["event"] == "run_failed"
    assert payload["project"] == "test"
    assert payload["run_id"] == result.run_id
    assert payload["status"] == "failed"
    assert payload["pipeline"] is None and payload["interval"] is None
    [step] = payload["failed_steps"]
    assert step["step"] == "s.bad" and step["status"] == "failed"
    assert "nosuchcolumn" in step["error"] and "\n" not in step["error"]
    assert payload["at"]


def test_a_run_that_succeeds_sends_nothing(project_dir) -> None:
    with webhook() as hook:
        graph = {k: v for k, v in GRAPH.items() if "bad" not in k}
        root = project_dir({"headwater.toml": _toml(f'webhook = "{hook.url}"'), **graph})
        assert run(load_project(root)).status == "success"
        assert flush(10)
    assert hook.bodies == []


def test_a_blocking_check_posts_check_failed_from_a_run_and_from_headwater_check(
    project_dir,
) -> None:
    with webhook() as hook:
        root = project_dir({"headwater.toml": _toml(f'webhook = "{hook.url}"'), **CHECKED})
        (root / "models/s/base.yml").write_text(SIDE.format(limit=100))
        assert run(load_project(root)).status == "success"  # built and published
        (root / "models/s/base.yml").write_text(SIDE.format(limit=5))
        project = load_project(root)
        result = run(project)
        assert result.steps["s.base"].status == "check_failed"
        checked = run_checks_now(project, None, [])
        assert not checked.ok
        assert flush(10)
    events = [(p["event"], p["run_id"]) for p in hook.delivered]
    assert events == [("check_failed", result.run_id), ("check_failed", checked.run_id)]
    for payload in hook.delivered:
        assert [s["step"] for s in payload["failed_steps"]] == ["s.base"]


def test_on_and_pipelines_choose_the_alerts_sent(project_dir) -> None:
    with webhook() as hook:
        toml = _toml(f'webhook = "{hook.url}"', 'on = ["check_failed"]\n')
        toml += f'[alerts.daily_only]\nwebhook = "{hook.url}"\npipelines = ["daily"]\n'
        root = project_dir({"headwater.toml": toml, **GRAPH})
        run(load_project(root))
        assert flush(10)
    assert hook.bodies == []


def test_a_command_alert_gets_the_json_on_its_stdin(project_dir, tmp_path: Path) -> None:
    out = tmp_path / "alert.json"
    root = project_dir({"headwater.toml": _toml(f"command = \"cat > '{out}'\""), **GRAPH})
    result = run(load_project(root))
    assert flush(10)
    payload = json.loads(out.read_text())
    assert (payload["event"], payload["run_id"]) == ("run_failed", result.run_id)


def test_a_webhook_answering_500_twice_is_retried_and_delivered_once(project_dir) -> None:
    with webhook(answers=[500, 500]) as hook:
        root = project_dir({"headwater.toml": _toml(f'webhook = "{hook.url}"'), **GRAPH})
        result = run(load_project(root))
        assert flush(10)
    assert len(hook.bodies) == 3
    assert [p["run_id"] for p in hook.delivered] == [result.run_id]
    run_log = (root / ".headwater/logs" / result.run_id / "run.log").read_text()
    assert "not delivered" not in run_log


def test_a_webhook_that_keeps_failing_is_one_line_in_run_log(project_dir) -> None:
    with webhook(answers=[500] * 10) as hook:
        root = project_dir({"headwater.toml": _toml(f'webhook = "{hook.url}"'), **GRAPH})
        result = run(load_project(root))
        assert flush(10)
    assert len(hook.bodies) == 1 + send.RETRIES
    run_log = (root / ".headwater/logs" / result.run_id / "run.log").read_text()
    lines = [ln for ln in run_log.splitlines() if "not delivered" in ln]
    assert len(lines) == 1
    assert "alerts.ops run_failed not delivered: webhook failed after 4 tries: HTTP 500" in lines[0]
    assert hook.url not in lines[0]


def test_a_slow_webhook_does_not_hold_the_run(project_dir) -> None:
    with webhook(hold=True) as hook:
        root = project_dir({"headwater.toml": _toml(f'webhook = "{hook.url}"'), **GRAPH})
        result = run(load_project(root))  # returns while the webhook has not answered
        assert hook.bodies == []
        hook.release.set()
        assert flush(10)
    assert [p["run_id"] for p in hook.delivered] == [result.run_id]


# a model whose error holds the connection's password
LEAKY = """
import os
from headwater import model

@model(materialized="table")
def leaky():
    raise RuntimeError("login refused for app:" + os.environ["HW_ALERT_TEST_PW"])
"""


def test_no_secret_reaches_the_payload(project_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "Pw-alert-7f3k9q"
    monkeypatch.setenv("HW_ALERT_TEST_PW", secret)
    toml = (
        "[connections.db]\n"
        'url = "postgresql://app:${HW_ALERT_TEST_PW}@127.0.0.1:1/shop?connect_timeout=2"\n'
        '[sources.orders]\nconnection = "db"\ntables = ["orders"]\n'
    )
    with webhook() as hook:
        files = {
            "headwater.toml": toml + _toml(f'webhook = "{hook.url}"'),
            "python/leaky.py": LEAKY,
        }
        result = run(load_project(project_dir(files)))
        assert result.status == "failed"
        assert "login refused" in (result.steps["marts.leaky"].error or "")
        assert flush(10)
    [body] = hook.bodies
    assert secret.encode() not in body
    steps = {s["step"]: s["error"] for s in json.loads(body)["failed_steps"]}
    assert set(steps) == {"raw.orders_orders", "marts.leaky"}
    assert "***" in steps["marts.leaky"]
