"""Apache Spark as the warehouse: Parquet tables registered in a Hive metastore (see
``engine.py``). pyspark is imported only here, and only when a Spark engine is opened."""
