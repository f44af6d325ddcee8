"""Fixtures of the store demo tests: generated project folders, built once per session."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("headwater") is None:  # not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from headwater.demo.dataset import Dataset
from headwater.demo.generator import build_dataset
from headwater.demo.scaffold import copy_template
from headwater.demo.writer import write_dataset


@pytest.fixture(scope="session")
def small_ds() -> Dataset:
    """Scale 0.1, two batches (built once; tests must not mutate it)."""
    return build_dataset(scale=0.1, seed=7, batches=2)


@pytest.fixture(scope="session")
def full_ds() -> Dataset:
    """Scale 1, batch 1: the default demo (built once; tests must not mutate it)."""
    return build_dataset(scale=1.0, seed=7, batches=1)


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory, full_ds: Dataset) -> Path:
    """A demo project folder holding the template and batch 1 at scale 1 (read-only)."""
    dest = tmp_path_factory.mktemp("shop")
    copy_template(dest)
    write_dataset(full_ds, dest)
    return dest
