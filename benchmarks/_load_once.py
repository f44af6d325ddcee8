"""Load and plan one project in this (fresh) interpreter; print the timings as JSON.

python benchmarks/_load_once.py PROJECT_DIR
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    root = Path(sys.argv[1])
    t0 = time.perf_counter()
    from headwater.project import load_project, select

    t1 = time.perf_counter()
    project = load_project(root)
    t2 = time.perf_counter()
    names = select(project.graph, None)
    t3 = time.perf_counter()
    print(
        json.dumps(
            {
                "import_s": t1 - t0,
                "load_s": t2 - t1,
                "select_s": t3 - t2,
                "inproc_s": t3 - t1,
                "assets": len(project.graph),
                "selected": len(names),
            }
        )
    )


if __name__ == "__main__":
    main()
