"""Users, roles, API tokens and browser sessions of a project (the web UI's and the HTTP
API's accounts), stored in the project's metastore.

Roles, each allowing what the one before it does: ``viewer`` (read everything),
``operator`` (run, trigger, cancel, retry, backfill, check, release or discard quarantined
rows), ``admin`` (users and tokens). Passwords are hashed with argon2id (argon2-cffi); API
tokens and session cookies are random (``secrets``) and only their sha256 is stored, so a copy
of the metastore lets no one in. A token is shown once, by :func:`create_token`.

Sessions expire after :data:`SESSION_IDLE` without a request and at the latest
:data:`SESSION_MAX` after the login. Logins are throttled per (user, client address) by
:data:`throttle`: after :data:`LoginThrottle.free` failures each further attempt waits a
delay doubling from 30 s up to 15 minutes; a success clears the count.

Errors: :class:`AccountError` (exit 1) for an unknown user, a duplicate name, a bad role or
password; :class:`LoginRefused` (wrong name or password, disabled user) and
:class:`LoginThrottled` for :func:`authenticate`. Messages are one line and never hold a
password or a token.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from headwater.api.project import ProjectLike
from headwater.errors import HeadwaterError, ProjectError
from headwater.metastore import Metastore
from headwater.metastore.accounts import ROLES, TokenRecord, UserRecord

ROLE_ORDER = ("viewer", "operator", "admin")
SESSION_IDLE = timedelta(hours=12)
SESSION_MAX = timedelta(days=7)
MIN_PASSWORD = 8
TOKEN_PREFIX = "hw_"
_TOUCH_EVERY = timedelta(minutes=1)  # last-used times are written at most this often


class AccountError(HeadwaterError):
    """A user or token operation that cannot be done as asked (exit 1)."""


class LoginRefused(AccountError):
    """Wrong user name or password, or a disabled user: one message for all three, so the
    answer does not tell which names exist."""


class LoginThrottled(AccountError):
    """Too many failed logins for this user from this address; ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may (viewer < operator < admin)."""
    return ROLE_ORDER.index(role) >= ROLE_ORDER.index(needed)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


@dataclass(frozen=True)
class UserInfo:
    """A user, without the password hash."""

    name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def from_record(cls, r: UserRecord) -> UserInfo:
        return cls(r.name, r.role, r.created_at, r.disabled_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "created_at": _iso(self.created_at),
            "disabled_at": _iso(self.disabled_at),
        }


@dataclass(frozen=True)
class TokenInfo:
    """An API token without its secret; ``token`` is set only by :func:`create_token`."""

    id: str
    user: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    token: str | None = None

    @classmethod
    def from_record(cls, r: TokenRecord, token: str | None = None) -> TokenInfo:
        return cls(
            r.id, r.user_name, r.label, r.created_at, r.last_used_at, r.revoked_at, token
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "user": self.user,
            "label": self.label,
            "created_at": _iso(self.created_at),
            "last_used_at": _iso(self.last_used_at),
            "revoked_at": _iso(self.revoked_at),
        }
        if self.token is not None:
            out["token"] = self.token
        return out


@dataclass(frozen=True)
class SessionInfo:
    """A live browser session: its user, CSRF token and expiry. ``cookie`` is set only by
    :func:`start_session` (the value the browser keeps)."""

    user: UserInfo
    csrf_token: str
    expires_at: datetime
    cookie: str | None = None


# ---------------------------------------------------------------------- the store

_stores: dict[str, Metastore] = {}
_stores_lock = threading.Lock()


def _metastore_url(project: ProjectLike) -> str:
    """The project's metastore URL; a folder is read for its headwater.toml only (accounts
    stay manageable while a model of the project has an error, and the CLI needs no parse)."""
    from headwater.project import Project
    from headwater.project.graph import Graph

    if isinstance(project, Project):
        return project.metastore_url
    from headwater.config.settings import load_settings

    toml = Path(project) / "headwater.toml"
    if not toml.is_file():
        raise ProjectError(f"{toml}: no such file (not a Headwater project folder)")
    return Project(Path(project), load_settings(toml), Graph([])).metastore_url


def _store(project: ProjectLike) -> Metastore:
    """The project's metastore, opened once per process: a server checks a session or token
    on every request, and opening costs ~4 ms where a lookup costs ~0.4 ms."""
    url = _metastore_url(project)
    with _stores_lock:
        store = _stores.get(url)
        if store is None:
            store = _stores[url] = Metastore.open(url)
        return store


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _hasher() -> Any:
    from argon2 import PasswordHasher  # imported on use: the CLI's other commands skip it

    return PasswordHasher()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use viewer, operator or admin")


def _user(store: Metastore, name: str) -> UserRecord:
    found = store.get_user(name)
    if found is None:
        raise AccountError(f"no user {name!r} (see `headwater user list`)")
    return found


# ---------------------------------------------------------------------- users


def add_user(project: ProjectLike, name: str, password: str, role: str) -> UserInfo:
    """Create user ``name`` with ``role``; AccountError when it exists or is invalid."""
    if not name or len(name) > 200 or not name.isprintable() or name != name.strip():
        raise AccountError(f"invalid user name {name!r}: 1-200 printable characters")
    _check_role(role)
    _check_password(password)
    store = _store(project)
    if store.get_user(name) is not None:
        raise AccountError(f"user {name!r} already exists")
    return UserInfo.from_record(store.add_user(name, _hasher().hash(password), role))


def list_users(project: ProjectLike) -> list[UserInfo]:
    """Every user, by name."""
    return [UserInfo.from_record(u) for u in _store(project).users()]


def set_password(project: ProjectLike, name: str, password: str) -> None:
    """Give ``name`` a new password and end its sessions."""
    _check_password(password)
    store = _store(project)
    _user(store, name)
    store.update_user(name, password_hash=_hasher().hash(password))
    store.delete_sessions(user_name=name)


def set_role(project: ProjectLike, name: str, role: str) -> UserInfo:
    """Give ``name`` the role ``role`` (its sessions and tokens carry the new role at once)."""
    _check_role(role)
    store = _store(project)
    _user(store, name)
    store.update_user(name, role=role)
    return UserInfo.from_record(_user(store, name))


def disable(project: ProjectLike, name: str) -> UserInfo:
    """Disable ``name``: its sessions end, its tokens stop working, it cannot log in."""
    store = _store(project)
    _user(store, name)
    store.update_user(name, disabled_at=datetime.now(UTC))
    store.delete_sessions(user_name=name)
    return UserInfo.from_record(_user(store, name))


def remove_user(project: ProjectLike, name: str) -> None:
    """Delete ``name`` with its tokens and sessions."""
    if not _store(project).delete_user(name):
        raise AccountError(f"no user {name!r} (see `headwater user list`)")


# ---------------------------------------------------------------------- API tokens


def create_token(project: ProjectLike, user: str, label: str | None = None) -> TokenInfo:
    """A new API token of ``user``, its secret in ``token`` (shown once: only its sha256
    is kept). Scripts send it as ``Authorization: Bearer <token>``; it acts with the user's
    role."""
    store = _store(project)
    if _user(store, user).disabled_at is not None:
        raise AccountError(f"user {user!r} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = "tok_" + secrets.token_hex(4)
    store.add_token(token_id, user, _sha256(token), label)
    found = store.token_by_hash(_sha256(token))
    assert found is not None
    return TokenInfo.from_record(found, token)


def list_tokens(project: ProjectLike, user: str | None = None) -> list[TokenInfo]:
    """Tokens (of ``user`` when given), oldest first, without their secrets."""
    return [TokenInfo.from_record(r) for r in _store(project).tokens(user)]


def revoke_token(project: ProjectLike, token_id: str) -> None:
    """Revoke the token ``token_id``; AccountError when no live token has that id."""
    if not _store(project).revoke_token(token_id):
        raise AccountError(f"no live token {token_id!r} (see `headwater token list`)")


def token_user(project: ProjectLike, token: str) -> UserInfo | None:
    """The enabled user an API token belongs to; None for an unknown or revoked token."""
    store = _store(project)
    found = store.token_by_hash(_sha256(token))
    if found is None or found.revoked_at is not None:
        return None
    user = store.get_user(found.user_name)
    if user is None or user.disabled_at is not None:
        return None
    now = datetime.now(UTC)
    if found.last_used_at is None or now - found.last_used_at > _TOUCH_EVERY:
        store.touch_token(found.id, now)
    return UserInfo.from_record(user)


# ---------------------------------------------------------------------- logins, sessions


class LoginThrottle:
    """Failed logins per (user, client address), in the server's memory: after ``free``
    failures each attempt must wait ``first * 2 ** (failures - free)`` seconds (at most
    ``cap``) after the last failure. Thread-safe."""

    free = 5
    first = 30.0
    cap = 900.0

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._lock = threading.Lock()

    def wait(self, key: tuple[str, str], now: datetime) -> float:
        """Seconds ``key`` must still wait before its next attempt (0: may try now)."""
        with self._lock:
            count, last = self._failures.get(key, (0, now))
        if count < self.free:
            return 0.0
        delay = min(self.cap, self.first * 2.0 ** (count - self.free))
        return max(0.0, delay - (now - last).total_seconds())

    def failed(self, key: tuple[str, str], now: datetime) -> None:
        with self._lock:
            if len(self._failures) > 10_000:  # bound the memory a flood of names could take
                self._failures.clear()
            count, _ = self._failures.get(key, (0, now))
            self._failures[key] = (count + 1, now)

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)


throttle = LoginThrottle()


def authenticate(project: ProjectLike, name: str, password: str, client: str = "") -> UserInfo:
    """The user ``name`` if ``password`` is theirs; LoginThrottled while ``(name, client)``
    must wait, LoginRefused otherwise (wrong name or password, disabled user)."""
    now = datetime.now(UTC)
    key = (name.casefold(), client)
    wait = throttle.wait(key, now)
    if wait > 0:
        raise LoginThrottled(
            f"too many failed logins: try again in {int(wait) + 1} s", retry_after=wait
        )
    found = _store(project).get_user(name)
    if found is not None and found.disabled_at is None and _verify(found, password):
        throttle.succeeded(key)
        return UserInfo.from_record(found)
    throttle.failed(key, now)
    raise LoginRefused("wrong user name or password")


def _verify(user: UserRecord, password: str) -> bool:
    from argon2.exceptions import VerificationError

    try:
        return bool(_hasher().verify(user.password_hash, password))
    except (VerificationError, ValueError):  # ValueError: InvalidHashError
        return False


def start_session(project: ProjectLike, user: str) -> SessionInfo:
    """A new session of ``user`` (authenticated by the caller): ``cookie`` for the browser,
    ``csrf_token`` for its forms."""
    store = _store(project)
    cookie = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + SESSION_IDLE
    record = store.add_session(_sha256(cookie), user, secrets.token_urlsafe(32), expires)
    return SessionInfo(UserInfo.from_record(_user(store, user)), record.csrf_token, expires, cookie)


def session(project: ProjectLike, cookie: str) -> SessionInfo | None:
    """The live session of a cookie, its expiry moved on (at most once a minute); None when
    it is unknown, expired or its user disabled."""
    store = _store(project)
    found = store.session_by_hash(_sha256(cookie))
    now = datetime.now(UTC)
    if found is None or found.expires_at <= now or now - found.created_at > SESSION_MAX:
        return None
    user = store.get_user(found.user_name)
    if user is None or user.disabled_at is not None:
        return None
    expires = found.expires_at
    if now - found.last_seen_at > _TOUCH_EVERY:
        expires = min(now + SESSION_IDLE, found.created_at + SESSION_MAX)
        store.touch_session(found.id_hash, now, expires)
    return SessionInfo(UserInfo.from_record(user), found.csrf_token, expires)


def end_session(project: ProjectLike, cookie: str) -> None:
    """Log out: forget the cookie's session (and any expired ones)."""
    store = _store(project)
    store.delete_sessions(id_hash=_sha256(cookie))
    store.prune_sessions(datetime.now(UTC))
