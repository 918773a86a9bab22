"""Safety: model files never run code, user-given names never become paths, CSV downloads
cannot carry spreadsheet formulas, and every input limit is configurable and enforced with
a message naming it."""
from __future__ import annotations

import ast
import csv
import io
import pickle
import uuid
from pathlib import Path

import pandas as pd
import pytest

from mtl_core.config import DataConfig, Limits, ModelConfig, RunConfig, SplitConfig, TrainConfig
from mtl_core.errors import ConfigError, DataError, MTLError
from mtl_core.data.io import read_table
from mtl_core.evaluation.metrics import to_safe_csv
from mtl_core.runs import RunWriter, list_runs, load_run
from mtl_core.data.synth import make_synthetic

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from mtl_core.pipeline import run_experiment

    root = tmp_path_factory.mktemp("runs")
    cfg = RunConfig(
        data=DataConfig(tasks=["click", "purchase"], user_col="user_id", item_col="item_id"),
        model=ModelConfig(arch="shared_bottom", embed_dim=4, hidden=[8], tower_hidden=[4]),
        train=TrainConfig(epochs=1, batch_size=128, num_threads=1, device="cpu", diagnostics=False),
    )
    res = run_experiment(cfg, make_synthetic(rows=500, seed=2), runs_root=root)
    return res.run_dir


# --------------------------------------------------------------------------- model files
def test_every_torch_load_uses_weights_only():
    calls = []
    for path in list((ROOT / "mtl_core").rglob("*.py")) + list((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
                kw = {k.arg: k.value for k in node.keywords}
                assert "weights_only" in kw and isinstance(kw["weights_only"], ast.Constant) \
                    and kw["weights_only"].value is True, f"{path}:{node.lineno}"
                calls.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr in ("loads", "load") and isinstance(node.value, ast.Name) \
                    and node.value.id in ("pickle", "dill", "joblib", "cloudpickle"):
                pytest.fail(f"{path}:{node.lineno} unpickles data")
    assert calls, "no torch.load found: the model loader moved"


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_crafted_pickle_model_is_refused_without_running_code(small_run, tmp_path):
    import shutil

    run_dir = tmp_path / small_run.name
    shutil.copytree(small_run, run_dir)
    marker = tmp_path / f"marker-{uuid.uuid4().hex}"
    with open(run_dir / "model.pt", "wb") as fh:
        pickle.dump({"weight": _Evil(marker)}, fh)
    # the unsafe way would run the code: prove the file is really hostile
    run = load_run(run_dir)
    with pytest.raises(DataError, match="not a plain set of weights") as info:
        run.model()
    assert not marker.exists(), "code from model.pt was executed"
    assert "\n" not in str(info.value)
    with open(run_dir / "model.pt", "rb") as fh:
        pickle.load(fh)  # noqa: S301 - the control: plain unpickling does execute it
    assert marker.exists()


def test_damaged_model_file_is_a_clean_error(small_run, tmp_path, capsys):
    import shutil

    from mtl_core.cli import main

    run_dir = tmp_path / small_run.name
    shutil.copytree(small_run, run_dir)
    (run_dir / "model.pt").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataError):
        load_run(run_dir).model()
    user = load_run(small_run).interactions["user_id"].iloc[0]
    rc = main(["recommend", "--run", str(run_dir), "--user", str(user)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ")


def test_a_good_model_still_loads(small_run):
    model = load_run(small_run).model()
    assert sum(p.numel() for p in model.parameters()) > 0


# --------------------------------------------------------------------------- names are not paths
@pytest.mark.parametrize("run_id", ["../x", "..", "/etc/x", "a/b", "a\\b", ".hidden", "", "x" * 200, "ok\n",
                                    "..\\..\\x", "~root"])
def test_run_writer_rejects_ids_that_are_not_plain_names(tmp_path, run_id):
    root = tmp_path / "runs"
    with pytest.raises(DataError, match="Invalid run id"):
        RunWriter(root, run_id)
    assert not (tmp_path / "x").exists()
    assert list(tmp_path.rglob("*")) in ([], [root])


def test_run_directories_stay_under_the_runs_root(tmp_path):
    root = tmp_path / "runs"
    w = RunWriter(root, "20240101-000000-mmoe-abc123")
    assert w.path.parent == root and w.path.name.startswith(".tmp-")
    w.json("config.json", {})
    final = w.commit()
    assert final.parent == root and final.resolve().is_relative_to(root.resolve())


def test_session_runs_root_rejects_bad_session_ids(tmp_path):
    from mtl_core.app.state import session_runs_root

    for bad in ("../../etc", "/tmp", "a" * 31, "A" * 32, "", "..%2f"):
        with pytest.raises(ValueError):
            session_runs_root(tmp_path, bad)
    assert list(tmp_path.iterdir()) == []


def test_run_name_is_never_a_path(tmp_path):
    from mtl_core.pipeline import run_experiment

    cfg = RunConfig(data=DataConfig(tasks=["click"]), name="../../escaped",
                    model=ModelConfig(arch="linear"),
                    train=TrainConfig(epochs=1, num_threads=1, device="cpu", diagnostics=False))
    res = run_experiment(cfg, make_synthetic(rows=300, seed=4), runs_root=tmp_path / "runs")
    assert res.run_dir.parent == tmp_path / "runs"
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()
    assert list_runs(tmp_path / "runs")[0].name == "../../escaped"  # shown as a label only


def test_uploaded_file_name_is_never_used_as_a_path(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MTL_LAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.chdir(ROOT)
    target = tmp_path / "outside" / f"evil-{uuid.uuid4().hex}.csv"
    target.parent.mkdir()
    hostile = "../" * 12 + str(target).lstrip("/")
    data = make_synthetic(rows=200, seed=5).to_csv(index=False).encode()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/data.py")
    at.run()
    at.file_uploader(key="upload").set_value((hostile, data, "text/csv")).run()
    assert not at.exception
    assert len(at.session_state["df"]) == 200
    assert not target.exists()
    assert not list((tmp_path / "outside").iterdir())
    # the pages never open or write files by a user-given name
    for page in list((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]:
        for line in page.read_text(encoding="utf-8").splitlines():
            if ".name" in line:
                assert not any(w in line for w in ("open(", "Path(", "write_", "to_csv(", "to_parquet(", "mkdir")), line


# --------------------------------------------------------------------------- CSV downloads
@pytest.mark.parametrize("cell", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\tx", "\rx",
                                  "=HYPERLINK(\"http://evil\")"])
def test_csv_downloads_escape_formula_cells(cell):
    df = pd.DataFrame({"item": [cell, "plain"], cell: [1, 2], "score": [-1.5, 2.0]})
    text = to_safe_csv(df)
    assert ("'" + cell).replace('"', '""') in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    for value in header + [r[0] for r in body]:
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert header[0] == "item" and header[1] == "'" + cell
    assert [r[2] for r in body] == ["-1.5", "2.0"]  # numbers stay numbers, even negative ones
    assert body[1][0] == "plain"


def test_csv_download_cell_with_embedded_cr_cannot_start_a_formula_row():
    text = to_safe_csv(pd.DataFrame({"a": ["x\r=1+1"], "b": [1]}))
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        assert not line.startswith(("=", "+", "-", "@")), repr(text)


# --------------------------------------------------------------------------- limits
def _csv(tmp_path, rows=50, cols=4) -> Path:
    df = pd.DataFrame({f"c{j}": [f"v{i % 7}" for i in range(rows)] for j in range(cols)})
    df["click"] = [i % 2 for i in range(rows)]
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False)
    return p


@pytest.mark.parametrize("field, value, pattern", [
    ("max_bytes", 100, "max_bytes"),
    ("max_rows", 10, "max_rows"),
    ("max_columns", 3, "max_columns"),
    ("max_cell_chars", 1, "max_cell_chars"),
])
def test_reader_limits_are_enforced_and_named(tmp_path, field, value, pattern):
    p = _csv(tmp_path)
    read_table(p)  # fine with the defaults
    with pytest.raises(DataError, match=pattern):
        read_table(p, limits=Limits(**{field: value}))


def test_limits_come_from_the_environment(tmp_path, monkeypatch, capsys):
    from mtl_core.cli import main

    p = _csv(tmp_path)
    monkeypatch.setenv("MTL_LAB_LIMIT_MAX_ROWS", "10")
    assert Limits.from_env().max_rows == 10
    assert RunConfig().limits.max_rows == 10
    with pytest.raises(DataError, match="max_rows"):
        read_table(p)
    assert main(["inspect", "--data", str(p)]) == 2
    assert "max_rows" in capsys.readouterr().err
    monkeypatch.setenv("MTL_LAB_LIMIT_MAX_ROWS", "lots")
    with pytest.raises(ConfigError, match="MTL_LAB_LIMIT_MAX_ROWS"):
        Limits.from_env()
    monkeypatch.setenv("MTL_LAB_LIMIT_MAX_ROWS", "0")
    with pytest.raises(ConfigError, match="MTL_LAB_LIMIT_MAX_ROWS"):
        Limits.from_env()


def test_category_epoch_and_model_size_limits(tmp_path):
    from mtl_core.pipeline import prepare, run_experiment

    df = make_synthetic(rows=400, seed=6)
    base = dict(data=DataConfig(tasks=["click"]), split=SplitConfig(),
                model=ModelConfig(arch="mmoe", embed_dim=8, hidden=[8], tower_hidden=[4]))
    # categories per column
    with pytest.raises(DataError, match="max_categories"):
        prepare(RunConfig(**base, limits=Limits(max_categories=5)), df)
    # epochs
    with pytest.raises(ConfigError, match="train.epochs"):
        RunConfig(**base, train=TrainConfig(epochs=5000)).validate()
    # model size: embeddings over the limit are refused before they are allocated
    cfg = RunConfig(**base, limits=Limits(max_model_params=500),
                    train=TrainConfig(epochs=1, num_threads=1, device="cpu", diagnostics=False))
    with pytest.raises(DataError, match=r"max_model_params=500.*largest vocabulary") as info:
        run_experiment(cfg, df, runs_root=tmp_path)
    assert "\n" not in str(info.value)
    assert list_runs(tmp_path) == []
    # just under: the dense layers are counted too
    prep = prepare(RunConfig(**base), df)
    n_embed = sum(prep.features.cat_cardinalities) * 8
    cfg2 = RunConfig(**base, limits=Limits(max_model_params=n_embed + 10),
                     train=TrainConfig(epochs=1, num_threads=1, device="cpu", diagnostics=False))
    with pytest.raises(DataError, match=r"\d+ parameters, more than limits.max_model_params"):
        run_experiment(cfg2, df, runs_root=tmp_path)
    with pytest.raises(ConfigError, match="limits.max_model_params"):
        Limits(max_model_params=0).validate()


def test_limit_errors_are_mtl_errors_for_the_app():
    for exc in (DataError("x"), ConfigError("x")):
        assert isinstance(exc, MTLError)
