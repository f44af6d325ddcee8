"""Disjoint ranges of a table, read in parallel on connections sharing one snapshot.

Pure functions: the connector asks the server for the sizes and keys, these cut them.
Together the ranges cover the table exactly once: the last range is open-ended, so rows
on pages (or keys) beyond the ones measured are read too.
"""

from __future__ import annotations


def block_bounds(size: int, block_size: int, count: int) -> list[str]:
    """About ``count`` ``ctid`` ranges over a relation of ``size`` bytes (PostgreSQL 14+
    scans a ``ctid`` range without reading other pages).

    >>> block_bounds(10 * 8192, 8192, 3)
    ["ctid >= '(0,0)'::tid and ctid < '(4,0)'::tid", "ctid >= '(4,0)'::tid and ctid < '(8,0)'::tid", "ctid >= '(8,0)'::tid"]
    """
    blocks = max(1, size // block_size)
    step = -(-blocks // count)
    edges = list(range(0, blocks, step))
    bounds = []
    for i, lo in enumerate(edges):
        cond = f"ctid >= '({lo},0)'::tid"
        if i + 1 < len(edges):  # the last range is open: rows on pages added since
            cond += f" and ctid < '({edges[i + 1]},0)'::tid"
        bounds.append(cond)
    return bounds


def key_bounds(key: str, lo: int, hi: int, count: int) -> list[str]:
    """About ``count`` ranges of the integer key ``key`` (quoted) from ``lo`` to ``hi``.

    >>> key_bounds('"id"', 1, 10, 3)
    ['"id" is not null and "id" < 5', '"id" >= 5 and "id" < 9', '"id" >= 9']
    """
    step = max(1, -(-(hi - lo + 1) // count))
    bounds = []
    for start in range(lo, hi + 1, step):
        cond = f"{key} >= {start}" if start > lo else f"{key} is not null"
        if start + step <= hi:
            cond += f" and {key} < {start + step}"
        bounds.append(cond)
    # rows inserted after min/max are invisible to the shared snapshot: nothing is lost
    return bounds
