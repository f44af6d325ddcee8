"""Dagster's asset lineage at the web UI issue's scale, for benchmarks/ui_compare.py.

The graph is the one Headwater's graph benchmark draws (tests/ui/asset_projects.py's
``generated_deps``: 2,000 assets, a tenth of them roots, each other one reading one to
three of the 300 before it), written as a Python file of ``@dg.asset`` functions, each
keyed ``[layerN, mNNNN]`` as Headwater names them ``layerN.mNNNN``, with its ``deps``.
They are in one asset group: with several groups Dagster's lineage view starts with the
groups collapsed into five boxes, which is not the 2,000-asset drawing being compared.

``dagster-webserver`` (its SQLite instance in a ``DAGSTER_HOME`` of its own, telemetry
off) serves the file on 127.0.0.1; it is ready once ``/server_info`` answers and the code
location reports ``LOADED``. The community prompt a first visit shows is dismissed once
through the same GraphQL mutation its "Skip" button sends, as a returning user has.
The view is ``/asset-groups`` (Lineage in the navigation: the global asset graph).

Dagster and its web server live in a uv venv of their own under
``~/.cache/headwater-tests/dagster-<version>``, made when missing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks._common import log
from benchmarks._ui_measure import Background, free_port
from benchmarks.airflow_chain import CACHE

DAGSTER = "1.13.28"
VIEW = "/asset-groups"
# Dagster draws the lineage as one SVG; at the fit-to-screen zoom of 2,000 assets it holds
# the edges (the nodes appear as the user zooms in), so its first edge is the first paint.
PAINTED = "document.querySelector('svg[class*=\"AssetGraphExplorer_svgContainer\"] path')"
LOADED = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"


def dagster_venv() -> Path:
    """The cached Dagster venv's bin folder (made with uv when missing)."""
    venv = CACHE / f"dagster-{DAGSTER}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"dagster-{DAGSTER}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".installed").exists():
            shutil.rmtree(venv, ignore_errors=True)
            uv = str(Path(sys.executable).with_name("uv"))
            wanted = [f"dagster=={DAGSTER}", f"dagster-webserver=={DAGSTER}"]
            log(f"installing {' '.join(wanted)} into {venv}")
            subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
            subprocess.run(
                [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *wanted],
                check=True, timeout=1200,
            )  # fmt: skip
            (venv / ".installed").write_text("\n".join(wanted) + "\n")
    return venv / "bin"


def write_defs(path: Path, deps: dict[str, list[str]]) -> None:
    """``deps`` (``layerN.mNNNN`` -> what it reads) as a Dagster definitions file."""
    lines = ["import dagster as dg", ""]
    for name, ups in deps.items():
        key = name.split(".")
        reads = ", ".join(f"dg.AssetKey({u.split('.')!r})" for u in ups)
        lines.append(f"@dg.asset(key={key!r}, deps=[{reads}])")
        lines.append(f"def {key[1]}() -> None:\n    pass\n")
    names = ", ".join(name.split(".")[1] for name in deps)
    lines.append(f"defs = dg.Definitions(assets=[{names}])")
    path.write_text("\n".join(lines) + "\n")


def serve(home: Path, deps: dict[str, list[str]], timeout: float = 600) -> tuple[Background, str]:
    """``dagster-webserver`` of the generated definitions, ready and its location loaded;
    and its URL. The caller stops it."""
    bin_dir = dagster_venv()
    (home / "instance").mkdir(parents=True)
    (home / "instance" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    write_defs(home / "defs.py", deps)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DAGSTER_HOME": str(home / "instance")}
    argv = [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)]
    argv += ["-f", str(home / "defs.py")]
    began = time.monotonic()
    server = Background(argv, home / "webserver.log", f"{url}/server_info", env, timeout)
    try:
        _wait_loaded(url, began + timeout)
        graphql(url, "mutation { setNuxSeen }")
    except BaseException:
        server.stop()
        raise
    server.ready_s = time.monotonic() - began
    return server, url


def graphql(url: str, query: str) -> dict[str, object]:
    """One GraphQL call; its ``data``, or a RuntimeError with Dagster's errors."""
    answer = httpx.post(f"{url}/graphql", json={"query": query}, timeout=120)
    answer.raise_for_status()
    body = answer.json()
    if body.get("errors"):
        raise RuntimeError(f"dagster: {body['errors'][0].get('message')}")
    return dict(body["data"])


def _wait_loaded(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        data = graphql(url, LOADED)
        entries = data["workspaceOrError"]["locationEntries"]  # type: ignore[index]
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            return
        time.sleep(1)
    raise RuntimeError("dagster: the code location did not load in time")
