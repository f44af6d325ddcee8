"""The part common to both test servers: :class:`_Server` (addresses, start / stop / kill /
restart, running helper commands as the server's OS user) and the registry of running
servers that :func:`_stop_all` stops at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self
from urllib.parse import quote

from headwater.testing.servers._process import (
    LOOPBACK,
    _db_identity,
    _group_alive,
    _Identity,
    _make_traversable,
    _pdeathsig,
    _tail,
    free_port,
    self_signed_command,
)

# A unix socket path must fit in sockaddr_un.sun_path (108 bytes with the NUL).
_MAX_SOCKET_PATH = 107


_RUNNING: set[_Server] = set()


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.stop()


class _PortInUseError(RuntimeError):
    pass


# --- the common part ------------------------------------------------------------------


class _Server:
    """A database server process owned by this object; see the subclasses."""

    scheme: ClassVar[str]
    #: Scheme naming the installed driver for SQLAlchemy (whose bare "postgresql://" and
    #: "mysql://" mean psycopg2 and mysqlclient, which Headwater does not install).
    sqlalchemy_scheme: ClassVar[str]
    name: ClassVar[str]
    #: Sent by stop() for a quick clean shutdown, and by the kernel if we die.
    shutdown_signal: ClassVar[int]
    #: Log lines that mean the TCP port was taken (then another port is tried).
    port_in_use_markers: ClassVar[tuple[str, ...]] = ("Address already in use",)

    def __init__(
        self,
        base_dir: Path | str,
        *,
        port: int | None = None,
        user: str = "headwater",
        password: str = "headwater-secret",
        database: str = "headwater",
        startup_timeout: float = 60.0,
        tls: bool = False,
    ) -> None:
        self.base_dir = Path(base_dir).absolute()
        #: TCP connections must use TLS, with a self-signed certificate for 127.0.0.1 made
        #: when the data directory is; clients verify against :attr:`certificate`.
        self.tls = tls
        self.certificate = self.base_dir / "server.crt"
        self.host = LOOPBACK
        self._auto_port = port is None
        self.port: int = free_port() if port is None else port
        self.user = user
        self.password = password
        self.database = database
        self.startup_timeout = startup_timeout
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._ident: _Identity | None = None
        self._socket_dir: Path | None = None
        self._log_offset = 0  # size of the log before the last launch

    # -- addresses ----------------------------------------------------------------

    def url_for(self, database: str, *, scheme: str | None = None) -> str:
        """URL of ``database`` on this server, with this server's user and password."""
        user = quote(self.user, safe="")
        password = quote(self.password, safe="")
        path = quote(database, safe="")
        return f"{scheme or self.scheme}://{user}:{password}@{self.host}:{self.port}/{path}"

    @property
    def url(self) -> str:
        """URL of the default database, e.g. ``scheme://headwater:...@127.0.0.1:PORT/headwater``."""
        return self.url_for(self.database)

    @property
    def sqlalchemy_url(self) -> str:
        """:attr:`url` for SQLAlchemy: ``postgresql+psycopg://`` / ``mysql+pymysql://``."""
        return self.url_for(self.database, scheme=self.sqlalchemy_scheme)

    @property
    def socket_dir(self) -> Path:
        """Directory holding the server's unix socket (``base_dir`` unless that is too long)."""
        if self._socket_dir is None:
            if len(str(self.base_dir)) + len(self._socket_name()) + 1 <= _MAX_SOCKET_PATH:
                self._socket_dir = self.base_dir
            else:
                self._socket_dir = Path(tempfile.mkdtemp(prefix="hw-sock-"))
        return self._socket_dir

    def _socket_name(self) -> str:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """PID of the server (postmaster / mariadbd) while it runs."""
        return self._proc.pid if self.running and self._proc is not None else None

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} {self.host}:{self.port} {self.base_dir} {state}>"

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> Self:
        """Start the server (initialising its directory the first time); wait until ready.

        A no-op when it runs already. Raises RuntimeError with the log's tail on failure.
        """
        if self.running:
            return self
        self._reap()  # what is left of a server that died on its own
        self._prepare_dirs()
        if not self._initialized():
            self._initialize()
            if self.tls:
                self._make_certificate(self.data_dir)
        deadline = time.monotonic() + self.startup_timeout
        attempts = 3 if self._auto_port else 1
        for attempt in range(attempts):
            self._remove_stale_files()
            try:
                self._launch()
                self._wait_ready(deadline)
                break
            except _PortInUseError:
                self._reap()
                if attempt == attempts - 1:
                    raise
                self.port = free_port()
            except BaseException:
                self._reap()
                raise
        _RUNNING.add(self)
        try:
            self._setup()
        except BaseException:
            self.kill()
            raise
        return self

    def stop(self) -> None:
        """Clean, quick shutdown; waits for it. Idempotent."""
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(self.shutdown_signal)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    self._escalate(proc)
        finally:
            self._reap()
            if self._socket_dir is not None and self._socket_dir != self.base_dir:
                shutil.rmtree(self._socket_dir, ignore_errors=True)
                self._socket_dir = None

    def kill(self) -> None:
        """SIGKILL the server and all its processes, as in a crash. :meth:`start` works after."""
        if self._proc is None:
            return
        self._reap()

    def restart(self) -> None:
        """Clean stop, then start again on the same port and data."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- helpers for subclasses ---------------------------------------------------

    def _escalate(self, proc: subprocess.Popen[bytes]) -> None:
        """Clean shutdown took too long: try harder before _reap's SIGKILL (default: don't)."""
        del proc

    def _reap(self) -> None:
        """SIGKILL what is left of the process group, wait for it, forget the process."""
        proc, self._proc = self._proc, None
        _RUNNING.discard(self)
        if proc is None:
            return
        pgid = proc.pid  # start_new_session=True: the server leads its own group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def _prepare_dirs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._ident = _db_identity()
        if not self.log_path.exists():
            self.log_path.touch()
        if self._ident is not None:
            uid, gid, setpriv = self._ident
            for path in (self.base_dir, self.log_path, self.socket_dir):
                os.chown(path, uid, gid)
                if setpriv is None:
                    _make_traversable(path, uid, gid)
        os.chmod(self.base_dir, 0o700)

    def _env(self) -> dict[str, str]:
        # No PG*/MYSQL* settings of the caller's environment: they would redirect clients.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PG", "MYSQL", "MARIADB")) and k not in ("LANG", "LANGUAGE")
        }
        env["LC_ALL"] = "C"
        env["TZ"] = "UTC"
        return env

    def _command(
        self, argv: Sequence[str], *, as_db_user: bool, deathsig: int | None
    ) -> tuple[list[str], int | None, int | None, Callable[[], None] | None]:
        """(argv, user, group, preexec_fn) to run ``argv`` as the db user, if asked."""
        if threading.current_thread() is not threading.main_thread():
            deathsig = None  # it would fire when this thread ends
        ident = self._ident if as_db_user else None
        if ident is not None and ident.setpriv is not None:
            pdeath = [f"--pdeathsig={signal.Signals(deathsig).name}"] if deathsig else []
            return [*ident.setpriv, *pdeath, "--", *argv], None, None, None
        preexec = _pdeathsig(deathsig) if deathsig else None
        if ident is not None:
            return list(argv), ident.uid, ident.gid, preexec
        return list(argv), None, None, preexec

    def _spawn(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start the server process, as the db user, logging to log_path, in its own session."""
        cmd, uid, gid, preexec = self._command(argv, as_db_user=True, deathsig=self.shutdown_signal)
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            log.write(f"\n==== headwater: starting {' '.join(argv)}\n".encode())
            log.flush()
            return subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.base_dir,
                env=self._env(),
                start_new_session=True,
                user=uid,
                group=gid,
                extra_groups=[] if uid is not None else None,
                preexec_fn=preexec,
            )

    def _make_certificate(self, folder: Path) -> None:
        """``server.key`` and ``server.crt`` (:func:`self_signed_command`) in ``folder``, made
        by the server's user so that it may read its key; the certificate is copied to
        :attr:`certificate` for clients."""
        key = folder / "server.key"
        self._run(self_signed_command(key, folder / "server.crt"))
        os.chmod(key, 0o600)
        shutil.copyfile(folder / "server.crt", self.certificate)

    def _run(self, argv: Sequence[str], *, as_db_user: bool = True, timeout: float = 120) -> str:
        """Run a helper command to completion; RuntimeError with its output if it fails."""
        cmd, uid, gid, _ = self._command(argv, as_db_user=as_db_user, deathsig=None)
        try:
            proc = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                cwd=self.base_dir,
                env=self._env(),
                user=uid,
                group=gid,
                extra_groups=[] if uid is not None else None,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{self.name}: {argv[0]} timed out after {timeout}s") from exc
        if proc.returncode != 0:
            raise RuntimeError(
                f"{self.name}: {' '.join(argv)} failed with exit code {proc.returncode}:\n"
                f"{proc.stdout}{proc.stderr}".rstrip()
            )
        return proc.stdout

    def _wait_ready(self, deadline: float) -> None:
        proc = self._proc
        assert proc is not None
        while True:
            if proc.poll() is not None:
                log = _tail(self.log_path, offset=self._log_offset)
                if self._auto_port and any(m in log for m in self.port_in_use_markers):
                    raise _PortInUseError(f"{self.name}: port {self.port} in use")
                raise RuntimeError(
                    f"{self.name} exited with code {proc.returncode} while starting; "
                    f"log {self.log_path}:\n{log}"
                )
            if self._ready():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} not ready after {self.startup_timeout}s; "
                    f"log {self.log_path}:\n{_tail(self.log_path, offset=self._log_offset)}"
                )
            time.sleep(0.02)

    # -- per server -----------------------------------------------------------------

    def _initialized(self) -> bool:
        raise NotImplementedError

    def _initialize(self) -> None:
        raise NotImplementedError

    def _remove_stale_files(self) -> None:
        raise NotImplementedError

    def _launch(self) -> None:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _setup(self) -> None:
        """Create (or update) the login user and the default database."""
        raise NotImplementedError

    def create_database(self, name: str) -> str:
        """Create database ``name`` owned by / usable by ``user``; returns its URL."""
        raise NotImplementedError
