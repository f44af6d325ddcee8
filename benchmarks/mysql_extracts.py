"""MariaDB's two extracts side by side: connectorx (every read) against PyMySQL (a read with
a client certificate, which connectorx cannot present).

    .venv/bin/python -m benchmarks.mysql_extracts [--reps 2]

Reuses the 1M-row ``lineitem`` of ``benchmarks.ingest_mysql`` (run that first) and its
server. Both read the connector's own SELECT in this process, into Arrow batches of 50,000
rows, with no warehouse write: the PyMySQL one through
:class:`headwater.sources.mysql.pymysql_extract.PyMySQLExtract` and the connector's casts to the
columns' types, the connectorx one through ``read_sql(..., return_type="arrow_stream")``.
The certificate itself is not in play (the benchmark server has no TLS): this measures the
decoding. Reported: wall and CPU seconds of each round, alternating.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()

    import connectorx as cx

    from benchmarks._common import log, work_dir
    from headwater.sources.connector import TableRead
    from headwater.sources.mysql.connector import MySQLConnector
    from headwater.sources.mysql.pymysql_extract import PyMySQLExtract
    from headwater.testing.servers import MariaDBServer

    data = work_dir("ingest_mysql") / "mariadb"
    if not data.exists():
        raise SystemExit("no MariaDB data: run benchmarks.ingest_mysql first")
    what = TableRead("lineitem")
    with MariaDBServer(data) as server:
        url = server.url_for("bench")
        connector = MySQLConnector(url, name="bench")
        plan = connector.plan(what)
        for _ in range(args.reps):
            started, cpu = time.monotonic(), time.process_time()
            extract, rows = PyMySQLExtract(connector._connect(), connector._kill_query), 0
            for batch in extract.batches(plan.sql, [], what.batch_size):
                connector._convert(batch, plan, plan.schema, rows, what)
                rows += batch.num_rows
            extract.close()
            log(
                f"pymysql:    {rows:,} rows in {time.monotonic() - started:.2f} s, "
                f"{time.process_time() - cpu:.2f} CPU s"
            )
            started, cpu = time.monotonic(), time.process_time()
            stream = cx.read_sql(url, plan.sql, return_type="arrow_stream", batch_size=50_000)
            rows = sum(batch.num_rows for batch in stream)
            log(
                f"connectorx: {rows:,} rows in {time.monotonic() - started:.2f} s, "
                f"{time.process_time() - cpu:.2f} CPU s"
            )
        connector.close()


if __name__ == "__main__":
    main()
