"""Whether the project's engine can do what a plan asks, checked before anything runs.

Each feature a project may use is allowed by one field of the engine's
:class:`~headwater.engines.Capabilities` (read through
:func:`~headwater.engines.capabilities_of`, so no warehouse is opened and no driver
imported). A plan that uses a feature its engine lacks is refused here, in one line naming
the asset, the feature and the engine, before the run is recorded or the warehouse opened:
not by the engine itself, halfway through a run whose earlier steps already wrote.

The engine's name appears only in the message; which path is allowed is the capability's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from headwater.engines import Capabilities, capabilities_of
from headwater.errors import ProjectError
from headwater.project import Asset, Project


@dataclass(frozen=True)
class Need:
    """One feature an asset uses and the capability field that allows it."""

    capability: str  # a field of Capabilities
    feature: str  # what the user wrote, in the plural: "partitioned models"
    location: str  # file:line of the asset (or of its check) that uses it


def needs(asset: Asset) -> Iterator[Need]:
    """The capabilities ``asset`` needs beyond what every engine does (SQL, views, tables,
    appends, checks that only read)."""
    model = asset.model
    if model is not None and (model.partition_by is not None or model.grain is not None):
        yield Need("partitioned_models", "partitioned models", asset.location)
    for check in asset.checks:
        if check.quarantines:
            yield Need("quarantine", 'checks with on_fail = "quarantine"', check.location)
    if asset.source is not None and asset.source.write in ("merge", "scd2"):
        # both update rows the table holds, by key
        feature = f'sources written with write = "{asset.source.write}"'
        yield Need("merge", feature, asset.location)
    if asset.export is not None:
        yield Need("files_out", "exports", asset.location)
        if asset.export.to.startswith("s3://"):
            yield Need("object_store", "exports to s3://", asset.location)
    if asset.sync is not None:
        yield Need("sync_diff", "syncs", asset.location)


def missing(asset: Asset, caps: Capabilities) -> list[Need]:
    """The needs of ``asset`` that ``caps`` does not grant."""
    return [need for need in needs(asset) if not getattr(caps, need.capability)]


def refuse_unsupported(project: Project, names: Iterable[str]) -> None:
    """ProjectError (exit 2, one line) when an asset of ``names`` uses a feature that the
    project's engine lacks: the first such asset, its feature, the engine and the
    capability, with the names of any other assets refused for the same reason."""
    kind = project.settings.project.engine
    caps = capabilities_of(kind)
    refused = [(name, found) for name in names if (found := missing(project.graph[name], caps))]
    if not refused:
        return
    name, found = refused[0]
    need = found[0]
    where = _relative(project.root, need.location)
    line = (
        f"{where}: {name}: {need.feature} are not supported by the {kind} engine "
        f"(capability {need.capability})"
    )
    others = [other for other, _ in refused[1:]]
    if others:
        line += f"; also refused: {', '.join(others)}"
    raise ProjectError(line)


def _relative(root: Path, location: str) -> str:
    """``location`` with the project's folder left out (``models/daily.sql:1``)."""
    for prefix in {str(root), str(root.resolve())}:
        if location.startswith(prefix + "/"):
            return location[len(prefix) + 1 :]
    return location
