"""What PostgreSQL can do for Headwater."""

from headwater.engines.base import Capabilities

CAPABILITIES = Capabilities(
    dialect="postgres",
    transactional_ddl=True,
    # files are read in Python and written as Arrow through binary COPY: the server cannot
    # read the client's files
    native_file_scan=frozenset(),
    merge=True,
    concurrent_writers=True,  # MVCC: one connection per thread, row locks
    interruptible=True,  # pg_cancel_backend, through the connection's cancel request
    transactions=True,
    relation_type="",  # no lazy relation of its own: Python models receive Arrow
    database_scan=frozenset(),  # sources reach it through Arrow (no postgres_fdw set up)
    files_out=True,  # rows streamed by a server-side cursor, written by pyarrow (files_out.py)
    object_store=True,  # the same files as multipart uploads to s3:// (object_store.py)
    sync_diff=True,  # sync_diff.py
    exclusive_process=False,  # a server: many processes read and write at once (MVCC)
)
