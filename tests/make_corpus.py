"""Generate a corpus of malformed and hostile input files for the robustness tests.

``build_corpus(dir)`` writes every file under ``dir`` and returns a list of
:class:`CorpusCase`. Nothing here is a hand-made blob: every file is produced by code from a
small seeded base table, so the corpus is reproducible and easy to extend.

Each case says what the reader (``mtl_core.data.io.read_table``) must do (``expect``: ``"ok"``
or ``"error"``), optionally a regular expression the error message must match (``match``:
the message names the problem), and, for readable tables, a task and what ``prepare`` must
do with it (``prepare``: ``"ok"`` / ``"error"``).

Run it directly to write the corpus somewhere and print a summary::

    python tests/make_corpus.py /tmp/corpus
"""
from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class CorpusCase:
    name: str
    path: Path
    expect: str  # "ok" | "error": what read_table must do
    note: str
    match: str | None = None  # regex (case-insensitive) the error sentence must match
    task: str | None = None  # a task spec for prepare(), when one applies
    prepare: str | None = None  # "ok" | "error": what prepare() must do with ``task``
    data: dict = field(default_factory=dict)  # extra DataConfig fields (roles, time_col...)
    split: dict = field(default_factory=dict)  # extra SplitConfig fields
    limits: dict | None = None  # small Limits for the limit cases (env MTL_LAB_LIMIT_*)
    check: str | None = None  # name of an extra content check (see tests/test_corpus.py)


# --------------------------------------------------------------------------- base data
def base_frame(rows: int = 60, seed: int = 0) -> pd.DataFrame:
    """A small, clean interaction table: ids, a categorical, numbers and two labels."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "user_id": [f"u{int(i):03d}" for i in rng.integers(0, 12, rows)],
        "item_id": [f"i{int(i):03d}" for i in rng.integers(0, 20, rows)],
        "category": rng.choice(["books", "garden", "toys", "food"], rows),
        "price": np.round(rng.uniform(1, 200, rows), 2),
        "age": rng.integers(18, 80, rows),
        "click": np.tile([0, 1], rows // 2 + 1)[:rows],
        "rating": np.round(rng.uniform(1, 5, rows), 1),
    })


def _csv(df: pd.DataFrame, sep: str = ",", **kw) -> str:
    return df.to_csv(index=False, sep=sep, lineterminator="\n", **kw)


def _parquet(df: pd.DataFrame | None = None, table=None) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table if table is not None else pa.Table.from_pandas(df, preserve_index=False), buf)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _garbage(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


# --------------------------------------------------------------------------- corpus
def build_corpus(directory: str | Path) -> list[CorpusCase]:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cases: list[CorpusCase] = []
    base = base_frame()
    good = _csv(base)
    good_b = good.encode()

    def add(name: str, content: bytes | str, expect: str, note: str, *, ext: str = ".csv", **kw) -> None:
        path = d / f"{len(cases):03d}_{name}{ext}"
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        cases.append(CorpusCase(name=name, path=path, expect=expect, note=note, **kw))

    CLICK = dict(task="click", prepare="ok")

    # ---- empty and near-empty
    add("empty", b"", "error", "zero bytes", match="empty")
    add("whitespace_only", "   \n\t\n  ", "error", "only spaces and tabs", match="empty")
    add("newlines_only", "\n\n\n\n", "error", "only newlines", match="empty")
    add("header_only", "user_id,item_id,click\n", "error", "header, no rows", match="no data rows")
    add("header_only_crlf", "user_id,item_id,click\r\n", "error", "header with CRLF, no rows", match="no data rows")
    add("header_no_newline", "user_id,item_id,click", "error", "header without newline", match="no data rows")
    add("one_row", _csv(base.head(1)), "ok", "one data row; too few to split",
        task="click", prepare="error")
    add("two_rows", _csv(base.head(2)), "ok", "two data rows; too few to split", task="click", prepare="error")
    add("single_column", _csv(base[["click"]]), "ok", "only the label column; no features",
        task="click", prepare="error")
    add("no_trailing_newline", good.rstrip("\n"), "ok", "last line without newline", **CLICK)
    add("good_reference", good, "ok", "the clean base table", **CLICK, check="base_equal")

    # ---- binary and foreign formats
    add("random_bytes", _garbage(4096, 1), "error", "4 KiB of random bytes", match="binary|not a|cannot")
    add("null_bytes", b"\x00" * 2048, "error", "NUL bytes", match="binary")
    add("random_bytes_small", _garbage(64, 2), "error", "64 random bytes", match="binary|not a|cannot")
    add("png_renamed", b"\x89PNG\r\n\x1a\n" + _garbage(500, 3), "error", "PNG image named .csv", match="PNG")
    add("pdf_renamed", b"%PDF-1.7\n" + _garbage(500, 4), "error", "PDF named .csv", match="PDF")
    add("jpeg_renamed", b"\xff\xd8\xff\xe0" + _garbage(500, 5), "error", "JPEG named .csv", match="JPEG")
    add("elf_binary", b"\x7fELF\x02\x01\x01\x00" + _garbage(1000, 6), "error", "an executable", match="binary|not a|cannot")
    add("sqlite_renamed", b"SQLite format 3\x00" + _garbage(2000, 7), "error", "SQLite database", match="binary|not a|cannot")
    add("xlsx_renamed", _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}),
        "error", "Excel .xlsx (a zip) named .csv", match="Excel")
    add("xls_renamed", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + _garbage(1000, 8), "error", "old Excel .xls", match="Excel")
    add("tar_with_csv", _tar({"data.csv": good_b}), "error", "tar archive holding a CSV", match="tar")
    add("bzip2_csv", bz2.compress(good_b), "error", "bzip2-compressed CSV", match="bzip2")
    add("xz_csv", lzma.compress(good_b), "error", "xz-compressed CSV", match="xz")
    add("sevenzip_magic", b"7z\xbc\xaf\x27\x1c" + _garbage(300, 9), "error", "7-Zip archive", match="7-Zip")
    add("json_renamed", base.head(5).to_json(orient="records"), "error",
        "JSON array named .csv", match="duplicate column names")
    add("html_renamed", "<html><body><table><tr><td>a</td><td>b</td></tr></table></body></html>\n",
        "error", "an HTML page named .csv", match="no data rows")

    # ---- compression
    add("gzip_table", gzip.compress(good_b, mtime=0), "ok", "gzip of a good CSV named .csv", **CLICK, check="base_equal")
    add("gzip_table_gz", gzip.compress(good_b, mtime=0), "ok", "gzip of a good CSV, .csv.gz", ext=".csv.gz", **CLICK)
    add("gzip_garbage", gzip.compress(_garbage(3000, 10), mtime=0), "error", "gzip of random bytes", match="binary|cannot")
    add("gzip_truncated", gzip.compress(good_b, mtime=0)[:60], "error", "gzip cut short", match="gzip")
    add("gzip_empty", gzip.compress(b"", mtime=0), "error", "gzip of nothing", match="empty")
    add("gzip_parquet", gzip.compress(_parquet(base), mtime=0), "ok", "gzip of a Parquet file", **CLICK)
    add("zip_table", _zip({"data.csv": good_b}), "ok", "zip with one CSV named .csv", **CLICK, check="base_equal")
    add("zip_tsv", _zip({"data.tsv": _csv(base, sep="\t").encode()}), "ok", "zip with one TSV", **CLICK)
    add("zip_garbage", _zip({"data.csv": _garbage(3000, 11)}), "error", "zip with random bytes inside", match="binary|cannot")
    add("zip_two_tables", _zip({"a.csv": good_b, "b.csv": good_b}), "error", "zip with two CSVs", match="2 table files")
    add("zip_empty", _zip({}), "error", "zip without files", match="empty zip")
    add("zip_no_table", _zip({"README.md": b"# hello\n"}), "error", "zip without a table", match="0 table files")
    add("zip_corrupt", b"PK\x03\x04" + _garbage(500, 12), "error", "zip signature then junk", match="damaged|zip")
    add("zip_with_folder", _zip({"inner/": b"", "inner/data.csv": good_b, "__MACOSX/._data.csv": b"x"}), "ok",
        "zip with the CSV in a folder and macOS litter", **CLICK)

    # ---- delimiters and structure
    add("semicolon", _csv(base, sep=";"), "ok", "semicolon-separated", **CLICK, check="base_equal")
    add("tab_in_csv", _csv(base, sep="\t"), "ok", "tab-separated but named .csv", **CLICK, check="base_equal")
    add("pipe", _csv(base, sep="|"), "ok", "pipe-separated", **CLICK, check="base_equal")
    add("comma_space", _csv(base).replace(",", ", "), "ok", "comma + space (Census style)", **CLICK, check="base_equal")
    add("tsv_ext", _csv(base, sep="\t"), "ok", "a real .tsv", ext=".tsv", **CLICK, check="base_equal")
    add("txt_ext", good, "ok", "CSV named .txt", ext=".txt", **CLICK)
    add("no_extension", good, "ok", "CSV without an extension", ext="", **CLICK)
    add("colon_delimiter", _csv(base, sep=":"), "ok",
        "unsupported ':' delimiter: one wide text column, nothing to learn", task="click", prepare="error")
    lines = good.splitlines()
    mixed = "\n".join([lines[0]] + [l.replace(",", ";") if i % 3 == 0 else l for i, l in enumerate(lines[1:])]) + "\n"
    add("mixed_delimiters", mixed, "error", "some rows ';', most ','", match="row \\d+ .*semicolons")
    half = "\n".join([lines[0].replace(",", ";")] + lines[1:]) + "\n"
    add("header_other_delimiter", half, "error", "header ';', data ','", match="more values than its header")
    add("ragged_extra", "\n".join(lines[:10] + [lines[10] + ",extra,fields"] + lines[11:]) + "\n", "error",
        "one row with extra fields", match="line 11 .*9 values")
    add("ragged_short", "\n".join(lines[:10] + [",".join(lines[10].split(",")[:3])] + lines[11:]) + "\n", "ok",
        "one row with fewer fields (padded with missing)", **CLICK)
    add("ragged_everywhere", "\n".join(l + ",x" * (i % 4) for i, l in enumerate(lines)) + "\n", "error",
        "every line a different length", match="line \\d+")
    add("unterminated_quote", "\n".join(lines[:5] + ['"u999,i001,books,1,20,1,3.0'] + lines[6:]) + "\n", "error",
        "a quote that never closes", match="quote")
    add("quoted_delims_newlines",
        _csv(base.assign(category=[f'a,b "{i}"\nline2' for i in range(len(base))]), quoting=csv.QUOTE_ALL), "ok",
        "quoted cells holding commas, quotes and newlines", **CLICK)
    add("stray_quote_mid_field", good.replace("books", 'bo"oks', 3), "ok", "a quote inside an unquoted field", **CLICK)
    add("trailing_delimiter", "\n".join(l + "," for l in lines) + "\n", "error",
        "every line ends with a comma (unnamed last column)", match="without a name")
    add("crlf", good.replace("\n", "\r\n"), "ok", "Windows line endings", **CLICK, check="base_equal")
    add("cr_only", good.replace("\n", "\r"), "ok", "old Mac line endings", **CLICK, check="base_equal")
    add("blank_lines", "\n\n".join(lines) + "\n\n\n", "ok", "blank lines between rows", **CLICK, check="base_equal")
    add("leading_blank_lines", "\n\n\n" + good, "ok", "blank lines before the header", **CLICK)
    add("comment_lines", "# exported 2024-01-01\n# by a tool\n" + good, "error",
        "comment lines above the header", match="line \\d+|values")
    add("whitespace_padding", "\n".join(",".join(f"  {v}  " for v in l.split(",")) for l in lines) + "\n", "ok",
        "spaces around every value and name", **CLICK, check="base_equal")
    add("headerless_numbers", "\n".join(f"{i},{i * 2},{i % 2}" for i in range(1, 40)) + "\n", "ok",
        "no header: the first line (1,2,1) is detected as data, columns col_0..col_2", task="col_2", prepare="ok")

    # ---- encodings
    add("utf8_bom", b"\xef\xbb\xbf" + good_b, "ok", "UTF-8 with BOM", **CLICK, check="base_equal")
    add("utf16_le_bom", good.encode("utf-16"), "ok", "UTF-16 with BOM", **CLICK, check="base_equal")
    add("utf16_be_bom", b"\xfe\xff" + good.encode("utf-16-be"), "ok", "UTF-16 big-endian with BOM", **CLICK, check="base_equal")
    add("utf16_no_bom", good.encode("utf-16-le"), "error", "UTF-16 without BOM (NUL every other byte)", match="binary")
    add("utf32", good.encode("utf-32"), "error", "UTF-32", match="binary")
    accents = base.assign(category=base["category"].map({"books": "libros é", "garden": "jardín",
                                                          "toys": "jouets à", "food": "Müsli"}))
    add("latin1", _csv(accents).encode("latin-1"), "ok", "Latin-1 accents", **CLICK, check="latin")
    add("cp1252_quotes", _csv(base.assign(category="“smart” – quotes")).encode("cp1252"), "ok",
        "Windows-1252 smart quotes", **CLICK)
    cjk = base.assign(category=base["category"].map({"books": "图书", "garden": "花园", "toys": "玩具", "food": "食品"}))
    add("gbk", _csv(cjk).encode("gbk"), "ok", "GBK Chinese text", **CLICK, check="gbk")
    add("utf8_cjk_emoji", _csv(cjk.assign(item_id=cjk["item_id"] + "🛒")), "ok", "UTF-8 CJK and emoji", **CLICK)
    add("utf8_invalid_byte", good_b.replace(b"books", b"bo\xffks", 1), "ok",
        "one invalid UTF-8 byte (falls back to a single-byte encoding)", **CLICK)
    add("shift_jis", _csv(base.assign(category="本")).encode("shift_jis"), "ok", "Shift-JIS text", **CLICK)
    add("control_chars_few", good.replace("books", "bo\x07oks", 2), "ok", "a couple of control characters", **CLICK)
    add("control_chars_many", "".join(c + "\x01" for c in good[:3000]), "error",
        "text full of control characters", match="binary")

    # ---- column names
    add("duplicate_names", good.replace("price", "age", 1), "error", "two columns named age", match="duplicate")
    add("duplicate_names_spaces", good.replace("price", " age ", 1), "error", "'age' and ' age '", match="duplicate")
    add("duplicate_names_case", good.replace("price", "AGE", 1), "ok", "'age' and 'AGE' differ", **CLICK)
    add("empty_name", good.replace("category", "", 1), "error", "one empty column name", match="without a name")
    add("all_names_empty", ",,,,,,\n" + "\n".join(lines[1:]) + "\n", "error", "header of empty names",
        match="without a name")
    add("numeric_names", "1,2,3\n" + "\n".join(f"{i},{i % 3},{i % 2}" for i in range(30)) + "\n", "ok",
        "a first line of numbers is data (issue 11): columns col_0..col_2", task="col_2", prepare="ok")
    add("long_name", good.replace("category", "c" * 5000, 1), "ok", "a 5000-character column name", **CLICK)
    add("path_names", good.replace("category", "../../etc/passwd", 1).replace("price", "C:\\\\Windows\\\\x", 1),
        "ok", "column names that look like paths", **CLICK)
    add("formula_names", good.replace("category", "=cmd|' /C calc'!A0", 1), "ok",
        "a column name that is a spreadsheet formula", **CLICK)
    wide = pd.DataFrame(np.arange(3 * 10_000).reshape(3, 10_000) % 7, columns=[f"c{i}" for i in range(10_000)])
    add("cols_10000", _csv(wide), "error", "10,000 columns (limit 1,000)", match="10000 columns.*max_columns")
    add("cols_1001", _csv(wide.iloc[:, :1001]), "error", "one column over the limit", match="1001 columns")
    add("cols_1000", _csv(wide.iloc[:, :1000]), "ok", "exactly the column limit")

    # ---- cell sizes and limits
    add("cell_1m_chars", _csv(base.assign(category=["x" * 1_000_000] + ["y"] * (len(base) - 1))), "error",
        "one cell of a million characters", match="1,000,000 characters.*max_cell_chars")
    add("line_1m_no_newline", "a" * 1_000_001, "error", "one million characters, no newline", match="no data rows")
    add("cell_99k_chars", _csv(base.assign(category=["x" * 99_000] + ["y"] * (len(base) - 1))), "ok",
        "a 99,000-character cell (under the limit)", **CLICK)
    add("too_big_bytes", good * 4, "error", "larger than a 4 KiB configured limit",
        limits={"max_bytes": 4096}, match="KiB.*limit of 4.0 KiB.*max_bytes")
    add("too_big_gzip", gzip.compress(("a,b\n" + "1,2\n" * 20_000).encode(), mtime=0), "error",
        "small gzip that expands past a 4 KiB limit", limits={"max_bytes": 4096}, match="decompressed|max_bytes")
    add("too_many_rows", good, "error", "60 rows with a configured limit of 10", limits={"max_rows": 10},
        match="max_rows")
    add("too_many_cols_limit", good, "error", "7 columns with a configured limit of 5", limits={"max_columns": 5},
        match="max_columns")
    add("cell_limit_small", good, "error", "cells longer than a configured 3-character limit",
        limits={"max_cell_chars": 3}, match="max_cell_chars")
    many_cats = base.assign(user_id=[f"user{i}" for i in range(len(base))])
    add("too_many_categories", _csv(many_cats), "ok", "60 distinct users with max_categories 10",
        limits={"max_categories": 10}, task="click", prepare="error")

    # ---- numbers
    thousands = base.assign(price=[f"{v * 1000:,.2f}" for v in base["price"]])
    add("thousands_separators", _csv(thousands), "ok", "quoted 1,234.56 numbers", **CLICK, check="thousands")
    add("comma_decimals_semicolon", _csv(base.assign(price=[f"{v:.2f}".replace(".", ",") for v in base["price"]]), sep=";"),
        "ok", "1,5 decimals in a ;-separated file (kept as text)", **CLICK)
    infs = ["inf", "-inf", "Inf", "-Inf", "INF", "Infinity", "-Infinity", "+inf", "1e309", "-1e309"]
    add("inf_spellings", _csv(base.assign(price=[infs[i % len(infs)] if i % 3 == 0 else str(v)
                                                 for i, v in enumerate(base["price"])])), "ok",
        "infinity spelled ten ways in a numeric column", **CLICK, check="numeric_price")
    nans = ["NaN", "nan", "null", "NULL", "None", "N/A", "n/a", "#N/A", "?", ""]
    add("nan_spellings", _csv(base.assign(price=[nans[i % len(nans)] if i % 3 == 0 else str(v)
                                                 for i, v in enumerate(base["price"])])), "ok",
        "missing spelled ten ways in a numeric column", **CLICK, check="numeric_price")
    add("nan_odd_spellings", _csv(base.assign(price=["-nan", "NAN", "nil", "-", "--"][0:1] * len(base))), "ok",
        "'-nan' everywhere (text, not a number)", **CLICK)
    add("na_literal_kept", _csv(base.assign(category=["NA"] * 10 + list(base["category"][10:]))), "ok",
        "the literal NA stays a category (Census)", **CLICK, check="na_kept")
    add("currency_percent", _csv(base.assign(price=[f"${v}" for v in base["price"]],
                                             age=[f"{a}%" for a in base["age"]])), "ok",
        "$ and % signs (kept as text categories)", **CLICK)
    add("scientific", _csv(base.assign(price=[f"{v:.3e}" for v in base["price"]])), "ok", "1.234e+02 numbers",
        **CLICK, check="numeric_price")
    add("huge_ints", _csv(base.assign(age=[str(10**30 + i) for i in range(len(base))])), "ok",
        "integers beyond int64", **CLICK)
    add("huge_floats", _csv(base.assign(price=[1e300 * (1 if i % 2 else -1) for i in range(len(base))])), "ok",
        "floats near the double limit", **CLICK)
    add("signed_zero_plus", _csv(base.assign(price=["-0", "+1.5", "+0", "-0.0"] * 15)), "ok",
        "signed zeros and leading +", **CLICK)
    add("mixed_types_column", _csv(base.assign(price=[v if i % 2 else "abc" for i, v in enumerate(base["price"])])),
        "ok", "a column half numbers half words", **CLICK)
    add("constant_column", _csv(base.assign(age=7)), "ok", "a constant numeric feature", **CLICK)
    add("all_missing_feature", _csv(base.assign(age=np.nan)), "ok", "a feature that is all missing", **CLICK)

    # ---- labels and tasks
    add("label_one_class", _csv(base.assign(click=1)), "ok", "label with a single class",
        task="click", prepare="error")
    add("label_all_missing", _csv(base.assign(click=np.nan)), "ok", "label all missing", task="click", prepare="error")
    add("label_partly_missing", _csv(base.assign(click=[np.nan if i % 4 == 0 else v for i, v in enumerate(base["click"])])),
        "ok", "a quarter of the labels missing", **CLICK)
    add("label_yes_no", _csv(base.assign(click=base["click"].map({0: "no", 1: "yes"}))), "ok", "yes/no label", **CLICK)
    add("label_true_false", _csv(base.assign(click=base["click"].map({0: "False", 1: "True"}))), "ok",
        "True/False label", **CLICK)
    add("label_three_values_binary", _csv(base.assign(click=[i % 3 for i in range(len(base))])), "ok",
        "three values with :binary and no positive", task="click:binary", prepare="error")
    add("label_positive_missing", good, "ok", "positive value not in the column", task="click=7", prepare="error")
    add("label_multiclass_text", good, "ok", "a text multiclass label", task="category", prepare="ok")
    add("regression_on_text", good, "ok", "regression on a text column", task="category:regression", prepare="error")
    add("regression_label_inf", _csv(base.assign(rating=[np.inf if i % 5 == 0 else v for i, v in enumerate(base["rating"])])),
        "ok", "regression label with infinities", task="rating:regression", prepare="ok")
    add("task_is_feature", good, "ok", "the task column also given a feature role", task="click", prepare="error",
        data={"roles": {"click": "numeric"}})
    add("task_unknown_column", good, "ok", "a task naming no column", task="clicks", prepare="error")
    add("id_unique_per_row", _csv(base.assign(user_id=[f"u{i}" for i in range(len(base))])), "ok",
        "a user id with one value per row", **CLICK)
    add("all_rows_identical", _csv(pd.concat([base.head(1)] * 40).assign(click=[0, 1] * 20)), "ok",
        "every feature identical across rows", **CLICK)

    # ---- timestamps
    days = pd.date_range("2024-01-01 08:00", periods=len(base), freq="D")
    fmts = ["%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "%Y-%m-%dT%H:%M:%SZ", "%d %b %Y %H:%M", "%Y-%m-%d"]
    stamps = [d.strftime(fmts[i % len(fmts)]) for i, d in enumerate(days)]
    add("timestamps_mixed", _csv(base.assign(timestamp=stamps)), "ok",
        "five timestamp formats in one column, temporal split", task="click", prepare="ok",
        data={"time_col": "timestamp"}, split={"method": "temporal"})
    add("timestamps_unreadable", _csv(base.assign(timestamp=["yesterday" if i % 7 == 0 else "2024-03-01" for i in range(len(base))])),
        "ok", "some timestamps are words, temporal split", task="click", prepare="error",
        data={"time_col": "timestamp"}, split={"method": "temporal"})
    add("timestamps_tz_mixed", _csv(base.assign(timestamp=[f"2024-03-{1 + i % 27:02d}T10:00:00{['+02:00', 'Z', '-05:00'][i % 3]}"
                                                           for i in range(len(base))])), "ok",
        "timestamps with different UTC offsets", task="click", prepare="ok",
        data={"time_col": "timestamp"}, split={"method": "temporal"})
    add("timestamps_epoch", _csv(base.assign(timestamp=[1_700_000_000 + 3600 * i for i in range(len(base))])), "ok",
        "epoch seconds, temporal split", task="click", prepare="ok",
        data={"time_col": "timestamp"}, split={"method": "temporal"})
    add("user_split_one_user", _csv(base.assign(user_id="u1")), "ok", "user split with a single user",
        task="click", prepare="error", data={"user_col": "user_id"}, split={"method": "user"})

    # ---- Parquet
    import pyarrow as pa

    add("parquet_ok", _parquet(base), "ok", "a plain Parquet file", ext=".parquet", **CLICK, check="base_equal")
    add("parquet_named_csv", _parquet(base), "ok", "Parquet named .csv (found by PAR1)", **CLICK, check="base_equal")
    add("parquet_list", _parquet(table=pa.table({"a": [[1, 2], [3]], "click": [0, 1]})), "error",
        "a list column", ext=".parquet", match="nested")
    add("parquet_struct", _parquet(table=pa.table({"a": [{"x": 1}, {"x": 2}], "click": [0, 1]})), "error",
        "a struct column", ext=".parquet", match="nested")
    add("parquet_map", _parquet(table=pa.table({"m": pa.array([[("k", 1)], [("j", 2)]], pa.map_(pa.string(), pa.int64())),
                                                "click": [0, 1]})), "error", "a map column", ext=".parquet",
        match="nested")
    add("parquet_truncated", _parquet(base)[:200], "error", "Parquet cut short", ext=".parquet", match="damaged")
    add("parquet_magic_only", b"PAR1" + _garbage(100, 13) + b"PAR1", "error", "PAR1 then junk", ext=".parquet",
        match="damaged")
    add("parquet_zero_rows", _parquet(base.head(0)), "error", "Parquet with no rows", ext=".parquet", match="no data rows")
    add("csv_named_parquet", good, "error", "a CSV named .parquet", ext=".parquet", match="PAR1")
    add("parquet_duplicate_names", _parquet(table=pa.table([[1, 2], [3, 4]], names=["a", "a"])), "error",
        "two columns named a", ext=".parquet", match="duplicate")
    add("parquet_categorical_tz", _parquet(base.assign(category=base["category"].astype("category"),
                                                       ts=pd.date_range("2024-01-01", periods=len(base), freq="h", tz="UTC"))),
        "ok", "dictionary and tz-aware columns", ext=".parquet", **CLICK)
    add("parquet_binary_decimal", _parquet(table=pa.table({
        "b": pa.array([b"\x00\x01", b"\xff"] * 30, pa.binary()),
        "dec": pa.array([__import__("decimal").Decimal("1.25"), __import__("decimal").Decimal("2.50")] * 30, pa.decimal128(10, 2)),
        "click": [0, 1] * 30})), "ok", "binary and decimal columns", ext=".parquet", task="click", prepare="ok")
    add("parquet_nullable_ints", _parquet(base.assign(age=pd.array([None, *base["age"][1:]], dtype="Int64"))), "ok",
        "nullable integer column", ext=".parquet", **CLICK)

    # ---- hostile content
    add("formula_cells", _csv(base.assign(category=["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "=HYPERLINK(\"http://x\")"] * 10)),
        "ok", "spreadsheet formulas in cells", **CLICK)
    add("html_script_cells", _csv(base.assign(category=["<script>alert(1)</script>", "<img src=x onerror=1>"] * 30)),
        "ok", "HTML/JS in cells", **CLICK)
    add("path_cells", _csv(base.assign(item_id=["../../etc/passwd", "C:\\Windows\\win.ini", "/dev/zero"] * 20)), "ok",
        "paths as item ids", **CLICK)
    add("very_long_row_count_small_cols", "click\n" + "0\n1\n" * 5000, "ok", "10,000 rows of a single label column",
        task="click", prepare="error")
    add("deep_quotes", '"' * 10_001 + "\n", "error", "ten thousand quote characters", match="quote|no data rows|cannot")
    add("only_delimiters", ",,,\n,,,\n,,,\n", "error", "lines of only commas", match="without a name")
    add("bidi_override", _csv(base.assign(category="\u202eevil\u202c")), "ok", "right-to-left override characters", **CLICK)
    add("zero_width_names", good.replace("category", "cat\u200begory", 1), "ok", "zero-width space in a name", **CLICK)

    for seed in range(1, 4):  # variations: other seeds/sizes of the base table
        add(f"variant_seed{seed}", _csv(base_frame(rows=40 + 10 * seed, seed=seed)), "ok", f"base table, seed {seed}", **CLICK)
    return cases


# --------------------------------------------------------------------------- command-line cases
@dataclass
class CliCase:
    """One command line of the message table in docs/ROBUSTNESS.md: ``argv`` (``{run}`` and
    ``{user}`` stand for a copy of a trained run damaged by ``damage_run(run, damage)`` and
    one of its users), the exit status, a regular expression for the ``error:`` line and the
    table row it belongs to."""

    name: str
    argv: list[str]
    code: int
    match: str | None
    row: str  # the case's row in the message table of docs/ROBUSTNESS.md (its first cell)
    damage: str | None = None


TRAIN_ARGS = ["train", "--epochs", "1", "--quiet", "--hidden", "8", "--tower-hidden", "4", "--embed-dim", "4"]
#: a run's files and how each damage case spoils one of them (``damage_run``)
RUN_DAMAGE = {"config_not_json": "config.json", "catalog_not_parquet": "catalog.parquet",
              "meta_missing": "model_meta.json", "meta_extra_key": "model_meta.json",
              "meta_huge_sizes": "model_meta.json", "meta_wrong_types": "model_meta.json",
              "model_pt_crafted": "model.pt"}
RUN_ROWS = {"config_not_json": "run's config.json not JSON", "catalog_not_parquet": "run's catalog.parquet not Parquet",
            "meta_missing": "run's model_meta.json missing", "meta_extra_key": "model_meta.json with an extra key",
            "meta_huge_sizes": "model_meta.json with huge sizes (checked before allocating)",
            "meta_wrong_types": "model_meta.json with wrong types", "model_pt_crafted": "crafted / damaged model.pt"}
RESUME_ROWS = {"no_settings": "`train --resume` on an interrupted run stopped before its settings were saved",
               "no_checkpoint": "`train --resume` on an interrupted run with no completed epoch",
               "checkpoint_garbage": "interrupted run's checkpoint.pt damaged",
               "resume_not_json": "interrupted run's resume.json damaged"}
DEAD_PID = 2 ** 22 + 7  # no process has it: the process that trained the run is gone


def _interrupted(root: Path, name: str, resume: str | None, checkpoint: bytes | None) -> Path:
    """An interrupted run's temporary folder as a killed process leaves it."""
    import json

    folder = root / f".tmp-{name}"
    folder.mkdir(parents=True)
    (folder / "status.json").write_text(json.dumps({"status": "running", "pid": DEAD_PID, "epoch": 1, "epochs": 5}))
    if resume is not None:
        (folder / "resume.json").write_text(resume)
    if checkpoint is not None:
        (folder / "checkpoint.pt").write_bytes(checkpoint)
    return folder


def build_cli_cases(directory: str | Path) -> list[CliCase]:
    """Write the files the command-line cases need under ``directory`` and return the cases."""
    import json
    import os
    import socket

    from mtl_core.config import RunConfig
    from mtl_core.data.synth import make_synthetic

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    df = make_synthetic(rows=600, seed=1)
    df.to_csv(d / "d.csv", index=False)
    weird = df.assign(**{"a.b": df["click"], "a=b": df["purchase"], "y": df["rating"].fillna(1.0)})
    weird.loc[0, "y"] = 1e308
    weird.to_csv(d / "weird.csv", index=False)
    few = df.head(40).copy()
    few["m"] = None
    few.loc[:5, "m"] = ["a", "b", "c"] * 2  # 6 labelled rows: the test split gets none
    few.to_csv(d / "few.csv", index=False)
    (d / "afile").write_text("x")
    os.mkfifo(d / "pipe")
    with socket.socket(socket.AF_UNIX) as sock:  # the socket file stays after closing
        sock.bind(str(d / "sock"))
    ro = d / "readonly"
    ro.mkdir()
    ro.chmod(0o500)
    unwritable = "/proc/mtl-lab-runs" if os.geteuid() == 0 else str(ro / "runs")  # root writes anywhere but /proc
    runs = d / "runs"
    good_resume = json.dumps({"config": RunConfig().to_dict(), "data": None, "fingerprint": "0" * 64})
    folders = {
        "no_settings": _interrupted(runs, "no-settings", None, None),
        "no_checkpoint": _interrupted(runs, "no-checkpoint", good_resume, None),
        "checkpoint_garbage": _interrupted(runs, "garbage", good_resume, bytes(range(256)) * 4),
        "resume_not_json": _interrupted(runs, "bad-resume", "{ not json", b"x"),
    }

    def train(*args, out=d / "out") -> list[str]:
        return [*TRAIN_ARGS, *map(str, args), "--out", str(out)]

    data, csv_weird = ["--data", str(d / "d.csv")], ["--data", str(d / "weird.csv")]
    cases = [
        CliCase("out_is_a_file", train(*data, "--task", "click", out=d / "afile"), 2,
                r"The runs folder '.*afile' is a file, not a folder; choose another folder with --out", "`--out` is an existing file"),
        CliCase("out_under_a_file", train(*data, "--task", "click", out=d / "afile" / "sub"), 2,
                r"The runs folder '.*afile/sub' lies under a file; choose another folder with --out", "`--out` lies under a file"),
        CliCase("out_not_writable", train(*data, "--task", "click", out=unwritable), 2,
                r"The runs folder '.*' cannot be written \(.+\); choose another folder", "`--out` not writable"),
        CliCase("seed_2_70", train(*data, "--task", "click", "--seed", 2 ** 70), 2,
                r"split\.seed must be <= 4294967295; got 1180591620717411303424", "`--seed 2**70`"),
        CliCase("task_with_a_dot", train(*csv_weird, "--task", "a.b"), 2,
                r"Task name 'a\.b' contains '\.'.*rename the column", "task column whose name contains `.`"),
        CliCase("task_unclosed_quote", train(*csv_weird, "--task", '"ab'), 2,
                r"""Task '"ab' opens a quoted column name but does not close it""", "unclosed quote in a task"),
        CliCase("quoted_task_with_equals", train(*csv_weird, "--task", '"a=b":binary'), 0, None,
                "task column whose name contains `:` or `=`"),
        *[CliCase(f"{flag}_names_a_label", train(*data, "--task", "click", f"--{flag}", "click"), 2,
                  rf"--{flag} \(data\.{flag.replace('-', '_')}\) names 'click', which is also a task label",
                  "`--user-col` naming a label column (also item/time/session)") for flag in ("user-col", "item-col", "time-col")],
        CliCase("multiclass_no_test_labels", train("--data", d / "few.csv", "--task", "m:multiclass"), 2,
                r"The test split has no labelled rows for task\(s\) 'm', so the model cannot be scored",
                "multiclass (or any) task with no labelled test rows"),
        CliCase("regression_1e308", train(*csv_weird, "--task", "y:regression"), 2,
                r"Regression task 'y' has values as large as 1e\+308, too large to learn from.*rescale",
                "regression target containing 1e308"),
        *[CliCase(f"data_{name}", ["inspect", "--data", path], 2,
                  r"is not a regular file \(a device, pipe or socket\); save the table to a file", "`--data /dev/zero`, a FIFO, a socket")
          for name, path in (("dev_zero", "/dev/zero"), ("fifo", str(d / "pipe")), ("socket", str(d / "sock")))],
        *[CliCase(f"run_{damage}", ["recommend", "--run", "{run}", "--user", "{user}"], 2,
                  {"config_not_json": r"The file config\.json of run '.*' is not valid JSON",
                   "catalog_not_parquet": r"The file catalog\.parquet of run '.*' is not a Parquet table",
                   "meta_missing": r"The file model_meta\.json of run '.*' is missing",
                   "meta_extra_key": r"model_meta\.json of run '.*' has unknown model settings \(surprise\)",
                   "meta_huge_sizes": r"asks for [\d,]+ embedding parameters, more than limits\.max_model_params",
                   "meta_wrong_types": r"has a damaged features\.cat_cardinalities",
                   "model_pt_crafted": r"The model file of run '.*' is not a plain set of weights"}[damage],
                  RUN_ROWS[damage], damage=damage)
          for damage in RUN_DAMAGE],
        *[CliCase(f"resume_{name}", ["train", "--resume", str(folder), "--quiet"], 2,
                  rf"The interrupted run '{folder.name[5:]}' cannot be resumed: {why}; delete it",
                  RESUME_ROWS[name])
          for (name, folder), why in zip(folders.items(), (
              "it was stopped before its settings were saved", "no epoch was completed",
              r"its checkpoint\.pt is damaged \(or was not written by MTL Lab\)", r"its resume\.json is damaged"))],
    ]
    return cases


class _Payload:
    """A pickle that would run code when unpickled (``weights_only=True`` refuses it)."""

    def __reduce__(self):
        return (Path.touch, (Path("/tmp/mtl-lab-corpus-pwned"),))


def damage_run(run: Path, damage: str) -> None:
    """Spoil one file of the run folder ``run`` as the case ``damage`` says."""
    import json

    target = run / RUN_DAMAGE[damage]
    if damage == "meta_missing":
        target.unlink()
    elif damage == "model_pt_crafted":
        import torch

        torch.save({"w": _Payload()}, target)
    elif damage.startswith("meta_"):
        meta = json.loads(target.read_text())
        names = meta["features"]["cat_names"]
        if damage == "meta_extra_key":
            meta["model_config"]["surprise"] = 1
        elif damage == "meta_huge_sizes":
            meta["features"]["cat_cardinalities"] = [10 ** 12] * len(names)
        else:
            meta["features"]["cat_cardinalities"] = ["many"] * len(names)
        target.write_text(json.dumps(meta))
    else:
        target.write_text("{ not what it should be")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "corpus")
    cases = build_corpus(out)
    n_ok = sum(c.expect == "ok" for c in cases)
    print(f"wrote {len(cases)} files to {out} ({n_ok} readable, {len(cases) - n_ok} to be refused)")
    for c in cases:
        print(f"{c.expect:5} {c.path.name:45} {c.note}")
    cli = build_cli_cases(out / "cli")
    print(f"{len(cli)} command-line cases ({sum(c.code == 2 for c in cli)} errors) with their files in {out / 'cli'}")
    for c in cli:
        print(f"exit {c.code} {c.name:32} {c.row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
