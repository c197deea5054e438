"""Group-wise array helpers shared by the analysis modules (private module, public names).

The analyses work on many series at once ("never a Python loop per series"): each row gets
the integer code of its series (:func:`group_codes`) and sums, joins and notes are computed
per code with numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["group_codes", "group_sum", "join_notes", "segment_join", "texts"]


def group_codes(*columns: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group number of each row for the combination of ``columns`` (in order of first
    appearance) and the row of each group's first appearance.

    Combining per-column integer codes is much faster than factorizing a MultiIndex, which
    builds a tuple per row (seconds for a million rows). The combined code is refactorized
    whenever the next column's radix would overflow int64, so any number of columns with any
    number of distinct values gives correct groups (never a silent wrap-around).
    """
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    span = 1  # number of distinct values ``combined`` can take
    for column in columns:
        codes, uniques = pd.factorize(np.asarray(column), use_na_sentinel=False)
        radix = len(uniques) + 1
        if span * radix >= np.iinfo(np.int64).max:
            combined, seen = pd.factorize(combined)
            combined = combined.astype(np.int64)
            span = len(seen)
        combined = combined * radix + codes
        span *= radix
    codes, _ = pd.factorize(combined)
    first = np.full(codes.max() + 1 if len(codes) else 0, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return codes.astype(np.int64), first


def group_sum(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per code 0..n-1, the sum of ``values`` (a NaN makes its group's sum NaN)."""
    return np.bincount(codes, weights=values, minlength=n)


def texts(before: str, numbers: np.ndarray, after: str) -> np.ndarray:
    """``f"{before}{number}{after}"`` for every whole number (an object array)."""
    return before + np.asarray(numbers).astype(np.int64).astype(str).astype(object) + after


def segment_join(codes: np.ndarray, texts: np.ndarray, n: int, sep: str = ", ") -> np.ndarray:
    """Per code 0..n-1, its ``texts`` joined by ``sep`` in the order given ("" for none)."""
    out = np.full(n, "", dtype=object)
    if not len(codes):
        return out
    order = np.argsort(codes, kind="stable")
    codes = np.asarray(codes)[order]
    pieces = np.asarray(texts, dtype=object)[order].copy()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    follows = np.ones(len(codes), dtype=bool)
    follows[starts] = False
    pieces[follows] = sep + pieces[follows]
    out[codes[starts]] = np.add.reduceat(pieces, starts)
    return out


def join_notes(n: int, parts) -> np.ndarray:
    """Per row, the texts of ``parts`` whose mask holds there, joined by "; " in order.

    ``parts`` are ``(mask, text)`` pairs; ``text`` is one string or an array of ``n``."""
    notes = np.full(n, "", dtype=object)
    for mask, text in parts:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            continue
        chosen = np.broadcast_to(np.asarray(text, dtype=object), (n,))[mask]
        current = notes[mask]
        notes[mask] = np.where(current == "", chosen, current + "; " + chosen)
    return notes
