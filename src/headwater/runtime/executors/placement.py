"""Which steps an executor may take: capabilities, as data.

A step *needs* capabilities (:func:`needs`): ``warehouse`` when it reads or writes the
warehouse, ``python`` when it calls the project's Python. An executor *provides* some
(:data:`PROVIDES`). A step leaves the run's own threads for the project's ``executor`` only
when that executor provides everything the step needs (:func:`takes`); otherwise it runs on
the run's threads, which provide everything.

With the embedded DuckDB warehouse only the run's process (or the server's) can write the
file, so ``process`` and ``dask`` provide ``python`` alone: they take the tasks declared
``@task(warehouse=False)``. A warehouse that is a server of its own (PostgreSQL, Spark: the
engines issue) would let them provide ``warehouse`` too; that is one entry of this table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from headwater.project.asset import Asset

WAREHOUSE: Final = "warehouse"  # reads or writes the warehouse
PYTHON: Final = "python"  # calls the project's own Python (a @task)

# what each kind of executor can do for a step (the key is the executor's kind)
PROVIDES: Final[dict[str, frozenset[str]]] = {
    "threads": frozenset({WAREHOUSE, PYTHON}),
    "process": frozenset({PYTHON}),
    "dask": frozenset({PYTHON}),
}


def kind_of(spec: str) -> str:
    """The executor's kind of a ``[project] executor`` value (``dask://h:p`` -> ``dask``)."""
    return "dask" if spec.startswith("dask://") else spec


def needs(asset: Asset) -> frozenset[str]:
    """What ``asset``'s step needs. Sources and models (with their checks) build tables in
    the warehouse; a task needs it unless declared ``@task(warehouse=False)``."""
    if asset.kind != "task":
        return frozenset({WAREHOUSE})
    return frozenset({PYTHON, WAREHOUSE}) if asset.warehouse else frozenset({PYTHON})


def takes(spec: str, asset: Asset) -> bool:
    """True when the executor ``spec`` (not ``threads``) runs ``asset``'s step."""
    kind = kind_of(spec)
    return kind != "threads" and needs(asset) <= PROVIDES[kind]


def taken(spec: str, assets: Iterable[Asset]) -> list[str]:
    """The names of the ``assets`` whose steps the executor ``spec`` runs."""
    return [a.name for a in assets if takes(spec, a)]
