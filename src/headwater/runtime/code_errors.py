"""An exception raised by a project's own Python code (a ``@model`` or ``@task``), in one line.

The step's log keeps the whole traceback; the console, the run's summary, ``run.log`` and
the metastore get ``file:line: Type: message``, where ``file:line`` is the last frame of the
traceback in the project's code (not in a library it called), so the line to fix is named.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from headwater.errors import HeadwaterError
from headwater.project.asset import Asset


class UserCodeError(HeadwaterError):
    """A project's Python code raised: the message is the one line above. Retried like the
    exception it stands for (``retries``); never transient."""


def user_code_error(exc: BaseException, asset: Asset, root: Path) -> UserCodeError:
    """``exc`` (raised by ``asset``'s function, defined under ``root``) as one line."""
    where = _last_user_frame(exc, root) or asset.location
    message = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__
    return UserCodeError(f"{where}: {text}")


def _last_user_frame(exc: BaseException, root: Path) -> str | None:
    """``file:line`` of the innermost frame in a file under ``root`` that is not an
    installed package (a virtualenv inside the project holds libraries, not its code)."""
    installed = {Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}}
    root = root.resolve()
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename).resolve()
        if "site-packages" in path.parts or any(path.is_relative_to(p) for p in installed):
            continue
        if path.is_relative_to(root):
            return f"{path}:{frame.lineno}"
    return None
