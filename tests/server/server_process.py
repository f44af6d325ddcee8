"""Helpers of tests/server: a real ``headwater server`` process on 127.0.0.1 (a free
port), the CLI in its own process, the project's metastore."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from headwater.metastore import Metastore

HEADWATER = str(Path(sys.executable).parent / "headwater")
# a model that runs for minutes: 10**10 rows multiplied and summed
SLOW_SQL = "-- headwater:\n--   materialized: table\nselect sum(a.range * b.range) as s from range(100000000) a, range(100) b\n"


class Server:
    """A ``headwater server`` subprocess of project ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc = subprocess.Popen(
            [HEADWATER, "server", "-p", str(root), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.info = self._wait_ready()

    @property
    def json_path(self) -> Path:
        return self.root / ".headwater" / "server.json"

    def _wait_ready(self, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {self.proc.stderr}")
            try:
                info = json.loads(self.json_path.read_text())
                if info["pid"] == self.proc.pid:
                    httpx.get(info["url"] + "/api/health", timeout=1).raise_for_status()
                    return dict(info)
            except (OSError, ValueError, KeyError, httpx.HTTPError):
                pass
            time.sleep(0.05)
        raise AssertionError("server not ready in time")

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.info['token']}"}
        return httpx.Client(base_url=self.info["url"], headers=headers, timeout=30)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def cli(root: Path, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``headwater ARGS -p root`` in its own process."""
    return subprocess.run(
        [HEADWATER, *args, "-p", str(root)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


def metastore(root: Path) -> Metastore:
    return Metastore.open(f"sqlite:///{root / '.headwater' / 'metastore.sqlite'}")


def wait_for(predicate: Any, timeout: float = 20.0, every: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {predicate}")
