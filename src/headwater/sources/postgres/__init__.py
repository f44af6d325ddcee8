"""PostgreSQL connector: ADBC (libpq binary COPY decoded to Arrow in C++), in parallel.

Why ADBC: measured on TPC-H lineitem (6M rows) against psycopg 3 COPY (text, parsed by
pyarrow's CSV reader), connectorx and DuckDB's postgres_scanner, ADBC's binary COPY costs
the least CPU on both ends and streams bounded batches; its one slow spot, NUMERIC, is sent
as text by the server and cast to decimal128 by Arrow (see ``pgtypes`` and docs/types.md).

Reading a table:

- Types are planned from the catalog (``format_type``) and the driver's description: see
  docs/types.md. Every session runs in UTC with ISO dates, so nothing depends on the
  server's or the role's settings.
- Incremental reads filter on the server with a typed comparison:
  ``cursor >= '<since>'::<cursor column type>`` (``>`` when not inclusive), so a timestamptz
  watermark compares as an instant and an integer one as a number, never as text.
- A full read of a table larger than ``parallel_min_bytes`` is split into ranges read on
  ``parallel_workers`` connections that share one exported snapshot (``REPEATABLE READ``,
  ``pg_export_snapshot``): together they see the table exactly once, as of one instant.
  Ranges are block ranges (``ctid``, PostgreSQL 14+: no index needed, even sizes) or, on
  older servers, ranges of an integer primary key's first column.
- Batches are bounded (16 MB of Arrow data; at most two per connection wait), so memory
  does not grow with the table.

Failures and resuming: a failed extract restarts from the beginning. The whole load,
rows and watermark, is one warehouse transaction, so a failed attempt leaves nothing
behind, and the next attempt (the runtime retries lost connections with backoff; errors
are :class:`~headwater.sources.postgres.errors.LostConnection`, ``transient = True``)
reads the same window again. An error raised while the warehouse pulls batches is kept
in ``failure`` so the step reports it instead of the warehouse's wrapper. Messages name
the connection as ``connection 'name' (host:port/database)``; the password never
appears.
"""

from headwater.sources.postgres.connector import CAPABILITIES, PostgresConnector
from headwater.sources.postgres.errors import LostConnection

__all__ = ["CAPABILITIES", "LostConnection", "PostgresConnector"]
