"""What a server's query may read: the warehouse's tables and views, nothing outside it.

DuckDB reads files by table functions (``read_text('headwater.toml')``, ``read_csv``,
``glob``, ``sqlite_scan`` ...) and by replacement scans (``from '.headwater/server.json'``):
a SELECT like any other, that :func:`~headwater.engines.duckdb.read.read_query_on`'s
statement-kind guard lets through. On a server, where a viewer may query, that would hand
out every file the server can read: connection passwords in ``headwater.toml``, the admin
token in ``.headwater/server.json``. So the server's queries (``/api/query``, the web UI's
query page and its downloads) may use only the table functions of :data:`ALLOWED` and may
name no table that looks like a path. The CLI's own read-only queries (no server) keep
DuckDB's whole reach: their user can read those files anyway.

>>> require_warehouse_reads("select * from marts.sales, range(3)")
>>> require_warehouse_reads("select * from read_text('headwater.toml')")
Traceback (most recent call last):
headwater.errors.EngineError: query refused: read_text() reads outside the warehouse; only the warehouse's tables are answered here
>>> require_warehouse_reads("explain select * from '.headwater/server.json'")
Traceback (most recent call last):
headwater.errors.EngineError: query refused: '.headwater/server.json' is a file, not a table of the warehouse; only the warehouse's tables are answered here
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import duckdb

from headwater.engines.duckdb.sql import string
from headwater.errors import EngineError

# table functions that read nothing but the warehouse (or make rows from their arguments)
ALLOWED = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "duckdb_tables",
        "duckdb_views",
        "duckdb_columns",
        "duckdb_schemas",
        "duckdb_types",
        "duckdb_constraints",
        "duckdb_indexes",
        "pragma_table_info",
    }
)
_EXPLAIN = re.compile(r"^\s*explain(\s+analy[sz]e)?\s+", re.IGNORECASE)
_PATHLIKE = re.compile(r"[/\\.:~]")
_ONLY = "only the warehouse's tables are answered here"
# one in-memory database parses every statement: opening one costs ~15 ms of CPU (a whole
# DuckDB instance) where json_serialize_sql costs well under 1 ms; a connection is not for
# concurrent use, so the parses take turns
_PARSER: list[duckdb.DuckDBPyConnection] = []
_PARSER_LOCK = threading.Lock()


def require_warehouse_reads(sql: str) -> None:
    """Raise EngineError (one line) when ``sql`` (one SELECT or EXPLAIN) reads outside the
    warehouse: a table function not in :data:`ALLOWED`, or a file named as a table."""
    tree = _parsed(_EXPLAIN.sub("", sql, count=1))
    for kind, name in _sources(tree):
        if kind == "TABLE_FUNCTION" and name.lower() not in ALLOWED:
            raise EngineError(f"query refused: {name}() reads outside the warehouse; {_ONLY}")
        if kind == "BASE_TABLE" and _PATHLIKE.search(name):
            raise EngineError(
                f"query refused: {name!r} is a file, not a table of the warehouse; {_ONLY}"
            )


def _parsed(sql: str) -> Any:
    with _PARSER_LOCK:
        if not _PARSER:
            _PARSER.append(duckdb.connect())
        # a literal, not a bound parameter: binding one makes DuckDB's Python client import
        # numpy, pandas and pyarrow (~85 MB of a server's memory)
        found = _PARSER[0].execute(f"select json_serialize_sql({string(sql)})").fetchone()
    tree = json.loads(found[0]) if found else {"error": True}
    if tree.get("error"):  # DuckDB parsed it before (the statement's kind): be safe
        raise EngineError(f"query refused: cannot tell what it reads; {_ONLY}")
    return tree


def _sources(node: Any) -> Iterator[tuple[str, str]]:
    """Each table reference of the parse tree: (``TABLE_FUNCTION``, function name) or
    (``BASE_TABLE``, table name), subqueries and CTEs included."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            yield kind, str((node.get("function") or {}).get("function_name", ""))
        elif kind == "BASE_TABLE":
            yield kind, str(node.get("table_name", ""))
        for value in node.values():
            yield from _sources(value)
    elif isinstance(node, list):
        for value in node:
            yield from _sources(value)
