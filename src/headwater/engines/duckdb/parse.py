"""DuckDB's own parser, without a database: does DuckDB accept a SQL text, and if not, where
does it fail. Lets a project refuse a model at load time with the engine's verdict, before
anything runs (sqlglot repairs some SQL DuckDB rejects, e.g. ``select a,, b from t``).

>>> check_sql("select a, from t") is None  # DuckDB accepts a trailing comma
True
>>> check_sql("select a,, b from t")
SyntaxProblem(offset=9, message='syntax error at or near ","')
"""

from __future__ import annotations

import json
import threading

import duckdb

from headwater.project.sql_errors import SyntaxProblem

_local = threading.local()


def check_sql(text: str) -> SyntaxProblem | None:
    """None when DuckDB parses ``text``; else where (a character offset) and why it fails.

    ``duckdb.extract_statements`` (about 10 us) decides; only a rejected text is parsed
    again by ``json_serialize_sql`` on an in-memory connection (about 0.5 ms), the one that
    reports the error's position."""
    try:
        duckdb.extract_statements(text)
        return None
    except duckdb.Error as exc:
        fallback = str(exc).splitlines()[0].removeprefix("Parser Error: ")
    row = _connection().execute("select json_serialize_sql(?::varchar)", [text]).fetchone()
    report = json.loads(row[0]) if row else {}
    if report.get("error_type") != "parser":  # e.g. not a SELECT: serializing refused it
        return SyntaxProblem(0, fallback)
    return SyntaxProblem(int(report.get("position") or 0), str(report["error_message"]))


def _connection() -> duckdb.DuckDBPyConnection:
    """One in-memory connection per thread (it holds no data; parsing needs one)."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect(":memory:")
    return con
