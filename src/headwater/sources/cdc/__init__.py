"""PostgreSQL change data capture as a source: a table's inserts, updates and deletes read
from a logical replication slot (``pgoutput``) into a merge, scd2 or append asset, the
slot's position advanced only after the warehouse commit (:mod:`.load`); the slot, its
exported snapshot and the bounded stream (:mod:`.slot`); the protocol (:mod:`.pgoutput`);
values and deletes (:mod:`.values`, :mod:`.changes`)."""

from headwater.sources.cdc.load import LSN, load_cdc

__all__ = ["LSN", "load_cdc"]
