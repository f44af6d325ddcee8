"""Locating a check declaration: the line of a list item (or of a key inside it) in its file.

Contract: ``_Locator(path, text, key, first_line).item(index, field)`` returns the 1-based
line, in the file ``path`` whose text is ``text``, of item ``index`` of the list found at
``key`` (of the key ``field`` inside that item when given; of the list itself when ``index``
is None). YAML positions come from PyYAML's composed node tree; TOML (a ``.toml`` suffix)
from ``[[a.b.checks]]`` headers or an inline ``checks = [{...}, ...]`` array. Best effort:
when the exact line is not found it falls back to the nearest enclosing one (at worst 1).

Pure: reads no files (it is handed the text); imports :mod:`headwater.config.textfile` and
PyYAML lazily.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


class _Locator:
    """Line numbers of the items of a list of checks (and of keys inside them); best effort."""

    def __init__(self, path: Path, text: str, key: tuple[str | int, ...], first_line: int) -> None:
        self.text, self.key, self.offset = text, key, first_line - 1
        self.toml = path.suffix == ".toml"
        self._yaml_node: Any = None
        self._yaml_done = False

    def item(self, index: int | None, field: str | None = None) -> int:
        line = self._toml(index, field) if self.toml else self._yaml(index, field)
        return (line or 1) + (0 if self.toml else self.offset)

    # YAML: positions from the composed node tree
    def _yaml(self, index: int | None, field: str | None) -> int | None:
        if not self._yaml_done:
            self._yaml_done = True
            try:
                import yaml

                node = yaml.compose(self.text, Loader=yaml.SafeLoader)
            except Exception:
                node = None
            self._yaml_node = node
        node = self._yaml_node
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in self.key:
            child = _yaml_child(node, part)
            if child is None:
                return line
            key_node, node = child
            line = (key_node or node).start_mark.line + 1
        if index is None:
            return line
        child = _yaml_child(node, index)
        if child is None:
            return line
        node = child[1]
        line = node.start_mark.line + 1
        if field is not None:
            sub = _yaml_child(node, field)
            if sub is None and node.tag.endswith(":map") and len(node.value) == 1:
                sub = _yaml_child(node.value[0][1], field)  # shorthand {type: {...}}
            if sub is not None:
                line = (sub[0] or sub[1]).start_mark.line + 1
        return line

    # TOML: [[a.b.checks]] headers, or an inline `checks = [{...}, ...]`
    def _toml(self, index: int | None, field: str | None) -> int | None:
        from headwater.config.textfile import locate_key

        lines = self.text.splitlines()
        header = re.compile(
            r"^\s*\[\[\s*" + r"\s*\.\s*".join(_key_re(str(k)) for k in self.key) + r"\s*\]\]"
        )
        starts = [n for n, ln in enumerate(lines, start=1) if header.match(ln)]
        if starts:
            if index is None or index >= len(starts):
                return starts[0]
            line = starts[index]
            if field is not None:
                key_re = re.compile(r"^\s*" + _key_re(field) + r"\s*=")
                for n in range(line, len(lines)):
                    if lines[n].lstrip().startswith("["):
                        break
                    if key_re.match(lines[n]):
                        return n + 1
            return line
        line = locate_key(self.text, self.key)
        if index is None:
            return line
        return _inline_item_line(lines, line, index) or line


def _yaml_child(node: Any, part: str | int) -> tuple[Any, Any] | None:
    if isinstance(part, int):
        if node.tag.endswith(":seq") and 0 <= part < len(node.value):
            return None, node.value[part]
        return None
    if node.tag.endswith(":map"):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == part:
                return key_node, value_node
    return None


def _inline_item_line(lines: list[str], start: int, index: int) -> int | None:
    """Line of the ``index``-th ``{`` at depth 1 of the array opened on line ``start``."""
    depth, count, quote = 0, -1, ""
    for n in range(start - 1, len(lines)):
        text = lines[n]
        begin = text.find("=") + 1 if n == start - 1 else 0
        for ch in text[begin:]:
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch in "[{":
                if ch == "{" and depth == 1:
                    count += 1
                    if count == index:
                        return n + 1
                depth += 1
            elif ch in "]}":
                depth -= 1
                if depth == 0:
                    return None
    return None


def _key_re(key: str) -> str:
    return r"""(?:"|')?""" + re.escape(key) + r"""(?:"|')?"""
