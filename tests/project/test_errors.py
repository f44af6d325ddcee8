"""User mistakes in a project get one located line and a documented exit code."""

from __future__ import annotations

import itertools

from headwater.testing.cli import invoke

SOURCE = '[sources.orders]\nfiles = "data/orders.csv"\n'
DATA = {"data/orders.csv": "id,amount\n1,2\n"}


def test_bad_toml_names_file_and_line(project_dir):
    root = project_dir({"headwater.toml": '[project]\nname = "x"\n\n[sources.a\nfiles="x"\n'})
    result = invoke("graph", "-p", str(root))
    assert result.exit_code == 2
    assert f"{root / 'headwater.toml'}:4" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_setting_is_located(project_dir):
    root = project_dir({"headwater.toml": SOURCE + 'wrtie = "merge"\n', **DATA})
    result = invoke("graph", "-p", str(root))
    assert result.exit_code == 2
    assert "headwater.toml:6: sources.orders.wrtie: unknown setting" in result.stderr


def test_bad_yaml_sidecar_names_file_and_line(project_dir):
    root = project_dir(
        {
            "headwater.toml": SOURCE,
            **DATA,
            "models/staging/stg.sql": "select * from raw.orders",
            "models/staging/stg.yml": "materialized: table\ntags: [a, b\n",
        }
    )
    result = invoke("graph", "-p", str(root))
    assert result.exit_code == 2
    assert "stg.yml:3" in result.stderr or "stg.yml:2" in result.stderr
    assert "invalid YAML" in result.stderr


def test_bad_sidecar_value_is_located(project_dir):
    root = project_dir(
        {
            "headwater.toml": SOURCE,
            **DATA,
            "models/staging/stg.sql": "select * from raw.orders",
            "models/staging/stg.yml": "description: x\nmaterialized: tabel\n",
        }
    )
    result = invoke("graph", "-p", str(root))
    assert result.exit_code == 2
    assert "stg.yml:2: materialized" in result.stderr


def test_sql_syntax_error_names_line_and_column(project_dir):
    root = project_dir(
        {
            "headwater.toml": SOURCE,
            **DATA,
            "models/staging/stg.sql": "-- a comment\nselect id,\n  amount\nfrm raw.orders\n",
        }
    )
    result = invoke("graph", "-p", str(root))
    assert result.exit_code == 2
    assert f"{root / 'models/staging/stg.sql'}:4:" in result.stderr


def test_unknown_asset_suggests_closest(project_dir):
    root = project_dir(
        {
            "headwater.toml": SOURCE,
            **DATA,
            "models/staging/stg.sql": "select * from raw.ordrs",
        }
    )
    result = invoke("graph", "-p", str(root))
    assert result.exit_code == 2
    assert (
        "stg.sql:1: staging.stg reads unknown asset 'raw.ordrs'; closest: raw.orders"
        in result.stderr
    )


def test_cycle_is_printed(project_dir):
    root = project_dir(
        {
            "headwater.toml": SOURCE,
            **DATA,
            "models/m/a.sql": "select * from b",
            "models/m/b.sql": "select * from c",
            "models/m/c.sql": "select * from a",
        }
    )
    result = invoke("graph", "-p", str(root))
    assert result.exit_code == 2
    assert "dependency cycle:" in result.stderr
    line = result.stderr.split("dependency cycle:")[1].strip()
    nodes = [n.strip() for n in line.split("->")]
    assert nodes[0] == nodes[-1] and sorted(set(nodes)) == ["m.a", "m.b", "m.c"]
    # each arrow is a real edge: x -> y means y reads x
    edges = {("m.c", "m.b"), ("m.b", "m.a"), ("m.a", "m.c")}  # b reads c, a reads b, c reads a
    assert all((x, y) in edges for x, y in itertools.pairwise(nodes))


def test_missing_env_secret_names_variable_not_value(project_dir, monkeypatch):
    monkeypatch.delenv("HW_TEST_MISSING", raising=False)
    root = project_dir(
        {
            "headwater.toml": '[connections.db]\nurl = "sqlite:///${HW_TEST_MISSING}"\n'
            '[sources.db]\nconnection = "db"\ntables = ["t"]\n',
        }
    )
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 5
    assert "HW_TEST_MISSING is not set" in result.output


def test_no_project_file(tmp_path):
    result = invoke("graph", "-p", str(tmp_path))
    assert result.exit_code == 2
    assert "no headwater.toml" in result.stderr


def test_unknown_connection_suggests(project_dir):
    root = project_dir(
        {
            "headwater.toml": '[connections.europe]\nurl = "sqlite:///x.db"\n'
            '[sources.eu]\nconnection = "eurpe"\ntables = ["t"]\n',
        }
    )
    result = invoke("graph", "-p", str(root))
    assert result.exit_code == 2
    assert "unknown connection 'eurpe' (did you mean europe?)" in result.stderr


def test_a_secret_that_contains_another_is_redacted_whole(monkeypatch):
    """Two ${ENV} secrets, one inside the other: the longer is masked whole, so no part of
    it is left beside the mask."""
    from headwater.config import secrets

    # a list, not the set: the shorter secret first, whatever the set's hash order would be
    monkeypatch.setattr(secrets, "_known_secrets", ["t0ken", "t0ken-and-more"])
    assert secrets.redact_text("failed with t0ken-and-more") == "failed with ***"
