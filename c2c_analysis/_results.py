"""The one shape of every result object (private module, public names).

Every analysis that returns more than one table returns a :class:`Result`: frozen, with

- ``table`` and ``summary`` (DataFrames: the detail and one row per series or component),
- ``settings`` (a mapping of the arguments that made it, with the package ``version``, the
  ``analysis`` (the method's name) and its ``method_reference`` (the literature), filled in
  by the base under names no argument uses: an analysis's own ``method=`` or ``reference=``
  argument is kept as given),
- ``notes`` (a tuple of sentences: what was derived, dropped or assumed),
- ``to_dict()`` (complete and JSON-safe: every member, every table as records),
- ``plot(ax=None)`` (returns the Axes, where the result has a figure),
- ``conf_int(level=0.95)`` (where the result has intervals),
- an HTML display for notebooks (escaped, without memory addresses or timestamps).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import math
import os
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

__all__ = ["Result", "json_safe"]


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types: frames become lists of records, NaN and NA become
    None, numpy scalars Python numbers, dates ISO text, paths text, anything else its text."""
    if isinstance(value, pd.DataFrame):
        return [json_safe(r) for r in value.to_dict("records")]
    if isinstance(value, pd.Series):
        return json_safe(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, pd.Timestamp | _dt.date | _dt.datetime):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value if isinstance(value, str) else str(value)


def _frame_html(frame: pd.DataFrame, rows: int = 20) -> str:
    shown = frame.head(rows)
    text = shown.to_html(index=False, escape=True, na_rep="", border=0)
    if len(frame) > rows:
        text += f"<p>{len(frame) - rows} more rows in <code>.table</code></p>"
    return text


@dataclasses.dataclass(frozen=True, repr=False, kw_only=True)
class Result:
    """Base of every result object: ``table``, ``summary``, ``settings``, ``notes``.

    Subclasses name their method (``analysis``, ``method_reference`` class attributes), add their
    own members (frozen dataclass fields, listed by :meth:`to_dict`), and override
    :meth:`plot` and :meth:`conf_int` where they have a figure or intervals.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()

    #: The method's name and its literature reference (author, year, title), recorded in
    #: ``settings`` under the same names (``reference`` is the vocabulary's reference group).
    analysis: ClassVar[str] = ""
    method_reference: ClassVar[str] = ""

    def __post_init__(self) -> None:
        from c2c_analysis import __version__

        settings = {
            **dict(self.settings),
            "version": __version__,
            **({"analysis": self.analysis} if self.analysis else {}),
            **({"method_reference": self.method_reference} if self.method_reference else {}),
        }
        object.__setattr__(self, "settings", settings)
        notes = (self.notes,) if isinstance(self.notes, str) else tuple(self.notes or ())
        object.__setattr__(self, "notes", tuple(str(n) for n in notes))

    def to_dict(self) -> dict[str, Any]:
        """Every member, JSON-safe: ``type``, ``settings``, ``notes``, the tables as records."""
        out: dict[str, Any] = {"type": type(self).__name__}
        for field in dataclasses.fields(self):
            out[field.name] = json_safe(getattr(self, field.name))
        return out

    def plot(self, ax=None):
        """Draw the result on ``ax`` (a new figure when None) and return the Axes."""
        raise NotImplementedError(f"{type(self).__name__} has no figure")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Intervals at confidence ``level``, one row per estimate."""
        raise NotImplementedError(f"{type(self).__name__} has no intervals")

    def _title(self) -> str:
        return self.analysis or type(self).__name__

    def _repr_html_(self) -> str:
        parts = [f"<h4>{html.escape(self._title())}</h4>"]
        if self.notes:
            items = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
            parts.append(f"<ul>{items}</ul>")
        parts.append(_frame_html(self.summary))
        return "".join(parts)

    def __repr__(self) -> str:
        text = f"{type(self).__name__}: {self._title()}"
        if len(self.summary.columns):
            text += "\n" + self.summary.to_string(index=False, max_rows=20)
        return text
