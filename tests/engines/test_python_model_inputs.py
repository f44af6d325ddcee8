"""A Python model's parameters receive what their annotations name (pyarrow.Table, pandas
or polars DataFrames, the engine's relation; no annotation: the relation), converted at the
engine seam; an annotation nothing matches is one line naming the file, model and parameter."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import query_warehouse, write_project

MODELS = """\
from __future__ import annotations

import pyarrow as pa

from headwater import model


def _kind(value) -> pa.Table:
    return pa.table({"n": [1, 2, 3], "kind": [type(value).__module__.split(".")[0]] * 3})


@model(materialized="table")
def numbers():
    return pa.table({"n": [1, 2, 3]})


@model(materialized="table")
def as_arrow(numbers: pa.Table):
    assert numbers.num_rows == 3
    return _kind(numbers)


@model(materialized="table")
def as_default(numbers):
    return _kind(numbers)


@model(materialized="table")
def as_pandas(numbers: "pandas.DataFrame"):
    return _kind(numbers)


@model(materialized="table")
def as_dict(numbers: dict):
    return _kind(numbers)
"""


def _line(text: str) -> int:
    """The line of MODELS declaring the model whose ``def`` starts with ``text``: its
    decorator's (1-based), where errors point."""
    return next(i for i, line in enumerate(MODELS.splitlines(), 1) if line.startswith(text)) - 1


def _run(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = write_project(tmp_path / "p", {"python/models.py": MODELS})
    return root, run(load_project(root))


def test_each_parameter_receives_the_type_it_is_annotated_with(tmp_path: Path) -> None:
    root, result = _run(tmp_path)
    assert result.steps["marts.as_arrow"].status == "success"
    kinds = dict(query_warehouse(root, "select 'arrow', kind from marts.as_arrow limit 1"))
    assert kinds == {"arrow": "pyarrow"}
    # no annotation: the engine's own relation, as before annotations were read
    [(default,)] = query_warehouse(root, "select distinct kind from marts.as_default")
    assert default in {"duckdb", "_duckdb"}


def test_pandas_is_received_when_installed_else_named_in_one_line(tmp_path: Path) -> None:
    root, result = _run(tmp_path)
    step = result.steps["marts.as_pandas"]
    if find_spec("pandas") is not None:
        assert step.status == "success"
        assert query_warehouse(root, "select distinct kind from marts.as_pandas") == [("pandas",)]
    else:
        where = root / "python/models.py"
        assert step.error == (
            f"{where}:{_line('def as_pandas')}: model marts.as_pandas: pandas is not installed (pip install pandas)"
        )


def test_an_annotation_no_kind_matches_names_the_parameter(tmp_path: Path) -> None:
    root, result = _run(tmp_path)
    error = result.steps["marts.as_dict"].error or ""
    assert error == (
        f"{root / 'python/models.py'}:{_line('def as_dict')}: model marts.as_dict: parameter 'numbers' is "
        "annotated dict; annotate it pyarrow.Table, pandas.DataFrame, polars.DataFrame or "
        "the engine's relation"
    )
    assert "Traceback" not in error
