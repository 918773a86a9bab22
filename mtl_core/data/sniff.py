"""From a file to its text: loading with the size limit, decompression (gzip, zip),
format, refusal of binary documents, encoding and delimiter detection.

:func:`mtl_core.data.io.read_table` reads a table through these steps; :func:`sniff`
reports what they detect without parsing the table. Every failure is a ``DataError``
whose message is one sentence.
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

from ..config import Limits, ReadOptions
from .keys import DATE_RE
from ..errors import DataError

Source = Union[str, Path, bytes, bytearray, BinaryIO]

SEPARATORS: tuple[str, ...] = (",", ";", "\t", "|")
TABLE_EXTS = (".csv", ".tsv", ".txt", ".tab", ".dat", ".parquet", ".pq", "")
_SAMPLE = 256 * 1024
HEAD_BYTES = 4 * _SAMPLE  # bytes read to sniff a file read from its path (at least _SAMPLE characters)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

# the csv module refuses fields over 128 KiB with csv.Error; our own limit is
# Limits.max_cell_chars, checked with a clear message after parsing
csv.field_size_limit(2**31 - 1)


# --------------------------------------------------------------------------- bytes
def load_bytes(source: Source, filename: str | None, limits: Limits) -> tuple[bytes, str]:
    """Raw bytes of ``source`` and a display name; checks ``max_bytes``."""
    if isinstance(source, (str, Path)):
        path, name, _ = check_path(source, filename, limits)
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


def check_path(source: str | Path, filename: str | None, limits: Limits) -> tuple[Path, str, int]:
    """The path, display name and size of a regular file within ``max_bytes`` (else a ``DataError``)."""
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
    return path, name, st.st_size


def read_head(path: Path, name: str, n: int = HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of the file at ``path`` (for sniffing without reading it all)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise DataError(f"The file {name!r} cannot be read ({exc.strerror or exc}); check its permissions.") from None


def is_compressed(data: bytes) -> bool:
    """Whether ``data`` starts like a gzip or zip file."""
    return data[:2] == b"\x1f\x8b" or data[:2] == b"PK"


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


def decompress(data: bytes, name: str, limits: Limits) -> tuple[bytes, str]:
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


def format_of(data: bytes, name: str, options: ReadOptions) -> str:
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


def check_not_binary(data: bytes, name: str) -> None:
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


def decode(data: bytes, name: str, encoding: str | None) -> tuple[str, str]:
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


def check_text(text: str, name: str) -> None:
    sample = text[:_SAMPLE]
    if sample and len(_CONTROL.findall(sample)) > max(2, 0.01 * len(sample)):
        raise DataError(
            f"{name!r} contains binary data, not text; upload a CSV, TSV or Parquet table (saved as UTF-8 if possible)."
        )


# --------------------------------------------------------------------------- delimiter
def sample_lines(text: str, n: int = 50) -> str:
    sample = text[:_SAMPLE]
    if len(text) > _SAMPLE and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    return "\n".join(sample.splitlines()[:n])


def sniff_sep(text: str) -> str:
    """The delimiter giving the most consistent (and largest) field count on the first lines."""
    sample = sample_lines(text)
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
    sample = sample_lines(text)
    n = sample.count(sep)
    if sep == "," and n and sample.count(", ") >= 0.9 * n:
        return ", "
    return sep


# --------------------------------------------------------------------------- header
_NUMBER_RE = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def cell_type(v: str) -> str:
    """``"number"``, ``"date"``, ``"empty"`` or ``"text"``: the type of one raw CSV cell."""
    v = v.strip()
    if not v:
        return "empty"
    if _NUMBER_RE.match(v):
        return "number"
    return "date" if DATE_RE.match(v) else "text"


def first_row_is_data(records: list[list[str]]) -> bool:
    """True when the first of ``records`` (raw cells of the first lines) is data, not names:
    every non-empty cell is a number or a date, or every cell has the type of its column's
    values in the following lines with at least one number or date among them."""
    if len(records) < 2:
        return False
    first = [cell_type(c) for c in records[0]]
    filled = [t for t in first if t != "empty"]
    if not filled or len(filled) < len(first) and len(filled) < 2:
        return False
    if all(t in ("number", "date") for t in filled):
        return True
    matches = 0
    for j, t in enumerate(first):
        col = [cell_type(r[j]) for r in records[1:] if j < len(r)]
        col = [c for c in col if c != "empty"]
        if not col or t == "empty":
            continue
        common = max(set(col), key=col.count)
        if col.count(common) < 0.9 * len(col) or common != t:
            return False
        matches += t in ("number", "date")
    return matches > 0


# --------------------------------------------------------------------------- public
def sniff(source: Source, filename: str | None = None, limits: Limits | None = None) -> dict[str, Any]:
    """Detected ``format``, ``encoding`` and ``sep`` of ``source`` (no full parse)."""
    limits = limits or Limits.from_env()
    data, name = load_bytes(source, filename, limits)
    data, name = decompress(data, name, limits)
    fmt = format_of(data, name, ReadOptions())
    if fmt == "parquet":
        return {"format": "parquet", "encoding": None, "sep": None}
    check_not_binary(data, name)
    text, enc = decode(data, name, None)
    sep = "\t" if fmt == "tsv" else sniff_sep(text)
    if sep == "\t":
        fmt = "tsv"
    return {"format": fmt, "encoding": enc, "sep": _display_sep(sep, text)}
