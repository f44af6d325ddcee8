"""``@model`` and ``@task``: Python assets, and discovery of them under ``python/``.

The decorators only attach a declaration to the function; nothing is registered globally, so
loading two projects in one process (tests, the UI) never mixes them up.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from headwater.config.settings import ModelSettings
from headwater.errors import ConfigError, ProjectError

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__headwater__"


@dataclass(frozen=True)
class PythonDeclaration:
    kind: Literal["model", "task"]
    name: str
    settings: ModelSettings
    depends_on: tuple[str, ...]
    warehouse: bool = True  # a task: False when it neither reads nor writes the warehouse


@overload
def model(function: F) -> F: ...
@overload
def model(
    function: None = None, *, name: str | None = None, **settings: Any
) -> Callable[[F], F]: ...
def model(function: F | None = None, *, name: str | None = None, **settings: Any) -> Any:
    """Declare a Python model. Parameters name upstream assets; it returns a table.

    Keyword settings are those of a sidecar (``materialized``, ``schema``, ``unique_key``,
    ``tags``, ``retries``, ``timeout``, ...). The default schema is ``marts``.
    """

    def wrap(fn: F) -> F:
        decl = PythonDeclaration(
            "model", name or fn.__name__, ModelSettings.model_validate(settings), ()
        )
        setattr(fn, ATTRIBUTE, decl)
        return fn

    return wrap(function) if function is not None else wrap


def task(
    function: F | None = None,
    *,
    name: str | None = None,
    depends_on: list[str] | tuple[str, ...] = (),
    warehouse: bool = True,
    **settings: Any,
) -> Any:
    """Declare a task: a step with effects outside the warehouse (export, notify...).

    It receives a :class:`headwater.tasks.TaskContext` and runs after ``depends_on``.
    ``warehouse=False`` declares that it neither reads nor writes the warehouse (its
    ``ctx.query`` refuses): such a task may run outside the run's process, on the
    project's ``executor`` (``process`` or ``dask://``).
    """

    def wrap(fn: F) -> F:
        decl = PythonDeclaration(
            "task",
            name or fn.__name__,
            ModelSettings.model_validate(settings),
            tuple(depends_on),
            warehouse=warehouse,
        )
        setattr(fn, ATTRIBUTE, decl)
        return fn

    return wrap(function) if function is not None else wrap


def discover(python_dir: Path) -> list[tuple[Callable[..., Any], PythonDeclaration, Path, int]]:
    """Import every module under ``python_dir`` and return its decorated functions."""
    found: list[tuple[Callable[..., Any], PythonDeclaration, Path, int]] = []
    if not python_dir.is_dir():
        return found
    for path in sorted(python_dir.rglob("*.py")):
        module = _import(path, python_dir)
        for value in vars(module).values():
            decl = getattr(value, ATTRIBUTE, None)
            if isinstance(decl, PythonDeclaration) and getattr(value, "__module__", None) == (
                module.__name__
            ):
                line = inspect.getsourcelines(value)[1]
                found.append((value, decl, path, line))
    return found


def load_task(path: Path, python_dir: Path, name: str) -> Callable[..., Any]:
    """Import ``path`` (a module under ``python_dir``) again and return its task ``name``:
    how another process (an executor's child or worker) gets a task's function."""
    module = _import(path, python_dir)
    for value in vars(module).values():
        decl = getattr(value, ATTRIBUTE, None)
        if isinstance(decl, PythonDeclaration) and decl.kind == "task" and decl.name == name:
            return value
    raise ProjectError(f"{path}: no @task named {name!r} (changed since the run started?)")


def _import(path: Path, root: Path) -> Any:
    relative = path.relative_to(root).with_suffix("")
    name = "headwater_project_" + str(abs(hash(str(root.resolve()))))
    name += "." + ".".join(relative.parts)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ProjectError(f"{path}: cannot import")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.offset}: {exc.msg}") from None
    except Exception as exc:  # user code failing at import: locate it, no traceback dump
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        line = frames[-1].lineno if frames else 1
        raise ProjectError(f"{path}:{line}: error while importing: {exc!r}") from None
    return module
