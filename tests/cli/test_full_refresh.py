"""`headwater run --full-refresh`: sources reload from scratch (their incremental state
forgotten), incremental models rebuild whole, after a confirmation; a failed reload keeps
the old table and the old state together."""

from __future__ import annotations

import io
import sys

from headwater.testing.cli import invoke, query_warehouse, write_project

TOML = """
[sources.orders]
files = "data/*.csv"
primary_key = ["id"]
write = "append"
cursor = "updated_at"
"""
MODEL = """-- headwater:
--   materialized: incremental
--   unique_key: [id]
select id, amount from orders
"""


def _project(tmp_path, toml=TOML):
    return write_project(
        tmp_path / "p",
        {
            "headwater.toml": toml,
            "data/a.csv": "id,amount,updated_at\n1,10,2026-01-01\n2,20,2026-01-01\n",
            "data/b.csv": "id,amount,updated_at\n3,30,2026-01-02\n",
            "models/marts/order_totals.sql": MODEL,
        },
    )


def _ids(root, table):
    return [r[0] for r in query_warehouse(root, f"select id::int from {table} order by 1")]


def test_full_refresh_reloads_sources_and_rebuilds_incremental_models(tmp_path):
    root = _project(tmp_path)
    assert invoke("run", "-p", str(root)).exit_code == 0
    (root / "data/b.csv").unlink()  # gone from the source: an incremental run keeps its rows
    (root / "data/a.csv").write_text("id,amount,updated_at\n1,10,2026-01-01\n")
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert _ids(root, "raw.orders") == [1, 1, 2, 3]  # a.csv changed: read again, appended
    assert _ids(root, "marts.order_totals") == [1, 1, 2, 3]

    result = invoke("run", "--full-refresh", "--yes", "-p", str(root))
    assert result.exit_code == 0, result.output
    assert _ids(root, "raw.orders") == [1]
    assert _ids(root, "marts.order_totals") == [1]
    # the state is the new one: a plain run afterwards finds nothing new
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert _ids(root, "raw.orders") == [1]


def test_full_refresh_off_a_terminal_needs_yes(tmp_path):
    root = _project(tmp_path)
    invoke("run", "-p", str(root))
    (root / "data/b.csv").unlink()
    result = invoke("run", "--full-refresh", "-p", str(root))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--yes" in lines[0]
    assert "raw.orders" in lines[0] and "marts.order_totals" in lines[0]  # names what resets
    assert _ids(root, "raw.orders") == [1, 2, 3]  # nothing ran


def test_full_refresh_only_resets_the_selection(tmp_path):
    toml = TOML + '\n[sources.other]\nfiles = "more/*.csv"\nwrite = "append"\n'
    root = _project(tmp_path, toml)
    (root / "more").mkdir()
    (root / "more/x.csv").write_text("id\n7\n")
    invoke("run", "-p", str(root))
    (root / "data/b.csv").unlink()
    (root / "more/x.csv").unlink()
    (root / "more/y.csv").write_text("id\n8\n")
    result = invoke("run", "--full-refresh", "-y", "-s", "orders", "other", "-p", str(root))
    assert result.exit_code == 0, result.output
    assert _ids(root, "raw.orders") == [1, 2]
    assert _ids(root, "raw.other") == [8]
    invoke("run", "--full-refresh", "-y", "-s", "orders", "-p", str(root))
    (root / "more/z.csv").write_text("id\n9\n")
    invoke("run", "-s", "other", "-p", str(root))
    assert _ids(root, "raw.other") == [8, 9]  # its state untouched by the refresh of orders


def test_a_failed_full_refresh_keeps_the_old_table_and_state(tmp_path):
    """The table is dropped inside the load's transaction: when the reload fails (here
    its check refuses it), the old rows and the old state both stay."""
    toml = TOML + '\n[[sources.orders.checks]]\ntype = "row_count"\nmin = 3\n'
    root = _project(tmp_path, toml)
    assert invoke("run", "-p", str(root)).exit_code == 0
    (root / "data/b.csv").unlink()
    result = invoke("run", "--full-refresh", "--yes", "-p", str(root))
    assert result.exit_code == 5, result.output
    assert _ids(root, "raw.orders") == [1, 2, 3]
    # the state still marks a.csv as loaded: a plain run reads nothing again
    assert invoke("run", "-s", "orders", "-p", str(root)).exit_code == 0
    assert _ids(root, "raw.orders") == [1, 2, 3]


class _Terminal(io.StringIO):
    """Standard input as a terminal a user types ``answer`` into."""

    def isatty(self):
        return True


def test_full_refresh_asks_on_a_terminal(tmp_path, monkeypatch):
    root = _project(tmp_path)
    invoke("run", "-p", str(root))
    (root / "data/b.csv").unlink()
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    refused = invoke("run", "--full-refresh", "-p", str(root))
    assert refused.exit_code == 1
    assert "reload 1 source from scratch (raw.orders)" in refused.output
    assert _ids(root, "raw.orders") == [1, 2, 3]
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    assert invoke("run", "--full-refresh", "-p", str(root)).exit_code == 0
    assert _ids(root, "raw.orders") == [1, 2]
