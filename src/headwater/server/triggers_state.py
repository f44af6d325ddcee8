"""What the server's triggers have seen, kept per pipeline in
``.headwater/triggers/<pipeline>.json`` (written atomically: a temporary file, then
``os.replace``), so that a restarted server neither misses what came while it was down nor
runs twice for what a run already saw.

A firing's :class:`Seen` (files with their size and mtime, upstream run ids, a condition's
value) is a *claim* of the run it starts, recorded under that run's id before the run is
queued. When the run ends ``success`` or ``failed`` (or a user cancelled it) the claim is
*settled*: what it saw becomes seen. When it was stopped (SIGTERM, a kill) the claim is
dropped and the next look finds the same things new again. On start,
:meth:`TriggerState.recover` settles each claim as the metastore says its run ended.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_log = logging.getLogger("headwater.server")

FileSig = tuple[int, int]  # size in bytes, mtime in nanoseconds


@dataclass
class Seen:
    """What one firing (or several, coalesced) saw: files, upstream runs, a value."""

    files: dict[str, FileSig] = field(default_factory=dict)
    upstream: set[str] = field(default_factory=set)
    value: str | None = None  # a condition's value as JSON text; None: no condition part

    def merge(self, other: Seen) -> None:
        self.files.update(other.files)
        self.upstream |= other.upstream
        if other.value is not None:
            self.value = other.value

    def to_json(self) -> dict[str, Any]:
        return {
            "files": {p: list(s) for p, s in sorted(self.files.items())},
            "upstream": sorted(self.upstream),
            "value": self.value,
        }

    @classmethod
    def from_json(cls, data: Any) -> Seen:
        data = data if isinstance(data, dict) else {}
        files = data.get("files") or {}
        return cls(
            {str(p): (int(s[0]), int(s[1])) for p, s in files.items()},
            {str(r) for r in data.get("upstream") or []},
            data.get("value") if isinstance(data.get("value"), str) else None,
        )


@dataclass
class TriggerState:
    """The durable memory of one pipeline's triggers (see the module's docstring).

    ``seen``: settled; ``claims``: run id -> what that run was started for; ``since``: the
    first start of a server watching this pipeline (upstream runs that finished before it
    are history, not news)."""

    path: Path
    root: Path  # the project folder: files are named relative to it
    seen: Seen = field(default_factory=Seen)
    claims: dict[str, Seen] = field(default_factory=dict)
    since: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def load(cls, path: Path, root: Path) -> TriggerState:
        """The state in ``path``; a fresh one (``since`` now) when there is none yet. A file
        that does not parse is logged and started afresh: losing it can rerun a pipeline
        once, never stop the server."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                path,
                root,
                Seen.from_json(data.get("seen")),
                {str(k): Seen.from_json(v) for k, v in (data.get("claims") or {}).items()},
                datetime.fromisoformat(data["since"]),
            )
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            _log.warning("%s: unreadable (%s); starting afresh", path, exc)
        state = cls(path, root)
        state.save()
        return state

    def known(self) -> Seen:
        """Everything seen or claimed: a thing outside it is new."""
        out = Seen(dict(self.seen.files), set(self.seen.upstream), self.seen.value)
        for claim in self.claims.values():
            out.merge(claim)
        return out

    def claim(self, run_id: str, seen: Seen) -> None:
        self.claims[run_id] = seen
        self.save()

    def settle(self, run_id: str, *, ran: bool) -> None:
        """End ``run_id``'s claim: what it saw becomes seen when it ``ran``, else it is
        forgotten (found again on the next look)."""
        claim = self.claims.pop(run_id, None)
        if claim is None:
            return
        if ran:
            self.seen.merge(claim)
            # files gone from the folder need no memory (a new one of that name is new)
            files = self.seen.files
            self.seen.files = {p: s for p, s in files.items() if (self.root / p).exists()}
        self.save()

    def recover(self, status_of: Callable[[str], str | None]) -> None:
        """Settle the claims a previous server left, as their runs ended: ``success`` or
        ``failed`` counts as seen; anything else (abandoned, interrupted, unknown) is
        forgotten so the trigger fires again."""
        for run_id in list(self.claims):
            self.settle(run_id, ran=status_of(run_id) in ("success", "failed"))

    def keep_upstream(self, listed: set[str]) -> None:
        """Forget settled upstream run ids no longer among ``listed`` (the recent runs the
        watcher reads): older runs are never read again, so need no memory."""
        if not self.seen.upstream <= listed:
            self.seen.upstream &= listed
            self.save()

    def save(self) -> None:
        data = {
            "since": self.since.isoformat(),
            "seen": self.seen.to_json(),
            "claims": {k: v.to_json() for k, v in sorted(self.claims.items())},
        }
        _write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader (or a kill) sees the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
