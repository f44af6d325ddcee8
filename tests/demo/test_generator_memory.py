"""The demo generator streams (issue 18, "Memory at scale"): `headwater demo` writes batch 1
row by row (headwater.demo.stream), the same data and ground truth as the in-memory
generator, and its peak memory does not grow with the scale."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

from headwater.demo.generator import build_dataset
from headwater.demo.stream import write_streamed
from headwater.demo.truth import answers
from headwater.demo.writer import read_state, write_dataset


def _content(root: Path) -> dict[str, str]:
    """Each SQLite table's rows (in rowid order) and each other file's bytes, digested."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = str(path.relative_to(root))
        if path.suffix != ".sqlite":
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
            continue
        con = sqlite3.connect(path)
        try:
            tables = con.execute("select name, sql from sqlite_master order by name").fetchall()
            for table, sql in tables:
                digest = hashlib.sha256(repr(sql).encode())
                if sql and sql.startswith("CREATE TABLE"):
                    for row in con.execute(f"select * from {table} order by rowid"):
                        digest.update(repr(row).encode())
                out[f"{name}:{table}"] = digest.hexdigest()
        finally:
            con.close()
    return out


def test_the_streamed_store_is_the_in_memory_one(tmp_path: Path) -> None:
    # scale 1: two or three of each planted kind per region, five malformed lines
    ds = build_dataset(scale=1.0, seed=7, batches=1)
    write_dataset(ds, tmp_path / "memory")
    truth = write_streamed(tmp_path / "streamed", scale=1.0, seed=7)

    streamed, memory = _content(tmp_path / "streamed"), _content(tmp_path / "memory")
    assert len(memory) > 20 and streamed == memory
    assert truth == answers(ds)
    assert read_state(tmp_path / "streamed") == read_state(tmp_path / "memory")


_PEAK = """
import resource, sys
from pathlib import Path
from headwater.demo.stream import write_streamed
write_streamed(Path(sys.argv[1]), scale=float(sys.argv[2]), seed=7)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_kb(folder: Path, scale: float) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(folder), str(scale)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.split()[-1])


def test_generator_peak_memory_does_not_grow_with_scale(tmp_path: Path) -> None:
    small = _peak_kb(tmp_path / "small", 0.2)
    large = _peak_kb(tmp_path / "large", 1.0)
    # five times the rows; holding them (as build_dataset does) costs about 30 MB more here
    assert large - small < 12 * 1024, f"peak {small // 1024} MB at 0.2, {large // 1024} MB at 1.0"
