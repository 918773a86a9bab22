"""The multi-threaded columnar fast path of :func:`mtl_core.data.io.read_table`: pyarrow's CSV
reader on a plain UTF-8 file whose delimiter, header and column names were already sniffed.

It parses straight from a path or an in-memory buffer (no whole-file copy), in parallel blocks.
It returns the raw table as pandas would have parsed it, or ``None`` whenever the file needs
the careful path (ragged rows, broken quotes, invalid UTF-8, ...): the caller then reads it
with pandas as before. Columns whose values pyarrow types differently from pandas (dates,
times, all-missing, booleans with gaps, integer-valued or huge floats) are read again as text
so that the caller's cleaning turns them into exactly what the pandas path gives.
"""
from __future__ import annotations

from typing import Any, Callable

import pandas as pd

_TRUE = ["True", "TRUE", "true"]  # the booleans pandas' C parser recognises
_FALSE = ["False", "FALSE", "false"]
_EXACT = 2 ** 53  # a float64 beyond this may be a rounded 64-bit (or longer) integer id
_BLOCK = 4 << 20


def _options(sep: str, names: list[str], skip: int, null_values: list[str], quoted: bool,
             types: dict[str, Any] | None = None, include: list[str] | None = None) -> dict[str, Any]:
    import pyarrow.csv as pc

    return dict(
        read_options=pc.ReadOptions(column_names=names, skip_rows=skip, use_threads=True, block_size=_BLOCK),
        parse_options=pc.ParseOptions(delimiter=sep, quote_char='"', double_quote=True, escape_char=False,
                                      newlines_in_values=quoted, ignore_empty_lines=True),
        convert_options=pc.ConvertOptions(null_values=null_values, strings_can_be_null=True,
                                          quoted_strings_can_be_null=True, true_values=_TRUE, false_values=_FALSE,
                                          column_types=types or {}, include_columns=include or []),
    )


def _plan(col) -> str:
    """``"keep"`` when pyarrow's type for ``col`` converts to the dtype and values pandas' parser
    gives, ``"text"`` when the column must be read again as text (the caller's cleaning then
    types it as pandas would), ``"careful"`` when only the pandas path reads it the same."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_int64(t) or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return "keep"
    if pa.types.is_boolean(t):  # pandas keeps booleans with gaps as Python objects
        return "keep" if col.null_count == 0 else "careful"
    if not pa.types.is_float64(t) or len(col) == col.null_count:
        return "text"
    biggest = pc.max(pc.abs(col)).as_py()
    if biggest is not None and biggest >= _EXACT:
        # pandas keeps such integers exact: uint64 below 2**64, Python objects beyond
        return "careful" if biggest >= 2.0 ** 64 else "text"
    # integer-valued floats without gaps: pandas may read them as integers ("+5"): check the text
    return "keep" if col.null_count > 0 or not pc.all(pc.equal(pc.floor(col), col)).as_py() else "text"


def _space_before_quote(table) -> bool:
    """Whether a text value starts with spaces and a quote: pandas (skipping the spaces) reads
    it as a quoted value, pyarrow as text with quotes, so the careful path must read it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for f, col in zip(table.schema, table.columns):
        if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)) and col.null_count < len(col):
            if pc.any(pc.match_substring_regex(col, r'^[ \t]+"')).as_py():
                return True
    return False


def _pool():
    """jemalloc giving freed memory back at once, for the reader alone (the peak of a large file
    is the table plus the frame it becomes; the default pool keeps what the table frees); the
    default pool where pyarrow was built without jemalloc."""
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
        return pool
    except (NotImplementedError, pa.ArrowException):
        return pa.default_memory_pool()


def _head_types(head: bytes, sep: str, names: list[str], skip: int, null_values: list[str], quoted: bool) -> dict:
    """Column types pyarrow infers from ``head`` (the file's first bytes, cut after its last
    whole line): numbers, booleans and text as inferred, dates and times as text (pandas
    keeps them as text); columns empty so far are left to inference."""
    import pyarrow as pa
    import pyarrow.csv as pc

    cut = head[: head.rfind(b"\n") + 1] or head
    try:
        table = pc.read_csv(pa.BufferReader(cut), **_options(sep, names, skip, null_values, quoted))
        del cut
    except (pa.ArrowException, ValueError):
        return {}
    plain = (pa.types.is_int64, pa.types.is_float64, pa.types.is_boolean, pa.types.is_string)
    return {f.name: (f.type if any(ok(f.type) for ok in plain) else pa.string())
            for f in table.schema if not pa.types.is_null(f.type)}


def parse(open_source: Callable[[], Any], head: bytes, sep: str, names: list[str], skip: int, null_values: list[str],
          quoted: bool) -> pd.DataFrame | None:
    """The table behind ``open_source()`` (a path or a pyarrow input, opened afresh per pass;
    ``head`` its first bytes) as a DataFrame with pandas' dtypes, or ``None`` when pyarrow
    cannot read it as laid out."""
    import pyarrow as pa
    import pyarrow.csv as pc

    types = _head_types(head, sep, names, skip, null_values, quoted)
    pool = _pool()
    try:
        try:  # typed from the first rows: less memory and time than inferring block by block
            table = pc.read_csv(open_source(), **_options(sep, names, skip, null_values, quoted, types=types), memory_pool=pool)
        except pa.ArrowInvalid:  # a later value does not fit the first rows' type: infer
            text = {c: t for c, t in types.items() if pa.types.is_string(t)}
            table = pc.read_csv(open_source(), **_options(sep, names, skip, null_values, quoted, types=text), memory_pool=pool)
        plans = {f.name: _plan(col) for f, col in zip(table.schema, table.columns)}
        if "careful" in plans.values():
            return None
        redo = [c for c, plan in plans.items() if plan == "text"]
        if redo:  # once more, as text, only the columns pyarrow typed differently from pandas
            text = pc.read_csv(open_source(), **_options(sep, names, skip, null_values, quoted,
                                                         types={c: pa.string() for c in redo}, include=redo), memory_pool=pool)
            for c in redo:
                table = table.set_column(table.schema.get_field_index(c), c, text.column(c))
            del text
    except (pa.ArrowException, OSError, ValueError, MemoryError):
        return None
    if _space_before_quote(table):
        return None
    for i, f in enumerate(table.schema):
        if pa.types.is_null(f.type):  # pandas reads an all-missing column as float NaN
            table = table.set_column(i, f.name, pa.nulls(table.num_rows, pa.float64()))
    return table.to_pandas(split_blocks=True, self_destruct=True, memory_pool=pool)
