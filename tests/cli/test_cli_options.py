"""Options dbt and Airflow users reach for: --version, several selectors after one -s,
exit codes as documented, and one clear line for a mistyped quarantine action."""

from __future__ import annotations

from importlib.metadata import version

from headwater.testing.cli import invoke, write_project


def _shop(tmp_path):
    root = tmp_path / "shop"
    assert invoke("init", str(root)).exit_code == 0
    return root


def test_version_prints_the_installed_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"headwater {version('headwater')}"


def test_several_values_after_one_select_or_exclude(tmp_path):
    root = _shop(tmp_path)
    spread = invoke("graph", "-p", str(root), "-s", "customers", "orders", "-x", "orders")
    repeated = invoke("graph", "-p", str(root), "-s", "customers", "-s", "orders", "-x", "orders")
    assert spread.exit_code == 0, spread.output
    assert spread.stdout == repeated.stdout == "raw.customers [source]\n"
    both = invoke("graph", "-p", str(root), "-s", "customers", "orders")
    assert both.stdout.splitlines() == ["raw.customers [source]", "raw.orders [source]"]
    result = invoke("run", "-p", str(root), "-s", "customers", "orders", "-x", "orders", "x")
    assert result.exit_code == 2 and "'x' matches nothing" in result.stderr
    result = invoke("run", "-s", "customers", "orders", "-p", str(root))
    assert result.exit_code == 0, result.output
    assert "2 success" in result.stdout
    checked = invoke("check", "-s", "customers", "orders", "-p", str(root))
    assert checked.exit_code == 0, checked.output


def test_spread_values_repeats_the_option_for_each_word():
    from headwater.cli.options import spread_values

    assert spread_values(["-s", "a", "b", "-t", "2", "--exclude", "c", "d"]) == [
        "-s", "a", "-s", "b", "-t", "2", "--exclude", "c", "--exclude", "d",
    ]  # fmt: skip
    assert spread_values(["-s", "a", "--", "b"]) == ["-s", "a", "--", "b"]


def test_project_errors_exit_2(tmp_path):
    root = _shop(tmp_path)
    cases = [
        (["run", "--pipeline", "nope"], "no pipeline 'nope'"),
        (["run", "-s", "nope"], "selection 'nope' matches nothing"),
        (["graph", "-f", "svg"], "svg"),
        (["loads", "nope"], "no source asset 'nope'"),
        (["runs", "-f", "yaml"], "unknown format 'yaml'"),
        (["quarantine", "nope"], "no source asset 'nope'"),
    ]
    for args, message in cases:
        result = invoke(*args, "-p", str(root))
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.output


def test_a_mistyped_quarantine_action_is_named(tmp_path):
    root = _shop(tmp_path)
    invoke("run", "-p", str(root))
    result = invoke("quarantine", "relase", "orders", "-p", str(root))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: unknown action 'relase' (did you mean release?); usage: headwater quarantine"
    )
    assert invoke("quarantine", "release", "-p", str(root)).exit_code == 2  # needs an ASSET
    shown = invoke("quarantine", "show", "orders", "-p", str(root))
    assert shown.exit_code == 0, shown.output


def test_discover_without_wildcard_sources_says_so(tmp_path):
    root = write_project(tmp_path / "p", {"headwater.toml": ""})
    result = invoke("discover", "-p", str(root))
    assert result.exit_code == 0
    assert result.stdout.strip() == (
        'no source takes every table of its connection (tables = ["*"]): nothing to list'
    )
