"""A Spark Connect server for tests: pyspark's own jars, ``local[N]``, on 127.0.0.1 only.

    with SparkConnectServer(tmp_path / "connect") as server:
        project settings: master = server.url   # sc://127.0.0.1:PORT

The server is ``spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer``
from pyspark's ``bin`` (the Connect server's jar ships with pyspark: no Maven download), in
its own process group. Its gRPC port, driver and block manager listen on 127.0.0.1; its Hive
catalog (embedded Derby), warehouse and log live under the folder given, which a client on
this machine sees at the same path, as Headwater's loads require. One JVM of ``memory``
(1 GB by default). The server is stopped (its process group sent SIGTERM, then SIGKILL) when
the context ends, and sent SIGTERM by the kernel if the Python process that started it dies.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from headwater.engines.spark.session import SparkOptions, spark_session
from headwater.testing.servers._process import LOOPBACK, GroupServer, _pdeathsig, _tail, free_port

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def _spark_home() -> Path:
    """pyspark's folder (its ``bin`` and ``jars``), found without importing it."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError('a Spark Connect server needs pyspark: pip install "headwater[spark]"')
    return Path(spec.submodule_search_locations[0])


class SparkConnectServer(GroupServer):
    """Spark Connect on 127.0.0.1:``port`` (a free one by default), its files under ``base``."""

    grace_s = 20.0  # a JVM writing its catalog on SIGTERM

    def __init__(
        self, base: Path, *, port: int | None = None, master: str = "local[2]", memory: str = "1g"
    ) -> None:
        self.base = base
        self.port = port or free_port()
        self.master = master
        self.memory = memory
        self.warehouse = base / "warehouse"
        self.log = base / "server.log"

    @property
    def url(self) -> str:
        """The ``sc://`` URL a client (``[project] master``) connects to."""
        return f"sc://{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        """The spark-submit command line that starts the server."""
        conf = {
            "spark.connect.grpc.binding.address": LOOPBACK,
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.driver.host": LOOPBACK,
            "spark.driver.bindAddress": LOOPBACK,
            "spark.driver.memory": self.memory,
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.catalogImplementation": "hive",
            "spark.sql.warehouse.dir": str(self.warehouse),
            "spark.hadoop.javax.jdo.option.ConnectionURL": (
                f"jdbc:derby:;databaseName={self.base / 'metastore'};create=true"
            ),
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={self.base}",
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": "4",  # small test tables: 200 empty tasks cost seconds
        }
        argv = [str(_spark_home() / "bin" / "spark-submit"), "--class", SERVER_CLASS]
        argv += ["--master", self.master, "--name", "headwater-test-connect"]
        for key, value in conf.items():
            argv += ["--conf", f"{key}={value}"]
        return argv

    def start(self, timeout: float = 300) -> SparkConnectServer:
        """Start the server and wait until it answers a query (``timeout`` seconds: the
        JVM's start takes ~10 s on an idle machine, minutes on a loaded one)."""
        self.base.mkdir(parents=True, exist_ok=True)
        self.warehouse.mkdir(exist_ok=True)
        env = {**os.environ, "SPARK_LOCAL_IP": LOOPBACK, "SPARK_CONF_DIR": str(self.base)}
        env.pop("SPARK_REMOTE", None)
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                self.command(), cwd=self.base, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_pdeathsig(signal.SIGTERM),
            )  # fmt: skip
        try:
            self._wait(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self, deadline: float) -> None:
        """Until the gRPC port accepts, then until a Connect session's ``select 1`` answers."""
        assert self._proc is not None
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"the Spark Connect server exited with {self._proc.returncode}:\n"
                    f"{_tail(self.log)}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Spark Connect server did not answer:\n{_tail(self.log)}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        # the process's session to the server, as the engine opens it (and reuses it)
        session = spark_session(SparkOptions(master=self.url))
        assert session.sql("select 1").collect()[0][0] == 1
