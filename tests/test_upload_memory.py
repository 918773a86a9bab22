"""Memory: a browser upload is bounded by its decompressed size and its row count before a
DataFrame is built, and a session's memory is released when Streamlit drops the session."""
from __future__ import annotations

import gc
import gzip
import time

import pandas as pd
import pytest

from mtl_core.app import memory
from mtl_core.app.state import UPLOAD_MAX_ROWS, upload_limits
from mtl_core.data.io import read_table
from mtl_core.errors import DataError

LINE = b"u00001,i00002,2024-01-01 10:00:00,31,F,books,12.5,1,0\n"
HEADER = b"user_id,item_id,timestamp,age,gender,category,price,click,purchase\n"


def test_upload_limits_follow_the_upload_size_unless_the_operator_sets_them():
    lim = upload_limits(200, environ={})
    assert lim.max_bytes == 200 * 2**20 and lim.max_rows == UPLOAD_MAX_ROWS
    lim = upload_limits(200, environ={"MTL_LAB_LIMIT_MAX_BYTES": str(2**30), "MTL_LAB_LIMIT_MAX_ROWS": "9"})
    assert lim.max_bytes == 2**30 and lim.max_rows == 9


def test_small_gzip_expanding_past_the_upload_size_is_refused(monkeypatch):
    blob = gzip.compress(HEADER + LINE * 40_000, compresslevel=9)  # 2.2 MB of text
    assert len(blob) < 40_000
    built = []
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: built.append(1))
    with pytest.raises(DataError, match=r"expands to more than 1\.0 MiB when decompressed"):
        read_table(blob, filename="bomb.csv.gz", limits=upload_limits(1, environ={}))
    assert not built  # refused before any parsing


def test_too_many_lines_are_refused_before_a_dataframe_is_built(monkeypatch):
    built = []
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: built.append(1))
    lim = upload_limits(200, environ={"MTL_LAB_LIMIT_MAX_ROWS": "1000"})
    with pytest.raises(DataError, match=r"more than 1,000 rows.*max_rows"):
        read_table(HEADER + LINE * 1001, filename="long.csv", limits=lim)
    assert not built


def test_the_row_limit_counts_rows_not_lines():
    lim = upload_limits(200, environ={"MTL_LAB_LIMIT_MAX_ROWS": "5"})
    df = read_table(b'a,b\n1,"x\ny\nz"\n2,w\n3,v\n', filename="q.csv", limits=lim)  # 6 lines, 3 rows
    assert len(df) == 3


def test_session_end_releases_memory(monkeypatch):
    real = memory.release_memory
    calls = []
    monkeypatch.setattr(memory, "release_memory", lambda: calls.append(1))
    holder = {"_memory": memory.SessionMemory(delay_s=0.05)}
    holder.clear()  # Streamlit drops the session's state
    gc.collect()
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert calls == [1]
    real()  # the real one runs on this platform without error
