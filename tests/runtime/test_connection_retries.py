"""A source whose server never answers is retried as configured, no more: `retries = 0` is one
attempt, each retry is logged (run.log and the step's log: attempt n of m, why, the wait),
and the step's reported duration counts every attempt from the first one's start."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.metastore import Metastore
from headwater.project import load_project
from headwater.testing.cli import invoke

STEP = "raw.orders_orders"
URLS = {  # connect_timeout: 2 s per attempt, libpq's minimum
    "postgresql": "postgresql://app:pw@127.0.0.1:{port}/shop?connect_timeout=2",
    "mysql": "mysql://app:pw@127.0.0.1:{port}/shop?connect_timeout=2",
}


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose listener never accepts: the kernel completes the TCP handshake, then
    nothing ever answers (a hung server, a black-holing firewall)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _project(project_dir, url: str, settings: str) -> Path:
    return project_dir(
        {
            "headwater.toml": f'[connections.dead]\nurl = "{url}"\n\n'
            f'[sources.orders]\nconnection = "dead"\ntables = ["orders"]\n{settings}\n'
        }
    )


def _attempts(root: Path) -> list[str]:
    with Metastore.open(load_project(root).metastore_url) as store:
        run_id = store.runs(1)[0].run_id
        return [a.status for a in store.attempts(run_id, STEP)]


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_no_retries_means_one_attempt(project_dir, silent_port, scheme):
    root = _project(project_dir, URLS[scheme].format(port=silent_port), "retries = 0")
    started = time.monotonic()
    result = invoke("run", "-p", str(root))
    took = time.monotonic() - started
    assert result.exit_code == 5, result.output
    assert _attempts(root) == ["failed"]
    assert took < 12, f"{took:.1f}s for one attempt with a 2 s connect timeout"
    assert "retrying" not in result.output
    # the reported duration is the attempt's, not 0.00s
    line = next(x for x in result.stdout.splitlines() if f"{STEP} failed" in x)
    assert float(re.search(r"failed (\d+\.\d+)s", line).group(1)) >= 1.5, line


def test_retries_follow_the_configuration_and_are_logged(project_dir, silent_port):
    url = URLS["postgresql"].format(port=silent_port)
    root = _project(project_dir, url, "retries = 2\nretry_delay = 0.2")
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 5, result.output
    assert _attempts(root) == ["failed", "failed", "failed"]
    (run_log,) = root.glob(".headwater/logs/*/run.log")
    step_log = run_log.with_name(f"{STEP}.log").read_text()
    for log in (run_log.read_text(), step_log, result.stdout):
        assert re.search(r"attempt 1 of 3 failed.*retrying in 0\.2s: .*cannot connect", log), log
        assert re.search(r"attempt 2 of 3 failed.*retrying in 0\.4s: .*cannot connect", log), log
        assert "attempt 3 of" not in log
    # the step log tells the retries in order with the attempts' own lines
    assert step_log.index("attempt 1 of 3") < step_log.index("attempt 2 of 3")
    # three 2 s connect timeouts and two waits: the duration counts them all
    line = next(x for x in result.stdout.splitlines() if f"{STEP} failed" in x)
    assert float(re.search(r"failed (\d+\.\d+)s", line).group(1)) >= 6.0, line
    final = next(x for x in run_log.read_text().splitlines() if f"{STEP} failed in" in x)
    assert "(3 attempts)" in final
