"""Read CSV / TSV / Parquet tables into a DataFrame, robustly.

Sniffs compression (gzip, zip), format, encoding and delimiter (:mod:`.sniff`); strips stray spaces; maps
missing markers (not the literal ``NA``) to NaN; turns numeric-looking text columns into
numbers; enforces :class:`~mtl_core.config.Limits`. Every failure is a ``DataError`` whose
message is one sentence.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Limits, ReadOptions
from ..errors import DataError
from .arrow_read import parse
from .provenance import file_source, path_source, tag
from .sniff import (HEAD_BYTES, SEPARATORS, Source, check_not_binary, check_path, check_text, decode, decompress,
                    first_row_is_data, format_of, is_compressed, load_bytes, read_head, sample_lines, sniff_sep)

MISSING_MARKERS: list[str] = ["", "?", "NaN", "nan", "null", "NULL", "None", "N/A", "n/a", "#N/A"]
_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")
_SAMPLE_CHARS = 256 * 1024  # sniffing looks at this many characters (sniff._SAMPLE)
_SEP_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}


# --------------------------------------------------------------------------- public
def read_table(
    source: Source,
    options: ReadOptions | None = None,
    limits: Limits | None = None,
    filename: str | None = None,
) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet table (path, bytes or binary file) into a clean DataFrame.

    Plain UTF-8 text takes pyarrow's multi-threaded reader (:mod:`.arrow_read`), straight from
    the path or the uploaded bytes; any other file (compressed, other encodings, ragged rows,
    broken quotes, ...) the careful pandas path, with the same result for files both can read."""
    options = options or ReadOptions()
    limits = limits or Limits.from_env()
    options.validate()
    limits.validate()
    if isinstance(source, (str, Path)):
        df = _read_path(source, filename, options, limits)
        if df is not None:
            return df
    data, name = load_bytes(source, filename, limits)
    provenance = file_source(data, name)
    data, name = decompress(data, name, limits)
    if not data or data.isspace():
        raise DataError(f"{name!r} is empty; upload a file with a header line and data rows.")
    fmt = format_of(data, name, options)
    if fmt == "parquet":
        df = _read_parquet(data, name, limits)
    else:
        check_not_binary(data, name)
        df = None
        if not isinstance(source, (str, Path)):  # a path that could take it already tried
            df = _read_fast(lambda: _buffer(data), data[:HEAD_BYTES], len(data), name, fmt, options, limits)
        if df is None:
            df = _read_text(data, name, fmt, options, limits)
    return tag(df, provenance)


def _buffer(data: bytes):
    import pyarrow as pa

    return pa.BufferReader(pa.py_buffer(data))  # a view of the bytes, no copy


def _read_path(source: str | Path, filename: str | None, options: ReadOptions, limits: Limits) -> pd.DataFrame | None:
    """A plain file or Parquet read from its path without loading its bytes; ``None`` for
    files that need the careful path (compressed, other encodings, odd layouts)."""
    path, name, size = check_path(source, filename, limits)
    head = read_head(path, name)
    if is_compressed(head) or not head or head.isspace():
        return None
    fmt = format_of(head, name, options)
    if fmt == "parquet":
        df = _read_parquet(str(path), name, limits)
    else:
        check_not_binary(head, name)
        df = _read_fast(lambda: str(path), head, size, name, fmt, options, limits)
    return None if df is None else tag(df, path_source(path, name, size))


def _read_fast(open_source, head: bytes, size: int, name: str, fmt: str, options: ReadOptions,
               limits: Limits) -> pd.DataFrame | None:
    """pyarrow's parallel reader on plain UTF-8 text whose ``head`` sniffs cleanly, else ``None``."""
    if options.encoding and options.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return None
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or head[:1] in (b"\r", b"\n"):
        return None
    whole = len(head) >= size
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
        check_text(text, name)
    except (UnicodeDecodeError, DataError):
        return None
    if not text.strip() or not whole and len(text) <= _SAMPLE_CHARS:
        return None
    sep, header, names = _layout(text, name, fmt, options, limits)
    sample = sample_lines(text, 200)
    if len(sep) != 1 or sep in '"\r\n ' or f'{sep} "' in sample or sample.count(f"{sep} ") > sample.count(sep) / 2:
        return None  # spaces after the separator (", "): pandas skips them, pyarrow keeps them (as text)
    df = parse(open_source, head, sep, names, 1 if header else 0, MISSING_MARKERS, quoted='"' in text)
    if df is None or len(df) == 0:
        return None
    if len(df) > limits.max_rows:
        raise DataError(f"{name!r} has more than {limits.max_rows:,} rows (the limit); upload a sample or raise limits.max_rows.")
    _clean_strings(df, numeric=True)
    _check_cells(df, name, limits, total_chars=size)
    df.attrs["header"] = bool(header)
    return df


# --------------------------------------------------------------------------- parquet
def _read_parquet(source: bytes | str, name: str, limits: Limits) -> pd.DataFrame:
    """A Parquet file from its bytes (a zero-copy view) or its path (read column by column)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(source, str):
        signature = read_head(Path(source), name, 4)
    else:
        signature, source = source[:4], _buffer(source)
    if signature != b"PAR1":
        raise DataError(f"{name!r} is not a Parquet file (it lacks the PAR1 signature); upload a valid Parquet or a CSV file.")
    try:
        pf = pq.ParquetFile(source)
        schema = pf.schema_arrow
    except Exception:  # noqa: BLE001 - pyarrow raises many types
        raise DataError(f"{name!r} is a damaged Parquet file that cannot be opened; export it again or upload a CSV.") from None
    for field in schema:
        t = field.type
        if pa.types.is_nested(t) or pa.types.is_dictionary(t) and pa.types.is_nested(t.value_type):
            raise DataError(
                f"Column {field.name!r} of {name!r} holds nested values ({t}); flatten it into plain columns before uploading."
            )
    if len(schema) > limits.max_columns:
        raise DataError(f"{name!r} has {len(schema)} columns, more than the limit of {limits.max_columns}; drop columns or raise limits.max_columns.")
    n_rows = pf.metadata.num_rows
    if n_rows > limits.max_rows:
        raise DataError(f"{name!r} has {n_rows:,} rows, more than the limit of {limits.max_rows:,}; upload a sample or raise limits.max_rows.")
    try:
        table = pf.read(columns=schema.names, use_threads=True)
        df = table.to_pandas(split_blocks=True, self_destruct=True)
        del table
    except Exception:  # noqa: BLE001
        raise DataError(f"{name!r} is a damaged Parquet file whose data cannot be read; export it again or upload a CSV.") from None
    if not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index(drop=True)
    names = _check_names([str(c) for c in df.columns], name)
    df.columns = names
    for field in schema:  # raw bytes: decode to text so every later step sees strings
        col = str(field.name).strip()
        if col in df.columns and (pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type)
                                  or pa.types.is_fixed_size_binary(field.type)):
            df[col] = df[col].map(lambda v: v.decode("utf-8", "backslashreplace") if isinstance(v, (bytes, bytearray)) else v)
    if len(df) == 0:
        raise DataError(f"{name!r} has no data rows; upload a file with at least one row.")
    _clean_strings(df, numeric=False)
    _check_cells(df, name, limits)
    return df


# --------------------------------------------------------------------------- text
def _check_names(names: list[str], name: str) -> list[str]:
    stripped = [str(n).strip() for n in names]
    empty = [i + 1 for i, n in enumerate(stripped) if not n]
    if empty:
        raise DataError(
            f"{name!r} has {len(empty)} column(s) without a name (position {', '.join(map(str, empty[:5]))}); "
            "give every column a header name or remove the empty column."
        )
    seen: set[str] = set()
    dups: list[str] = []
    for n in stripped:
        if n in seen and n not in dups:
            dups.append(n)
        seen.add(n)
    if dups:
        raise DataError(
            f"{name!r} has duplicate column names ({', '.join(repr(d) for d in dups[:5])}); rename them so every column name is unique."
        )
    return stripped


def _first_records(text: str, sep: str, n: int = 50) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample_lines(text, 200)), delimiter=sep, skipinitialspace=True)
    out: list[list[str]] = []
    try:
        for row in reader:
            if row:
                out.append(row)
                if len(out) >= n:
                    break
    except csv.Error:
        pass
    return out


def _check_line_count(data: bytes, name: str, limits: Limits, header: bool) -> None:
    """Refuse a table with more lines than ``max_rows`` before a DataFrame is built (without
    quotes, every line is a row; with quotes a row may span lines, so the parser decides)."""
    lines = data.count(b"\n") + (not data.endswith(b"\n")) - int(header is not False)
    if lines > limits.max_rows and b'"' not in data:
        raise DataError(f"{name!r} has more than {limits.max_rows:,} rows (the limit); upload a sample or raise limits.max_rows.")


def _layout(text: str, name: str, fmt: str, options: ReadOptions, limits: Limits) -> tuple[str, bool, list[str]]:
    """The separator, whether the first line is a header, and the column names, from the first lines."""
    sep = options.sep or ("\t" if fmt == "tsv" else sniff_sep(text))
    if sep == ", ":
        sep = ","
    records = _first_records(text, sep)
    first = records[0] if records else []
    n_fields = len(first)
    if n_fields > limits.max_columns:
        raise DataError(f"{name!r} has {n_fields} columns, more than the limit of {limits.max_columns}; drop columns or raise limits.max_columns.")
    header = options.header
    if header is None:  # detect: a first line of numbers / dates / its columns' types is data
        header = not first_row_is_data(records)
    if options.names:  # given names replace the header line or name a headerless file
        names = _check_names([str(n) for n in options.names], "The column names given")
        if len(names) != n_fields:
            raise DataError(
                f"{len(names)} column names were given but {name!r} has {n_fields} columns per line; give exactly {n_fields} names."
            )
    elif header:
        names = _check_names(first, name)
    else:
        names = [f"col_{i}" for i in range(n_fields)]
    return sep, bool(header), names


def _read_text(data: bytes, name: str, fmt: str, options: ReadOptions, limits: Limits) -> pd.DataFrame:
    text, enc = decode(data, name, options.encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    check_text(text, name)
    if not text or text.isspace():
        raise DataError(f"{name!r} is empty; upload a file with a header line and data rows.")
    sep, header, names = _layout(text, name, fmt, options, limits)
    n_fields = len(names)
    _check_line_count(data, name, limits, header=options.header)
    buf: io.BytesIO | io.StringIO
    buf = io.BytesIO(data[3:] if enc == "utf-8-sig" else data) if enc in ("utf-8", "utf-8-sig") else io.StringIO(text)
    try:
        df = pd.read_csv(
            buf,
            sep=sep,
            header=0 if header else None,
            names=names,
            na_values=MISSING_MARKERS,
            keep_default_na=False,
            skipinitialspace=True,
            engine="c",
            encoding="utf-8" if isinstance(buf, io.BytesIO) else None,
            nrows=limits.max_rows + 1,
            low_memory=False,
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        raise DataError(_parser_message(str(exc), name, sep, n_fields, header)) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{name!r} is empty; upload a file with a header line and data rows.") from None
    except (UnicodeDecodeError, ValueError, OverflowError, MemoryError) as exc:
        raise DataError(f"{name!r} cannot be parsed as a table ({type(exc).__name__}); check the separator and encoding.") from None
    if not isinstance(df.index, pd.RangeIndex):
        # pandas turns the leading values into an index when the first data line is wider
        # than the header: that silently loses columns
        raise DataError(
            f"The data lines of {name!r} have more values than its header has names ({n_fields}); "
            "check that the header uses the same separator as the data, or name every column."
        )
    if len(df) == 0:
        raise DataError(f"{name!r} has a header but no data rows; add at least one row of data.")
    _check_foreign_separator_rows(df, name, sep)
    if len(df) > limits.max_rows:
        raise DataError(f"{name!r} has more than {limits.max_rows:,} rows (the limit); upload a sample or raise limits.max_rows.")
    _clean_strings(df, numeric=True)
    _check_cells(df, name, limits, total_chars=len(text))
    df.attrs["header"] = bool(header)  # whether the first line was read as column names
    return df


def rename_columns(df: pd.DataFrame, names: list[str] | str) -> pd.DataFrame:
    """A copy of ``df`` with new column names (a list, or one comma-separated string): as many
    as there are columns, non-empty and unique, else a one-sentence ``DataError``."""
    if isinstance(names, str):
        names = next(csv.reader([names], skipinitialspace=True), [])
    names = _check_names([str(n) for n in names], "The column names given")
    if len(names) != df.shape[1]:
        raise DataError(f"{len(names)} column names were given but the table has {df.shape[1]} columns; give exactly {df.shape[1]} names.")
    out = df.copy()
    new = dict(zip(map(str, df.columns), names))
    out.columns = names
    if out.attrs.get("roles"):  # roles carried by the table (the funnel builder's) follow their columns
        out.attrs["roles"] = {new[c]: r for c, r in out.attrs["roles"].items() if c in new}
    return out


def _check_foreign_separator_rows(df: pd.DataFrame, name: str, sep: str) -> None:
    """Rows written with another separator land whole in the first column with every other
    column missing (pandas pads short rows): refuse them instead of keeping garbage."""
    n = df.shape[1]
    if n < 3 or not _is_text(df.iloc[:, 0]):
        return
    lonely = df.iloc[:, 1:].isna().all(axis=1).to_numpy()
    if not lonely.any():
        return
    first = df.iloc[:, 0][lonely].dropna().astype(str)
    for other in SEPARATORS:
        if other == sep:
            continue
        hits = first[first.str.count(re.escape(other)) >= n - 1]
        if len(hits):
            row = int(df.index.get_loc(hits.index[0])) + 1
            raise DataError(
                f"Data row {row} of {name!r} is separated by {_SEP_NAMES.get(other, repr(other))} but the rest of the file "
                f"by {_SEP_NAMES.get(sep, repr(sep))}; use one separator throughout the file."
            )


def _parser_message(msg: str, name: str, sep: str, n_fields: int, header: bool) -> str:
    sep_name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(sep, repr(sep))
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        exp, line, saw = m.groups()
        return (f"Line {line} of {name!r} has {saw} values but the {'header has' if header else 'first line has'} {exp} "
                f"({sep_name}-separated); fix that line, quote values containing the separator, or choose another separator.")
    m = re.search(r"EOF inside string starting at row (\d+)", msg)
    if m:
        line = int(m.group(1)) + 1
        return f"A quote opened on line {line} of {name!r} is never closed; close the quote or remove the stray quote character."
    if "EOF" in msg:
        return f"{name!r} ends inside a quoted value (an unterminated quote); close the quote or remove the stray quote character."
    first = msg.strip().splitlines()[0] if msg.strip() else "unknown parse error"
    return f"{name!r} cannot be parsed as a {sep_name}-separated table ({first.rstrip('.')}); check the separator and quoting."


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def _clean_strings(df: pd.DataFrame, numeric: bool) -> None:
    """Strip text columns in place, map missing markers to NaN and (CSV) convert numeric-looking text."""
    markers = set(MISSING_MARKERS)
    for col in list(df.columns):
        s = df[col]
        if not _is_text(s):
            continue
        if s.dtype == object:
            if not s.map(type).eq(str).where(s.notna(), True).all():
                if not numeric:
                    continue  # mixed objects (e.g. parquet decimals) stay untouched
                # CSV: the parser made Python ints of integers beyond 64 bits; keep their text
                s = s.map(lambda v: v if isinstance(v, str) or pd.isna(v) else str(v)).astype(object)
        s = s.str.strip()
        s = s.where(~s.isin(markers))
        if numeric:
            s = _maybe_numeric(s)
        df[col] = s


def _maybe_numeric(s: pd.Series) -> pd.Series:
    nonnull = s.dropna()
    if nonnull.empty:
        return s
    head = nonnull.iloc[:200]
    if pd.to_numeric(head, errors="coerce").notna().all():
        try:
            out = pd.to_numeric(s)
        except (ValueError, TypeError):
            return s
        # integers beyond 64 bits come back as Python objects: keep such ids as text
        return s if out.dtype == object else out
    if head.str.fullmatch(_THOUSANDS).all() and head.str.contains(",", regex=False).any():
        if nonnull.str.fullmatch(_THOUSANDS).all():
            try:
                return pd.to_numeric(s.str.replace(",", "", regex=False))
            except (ValueError, TypeError):
                return s
    return s


def _check_cells(df: pd.DataFrame, name: str, limits: Limits, total_chars: int | None = None) -> None:
    if total_chars is not None and total_chars <= limits.max_cell_chars:
        return
    for col in df.columns:
        s = df[col]
        if not _is_text(s) or s.dtype == object and not len(s):
            continue
        try:
            lengths = s.str.len()
        except AttributeError:
            continue
        mx = lengths.max()
        if pd.notna(mx) and mx > limits.max_cell_chars:
            row = int(np.nanargmax(lengths.to_numpy(dtype=float)))
            raise DataError(
                f"A value in column {col!r}, row {row + 1} of {name!r} has {int(mx):,} characters, more than the limit of "
                f"{limits.max_cell_chars:,}; shorten it or raise limits.max_cell_chars."
            )
