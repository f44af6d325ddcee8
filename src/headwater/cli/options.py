"""Command-line plumbing shared by the commands: several values after ``-s``/``-x``, the
``--version`` flag, the output formats and the confirmation of destructive commands."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperCommand

from headwater.errors import ProjectError

#: Options that take several values: ``-s a b`` means ``-s a -s b`` (as dbt's ``--select``).
MULTI_VALUE = frozenset({"-s", "--select", "-x", "--exclude"})


def spread_values(args: list[str]) -> list[str]:
    """``-s a b -x c d`` -> ``-s a -s b -x c -x d``: each bare word after a multi-value
    option repeats the option. Only for commands without positional arguments (a word
    after ``-s`` can only be another selector there); ``--`` ends the spreading."""
    out: list[str] = []
    current: str | None = None
    for i, arg in enumerate(args):
        if arg == "--":
            out += args[i:]
            break
        if arg in MULTI_VALUE:
            current = arg
            out.append(arg)
            continue
        if arg.startswith("-"):
            current = None
        elif current is not None and out and out[-1] != current:
            out.append(current)  # a second (third...) value: repeat the option
        out.append(arg)
    return out


class MultiValueCommand(TyperCommand):
    """A command whose ``-s``/``-x`` take one or more values (see :func:`spread_values`)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, spread_values(args))


def show_version(value: bool) -> None:
    """``--version``: print the installed package's version and stop."""
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("headwater")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from headwater import __version__ as found
    typer.echo(f"headwater {found}")
    raise typer.Exit(0)


def check_format(fmt: str, allowed: tuple[str, ...]) -> str:
    """``fmt`` if it is one of ``allowed``, else a ProjectError (exit 2) naming them."""
    if fmt not in allowed:
        raise ProjectError(f"unknown format {fmt!r} (one of: {', '.join(allowed)})")
    return fmt


def confirm(question: str, *, yes: bool) -> None:
    """Go on when ``yes`` or when the user answers yes on a terminal. Off a terminal and
    without ``--yes`` nothing can be asked: refuse (exit 2), never assume."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ProjectError(f"{question.rstrip('?')}: pass --yes to confirm (no terminal to ask)")
    if not typer.confirm(question, default=False):
        raise typer.Exit(1)
