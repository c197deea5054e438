"""Checks of arguments shared by the analyses (private module, public names).

One copy of each: the missing-column error, the confidence level, and the mapping of a
renamed parameter (issue 19: every old name keeps working for one release, keyword-only in
the signature, with a ``DeprecationWarning``).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

__all__ = ["DEPRECATED", "check_level", "renamed", "require_columns", "require_names"]

#: The release in which deprecated parameter names stop working.
REMOVED_IN = "0.3"


class _Deprecated:
    """The default of a renamed parameter: shown as ``<deprecated>`` in signatures."""

    _instance: _Deprecated | None = None

    def __new__(cls) -> _Deprecated:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<deprecated>"

    def __reduce__(self) -> str:
        return "DEPRECATED"


#: Default of every deprecated parameter name (``<deprecated>`` in the signature).
DEPRECATED: Any = _Deprecated()


def require_columns(data: Any, columns: Sequence[str], *, what: str = "data") -> None:
    """Raise the one error for missing columns (a :class:`DataValidationError` listing each).

    ``data`` that is not a DataFrame is a ``TypeError`` naming what was given.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{what} must be a DataFrame, not {type(data).__name__}")
    require_names(data.columns, columns)


def require_names(
    present: Iterable[Any], columns: Sequence[str], *, source: str | None = None
) -> None:
    """The missing-column error for any table's column names (a Dask frame's, a file's).

    Raises a :class:`DataValidationError` with one problem per column of ``columns`` that is
    not in ``present`` (``source`` names the table in the message).
    """
    from c2c_analysis.validation import DataValidationError

    names = set(present)
    missing = [c for c in dict.fromkeys(columns) if c not in names]
    if missing:
        raise DataValidationError(
            [
                {"row": None, "column": c, "value": "", "problem": "required column is missing"}
                for c in missing
            ],
            source=source,
        )


def check_level(level: Any, *, name: str = "level") -> float:
    """``level`` as a float confidence level in (0, 1), or a ``ValueError`` that says so."""
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < float(level) < 1:
        raise ValueError(f"{name} is a confidence level between 0 and 1 (e.g. 0.95), not {level!r}")
    return float(level)


def renamed(
    function: str,
    old: str,
    old_value: Any,
    new: str,
    new_value: Any,
    *,
    default: Any = None,
    convert: Any = None,
) -> Any:
    """The value of a renamed parameter: ``new_value``, or ``old_value`` with a warning.

    Parameters
    ----------
    function : str
        The public function's name, for the message.
    old, new : str
        The parameter's old and new names.
    old_value, new_value
        What the caller passed (``old_value`` is :data:`DEPRECATED` when not given).
    default
        The new parameter's default: giving both names is an error only when the new one
        was given too (is not its default).
    convert : callable, optional
        Maps an old value to the new parameter's meaning (e.g. ``higher_is_better=True`` to
        ``better="higher"``).

    Returns
    -------
    object
        The value to use for ``new``.

    Raises
    ------
    TypeError
        When both names were given.
    """
    if old_value is DEPRECATED:
        return new_value
    if new_value is not default and not _same(new_value, default):
        raise TypeError(f"{function}() got both {new}= and its old name {old}=; give {new}= only")
    warnings.warn(
        f"{function}(): the parameter {old}= is deprecated and will be removed in "
        f"{REMOVED_IN}; use {new}= instead",
        DeprecationWarning,
        stacklevel=3,
    )
    return convert(old_value) if convert is not None else old_value


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False
