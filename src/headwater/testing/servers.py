"""Real PostgreSQL and MariaDB servers for tests, on loopback only.

Each server gets its own directory (data, log, unix socket), its own TCP port on
127.0.0.1 and a password-protected login, so tests talk to it exactly as
Headwater talks to a production database::

    with PostgresServer(tmp_path / "pg") as pg:
        conn = psycopg.connect(pg.url)

    with MariaDBServer(tmp_path / "maria") as db:
        conn = pymysql.connect(host=db.host, port=db.port, user=db.user,
                               password=db.password, database=db.database)

The server binaries come from the system (``scripts/install-system-deps.sh``
installs them); :func:`postgres_available` and :func:`mariadb_available` say
whether they are there.

Both servers are tuned for tests, not durability against power loss: no fsync,
but every commit still reaches the OS before it returns, so a ``kill()``
(SIGKILL, as in a crash of the server process) never loses committed data.

When the tests run as root (CI containers), the servers cannot: they run as
the unprivileged system user ``headwater-db`` (created with ``useradd`` when
missing; override the name with ``$HEADWATER_DB_OS_USER``), which then owns the
base directory. They are started through ``setpriv`` with the one capability
CAP_DAC_READ_SEARCH, so that they reach a base directory below directories
that only root may enter, such as pytest's ``/tmp/pytest-of-root`` (0700, and
set back to 0700 by every pytest session that starts). Where setpriv cannot do
that, such ancestors get the search bit for "others" instead (``o+x``).

Processes are never leaked by a normal exit: :meth:`stop` runs on ``__exit__``
and at interpreter exit, and the server is sent a shutdown signal by the kernel
if the Python process that started it dies (``PR_SET_PDEATHSIG``; for a server
started from the main thread only, as the signal fires when the starting thread
ends).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, NamedTuple, Self
from urllib.parse import quote

__all__ = [
    "DB_OS_USER",
    "MariaDBServer",
    "PostgresServer",
    "free_port",
    "mariadb_available",
    "postgres_available",
    "self_signed_certificate",
    "self_signed_command",
]

LOOPBACK = "127.0.0.1"
DB_OS_USER = os.environ.get("HEADWATER_DB_OS_USER", "headwater-db")
_SBIN_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin", "/usr/local/bin")
# A unix socket path must fit in sockaddr_un.sun_path (108 bytes with the NUL).
_MAX_SOCKET_PATH = 107


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


def self_signed_command(key: Path, certificate: Path) -> list[str]:
    """The openssl command that writes ``key`` and a self-signed ``certificate`` for
    127.0.0.1, valid two days; its subjectAltName passes a client's host-name check."""
    return [
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", str(key), "-out", str(certificate),
    ]  # fmt: skip


def self_signed_certificate(folder: Path, name: str) -> Path:
    """``folder/<name>.crt`` (and its key): a certificate no test server uses, for a
    client that must fail to verify one (a wrong CA)."""
    certificate = folder / f"{name}.crt"
    subprocess.run(
        self_signed_command(folder / f"{name}.key", certificate), check=True, capture_output=True
    )
    return certificate


# --- finding binaries -------------------------------------------------------------


def _which(*names: str) -> str | None:
    """First of ``names`` found in PATH or in the sbin directories (not in a user's PATH)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        for d in _SBIN_DIRS:
            candidate = Path(d, name)
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def _pg_bin_dir() -> Path | None:
    """Directory with initdb, postgres and psql: $HEADWATER_PG_BIN, newest Debian one, PATH."""

    def complete(d: Path) -> bool:
        return all((d / n).is_file() for n in ("initdb", "postgres", "psql"))

    env = os.environ.get("HEADWATER_PG_BIN")
    if env and complete(Path(env)):
        return Path(env)

    def version(d: Path) -> tuple[int, ...]:
        parts = d.parent.name.split(".")
        return tuple(int(p) for p in parts if p.isdigit())

    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for d in debian:
        if complete(d):
            return d
    initdb = shutil.which("initdb")
    if initdb and complete(Path(initdb).parent):
        return Path(initdb).parent
    return None


def postgres_available() -> bool:
    """Whether the PostgreSQL server binaries (initdb, postgres, psql) are installed."""
    return _pg_bin_dir() is not None


def _mariadb_binaries() -> tuple[str, str, str] | None:
    server = _which("mariadbd", "mysqld")
    install_db = _which("mariadb-install-db", "mysql_install_db")
    client = _which("mariadb", "mysql")
    if server and install_db and client:
        return server, install_db, client
    return None


def mariadb_available() -> bool:
    """Whether mariadbd, mariadb-install-db and the mariadb client are installed."""
    return _mariadb_binaries() is not None


# --- running as an unprivileged user when we are root --------------------------------


class _Identity(NamedTuple):
    """The unprivileged OS user that servers run as when we are root."""

    uid: int
    gid: int
    #: setpriv command prefix switching to uid/gid with CAP_DAC_READ_SEARCH, or None
    #: when setpriv is missing or cannot do that (then: Popen(user=...) and o+x).
    setpriv: tuple[str, ...] | None


@functools.cache
def _setpriv_prefix(uid: int, gid: int) -> tuple[str, ...] | None:
    setpriv = _which("setpriv")
    if setpriv is None:
        return None
    prefix = (
        setpriv,
        f"--reuid={uid}",
        f"--regid={gid}",
        "--clear-groups",
        # Search/read past directories the user has no access to, such as pytest's
        # /tmp/pytest-of-root (0700, and re-chmodded so by every new pytest session).
        "--inh-caps=-all,+dac_read_search",
        "--ambient-caps=-all,+dac_read_search",
    )
    try:
        subprocess.run([*prefix, "--", "true"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return prefix


def _db_identity() -> _Identity | None:
    """Who runs the servers: None for ourselves (not root), else an unprivileged user."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(DB_OS_USER)
    except KeyError:
        useradd = _which("useradd")
        if useradd is None:
            raise RuntimeError(
                f"running as root and no OS user {DB_OS_USER!r} to run database servers "
                "as; useradd is missing: create that user by hand"
            ) from None
        proc = subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                DB_OS_USER,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:  # Another process may have created it at the same time: fine.
            pw = pwd.getpwnam(DB_OS_USER)
        except KeyError:
            raise RuntimeError(
                f"could not create OS user {DB_OS_USER!r}: {proc.stderr.strip()}"
            ) from None
    if pw.pw_uid == 0:
        raise RuntimeError(f"OS user {DB_OS_USER!r} is root; database servers refuse root")
    return _Identity(pw.pw_uid, pw.pw_gid, _setpriv_prefix(pw.pw_uid, pw.pw_gid))


def _make_traversable(path: Path, uid: int, gid: int) -> None:
    """Give ``uid`` search permission on every ancestor of ``path`` (adds o+x where needed)."""
    for ancestor in path.parents:
        st = ancestor.stat()
        if st.st_uid == uid:
            ok = bool(st.st_mode & 0o100)
        elif st.st_gid == gid:
            ok = bool(st.st_mode & 0o010)
        else:
            ok = bool(st.st_mode & 0o001)
        if not ok:
            os.chmod(ancestor, (st.st_mode & 0o7777) | 0o001)


# --- processes --------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
try:
    _libc: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - not glibc/Linux
    _libc = None


def _pdeathsig(sig: int) -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to send ``sig`` to the child when we die."""
    if _libc is None:
        return None
    libc = _libc

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return preexec


def _group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is left in process group ``pgid``."""
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - not Linux
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 3 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _tail(path: Path, lines: int = 40, *, offset: int = 0) -> str:
    """The last ``lines`` lines of ``path`` after byte ``offset``."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


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


def _pg_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"  # standard_conforming_strings is on


def _mysql_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


# --- PostgreSQL ---------------------------------------------------------------------


class PostgresServer(_Server):
    """A PostgreSQL cluster in ``base_dir``, listening on 127.0.0.1:``port`` only.

    ``user`` is a superuser with ``password`` (scram-sha-256 over TCP); the unix
    socket in ``socket_dir`` trusts local connections. The database ``database``
    (default ``headwater``) is created.
    """

    scheme = "postgresql"
    sqlalchemy_scheme = "postgresql+psycopg"
    name = "PostgreSQL"
    shutdown_signal = signal.SIGINT  # "fast" shutdown: roll back sessions, checkpoint, exit.
    port_in_use_markers = ("Address already in use", "could not create any TCP/IP sockets")

    #: Server settings, as ``-c name=value``. fsync is off for speed; synchronous_commit
    #: stays on, which then costs only a write(): a SIGKILL never loses a commit.
    settings: ClassVar[dict[str, str]] = {
        "fsync": "off",
        "full_page_writes": "off",
        "synchronous_commit": "on",
        "jit": "off",
        "log_min_messages": "warning",
        "log_line_prefix": "%m [%p] ",
        "logging_collector": "off",
        "max_connections": "100",
        "shared_buffers": "64MB",
        "timezone": "UTC",
    }

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
        super().__init__(
            base_dir,
            port=port,
            user=user,
            password=password,
            database=database,
            startup_timeout=startup_timeout,
            tls=tls,
        )
        bin_dir = _pg_bin_dir()
        if bin_dir is None:
            raise RuntimeError(
                "PostgreSQL server binaries not found (looked in $HEADWATER_PG_BIN, "
                "/usr/lib/postgresql/*/bin, PATH); run scripts/install-system-deps.sh"
            )
        self.bin_dir = bin_dir

    def _socket_name(self) -> str:
        return ".s.PGSQL.65535"

    def _initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def _initialize(self) -> None:
        if self.data_dir.exists():  # a half-made cluster from an interrupted initdb
            shutil.rmtree(self.data_dir)
        pwfile = self.base_dir / ".initdb-password"
        pwfile.write_text(self.password + "\n")
        try:
            if self._ident is not None:
                os.chown(pwfile, self._ident.uid, self._ident.gid)
            os.chmod(pwfile, 0o600)
            self._run(
                [
                    str(self.bin_dir / "initdb"),
                    "--pgdata",
                    str(self.data_dir),
                    "--username",
                    self.user,
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                    "--no-instructions",
                ]
            )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n(initdb for {self.base_dir})") from None
        finally:
            pwfile.unlink(missing_ok=True)
        # Only loopback TCP, always with a password; unix socket trusted (it is in a 0700 dir).
        tcp = "hostssl" if self.tls else "host"
        (self.data_dir / "pg_hba.conf").write_text(
            "# written by headwater.testing.servers\n"
            "local all all trust\n"
            f"{tcp} all all 127.0.0.1/32 scram-sha-256\n"
            f"{tcp} all all ::1/128      scram-sha-256\n"
        )

    def _remove_stale_files(self) -> None:
        # Only ever called while no process of ours runs on this directory.
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        for path in self.socket_dir.glob(".s.PGSQL.*"):
            path.unlink(missing_ok=True)

    def _launch(self) -> None:
        argv = [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-c",
            f"port={self.port}",
            "-c",
            f"listen_addresses={self.host}",
            "-c",
            f"unix_socket_directories={self.socket_dir}",
        ]
        for key, value in self.settings.items():
            argv += ["-c", f"{key}={value}"]
        if self.tls:
            argv += [
                "-c",
                "ssl=on",
                "-c",
                "ssl_cert_file=server.crt",
                "-c",
                "ssl_key_file=server.key",
            ]
        self._proc = self._spawn(argv)

    def _ready(self) -> bool:
        # postmaster.pid's 8th line is the postmaster's status, "ready" once it accepts
        # connections (after any crash recovery).
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def _psql(self, sql: str, *, database: str = "postgres") -> str:
        return self._run(
            [
                str(self.bin_dir / "psql"),
                "--no-psqlrc",
                "--quiet",
                "--tuples-only",
                "--no-align",
                "--set=ON_ERROR_STOP=1",
                "--host",
                str(self.socket_dir),
                "--port",
                str(self.port),
                "--username",
                self.user,
                "--dbname",
                database,
                "--command",
                sql,
            ],
            as_db_user=False,
        )

    def _setup(self) -> None:
        # Every start: also fixes the password of a cluster made with another one.
        ident = '"' + self.user.replace('"', '""') + '"'
        self._psql(f"ALTER ROLE {ident} WITH PASSWORD {_pg_literal(self.password)}")
        self._ensure_database(self.database)

    def _ensure_database(self, name: str) -> None:
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = {_pg_literal(name)}")
        if not exists.strip():
            db = '"' + name.replace('"', '""') + '"'
            owner = '"' + self.user.replace('"', '""') + '"'
            self._psql(f"CREATE DATABASE {db} OWNER {owner}")

    def create_database(self, name: str) -> str:
        """Create database ``name`` (owned by ``user``) if missing; returns its URL."""
        if not self.running:
            raise RuntimeError(f"{self!r} is not running")
        self._ensure_database(name)
        return self.url_for(name)

    def _escalate(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGQUIT)  # immediate shutdown
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


# --- MariaDB -------------------------------------------------------------------------


class MariaDBServer(_Server):
    """A MariaDB server in ``base_dir``, listening on 127.0.0.1:``port`` only.

    ``user`` (at ``%`` and ``localhost``) has ``password`` and all privileges; the
    database ``database`` (default ``headwater``) is created. The server's root has
    no password and is reachable through the unix socket in ``socket_dir`` only
    (``--skip-name-resolve``: TCP logins are never "localhost").
    """

    scheme = "mysql"
    sqlalchemy_scheme = "mysql+pymysql"
    name = "MariaDB"
    shutdown_signal = signal.SIGTERM  # normal shutdown
    port_in_use_markers = ("Address already in use", "Do you already have another server")

    #: Extra server options. innodb_flush_log_at_trx_commit=2 writes the log to the OS at
    #: each commit but never fsyncs it: fast, and a SIGKILL never loses a commit.
    options: ClassVar[tuple[str, ...]] = (
        "--innodb-flush-log-at-trx-commit=2",
        "--innodb-doublewrite=0",
        "--innodb-buffer-pool-size=64M",
        "--innodb-log-file-size=32M",
        "--skip-log-bin",
        "--sync-binlog=0",
        "--performance-schema=0",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_general_ci",
        "--default-time-zone=+00:00",
        "--max-connections=200",
    )

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
        super().__init__(
            base_dir,
            port=port,
            user=user,
            password=password,
            database=database,
            startup_timeout=startup_timeout,
            tls=tls,
        )
        binaries = _mariadb_binaries()
        if binaries is None:
            raise RuntimeError(
                "MariaDB not found (mariadbd, mariadb-install-db, mariadb); "
                "run scripts/install-system-deps.sh (as root) to install it"
            )
        self.server_bin, self.install_db_bin, self.client_bin = binaries

    def _socket_name(self) -> str:
        return "mysqld.sock"

    @property
    def socket_path(self) -> Path:
        return self.socket_dir / self._socket_name()

    @property
    def pid_path(self) -> Path:
        return self.base_dir / "mysqld.pid"

    def _common_options(self) -> list[str]:
        # --no-defaults must come first: never read /etc/mysql/my.cnf or ~/.my.cnf.
        return [
            "--no-defaults",
            f"--datadir={self.data_dir}",
            f"--tmpdir={self.base_dir}",
            *self.options,
        ]

    def _initialized(self) -> bool:
        return (self.data_dir / "mysql" / "global_priv.MAI").exists() or (
            self.data_dir / "mysql" / "user.frm"
        ).exists()

    def _initialize(self) -> None:
        if self.data_dir.exists():  # half-made by an interrupted install
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir()
        if self._ident is not None:
            os.chown(self.data_dir, self._ident.uid, self._ident.gid)
        opts = self._common_options()
        argv = [
            self.install_db_bin,
            opts[0],
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            *opts[1:],
        ]
        try:
            self._run(argv)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n(mariadb-install-db for {self.base_dir})") from None

    def _remove_stale_files(self) -> None:
        # Only ever called while no process of ours runs on this directory.
        self.pid_path.unlink(missing_ok=True)
        self.socket_path.unlink(missing_ok=True)
        (self.socket_dir / (self._socket_name() + ".lock")).unlink(missing_ok=True)

    def _launch(self) -> None:
        opts = self._common_options()
        argv = [
            self.server_bin,
            opts[0],
            *opts[1:],
            f"--port={self.port}",
            f"--bind-address={self.host}",
            "--skip-networking=0",
            "--skip-name-resolve",
            f"--socket={self.socket_path}",
            f"--pid-file={self.pid_path}",
            f"--log-error={self.log_path}",
        ]
        if self.tls:
            argv += [
                f"--ssl-cert={self.data_dir / 'server.crt'}",
                f"--ssl-key={self.data_dir / 'server.key'}",
                "--require-secure-transport=ON",  # TCP only: root's unix socket stays plain
            ]
        self._proc = self._spawn(argv)

    def _ready(self) -> bool:
        # "ready for connections" is logged once it accepts them (after crash recovery).
        # (Probing the socket instead would log an "Aborted connection" warning.)
        if not self.socket_path.exists():
            return False
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                return b": ready for connections" in log.read()
        except OSError:
            return False

    def _sql(self, sql: str) -> str:
        return self._run(
            [
                self.client_bin,
                "--no-defaults",
                f"--socket={self.socket_path}",
                "--user=root",
                "--batch",
                "--skip-column-names",
                "--execute",
                sql,
            ],
            as_db_user=False,
        )

    def _setup(self) -> None:
        user, password = _mysql_literal(self.user), _mysql_literal(self.password)
        statements = []
        for host in ("'%'", "'localhost'"):
            statements += [
                f"CREATE USER IF NOT EXISTS {user}@{host} IDENTIFIED BY {password}",
                f"ALTER USER {user}@{host} IDENTIFIED BY {password}",
                f"GRANT ALL PRIVILEGES ON *.* TO {user}@{host} WITH GRANT OPTION",
            ]
        # mariadb-install-db also makes password-less root@127.0.0.1, root@::1 and
        # root@<hostname>: keep root on the unix socket only. Anonymous accounts (none
        # made by 10.4+) would shadow the user's logins.
        statements += [
            "DELETE FROM mysql.global_priv WHERE User = ''"
            " OR (User = 'root' AND Host <> 'localhost')",
            "DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost'",
        ]
        statements.append("FLUSH PRIVILEGES")
        statements.append(self._create_db_sql(self.database))
        # The grant tables are Aria tables: without a flush, a SIGKILL soon after (a crash
        # test) loses the user, and logins after the restart fail until _setup runs again.
        statements.append("FLUSH TABLES")
        self._sql(";\n".join(statements) + ";")

    @staticmethod
    def _create_db_sql(name: str) -> str:
        return "CREATE DATABASE IF NOT EXISTS `" + name.replace("`", "``") + "`"

    def create_database(self, name: str) -> str:
        """Create database ``name`` if missing (``user`` may use every database); its URL."""
        if not self.running:
            raise RuntimeError(f"{self!r} is not running")
        self._sql(self._create_db_sql(name))
        return self.url_for(name)
