"""A local S3 for tests and benchmarks: moto's server on 127.0.0.1, in a subprocess.

    with S3Server() as s3:
        s3.client().create_bucket(Bucket="lake")
        url = s3.connection_url()  # s3://KEY:SECRET@127.0.0.1:PORT?region=...&ssl=false

moto keeps everything in memory; the server stops (its process group killed) when the
context ends. Needs ``moto[server]`` (the dev extra).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from headwater.testing.servers._process import LOOPBACK, GroupServer, free_port

KEY_ID = "hwtestkey"
SECRET = "hw/test+secret"  # a / and a + : the URL must carry them percent-encoded
REGION = "us-east-1"


class S3Server(GroupServer):
    """moto's S3 on 127.0.0.1:``port`` (a free one by default)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def connection_url(self, *, key_env: str | None = None, secret_env: str | None = None) -> str:
        """An ``s3://`` connection URL for Headwater; with ``*_env``, ``${NAME}``
        placeholders instead of the values (set the variables to KEY_ID and SECRET)."""
        key = f"${{{key_env}}}" if key_env else KEY_ID
        secret = (
            f"${{{secret_env}}}" if secret_env else SECRET.replace("/", "%2F").replace("+", "%2B")
        )
        return f"s3://{key}:{secret}@{LOOPBACK}:{self.port}?region={REGION}&ssl=false"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        )

    def put(self, bucket: str, key: str, body: bytes) -> None:
        """Upload ``body`` to ``s3://bucket/key``."""
        self.client().put_object(Bucket=bucket, Key=key, Body=body)

    def put_parquet(self, bucket: str, key: str, columns: dict[str, list[Any]]) -> None:
        """Upload ``columns`` (name -> values) as one Parquet file to ``s3://bucket/key``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        out = pa.BufferOutputStream()
        pq.write_table(pa.table(columns), out)
        self.put(bucket, key, out.getvalue().to_pybytes())

    def start(self) -> S3Server:
        binary = Path(sys.executable).parent / "moto_server"
        command = [str(binary), "-H", LOOPBACK, "-p", str(self.port)]
        self._proc = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self._proc.returncode}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not listen on {LOOPBACK}:{self.port} in 30 s")
