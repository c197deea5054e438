"""Read outcome tables in the canonical layout from CSV, Parquet, Excel or a DataFrame."""

from __future__ import annotations

import codecs
import csv
import io
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from c2c_analysis.validation import C2CDataWarning, DataValidationError, _validate

__all__ = ["read_outcomes"]

_EXCEL = {".xlsx", ".xlsm", ".xls"}
_PARQUET = {".parquet", ".pq"}
_CSV = {".csv", ".txt", ".tsv", ".gz", ".bz2", ".zip", ".xz"}


def read_outcomes(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    column_map: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read an outcome table and return it validated and in canonical form.

    Parameters
    ----------
    source : path or DataFrame
        A CSV file (comma, semicolon, tab or pipe separated; UTF-8 with or without BOM,
        UTF-16 with BOM, or Windows-1252/latin-1), a Parquet file, an Excel workbook, or
        a DataFrame. The file is only read, never changed.
    column_map : mapping, optional
        ``{their column: canonical column}`` for headers the reader does not recognise
        (it already knows common spellings such as ``School Year`` or ``Student Group``).
    sheet : str or int, optional
        The Excel sheet to read (default: the first).

    Returns
    -------
    DataFrame
        The canonical outcome table (see :func:`~c2c_analysis.validate_outcomes`), with
        ``source`` set to the file's name where the file has no ``source`` column.

    Raises
    ------
    FileNotFoundError
        If ``source`` is a path that does not exist.
    DataValidationError
        If the file is empty, unreadable or holds invalid data; the message names the file
        and, for each problem, the line (the header is line 1), the column and the value.

    Examples
    --------
    >>> import io, pandas as pd
    >>> text = "partnership,outcome,year,dimension,group,numerator,denominator\\n"
    >>> text += "tacoma,hs_graduation,2015,all,All students,1650,2000\\n"
    >>> read_outcomes(pd.read_csv(io.StringIO(text)))["rate"].tolist()
    [0.825]
    """
    if isinstance(source, pd.DataFrame):
        return _validate(source, source=None, column_map=column_map)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"expected a file, got a directory: {path}")
    name = path.name
    suffix = path.suffix.lower()
    if suffix in _PARQUET:
        frame = _read_parquet(path)
        return _validate(frame, source=name, rows=_positions(frame, first=0), column_map=column_map)
    if suffix in _EXCEL:
        frame = _read_excel(path, sheet)
        return _validate(frame, source=name, rows=frame.pop("__line__"), column_map=column_map)
    frame = _read_csv(path)
    return _validate(frame, source=name, rows=frame.pop("__line__"), column_map=column_map)


def _positions(frame: pd.DataFrame, *, first: int) -> list[int]:
    return list(range(first, first + len(frame)))


def _fail(path: Path, problem: str) -> DataValidationError:
    return DataValidationError(
        [{"row": None, "column": None, "value": "", "problem": problem}], source=path.name
    )


def _decode(path: Path) -> str:
    """The file's text. UTF-8 (with or without BOM) and UTF-16 with BOM are read as such;
    anything else that is text is Windows-1252, the usual encoding of exports from Excel on
    Windows, or latin-1 for the few bytes cp1252 leaves undefined."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise _fail(
            path,
            "the file is not text (it holds NUL bytes): "
            "is it a workbook or a compressed file with the wrong name?",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        warnings.warn(f"{path.name}: not UTF-8; read as {encoding}", C2CDataWarning, stacklevel=4)
        return text
    raise _fail(
        path, "the file's encoding could not be read"
    )  # pragma: no cover (latin-1 decodes any bytes)


def _read_csv(path: Path) -> pd.DataFrame:
    if path.suffix.lower() in {".gz", ".bz2", ".zip", ".xz"}:
        # Compressed text: pandas decompresses; line numbers still hold.
        try:
            text = pd.read_csv(path, dtype=str, keep_default_na=False, header=None).to_csv(
                index=False, header=False
            )
        except (UnicodeDecodeError, ValueError, OSError) as error:
            raise _fail(path, f"the file could not be read: {error}") from None
    else:
        text = _decode(path)
    if not text.strip():
        raise _fail(path, "the file is empty")
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except pd.errors.ParserError as error:
        raise _fail(path, f"the file is not a well-formed table: {error}") from None
    except pd.errors.EmptyDataError:
        raise _fail(path, "the file is empty") from None
    # Line numbers as an editor shows them: the header is line 1. Rows that are blank in
    # every column are layout, not data, and are the only rows left out.
    frame["__line__"] = range(2, len(frame) + 2)
    blank = frame.drop(columns="__line__").apply(lambda col: col.str.strip() == "").all(axis=1)
    return frame.loc[~blank].reset_index(drop=True)


def _read_excel(path: Path, sheet: str | int | None) -> pd.DataFrame:
    try:
        frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object)
    except (ValueError, KeyError, OSError, ImportError) as error:
        raise _fail(path, f"the workbook could not be read: {error}") from None
    except Exception as error:  # openpyxl and zipfile raise their own types for corrupt files
        raise _fail(
            path, f"the workbook could not be read: {type(error).__name__}: {error}"
        ) from None
    frame["__line__"] = range(2, len(frame) + 2)
    blank = frame.drop(columns="__line__").isna().all(axis=1)
    if len(frame) == 0 or blank.all():
        raise _fail(path, "the sheet has no data rows")
    return frame.loc[~blank].reset_index(drop=True)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises ArrowInvalid and others for corrupt files
        raise _fail(
            path, f"the Parquet file could not be read: {type(error).__name__}: {error}"
        ) from None
