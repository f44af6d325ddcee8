"""The MySQL/MariaDB connector: pymysql for metadata and errors, connectorx for the rows.

Why two drivers: connectorx (Rust) decodes the wire protocol straight into Arrow and
streams it (``arrow_stream``: batches of ``batch_size`` rows; memory does not grow with the
table), in a child process (:mod:`.extract_process`: in this one it would hold the GIL
while it waits for the server). On 1M lineitem rows it extracts in 4.7 s where mysqlclient's
SSCursor needs 7.9 s (raw values, Arrow casts) to 15 s (Python objects), DuckDB's
mysql_scanner 14 s and pymysql 47 s. But it retries a failed login for 30 s, refuses zero
dates (a panic), mis-decodes wide DECIMALs and long TIMEs, and names no column in its
errors; so every read first opens a pymysql session (short connect timeout) that checks the
login, the table, the columns and the grants and reads the result metadata, and the SELECT
it hands to connectorx reads each column through an expression connectorx decodes exactly
(:mod:`.types`; zero dates: :meth:`MySQLConnector.read`). A connection with a client
certificate (``ssl-cert``), which connectorx cannot present, reads its rows through PyMySQL
(:mod:`.pymysql_extract`), with the same SELECT.

A read is one SELECT on one connection, hence one consistent snapshot (InnoDB, REPEATABLE
READ), except a full read (no cursor) of a large table whose primary key is an integer: it
is split into ``parallel`` key ranges read on as many connections (each range its own
snapshot; every row is still read exactly once, as a key never moves between ranges).

A failed or interrupted extract leaves nothing behind: the rows are loaded, with the new
cursor mark, in one warehouse transaction that rolls back on any error. A lost connection
(server restarted, network cut) raises a transient :class:`ConnectionError_`, which the
runtime retries with backoff; the retry extracts from the start of the same window.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import ssl
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pyarrow as pa

from headwater.errors import ConnectionError_, HeadwaterError, SourceError
from headwater.sources.connector import ConnectorCapabilities, TableRead
from headwater.sources.mysql import catalog
from headwater.sources.mysql.errors import Endpoint
from headwater.sources.mysql.extract_process import ExtractProcess
from headwater.sources.mysql.pymysql_extract import PyMySQLExtract
from headwater.sources.mysql.read_plan import ReadPlan, plan_read
from headwater.sources.mysql.tls import Tls
from headwater.sources.mysql.types import ZERO_DATES, Column, convert, refused_zero_date

CAPABILITIES = ConnectorCapabilities(
    name="mysql",
    incremental_cursor=True,
    custom_query=True,
    list_tables=True,
    parallel_ranges=True,
)
DEFAULT_PORT = 3306
CONNECT_TIMEOUT = 10.0  # seconds; ?connect_timeout=N in the URL overrides it
URL_PARAMETERS = frozenset(
    {
        "connect_timeout",
        "parallel",
        "ssl-mode",
        "ssl-ca",
        "ssl-cert",
        "ssl-key",
        "socket",
        "unix_socket",
    }
)


class MySQLConnector:
    """Read MySQL 5.7+/8.x and MariaDB 10.x tables (or queries) as Arrow record batches.

    URL: ``mysql://user:password@host:port/database`` (also ``mariadb://``,
    ``mysql+pymysql://``); query parameters ``connect_timeout`` (seconds, default 10),
    ``parallel`` (key ranges for large full reads; default: the CPU count, at most 4;
    ``parallel=1`` turns splitting off), ``socket`` (or ``unix_socket``: the server's unix
    socket file, used instead of host and port) and ``ssl-mode``, ``ssl-ca``, ``ssl-cert``,
    ``ssl-key`` (:mod:`.tls`).
    Types: ``docs/types-mysql.md``.
    """

    capabilities = CAPABILITIES

    def __init__(self, url: str, *, name: str) -> None:
        self.name = name
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query))
        self.user = unquote(parts.username or "")
        self._password = unquote(parts.password or "")
        self.host = parts.hostname or "127.0.0.1"
        try:
            self.port = parts.port or DEFAULT_PORT
            self.connect_timeout = float(params.get("connect_timeout", CONNECT_TIMEOUT))
            self.parallel = int(params.get("parallel", min(os.cpu_count() or 1, 4)))
        except ValueError as exc:
            raise ConnectionError_(f"connection {name!r}: malformed URL ({exc})") from None
        self.database = unquote(parts.path.lstrip("/"))
        self.socket = params.get("socket") or params.get("unix_socket") or None
        self.address = f"{self.host}:{self.port}"
        if self.socket:
            self.host, self.address = "localhost", f"unix socket {self.socket}"
        self.where = f"connection {name!r} ({self.address}/{self.database})"
        if not self.database:
            raise ConnectionError_(f"{self.where}: the URL names no database (mysql://.../db)")
        unknown = sorted(set(params) - URL_PARAMETERS)
        if unknown:  # a misspelt ssl-mode must not quietly mean `preferred`
            close = difflib.get_close_matches(unknown[0], URL_PARAMETERS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConnectionError_(
                f"{self.where}: unknown URL parameter {unknown[0]!r} "
                f"({hint}known: {', '.join(sorted(URL_PARAMETERS))})"
            )
        self.tls = Tls.from_params(params, self.where)
        if self.socket and self.tls.mode not in ("disabled", "preferred"):
            raise ConnectionError_(
                f"{self.where}: ssl-mode={self.tls.mode} does not apply to a unix socket (the "
                "connection never leaves this machine); drop ssl-mode or connect by host:port"
            )
        self.endpoint = Endpoint(
            self.where,
            self.address,
            self.user,
            self.database,
            self._password,
            tls_disabled=self.tls.mode == "disabled",
        )
        self.failure: HeadwaterError | None = None
        self._lesson: str | None = None  # see lesson()
        self._extract: ExtractProcess | PyMySQLExtract | None = None  # the one in progress
        self._con = self._connect()

    # -- the metadata session ------------------------------------------------------------

    def _connect(self) -> Any:
        pymysql = _require("pymysql", self.name)
        try:
            tls = self.tls.pymysql_options()
        except (OSError, ssl.SSLError) as exc:  # a TLS file that cannot be read
            given = (
                ("ssl-ca", self.tls.ca),
                ("ssl-cert", self.tls.cert),
                ("ssl-key", self.tls.key),
            )
            files = ", ".join(f"{name} {path!r}" for name, path in given if path)
            raise ConnectionError_(f"{self.where}: {files}: {exc}") from None
        try:
            con = pymysql.connect(
                host=self.host,
                port=self.port,
                unix_socket=self.socket,
                user=self.user,
                password=self._password.encode(),  # UTF-8 (pymysql would send latin-1)
                database=self.database,
                charset="utf8mb4",
                connect_timeout=self.connect_timeout,
                # pymysql's connect_timeout covers the TCP connect only: a server that
                # accepts and stays silent is given as long for its handshake
                read_timeout=self.connect_timeout,
                autocommit=True,
                init_command="SET time_zone = '+00:00'",
                **tls,
            )
        except pymysql.err.MySQLError as exc:
            if "server doesn't support it" in str(exc):  # PyMySQL, when TLS is required
                raise self.tls.no_tls_error(self.where) from None
            raise self._error(exc, connecting=True) from None
        # whether the session got TLS; under `preferred` the server decides, and the
        # extract's sessions follow this one (see Tls.url_params)
        self.encrypted = self.tls.mode != "disabled"
        if self.tls.mode == "preferred":
            with con.cursor() as cur:
                cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                row = cur.fetchone()
            self.encrypted = bool(row and row[1])
        con._read_timeout = None  # metadata queries (a view's LIMIT 0) may take their time
        return con

    def close(self) -> None:
        """Close the session, and an extract whose rows were never read to the end."""
        if self._extract is not None:
            self._extract.close()
            self._extract = None
        with contextlib.suppress(Exception):
            self._con.close()

    def _query(self, sql: str, args: Any = None, *, table: str | None = None) -> Any:
        import pymysql

        cur = self._con.cursor()
        try:
            cur.execute(sql, args)
        except pymysql.err.MySQLError as exc:
            raise self._error(exc, table=table) from None
        return cur

    def _error(
        self, exc: Exception, *, table: str | None = None, connecting: bool = False
    ) -> HeadwaterError:
        """One line naming the connection (never the password) for a pymysql error."""
        return self.endpoint.driver_error(exc, table=table, connecting=connecting)

    # -- discovery ---------------------------------------------------------------------

    def tables(self, schema: str | None = None) -> list[str]:
        """Tables and views of the URL's database (or of database ``schema``)."""
        cur = self._query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
            "ORDER BY TABLE_NAME",
            [schema or self.database],
        )
        return [row[0] for row in cur.fetchall()]

    def schema(self, table: str) -> pa.Schema:
        return pa.schema([(c.name, c.arrow) for c in self._columns(table, None)])

    def _columns(self, table: str | None, query: str | None) -> list[Column]:
        return catalog.columns(
            self._query, table, query, at=self._at(table), database=self.database
        )

    def _at(self, table: str | None) -> str:
        return f"{self.where} table {table or 'query'!r}"

    def plan(self, what: TableRead, *, zero_dates: bool = True) -> ReadPlan:
        """The SELECT for ``what`` and its columns; checks names, grants and cursor values.
        ``zero_dates``: read DATE and DATETIME columns through their zero-date guard."""
        if not what.table and not what.query:
            raise SourceError(f"{self.where}: a read needs a table or a query")
        every = self._columns(what.table, what.query)
        plan = plan_read(
            what,
            every,
            at=self._at(what.table),
            escape=self._escape,
            integer_key=lambda: catalog.integer_key(
                self._query, what.table or "", every, database=self.database
            ),
            parallel=self.parallel,
            zero_dates=zero_dates,
            server_pads=lambda: catalog.pads_char(self._query),
        )
        self._query(f"{plan.sql} LIMIT 0", table=what.table)  # grants, expressions: fail here
        return plan

    def _escape(self, value: str) -> str:
        return str(self._con.escape(value))

    def read(self, what: TableRead) -> pa.RecordBatchReader:
        """The rows of ``what``; through connectorx, dates unguarded unless ``what.hints``
        holds :data:`ZERO_DATES` (a zero date then stops the read: see :meth:`lesson`)."""
        extract: ExtractProcess | PyMySQLExtract
        self.failure = self._lesson = None
        if self.tls.cert:  # connectorx cannot present a client certificate
            plan = self.plan(what)  # always guarded: PyMySQL's own zero dates are text
            setup = self._time_limit(what)
            extract = PyMySQLExtract(self._connect(), kill_query=self._kill_query)
            raw = extract.batches(plan.sql, setup, what.batch_size)
        else:
            _require("connectorx", self.name)
            extract = ExtractProcess()  # started first: its imports overlap the planning
            try:
                plan = self.plan(what, zero_dates=ZERO_DATES in what.hints)
                request = self._request(plan, what)
            except BaseException:
                extract.close()
                raise
            raw = extract.batches(request)
        self._extract = extract
        return pa.RecordBatchReader.from_batches(
            plan.schema, self._batches(plan, what, raw, extract)
        )

    def lesson(self) -> str | None:
        """:data:`ZERO_DATES` if the last read stopped at a zero date it read unguarded."""
        return self._lesson

    def cancel(self) -> None:
        """Stop the extract in progress, from another thread (a timed-out step)."""
        extract = self._extract
        if extract is not None:
            extract.kill()

    def _kill_query(self, thread_id: int) -> None:
        self._con.query(f"KILL QUERY {thread_id}")

    def _cx_url(self) -> str:
        user, password = quote(self.user, safe=""), quote(self._password, safe="")
        database = quote(self.database, safe="")
        query = self.tls.url_params(self.encrypted)
        if self.socket:  # the Rust mysql crate's own parameter; host and port are then unused
            query += ("&" if query else "?") + f"socket={quote(self.socket, safe='')}"
        return f"mysql://{user}:{password}@{self.host}:{self.port}/{database}{query}"

    def _request(self, plan: ReadPlan, what: TableRead) -> dict[str, Any]:
        """What the extract process is asked for (see :mod:`.extract_process`)."""
        request: dict[str, Any] = {
            "url": self._cx_url(),
            "sql": plan.sql,
            "batch_size": what.batch_size,
            "pre_execution_query": ["SET time_zone = '+00:00'", *self._time_limit(what)],
        }
        if plan.partition is not None:
            request.update(partition_on=plan.partition[0], partition_num=plan.partition[1])
        return request

    def _batches(
        self,
        plan: ReadPlan,
        what: TableRead,
        raw: Iterator[pa.RecordBatch],
        extract: ExtractProcess | PyMySQLExtract,
    ) -> Iterator[pa.RecordBatch]:
        """The batches ``raw`` of ``extract``, converted to the plan's types; the extract is
        closed however the stream ends."""
        schema, offset = plan.schema, 0
        try:
            for batch in raw:
                if batch.num_rows:
                    yield self._convert(batch, plan, schema, offset, what)
                offset += batch.num_rows
        except (GeneratorExit, KeyboardInterrupt, SystemExit):
            raise
        except HeadwaterError as exc:
            self.failure = exc
            raise
        except BaseException as exc:  # ExtractFailed: the driver's words, or why it died
            if not plan.guarded and refused_zero_date(str(exc)):
                self._lesson = ZERO_DATES
                self.failure = SourceError(
                    f"{self._at(what.table)}: a zero date after row {offset}, read without "
                    "the zero-date guard (as a table is until it shows one)"
                )
            else:
                self.failure = self._stream_error(exc, what, offset)
            raise self.failure from None
        finally:
            if self._extract is extract:
                self._extract = None
            extract.close()

    def _time_limit(self, what: TableRead) -> list[str]:
        """The server stops the extract's query when the step's time is up. The runtime's
        timeout also kills the extract process (:meth:`cancel`), but only the server can
        stop the query's work on the server at once."""
        if what.timeout is None:
            return []
        row = self._query("SELECT VERSION()").fetchone()
        if "mariadb" in str(row[0] if row else "").lower():
            return [f"SET SESSION max_statement_time = {what.timeout:.3f}"]
        # MySQL: milliseconds, SELECT statements only (which is what this is)
        return [f"SET SESSION max_execution_time = {max(1, int(what.timeout * 1000))}"]

    def _convert(
        self, batch: pa.RecordBatch, plan: ReadPlan, schema: pa.Schema, offset: int, what: TableRead
    ) -> pa.RecordBatch:
        arrays = []
        for index, col in enumerate(plan.columns):
            try:
                arrays.append(convert(col, batch.column(index)))
            except ValueError as exc:
                row, reason = exc.args
                where = f"row {offset + row + 1}, " if row is not None else ""
                raise SourceError(
                    f"{self._at(what.table)}: {where}column {col.name!r} ({col.kind}): {reason}"
                ) from None
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _stream_error(self, exc: BaseException, what: TableRead, offset: int) -> HeadwaterError:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return self.endpoint.stream_error(
            message, at=self._at(what.table), offset=offset, alive=self._alive
        )

    def _alive(self) -> bool:
        """Whether the server still answers (a reconnect, if need be, within the timeout)."""
        self._con._read_timeout = self.connect_timeout
        try:
            try:
                self._con.ping(reconnect=False)
            except Exception:  # what ping(reconnect=True) did, before PyMySQL deprecated it
                self._con.connect()
                self._con.ping(reconnect=False)
        except Exception:
            return False
        finally:
            self._con._read_timeout = None
        return True


def _require(module: str, name: str) -> Any:
    """The gate for the optional drivers: a clear message when they are not installed."""
    try:
        return __import__(module)
    except ImportError:
        raise ConnectionError_(
            f"connection {name!r}: MySQL/MariaDB needs the {module} package: "
            "pip install 'headwater[mysql]'"
        ) from None
