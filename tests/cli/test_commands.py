"""The CLI end to end on the scaffolded project: init, run, graph, query, runs, show."""

from __future__ import annotations

import json
import subprocess
import sys

from headwater.testing.cli import invoke


def test_init_project_runs_and_answers(tmp_path):
    root = tmp_path / "shop"
    assert invoke("init", str(root)).exit_code == 0
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 0, result.output
    assert "5 success" in result.stdout
    query = invoke(
        "query",
        "select name, revenue from marts.revenue_by_customer order by name",
        "-p",
        str(root),
        "-f",
        "json",
    )
    assert json.loads(query.stdout) == [
        {"name": "Ada", "revenue": "15.75"},
        {"name": "Grace", "revenue": "7.00"},
    ]
    sizes = invoke(
        "query",
        "select large, orders from marts.order_sizes order by 1",
        "-p",
        str(root),
        "-f",
        "csv",
    )
    assert sizes.stdout.splitlines() == ["large,orders", "False,1", "True,2"]
    runs = invoke("runs", "-p", str(root))
    assert "success" in runs.stdout
    assert invoke("init", str(root)).exit_code == 1  # refuses to overwrite


def test_graph_formats_and_pipeline(tmp_path):
    root = tmp_path / "shop"
    invoke("init", str(root))
    text = invoke("graph", "-p", str(root), "-s", "+revenue_by_customer")
    assert (
        text.stdout.splitlines()[-1]
        == "marts.revenue_by_customer [table]  <- raw.customers, staging.stg_orders"
    )
    assert invoke("graph", "-p", str(root), "-f", "mermaid").stdout.startswith("graph LR")
    assert invoke("graph", "-p", str(root), "-f", "svg").exit_code == 2  # a usage mistake
    piped = invoke("run", "-p", str(root), "--pipeline", "daily")
    assert piped.exit_code == 0 and "4 success" in piped.stdout  # order_sizes is not in it
    assert invoke("run", "-p", str(root), "--pipeline", "nope").exit_code == 2


def test_task_receives_context_and_writes_outside_warehouse(tmp_path):
    root = tmp_path / "shop"
    invoke("init", str(root))
    (root / "python/export.py").write_text(
        "from headwater import task\n\n"
        "@task(depends_on=['revenue_by_customer'])\n"
        "def export(ctx):\n"
        "    rel = ctx.query('select * from marts.revenue_by_customer order by name')\n"
        "    rel.write_csv(str(ctx.path('revenue.csv')))\n"
    )
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert (root / "out/revenue.csv").read_text().splitlines()[0] == "name,revenue,orders"


def test_query_is_read_only(tmp_path):
    root = tmp_path / "shop"
    invoke("init", str(root))
    invoke("run", "-p", str(root))
    result = invoke("query", "drop table marts.revenue_by_customer", "-p", str(root))
    assert result.exit_code == 4 and "read-only" in result.stderr


def test_query_prints_instants_in_utc_and_reports_errors_in_one_line(tmp_path):
    root = tmp_path / "shop"
    invoke("init", str(root))
    invoke("run", "-p", str(root))
    # every loaded row has a TIMESTAMP WITH TIME ZONE column (_hw_loaded_at)
    result = invoke(
        "query", "select * from raw.customers order by 1", "-p", str(root), "-f", "json"
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and all(row["_hw_loaded_at"].endswith("+00:00") for row in rows)
    table = invoke("query", "select timestamptz '2026-01-02 03:04:05+02' as t", "-p", str(root))
    assert "2026-01-02 01:04:05+00:00" in table.stdout
    # a SELECT that fails while it runs (not while it is parsed)
    bad = invoke("query", "select cast(name as integer) from raw.customers", "-p", str(root))
    assert bad.exit_code == 4
    assert bad.stderr.strip().startswith("error: query failed: Conversion Error")
    assert "Traceback" not in bad.output


def test_import_is_light_and_side_effect_free(tmp_path):
    code = (
        "import sys, headwater; heavy = [m for m in ('duckdb', 'pyarrow', 'sqlglot', 'pydantic', "
        "'sqlalchemy', 'rich', 'typer') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_model_only_run_loads_only_what_it_uses(tmp_path):
    """`headwater run` on SQL models alone leaves pyarrow, the sources, the quality modules
    and Alembic unimported (each costs start-up time on every run)."""
    root = tmp_path / "p"
    (root / "models" / "staging").mkdir(parents=True)
    (root / "headwater.toml").write_text('[project]\nname = "p"\n')
    (root / "models" / "staging" / "a.sql").write_text("select 1 as x")
    (root / "models" / "staging" / "b.sql").write_text("select * from a")
    code = (
        "import sys\nfrom headwater.testing.cli import invoke\n"
        f"assert invoke('run', '-p', {str(root)!r}).exit_code == 0\n"
        "print([m for m in ('pyarrow', 'headwater.sources', 'headwater.quality', 'alembic') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_loads_lists_what_each_load_brought(tmp_path):
    root = tmp_path / "shop"
    invoke("init", str(root))
    invoke("run", "-p", str(root))
    (root / "data/orders/2026-01-04.csv").write_text(
        "id,customer_id,amount,updated_at\n13,2,1.00,2026-01-04\n"
    )
    invoke("run", "-p", str(root))
    result = invoke("loads", "orders", "-p", str(root))
    assert result.exit_code == 0
    lines = [ln for ln in result.stdout.splitlines() if "raw.orders" in ln]
    assert len(lines) == 2
    cells = [[c.strip() for c in ln.split("│")] for ln in lines]
    assert [c[4] for c in cells] == ["1", "3"]  # newest first: rows read
    assert int(cells[0][1]) > int(cells[1][1])  # load ids increase
    assert cells[0][3] != cells[1][3] and all(c[3] for c in cells)  # each names its run


def test_usage_errors_are_one_line_and_exit_2(tmp_path):
    """A mistyped option or command is the user's: click's usage and one error line naming
    it, no traceback."""
    cases = [
        (["run", "--bogus", "-p", str(tmp_path)], "No such option: --bogus"),
        (["run", "-t", "0", "-p", str(tmp_path)], "Invalid value for '-t' / '--threads'"),
        (["rnu"], "No such command 'rnu'"),
    ]
    for args, message in cases:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.output
