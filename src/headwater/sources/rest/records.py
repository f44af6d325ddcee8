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
import pyarrow.compute as pc

Record = dict[str, Any]
PARENT_ID = "_parent_id"
LIST_INDEX = "_list_idx"
ROW_ID = "_row_id"
SEPARATOR = "__"
Children = dict[str, list[pa.Table]]  # child table name -> its tables (one per page)


def unnest(table: pa.Table, key: pa.Array, name: str = "") -> tuple[pa.Table, Children]:
    """``table`` with STRUCT columns flattened (``field__key``) and LIST columns moved to
    child tables (``name__field``), their rows keyed under ``key`` (one string per row of
    ``table``). Arrow does the work, column by column (no Python loop over records)."""
    names: list[str] = []
    columns: list[pa.Array] = []
    children: Children = {}
    pending = [(n, _array(c)) for n, c in zip(table.column_names, table.columns, strict=True)]
    while pending:
        column, values = pending.pop(0)
        kind = values.type
        if pa.types.is_struct(kind):
            fields = [f"{column}{SEPARATOR}{kind.field(i).name}" for i in range(kind.num_fields)]
            pending[0:0] = list(zip(fields, values.flatten(), strict=True))
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            child = f"{name}{SEPARATOR}{column}" if name else column
            for sub, rows in _explode(values, key, child).items():
                children.setdefault(sub, []).extend(rows)
        else:
            names.append(column)
            columns.append(values)
    return pa.table(columns, names=names), children


def row_keys(table: pa.Table, primary_key: list[str]) -> pa.Array:
    """Each row's primary key as text (columns joined by ``|``): its children's parent id."""
    parts = [pc.fill_null(pc.cast(_array(table[k]), pa.string()), "") for k in primary_key]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, "|")


def _explode(values: pa.Array, key: pa.Array, child: str) -> Children:
    """The child table of one LIST column (and its own children)."""
    items = pc.list_flatten(values)
    if len(items) == 0:
        return {}
    parents = pc.list_parent_indices(values)
    lengths = pc.fill_null(pc.list_value_length(values), 0)
    starts = pc.subtract(pc.cumulative_sum(lengths), lengths)  # first item of each list
    position = pc.subtract(pc.cumulative_sum(pa.repeat(1, len(items))), 1)
    index = pc.subtract(position, pc.take(starts, parents))
    parent_id = pc.take(key, parents)
    row_id = pc.binary_join_element_wise(parent_id, pc.cast(index, pa.string()), "/")
    own = pa.table([parent_id, index, row_id], names=[PARENT_ID, LIST_INDEX, ROW_ID])
    if pa.types.is_struct(items.type):
        kind = items.type
        fields = [kind.field(i).name for i in range(kind.num_fields)]
        data = pa.table(items.flatten(), names=fields)
    else:
        data = pa.table([items], names=["value"])
    flat, children = unnest(data, row_id, child)
    for column, name in zip(flat.columns, flat.column_names, strict=True):
        own = own.append_column(name, column)
    return {child: [own], **children}


def _array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks()
    return column


def to_table(records: list[Record]) -> pa.Table:
    """``records`` as one Arrow table: a column per field (first seen first), missing
    fields NULL, types inferred per column (text when the values share none)."""
    if not records:
        return pa.table({})
    try:  # one pass in Arrow: it unions the keys and infers each field's type
        return pa.Table.from_struct_array(pa.array(records))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
        pass  # a field of no common type: column by column, that one as text
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
