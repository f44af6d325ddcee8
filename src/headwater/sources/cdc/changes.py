"""A batch of a table's changes as rows, and the deletes applied inside the load.

Rows keep their columns' text until :meth:`ChangeTable.table` types them (the snapshot's
rows and the stream's go through the same conversion). For ``merge`` and ``scd2`` the
changes of one key collapse to the last: an insert or update is a row to upsert, a delete
a key to delete (:func:`apply_deletes`, run in the load's transaction after the write).
A TOASTed value an update did not change (the server does not send it) is taken from an
earlier change of the key in the batch, else kept from the warehouse's row
(:meth:`ChangeTable.keep_unchanged`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from headwater.errors import SourceError
from headwater.sources.cdc.pgoutput import UNCHANGED, Change, Value
from headwater.sources.cdc.values import column

DELETED_AT = "_hw_deleted_at"
_META = ("_cdc_lsn", "_cdc_op", "_cdc_committed_at")


class ChangeTable:
    """Changes in the order they were committed; ``key``: the asset's primary key."""

    def __init__(
        self,
        columns: tuple[str, ...],
        types: dict[str, tuple[int, int]],
        *,
        where: str,
        key: list[str],
    ) -> None:
        missing = [k for k in key if k not in columns]
        if missing:
            raise SourceError(f"{where}: primary key column {missing[0]!r} is not in the table")
        self.columns = columns
        self.types = types
        self.where = where
        self.key = key
        self._key_at = [columns.index(k) for k in key]
        self.rows: list[list[Value]] = []
        self.meta: list[tuple[int, str, datetime]] = []
        self.unchanged: list[tuple[int, str]] = []  # (row, column) the warehouse keeps

    @property
    def count(self) -> int:
        return len(self.rows)

    def add(self, change: Change, lsn: int, at: datetime) -> None:
        values = change.new if change.op != "delete" else change.old
        assert values is not None
        if change.op == "delete" and any(values[i] is None for i in self._key_at):
            raise SourceError(
                f"{self.where}: a delete came without its key {self.key}: the table's replica "
                "identity must include the primary key (ALTER TABLE ... REPLICA IDENTITY)"
            )
        self.add_row(change.op, values, lsn, at)

    def add_row(self, op: str, values: Any, lsn: int, at: datetime) -> None:
        self.rows.append(list(values))
        self.meta.append((lsn, op, at))

    def table(self, *, collapse: bool) -> pa.Table:
        """The rows to write: every change (``collapse`` False), or the last upsert of
        each key whose last change is no delete."""
        rows = list(range(len(self.rows)))
        if collapse:
            self._fill_unchanged()
            last = {self._key(i): i for i in rows}
            rows = sorted(i for i in last.values() if self.meta[i][1] != "delete")
        return self._arrow(rows, self.columns)

    def deleted_keys(self) -> pa.Table:
        """The keys whose last change is a delete, with its commit time."""
        last = {self._key(i): i for i in range(len(self.rows))}
        rows = sorted(i for i in last.values() if self.meta[i][1] == "delete")
        return self._arrow(rows, tuple(self.key))

    def upserted_keys(self) -> pa.Table:
        last = {self._key(i): i for i in range(len(self.rows))}
        rows = sorted(i for i in last.values() if self.meta[i][1] != "delete")
        return self._arrow(rows, tuple(self.key))

    def _key(self, i: int) -> tuple[Value, ...]:
        row = self.rows[i]
        return tuple(row[j] for j in self._key_at)

    def _fill_unchanged(self) -> None:
        seen: dict[tuple[Value, ...], list[Value]] = {}
        for i, row in enumerate(self.rows):
            before = seen.get(self._key(i))
            for j, value in enumerate(row):
                if value is UNCHANGED:
                    if before is not None and before[j] is not UNCHANGED:
                        row[j] = before[j]
                    else:
                        self.unchanged.append((i, self.columns[j]))
            if self.meta[i][1] != "delete":
                seen[self._key(i)] = row

    def _arrow(self, rows: list[int], columns: tuple[str, ...]) -> pa.Table:
        arrays = []
        for name in columns:
            j = self.columns.index(name)
            oid, mod = self.types.get(name, (25, -1))
            texts = [self.rows[i][j] for i in rows]
            texts = [None if v is UNCHANGED else v for v in texts]
            arrays.append(column(texts, oid, mod, where=self.where, name=name))  # type: ignore[arg-type]
        arrays.append(pa.array([self.meta[i][0] for i in rows], pa.int64()))
        arrays.append(pa.array([self.meta[i][1] for i in rows], pa.string()))
        arrays.append(pa.array([self.meta[i][2] for i in rows], pa.timestamp("us", tz="UTC")))
        return pa.Table.from_arrays(arrays, names=[*columns, *_META])

    def keep_unchanged(self) -> pa.Table | None:
        """Rows whose unchanged TOASTed column the warehouse must keep: key, column, LSN."""
        if not self.unchanged:
            return None
        rows = [i for i, _ in self.unchanged]
        keys = self._arrow(rows, tuple(self.key)).select(self.key)
        return keys.append_column(
            "_column", pa.array([c for _, c in self.unchanged])
        ).append_column("_cdc_lsn", pa.array([self.meta[i][0] for i in rows], pa.int64()))


def _join(key: list[str], a: str, b: str) -> str:
    return " and ".join(f'{a}."{k}" = {b}."{k}"' for k in key)


def save_unchanged(cur: Any, target: str, changes: ChangeTable, keep: pa.Table) -> None:
    """Before the write: the warehouse's current values of the columns an update left
    unchanged (TOASTed values the server did not send), kept in a temp table."""
    cur.register("_hw_cdc_keep_keys", keep)
    try:
        cols = ", ".join(f'"{c}"' for c in sorted({*keep.column("_column").to_pylist()}))
        keys = ", ".join(f't."{k}"' for k in changes.key)
        cur.execute(
            f"create or replace temp table _hw_cdc_kept as select {keys}, {cols} from {target} t "
            f"where exists (select 1 from _hw_cdc_keep_keys k where {_join(changes.key, 't', 'k')})"
            + (" and t._hw_valid_to is null" if _has_column(cur, target, "_hw_valid_to") else "")
        )
    finally:
        cur.unregister("_hw_cdc_keep_keys")


def restore_unchanged(cur: Any, target: str, changes: ChangeTable, keep: pa.Table) -> None:
    """After the write: put the kept values back into the rows the load wrote."""
    cur.register("_hw_cdc_keep_keys", keep)
    try:
        for name in sorted({*keep.column("_column").to_pylist()}):
            cur.execute(
                f'update {target} t set "{name}" = s."{name}" from _hw_cdc_kept s, '
                f"_hw_cdc_keep_keys k where {_join(changes.key, 't', 's')} and "
                f"{_join(changes.key, 't', 'k')} and k._column = ? and t._cdc_lsn = k._cdc_lsn",
                [name],
            )
        cur.execute("drop table if exists _hw_cdc_kept")
    finally:
        cur.unregister("_hw_cdc_keep_keys")


def apply_deletes(
    cur: Any, target: str, changes: ChangeTable, deleted: pa.Table, *, write: str, soft: bool
) -> None:
    """Inside the load's transaction, after the write: delete (merge), or close the current
    version of (scd2), each deleted key; ``soft`` marks ``_hw_deleted_at`` instead of
    deleting, and clears it on the keys this load wrote again."""
    join = _join(changes.key, "t", "d")
    if soft:
        cur.execute(f"alter table {target} add column if not exists {DELETED_AT} timestamptz")
    cur.register("_hw_cdc_deleted", deleted)
    cur.register("_hw_cdc_upserted", changes.upserted_keys())
    try:
        current = " and t._hw_valid_to is null" if write == "scd2" else ""
        if deleted.num_rows and write == "scd2":
            mark = f", {DELETED_AT} = d._cdc_committed_at" if soft else ""
            cur.execute(
                f"update {target} t set _hw_valid_to = now(){mark} from _hw_cdc_deleted d "
                f"where {join}{current}"
            )
        elif deleted.num_rows and soft:
            cur.execute(
                f"update {target} t set {DELETED_AT} = d._cdc_committed_at "
                f"from _hw_cdc_deleted d where {join}"
            )
        elif deleted.num_rows:
            cur.execute(
                f"delete from {target} t where exists (select 1 from _hw_cdc_deleted d where {join})"
            )
        if soft:
            cur.execute(
                f"update {target} t set {DELETED_AT} = null from _hw_cdc_upserted d "
                f"where {join}{current} and t.{DELETED_AT} is not null"
            )
    finally:
        cur.unregister("_hw_cdc_deleted")
        cur.unregister("_hw_cdc_upserted")


def _has_column(cur: Any, target: str, name: str) -> bool:
    return any(row[0] == name for row in cur.execute(f"describe {target}").fetchall())
