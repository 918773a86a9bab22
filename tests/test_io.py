"""io.read_table / io.sniff: encodings, delimiters, headerless files, real data, error paths."""
from __future__ import annotations

import gzip
import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from mtl_core.config import Limits, ReadOptions
from mtl_core.errors import DataError
from mtl_core.data.io import read_table
from mtl_core.data.sniff import sniff

CENSUS_NAMES = (
    "age, class_worker, det_ind_code, det_occ_code, education, wage_per_hour, hs_college, marital_stat, "
    "major_ind_code, major_occ_code, race, hisp_origin, sex, union_member, unemp_reason, full_or_part_emp, "
    "capital_gains, capital_losses, stock_dividends, tax_filer_stat, region_prev_res, state_prev_res, "
    "det_hh_fam_stat, det_hh_summ, instance_weight, mig_chg_msa, mig_chg_reg, mig_move_reg, mig_same, "
    "mig_prev_sunbelt, num_emp, fam_under_18, country_father, country_mother, country_self, citizenship, "
    "own_or_self, vet_question, vet_benefits, weeks_worked, year, income_50k"
).split(", ")


def _err(source, match: str | None = None, **kw) -> str:
    with pytest.raises(DataError) as exc:
        read_table(source, **kw)
    msg = str(exc.value)
    assert "\n" not in msg and msg.strip() == msg and len(msg) < 400, msg
    assert "Traceback" not in msg
    if match:
        assert match.lower() in msg.lower(), msg
    return msg


# --------------------------------------------------------------------------- encodings
@pytest.mark.parametrize(
    "encoding, text, expected",
    [
        ("utf-8", "name,city,n\nZoë,Zürich,1\nÅsa,Malmö,2\n", "utf-8"),
        ("utf-8-sig", "name,city,n\nZoë,Zürich,1\nÅsa,Malmö,2\n", "utf-8-sig"),
        ("latin-1", "name,city,n\nZoë,Zürich,1\nÅsa,Malmö,2\nRené,Genève,3\n", None),
        ("gbk", "name,city,n\n张伟,北京市,1\n王芳,上海市,2\n", "gbk"),
        ("utf-16", "name,city,n\nZoë,Zürich,1\n张伟,北京市,2\n", "utf-16"),
    ],
)
def test_encodings(tmp_path, encoding, text, expected):
    path = tmp_path / f"t_{encoding}.csv"
    path.write_bytes(text.encode(encoding))
    df = read_table(path)
    assert list(df.columns) == ["name", "city", "n"]
    ref = pd.read_csv(io.StringIO(text))
    assert df["name"].tolist() == ref["name"].tolist()
    assert df["city"].tolist() == ref["city"].tolist()
    assert df["n"].tolist() == ref["n"].tolist()
    enc = sniff(path)["encoding"]
    assert enc == expected if expected else enc in ("latin-1", "cp1252")


def test_latin1_accents_not_taken_for_gbk():
    text = "société,ville\nGénérale,Orléans\néco,été\n"
    df = read_table(text.encode("latin-1"))
    assert df.columns.tolist() == ["société", "ville"]
    assert df["ville"].tolist() == ["Orléans", "été"]


# --------------------------------------------------------------------------- delimiters
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiters(sep):
    text = sep.join(["a", "b", "c"]) + "\n" + "\n".join(sep.join([str(i), f"x{i}", f"{i}.5"]) for i in range(20)) + "\n"
    df = read_table(text.encode())
    assert df.columns.tolist() == ["a", "b", "c"]
    assert df["a"].tolist() == list(range(20))
    assert df["c"].dtype.kind == "f"
    assert sniff(text.encode())["sep"] == sep


def test_tsv_extension_and_stray_spaces(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text(" a \t b \n 1 \t  hello  \n2\t?\n")
    df = read_table(path)
    assert df.columns.tolist() == ["a", "b"]
    assert df["a"].tolist() == [1, 2]
    assert df["b"].iloc[0] == "hello" and pd.isna(df["b"].iloc[1])


def test_missing_markers_but_not_na():
    text = "k,v\n1,NA\n2,null\n3,N/A\n4,#N/A\n5,None\n6,\n7,ok\n"
    df = read_table(text.encode())
    assert df["v"].iloc[0] == "NA"
    assert df["v"].isna().sum() == 5


def test_numeric_text_and_thousands():
    text = 'a,b\n" 1,234",x\n"12",y\n"1,000,000.5",z\n'
    df = read_table(text.encode())
    assert df["a"].tolist() == [1234, 12, 1000000.5]


def test_headerless_with_and_without_names():
    data = b"1,u1,view\n2,u2,cart\n"
    df = read_table(data, ReadOptions(header=False, names=["id", "user", "event"]))
    assert df.columns.tolist() == ["id", "user", "event"] and len(df) == 2
    df = read_table(data, ReadOptions(header=False))
    assert df.columns.tolist() == ["col_0", "col_1", "col_2"]
    _err(data, "3 columns", options=ReadOptions(header=False, names=["a", "b"]))


@pytest.mark.parametrize("data, names", [
    (b"1,2,pv,1511544070\n1,3,buy,1511544090\n2,3,pv,1511544100\n", None),  # numbers only
    (b"u1,i1,pv,2017-11-24 10:00:00\nu1,i2,buy,2017-11-25 11:00:00\n", None),  # text + a date
    (b"u1,i1,pv,1511544070\nu2,i1,buy,1511544071\nu3,i2,pv,1511544072\n", None),  # types of the columns
    (b"1,2\n3,4\n", ["a", "b"]),  # names given without --no-header: still headerless
])
def test_first_line_of_data_is_read_as_data(data, names):
    df = read_table(data, ReadOptions(names=names))
    assert len(df) == data.count(b"\n")  # no row lost to the header
    assert df.columns.tolist() == (names or [f"col_{i}" for i in range(df.shape[1])])


@pytest.mark.parametrize("data", [
    b"user,item,event,ts\nu1,i1,pv,1511544070\nu2,i1,pv,1511544071\n",  # names over numbers
    b"name,city\nann,paris\nbob,rome\n",  # all text: a header
    b"id,2019\n1,5\n2,6\n",  # a text cell over a number column
])
def test_header_line_is_kept(data):
    df = read_table(data)
    assert df.columns.tolist() == data.split(b"\n")[0].decode().split(",")
    assert len(df) == data.count(b"\n") - 1


def test_header_can_be_forced_either_way():
    assert read_table(b"1,2\n3,4\n", ReadOptions(header=True)).columns.tolist() == ["1", "2"]
    assert len(read_table(b"a,b\nc,d\n", ReadOptions(header=False))) == 2
    # names given for a file with a header line: they rename it
    assert read_table(b"a,b\nx,1\n", ReadOptions(names=["p", "q"])).columns.tolist() == ["p", "q"]


def test_file_like_and_bytes_and_gzip_zip(tmp_path):
    text = b"a,b\n1,2\n3,4\n"
    assert read_table(io.BytesIO(text)).shape == (2, 2)
    assert read_table(gzip.compress(text), filename="t.csv.gz").shape == (2, 2)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("inner/t.csv", text)
    assert read_table(buf.getvalue(), filename="t.zip").shape == (2, 2)


# --------------------------------------------------------------------------- real data
def test_census(shared_data):
    path = shared_data / "census_kdd" / "census-income.test.gz"
    if not path.exists():
        pytest.skip("census file absent")
    assert sniff(path)["sep"] == ", "
    df = read_table(path, ReadOptions(header=False, names=CENSUS_NAMES))
    assert df.shape == (99762, 42)
    assert df.columns.tolist() == CENSUS_NAMES
    assert df["age"].dtype.kind == "i"
    assert df["class_worker"].iloc[0] == "Private"
    assert (df["marital_stat"] == "Never married").mean() == pytest.approx(0.433, abs=0.01)
    assert (df["income_50k"] == "50000+.").mean() == pytest.approx(0.062, abs=0.005)
    assert "NA" in set(df["hisp_origin"].dropna())
    assert not df["class_worker"].dropna().str.startswith(" ").any()


def test_parquet(shared_data):
    path = shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.parquet"
    if not path.exists():
        pytest.skip("online retail file absent")
    df = read_table(path)
    assert df.shape == (525461, 8)
    assert "Customer ID" in df.columns
    assert df["Customer ID"].isna().sum() == 107927
    assert sniff(path)["format"] == "parquet"


def test_rees46(shared_data):
    path = shared_data / "rees46" / "2019-Oct-head.csv"
    if not path.exists():
        pytest.skip("rees46 file absent")
    df = read_table(path)
    assert df.shape == (17434, 9)
    assert df["product_id"].dtype.kind == "i" and df["price"].dtype.kind == "f"


# --------------------------------------------------------------------------- errors
def test_error_empty_and_header_only(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    _err(tmp_path / "e.csv", "empty")
    _err(b"   \n\n", "empty")
    _err(b"a,b,c\n", "no data rows")


def test_error_binary_garbage():
    rng = np.random.default_rng(0)
    _err(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(), "binary")
    _err(gzip.compress(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()), "binary", filename="x.gz")
    _err(b"%PDF-1.4 whatever", "PDF")


def test_error_archives():
    _err(b"\x1f\x8b\x08\x00garbage", "gzip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.png", b"x")
        zf.writestr("b.jpg", b"y")
    _err(buf.getvalue(), "zip", filename="x.zip")


def test_error_ragged_and_quote():
    msg = _err(b"a,b\n1,2\n3,4,5\n6,7\n", "line 3")
    assert "3 values" in msg
    _err(b'a,b\n1,2\n"3,4\n6,7\n', "quote")


def test_error_column_names():
    _err(b"a,b,a\n1,2,3\n", "'a'")
    _err(b"a,,c\n1,2,3\n", "without a name")
    _err(b"a,b,c\n1,2,3\n", "duplicate", options=ReadOptions(header=False, names=["x", "x", "y"]))


def test_error_limits(tmp_path):
    data = b"a,b\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(50))
    _err(data, "max_rows", limits=Limits(max_rows=10))
    _err(data, "max_bytes", limits=Limits(max_bytes=100))
    _err(b"a,b,c\n1,2,3\n", "max_columns", limits=Limits(max_columns=2))
    _err(b"a,b\n1," + b"x" * 50 + b"\n", "max_cell_chars", limits=Limits(max_cell_chars=10))
    assert read_table(data, limits=Limits(max_rows=50)).shape == (50, 2)


def test_error_missing_path(tmp_path):
    _err(tmp_path / "nope.csv", "does not exist")


def test_error_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    good = tmp_path / "g.parquet"
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), good)
    assert read_table(good).shape == (2, 2)
    raw = good.read_bytes()
    _err(raw[:10] + b"\x00" * 30 + raw[-12:], "damaged", filename="c.parquet")
    _err(b"not a parquet at all", "parquet", filename="c.parquet")
    nested = tmp_path / "n.parquet"
    pq.write_table(pa.table({"a": [1, 2], "tags": [[1, 2], [3]]}), nested)
    _err(nested, "'tags'")
    st = tmp_path / "s.parquet"
    pq.write_table(pa.table({"s": [{"x": 1}, {"x": 2}]}), st)
    _err(st, "'s'")


def test_sniff_formats():
    assert sniff(b"a;b\n1;2\n") == {"format": "csv", "encoding": "utf-8", "sep": ";"}
    assert sniff(b"a\tb\n1\t2\n")["format"] == "tsv"


def test_many_rows_are_read_and_stripped(tmp_path):
    """Speed lives in bench/data_speed.py; here only the result on a larger file."""
    n = 30_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"u": rng.integers(0, 10_000, n), "i": rng.integers(0, 5_000, n),
                       "c": rng.choice(["a ", " b", "c"], n), "x": rng.random(n)})
    path = tmp_path / "big.csv"
    df.to_csv(path, index=False)
    out = read_table(path)
    assert out.shape == (n, 4) and set(out["c"].unique()) == {"a", "b", "c"}
    np.testing.assert_allclose(out["x"].to_numpy(), df["x"].to_numpy())
