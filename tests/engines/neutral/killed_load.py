"""The child processes of test_kill.py (run as a script, on any engine).

``killed_load.py ENGINE ROOT FLAG``: loads ``raw.kept`` of the project at ROOT twice (replace):
the first load (ids 0-2, cursor ``old``) commits; the second (ids 100-599, cursor ``new``)
has written its rows when its audit creates FLAG and waits to be killed.

``killed_load.py ENGINE ROOT``: prints as JSON what a fresh process reads of ``raw.kept`` (its
ids, state and loads recorded), then the same after one more load (ids 7, 8): that the
warehouse takes a new write after the kill.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from headwater.engines import Engine, LoadRequest
from headwater.testing.engines import EngineProject

ASSET = "raw.kept"


def load(engine: Engine, ids: list[int], cursor: str, audit: Any = None) -> None:
    table = pa.table({"id": pa.array(ids, pa.int64())})
    request = LoadRequest(
        schema="raw", table="kept", load_id=engine.new_load_id(), write="replace",
        batches=table.to_reader(), state={"cursor": cursor}, audit=audit,
    )  # fmt: skip
    engine.load(ASSET, request)


def seen(engine: Engine) -> dict[str, Any]:
    ids = sorted(row[0] for row in engine.execute("select id from raw.kept").fetchall())
    loads = f"select count(*) from _headwater.loads where asset = '{ASSET}'"
    (count,) = engine.execute(loads).fetchone() or (None,)
    return {"ids": ids, "cursor": engine.read_state(ASSET).get("cursor"), "loads": count}


def main(kind: str, root: Path, flag: Path | None) -> None:
    engine = EngineProject(kind, root).open_warehouse()
    if flag is None:
        before = seen(engine)
        load(engine, [7, 8], "after")
        print(json.dumps({"before": before, "after": seen(engine)}))
        return

    def audit(cursor: Any, target: str) -> None:  # after the write, before the publish
        flag.write_text("written")
        time.sleep(600)

    engine.ensure_schemas({"raw"})
    load(engine, [0, 1, 2], "old")
    load(engine, list(range(100, 600)), "new", audit)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
