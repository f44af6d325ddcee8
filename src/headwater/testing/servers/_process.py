"""OS-level helpers for the test servers: free ports, self-signed certificates, finding
binaries, the unprivileged OS user the servers run as when we are root (``setpriv``, or
``o+x`` on ancestors), and process-group and log helpers.
"""

from __future__ import annotations

import ctypes
import functools
import os
import pwd
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, Self

LOOPBACK = "127.0.0.1"
DB_OS_USER = os.environ.get("HEADWATER_DB_OS_USER", "headwater-db")
_SBIN_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin", "/usr/local/bin")


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


def stop_group(proc: subprocess.Popen[bytes] | None, grace_s: float) -> None:
    """Stop ``proc``'s process group (started with ``start_new_session``): SIGTERM, then
    SIGKILL after ``grace_s`` seconds. Nothing when it is None or has exited."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class GroupServer:
    """A test server run as its own process group: ``start()`` (the subclass's) keeps the
    process in ``_proc``; :meth:`stop` ends the group (:func:`stop_group`, SIGKILL after
    ``grace_s``); used as a context manager, it is started and stopped around the block."""

    grace_s: float = 10.0
    _proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server's process group (nothing when it is not running)."""
        proc, self._proc = self._proc, None
        stop_group(proc, self.grace_s)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
