"""`-f json` on runs, show, check, loads and quarantine: one valid JSON document on stdout,
errors and samples whole; run kinds (run, retry, check) and retry parents in `runs`."""

from __future__ import annotations

import json

from headwater.testing.cli import invoke, write_project

TOML = """
[sources.orders]
files = "data/*.csv"
primary_key = ["id"]
write = "merge"

[[sources.orders.checks]]
type = "not_null"
column = "customer"
on_fail = "quarantine"
"""
ROWS = "id,customer,amount\n1,ada,10\n2,,20\n3,grace,30\n4,,40\n"
BOOM = (
    "import os\nfrom headwater import task\n\n@task(depends_on=['orders'])\n"
    "def boom(ctx):\n    if not os.path.exists(ctx.path('ok')):\n"
    "        raise ValueError('broken: ' + 'x' * 300)\n"
)


def _project(tmp_path):
    root = write_project(
        tmp_path / "p",
        {"headwater.toml": TOML, "data/a.csv": ROWS, "python/boom.py": BOOM},
    )
    return root


def _json(result):
    assert result.exit_code in (0, 5), result.output
    return json.loads(result.stdout)  # the whole stdout is one document


def test_runs_and_show_as_json_keep_errors_whole_and_name_retries(tmp_path):
    root = _project(tmp_path)
    failed = invoke("run", "-p", str(root))
    assert failed.exit_code == 5
    first = _json(invoke("runs", "-f", "json", "-p", str(root)))
    assert [(r["kind"], r["status"]) for r in first] == [("run", "failed")]
    run_id = first[0]["run_id"]
    shown = _json(invoke("show", run_id, "-f", "json", "-p", str(root)))
    assert shown["run"]["run_id"] == run_id
    errors = {s["step"]: s["error"] for s in shown["steps"]}
    assert "x" * 300 in errors["boom"]  # the table cuts it at 120 characters

    (root / "out").mkdir(exist_ok=True)
    (root / "out" / "ok").write_text("")
    assert invoke("retry", run_id, "-p", str(root)).exit_code == 0
    runs = _json(invoke("runs", "-f", "json", "-p", str(root)))
    assert [(r["kind"], r["parent_run_id"]) for r in runs] == [("retry", run_id), ("run", None)]
    table = invoke("runs", "-p", str(root)).stdout
    assert f"retry of {run_id}" in table


def test_check_is_a_check_run_and_its_json_keeps_samples_whole(tmp_path):
    root = _project(tmp_path)
    (root / "out").mkdir()
    (root / "out" / "ok").write_text("")
    assert invoke("run", "-p", str(root)).exit_code == 0
    text = (root / "headwater.toml").read_text()
    (root / "headwater.toml").write_text(
        text + '\n[[sources.orders.checks]]\ntype = "range"\ncolumn = "amount"\nmax = 5\n'
    )
    result = invoke("check", "-f", "json", "-p", str(root))
    assert result.exit_code == 5
    found = json.loads(result.stdout)
    assert found["ok"] is False
    (failed,) = [r for r in found["results"] if r["status"] == "fail"]
    assert failed["failing"] == 2 and len(failed["sample"]) == 2  # ada's 10 and grace's 30
    runs = _json(invoke("runs", "-f", "json", "-p", str(root)))
    assert runs[0]["run_id"] == found["run_id"] and runs[0]["kind"] == "check"
    table = invoke("runs", "-p", str(root)).stdout
    assert "checks failed" in table  # not "failed", as a run that broke the warehouse
    refused = invoke("retry", found["run_id"], "-p", str(root))
    assert refused.exit_code == 2 and "headwater check" in refused.stderr


def test_quarantine_and_loads_as_json_and_quarantined_rows(tmp_path):
    root = _project(tmp_path)
    invoke("run", "-p", str(root))
    summary = _json(invoke("quarantine", "-f", "json", "-p", str(root)))
    assert [(g["table"], g["rows"]) for g in summary["quarantined"]] == [("quarantine.orders", 2)]
    rows = _json(invoke("quarantine", "orders", "--rows", "-f", "json", "-p", str(root)))
    assert sorted(r["id"] for r in rows) == ["2", "4"]
    assert all(r["customer"] is None and "customer" in r["reason"] for r in rows)
    assert all(r["check"] for r in rows) and all(r["load_id"] for r in rows)
    limited = _json(
        invoke("quarantine", "orders", "--rows", "-n", "1", "-f", "json", "-p", str(root))
    )
    assert len(limited) == 1
    table = invoke("quarantine", "orders", "--rows", "-p", str(root))
    assert table.exit_code == 0 and "reason" in table.stdout
    loads = _json(invoke("loads", "orders", "-f", "json", "-p", str(root)))
    assert len(loads) == 1 and loads[0]["asset"] == "raw.orders"
