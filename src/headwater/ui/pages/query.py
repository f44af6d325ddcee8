"""``/query``: read-only SQL against the warehouse, through the server's query path
(:func:`headwater.api.query`: one SELECT or EXPLAIN, in a transaction rolled back), with
a result table of at most :data:`SHOWN_ROWS` rows, a chart of the result in one click
(``ui/static/js/query_chart.js``: bar, line or scatter of a chosen x and y column, drawn
with the vendored uPlot) and CSV / Parquet downloads of the whole answer (up to
:data:`headwater.api.exports.EXPORT_ROW_CAP` rows) from ``GET /api/query/export``.

The statement travels in the query string (``/query?sql=...``): a result is a link, the
back button works, and nothing here changes state (a viewer may query). A refused or
failing statement is said in one line on the page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from headwater import api
from headwater.api.exports import EXPORT_ROW_CAP, export_query
from headwater.api.records import plain
from headwater.errors import HeadwaterError
from headwater.ui.auth import require
from headwater.ui.render import render
from headwater.ui.state import state

router = APIRouter()
_viewer = [Depends(require("viewer"))]
SHOWN_ROWS = 1000  # the page's table; the downloads carry the whole answer


@router.get("/query", name="query", dependencies=_viewer, include_in_schema=False)
def query_page(request: Request, sql: str = "") -> Response:
    """The SQL form; with ``sql``, its answer: the first :data:`SHOWN_ROWS` rows, whether
    there were more, the chart controls and the download links."""
    result: dict[str, Any] | None = None
    problem = ""
    if sql.strip():
        try:
            found = api.query(state(request).project, sql, SHOWN_ROWS + 1)
            result = {
                "columns": found.columns,
                "rows": plain(found.rows[:SHOWN_ROWS]),
                "more": len(found.rows) > SHOWN_ROWS,
                "y": _first_number(found.rows[:SHOWN_ROWS], len(found.columns)),
            }
        except HeadwaterError as exc:
            problem = _one_line(str(exc))
    return render(
        request,
        "query.html",
        title="Query",
        sql=sql,
        result=result,
        problem=problem,
        shown_rows=SHOWN_ROWS,
        export_cap=EXPORT_ROW_CAP,
    )


@router.get(
    "/api/query/export",
    name="query_export",
    dependencies=_viewer,
    response_class=StreamingResponse,
)
def query_export(
    request: Request,
    sql: str,
    fmt: str = Query("csv", alias="format"),
    limit: int | None = None,
) -> StreamingResponse:
    """``sql``'s answer as a file: ``format`` ``csv`` (a header line, then the rows) or
    ``parquet``, streamed as it is read; at most ``limit`` rows, and never more than the
    cap in the ``X-Headwater-Row-Cap`` header (1,000,000). A refused or failing statement
    is a 400 ``{error, exit_code}`` before any byte is sent."""
    export = export_query(state(request).project, sql, fmt, limit)
    return StreamingResponse(
        export.chunks(),
        media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "X-Headwater-Row-Cap": str(export.cap),
            "Cache-Control": "no-store",
        },
    )


def _first_number(rows: list[tuple[Any, ...]], width: int) -> int:
    """The chart's default y: the first column after the first holding numbers (the first
    other column when none does)."""
    for index in range(1, width):
        values = [r[index] for r in rows if r[index] is not None]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return index
    return 1 if width > 1 else 0


def _one_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "query failed"
