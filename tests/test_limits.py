"""Default limits sized for the machine's available memory, overridden by the operator's
MTL_LAB_LIMIT_* variables, and shown with their origin on the Data page."""
from __future__ import annotations

import pytest

from mtl_core.config import Limits
from mtl_core.data import limits as lim_mod
from mtl_core.errors import DataError

GiB = 2**30


def _fake_machine(monkeypatch, available):
    monkeypatch.setattr(lim_mod, "_measured", lambda: (available, tuple(lim_mod.sized_for(available).items())))


def test_available_memory_from_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       25000000 kB\nMemFree:         1000000 kB\nMemAvailable:   24536678 kB\n")
    assert lim_mod.available_memory(str(meminfo)) == 24536678 * 1024
    meminfo.write_text("garbage\n")  # no MemAvailable line: the system's page count, or unknown
    fallback = lim_mod.available_memory(str(meminfo))
    assert fallback is None or fallback > 0


def test_sized_for_fits_the_peak_in_half_the_memory():
    sized = lim_mod.sized_for(16 * GiB)
    assert sized["max_bytes"] * lim_mod.PEAK_PER_CSV_BYTE <= 8 * GiB < (sized["max_bytes"] + 1) * lim_mod.PEAK_PER_CSV_BYTE
    assert sized["max_rows"] == 10_737_000  # 8 GiB / 800 bytes per row, in thousands
    assert lim_mod.sized_for(None) == {} and lim_mod.sized_for(0) == {}
    assert lim_mod.sized_for(100 * 2**20) == lim_mod.FLOOR  # a tiny machine still reads a sample


def test_from_env_uses_sized_defaults_and_variables_win(monkeypatch):
    _fake_machine(monkeypatch, 23.4 * GiB)
    lim = Limits.from_env({})
    assert lim.max_rows == lim_mod.sized_for(23.4 * GiB)["max_rows"] > Limits().max_rows
    assert lim.max_bytes == lim_mod.sized_for(23.4 * GiB)["max_bytes"] > Limits().max_bytes
    lim = Limits.from_env({"MTL_LAB_LIMIT_MAX_ROWS": "1000"})
    assert lim.max_rows == 1000 and lim.max_bytes > Limits().max_bytes
    _fake_machine(monkeypatch, None)
    assert Limits.from_env({}) == Limits()  # memory unknown: today's fixed defaults


def test_sized_limit_refuses_a_table_too_large_for_the_machine(monkeypatch, tmp_path):
    from mtl_core.data.io import read_table

    monkeypatch.setattr(lim_mod, "FLOOR", {"max_bytes": 1, "max_rows": 1})
    _fake_machine(monkeypatch, 1000 * 800 * 2)  # room for 1,000 rows
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(1500)))
    with pytest.raises(DataError, match="more than 1,000 rows"):
        read_table(path)


def test_describe_says_where_each_limit_came_from(monkeypatch):
    _fake_machine(monkeypatch, 23.4 * GiB)
    text = lim_mod.describe(Limits.from_env({}), {}, what="Files")
    assert text.startswith("Files: ") and text.count("from 23.4 GiB available memory") == 2
    text = lim_mod.describe(Limits.from_env({"MTL_LAB_LIMIT_MAX_BYTES": "1048576"}), {"MTL_LAB_LIMIT_MAX_BYTES": "1048576"})
    assert "1 MiB (set by MTL_LAB_LIMIT_MAX_BYTES)" in text and "rows (from 23.4 GiB available memory)" in text
    _fake_machine(monkeypatch, None)
    assert "fixed default: available memory unknown" in lim_mod.describe(Limits.from_env({}), {})


def test_data_page_shows_the_limits_and_their_origin(monkeypatch, runs_root):
    from apptest_support import open_page

    _fake_machine(monkeypatch, 23.4 * GiB)
    at = open_page("pages/data.py")
    note = next(c.value for c in at.caption if "Files read from disk" in c.value)
    plain = note.replace("\\", "")
    rows = lim_mod.sized_for(23.4 * GiB)["max_rows"]
    assert f"Files read from disk: {rows:,} rows (from 23.4 GiB available memory)" in plain
    assert "Uploads: 2,000,000 rows (upload cap)" in plain and "MTL_LAB_LIMIT_MAX_ROWS" in plain
