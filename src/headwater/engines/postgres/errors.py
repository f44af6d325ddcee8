"""psycopg's exception classes, registered with :mod:`headwater.engines.errors`."""

import psycopg

from headwater.engines import errors

errors.register(
    "postgres",
    query=(psycopg.Error,),
    interrupted=(psycopg.errors.QueryCanceled,),
    overflow=(psycopg.errors.NumericValueOutOfRange, psycopg.errors.InvalidTextRepresentation),
)
