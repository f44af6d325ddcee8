"""Who may use the web UI and the API: :class:`Accounts`, the part of
:class:`~headwater.metastore.store.Metastore` that writes and reads ``users``,
``api_tokens`` and ``sessions``.

This module stores what it is given: password hashes (never passwords), the sha256 of API
tokens and of session cookies (never the tokens or cookies themselves). Hashing, checking
passwords and deciding what a role may do are :mod:`headwater.api.users`' business.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.metastore import tables as t
from headwater.metastore.errors import MetastoreError
from headwater.metastore.records import _check_choice, _check_id

__all__ = ["ROLES", "Accounts", "SessionRecord", "TokenRecord", "UserRecord"]

ROLES = frozenset({"viewer", "operator", "admin"})


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A row of ``users``; ``disabled_at`` set: the user can no longer log in."""

    name: str
    password_hash: str
    role: str
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A row of ``api_tokens``: ``token_hash`` is the sha256 (hex) of the token."""

    id: str
    user_name: str
    token_hash: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A row of ``sessions``: ``id_hash`` is the sha256 (hex) of the session cookie."""

    id_hash: str
    user_name: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


class Accounts:
    """Writes and reads users, API tokens and sessions; a base of the Metastore, which
    provides the transactions. Datetimes given must be aware; those returned are aware UTC."""

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    # ------------------------------------------------------------------ users

    def add_user(self, name: str, password_hash: str, role: str) -> UserRecord:
        """Record a new user; MetastoreError when ``name`` exists (even disabled)."""
        _check_id("user name", name)
        _check_choice("role", role, ROLES)
        row: dict[str, Any] = {
            "name": name,
            "password_hash": password_hash,
            "role": role,
            "created_at": datetime.now(UTC),
            "disabled_at": None,
        }
        try:
            with self._write() as conn:
                conn.execute(t.users.insert().values(**row))
        except sa.exc.IntegrityError:
            raise MetastoreError(f"user {name!r} already exists") from None
        return UserRecord(**row)

    def get_user(self, name: str) -> UserRecord | None:
        """The user ``name``, disabled or not; None when there is none."""
        with self._read() as conn:
            row = conn.execute(t.users.select().where(t.users.c.name == name)).first()
        return None if row is None else UserRecord(**row._mapping)

    def users(self) -> list[UserRecord]:
        """Every user, by name."""
        with self._read() as conn:
            rows = conn.execute(t.users.select().order_by(t.users.c.name)).all()
        return [UserRecord(**r._mapping) for r in rows]

    def update_user(self, name: str, **values: Any) -> bool:
        """Set ``password_hash``, ``role`` or ``disabled_at`` of ``name``; False: no such user."""
        allowed = {"password_hash", "role", "disabled_at"}
        if not values or set(values) - allowed:
            raise ValueError(f"update_user takes {', '.join(sorted(allowed))}")
        if "role" in values:
            _check_choice("role", values["role"], ROLES)
        with self._write() as conn:
            done = conn.execute(t.users.update().where(t.users.c.name == name).values(**values))
        return bool(done.rowcount)

    def delete_user(self, name: str) -> bool:
        """Delete ``name`` with its tokens and sessions, in one transaction."""
        with self._write() as conn:
            conn.execute(t.sessions.delete().where(t.sessions.c.user_name == name))
            conn.execute(t.api_tokens.delete().where(t.api_tokens.c.user_name == name))
            done = conn.execute(t.users.delete().where(t.users.c.name == name))
        return bool(done.rowcount)

    # ------------------------------------------------------------------ API tokens

    def add_token(self, token_id: str, user_name: str, token_hash: str, label: str | None) -> None:
        """Record a token of ``user_name`` (who must exist) by its hash."""
        row = {
            "id": token_id,
            "user_name": user_name,
            "token_hash": token_hash,
            "label": label,
            "created_at": datetime.now(UTC),
        }
        try:
            with self._write() as conn:
                conn.execute(t.api_tokens.insert().values(**row))
        except sa.exc.IntegrityError:
            raise MetastoreError(f"cannot record token for user {user_name!r}") from None

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        """The token whose sha256 is ``token_hash`` (revoked or not); None when unknown."""
        table = t.api_tokens
        with self._read() as conn:
            row = conn.execute(table.select().where(table.c.token_hash == token_hash)).first()
        return None if row is None else TokenRecord(**row._mapping)

    def tokens(self, user_name: str | None = None) -> list[TokenRecord]:
        """Tokens (of ``user_name`` when given), oldest first."""
        table = t.api_tokens
        query = table.select().order_by(table.c.created_at, table.c.id)
        if user_name is not None:
            query = query.where(table.c.user_name == user_name)
        with self._read() as conn:
            return [TokenRecord(**r._mapping) for r in conn.execute(query).all()]

    def revoke_token(self, token_id: str) -> bool:
        """Mark the token revoked now; False when there is no unrevoked token ``token_id``."""
        table = t.api_tokens
        with self._write() as conn:
            done = conn.execute(
                table.update()
                .where(table.c.id == token_id, table.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        return bool(done.rowcount)

    def touch_token(self, token_id: str, at: datetime) -> None:
        """Record that the token was used at ``at``."""
        table = t.api_tokens
        with self._write() as conn:
            conn.execute(table.update().where(table.c.id == token_id).values(last_used_at=at))

    # ------------------------------------------------------------------ sessions

    def add_session(
        self, id_hash: str, user_name: str, csrf_token: str, expires_at: datetime
    ) -> SessionRecord:
        """Record a new browser session of ``user_name`` until ``expires_at``."""
        now = datetime.now(UTC)
        row: dict[str, Any] = {
            "id_hash": id_hash,
            "user_name": user_name,
            "csrf_token": csrf_token,
            "created_at": now,
            "expires_at": expires_at,
            "last_seen_at": now,
        }
        with self._write() as conn:
            conn.execute(t.sessions.insert().values(**row))
        return SessionRecord(**row)

    def session_by_hash(self, id_hash: str) -> SessionRecord | None:
        """The session whose cookie hashes to ``id_hash`` (expired or not); None if unknown."""
        table = t.sessions
        with self._read() as conn:
            row = conn.execute(table.select().where(table.c.id_hash == id_hash)).first()
        return None if row is None else SessionRecord(**row._mapping)

    def touch_session(self, id_hash: str, at: datetime, expires_at: datetime) -> None:
        """Record activity at ``at`` and move the session's expiry to ``expires_at``."""
        table = t.sessions
        with self._write() as conn:
            conn.execute(
                table.update()
                .where(table.c.id_hash == id_hash)
                .values(last_seen_at=at, expires_at=expires_at)
            )

    def delete_sessions(self, *, id_hash: str | None = None, user_name: str | None = None) -> int:
        """Delete one session (logout) or all of a user's (password change, disable)."""
        table = t.sessions
        query = table.delete()
        if id_hash is not None:
            query = query.where(table.c.id_hash == id_hash)
        elif user_name is not None:
            query = query.where(table.c.user_name == user_name)
        else:
            raise ValueError("delete_sessions needs id_hash or user_name")
        with self._write() as conn:
            return int(conn.execute(query).rowcount)

    def prune_sessions(self, now: datetime) -> int:
        """Delete the sessions expired by ``now``; how many."""
        table = t.sessions
        with self._write() as conn:
            return int(conn.execute(table.delete().where(table.c.expires_at <= now)).rowcount)
