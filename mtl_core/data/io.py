"""Read CSV / TSV / Parquet tables into a DataFrame, robustly.

Sniffs compression (gzip, zip), format, encoding and delimiter; strips stray spaces; maps
missing markers (not the literal ``NA``) to NaN; turns numeric-looking text columns into
numbers; enforces :class:`~mtl_core.config.Limits`. Every failure is a ``DataError`` whose
message is one sentence.
"""
from __future__ import annotations

import csv
import gzip
import io
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO, Union

import numpy as np
import pandas as pd

from ..config import Limits, ReadOptions
from ..errors import DataError

Source = Union[str, Path, bytes, bytearray, BinaryIO]

MISSING_MARKERS: list[str] = ["", "?", "NaN", "nan", "null", "NULL", "None", "N/A", "n/a", "#N/A"]
SEPARATORS: tuple[str, ...] = (",", ";", "\t", "|")
TABLE_EXTS = (".csv", ".tsv", ".txt", ".tab", ".dat", ".parquet", ".pq", "")
_SAMPLE = 256 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")
_SEP_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}

# the csv module refuses fields over 128 KiB with csv.Error; our own limit is
# Limits.max_cell_chars, checked with a clear message after parsing
csv.field_size_limit(2**31 - 1)


# --------------------------------------------------------------------------- bytes
def _load(source: Source, filename: str | None, limits: Limits) -> tuple[bytes, str]:
    """Raw bytes of ``source`` and a display name; checks ``max_bytes``."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = filename or path.name
        try:
            st = path.stat()
        except OSError:
            raise DataError(f"The file {str(path)!r} does not exist or cannot be opened; check the path.") from None
        if path.is_dir():
            raise DataError(f"{str(path)!r} is a folder, not a file; choose a CSV, TSV or Parquet file.")
        if not stat.S_ISREG(st.st_mode):  # /dev/zero reads forever, a FIFO blocks: refuse before opening
            raise DataError(f"{str(path)!r} is not a regular file (a device, pipe or socket); save the table "
                            "to a file and give that file's path.")
        _check_bytes(st.st_size, name, limits)
        try:
            with open(path, "rb") as fh:  # never more than the limit, whatever the reported size
                data = fh.read(limits.max_bytes + 1)
        except OSError as exc:
            raise DataError(f"The file {name!r} cannot be read ({exc.strerror or exc}); check its permissions.") from None
        _check_bytes(len(data), name, limits)
        return data, name
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = filename or "the uploaded data"
    elif hasattr(source, "read"):
        name = filename or str(getattr(source, "name", "") or "the uploaded data")
        try:
            data = source.read(limits.max_bytes + 1)
        except Exception as exc:  # noqa: BLE001 - any reader failure becomes one sentence
            raise DataError(f"{name!r} cannot be read ({type(exc).__name__}); try uploading it again.") from None
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise DataError(f"Cannot read a table from a {type(source).__name__}; give a file path, bytes or an open binary file.")
    _check_bytes(len(data), name, limits)
    return data, name


def _size(n: int) -> str:
    if n >= 2**20:
        return f"{n / 2**20:.1f} MiB"
    if n >= 2**10:
        return f"{n / 2**10:.1f} KiB"
    return f"{n} bytes"


def _check_bytes(size: int, name: str, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise DataError(
            f"{name!r} is {_size(size)}, more than the limit of {_size(limits.max_bytes)}; "
            "upload a smaller sample or raise limits.max_bytes."
        )


def _decompress(data: bytes, name: str, limits: Limits) -> tuple[bytes, str]:
    """Undo gzip / zip compression (found by magic bytes); returns inner bytes and name."""
    if data[:2] == b"\x1f\x8b":
        inner = re.sub(r"\.gz$", "", name, flags=re.I)
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                out = gz.read(limits.max_bytes + 1)
        except (OSError, EOFError, zlib.error):
            raise DataError(f"{name!r} is a damaged or truncated gzip file; compress it again or upload the plain file.") from None
        if len(out) > limits.max_bytes:  # only max_bytes + 1 were decompressed: say "more than"
            raise DataError(f"{name!r} expands to more than {_size(limits.max_bytes)} when decompressed, more than "
                            "the limit; upload a smaller sample or raise limits.max_bytes.")
        return out, inner
    if data[:4] == b"PK\x05\x06":  # end-of-archive record first: a zip without files
        raise DataError(f"{name!r} is an empty zip archive; zip exactly one CSV, TSV or Parquet file.")
    if data[:4] == b"PK\x03\x04":
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            names = [n for n in zf.namelist() if not n.endswith("/") and not n.startswith("__MACOSX")]
        except (zipfile.BadZipFile, OSError, EOFError):
            raise DataError(f"{name!r} is a damaged zip file; zip it again or upload the plain file.") from None
        if any(n.startswith("xl/") for n in names) or "[Content_Types].xml" in names:
            raise DataError(f"{name!r} is an Excel or Office document, not a table file; save it as CSV and upload that.")
        tables = [n for n in names if Path(n).suffix.lower() in TABLE_EXTS]
        if len(tables) != 1:
            raise DataError(
                f"{name!r} is a zip archive with {len(tables)} table files ({', '.join(tables[:5]) or 'none'}); "
                "zip exactly one CSV, TSV or Parquet file."
            )
        info = zf.getinfo(tables[0])
        _check_bytes(info.file_size, tables[0], limits)
        try:
            return zf.read(tables[0]), Path(tables[0]).name
        except Exception:  # noqa: BLE001
            raise DataError(f"{tables[0]!r} inside {name!r} cannot be extracted; zip it again or upload the plain file.") from None
    return data, name


def _format_of(data: bytes, name: str, options: ReadOptions) -> str:
    if data[:4] == b"PAR1":
        return "parquet"
    if options.format:
        return options.format
    ext = Path(name).suffix.lower()
    if ext in (".parquet", ".pq"):
        return "parquet"
    if ext in (".tsv", ".tab"):
        return "tsv"
    return "csv"


def _check_not_binary(data: bytes, name: str) -> None:
    head = data[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(f"{name!r} is an old Excel/Office document, not a table file; save it as CSV and upload that.")
    if len(data) > 262 and data[257:262] == b"ustar":
        raise DataError(f"{name!r} is a tar archive; extract the table from it and upload the CSV, TSV or Parquet file.")
    for magic, kind in ((b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
                        (b"BZh", "a bzip2 archive"), (b"\xfd7zXZ", "an xz archive"), (b"7z\xbc\xaf", "a 7-Zip archive")):
        if head.startswith(magic):
            raise DataError(f"{name!r} is {kind}, not a table; upload a CSV, TSV or Parquet file.")


# --------------------------------------------------------------------------- encoding
def _looks_cjk(text: str) -> bool:
    non_ascii = _NON_ASCII.findall(text[:_SAMPLE])[:5000]
    if not non_ascii:
        return False
    cjk = sum(1 for c in non_ascii if _CJK.match(c))
    # real GBK text has both bytes >= 0x80; Latin-1 accents mis-decoded absorb an ASCII letter
    high_trail = sum(1 for c in non_ascii if c.encode("gbk", "replace")[-1] >= 0x80)
    return cjk >= 0.6 * len(non_ascii) and high_trail >= 0.8 * len(non_ascii)


def _decode(data: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    """Decoded text and the encoding used (strict UTF-8 first, then UTF-16/GBK/Latin-1)."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise DataError(f"Unknown encoding {encoding!r}; use e.g. utf-8, utf-16, gbk or latin-1.") from None
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{name!r} is not valid {encoding} text (byte {exc.start}); choose another encoding or leave it to detection."
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8"]
    for enc in candidates:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("gbk")
        if _looks_cjk(text):
            return text, "gbk"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _check_text(text: str, name: str) -> None:
    sample = text[:_SAMPLE]
    if sample and len(_CONTROL.findall(sample)) > max(2, 0.01 * len(sample)):
        raise DataError(
            f"{name!r} contains binary data, not text; upload a CSV, TSV or Parquet table (saved as UTF-8 if possible)."
        )


# --------------------------------------------------------------------------- delimiter
def _sample_lines(text: str, n: int = 50) -> str:
    sample = text[:_SAMPLE]
    if len(text) > _SAMPLE and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    return "\n".join(sample.splitlines()[:n])


def _sniff_sep(text: str) -> str:
    """The delimiter giving the most consistent (and largest) field count on the first lines."""
    sample = _sample_lines(text)
    best, best_score = ",", (-1.0, 0)
    for sep in SEPARATORS:
        if sep not in sample:
            continue
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=sep) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = sep, score
    return best


def _display_sep(sep: str, text: str) -> str:
    sample = _sample_lines(text)
    n = sample.count(sep)
    if sep == "," and n and sample.count(", ") >= 0.9 * n:
        return ", "
    return sep


# --------------------------------------------------------------------------- public
def sniff(source: Source, filename: str | None = None, limits: Limits | None = None) -> dict[str, Any]:
    """Detected ``format``, ``encoding`` and ``sep`` of ``source`` (no full parse)."""
    limits = limits or Limits.from_env()
    data, name = _load(source, filename, limits)
    data, name = _decompress(data, name, limits)
    fmt = _format_of(data, name, ReadOptions())
    if fmt == "parquet":
        return {"format": "parquet", "encoding": None, "sep": None}
    _check_not_binary(data, name)
    text, enc = _decode(data, name, None)
    sep = "\t" if fmt == "tsv" else _sniff_sep(text)
    if sep == "\t":
        fmt = "tsv"
    return {"format": fmt, "encoding": enc, "sep": _display_sep(sep, text)}


def read_table(
    source: Source,
    options: ReadOptions | None = None,
    limits: Limits | None = None,
    filename: str | None = None,
) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet table (path, bytes or binary file) into a clean DataFrame."""
    options = options or ReadOptions()
    limits = limits or Limits.from_env()
    options.validate()
    limits.validate()
    data, name = _load(source, filename, limits)
    data, name = _decompress(data, name, limits)
    if not data.strip():
        raise DataError(f"{name!r} is empty; upload a file with a header line and data rows.")
    fmt = _format_of(data, name, options)
    if fmt == "parquet":
        df = _read_parquet(data, name, limits)
    else:
        _check_not_binary(data, name)
        df = _read_text(data, name, fmt, options, limits)
    return df


# --------------------------------------------------------------------------- parquet
def _read_parquet(data: bytes, name: str, limits: Limits) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if data[:4] != b"PAR1":
        raise DataError(f"{name!r} is not a Parquet file (it lacks the PAR1 signature); upload a valid Parquet or a CSV file.")
    try:
        pf = pq.ParquetFile(io.BytesIO(data))
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
        table = pf.read()
        df = table.to_pandas()
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


def _first_record(text: str, sep: str) -> list[str]:
    reader = csv.reader(io.StringIO(_sample_lines(text, 200)), delimiter=sep, skipinitialspace=True)
    try:
        for row in reader:
            if row:
                return row
    except csv.Error:
        pass
    return []


def _check_line_count(data: bytes, name: str, limits: Limits, header: bool) -> None:
    """Refuse a table with more lines than ``max_rows`` before a DataFrame is built (without
    quotes, every line is a row; with quotes a row may span lines, so the parser decides)."""
    lines = data.count(b"\n") + (not data.endswith(b"\n")) - int(header)
    if lines > limits.max_rows and b'"' not in data:
        raise DataError(f"{name!r} has more than {limits.max_rows:,} rows (the limit); upload a sample or raise limits.max_rows.")


def _read_text(data: bytes, name: str, fmt: str, options: ReadOptions, limits: Limits) -> pd.DataFrame:
    text, enc = _decode(data, name, options.encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    _check_text(text, name)
    if not text.strip():
        raise DataError(f"{name!r} is empty; upload a file with a header line and data rows.")
    sep = options.sep or ("\t" if fmt == "tsv" else _sniff_sep(text))
    if sep == ", ":
        sep = ","
    first = _first_record(text, sep)
    n_fields = len(first)
    if n_fields > limits.max_columns:
        raise DataError(f"{name!r} has {n_fields} columns, more than the limit of {limits.max_columns}; drop columns or raise limits.max_columns.")
    if options.header:
        names = _check_names(first, name)
    elif options.names:
        names = _check_names([str(n) for n in options.names], "The column names given")
        if len(names) != n_fields:
            raise DataError(
                f"{len(names)} column names were given but {name!r} has {n_fields} columns per line; give exactly {n_fields} names."
            )
    else:
        names = [f"col_{i}" for i in range(n_fields)]
    _check_line_count(data, name, limits, header=options.header)
    buf: io.BytesIO | io.StringIO
    buf = io.BytesIO(data[3:] if enc == "utf-8-sig" else data) if enc in ("utf-8", "utf-8-sig") else io.StringIO(text)
    try:
        df = pd.read_csv(
            buf,
            sep=sep,
            header=0 if options.header else None,
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
        raise DataError(_parser_message(str(exc), name, sep, n_fields, options.header)) from None
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
    return df


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
