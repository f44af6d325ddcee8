"""``headwater user ...`` and ``headwater token ...``: the accounts of the web UI and the
HTTP API (:mod:`headwater.api.users`), written to the project's metastore directly (with or
without a live server: a server sees a change at its next request).

Passwords are read from the terminal twice (``getpass``, not echoed) or, for scripts, as one
line of standard input with ``--password-stdin``; never from an option (it would end in the
shell history and ``ps``). A token is printed once, by ``token create``.
"""

# No `from __future__ import annotations`: Typer evaluates string annotations (see app.py).

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from headwater.errors import HeadwaterError

user_app = typer.Typer(
    name="user",
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Users of the web UI and the API (add, list, passwd, role, disable, remove).",
)
token_app = typer.Typer(
    name="token",
    no_args_is_help=True,
    rich_markup_mode=None,
    help="API tokens for scripts (create, list, revoke).",
)
ProjectOpt = Annotated[Path, typer.Option("-p", "--project", help="Project folder.")]
FormatOpt = Annotated[str, typer.Option("-f", "--format", help="table or json")]
RoleOpt = Annotated[str, typer.Option("--role", help="viewer, operator or admin.")]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or typed twice at the terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise HeadwaterError("the two passwords differ; nothing changed")
    return first


@user_app.command("add")
def add(
    name: str,
    role: RoleOpt = "viewer",
    password_stdin: StdinOpt = False,
    project: ProjectOpt = Path("."),
) -> None:
    """Create a user (the first one: --role admin). Exit 1 when it exists."""
    from headwater.api import users

    created = users.add_user(project, name, _password(password_stdin), role)
    typer.echo(f"user {created.name} added ({created.role})")


@user_app.command("list")
def list_(project: ProjectOpt = Path("."), format: FormatOpt = "table") -> None:
    """Every user with its role, and whether it is disabled."""
    from headwater.api import users

    found = users.list_users(project)
    if format == "json":
        typer.echo(json.dumps([u.to_json() for u in found], indent=2))
        return
    if not found:
        typer.echo("no users yet: headwater user add NAME --role admin")
    for u in found:
        state = f"disabled {u.disabled_at:%Y-%m-%d %H:%M} UTC" if u.disabled_at else ""
        typer.echo(f"{u.name:<24} {u.role:<9} {state}".rstrip())


@user_app.command("passwd")
def passwd(name: str, password_stdin: StdinOpt = False, project: ProjectOpt = Path(".")) -> None:
    """Set a user's password (its browser sessions end)."""
    from headwater.api import users

    users.set_password(project, name, _password(password_stdin))
    typer.echo(f"password of {name} changed")


@user_app.command("role")
def role(
    name: str,
    new_role: Annotated[str, typer.Argument(help="viewer, operator or admin.")],
    project: ProjectOpt = Path("."),
) -> None:
    """Give a user another role (effective at its next request)."""
    from headwater.api import users

    changed = users.set_role(project, name, new_role)
    typer.echo(f"{changed.name} is now {changed.role}")


@user_app.command("disable")
def disable(name: str, project: ProjectOpt = Path(".")) -> None:
    """Disable a user: no login, its sessions end, its tokens stop working."""
    from headwater.api import users

    users.disable(project, name)
    typer.echo(f"user {name} disabled")


@user_app.command("remove")
def remove(name: str, project: ProjectOpt = Path(".")) -> None:
    """Delete a user with its tokens and sessions."""
    from headwater.api import users

    users.remove_user(project, name)
    typer.echo(f"user {name} removed")


@token_app.command("create")
def create(
    user: Annotated[str, typer.Option("--user", help="The user the token acts as.")],
    label: Annotated[str | None, typer.Option("--label", help="What it is for.")] = None,
    project: ProjectOpt = Path("."),
) -> None:
    """Create an API token and print it (once: only its hash is kept). Send it as
    ``Authorization: Bearer <token>``."""
    from headwater.api import users

    made = users.create_token(project, user, label)
    typer.echo(made.token)
    typer.echo(f"token {made.id} of {made.user}: shown once, keep it safe", err=True)


@token_app.command("list")
def tokens(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's.")] = None,
    project: ProjectOpt = Path("."),
    format: FormatOpt = "table",
) -> None:
    """Tokens with their user, label and last use (never the token itself)."""
    from headwater.api import users

    found = users.list_tokens(project, user)
    if format == "json":
        typer.echo(json.dumps([t.to_json() for t in found], indent=2))
        return
    for t in found:
        used = f"used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        state = "revoked" if t.revoked_at else used
        typer.echo(f"{t.id:<14} {t.user:<20} {state:<24} {t.label or ''}".rstrip())


@token_app.command("revoke")
def revoke(token_id: str, project: ProjectOpt = Path(".")) -> None:
    """Revoke a token by its id (``headwater token list``): it stops working at once."""
    from headwater.api import users

    users.revoke_token(project, token_id)
    typer.echo(f"token {token_id} revoked")
