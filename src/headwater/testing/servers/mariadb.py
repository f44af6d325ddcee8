"""MariaDB for tests: :class:`MariaDBServer`, and :func:`mariadb_available` saying whether
mariadbd, mariadb-install-db and the mariadb client are installed.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import ClassVar

from headwater.testing.servers._process import _which
from headwater.testing.servers._server import _Server


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


def _mysql_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


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
        client_ca: Path | None = None,
    ) -> None:
        self.client_ca = client_ca  # with tls: the CA of client certificates it accepts
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
            if self.client_ca is not None:  # accounts may then REQUIRE X509
                argv.append(f"--ssl-ca={self.client_ca}")
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
