"""The exception tree every Headwater error belongs to.

User mistakes (a bad project file, an unknown asset, a failing source) raise a subclass of
:class:`HeadwaterError`; the CLI prints its message on one line (no traceback) and exits with
its ``exit_code``. Anything else is a bug and keeps its traceback.

::

    HeadwaterError                      exit 1
    ├── ProjectError                    exit 2   the project folder is wrong
    │   ├── ConfigError                          bad TOML / YAML / setting (file:line)
    │   ├── SqlParseError                        a model's SQL does not parse (file:line:col)
    │   ├── UnknownAssetError                    a reference to a missing asset (+ closest names)
    │   ├── CycleError                           the graph has a cycle (the cycle printed)
    │   └── SelectionError                       a --select matches nothing / is malformed
    ├── ConnectionError_                exit 3   a connection cannot be reached / authenticated
    ├── SourceError                     exit 4   extraction failed (file, row, column named)
    ├── EngineError                     exit 4   the warehouse refused a statement
    │   └── WarehouseBusy                        another process holds the warehouse (its PID)
    ├── CheckFailed                     exit 5   an error-severity check failed
    ├── RunFailed                       exit 5   a run finished with failed steps
    └── StepTimeout                              a step exceeded its timeout (internal to runs)

    KeyboardInterrupt
    └── RunInterrupted                  exit 130 Ctrl-C stopped a run (its id attached),
                                        exit 143 SIGTERM did (128 + the signal's number);
                                        a cancel through the server's API (by_request)

Messages never contain secrets: connection URLs are shown through
:func:`headwater.config.redact`.
"""

from __future__ import annotations


class HeadwaterError(Exception):
    """Base of every error Headwater raises on purpose. ``transient``: a retry may succeed
    (a lost connection, a server restarting); the runtime gives such errors extra attempts."""

    exit_code: int = 1
    transient: bool = False

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if transient is not None:
            self.transient = transient

    def __str__(self) -> str:
        return self.message


class ProjectError(HeadwaterError):
    """The project folder cannot be loaded."""

    exit_code = 2


class ConfigError(ProjectError):
    """A configuration file is malformed or invalid. The message starts with ``file:line``."""


class SqlParseError(ProjectError):
    """A SQL model does not parse. The message starts with ``file:line:column``."""


class UnknownAssetError(ProjectError):
    """A model or setting references an asset that does not exist."""


class CycleError(ProjectError):
    """The dependency graph has a cycle."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join([*cycle, cycle[0]]))


class SelectionError(ProjectError):
    """A selection expression is malformed or matches nothing."""


class ConnectionError_(HeadwaterError):
    """A connection cannot be opened. The message names host and database, never the password."""

    exit_code = 3


class SourceError(HeadwaterError):
    """Extraction or loading of a source failed; the message locates the fault."""

    exit_code = 4


class EngineError(HeadwaterError):
    """The engine rejected a statement (the model file is named when known)."""

    exit_code = 4


class WarehouseBusy(EngineError):
    """The warehouse file is locked by another process (a run, usually): ``pid`` is that
    process's id when DuckDB names it. The CLI says which run holds it."""

    def __init__(self, message: str, *, path: str, pid: int | None) -> None:
        super().__init__(message)
        self.path = path
        self.pid = pid


class CheckFailed(HeadwaterError):
    """An error-severity check failed on an asset: the step ends ``check_failed`` (no retry:
    the data would not change) and its downstream steps ``blocked_by_check``."""

    exit_code = 5
    step_status = "check_failed"
    downstream_status = "blocked_by_check"
    retryable = False


class RunFailed(HeadwaterError):
    """A run finished with at least one failed step."""

    exit_code = 5

    def __init__(self, message: str, run_id: str) -> None:
        super().__init__(message)
        self.run_id = run_id


class StepTimeout(HeadwaterError):
    """A step ran longer than its timeout."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (``signum`` 2, SIGINT) or SIGTERM (15) stopped run ``run_id`` (empty: before
    it started), or, with ``by_request``, a cancel asked through a server's API did: its
    running steps were cancelled and it is recorded ``interrupted``, its stopped steps
    failed with :attr:`recorded` as their error. A KeyboardInterrupt still, so that code
    which stops on one stops here too. The process exits ``128 + signum`` (130, 143), as a
    shell reports a process a signal ended."""

    def __init__(self, run_id: str, *, signum: int = 2, by_request: bool = False) -> None:
        super().__init__(run_id)
        self.run_id = run_id
        self.signum = signum
        self.by_request = by_request

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def cause(self) -> str:
        """What stopped the run: ``by request``, ``Ctrl-C`` or ``SIGTERM``."""
        if self.by_request:
            return "by request"
        names = {2: "Ctrl-C", 15: "SIGTERM"}
        return names.get(self.signum, f"signal {self.signum}")

    @property
    def recorded(self) -> str:
        """The error recorded for the steps it stopped: ``cancelled (by request)``,
        ``interrupted (Ctrl-C)`` or ``interrupted (SIGTERM)``."""
        return f"{'cancelled' if self.by_request else 'interrupted'} ({self.cause})"
