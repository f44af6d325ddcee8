"""Read TOML and YAML files, turning syntax errors into ``file:line`` messages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from headwater.errors import ConfigError

_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse a TOML file; return its data and its text (for locating keys later)."""
    text = path.read_text(encoding="utf-8")
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        pos = _TOML_POS.search(message)
        where = f"{path}:{pos.group(1)}:{pos.group(2)}" if pos else str(path)
        raise ConfigError(f"{where}: invalid TOML: {_TOML_POS.sub('', message).strip()}") from None


def load_yaml(path: Path, text: str | None = None, *, first_line: int = 1) -> Any:
    """Parse YAML (a file, or ``text`` taken from ``path`` starting at ``first_line``)."""
    import yaml  # lazy: only projects with sidecars pay for it

    source = path.read_text(encoding="utf-8") if text is None else text
    try:
        # libyaml's C loader when the wheel has it: 5-10x faster on many sidecars
        return yaml.load(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + first_line) if mark is not None else first_line
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{line}: invalid YAML: {problem}") from None


def locate_key(text: str, dotted: tuple[str | int, ...]) -> int:
    """Best-effort line number (1-based) of a TOML key path such as ("sources", "eu", "write").

    tomllib keeps no positions, so this scans for the deepest table header and then the key
    under it. Returns 1 when nothing matches: a message always has a line.
    """
    lines = text.splitlines()
    parts = [str(p) for p in dotted]
    best = 1
    for depth in range(len(parts), 0, -1):
        header = re.compile(
            r"^\s*\[+\s*" + r"\s*\.\s*".join(map(_key_re, parts[:depth])) + r"\s*\]+"
        )
        for number, line in enumerate(lines, start=1):
            if header.match(line):
                best = number
                rest = parts[depth:]
                if rest:
                    key = re.compile(r"^\s*" + _key_re(rest[0]) + r"\s*=")
                    for offset, later in enumerate(lines[number:], start=number + 1):
                        if later.lstrip().startswith("["):
                            break
                        if key.match(later):
                            return offset
                return best
    for number, line in enumerate(lines, start=1):  # inline/dotted keys: any mention
        if parts and re.match(r"^\s*" + _key_re(parts[-1]) + r"\s*=", line):
            return number
    return best


def _key_re(key: str) -> str:
    return r"""(?:"|')?""" + re.escape(key) + r"""(?:"|')?"""
