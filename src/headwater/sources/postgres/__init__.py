"""PostgreSQL connector: ADBC (libpq binary COPY decoded to Arrow in C++), in parallel.

Two transports. By default a table whose every column the warehouse maps exactly is read
by the warehouse itself (DuckDB's postgres extension; :mod:`.native` decides, about 1.4x
faster on TPC-H lineitem). Everything else (other types, custom queries, text cursors)
comes through ADBC as below; the two give the same table type for type.

Why ADBC (measured on TPC-H lineitem, 6M rows, 2 cores; see benchmarks/ingest_postgres.py):
client CPU to decode the table into Arrow was 8-10 s with ADBC, 13.5 s with connectorx
(``arrow_stream``), 17 s with psycopg 3 ``COPY ... (FORMAT csv)`` parsed by pyarrow's CSV
reader (psycopg hands over one Python object per row), 5 s with DuckDB's postgres_scanner
exporting Arrow. The scanner is cheaper but not faithful: it reads unconstrained ``numeric``
and ``numeric(p > 38)`` as DOUBLE (rounded), ``money`` as locale text, and cannot be given
per-column server expressions while scanning in parallel; ADBC decodes every type exactly,
streams bounded batches and reports SQLSTATEs. Its one slow spot, NUMERIC (decoded to
strings in C++ at ~500 ns a value: 12 s for lineitem's four columns), is avoided: the
server sends ``numeric(p<=18,s)`` as its unscaled bigint (viewed as decimal128 for free) and
wider ones as text (cast exactly by Arrow).

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
behind, and the next attempt (the runtime retries a lost connection as the step's
``retries`` say, with backoff; errors are
:class:`~headwater.sources.postgres.errors.LostConnection`) reads the same window again. An error raised while the warehouse pulls batches is kept
in ``failure`` so the step reports it instead of the warehouse's wrapper. Messages name
the connection as ``connection 'name' (host:port/database)``; the password never
appears.
"""

from headwater.sources.postgres.connector import CAPABILITIES, PostgresConnector
from headwater.sources.postgres.errors import LostConnection

__all__ = ["CAPABILITIES", "LostConnection", "PostgresConnector"]
