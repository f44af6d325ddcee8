"""Where a one-model ``headwater run`` spends its CPU time, phase by phase, in one process.

    python benchmarks/_fixed_phases.py PROJECT_DIR

Imports what a run imports, one group at a time in the order the run needs them, then runs
``headwater run -p PROJECT_DIR`` in-process (``main()``, stdout discarded). Prints JSON:
{phase: CPU milliseconds}. Interpreter start-up (``python -c pass``) and teardown are not in
it; :mod:`benchmarks.fixed_cost` measures the whole process beside it.
"""

from __future__ import annotations

import json
import os
import sys
import time

_spent: dict[str, float] = {}
_since = time.process_time()


def _mark(phase: str) -> None:
    global _since
    now = time.process_time()
    _spent[phase] = round((now - _since) * 1000, 1)
    _since = time.process_time()


def main() -> None:
    import typer  # noqa: F401

    import headwater.cli.app

    _mark("typer and headwater.cli.app")
    from pydantic import TypeAdapter

    TypeAdapter(int).validate_python(1)  # what Typer does for each parameter of a command
    _mark("pydantic (Typer coerces parameters with it; its plugin scan)")
    import headwater.config

    _mark("settings models (headwater.config)")
    import headwater.api.project

    _mark("project loader (headwater.project)")
    import sqlalchemy  # noqa: F401

    _mark("sqlalchemy")
    import headwater.metastore.store

    _mark("metastore modules")
    import duckdb  # noqa: F401

    _mark("duckdb")
    import headwater.api.backfill
    import headwater.engines.duckdb.engine
    import headwater.runtime

    _mark("engine and runtime modules")
    import headwater.runtime.display

    _mark("rich (the run's display)")
    sys.argv = ["headwater", "run", "-p", sys.argv[1]]
    shown, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115
    try:
        headwater.cli.app.main()
    except SystemExit as exc:
        if exc.code:
            raise
    finally:
        sys.stdout = shown
    _mark("the run: arguments, load, open warehouse and metastore, run, record, print")
    print(json.dumps(_spent))


if __name__ == "__main__":
    main()
