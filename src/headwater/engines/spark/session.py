"""The process's SparkSession, made once: Hive catalog, Parquet warehouse directory,
metastore (embedded Derby under ``.headwater/`` or an external ``thrift://`` URI).

``master`` is ``local[N]``, ``spark://host:7077`` (a standalone cluster; its workers must see
the warehouse directory at the same path) or ``sc://host:15002`` (Spark Connect: the server
owns the catalog and warehouse, the settings here are not sent). Only the jars pyspark ships
are used: Hive and Derby are among them (no Maven download).

Spark keeps one active session per JVM: a second engine opened in the same process gets
the same session (and so the same metastore), which is what the tests rely on to start the
JVM once (about 10 s on an idle machine).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_LOCK = threading.Lock()
MISSING = (
    'engine = "spark" needs pyspark: pip install "headwater[spark]" (and Java 17 on the PATH '
    "or in JAVA_HOME)"
)


@dataclass(frozen=True)
class SparkOptions:
    """Where Spark runs and where its catalog lives."""

    master: str = "local[2]"
    warehouse: Path = Path(".headwater/spark-warehouse")  # Parquet files of every table
    metastore_dir: Path = Path(".headwater/spark-metastore")  # embedded Derby's database
    metastore_uri: str | None = None  # thrift://host:9083: an external Hive metastore


def spark_session(options: SparkOptions) -> SparkSession:
    """The process's session, started on first use with ``options`` (later calls get the
    same session whatever their options: one JVM, one catalog). EngineError in one line
    when pyspark or Java is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(MISSING) from None
    with _LOCK:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = SparkSession.builder.appName("headwater")
        if options.master.startswith("sc://"):
            builder = builder.remote(options.master)
        else:
            builder = _classic(builder.master(options.master), options)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # the JVM could not start: Java missing, a bad master
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(f"cannot start Spark ({options.master}): {first}") from None
        if not options.master.startswith("sc://"):
            session.sparkContext.setLogLevel("ERROR")  # Hive's start-up WARNs are noise
        return session


def _classic(builder: SparkSession.Builder, options: SparkOptions) -> SparkSession.Builder:
    warehouse = options.warehouse.resolve()
    warehouse.mkdir(parents=True, exist_ok=True)
    conf = {
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.session.timeZone": "UTC",  # timestamps read back as they were written
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",  # progress bars would garble the run's log
        "spark.sql.shuffle.partitions": "4",  # small steps: 200 tasks of nothing cost seconds
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
    }
    if options.metastore_uri:
        conf["spark.hadoop.hive.metastore.uris"] = options.metastore_uri
    else:
        metastore = options.metastore_dir.resolve()
        metastore.parent.mkdir(parents=True, exist_ok=True)
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
            f"jdbc:derby:;databaseName={metastore};create=true"
        )
        # derby.log beside the metastore, not in the working directory
        conf["spark.driver.extraJavaOptions"] = f"-Dderby.system.home={metastore.parent}"
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport()


def options_for(path: Path, settings: dict[str, Any]) -> SparkOptions:
    """The options of a project whose warehouse setting is ``path``: a directory is the
    Parquet warehouse; the default DuckDB file's place (``.headwater/warehouse.duckdb``)
    means ``.headwater/spark-warehouse``. The Derby metastore sits beside the warehouse."""
    warehouse = path.parent / "spark-warehouse" if path.suffix == ".duckdb" else path
    return SparkOptions(
        master=str(settings.get("master") or "local[2]"),
        warehouse=warehouse,
        metastore_dir=warehouse.parent / "spark-metastore",
        metastore_uri=settings.get("metastore_uri") or None,
    )
