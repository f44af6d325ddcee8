"""A/B of ``headwater run``: this tree against an earlier commit, taking turns.

    .venv/bin/python -m benchmarks.ab files --before 41c0811 [--reps 5]
    .venv/bin/python -m benchmarks.ab postgres --before 41c0811
    .venv/bin/python -m benchmarks.ab postgres-arrow --before 41c0811   # transport = "arrow"
    .venv/bin/python -m benchmarks.ab mysql --before 41c0811

Each case reuses the data another benchmark made (run that one first): ``files`` the CSV
folder of ``ingest_files``, ``postgres`` the SF1 ``lineitem`` of ``ingest_postgres``,
``mysql`` the 1M-row ``lineitem`` of ``ingest_mysql`` (their servers are started here on
the same data directories). The earlier commit is checked out with ``git worktree add``
under ``benchmarks/.work/ab/<commit>`` and run with the same interpreter, its ``src`` first
on ``PYTHONPATH``. Every run loads into a fresh warehouse; the two versions take turns,
each first in every other round. Reported: median wall and CPU seconds (the run's process
and its children) of each version.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from benchmarks._common import ROOT, log, subprocess_env, time_subprocess, work_dir


def worktree(commit: str) -> Path:
    """The source tree of ``commit`` (checked out once, byte-compiled)."""
    path = work_dir("ab") / commit
    if not (path / "src").exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
            check=True,
            capture_output=True,
        )
    return path / "src"


def compile_tree(src: Path) -> None:
    """Byte-compile ``src`` where the measured runs look for it, so no run pays for that."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(src)], env=subprocess_env(), check=False
    )


@contextlib.contextmanager
def project_toml(case: str) -> Iterator[str]:
    """The ``headwater.toml`` of ``case``, with its database server running meanwhile."""
    if case == "files":
        folder = work_dir("ingest_files") / "csv"
        if not any(folder.glob("part-*.csv")):
            raise SystemExit("no CSV folder: run benchmarks.ingest_files first")
        yield (
            '[project]\nname = "ab"\n\n[sources.lineitem]\n'
            f'files = "{folder}/part-*.csv"\nwrite = "append"\n'
        )
        return
    from headwater.testing.servers import MariaDBServer, PostgresServer

    server_type, data, kind = {
        "postgres": (PostgresServer, work_dir("ingest_postgres") / "pg", "postgres"),
        "postgres-arrow": (PostgresServer, work_dir("ingest_postgres") / "pg", "postgres"),
        "mysql": (MariaDBServer, work_dir("ingest_mysql") / "mariadb", "mysql"),
    }[case]
    if not data.exists():
        raise SystemExit(f"no {kind} data: run benchmarks.ingest_{kind} first")
    transport = 'transport = "arrow"\n' if case == "postgres-arrow" else ""
    with server_type(data) as server:
        yield (
            f'[project]\nname = "ab"\n\n[connections.db]\nurl = "{server.url_for("bench")}"\n\n'
            '[sources.db]\nconnection = "db"\ntables = ["lineitem"]\nwrite = "replace"\n'
            + transport
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=["files", "postgres", "postgres-arrow", "mysql"])
    parser.add_argument("--before", required=True, help="the earlier commit")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    trees = {args.before: worktree(args.before), "this tree": ROOT / "src"}
    for src in trees.values():
        compile_tree(src)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    base = work_dir("ab", "projects")
    with project_toml(args.case) as toml:
        for i in range(args.reps):
            order = list(trees.items())
            for name, src in order if i % 2 == 0 else order[::-1]:
                root = base / name.replace(" ", "_")
                shutil.rmtree(root, ignore_errors=True)
                root.mkdir(parents=True)
                (root / "headwater.toml").write_text(toml)
                env = subprocess_env(extra={"PYTHONPATH": str(src)})
                run = time_subprocess(
                    [sys.executable, "-m", "headwater", "run", "-p", str(root)], env=env
                )
                assert run.returncode == 0, run.stderr
                times[name].append((run.seconds, run.cpu_seconds))
                log(f"  round {i + 1}: {name} {run.seconds:.2f} s, {run.cpu_seconds:.2f} CPU s")
    for name, samples in times.items():
        wall = statistics.median(s for s, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        print(
            f"{name:>12}: {wall:.2f} s, {cpu:.2f} CPU s (medians of {len(samples)}; "
            + "/".join(f"{s:.2f}" for s, _ in samples)
            + ")"
        )


if __name__ == "__main__":
    main()
