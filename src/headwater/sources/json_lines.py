"""Malformed JSON lines: each named by file and line, then refused or set aside.

DuckDB's ``read_json`` stops at the first malformed line and misnames it: it counts one line
too many ("line 4" for the third line, DuckDB 1.5). Its ``ignore_errors`` turns a bad line
into a row of NULLs, which a load would keep as data. So a JSON-lines scan runs strict, and
only when it fails on malformed JSON does this module read the scan's files line by line to
find every bad line (:func:`bad_lines`). Then, per the source's ``on_bad_line``:

- ``fail``: the load fails naming the first bad line (file:line, the parser's reason);
- ``skip_and_record`` (the default): :func:`set_aside` writes the good lines of each file that
  has bad ones to a copy in a scratch folder, and the bad lines to a JSON-lines file there;
  the load reads the copies in place of those files (``_hw_file`` still names the original)
  and records the bad lines in ``_headwater.rejected_rows``, as it does for CSV.

Lines are read as UTF-8 text (``.gz`` decompressed); a blank line is no row, as in DuckDB.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

RAW_LIMIT = 1000  # characters of a bad line kept in the rejected rows
MALFORMED = "Malformed JSON"  # DuckDB's error for a line its parser refuses


@dataclass(frozen=True)
class BadLine:
    file: str  # as the scan lists it: relative to the project root, or absolute
    line: int  # 1-based
    error: str
    raw: str


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's parser accepts NaN and Infinity


def problem(text: str) -> str | None:
    """Why a line is not one JSON object (None: it is one, or it is blank).

    >>> problem('{"id": 1}') is None, problem("   ") is None
    (True, True)
    >>> problem('{"id": 1')
    "Expecting ',' delimiter at column 9"
    >>> problem("[1, 2]"), problem('{"x": NaN}')
    ('not a JSON object', 'NaN is not JSON')
    """
    if not text.strip():
        return None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at column {exc.colno}"
    except ValueError as exc:
        return str(exc)
    return None if isinstance(value, dict) else "not a JSON object"


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="\n")
    return path.open(encoding="utf-8", errors="replace", newline="\n")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with _open(path) as stream:
        for number, text in enumerate(stream, start=1):
            yield number, text.rstrip("\r\n")


def bad_lines(root: Path, files: list[str]) -> list[BadLine]:
    """Every line of ``files`` (relative to ``root``, or absolute) that is not one JSON
    object, in file and line order."""
    found = []
    for name in files:
        for number, text in _lines(root / name):
            reason = problem(text)
            if reason is not None:
                found.append(BadLine(name, number, reason, text[:RAW_LIMIT]))
    return found


def set_aside(root: Path, bad: list[BadLine], folder: Path) -> tuple[dict[str, Path], Path]:
    """Write, under ``folder``, a copy of each file with bad lines holding only its good
    lines, and the bad lines as JSON lines (``file``, ``line``, ``error``, ``raw``).
    Returns the copies (by the name the scan lists) and the bad lines' file."""
    copies: dict[str, Path] = {}
    bad_at = {(b.file, b.line) for b in bad}
    for index, name in enumerate(sorted({b.file for b in bad})):
        # the copy keeps the file's name and its key=value folders (read as columns)
        keys = [part for part in Path(name).parent.parts if "=" in part]
        copy = folder / str(index) / Path(*keys) / Path(name).name.removesuffix(".gz")
        copy.parent.mkdir(parents=True)
        with copy.open("w", encoding="utf-8") as out:
            for number, text in _lines(root / name):
                if (name, number) not in bad_at:
                    out.write(text + "\n")
        copies[name] = copy
    rejects = folder / "rejected.jsonl"
    with rejects.open("w", encoding="utf-8") as out:
        for b in bad:
            out.write(json.dumps({"file": b.file, "line": b.line, "error": b.error, "raw": b.raw}))
            out.write("\n")
    return copies, rejects
