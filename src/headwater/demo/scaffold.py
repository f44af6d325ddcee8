"""Create a ready-to-run demo project folder: the template plus generated data."""

from __future__ import annotations

import shutil
from pathlib import Path

from headwater.demo.dataset import Dataset
from headwater.demo.generator import build_dataset
from headwater.demo.writer import write_dataset

__all__ = ["PROJECT_TEMPLATE", "copy_template", "init_project"]

PROJECT_TEMPLATE = Path(__file__).parent / "project"
"""The demo project template: ``headwater.toml`` and ``models/``."""


def copy_template(dest: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the template's files into ``dest``; existing files are kept unless
    ``overwrite``. Returns the files written."""
    dest = Path(dest)
    written = []
    for src in sorted(PROJECT_TEMPLATE.rglob("*")):
        if not src.is_file() or "__pycache__" in src.parts:
            continue
        target = dest / src.relative_to(PROJECT_TEMPLATE)
        if target.exists() and not overwrite:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        written.append(target)
    return written


def init_project(
    dest: Path, scale: float = 1.0, seed: int = 7, batches: int = 1, *, overwrite: bool = False
) -> Dataset:
    """Copy the template into ``dest`` and write ``batches`` batches of data there."""
    copy_template(dest, overwrite=overwrite)
    ds = build_dataset(scale=scale, seed=seed, batches=batches)
    write_dataset(ds, Path(dest))
    return ds
