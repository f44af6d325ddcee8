"""Triggers besides the clock, evaluated by the server's scheduler loop (:meth:`tick`, once
a second): ``on_files`` (a new or changed file under a glob), ``on_assets`` (a successful
run of another pipeline, or of none, built one of those assets) and ``on_condition`` (a SQL
value on a connection changed). A firing queues a run of the pipeline on the server's run
queue, recorded with trigger ``files``, ``asset`` or ``condition`` and a ``reason``.

Contract:

- **Cost when idle:** globs are listed and the run history read at most every
  :data:`LOOK_EVERY` (2 s), not each tick; a condition's SQL runs at most every ``every``,
  on a thread of its own (a slow database never holds the scheduler back); a failing poll
  is one warning line naming the pipeline and the connection (never its secrets) and is
  tried again at the next period.
- **Once:** what a run was started for is claimed in ``.headwater/triggers/<pipeline>.json``
  before the run is queued, and becomes seen when the run ends
  (:mod:`~headwater.server.triggers_state`); so a file, an upstream run, a condition value
  starts one run that ends, across restarts and kills. The first value a condition reads
  (none seen before) starts a run; upstream runs that finished before a server first
  watched the pipeline do not.
- **No pile-up:** while a pipeline has ``max_active_runs`` runs queued or running (its
  triggered runs and its scheduled intervals), what fires is merged into one pending run,
  queued when a slot frees. Upstream runs wait :data:`DEBOUNCE` after the first is seen, so
  several arriving together start one run.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from headwater.config.triggers import FileTrigger, file_trigger, resolve_asset
from headwater.errors import ProjectError
from headwater.metastore import Metastore
from headwater.metastore.records import RunRecord
from headwater.project import Project
from headwater.runtime.run import new_run_id
from headwater.server.runs import RunQueue, RunRequest
from headwater.server.triggers_state import FileSig, Seen, TriggerState
from headwater.server.triggers_watch import (
    RecentRuns,
    condition_value,
    files_reason,
    settled_files,
    shown,
    upstream_reason,
    upstream_runs,
)

_log = logging.getLogger("headwater.server")
LOOK_EVERY = timedelta(seconds=2)  # globs and run history are read at most this often
DEBOUNCE = timedelta(seconds=2)  # upstream runs arriving within this start one run
TRIGGERS = frozenset({"files", "asset", "condition"})  # the triggers a run is recorded with
_REASON_MAX = 300
_ENDED = frozenset({"success", "failed", "interrupted", "abandoned"})


@dataclass
class _Pending:
    """A firing (or several, merged) waiting for a free slot."""

    trigger: str
    reasons: list[tuple[str, str]]  # (trigger, reason) per firing; files: one entry
    seen: Seen
    not_before: datetime

    def add(self, trigger: str, reason: str, seen: Seen, not_before: datetime) -> None:
        if trigger != "files" or all(kind != "files" for kind, _ in self.reasons):
            self.reasons.append((trigger, reason))
        self.seen.merge(seen)
        self.not_before = max(self.not_before, not_before)

    @property
    def reason(self) -> str:
        """Each firing's reason (the files of all of them as one list), ``; ``-joined."""
        parts = []
        for kind, text in self.reasons:
            text = files_reason(self.seen.files) if kind == "files" else text
            parts.append(text if kind == self.trigger else f"{kind} {text}")
        text = "; ".join(parts)
        return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 3] + "..."


@dataclass
class _Watch:
    """One triggered pipeline: its settings, durable state, runs in flight, pending run."""

    name: str
    state: TriggerState
    assets: frozenset[str]
    limit: int
    scheduled: bool
    running: set[str] = field(default_factory=set)
    pending: _Pending | None = None
    next_poll: float = 0.0  # monotonic time of the condition's next poll
    polling: bool = False


class Triggers:
    """The triggered pipelines of ``project``, run on ``runs``."""

    def __init__(self, project: Project, runs: RunQueue) -> None:
        self.project, self.runs = project, runs
        shorts = {a.name: a.short_name for a in project.graph}
        self.watches: dict[str, _Watch] = {}
        for name, pipe in project.settings.pipelines.items():
            if not pipe.triggered:
                continue
            assets = {resolve_asset(ref, shorts) for ref in pipe.on_assets}
            self.watches[name] = _Watch(
                name,
                TriggerState.load(_state_path(project, name), project.root),
                frozenset(a for a in assets if a),
                pipe.max_active_runs,
                pipe.schedule is not None or pipe.every is not None,
            )
        _refuse_cycles(project, {n: w.assets for n, w in self.watches.items() if w.assets})
        self._lock = threading.Lock()
        self._next_look = datetime.min.replace(tzinfo=UTC)
        self._recent = RecentRuns()  # the run history, as the on_assets watchers read it
        self._polled: list[tuple[str, str | None, str | None]] = []  # (pipeline, value, error)

    def __bool__(self) -> bool:
        return bool(self.watches)

    def recover(self, store: Metastore) -> None:
        """Settle the claims a previous server left (see TriggerState.recover). Read from
        the file again: a server that becomes the leader of several takes over what the
        previous leader wrote there."""

        def status_of(run_id: str) -> str | None:
            record = store.get_run(run_id)
            return record.status if record is not None else None

        with self._lock:
            for watch in self.watches.values():
                watch.state = TriggerState.load(watch.state.path, self.project.root)
                watch.state.recover(status_of)
                watch.running.clear()
            self._recent.forget()

    def tick(self, now: datetime) -> None:
        """Look (files and history at most every LOOK_EVERY; conditions when due), then
        queue the pending runs that have a free slot."""
        if now >= self._next_look:
            self._next_look = now + LOOK_EVERY
            self._look_files(now)
            self._look_upstream(now)
            self._reap()
        self._look_conditions(now)
        self._queue_pending(now)

    # ---------------------------------------------------------------- looks

    def _look_files(self, now: datetime) -> None:
        listed: dict[FileTrigger, dict[str, FileSig]] = {}  # pipelines sharing a glob list it once
        for name, watch in self.watches.items():
            trigger = file_trigger(self.project.settings.pipelines[name].on_files)
            if trigger is None:
                continue
            if trigger not in listed:
                listed[trigger] = settled_files(self.project.root, trigger, now.timestamp())
            found = listed[trigger]
            with self._lock:
                known = self._known(watch).files
                new = {p: s for p, s in found.items() if known.get(p) != s}
                if new:
                    self._fire(watch, "files", files_reason(new), Seen(files=new), now)

    def _look_upstream(self, now: datetime) -> None:
        watching = [w for w in self.watches.values() if w.assets]
        if not watching:
            return
        with Metastore.open(self.project.metastore_url) as store:
            if not self._recent.read(store):  # no run started or ended since the last look
                return
            for watch in watching:
                with self._lock:
                    known = self._known(watch).upstream

                def skip(run: RunRecord, w: _Watch = watch, known: set[str] = known) -> bool:
                    return run.run_id in known or run.pipeline == w.name  # no self-trigger

                found = upstream_runs(
                    store, self._recent, watch.assets, since=watch.state.since, skip=skip
                )
                with self._lock:
                    watch.state.keep_upstream(self._recent.ids)
                    if found:
                        seen = Seen(upstream={u.run_id for u in found})
                        self._fire(watch, "asset", upstream_reason(found), seen, now + DEBOUNCE)

    def _look_conditions(self, now: datetime) -> None:
        with self._lock:
            polled, self._polled = self._polled, []
        for name, value, error in polled:
            watch = self.watches[name]
            cond = self.project.settings.pipelines[name].on_condition
            if error is not None or cond is None:
                _log.warning("pipeline %s: on_condition poll failed: %s", name, error)
                continue
            with self._lock:
                last = self._known(watch).value
                if value != last:
                    what = (
                        f"first value {shown(value)}"
                        if last is None
                        else (f"{shown(last)} -> {shown(value)}")
                    )
                    reason = f"{cond.connection}: {what}"
                    self._fire(watch, "condition", reason, Seen(value=value), now)
        clock = time.monotonic()
        for name, watch in self.watches.items():
            cond = self.project.settings.pipelines[name].on_condition
            if cond is None or watch.polling or clock < watch.next_poll:
                continue
            watch.polling, watch.next_poll = True, clock + cond.period.total_seconds()
            threading.Thread(
                target=self._poll, args=(watch,), name=f"hw-condition-{name}", daemon=True
            ).start()

    def _poll(self, watch: _Watch) -> None:
        cond = self.project.settings.pipelines[watch.name].on_condition
        value: str | None = None
        error: str | None = None
        try:
            if cond is not None:
                value = condition_value(self.project, cond)
        except Exception as exc:  # logged on the next tick; tried again next period
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        with self._lock:
            self._polled.append((watch.name, value, error))
            watch.polling = False

    # ---------------------------------------------------------------- runs

    def _known(self, watch: _Watch) -> Seen:
        """Seen, claimed or pending: anything else is new. Called with the lock held."""
        known = watch.state.known()
        if watch.pending is not None:
            known.merge(watch.pending.seen)
        return known

    def _fire(self, watch: _Watch, trigger: str, reason: str, seen: Seen, at: datetime) -> None:
        """Merge a firing into the pipeline's pending run. Called with the lock held."""
        _log.info("pipeline %s: trigger %s fired: %s", watch.name, trigger, reason)
        if watch.pending is None:
            watch.pending = _Pending(trigger, [(trigger, reason)], seen, at)
        else:
            watch.pending.add(trigger, reason, seen, at)

    def _reap(self) -> None:
        """Settle the claims of runs that ended without telling (a run queued in a shared
        metastore is run, and ended, by whichever server claimed it)."""
        running = [(w, r) for w in self.watches.values() for r in list(w.running)]
        if not running:
            return
        with Metastore.open(self.project.metastore_url) as store:
            ended = [(w, r, rec.status) for w, r in running
                     if (rec := store.get_run(r)) is not None and rec.status in _ENDED]  # fmt: skip
        for watch, run_id, status in ended:
            self._done(watch, run_id, status)

    def _queue_pending(self, now: datetime) -> None:
        waiting = [w for w in self.watches.values() if w.pending and now >= w.pending.not_before]
        if not waiting:
            return
        scheduled = [w for w in waiting if w.scheduled]
        active: dict[str, int] = {}
        if scheduled:  # its clock's intervals take slots too
            with Metastore.open(self.project.metastore_url) as store:
                active = {w.name: store.active_count(w.name) for w in scheduled}
        for watch in waiting:
            with self._lock:
                pending = watch.pending
                if pending is None or len(watch.running) + active.get(watch.name, 0) >= watch.limit:
                    continue
                watch.pending = None
                run_id = new_run_id()
                watch.state.claim(run_id, pending.seen)
                watch.running.add(run_id)
            self._submit(watch, pending, run_id)

    def _submit(self, watch: _Watch, pending: _Pending, run_id: str) -> None:
        request = RunRequest(
            pipeline=watch.name,
            trigger=pending.trigger,
            reason=pending.reason,
            on_done=lambda rid, status: self._done(watch, rid, status),
        )
        try:
            self.runs.submit(request, run_id)
        except Exception as exc:  # stopping: forgotten, found again after a restart
            _log.info("pipeline %s: triggered run not queued: %s", watch.name, exc)
            self._done(watch, run_id, "interrupted")

    def _done(self, watch: _Watch, run_id: str, status: str) -> None:
        with self._lock:
            if run_id not in watch.running:  # settled already
                return
            watch.running.discard(run_id)
            # stopped by the server (SIGTERM): found again after a restart
            watch.state.settle(run_id, ran=status in ("success", "failed", "cancelled"))


def _refuse_cycles(project: Project, watched: dict[str, frozenset[str]]) -> None:
    """ProjectError (one line, exit 2) when ``on_assets`` triggers form a cycle: pipeline
    A builds what B watches and B what A watches would start each other forever. A
    pipeline that builds what it watches itself is no cycle (its own runs are skipped)."""
    from headwater.api import selection
    from headwater.config.textfile import locate_key

    if not watched:
        return
    builds: dict[str, set[str]] = {}
    for name in project.settings.pipelines:
        try:
            builds[name] = set(selection(project, pipeline=name).names)
        except ProjectError:  # a selection that matches nothing builds nothing
            builds[name] = set()
    starts = {a: sorted(w for w, assets in watched.items() if w != a and builds[a] & assets)
              for a in watched}  # fmt: skip

    done: set[str] = set()  # pipelines from which no cycle is reachable

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for nxt in starts.get(name, []):
            if (cycle := visit(nxt, [*path, name])) is not None:
                return cycle
        done.add(name)
        return None

    for name in sorted(watched):
        if (cycle := visit(name, [])) is not None:
            toml = project.root / "headwater.toml"
            line = locate_key(
                toml.read_text(encoding="utf-8"), ("pipelines", cycle[0], "on_assets")
            )
            raise ProjectError(
                f"{toml}:{line}: pipelines.{cycle[0]}.on_assets: a cycle of asset triggers "
                f"({' -> '.join(cycle)}): each run would start the next, forever"
            )


def _state_path(project: Project, pipeline: str) -> Path:
    return project.state_dir / "triggers" / (re.sub(r"[^A-Za-z0-9_.-]", "_", pipeline) + ".json")
