"""The multi-threaded pyarrow fast path of ``read_table`` gives exactly the table the careful
pandas path gives, takes plain files itself (from a path and from uploaded bytes), and hands
every odd file to the careful path."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.config import Limits, ReadOptions
from mtl_core.data import io as io_mod
from mtl_core.data.io import read_table
from mtl_core.errors import DataError


def _careful(data: bytes, name: str = "t.csv", options: ReadOptions | None = None) -> pd.DataFrame:
    return io_mod._read_text(data, name, "tsv" if name.endswith(".tsv") else "csv", options or ReadOptions(), Limits())


def _rows(n: int, make) -> str:
    return "".join(make(i) for i in range(n))


PLAIN = {
    "ints_floats_text": "id,x,y,city\n" + _rows(300, lambda i: f"{i},{i * 0.5:.3f},{-i},c{i % 7}\n"),
    "missing_markers": "a,b,c\n" + _rows(60, lambda i: f"{i},{'?' if i % 5 == 0 else i},{'NA' if i % 3 else 'x'}\n")
    + "1,,null\n2,N/A,#N/A\n",
    "spaces_in_some_values": "a,b,c\n" + _rows(60, lambda i: f"{i}, {'?' if i % 7 == 0 else 'Private'},{'NA' if i % 2 else 'x'}\n"),
    "headerless": _rows(50, lambda i: f"{i},{i * 2},{i % 3}.5\n"),
    "semicolons": "a;b;c\n" + _rows(40, lambda i: f"{i};x{i};{i / 4}\n"),
    "quoted_commas": 'name,note,n\n' + _rows(40, lambda i: f'n{i},"a, b {i}",{i}\n'),
    "booleans": "flag,n\n" + _rows(30, lambda i: f"{'True' if i % 2 else 'false'},{i}\n"),
    "all_missing_column": "a,b,c\n" + _rows(30, lambda i: f"{i},,x\n"),
    "ints_with_gaps": "a,b\n" + _rows(30, lambda i: f"{'' if i % 4 == 0 else i},{i}\n"),
    "crlf_and_blank_lines": "a,b\r\n1,x\r\n\r\n2,y\r\n3,z\r\n",
    "thousands": 'amount,n\n' + _rows(30, lambda i: f'"{i},{i:03d}",{i}\n'),
    "tabs.tsv": "a\tb\n" + _rows(30, lambda i: f"{i}\tv{i} \n"),
}

ODD = {
    "census_like": "age, work, hisp, income\n" + _rows(80, lambda i: f"{20 + i}, {' ?' if i % 9 == 0 else ' Private'}, "
                                                        f"{'NA' if i % 4 == 0 else 'All other'}, {'50000+.' if i % 10 == 0 else '- 50000.'}\n"),
    "dates_and_times": "day,at,n\n" + _rows(30, lambda i: f"2024-01-{i % 28 + 1:02d},10:{i % 60:02d},{i}\n"),
    "bool_with_gaps": "flag,n\n" + _rows(30, lambda i: f"{'' if i % 3 == 0 else 'True'},{i}\n"),
    "big_ids": "id,n\n" + _rows(20, lambda i: f"{18446744073709551000 + i},{i}\n"),
    "huge_ids": "id,n\n" + _rows(20, lambda i: f"{10 ** 25 + i},{i}\n"),
    "plus_signs": "a,b\n" + _rows(20, lambda i: f"+{i},{i}.0\n"),
    "space_before_quote": 'a,b,c\n' + _rows(20, lambda i: f'{i}, "x, {i}",y\n'),
    "short_rows": "a,b,c\n1,2,3\n4,5\n6,7,8\n",
    "latin1": "name,n\n" + _rows(20, lambda i: f"Z\xfcrich{i},{i}\n"),
    "text_late_in_numbers": "a,b\n" + _rows(3000, lambda i: f"{i},{i}\n") + "oops,1\n",
    "newline_in_quotes": 'a,b\n1,"two\nlines"\n2,x\n',
}


def _encoded(text: str, name: str) -> bytes:
    return text.encode("latin-1" if name == "latin1" else "utf-8")


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_files_take_the_fast_path_and_match_the_careful_one(name, tmp_path, monkeypatch):
    data = _encoded(PLAIN[name], name)
    expected = _careful(data, name)
    path = tmp_path / (name if "." in name else name + ".csv")
    path.write_bytes(data)

    def refuse(*a, **k):
        raise AssertionError("the careful path was used for a plain file")

    monkeypatch.setattr(io_mod, "_read_text", refuse)
    for source in (path, data):
        got = read_table(source, filename=path.name)
        pd.testing.assert_frame_equal(got, expected)
        assert got.attrs["header"] == expected.attrs["header"]


@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_files_read_as_the_careful_path_reads_them(name, tmp_path):
    data = _encoded(ODD[name], name)
    path = tmp_path / f"{name}.csv"
    path.write_bytes(data)
    try:
        expected = _careful(data, path.name)
    except DataError as exc:
        with pytest.raises(DataError) as got:
            read_table(path)
        assert str(got.value) == str(exc)
        return
    for source in (path, data):
        pd.testing.assert_frame_equal(read_table(source, filename=path.name), expected)


def test_census_leading_spaces_and_na_category(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(ODD["census_like"])
    df = read_table(path)
    assert df["age"].dtype.kind == "i"
    assert df["work"].isna().sum() == 9 and set(df["work"].dropna()) == {"Private"}
    assert "NA" in set(df["hisp"]) and df["hisp"].notna().all()
    path.write_text(PLAIN["spaces_in_some_values"])  # the fast path: stripped, '?' missing, 'NA' a value
    df = read_table(path)
    assert set(df["b"].dropna()) == {"Private"} and df["b"].isna().sum() == 9
    assert set(df["c"]) == {"NA", "x"} and df["a"].dtype.kind == "i"


def test_fast_path_enforces_row_limit_and_names(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + _rows(50, lambda i: f"{i},{i}\n"))
    with pytest.raises(DataError, match="more than 10 rows"):
        read_table(path, limits=Limits(max_rows=10))
    df = read_table(path, ReadOptions(header=True, names=["x", "y"]))
    assert list(df.columns) == ["x", "y"] and len(df) == 50
    df = read_table(path, ReadOptions(header=False))
    assert list(df.columns) == ["col_0", "col_1"] and df.iloc[0, 0] == "a"


def test_parquet_from_path_and_bytes_agree(tmp_path):
    df = pd.DataFrame({"a": np.arange(20), "b": [f" v{i} " for i in range(20)], "c": np.linspace(0, 1, 20)})
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    from_path, from_bytes = read_table(path), read_table(path.read_bytes(), filename="t.parquet")
    pd.testing.assert_frame_equal(from_path, from_bytes)
    assert from_path["b"].iloc[3] == "v3"
    assert from_path.attrs["source"]["sha256"] == from_bytes.attrs["source"]["sha256"]
