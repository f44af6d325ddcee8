"""The hand-over of a micro-batch from a continuous Kafka source's reader
(:mod:`.stream`, on the server's stream thread) to the load that writes it
(:func:`~headwater.sources.kafka.load.load_kafka`, on the run queue's worker).

A micro-batch is offered per asset, in this process; the load takes it only when the
warehouse's offsets, as the load reads them in its own transaction, are exactly those the
micro-batch was read after (:func:`take`), so a stale one (a run loaded the source in
between, ``--full-refresh`` forgot the offsets) is dropped and the topic read as in a
bounded run: never a message twice or skipped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from headwater.sources.kafka.records import Batch

Where = dict[str, dict[int, int]]  # topic -> partition -> next offset
Offsets = dict[str, dict[str, int]]  # the same in the state's JSON form (partition as text)


@dataclass(frozen=True)
class MicroBatch:
    """Messages read after ``base`` (the warehouse's offsets, as the asset's state holds
    them, when the reader started) up to ``after`` (each read partition's next offset)."""

    batch: Batch
    base: Offsets
    after: Where

    def offsets(self) -> Offsets:
        """The asset's offsets once the micro-batch is loaded: ``base`` moved to ``after``
        (a topic or partition it did not read keeps its offset)."""
        moved = {t: {**self.base.get(t, {}), **parts} for t, parts in as_state(self.after).items()}
        return {**self.base, **moved}


_offered: dict[str, MicroBatch] = {}
_lock = threading.Lock()


def offer(asset: str, micro: MicroBatch) -> None:
    """Hand ``micro`` to the next load of ``asset`` in this process."""
    with _lock:
        _offered[asset] = micro


def withdraw(asset: str, micro: MicroBatch) -> None:
    """Take ``micro`` back if no load took it (its run failed first, or was dropped)."""
    with _lock:
        if _offered.get(asset) is micro:
            del _offered[asset]


def take(asset: str, known: Offsets) -> MicroBatch | None:
    """The micro-batch offered for ``asset`` if it was read after exactly the warehouse's
    offsets ``known`` (a partition neither holds was read from ``start``, as a bounded run
    would); None otherwise, or when none was offered: the load reads the topic itself. An
    offered micro-batch is taken once, loaded or not."""
    with _lock:
        micro = _offered.pop(asset, None)
    if micro is None or micro.base != known:
        return None
    return micro


def as_state(where: Where) -> Offsets:
    """Offsets in the state's form."""
    return {t: {str(p): o for p, o in parts.items()} for t, parts in where.items()}
