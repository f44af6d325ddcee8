"""The store demo: a cosmetics store in four regions (docs/case-study.md).

- :mod:`headwater.demo.generator` -- ``build_dataset(scale, seed, batches) -> Dataset``
- :mod:`headwater.demo.writer` -- ``write_dataset(ds, out_dir)``, ``append_batch(out_dir)``
- :mod:`headwater.demo.truth` -- ``answers(ds) -> Answers`` (the ground truth)
- :mod:`headwater.demo.questions` -- the four SQL queries, ``answers_from_rows(...)``
- :mod:`headwater.demo.scaffold` -- ``init_project(dest)``, the template in ``project/``

Nothing is imported eagerly: the names below load their module on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AS_OF",
    "PROJECT_TEMPLATE",
    "QUESTIONS",
    "Answers",
    "Dataset",
    "answers",
    "answers_from_rows",
    "append_batch",
    "build_dataset",
    "init_project",
    "write_dataset",
]

_WHERE = {
    "AS_OF": "dataset",
    "Dataset": "dataset",
    "build_dataset": "generator",
    "write_dataset": "writer",
    "append_batch": "writer",
    "Answers": "truth",
    "answers": "truth",
    "QUESTIONS": "questions",
    "answers_from_rows": "questions",
    "PROJECT_TEMPLATE": "scaffold",
    "init_project": "scaffold",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"headwater.demo.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'headwater.demo' has no attribute {name!r}")
