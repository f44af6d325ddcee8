"""The doctests of the quality modules (compile steps are documented by example)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["spec", "compile", "reasons", "unique", "runner", "quarantine", "release", "history"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"headwater.quality.{name}")
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0
