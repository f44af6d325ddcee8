"""The CLI's way through a live server: :func:`connect` finds ``.headwater/server.json``,
checks that its PID is alive and that ``GET /api/health`` answers; :class:`Remote` then
asks the server what :mod:`headwater.api` would answer in-process and returns the same
records. Standard library only (``urllib``): a command without a server pays nothing but
reading one file.

urllib.request is imported only once a live server is found.

Errors: the server's ``{"error", "exit_code"}`` is raised as a :class:`HeadwaterError`
with that message and exit code; a server that stops answering mid-command raises
:class:`ConnectionError_` naming its URL (never the token).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from headwater.api.records import (
    CheckReport,
    LoadInfo,
    QuarantineGroupInfo,
    QuarantineListing,
    QueryResult,
    RejectedInfo,
    ReleaseResult,
    RunDetail,
    RunInfo,
    StepInfo,
)
from headwater.errors import ConnectionError_, HeadwaterError
from headwater.server.state import ServerInfo, live_server

if TYPE_CHECKING:
    import urllib.error
    import urllib.request

STATE_DIR = ".headwater"  # headwater.project.loader.STATE_DIR, without loading the project
_HEALTH_TIMEOUT_S = 1.0


def connect(project_dir: Path) -> Remote | None:
    """The live server of the project in ``project_dir``; None when there is none (no
    server.json, a dead PID, or no answer to ``/api/health``): the caller works in-process."""
    info = live_server(project_dir / STATE_DIR)
    if info is None:
        return None
    remote = Remote(info)
    try:
        remote.get("/api/health", timeout=_HEALTH_TIMEOUT_S)
    except HeadwaterError:
        return None
    return remote


class Remote:
    """The HTTP API of a running server, with the signatures of :mod:`headwater.api`'s
    readers, ``check`` and quarantine calls (``project`` is accepted and ignored: the server
    holds the project)."""

    def __init__(self, info: ServerInfo) -> None:
        self.info = info

    # ------------------------------------------------------------------ api-shaped reads

    def runs(self, project: Any, limit: int = 20) -> list[RunInfo]:
        return [_run(r) for r in self.get(f"/api/runs?limit={int(limit)}")]

    def show(self, project: Any, run_id: str) -> RunDetail:
        found = self.get("/api/runs/" + quote(run_id, safe=""))
        return RunDetail(_run(found["run"]), [_step(s) for s in found["steps"]])

    def query(self, project: Any, sql: str, limit: int | None = None) -> QueryResult:
        found = self.post("/api/query", {"sql": sql, "limit": limit})
        return QueryResult(found["columns"], [tuple(r) for r in found["rows"]])

    def loads(self, project: Any, asset: str | None = None, limit: int = 20) -> list[LoadInfo]:
        query = {"limit": str(int(limit)), **({"asset": asset} if asset else {})}
        found = self.get("/api/loads?" + urlencode(query))
        return [LoadInfo(**{**ld, "loaded_at": _at(ld["loaded_at"])}) for ld in found]

    # ------------------------------------------------------------------ checks, quarantine

    def check(
        self, project: Any, select: list[str] | None = None, exclude: list[str] | None = None
    ) -> CheckReport:
        from headwater.quality.runner import CheckResult  # only a check needs it

        body = {"select": list(select or []), "exclude": list(exclude or [])}
        found = self.post("/api/check", body)
        results = [CheckResult.from_dict(r) for r in found["results"]]
        return CheckReport(found["run_id"], found["ok"], found["skipped"], results)

    def quarantine(self, project: Any, asset: str | None = None) -> QuarantineListing:
        found = self.get("/api/quarantine" + (f"?{urlencode({'asset': asset})}" if asset else ""))
        return QuarantineListing(
            [
                QuarantineGroupInfo(**{**g, "last_at": _at(g["last_at"])})
                for g in found["quarantined"]
            ],
            [RejectedInfo(**r) for r in found["rejected"]],
        )

    def quarantined_rows(
        self,
        project: Any,
        asset: str,
        *,
        check: str | None = None,
        load_id: str | None = None,
        limit: int = 50,
    ) -> QueryResult:
        query = {"limit": str(int(limit)), **_given(check=check, load_id=load_id)}
        found = self.get(f"{_quarantine(asset)}/rows?{urlencode(query)}")
        return QueryResult(found["columns"], [tuple(r) for r in found["rows"]])

    def release(
        self,
        project: Any,
        asset: str,
        *,
        check: str | None = None,
        load_id: str | None = None,
        force: bool = False,
    ) -> ReleaseResult:
        body = {"check": check, "load_id": load_id, "force": force}
        return ReleaseResult(**self.post(f"{_quarantine(asset)}/release", body))

    def discard(
        self, project: Any, asset: str, *, check: str | None = None, load_id: str | None = None
    ) -> int:
        body = {"check": check, "load_id": load_id}
        return int(self.post(f"{_quarantine(asset)}/discard", body)["discarded"])

    # ------------------------------------------------------------------ runs

    def enqueue(
        self,
        select: list[str],
        exclude: list[str],
        pipeline: str | None,
        full_refresh: bool,
        interval: tuple[datetime, datetime] | None = None,
        run_group: str | None = None,
    ) -> str:
        """Queue a run on the server (with its data ``interval`` and ``run_group``, if
        any); its id."""
        body: dict[str, Any] = {
            "select": select,
            "exclude": exclude,
            "pipeline": pipeline,
            "full_refresh": full_refresh,
        }
        if interval is not None:
            body["interval_start"], body["interval_end"] = (t.isoformat() for t in interval)
        if run_group is not None:
            body["run_group"] = run_group
        return str(self.post("/api/runs", body)["run_id"])

    def trigger(self, pipeline: str) -> str:
        """Queue a manual run of ``pipeline`` on the server; its id."""
        return str(self.post(f"/api/pipelines/{quote(pipeline, safe='')}/trigger", {})["run_id"])

    def backfill(
        self, pipeline: str, start: str, end: str, reprocess: str, *, single_run: bool
    ) -> tuple[str | None, int]:
        """Backfill ``pipeline`` on the server: the run's id (``single_run``; None when it
        queued none) and how many intervals are to run."""
        body = {"start": start, "end": end, "reprocess": reprocess, "single_run": single_run}
        found = self.post(f"/api/pipelines/{quote(pipeline, safe='')}/backfill", body)
        return found["run_id"], int(found["intervals"])

    def cancel(self, run_id: str) -> None:
        self.post(f"/api/runs/{quote(run_id, safe='')}/cancel", {})

    def read_ipc(
        self,
        asset: str,
        *,
        columns: list[str] | None = None,
        where: str | None = None,
        limit: int | None = None,
        timeout: float = 600.0,
    ) -> bytes:
        """``GET /api/read/{asset}``: the asset's rows as the bytes of an Arrow IPC stream."""
        import urllib.request

        query = _given(
            columns=",".join(columns) if columns else None,
            where=where,
            limit=None if limit is None else str(int(limit)),
        )
        path = "/api/read/" + quote(asset, safe="") + (f"?{urlencode(query)}" if query else "")
        data: bytes = self._call(urllib.request.Request(self.info.url + path), timeout, raw=True)
        return data

    # ------------------------------------------------------------------ HTTP

    def get(self, path: str, *, timeout: float = 60.0) -> Any:
        import urllib.request

        return self._call(urllib.request.Request(self.info.url + path), timeout)

    def post(self, path: str, body: dict[str, Any], *, timeout: float = 60.0) -> Any:
        import urllib.request

        request = urllib.request.Request(
            self.info.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return self._call(request, timeout)

    def _call(self, request: urllib.request.Request, timeout: float, *, raw: bool = False) -> Any:
        # imported here: a command with no live server never loads urllib.request
        import urllib.error
        import urllib.request

        request.add_header("Authorization", f"Bearer {self.info.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                body = answer.read()
                return body if raw else json.loads(body)
        except urllib.error.HTTPError as exc:
            raise _server_error(exc) from None
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ConnectionError_(
                f"headwater server at {self.info.url} (PID {self.info.pid}) did not answer: "
                f"{reason}"
            ) from None


def read(
    asset: str,
    as_: str = "arrow",
    *,
    project: str | Path = ".",
    columns: list[str] | None = None,
    where: str | None = None,
    limit: int | None = None,
) -> Any:
    """``headwater.read``: ``asset`` (a model or source of the project in folder
    ``project``) as ``as_`` = ``arrow`` (a ``pyarrow.Table``), ``pandas`` or ``polars``;
    ``columns``, a ``where`` filter (SQL) and a row ``limit`` are applied by the warehouse.
    Through the project's live server when one runs (``GET /api/read/{asset}``, Arrow IPC),
    else in-process on the warehouse opened read-only. Raises HeadwaterError (one line)."""
    from headwater.api import read as reading

    if as_ not in reading.FORMATS:  # refused before any work
        reading.convert(None, as_)
    remote = connect(Path(project))
    if remote is not None:
        data = remote.read_ipc(asset, columns=columns, where=where, limit=limit)
        table = reading.from_ipc(data)
    else:
        table = reading.read_table(project, asset, columns=columns, where=where, limit=limit)
    return reading.convert(table, as_)


def _server_error(exc: urllib.error.HTTPError) -> HeadwaterError:
    try:
        body = json.loads(exc.read())
        error = HeadwaterError(str(body["error"]))
        error.exit_code = int(body.get("exit_code", 1))
    except (ValueError, KeyError, TypeError, OSError):
        error = HeadwaterError(f"headwater server answered HTTP {exc.code}")
    return error


def _quarantine(asset: str) -> str:
    return "/api/quarantine/" + quote(asset, safe="")


def _given(**options: str | None) -> dict[str, str]:
    """The options that are set (a query string has no null)."""
    return {k: v for k, v in options.items() if v is not None}


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _run(j: dict[str, Any]) -> RunInfo:
    return RunInfo(
        j["run_id"], j["kind"], j["status"], j["trigger"], j["parent_run_id"], j["pipeline"],
        j["selection"], datetime.fromisoformat(j["started_at"]), _at(j["finished_at"]),
        j.get("reason"), j.get("run_group"),
    )  # fmt: skip


def _step(j: dict[str, Any]) -> StepInfo:
    return StepInfo(
        j["step"], j["kind"], j["status"], j["attempts"], _at(j["started_at"]),
        _at(j["finished_at"]), j["rows_in"], j["rows_out"], j["error"], j["log_path"],
    )  # fmt: skip
