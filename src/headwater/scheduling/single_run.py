"""``headwater backfill --single-run``: whether one run over a range ``[start, end)`` builds
what one run per interval of the range would. Pure (no I/O): it reads the project's
settings only.

One run over the range equals the runs of its intervals when each step of the pipeline
either builds only its data interval, whatever its length, or builds whole:

- a partitioned model (``partition_by``, ``grain``) replaces the range's rows in one
  transaction, as each interval's run replaces its own; the range must be whole grain
  units of the pipeline's ``timezone`` (as each interval must);
- a view, a table model and a task build whole (the last of the interval runs leaves what
  the one run leaves); a source reads its range (``interval_column``) or what is new;
- an **incremental model without** ``partition_by`` cannot: each run adds what it finds
  after its own watermark (or ``lookback`` window), so one run is not N runs. It is refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from headwater.errors import ProjectError
from headwater.models.partitions import Bounds, check_aligned, check_partitioning, zone_of
from headwater.project import Project


def check_single_run(project: Project, steps: Iterable[str], interval: Bounds, tz: str) -> None:
    """ProjectError (exit 2), one line naming the model and why, when one run of ``steps``
    over ``interval`` (in zone ``tz``) would not equal a run per scheduled interval."""
    for name in steps:
        asset = project.graph[name]
        if asset.kind != "model" or asset.model is None:
            continue
        if check_partitioning(asset) is not None:
            grain = asset.model.grain
            assert grain is not None
            try:
                check_aligned(asset, interval, grain, zone_of(tz))
            except ProjectError as exc:
                raise ProjectError(f"--single-run: {exc}") from None
        elif asset.model.materialized == "incremental":
            raise ProjectError(
                f"--single-run: {asset.location}: model {name} is incremental without "
                "partition_by: one run over the range would add once what a run per "
                "interval adds interval by interval; backfill without --single-run, or "
                "partition the model (partition_by, grain)"
            )
