"""PostgreSQL's ``pgoutput`` logical replication messages (protocol version 1), decoded.

Only what a change-capture source needs: Begin, Commit (the transaction's end LSN and
time), Relation (a table's columns and their type OIDs), Insert, Update, Delete and
Truncate. Values stay in PostgreSQL's text form (:mod:`.values` types them); a TOASTed
value an update left unchanged is :data:`UNCHANGED` (the server does not send it).
Reference: https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL timestamps count from here


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged()
Value = str | None | _Unchanged


@dataclass(frozen=True)
class Relation:
    relid: int
    schema: str
    name: str
    columns: tuple[str, ...]
    type_oids: tuple[int, ...]
    type_mods: tuple[int, ...]
    key_flags: tuple[bool, ...]  # part of the replica identity


@dataclass(frozen=True)
class Begin:
    final_lsn: int
    committed_at: datetime


@dataclass(frozen=True)
class Commit:
    commit_lsn: int
    end_lsn: int
    committed_at: datetime


@dataclass(frozen=True)
class Change:
    op: str  # insert | update | delete
    relid: int
    new: tuple[Value, ...] | None  # insert, update
    old: tuple[Value, ...] | None  # delete (its key, or the whole old row); update: a changed key


@dataclass(frozen=True)
class Truncate:
    relids: tuple[int, ...]


Message = Relation | Begin | Commit | Change | Truncate | None


def decode(payload: bytes) -> Message:
    """One pgoutput message; None for the kinds a source ignores (Origin, Type, Message)."""
    kind = payload[:1]
    reader = _Reader(payload, 1)
    if kind == b"B":
        final_lsn, ts, _xid = reader.unpack("!qqi")
        return Begin(final_lsn, _time(ts))
    if kind == b"C":
        _flags, commit_lsn, end_lsn, ts = reader.unpack("!bqqq")
        return Commit(commit_lsn, end_lsn, _time(ts))
    if kind == b"R":
        return _relation(reader)
    if kind == b"I":
        (relid,) = reader.unpack("!i")
        reader.expect(b"N")
        return Change("insert", relid, reader.tuple(), None)
    if kind == b"U":
        (relid,) = reader.unpack("!i")
        old = None
        marker = reader.byte()
        if marker in (b"K", b"O"):
            old = reader.tuple()
            marker = reader.byte()
        if marker != b"N":
            raise ValueError(f"pgoutput update: unexpected tuple marker {marker!r}")
        return Change("update", relid, reader.tuple(), old)
    if kind == b"D":
        (relid,) = reader.unpack("!i")
        marker = reader.byte()
        if marker not in (b"K", b"O"):
            raise ValueError(f"pgoutput delete: unexpected tuple marker {marker!r}")
        return Change("delete", relid, None, reader.tuple())
    if kind == b"T":
        count, _options = reader.unpack("!ib")
        return Truncate(tuple(reader.unpack(f"!{count}i")))
    return None


def _relation(reader: _Reader) -> Relation:
    (relid,) = reader.unpack("!i")
    schema, name = reader.string(), reader.string()
    _identity, ncols = reader.unpack("!bh")
    columns, oids, mods, keys = [], [], [], []
    for _ in range(ncols):
        (flags,) = reader.unpack("!b")
        columns.append(reader.string())
        oid, mod = reader.unpack("!ii")
        oids.append(oid)
        mods.append(mod)
        keys.append(bool(flags & 1))
    return Relation(relid, schema, name, tuple(columns), tuple(oids), tuple(mods), tuple(keys))


def _time(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def lsn_text(lsn: int) -> str:
    """An LSN as PostgreSQL writes it (``16/B374D848``)."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def lsn_int(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


class _Reader:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def unpack(self, fmt: str) -> tuple[int, ...]:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def byte(self) -> bytes:
        self.pos += 1
        return self.data[self.pos - 1 : self.pos]

    def expect(self, marker: bytes) -> None:
        got = self.byte()
        if got != marker:
            raise ValueError(f"pgoutput: expected {marker!r}, got {got!r}")

    def string(self) -> str:
        end = self.data.index(b"\0", self.pos)
        text = self.data[self.pos : end].decode("utf-8")
        self.pos = end + 1
        return text

    def tuple(self) -> tuple[Value, ...]:
        (count,) = self.unpack("!h")
        values: list[Value] = []
        for _ in range(count):
            kind = self.byte()
            if kind == b"n":
                values.append(None)
            elif kind == b"u":
                values.append(UNCHANGED)
            elif kind == b"t":
                (length,) = self.unpack("!i")
                values.append(self.data[self.pos : self.pos + length].decode("utf-8"))
                self.pos += length
            else:
                raise ValueError(f"pgoutput: unknown column kind {kind!r}")
        return tuple(values)
