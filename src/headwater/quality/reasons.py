"""What a failing row (or table) is guilty of, as text for messages and quarantine."""

from __future__ import annotations

from headwater.quality.compile import literal, text_literal
from headwater.quality.spec import Check


def reason(check: Check) -> str:
    """What a failing row (or table) is guilty of, without its values (so reasons group well).

    >>> from headwater.quality.spec import Check
    >>> reason(Check("range", "r", column="q", min=0, max=10, min_inclusive=False))
    'q is not a number in (0, 10]'
    >>> reason(Check("accepted_values", "a", column="s", values=("x", "y")))
    "s is not one of 'x', 'y'"
    >>> reason(Check("unique", "u", columns=("a", "b")))
    '(a, b) is duplicated'
    """
    t, col = check.type, check.column
    if t == "not_null":
        return f"{col} is null"
    if t == "unique":
        cols = check.columns
        return f"({', '.join(cols)}) is duplicated" if len(cols) > 1 else f"{cols[0]} is duplicated"
    if t == "accepted_values":
        shown = ", ".join(text_literal(v) for v in check.values[:10])
        more = f" (+{len(check.values) - 10} more)" if len(check.values) > 10 else ""
        return f"{col} is not one of {shown}{more}"
    if t == "relationships":
        return f"{col} has no match in {check.to}.{check.field}"
    if t == "range":
        return f"{col} {_range_text(check)}"
    if t == "regex":
        return f"{col} does not match {literal(check.pattern)}"
    if t == "expression":
        return f"fails {check.sql}"
    if t == "sql":
        return "returned by the check's query"
    if t == "row_count":
        lo = check.min if check.min is not None else 0
        hi = check.max if check.max is not None else "inf"
        return f"row count outside [{lo}, {hi}]"
    if t == "freshness":
        return f"newest {col} is older than {check.max_age_text}"
    return "row count is an outlier"


def _range_text(check: Check) -> str:
    numeric = isinstance(check.min, int | float) or isinstance(check.max, int | float)
    show = (lambda v: f"{v:g}" if isinstance(v, float) else str(v)) if numeric else literal
    what = "is not a number" if numeric else "is not"
    if check.min is not None and check.max is not None:
        left = "[" if check.min_inclusive else "("
        right = "]" if check.max_inclusive else ")"
        inside = f"in {left}{show(check.min)}, {show(check.max)}{right}"
        return (
            f"{what} {inside}"
            if numeric
            else f"is outside {left}{show(check.min)}, {show(check.max)}{right}"
        )
    if check.min is not None:
        return f"{what} {'>=' if check.min_inclusive else '>'} {show(check.min)}"
    return f"{what} {'<=' if check.max_inclusive else '<'} {show(check.max)}"
