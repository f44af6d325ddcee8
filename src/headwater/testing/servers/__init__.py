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

Modules: :mod:`.postgres` holds :class:`PostgresServer` and :func:`postgres_available`;
:mod:`.mariadb` holds :class:`MariaDBServer` and :func:`mariadb_available`;
:mod:`._server` holds their common base class (start, stop, kill, restart) and the
stopping of running servers at interpreter exit; :mod:`._process` holds the OS-level
helpers: :func:`free_port`, the self-signed certificates
(:func:`self_signed_certificate`, :func:`self_signed_command`), finding binaries, the
unprivileged OS user (:data:`DB_OS_USER`) and process-group helpers.
"""

from headwater.testing.servers._process import (
    DB_OS_USER,
    free_port,
    self_signed_certificate,
    self_signed_command,
)
from headwater.testing.servers.mariadb import MariaDBServer, mariadb_available
from headwater.testing.servers.postgres import PostgresServer, postgres_available

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
