"""connectorx in a child process: the rows of one SELECT as an Arrow IPC stream on a pipe.

Why a process: connectorx's ``arrow_stream`` iterator holds the GIL while it waits for the
server. Measured in one process (connectorx 0.4, MariaDB 10.11): during ``SELECT SLEEP(2)``
a thread ticking every 10 ms did not run for 1.97 s, and during a 300k-row read it ran 6
times in 0.71 s. In a run that stops everything else in the process: the executor (step
timeouts), Ctrl-C, the live display, the metastore recorder and other steps' Python work.
In a child, connectorx holds its own interpreter's GIL; the parent reads the pipe through
pyarrow, which waits for data without the GIL.

The protocol, one extract per process:

- the parent writes one JSON line on the child's stdin: ``url``, ``sql``, ``batch_size``,
  ``pre_execution_query`` and, for a parallel read, ``partition_on`` / ``partition_num``.
  The URL holds the password: it goes through the pipe, never argv or the environment
  (both readable by other users in ``/proc``);
- the child writes the Arrow IPC stream on stdout: the schema first, even for no rows;
- on failure the child's exit status is 1 and the last line of its stderr (a file, so
  that a chatty child can never block on a full pipe) is ``{"error": "..."}``: the
  driver's message, which the connector turns into its own error.

The child dies with the thread that started it (Linux ``PR_SET_PDEATHSIG``): a killed run
leaves no extract behind. :meth:`ExtractProcess.kill` stops an extract at once (a
timed-out or interrupted step).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import IO, Any

import pyarrow as pa

_AHEAD = 2  # batches read from the pipe ahead of the consumer


class ExtractFailed(RuntimeError):
    """The child could not deliver every row; the message is the driver's (or why the
    child died)."""


class ExtractProcess:
    """One child process for one extract; started on construction, so that its imports
    (about 0.15 s) overlap the parent's planning of the read."""

    def __init__(self) -> None:
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        env = {**os.environ, "RUST_LOG": "off"}  # connectorx's pool logs every failed retry
        # the file as a script, not ``-m``: ``-m`` would import the packages above it
        # (headwater.sources and its settings, 0.37 s); -P keeps its folder (with a
        # types.py) off sys.path. The module imports only the standard library and pyarrow.
        self._proc = subprocess.Popen(
            [sys.executable, "-P", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        self._killed = False

    def batches(self, request: dict[str, Any]) -> Iterator[pa.RecordBatch]:
        """Send ``request`` and yield the record batches of its result; raise
        :class:`ExtractFailed` if the child fails or dies before the end."""
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.close()
        except OSError:  # the child is already gone: its status says why
            self._raise_failure()
        # a thread reads the pipe ahead of the consumer: the child keeps fetching while the
        # warehouse writes a batch (reading it only on demand cost 0.4-0.6 s per 1M rows)
        ahead: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(_AHEAD)
        pump = threading.Thread(target=self._pump, args=(ahead,), name="hw-extract", daemon=True)
        pump.start()
        finished = False
        try:
            while (item := ahead.get()) is not None:
                if isinstance(item, BaseException):  # a stream cut short
                    self._raise_failure()
                yield item
            finished = True
        finally:
            if not finished:  # the consumer stopped early, or the child failed
                self.kill()
                while pump.is_alive():  # unblock a pump waiting to put a batch
                    with contextlib.suppress(queue.Empty):
                        ahead.get(timeout=0.05)
            pump.join()
        if proc.wait() != 0:
            self._raise_failure()

    def _pump(self, ahead: queue.Queue[pa.RecordBatch | BaseException | None]) -> None:
        try:
            for batch in pa.ipc.open_stream(self._proc.stdout):
                ahead.put(batch)
            ahead.put(None)
        except BaseException as exc:  # ArrowException: the child failed or was killed
            ahead.put(exc)

    def kill(self) -> None:
        """Stop the extract now (idempotent); a pending :meth:`batches` then raises."""
        self._killed = True
        with contextlib.suppress(OSError):
            self._proc.kill()

    def close(self) -> None:
        """Kill the child if it still runs, reap it and drop its pipes."""
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):
                self._proc.kill()
        self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout, self._stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def _raise_failure(self) -> None:
        status = self._proc.wait()
        if self._killed:
            raise ExtractFailed("the extract was cancelled")
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        reported = _reported_error(lines[-1]) if lines else None
        if reported is not None:
            raise ExtractFailed(reported)
        if status < 0:
            raise ExtractFailed(f"the extract process died ({signal.Signals(-status).name})")
        last = lines[-1] if lines else "no message"
        raise ExtractFailed(f"the extract process failed (exit status {status}: {last})")


def _reported_error(line: str) -> str | None:
    """The error a failed child reported on its last stderr line, if that line is one.

    >>> _reported_error('{"error": "Access denied"}'), _reported_error("Segmentation fault")
    ('Access denied', None)
    """
    try:
        report = json.loads(line)
    except ValueError:
        return None
    return str(report["error"]) if isinstance(report, dict) and "error" in report else None


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the thread that started it ends."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent was gone before the request took effect
        os._exit(1)


def _main() -> int:
    """The child: read the request from stdin, write the IPC stream to stdout."""
    _die_with_parent()
    request = json.loads(sys.stdin.readline())
    try:
        import connectorx as cx

        options: dict[str, Any] = {}
        if request.get("partition_on"):
            options = {
                "partition_on": request["partition_on"],
                "partition_num": request["partition_num"],
            }
        reader = cx.read_sql(
            request["url"],
            request["sql"],
            return_type="arrow_stream",
            batch_size=request["batch_size"],
            pre_execution_query=request.get("pre_execution_query") or None,
            **options,
        )
        out = os.fdopen(sys.stdout.fileno(), "wb", closefd=False)
        with pa.ipc.new_stream(out, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
        out.flush()
    except BrokenPipeError:  # the parent stopped reading (it failed or was cancelled)
        return 1
    except BaseException as exc:  # connectorx raises RuntimeError, or a Rust panic
        text = str(exc) or type(exc).__name__
        sys.stderr.write(json.dumps({"error": text}) + "\n")
        sys.stderr.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
