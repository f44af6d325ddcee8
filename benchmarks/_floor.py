"""The floor: execute a list of statements in one DuckDB connection, nothing else.

Run as a script (no package import, so its start-up is only python + duckdb):

    python benchmarks/_floor.py DB_FILE STATEMENTS_JSON

Prints JSON: ``import_s`` (import duckdb), ``seconds`` (connect, every statement, close).
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    db_path, statements_path = sys.argv[1], sys.argv[2]
    with open(statements_path, encoding="utf-8") as fh:
        statements = json.load(fh)
    started = time.perf_counter()
    import duckdb

    imported = time.perf_counter()
    con = duckdb.connect(db_path)
    for sql in statements:
        con.execute(sql)
    con.close()
    done = time.perf_counter()
    print(json.dumps({"import_s": imported - started, "seconds": done - imported}))


if __name__ == "__main__":
    main()
