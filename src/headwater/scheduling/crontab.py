"""Crontab lines that run each scheduled pipeline, for teams without a server.

Contract: :func:`crontab_lines` returns, for each pipeline with a ``schedule`` or ``every`` (in
name order), a ``CRON_TZ=<zone>`` line (cronie and systemd-cron read it; the schedule's
``timezone``, UTC for ``every``) and the line that runs it, or one comment line saying why
the schedule cannot be written as a crontab line. A crontab has no ``start``, ``end``,
``catchup`` nor ``max_active_runs``: a comment says so when a pipeline sets them.

``every`` becomes a crontab line when it is a whole number of minutes dividing 60 or of hours
dividing 24 (``"15m"`` -> ``*/15 * * * *``); those fire on the hour and at midnight UTC, which
is where ``every`` without ``start`` steps from too.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from headwater.config.schedule import parse_every
from headwater.config.settings import PipelineSettings

__all__ = ["crontab_lines", "every_as_cron"]

_NOT_IN_CRONTAB = ("start", "end", "catchup", "max_active_runs")


def every_as_cron(every: timedelta) -> str | None:
    """The cron expression firing every ``every`` from midnight UTC, or None when a crontab
    cannot express it.

    >>> every_as_cron(timedelta(minutes=15)), every_as_cron(timedelta(hours=6))
    ('*/15 * * * *', '0 */6 * * *')
    >>> every_as_cron(timedelta(hours=1)), every_as_cron(timedelta(days=1))
    ('0 * * * *', '0 0 * * *')
    >>> every_as_cron(timedelta(minutes=7)) is None, every_as_cron(timedelta(seconds=90)) is None
    (True, True)
    """
    seconds = int(every.total_seconds())
    minutes, hours = seconds // 60, seconds // 3600
    if seconds % 3600 == 0 and 24 % hours == 0:
        return "0 0 * * *" if hours == 24 else "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    if seconds % 60 == 0 and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    return None


def crontab_lines(
    root: Path, pipelines: Mapping[str, PipelineSettings], command: str = "headwater"
) -> list[str]:
    """The crontab for the scheduled ``pipelines`` of the project at ``root`` (absolute)."""
    lines: list[str] = []
    for name in sorted(pipelines):
        pipe = pipelines[name]
        if pipe.schedule is None and pipe.every is None:
            continue
        run = (
            f"{shlex.quote(command)} run -p {shlex.quote(str(root))} --pipeline {shlex.quote(name)}"
        )
        if pipe.schedule is not None:
            lines += [f"CRON_TZ={pipe.timezone}", f"{pipe.schedule} {run}"]
        else:
            cron = every_as_cron(parse_every(pipe.every or ""))
            if cron is None:
                lines.append(
                    f"# {name}: every = {pipe.every!r} cannot be expressed in a crontab "
                    "(it takes minutes dividing 60 or hours dividing 24)"
                )
                continue
            lines += ["CRON_TZ=UTC", f"{cron} {run}"]
        ignored = [k for k in _NOT_IN_CRONTAB if k in pipe.model_fields_set]
        if ignored:
            lines.append(f"# {name}: a crontab ignores {', '.join(ignored)}")
    return lines
