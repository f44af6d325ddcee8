"""Why a model's SQL does not parse, as ``file:line:column: <a sentence>``.

Two parsers judge a model: the engine's (injected as a :data:`SqlValidator`: this layer is
pure and imports no engine) decides whether the SQL is valid, since the rule is "what the
engine would reject"; sqlglot, which also reads the tables a model uses, adds what it knows
about the fault (a WHERE with no condition, a parenthesis never closed). Without a validator,
sqlglot alone decides. Positions count from the start of the file, header lines included.

>>> line_column("-- a\\nselect ,", 12)
(2, 8)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_NEAR = re.compile(r'syntax error at or near "(.*)"$', re.S)
_REQUIRED = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]*\.(\w+)'>")
_STARTS = ("SELECT", "WITH", "FROM", "VALUES", "PIVOT", "UNPIVOT", "TABLE")

#: What a clause (sqlglot's expression class) lacks, when sqlglot says one is incomplete.
_CLAUSES = {
    "Where": "WHERE needs a condition",
    "Having": "HAVING needs a condition",
    "Qualify": "QUALIFY needs a condition",
    "Order": "ORDER BY needs at least one expression",
    "Group": "GROUP BY needs at least one expression",
    "Limit": "LIMIT needs a number",
    "Offset": "OFFSET needs a number",
    "Join": "the JOIN needs a table",
    "Alias": "AS needs a name after it",
}


@dataclass(frozen=True)
class SyntaxProblem:
    """The engine's verdict on a SQL text: where (a character offset into the text) and its
    own message, e.g. ``syntax error at or near ","``."""

    offset: int
    message: str


#: Parses a SQL text without running it: None when the engine accepts it.
SqlValidator = Callable[[str], SyntaxProblem | None]

#: The dialect a project's SQL is written in (models, check expressions, file scans), as
#: sqlglot names it: DuckDB's. An engine of another dialect gets it rendered for its own
#: (``headwater.engines.dialects``); the project layer only ever parses it as written.
PROJECT_DIALECT = "duckdb"


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of character ``offset`` of ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def explain(text: str, engine: SyntaxProblem | None, sqlglot_error: dict[str, Any] | None) -> str:
    """``line:column: sentence`` for a SQL text the engine (or, when ``engine`` is None,
    sqlglot) rejected; ``sqlglot_error`` is sqlglot's first error on it, if it had one."""
    hint = _sqlglot_hint(sqlglot_error) if sqlglot_error else None
    if engine is None:
        assert sqlglot_error is not None
        offset = _sqlglot_offset(text, sqlglot_error)
        return _at(text, offset, hint or "the SQL is not valid here")
    message = engine.message
    if message.startswith("unterminated quoted string"):
        return _at(text, engine.offset, "a quoted string is never closed (a ' is missing)")
    if message.startswith("unterminated quoted identifier"):
        return _at(text, engine.offset, 'a quoted name is never closed (a " is missing)')
    if message == "syntax error at end of input":
        offset = _last_token(text)
        last = _word_at(text, offset) or "the last word"
        return _at(text, offset, f"the SQL ends too early, after {last!r}" + _detail(hint))
    near = _NEAR.match(message)
    if near is None:
        return _at(text, engine.offset, message)
    return _at(text, engine.offset, _near(text, engine.offset, near.group(1), hint))


def _near(text: str, offset: int, token: str, hint: str | None) -> str:
    """A sentence for the engine's ``syntax error at or near TOKEN``."""
    before = text[:offset].rstrip()
    if token == "," and before.endswith(","):
        return "two commas in a row: an expression is missing between them"
    if token == ")" and _depth(text[:offset]) <= 0:
        return "a ')' closes a parenthesis that was never opened"
    if not _code_before(text, offset) and token.isidentifier():
        close = difflib.get_close_matches(token.upper(), _STARTS, n=1)
        did = f" (did you mean {close[0]}?)" if close else ""
        return f"{token!r} is not a SQL keyword{did}: a model starts with SELECT, WITH or FROM"
    if hint == "a parenthesis is not closed":
        return f"a parenthesis is not closed before {token!r}"
    return f"unexpected {token!r}: the SQL is not valid here" + _detail(hint)


def _sqlglot_hint(err: dict[str, Any]) -> str | None:
    """sqlglot's description of a fault as a sentence (None when it says nothing useful)."""
    description = str(err.get("description") or "")
    highlight = str(err.get("highlight") or "").strip()
    required = _REQUIRED.match(description)
    if required:
        clause = required.group(2)
        if clause in _CLAUSES:
            return _CLAUSES[clause]
        return f"{highlight.upper() or clause!r} needs something after it"
    if description.startswith("Expecting )"):
        return "a parenthesis is not closed"
    if description.startswith("Expected table name"):
        return f"a table name is missing after {highlight.upper() or 'FROM'}"
    if description.startswith("a quoted string or name is never closed"):  # a TokenError
        return "a quoted string or name is never closed"
    if description.startswith("Invalid expression / Unexpected token") and highlight:
        return f"unexpected {highlight!r}"
    return None


def _sqlglot_offset(text: str, err: dict[str, Any]) -> int:
    """Where sqlglot's highlighted token starts (it reports the column of its last character)."""
    line, col = int(err.get("line") or 1), int(err.get("col") or 1)
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    end = starts[min(line, len(starts)) - 1] + col
    return max(0, end - len(str(err.get("highlight") or "x")))


def _detail(hint: str | None) -> str:
    if hint is None or hint.startswith("unexpected"):
        return ""
    return f": {hint}"


def _at(text: str, offset: int, sentence: str) -> str:
    line, col = line_column(text, offset)
    return f"{line}:{col}: {sentence}"


def _last_token(text: str) -> int:
    """Offset of the last word of the SQL (comments and a trailing ``;`` are not words)."""
    code = _strip_comments(text).rstrip().rstrip(";").rstrip()
    end = len(code)
    start = end
    while start > 0 and not code[start - 1].isspace():
        start -= 1
    return start


def _word_at(text: str, offset: int) -> str:
    match = re.match(r"\S+", text[offset:])
    return match.group(0) if match else ""


def _code_before(text: str, offset: int) -> bool:
    """Whether anything but whitespace and comments precedes ``offset``."""
    return bool(_strip_comments(text[:offset]).strip())


def _strip_comments(text: str) -> str:
    """``text`` with its ``--`` comments blanked (same length: offsets still match)."""
    return re.sub(r"--[^\n]*", lambda m: " " * len(m.group(0)), text)


def _depth(text: str) -> int:
    """Open parentheses minus closed ones in ``text`` (quoted text is not SQL: ignored)."""
    code = re.sub(r"'[^']*'|\"[^\"]*\"", "", _strip_comments(text))
    return code.count("(") - code.count(")")
