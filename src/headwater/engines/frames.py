"""What a Python model receives, chosen by its parameters' type annotations, and how an
engine's relation becomes it: the conversions at the seam between engines and Python.

A parameter annotated ``pyarrow.Table``, ``pandas.DataFrame`` or ``polars.DataFrame``
gets that type; one annotated with the engine's own relation type
(``Capabilities.relation_type``), or not annotated, gets the engine's relation (as before
annotations were read). Annotations are matched by name, so a module that imports
``pyarrow as pa`` and writes ``"pa.Table"`` works, and nothing is imported to find out.

>>> frame_kind("pa.Table", "duckdb.DuckDBPyRelation")
'arrow'
>>> frame_kind("pandas.core.frame.DataFrame", "duckdb.DuckDBPyRelation")
'pandas'
>>> frame_kind(None, "duckdb.DuckDBPyRelation")
'relation'
>>> frame_kind("duckdb.DuckDBPyRelation", "duckdb.DuckDBPyRelation")
'relation'
>>> frame_kind("dict", "duckdb.DuckDBPyRelation") is None
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pyarrow as pa

FrameKind = Literal["arrow", "pandas", "polars", "relation"]

#: Names an annotation may carry for each kind (a class's ``module.qualname`` or the text of
#: a string annotation), besides the engine's relation type.
_NAMES: dict[str, FrameKind] = {
    "pyarrow.Table": "arrow",
    "pyarrow.lib.Table": "arrow",
    "pa.Table": "arrow",
    "pandas.DataFrame": "pandas",
    "pandas.core.frame.DataFrame": "pandas",
    "pd.DataFrame": "pandas",
    "polars.DataFrame": "polars",
    "polars.dataframe.frame.DataFrame": "polars",
    "pl.DataFrame": "polars",
}

#: What a model may annotate its inputs with, as a model author reads it.
ACCEPTED = "pyarrow.Table, pandas.DataFrame, polars.DataFrame or the engine's relation"


def annotation_name(annotation: Any) -> str | None:
    """``module.qualname`` of a class annotation, the text of a string one, None when the
    parameter has none (``inspect.Parameter.empty``) or is ``Any``."""
    import inspect

    if annotation is inspect.Parameter.empty or annotation is Any:
        return None
    if isinstance(annotation, str):
        return annotation.strip().strip("'\"")
    module = getattr(annotation, "__module__", "")
    qualname = getattr(annotation, "__qualname__", repr(annotation))
    return f"{module}.{qualname}" if module and module != "builtins" else qualname


def frame_kind(name: str | None, relation_type: str) -> FrameKind | None:
    """The kind a parameter annotated ``name`` receives; None for an annotation no kind
    matches (the model is told what it may use)."""
    if name is None or name in {"Any", "typing.Any"}:
        return "relation"
    relation_names = {relation_type, relation_type.replace("duckdb.", "_duckdb.", 1)}
    if relation_type and name in relation_names | {relation_type.rsplit(".", 1)[-1]}:
        return "relation"
    return _NAMES.get(name)


def convert(table: pa.Table, kind: FrameKind) -> Any:
    """An Arrow table as ``kind`` (pandas and polars are imported when asked for; missing:
    ImportError naming the package)."""
    if kind == "pandas":
        _library("pandas")  # to_pandas needs it: say so in one line
        return table.to_pandas()
    if kind == "polars":
        return _library("polars").from_arrow(table)
    return table


def _library(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(f"{name} is not installed (pip install {name})") from None


def as_arrow(data: Any) -> pa.Table | pa.RecordBatchReader:
    """A Python model's result as Arrow, for an engine that takes only Arrow: a pandas or
    polars DataFrame is converted, an Arrow table or reader passes as it is (an engine's own
    relation is converted by the engine, ``Engine.to_arrow``)."""
    import pyarrow as pa

    if isinstance(data, pa.Table | pa.RecordBatchReader):
        return data
    library = type(data).__module__.split(".")[0]
    if library == "polars":
        return data.to_arrow()
    if library == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    raise TypeError(f"not a table: {type(data).__name__}")
