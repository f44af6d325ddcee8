"""What Spark can do for Headwater."""

from headwater.engines.base import Capabilities

CAPABILITIES = Capabilities(
    dialect="spark",
    transactional_ddl=False,
    # source files are scanned by the load's own reader and land through Arrow (loads.py)
    native_file_scan=frozenset(),
    merge=True,  # by rewriting the table to a new version (loads.py)
    # one SparkSession per process: steps queue on it (Spark parallelises each statement)
    concurrent_writers=False,
    interruptible=True,  # SparkContext.cancelAllJobs; on Spark Connect, interruptAll
    transactions=False,  # a rebuild writes a new version and switches to it (versions.py)
    relation_type="pyspark.sql.DataFrame",
    partitioned_models=True,  # an interval's rows replaced in a new version (partitions.py)
    quarantine=True,  # in the load's scratch DuckDB, published with its switch (quarantine.py)
)
