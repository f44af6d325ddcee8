"""Who a token or session cookie was, remembered for :data:`TTL` seconds: checking it in
the metastore on every request cost two queries (and, every minute, a write) on the event
loop, for 100 polling clients a good part of the server's time.

Contract: :func:`remembered` answers from memory for at most :data:`TTL` seconds after the
metastore was asked; so a token revoked, a user disabled or a session ended **by another
process** (``headwater token revoke``) is refused at most :data:`TTL` seconds later.
Through this server it is at once: the server calls :func:`forget_all` after every request
that may change something (any method but GET, HEAD, OPTIONS). Only found principals are
remembered (a wrong token is looked up each time, and never fills the memory); the key is
the secret's sha256, not the secret. At most :data:`MAX_ENTRIES` are kept (the oldest
dropped first).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["MAX_ENTRIES", "TTL", "forget_all", "remembered"]

TTL = 2.0  # seconds
MAX_ENTRIES = 10_000

T = TypeVar("T")


class _Principals:
    """(kind, sha256 of the secret) -> (what it was, when it was asked). Thread-safe."""

    def __init__(self) -> None:
        self.found: OrderedDict[tuple[str, bytes], tuple[Any, float]] = OrderedDict()
        self.lock = threading.Lock()


def _of(app: Any) -> _Principals:
    kept: _Principals | None = getattr(app.state, "principals", None)
    if kept is None:
        kept = app.state.principals = _Principals()
    return kept


def remembered(app: Any, kind: str, secret: str, look_up: Callable[[], T | None]) -> T | None:
    """What ``look_up()`` answered for ``secret`` (a ``kind`` of credential: ``token``,
    ``session``) less than :data:`TTL` seconds ago on ``app`` (the FastAPI app), else
    ``look_up()`` now (remembered when not None)."""
    kept = _of(app)
    key = (kind, hashlib.sha256(secret.encode()).digest())
    now = time.monotonic()
    with kept.lock:
        hit = kept.found.get(key)
    if hit is not None and now - hit[1] < TTL:
        found: T = hit[0]
        return found
    fresh = look_up()
    with kept.lock:
        if fresh is None:
            kept.found.pop(key, None)
        else:
            kept.found[key] = (fresh, now)
            kept.found.move_to_end(key)
            while len(kept.found) > MAX_ENTRIES:
                kept.found.popitem(last=False)
    return fresh


def forget_all(app: Any) -> None:
    """Forget every remembered principal of ``app`` (after a request that may have revoked,
    disabled, logged out or changed a role)."""
    kept = _of(app)
    with kept.lock:
        kept.found.clear()
