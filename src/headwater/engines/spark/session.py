"""The process's SparkSession, made once: Hive catalog, Parquet warehouse directory,
metastore (embedded Derby under ``.headwater/`` or an external ``thrift://`` URI).

``master`` is ``local[N]``, ``spark://host:7077`` (a standalone cluster; its workers must see
the warehouse directory at the same path) or ``sc://host:15002`` (Spark Connect: the server
owns the catalog and warehouse, the settings here are not sent; this machine must see the
server's warehouse directory at the same path, as a cluster's workers do, because loads
write their Parquet files there). Only the jars pyspark ships are used: Hive and Derby are
among them (no Maven download).

Spark keeps one active session per JVM: a second engine opened in the same process gets
the same session (and so the same metastore), which is what the tests rely on to start the
JVM once (about 10 s on an idle machine). A Spark Connect session is one per server URL,
beside it: it is made with Connect's own builder, which leaves pyspark's process-wide
switch to Connect (``SPARK_CONNECT_MODE_ENABLED``) unset, so a local session in the same
process keeps working. The engine therefore uses only what both kinds of session share
(SQL, the DataFrame and catalog APIs, :func:`functions`), never ``sparkContext``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from headwater.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_LOCK = threading.Lock()
_CONNECT: dict[str, Any] = {}  # sc:// URL -> this process's Spark Connect session to it
MISSING = (
    'engine = "spark" needs pyspark: pip install "headwater[spark]" (and Java 17 on the PATH '
    "or in JAVA_HOME)"
)
CONNECT_MISSING = (
    "a Spark Connect master (sc://) needs pyspark's Connect client (grpcio, grpcio-status, "
    'googleapis-common-protos, zstandard): pip install "headwater[spark]"'
)
#: Session settings a Connect session gets (the server owns the static ones): timestamps
#: read back as they were written, and partitioned models replace only their interval.
CONNECT_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
}


@dataclass(frozen=True)
class SparkOptions:
    """Where Spark runs and where its catalog lives."""

    master: str = "local[2]"
    warehouse: Path = Path(".headwater/spark-warehouse")  # Parquet files of every table
    metastore_dir: Path = Path(".headwater/spark-metastore")  # embedded Derby's database
    metastore_uri: str | None = None  # thrift://host:9083: an external Hive metastore


def spark_session(options: SparkOptions) -> SparkSession:
    """The process's session, started on first use with ``options`` (later calls get the
    same session whatever their options: one JVM, one catalog); for an ``sc://`` master,
    the process's session to that server. EngineError in one line when pyspark, its
    Connect client or Java is missing, or the server does not answer."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(MISSING) from None
    if options.master.startswith("sc://"):
        return _connect(options.master)
    with _LOCK:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = _classic(
            SparkSession.builder.appName("headwater").master(options.master), options
        )
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # the JVM could not start: Java missing, a bad master
            raise EngineError(f"cannot start Spark ({options.master}): {_first(exc)}") from None
        session.sparkContext.setLogLevel("ERROR")  # Hive's start-up WARNs are noise
        _quiet_error_logs()
        return session


def _connect(url: str) -> SparkSession:
    """The session to the Spark Connect server at ``url`` (see the module docstring)."""
    with _LOCK:
        session = _CONNECT.get(url)
        if session is not None and not session.is_stopped:
            return session
        try:
            from pyspark.sql.connect.client import DefaultChannelBuilder
            from pyspark.sql.connect.session import SparkSession as ConnectSession
        except ImportError:  # pyspark's PySparkImportError names one missing package
            raise EngineError(CONNECT_MISSING) from None
        try:
            host, port = DefaultChannelBuilder(url).endpoint.rsplit(":", 1)
            # a refused port fails here at once, not after the client's minutes of retries
            socket.create_connection((host, int(port)), timeout=10).close()
            session = ConnectSession.builder.remote(url).create()
            # registered after the client's own exit hook, so it runs first (see _close)
            atexit.register(_close, session)
            for key, value in CONNECT_CONF.items():
                session.conf.set(key, value)
        except Exception as exc:
            raise EngineError(f"cannot reach Spark Connect at {url}: {_first(exc)}") from None
        _CONNECT[url] = session
        _quiet_error_logs()
        # not a subclass of the classic SparkSession, but the API the engine uses is shared
        return cast("SparkSession", session)


def _close(session: Any) -> None:
    """Close a Connect session's channel at exit without calling the server: pyspark's own
    exit hook would call it, retrying for about ten minutes when the server is gone. The
    server drops the session when it has been idle for its timeout."""
    with contextlib.suppress(Exception):
        session.client.close()


def is_connect(spark: Any) -> bool:
    """Whether ``spark`` is a Spark Connect session (or one of its DataFrames)."""
    return type(spark).__module__.startswith("pyspark.sql.connect.")


def functions(spark: Any) -> ModuleType:
    """``pyspark.sql.functions`` for ``spark``'s kind of session: Connect's own module for
    a Connect session (pyspark would choose them by the process-wide switch left unset)."""
    if is_connect(spark):
        from pyspark.sql.connect import functions as connect_functions

        return connect_functions
    from pyspark.sql import functions as classic_functions

    return classic_functions


def _quiet_error_logs() -> None:
    """Silence pyspark's loggers that print a failed statement's error as JSON on stderr
    when the exception is shown: Headwater reports it in one line naming the step."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def _first(exc: BaseException) -> str:
    """An exception's first line (Spark's and gRPC's messages run to many)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
