"""``headwater.read``: a model as Arrow, pandas or polars, in-process (read-only) and through
a live server (``GET /api/read/{asset}``, Arrow IPC) alike; columns, where and limit;
refusals in one line. Also the docs' scikit-learn recipe, up to the model's fit (sklearn
is no dependency: the recipe's data preparation is what is tested here)."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import headwater
from headwater.errors import HeadwaterError
from headwater.server.client import connect

HEADWATER = str(Path(sys.executable).parent / "headwater")
MODEL = """-- headwater:
--   materialized: table
select range as customer_id, 'c' || range as name, range * 1.5 as spend,
       (range % 3 = 0) as churned, timestamp '2026-01-01 00:00:00' + to_days(range::int) as seen
from range(1000)
"""
FORMATS = ["arrow", "pandas"] + (["polars"] if importlib.util.find_spec("polars") else [])


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from headwater.testing.cli import invoke, write_project

    folder = write_project(
        tmp_path_factory.mktemp("read") / "p",
        {"headwater.toml": "", "models/marts/customer_features.sql": MODEL},
    )
    assert invoke("run", "-p", str(folder)).exit_code == 0
    return folder


@pytest.fixture(scope="module")
def in_process(root: Path) -> dict[str, Any]:
    """Every format, read before any server runs."""
    return {fmt: headwater.read("marts.customer_features", fmt, project=root) for fmt in FORMATS}


def _served(root: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [HEADWATER, "server", "-p", str(root), "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    state = root / ".headwater" / "server.json"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if json.loads(state.read_text())["pid"] == proc.pid and connect(root):
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        else:
            raise AssertionError("the server did not start")
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


@pytest.fixture(scope="module")
def server(root: Path, in_process: dict[str, Any]) -> Iterator[subprocess.Popen[str]]:
    yield from _served(root)


def _same(a: Any, b: Any, fmt: str) -> None:
    if fmt == "arrow":
        assert a.equals(b)
        assert a.schema == b.schema
    elif fmt == "pandas":
        import pandas.testing

        pandas.testing.assert_frame_equal(a, b)
    else:
        assert a.equals(b)


@pytest.mark.parametrize("fmt", FORMATS)
def test_through_the_server_equals_in_process(
    root: Path, in_process: dict[str, Any], server: Any, fmt: str
) -> None:
    local = in_process[fmt]
    assert len(local) == 1000
    served = headwater.read("marts.customer_features", fmt, project=root)
    _same(served, local, fmt)


def test_the_server_holds_the_warehouse_and_read_still_answers(root: Path, server: Any) -> None:
    from headwater.api.read import read_table
    from headwater.errors import WarehouseBusy

    with pytest.raises(WarehouseBusy):  # in-process the file is the server's
        read_table(root, "marts.customer_features")
    table = headwater.read(
        "customer_features",
        project=root,
        columns=["customer_id", "spend"],
        where="churned and customer_id < 30",
        limit=5,
    )
    assert table.column_names == ["customer_id", "spend"]
    assert table.column("customer_id").to_pylist() == [0, 3, 6, 9, 12]


def test_columns_where_and_limit(root: Path) -> None:
    table = headwater.read(
        "customer_features",
        "arrow",
        project=root,
        columns=["customer_id", "churned"],
        where="customer_id >= 990",
        limit=3,
    )
    assert isinstance(table, pa.Table)
    assert table.to_pylist() == [
        {"customer_id": 990, "churned": True},
        {"customer_id": 991, "churned": False},
        {"customer_id": 992, "churned": False},
    ]


def test_refusals_are_one_line(root: Path) -> None:
    with pytest.raises(
        HeadwaterError, match=r"no model or source 'marts.customer_featurez'.*did you mean"
    ):
        headwater.read("marts.customer_featurez", project=root)
    with pytest.raises(HeadwaterError, match="as_ must be one of arrow, pandas, polars"):
        headwater.read("customer_features", "excel", project=root)
    with pytest.raises(HeadwaterError):  # one statement only: no way out of the filter
        headwater.read(
            "customer_features", project=root, where="true; drop table marts.customer_features"
        )


def test_the_docs_recipe_prepares_features_and_labels(root: Path) -> None:
    """docs/serving.md's recipe up to ``pipeline.fit(X, y)`` (scikit-learn is not installed
    here, and no dependency): the frame read, the features and the label split."""
    frame = headwater.read(
        "marts.customer_features",
        "pandas",
        project=root,
        columns=["customer_id", "spend", "churned"],
    )
    X = frame.drop(columns=["customer_id", "churned"])
    y = frame["churned"]
    assert list(X.columns) == ["spend"] and len(X) == len(y) == 1000
    assert y.dtype == bool and int(y.sum()) == 334
    if importlib.util.find_spec("sklearn") is not None:  # the rest of the recipe, if it can
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
        assert len(model.predict(X)) == 1000
