"""The rows of one SELECT through PyMySQL, as Arrow record batches: the extract of a
connection that presents a client certificate (``ssl-cert``/``ssl-key``), which connectorx
cannot do (:mod:`.tls`).

The rows stream (PyMySQL's unbuffered ``SSCursor``: memory holds one batch) on a session
of their own, with the same SELECT the connectorx extract sends, so every column arrives
through the same exact expression (:mod:`.types`). The arrays are typed by pyarrow from
the driver's Python values (``Decimal``, ``date``, ``datetime``, ``int``, ``str``,
``bytes``); the connector casts them to the columns' types as it does connectorx's, so a
value that does not fit fails the load the same way. PyMySQL decodes in Python: 32-37 s per
1M lineitem rows against connectorx's 2.5-2.9 s (``benchmarks/mysql_extracts.py``), and it
holds the GIL while it decodes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pyarrow as pa


class PyMySQLExtract:
    """One extract on the PyMySQL ``session`` (its own: the rows stream on it, unbuffered),
    shaped like :class:`~.extract_process.ExtractProcess`: :meth:`kill` stops it from another
    thread, through ``kill_query`` (``KILL QUERY <id>`` on another session), and :meth:`close`
    ends the session."""

    def __init__(self, session: Any, kill_query: Callable[[int], None]) -> None:
        self._session = session
        self._kill_query = kill_query

    def batches(self, sql: str, setup: Sequence[str], batch_size: int) -> Iterator[pa.RecordBatch]:
        """Run ``setup`` then ``sql`` and yield its rows, ``batch_size`` at a time. Errors
        are the driver's."""
        from pymysql.cursors import SSCursor

        with self._session.cursor() as cur:
            for statement in setup:
                cur.execute(statement)
        cur = self._session.cursor(SSCursor)
        try:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            while rows := cur.fetchmany(batch_size):
                arrays = [_array(values) for values in zip(*rows, strict=True)]
                yield pa.RecordBatch.from_arrays(arrays, names=names)
        finally:
            cur.close()

    def kill(self) -> None:
        """Stop the query on the server (best effort; the step's time limit also stops it)."""
        with contextlib.suppress(Exception):
            self._kill_query(int(self._session.thread_id()))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._session.close()


def _array(values: Sequence[Any]) -> pa.Array:
    """An Arrow array of one column's Python values, typed by pyarrow.

    >>> _array((1, None, 2)).type, _array((2**64 - 1,)).type, _array((None,)).type
    (DataType(int64), DataType(uint64), DataType(null))
    """
    try:
        return pa.array(values)
    except OverflowError:  # BIGINT UNSIGNED past int64
        return pa.array(values, type=pa.uint64())
