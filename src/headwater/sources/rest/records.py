"""JSON records to Arrow: types inferred from the values, nested data kept or unnested.

``nested = "columns"``: objects become STRUCT columns, lists LIST columns (Arrow infers
their types). ``nested = "tables"`` (as dlt does): an object's fields become columns
``field__key``; a list becomes rows of a child table ``<table>__<field>``, each with
``_parent_id`` (the parent row's primary key; for a deeper level, the parent row's
``_row_id``), ``_list_idx`` (its position in the list) and ``_row_id``
(``<parent id>/<index>``, unique: the child table's key). A list of plain values becomes
rows with one column, ``value``.

A field whose values have no common Arrow type (a number here, a string there) is kept as
text: each value as its JSON (a string as it is), so that nothing is lost; the schema
contract then decides what a later type change does to the table.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

Record = dict[str, Any]
PARENT_ID = "_parent_id"
LIST_INDEX = "_list_idx"
ROW_ID = "_row_id"
SEPARATOR = "__"


class Unnester:
    """Collects the rows of a table and of its child tables (nested = "tables")."""

    def __init__(self, primary_key: list[str]) -> None:
        self.primary_key = primary_key
        self.children: dict[str, list[Record]] = {}

    def flatten(self, record: Record) -> Record:
        """``record`` with objects flattened and lists moved to the child tables."""
        key = "|".join(str(record.get(k)) for k in self.primary_key)
        return self._flatten(record, key, "")

    def _flatten(self, record: Record, row_id: str, table: str) -> Record:
        row: Record = {}
        self._into(row, record, "", row_id, table)
        return row

    def _into(self, row: Record, obj: Record, prefix: str, row_id: str, table: str) -> None:
        for name, value in obj.items():
            column = f"{prefix}{name}"
            if isinstance(value, dict):
                self._into(row, value, f"{column}{SEPARATOR}", row_id, table)
            elif isinstance(value, list):
                child = f"{table}{SEPARATOR}{column}" if table else column
                self._list(value, child, row_id)
            else:
                row[column] = value

    def _list(self, values: list[Any], child: str, parent_id: str) -> None:
        rows = self.children.setdefault(child, [])
        for index, value in enumerate(values):
            row_id = f"{parent_id}/{index}"
            row: Record = {PARENT_ID: parent_id, LIST_INDEX: index, ROW_ID: row_id}
            if isinstance(value, dict):
                self._into(row, value, "", row_id, child)
            else:
                row["value"] = value if not isinstance(value, list) else json.dumps(value)
            rows.append(row)


def to_table(records: list[Record]) -> pa.Table:
    """``records`` as one Arrow table: a column per field (first seen first), missing
    fields NULL, types inferred per column (text when the values share none)."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    columns = [_column([r.get(n) for r in records]) for n in names]
    return pa.table(columns, names=list(names))


def _column(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([_text(v) for v in values], type=pa.string())


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def combine(tables: list[pa.Table]) -> pa.Table:
    """Pages' tables as one: columns unioned, types widened where Arrow can (int to
    float, null to anything); a column whose pages disagree otherwise becomes text."""
    if not tables:
        return pa.table({})
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    names: dict[str, None] = {}
    for table in tables:
        names.update(dict.fromkeys(table.column_names))
    records = [row for table in tables for row in table.to_pylist()]
    return to_table([{n: r.get(n) for n in names} for r in records])
