"""``headwater user ...`` and ``headwater token ...`` in-process (no server needed)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from headwater.testing.cli import invoke, write_project


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_project(tmp_path / "p", {"models/marts/one.sql": "select 1 as a\n"})


def test_user_add_asks_the_password_twice(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    typed = iter(["first-pass-1", "other-pass-1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    differ = invoke("user", "add", "ann", "--role", "admin", "-p", str(root))
    assert differ.exit_code == 1
    assert differ.stderr.strip() == "error: the two passwords differ; nothing changed"
    typed = iter(["same-pass-12", "same-pass-12"])
    done = invoke("user", "add", "ann", "--role", "admin", "-p", str(root))
    assert done.exit_code == 0 and "user ann added (admin)" in done.stdout
    listed = json.loads(invoke("user", "list", "-f", "json", "-p", str(root)).stdout)
    assert [(u["name"], u["role"]) for u in listed] == [("ann", "admin")]


def test_user_commands_refuse_in_one_line(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("bob-pass-123\n"))
    assert invoke("user", "add", "bob", "--password-stdin", "-p", str(root)).exit_code == 0
    for args, message in [
        (("user", "remove", "nobody"), "error: no user 'nobody' (see `headwater user list`)"),
        (
            ("user", "role", "bob", "boss"),
            "error: unknown role 'boss': use viewer, operator or admin",
        ),
        (("token", "revoke", "tok_x"), "error: no live token 'tok_x' (see `headwater token list`)"),
    ]:
        refused = invoke(*args, "-p", str(root))
        assert refused.exit_code == 1 and refused.stderr.strip() == message
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    weak = invoke("user", "passwd", "bob", "--password-stdin", "-p", str(root))
    assert weak.stderr.strip() == "error: the password must have at least 8 characters"
    assert invoke("user", "disable", "bob", "-p", str(root)).exit_code == 0
    refused = invoke("token", "create", "--user", "bob", "-p", str(root))
    assert refused.exit_code == 1 and "user 'bob' is disabled" in refused.stderr
    assert invoke("user", "remove", "bob", "-p", str(root)).exit_code == 0
    assert "no users yet" in invoke("user", "list", "-p", str(root)).stdout


def test_users_are_managed_while_a_model_does_not_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path / "b", {"models/marts/bad.sql": "select from where\n"})
    assert invoke("run", "-p", str(root)).exit_code == 2  # the project does not load
    monkeypatch.setattr("sys.stdin", io.StringIO("ann-pass-123\n"))
    added = invoke("user", "add", "ann", "--role", "admin", "--password-stdin", "-p", str(root))
    assert added.exit_code == 0, added.stderr
    missing = invoke("user", "list", "-p", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "headwater.toml: no such file" in missing.stderr
