"""Read outcome tables in the canonical layout from CSV, Parquet, Excel or a DataFrame."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis.io.recipes import VALUE_COLUMNS, Recipe, Tally, apply_recipe, load_recipe
from c2c_analysis.validation import (
    C2CDataWarning,
    Checked,
    DataValidationError,
    validate_chunks,
    validate_table,
)

__all__ = ["read_outcomes"]

_EXCEL = {".xlsx", ".xlsm", ".xls"}
_PARQUET = {".parquet", ".pq"}
_CSV = {".csv", ".txt", ".tsv", ".gz", ".bz2", ".zip", ".xz"}
_COMPRESSED = {".gz", ".bz2", ".zip", ".xz"}
# Rows per chunk where a file is validated in chunks (`c2c validate`): a few MB of a
# canonical CSV. pandas' parser makes Python strings of a chunk's cells before they become
# Arrow strings, so the transient memory of a chunk is about 1 KB per row.
CHUNK_ROWS = 25_000


def read_outcomes(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    column_map: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    recipe: Recipe | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    partnership: str | Mapping[Any, str] | os.PathLike[str] | None = None,
    rates_in_percent: bool | None = None,
    nested: str = "district",
) -> pd.DataFrame:
    """Read an outcome table and return it validated and in canonical form.

    Parameters
    ----------
    source : path or DataFrame
        A CSV file (comma, semicolon, tab or pipe separated; UTF-8 with or without BOM,
        UTF-16 with or without BOM, or Windows-1252/latin-1), a Parquet file, an Excel
        workbook, or a DataFrame. The file is only read, never changed.
    column_map : mapping, optional
        ``{their column: canonical column}`` for headers the reader does not recognise
        (it already knows unambiguous spellings such as ``School Year`` or ``Student
        Group``, and lists every one it applied in the reading notes).
    sheet : str or int, optional
        The Excel sheet to read (default: the recipe's, else the first).
    recipe : recipe, optional
        How a file that is not in the canonical layout becomes the canonical table: a dict,
        a YAML file, or the name of a shipped recipe (:func:`~c2c_analysis.io.load_recipe`;
        keys are documented in :mod:`c2c_analysis.io.recipes`).
    partnership : str, mapping or path, optional
        One slug for every row, or a mapping from LEA or school ids to partnership slugs (a
        dict, or a two-column CSV of id and partnership): only the mapped rows are kept, a
        note counts the rows of other ids left out, and the optional column ``unit`` names
        each row's school or district (id and name). The ids are looked up in the recipe's
        ``ids`` columns, else in the column read as ``partnership``. Combine a
        partnership's units with :func:`~c2c_analysis.combine_units`.
    rates_in_percent : bool, optional
        The unit of the rate columns: percents (True) or proportions (False). Default: the
        recipe's, else decided per column from the values (a column mixing values at or
        below 1 with values above 1 is an error that lists the rows on each side); the
        reading notes state the decision.
    nested : {"district", "schools", "raise"}
        With a partnership mapping, what to keep of a district whose own rows (a blank
        school id, as ED Data Express lists them) are kept beside its schools' rows, which
        they contain: the district's rows (default), the schools', or an error. A note says
        what was left out; students are never counted twice.

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
        Where required columns are missing it also names the sheet read, the sheets
        available, the columns found and any row that looks like a header.

    Warns
    -----
    C2CDataWarning
        The reading notes: aliases applied, encodings and separators detected, rows left
        out by the recipe (with their groups), suppression markers read.

    Examples
    --------
    >>> import io, pandas as pd
    >>> text = "partnership,outcome,year,dimension,group,numerator,denominator\\n"
    >>> text += "tacoma,hs_graduation,2015,all,All students,1650,2000\\n"
    >>> read_outcomes(pd.read_csv(io.StringIO(text)))["rate"].tolist()
    [0.825]
    """
    # Long because of its docstring and of the four kinds of source (frame, Parquet, Excel, CSV),
    # each read in a few lines before the one validation.
    plan = load_recipe(recipe) if recipe is not None else None
    if plan is None and partnership is not None:
        plan = load_recipe({})  # an empty recipe: the canonical layout, with the mapping
    if isinstance(source, pd.DataFrame):
        if plan is None:
            return validate_table(
                source, source=None, column_map=column_map, rates_in_percent=rates_in_percent
            )
        given, given_lines, given_notes = apply_recipe(
            source.astype(object),
            plan,
            partnership=partnership,
            rates_in_percent=rates_in_percent,
            nested=nested,
        )
        return validate_table(
            given,
            source=None,
            rows=given_lines,
            column_map=column_map,
            reading=given_notes,
            aliases=recipe is None,
            **_units(plan, given, rates_in_percent),
        )
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"expected a file, got a directory: {path}")
    name = path.name
    suffix = path.suffix.lower()
    context: list[str] = []
    notes: list[str] = []
    if suffix in _PARQUET:
        frame = _read_parquet(path)
        lines: Any = _positions(frame, first=0)
    elif suffix in _EXCEL:
        chosen = sheet if sheet is not None else (plan.sheet if plan else None)
        frame = read_excel(path, chosen, header_row=plan.header_row if plan else 1)
        context = frame.attrs.get("context", [])
        lines = frame.pop("__line__")
    else:
        frame = read_csv(path, recipe=plan, notes=notes)
        context = frame.attrs.get("context", [])
        lines = frame.pop("__line__")
    if plan is not None:
        frame, lines, more = apply_recipe(
            frame,
            plan,
            lines=lines,
            source=name,
            partnership=partnership,
            rates_in_percent=rates_in_percent,
            nested=nested,
        )
        notes += more
    try:
        # With a recipe, only its mapping and exact canonical names count: no alias guessing.
        return validate_table(
            frame,
            source=name,
            rows=lines,
            column_map=column_map,
            reading=notes,
            aliases=recipe is None,
            **(
                _units(plan, frame, rates_in_percent)
                if plan is not None
                else {"rates_in_percent": rates_in_percent}
            ),
        )
    except DataValidationError as error:
        missing = error.problems["problem"].astype(str).str.startswith("required column is missing")
        if not missing.any() or not context:
            raise
        raise DataValidationError(
            error.problems, source=error.source, notes=[*error.notes, *context]
        ) from None


def validate_file(
    source: str | os.PathLike[str],
    *,
    column_map: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    recipe: Recipe | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    rates_in_percent: bool | None = None,
    problems: str | os.PathLike[str] | None = None,
    rows: int = CHUNK_ROWS,
) -> Checked:
    """Validate a file as :func:`read_outcomes` reads it, in chunks of ``rows`` rows.

    For ``c2c validate``: the same problems (written to the CSV file ``problems`` as they are
    found), notes and warnings, but no table, so memory stays well under the file's size.
    CSV files are read in chunks from disk when they are UTF-8 (other encodings and
    compressed files are decoded whole first), Parquet files by record batches, Excel
    workbooks whole. A recipe is applied chunk by chunk (its reading notes summed over
    the chunks) unless it reads rate codes (``rate_codes: true``, whose unit is decided from
    the whole file): the file is then read whole and the recipe applied once, as
    :func:`read_outcomes` does.

    Parameters
    ----------
    source : str or path-like
        The file.
    column_map, sheet, recipe, rates_in_percent
        As for :func:`read_outcomes`.
    problems : str or path-like, optional
        A CSV file the problems are written to as they are found.
    rows : int, default CHUNK_ROWS
        Rows per chunk.

    Returns
    -------
    c2c_analysis.validation.Checked
        The first problems and their count, or a valid table's summary.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        When ``source`` is not a file.

    Examples
    --------
    >>> from c2c_analysis.datasets import sample_path
    >>> checked = validate_file(sample_path("outcomes"))
    >>> checked.count, checked.summary["rows"]
    (0, 5324)
    """
    plan = load_recipe(recipe) if recipe is not None else None
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"expected a file, got a directory: {path}")
    name = path.name
    suffix = path.suffix.lower()
    notes: list[str] = []
    context: list[str] = []
    if suffix in _PARQUET:
        read = _parquet_chunks(path, rows)
    elif suffix in _EXCEL:
        chosen = sheet if sheet is not None else (plan.sheet if plan else None)
        frame = read_excel(path, chosen, header_row=plan.header_row if plan else 1)
        context = frame.attrs.get("context", [])
        lines = frame.pop("__line__").to_numpy()

        def read() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
            yield frame, lines

    else:
        csv_chunks, context = _csv_chunks(path, recipe=plan, notes=notes)

        def read() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
            for chunk in csv_chunks(rows):
                yield chunk.drop(columns="__line__"), chunk["__line__"].to_numpy()

    units: dict[str, Any] = {"rates_in_percent": rates_in_percent}
    if plan is not None:
        read, units = _recipe_chunks(read, plan, name, notes, rates_in_percent)
    return validate_chunks(
        read,
        source=name,
        column_map=column_map,
        aliases=recipe is None,
        reading=notes,
        problems=problems,
        context=context,
        **units,
    )


def _recipe_chunks(
    read: Callable[[], Iterator[tuple[pd.DataFrame, np.ndarray]]],
    plan: Recipe,
    name: str,
    notes: list[str],
    rates_in_percent: bool | None,
) -> tuple[Callable[[], Iterator[tuple[pd.DataFrame, np.ndarray]]], dict[str, Any]]:
    """The chunks of a file through a recipe, and how validation takes their rates."""
    given = rates_in_percent if rates_in_percent is not None else plan.rates_in_percent
    if plan.rate_codes:  # the codes' unit is decided on the whole file: read it whole
        frames, line_parts = zip(*read(), strict=True)
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        frame, lines, more = apply_recipe(
            frame,
            plan,
            lines=np.concatenate(line_parts),
            source=name,
            rates_in_percent=rates_in_percent,
        )
        notes += more

        def whole() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
            yield frame, lines

        return whole, _units(plan, frame, rates_in_percent)
    tally = Tally()
    # the first pass tallies the recipe's notes; the second applies it again, untallied
    passes = [tally, None]

    def chunks() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        counting = passes.pop(0) if passes else None
        first = True
        for frame, lines in read():
            try:
                out, kept, _ = apply_recipe(
                    frame,
                    plan,
                    lines=lines,
                    source=name,
                    rates_in_percent=rates_in_percent,
                    _tally=Tally() if counting is None else counting,  # untallied: thrown away
                )
            except DataValidationError:
                if not first:
                    raise
                # A problem of the recipe with the file's columns: the whole file gives
                # the error exactly as read_outcomes does (with every problem of its kind).
                frames, parts = zip(*read(), strict=True)
                apply_recipe(
                    pd.concat(frames, ignore_index=True),
                    plan,
                    lines=np.concatenate(parts),
                    source=name,
                    rates_in_percent=rates_in_percent,
                )
                raise
            first = False
            if "suppressed" not in out.columns and any(c in out for c in VALUE_COLUMNS):
                # markers in some chunks only: every chunk has the column (False where none)
                out["suppressed"] = False
            yield out, np.asarray(kept)
        if counting is not None:
            counting.finish(name)
            notes.extend(counting.notes())

    return chunks, {"rates_in_percent": given}


def _parquet_chunks(
    path: Path, rows: int
) -> Callable[[], Iterator[tuple[pd.DataFrame, np.ndarray]]]:
    """A Parquet file by record batches of ``rows`` rows; labels are row positions."""

    def read() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        import pyarrow.parquet as pq

        try:
            file = pq.ParquetFile(path)
            first = 0
            for batch in file.iter_batches(batch_size=rows):
                frame = batch.to_pandas()
                yield frame, np.arange(first, first + len(frame))
                first += len(frame)
            if not first:
                yield file.schema_arrow.empty_table().to_pandas(), np.arange(0)
        except Exception as error:  # pyarrow raises ArrowInvalid and others for corrupt files
            if isinstance(error, DataValidationError):
                raise
            raise _fail(
                path, f"the Parquet file could not be read: {type(error).__name__}: {error}"
            ) from None

    return read


def _units(plan: Recipe, frame: pd.DataFrame, rates_in_percent: bool | None) -> dict[str, Any]:
    """How validation takes the rates of a frame a recipe gave: rate codes are proportions
    already (their reading stated the unit); else the caller's or the recipe's unit."""
    if plan.rate_codes and "rate_code" in frame.columns:
        return {"rates_in_percent": False, "rates_note": ""}
    given = rates_in_percent if rates_in_percent is not None else plan.rates_in_percent
    return {"rates_in_percent": given}


def _positions(frame: pd.DataFrame, *, first: int) -> list[int]:
    return list(range(first, first + len(frame)))


def _fail(path: Path, problem: str) -> DataValidationError:
    return DataValidationError(
        [{"row": None, "column": None, "value": "", "problem": problem}], source=path.name
    )


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when every other byte of the start is NUL (ASCII text
    written as UTF-16 without a byte-order mark), else None."""
    head = data[:4096]
    if len(head) < 4:
        return None
    head = head[: len(head) // 2 * 2]
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _decode(path: Path, encoding: str | None = None, notes: list[str] | None = None) -> str:
    """The file's text. UTF-8 (with or without BOM) and UTF-16 (with or without BOM) are
    read as such; anything else that is text is Windows-1252, the usual encoding of exports
    from Excel on Windows, or latin-1 for the few bytes cp1252 leaves undefined."""
    data = path.read_bytes()
    if encoding is not None:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as error:
            raise _fail(path, f"the file is not {encoding} as the recipe says: {error}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        guess = _utf16_without_bom(data)
        if guess is not None:
            try:
                text = data.decode(guess)
            except UnicodeDecodeError:
                text = None
            if text is not None:
                if notes is not None:
                    notes.append(f"read as {guess.upper()} (a UTF-16 file without byte-order mark)")
                return text
        kind = (
            "not text: it starts with PK, as an Excel workbook or zip archive does "
            "(give a workbook its .xlsx name)"
            if data.startswith(b"PK")
            else "not text (it holds NUL bytes) nor UTF-16: set the recipe's encoding if it is text"
        )
        raise _fail(path, f"the file is {kind}")
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


_EU_NUMBER = re.compile(r"^-?\d{1,3}(\.\d{3})*,\d+$|^-?\d+,\d+$")
_EU_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+$")
_DOT_DECIMAL = re.compile(r"^-?\d+\.\d+$")


def _is_european(sample: pd.DataFrame) -> bool:
    """Whether the first rows write numbers 0,85 and 1.500 (and no cell contradicts it)."""
    values = sample.head(5000).to_numpy(dtype=object).ravel()
    cells = pd.Series(values[[isinstance(v, str) for v in values]], dtype=object).str.strip()
    comma = cells.str.match(_EU_NUMBER).sum()
    dotted = cells.str.match(_DOT_DECIMAL) & ~cells.str.match(_EU_THOUSANDS)
    return bool(comma) and not dotted.any()


_EUROPEAN_NOTE = (
    "numbers read with ',' as the decimal separator and '.' for thousands (0,85 and "
    "1.500); set decimal: '.' in a recipe if that is wrong"
)


def _european(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Numbers written 0,85 and 1.500 (semicolon-separated files): read with ',' as the
    decimal and '.' as the thousands separator when no cell contradicts it."""
    if not _is_european(frame):
        return frame
    notes.append(_EUROPEAN_NOTE)
    return _to_dot_decimals(frame)


def _to_dot_decimals(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if column == "__line__":
            continue
        text = out[column].astype(str).str.strip()
        hit = text.str.match(_EU_NUMBER) | text.str.match(_EU_THOUSANDS)
        if hit.any():
            out.loc[hit, column] = (
                text[hit].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
            )
    return out


def _utf8_head(path: Path, size: int = 1 << 16) -> str | None:
    """The start of a file that reads as UTF-8 (no UTF-16 byte-order mark, no NUL bytes),
    for sniffing its delimiter; None for other files, which :func:`_decode` reads whole."""
    with path.open("rb") as handle:
        data = handle.read(size)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data:
        return None
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(data, final=False)
    except UnicodeDecodeError:
        return None


def _is_utf8(path: Path, block: int = 1 << 20) -> bool:
    """Whether the whole file decodes as UTF-8, read in blocks (never whole in memory)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with path.open("rb") as handle:
        try:
            while data := handle.read(block):
                decoder.decode(data, final=False)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def read_csv(
    path: Path, *, recipe: Recipe | None = None, notes: list[str] | None = None
) -> pd.DataFrame:
    """A CSV file as text cells, whatever its encoding, delimiter and decimal mark.

    Parameters
    ----------
    path : pathlib.Path
        The file (compressed files are decompressed).
    recipe : Recipe, optional
        Its reading settings (encoding, delimiter, header row, rows to skip).
    notes : list of str, optional
        Reading notes (encoding guessed, European numbers) are appended to it.

    Returns
    -------
    pandas.DataFrame
        Every column as text, plus ``__line__`` (the file line of each row);
        ``attrs["context"]`` holds notes for an error about the header.

    Examples
    --------
    >>> from c2c_analysis.datasets import sample_path
    >>> frame = read_csv(sample_path("outcomes"))
    >>> frame[["year", "__line__"]].head(1).to_dict("records")
    [{'year': '2010', '__line__': 2}]
    """
    chunks, context = _csv_chunks(path, recipe=recipe, notes=notes)
    (frame,) = list(chunks(None))
    frame.attrs["context"] = context
    return frame


def _csv_chunks(
    path: Path, *, recipe: Recipe | None = None, notes: list[str] | None = None
) -> tuple[Callable[[int | None], Iterator[pd.DataFrame]], list[str]]:
    """How to read a CSV file: a function that gives its chunks of ``rows`` rows afresh
    (None: one chunk, the whole file), each under the file's headers with the file line of
    each row in ``__line__``, and the context for errors that say a column is missing
    (filled while the first chunk is read). Reading notes go to ``notes``.

    A UTF-8 file is read by pandas from disk: no whole-text copies of a large file (its
    bytes, its text, and a StringIO of it would be several times the file's size). Other
    encodings and compressed files are decoded whole first."""
    # Long because reading a CSV file in chunks needs its decisions made once (encoding, delimiter,
    # separators on the first rows) and shared by the nested readers of the chunks; apart, they
    # would pass that state around.
    notes = [] if notes is None else notes
    header_row = recipe.header_row if recipe else 1
    head = None
    if path.suffix.lower() in _COMPRESSED:
        # Compressed text: pandas decompresses; line numbers still hold.
        try:
            text = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                header=None,
                encoding=recipe.encoding if recipe and recipe.encoding else None,
            ).to_csv(index=False, header=False)
        except (UnicodeDecodeError, ValueError, OSError) as error:
            raise _fail(path, f"the file could not be read: {error}") from None
    else:
        head = None if recipe is not None and recipe.encoding else _utf8_head(path)
        if head is not None and not _is_utf8(path):
            head = None  # not UTF-8 after all, past its first bytes
        text = (
            head if head is not None else _decode(path, recipe.encoding if recipe else None, notes)
        )
    if not text.strip():
        raise _fail(path, "the file is empty")
    if recipe is not None and recipe.delimiter:
        delimiter = recipe.delimiter.replace("\\t", "\t")
    else:
        body = "\n".join(text.splitlines()[header_row - 1 : header_row + 200])
        try:
            delimiter = csv.Sniffer().sniff(body[:20000], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    options: dict[str, Any] = {
        "sep": delimiter,
        "dtype": str,
        "keep_default_na": False,
        "skip_blank_lines": False,
        "header": None,
        "skiprows": header_row - 1,
    }
    if head is not None:
        options["encoding"] = "utf-8-sig"
        text = ""
    european = delimiter == ";" and (
        recipe is None or (recipe.decimal == "." and not recipe.thousands)
    )
    context: list[str] = []
    decided: list[bool] = []  # the separators' decision, made once on the first rows

    def raw_chunks(rows: int | None) -> Iterator[pd.DataFrame]:
        try:
            source = path if head is not None else io.StringIO(text)
            if rows is None:
                yield pd.read_csv(source, **options)
                return
            with pd.read_csv(source, chunksize=rows, **options) as reader:
                yield from reader
        except pd.errors.ParserError as error:
            raise _fail(path, f"the file is not a well-formed table: {error}") from None
        except pd.errors.EmptyDataError:
            raise _fail(path, "the file is empty") from None

    def chunks(rows: int | None) -> Iterator[pd.DataFrame]:
        headers: list[str] | None = None
        first: list[pd.DataFrame] = []  # the first raw rows, for the context
        pending: list[pd.DataFrame] = []  # rows read before the separators are decided
        for raw in raw_chunks(rows):
            frame = raw
            if headers is None:  # the first chunk starts with the header
                headers = [str(v).strip() for v in raw.iloc[0]]
                frame = raw.iloc[1:]
            if not context and sum(map(len, first)) < 30:
                first.append(raw.head(30))
                if sum(map(len, first)) >= 30:
                    context.extend(_context(pd.concat(first).head(30), header_row, None, None))
            # Line numbers as an editor shows them: the header is line `header_row`. Rows
            # that are blank in every column are layout, not data, and are the only rows
            # left out.
            lines = header_row + frame.index.to_numpy()
            frame = frame.set_axis(headers, axis=1).reset_index(drop=True)
            blank = np.ones(len(frame), dtype=bool)
            for position in range(frame.shape[1]):
                blank &= (frame.iloc[:, position].str.strip() == "").to_numpy()
            frame = frame.loc[~blank].reset_index(drop=True)
            frame["__line__"] = lines[~blank]
            if european and not decided:
                pending.append(frame)
                if sum(map(len, pending)) < 5000:
                    continue
                frame = _decide(pending)
                pending = []
            yield _to_dot_decimals(frame) if decided and decided[0] else frame
        if not context:
            context.extend(_context(pd.concat(first).head(30), header_row, None, None))
        if pending:
            frame = _decide(pending)
            yield _to_dot_decimals(frame) if decided[0] else frame

    def _decide(frames: list[pd.DataFrame]) -> pd.DataFrame:
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if not decided:
            decided.append(_is_european(frame))
            if decided[0]:
                notes.append(_EUROPEAN_NOTE)
        return frame

    return chunks, context


def _context(
    raw: pd.DataFrame, header_row: int, sheet: object = None, sheets: list[str] | None = None
) -> list[str]:
    """What a reader of a 'required column is missing' error needs: the sheet read, the
    sheets available, the columns found and any row that looks like a header."""
    from c2c_analysis.validation import ALIAS_TO_CANONICAL, column_key

    notes = []
    if sheets is not None:
        notes.append(f"read sheet {sheet!r}; the workbook's sheets: {', '.join(map(repr, sheets))}")
    found = (
        [str(v) for v in raw.iloc[0] if v is not None and str(v).strip() and v == v]
        if len(raw)
        else []
    )
    notes.append(
        f"columns found (header row {header_row}): "
        + (", ".join(map(repr, found[:15])) + (" ..." if len(found) > 15 else "") or "none")
    )
    for offset in range(1, len(raw)):
        cells = [str(v) for v in raw.iloc[offset] if v is not None and v == v]
        known = [c for c in cells if column_key(c) in ALIAS_TO_CANONICAL]
        if len(known) >= 3:
            notes.append(
                f"row {header_row + offset} looks like a header ({', '.join(known[:6])}): "
                f"read it with a recipe's header_row: {header_row + offset}"
            )
            break
    return notes


def read_excel(path: Path, sheet: str | int | None, *, header_row: int = 1) -> pd.DataFrame:
    """One sheet of a workbook as its cells, with the row numbers of the sheet.

    Parameters
    ----------
    path : pathlib.Path
        The workbook (``.xlsx``, ``.xlsm`` or ``.xls``).
    sheet : str or int or None
        The sheet's name or position; None is the only sheet, or the one that holds an
        outcome table.
    header_row : int, default 1
        The row (1-based) that holds the column names.

    Returns
    -------
    pandas.DataFrame
        The cells (as the workbook stores them), plus ``__line__`` (the sheet's row
        number of each row);
        ``attrs["context"]`` holds notes for an error about the header.

    Raises
    ------
    DataValidationError
        When the workbook cannot be read or the sheet is not in it.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"year": [2015]}).to_excel(folder / "book.xlsx", index=False)
    >>> read_excel(folder / "book.xlsx", None)[["year", "__line__"]].to_dict("records")
    [{'year': 2015, '__line__': 2}]
    """
    try:
        book = pd.ExcelFile(path)
    except (ValueError, KeyError, OSError, ImportError) as error:
        raise _fail(path, f"the workbook could not be read: {error}") from None
    except Exception as error:  # openpyxl and zipfile raise their own types for corrupt files
        raise _fail(
            path, f"the workbook could not be read: {type(error).__name__}: {error}"
        ) from None
    with book:
        sheets = [str(s) for s in book.sheet_names]
        chosen = 0 if sheet is None else sheet
        if isinstance(chosen, str) and chosen not in sheets:
            raise _fail(
                path,
                f"the workbook has no sheet {chosen!r}; its sheets: {', '.join(map(repr, sheets))}",
            )
        if isinstance(chosen, int) and not 0 <= chosen < len(sheets):
            raise _fail(
                path, f"the workbook has {len(sheets)} sheet(s): {', '.join(map(repr, sheets))}"
            )
        name = chosen if isinstance(chosen, str) else sheets[chosen]
        try:
            # read_excel on the open book (ExcelFile.parse is deprecated in pandas 3)
            raw = pd.read_excel(
                book, sheet_name=name, header=None, dtype=object, skiprows=header_row - 1
            )
        except Exception as error:
            raise _fail(
                path, f"sheet {name!r} could not be read: {type(error).__name__}: {error}"
            ) from None
    context = _context(raw.head(30), header_row, sheet=name, sheets=sheets)
    if len(raw) == 0:
        raise DataValidationError(
            [{"row": None, "column": None, "value": "", "problem": f"sheet {name!r} is empty"}],
            source=path.name,
            notes=context,
        )
    headers = []
    for i, value in enumerate(raw.iloc[0]):
        text = "" if value is None or value != value else str(value).strip()
        headers.append(text or f"Unnamed: {i}")
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = headers
    # Columns with neither a header nor data are the sheet's margins.
    empty = [h for h in headers if h.startswith("Unnamed: ") and frame[h].isna().all()]
    frame = frame.drop(columns=empty)
    frame["__line__"] = range(header_row + 1, len(frame) + header_row + 1)
    blank = frame.drop(columns="__line__").isna().all(axis=1)
    if len(frame) == 0 or blank.all():
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": None,
                    "value": "",
                    "problem": f"sheet {name!r} has no data rows",
                }
            ],
            source=path.name,
            notes=context,
        )
    frame = frame.loc[~blank].reset_index(drop=True)
    frame.attrs["context"] = context
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises ArrowInvalid and others for corrupt files
        raise _fail(
            path, f"the Parquet file could not be read: {type(error).__name__}: {error}"
        ) from None
