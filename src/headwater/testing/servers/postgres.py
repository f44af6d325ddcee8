"""PostgreSQL for tests: :class:`PostgresServer`, and :func:`postgres_available` saying
whether the server binaries (initdb, postgres, psql) are installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import ClassVar

from headwater.testing.servers._server import _Server


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


_LOGICAL = {"wal_level": "logical", "max_replication_slots": "20", "max_wal_senders": "20"}


def _pg_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"  # standard_conforming_strings is on


# --- PostgreSQL ---------------------------------------------------------------------


class PostgresServer(_Server):
    """A PostgreSQL cluster in ``base_dir``, listening on 127.0.0.1:``port`` only.

    ``user`` is a superuser with ``password`` (scram-sha-256 over TCP); the unix
    socket in ``socket_dir`` trusts local connections. The database ``database``
    (default ``headwater``) is created. ``logical``: ``wal_level = logical``, with room for
    replication slots and WAL senders (change data capture tests).
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
        logical: bool = False,
    ) -> None:
        self.logical = logical
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
        if self.logical:
            for key, value in _LOGICAL.items():
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
