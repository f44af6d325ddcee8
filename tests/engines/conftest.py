"""Fixtures of the engine tests: the run's one Spark Connect server.

The classic Spark tests share the process's one SparkSession (started by whichever test
opens it first, see tests/engines/neutral/conftest.py); the ``sc://`` tests share one
Spark Connect server, a second JVM started on first use and stopped at the end of the run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from headwater.testing.servers.spark_connect import SparkConnectServer


@pytest.fixture(scope="session")
def spark_connect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkConnectServer]:
    """Spark Connect on 127.0.0.1 (``local[2]``, 1 GB, its Hive catalog and warehouse in a
    temporary folder) for the whole run: ``.url`` is ``sc://127.0.0.1:PORT``."""
    with SparkConnectServer(tmp_path_factory.mktemp("spark-connect")) as server:
        yield server
