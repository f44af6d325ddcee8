"""The exceptions engines raise, for callers that must not import an engine's driver.

Each engine registers its driver's exception classes when its module is imported (an
engine is imported before any of its cursors exists, so its classes are here whenever one
of its cursors can raise). Callers catch them with an expression evaluated at raise time::

    try:
        cur.execute(sql)
    except errors.interrupted():   # a statement cancelled by Engine.interrupt
        raise
    except errors.query_error() as exc:   # any other error of the statement
        ...

>>> class Boom(Exception): ...
>>> register("test", query=(Boom,))
>>> Boom in query_error()
True
>>> unregister("test")
>>> Boom in query_error()
False
"""

from __future__ import annotations

from dataclasses import dataclass

Classes = tuple[type[BaseException], ...]


@dataclass(frozen=True)
class _Kinds:
    query: Classes
    interrupted: Classes
    overflow: Classes


_REGISTERED: dict[str, _Kinds] = {}


def register(
    engine: str, *, query: Classes, interrupted: Classes = (), overflow: Classes = ()
) -> None:
    """Record ``engine``'s exception classes: ``query`` (any error of a statement),
    ``interrupted`` (a statement cancelled) and ``overflow`` (a value out of its type's
    range, or a failed conversion)."""
    _REGISTERED[engine] = _Kinds(query, interrupted, overflow)


def unregister(engine: str) -> None:
    """Forget ``engine``'s classes (tests)."""
    _REGISTERED.pop(engine, None)


def query_error() -> Classes:
    """Every registered engine's statement errors (their base classes)."""
    return tuple(c for kinds in _REGISTERED.values() for c in kinds.query)


def interrupted() -> Classes:
    """Every registered engine's "statement cancelled" errors."""
    return tuple(c for kinds in _REGISTERED.values() for c in kinds.interrupted)


def overflow() -> Classes:
    """Every registered engine's out-of-range and conversion errors."""
    return tuple(c for kinds in _REGISTERED.values() for c in kinds.overflow)
