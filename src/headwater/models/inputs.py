"""What a Python model's parameters receive: each upstream asset as the type its
annotation names (see :mod:`headwater.engines.frames`), converted at the seam.

An annotation no kind matches is a ProjectError naming the model's file and line, the
parameter and what it may be annotated with, raised before the model is called.
"""

from __future__ import annotations

import inspect
from typing import Any

from headwater.engines.base import Engine
from headwater.engines.frames import ACCEPTED, FrameKind, annotation_name, convert, frame_kind
from headwater.errors import ProjectError
from headwater.project.asset import Asset
from headwater.project.graph import Graph


def model_inputs(asset: Asset, engine: Engine, graph: Graph) -> list[Any]:
    """The arguments of ``asset``'s function: its upstream assets, in parameter order."""
    kinds = input_kinds(asset, engine.capabilities.relation_type)
    inputs = []
    for dep, kind in zip(asset.deps[: len(asset.params)], kinds, strict=True):
        upstream = graph[dep]
        assert upstream.schema and upstream.table  # a model's inputs are tables
        relation = engine.relation(upstream.schema, upstream.table)
        inputs.append(relation if kind == "relation" else _converted(asset, engine, relation, kind))
    return inputs


def input_kinds(asset: Asset, relation_type: str) -> list[FrameKind]:
    """The kind each parameter of ``asset``'s function receives, by its annotation."""
    assert asset.function is not None
    parameters = _signature(asset.function).parameters
    kinds: list[FrameKind] = []
    for param in asset.params:
        name = annotation_name(parameters[param].annotation)
        kind = frame_kind(name, relation_type)
        if kind is None:
            raise ProjectError(
                f"{asset.location}: model {asset.name}: parameter {param!r} is annotated "
                f"{name}; annotate it {ACCEPTED}"
            )
        kinds.append(kind)
    return kinds


def _signature(function: Any) -> inspect.Signature:
    """The function's signature, string annotations resolved when they can be (else kept
    as text, which :func:`frame_kind` reads by name)."""
    try:
        return inspect.signature(function, eval_str=True)
    except Exception:  # a name only imported under TYPE_CHECKING: its text will do
        return inspect.signature(function)


def _converted(asset: Asset, engine: Engine, relation: Any, kind: FrameKind) -> Any:
    try:
        return convert(engine.to_arrow(relation), kind)
    except ImportError as exc:
        raise ProjectError(f"{asset.location}: model {asset.name}: {exc}") from None
