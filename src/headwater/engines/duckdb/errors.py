"""DuckDB's exception classes, registered with :mod:`headwater.engines.errors`."""

import duckdb

from headwater.engines import errors

errors.register(
    "duckdb",
    query=(duckdb.Error,),
    interrupted=(duckdb.InterruptException,),
    overflow=(duckdb.OutOfRangeException, duckdb.ConversionException),
)
