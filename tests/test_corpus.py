"""Every file of the hostile-input corpus (tests/make_corpus.py) through the reader and
``prepare``, the CLI (in-process for all, a subprocess for a representative subset) and the
app's upload (AppTest, several files per session): a correct result or a one-sentence
error naming the problem; never a traceback, never a hang, and the app keeps working."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_corpus import (CliCase, CorpusCase, TRAIN_ARGS, base_frame, build_cli_cases, build_corpus,  # noqa: E402
                         damage_run)

from mtl_core.cli import main as cli_main  # noqa: E402
from mtl_core.config import DataConfig, Limits, ModelConfig, RunConfig, SplitConfig, TrainConfig  # noqa: E402
from mtl_core.errors import MTLError  # noqa: E402
from mtl_core.data.io import read_table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
_DIR = Path(tempfile.mkdtemp(prefix="mtl-corpus-"))
CASES: list[CorpusCase] = build_corpus(_DIR)
BY_NAME = {c.name: c for c in CASES}
IDS = [c.name for c in CASES]


def _limits(case: CorpusCase) -> Limits | None:
    return Limits(**case.limits) if case.limits else None


@contextmanager
def _limit_env(case: CorpusCase):
    """The case's small limits as MTL_LAB_LIMIT_* variables (how the CLI and app get them)."""
    old = dict(os.environ)
    for k, v in (case.limits or {}).items():
        os.environ[f"MTL_LAB_LIMIT_{k.upper()}"] = str(v)
    try:
        yield
    finally:
        for k in list(os.environ):
            if k.startswith("MTL_LAB_LIMIT_") and k not in old:
                del os.environ[k]


def _one_sentence(msg: str) -> None:
    assert msg and "\n" not in msg and "Traceback" not in msg, msg
    assert len(msg) < 600, msg


def _check_message(case: CorpusCase, msg: str) -> None:
    _one_sentence(msg)
    if case.match:
        assert re.search(case.match, msg, re.I), (case.name, case.match, msg)


# --------------------------------------------------------------------------- corpus itself
def test_corpus_is_large_and_varied():
    assert len(CASES) >= 100
    assert len(set(IDS)) == len(IDS)
    kinds = {c.expect for c in CASES}
    assert kinds == {"ok", "error"}
    assert sum(c.expect == "error" for c in CASES) >= 40
    assert sum(c.prepare == "error" for c in CASES) >= 10
    for c in CASES:
        assert c.path.is_file() and c.note
        assert c.expect in ("ok", "error") and c.prepare in (None, "ok", "error")
    # the named kinds are all present
    for name in ("empty", "header_only", "one_row", "random_bytes", "gzip_table", "gzip_garbage", "zip_table",
                 "zip_garbage", "mixed_delimiters", "ragged_extra", "unterminated_quote", "utf8_bom", "latin1", "gbk",
                 "utf16_le_bom", "duplicate_names", "empty_name", "cols_10000", "cell_1m_chars", "thousands_separators",
                 "comma_decimals_semicolon", "inf_spellings", "nan_spellings", "label_one_class", "label_all_missing",
                 "task_is_feature", "id_unique_per_row", "timestamps_mixed", "parquet_list", "too_big_bytes"):
        assert name in BY_NAME, name


# --------------------------------------------------------------------------- (a) reader + prepare
def _content_check(case: CorpusCase, df: pd.DataFrame) -> None:
    base = base_frame()
    if case.check == "base_equal":
        got = df.astype(str).reset_index(drop=True)
        want = base.astype(str)
        assert list(got.columns) == list(want.columns)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
    elif case.check == "latin":
        assert "jardín" in set(df["category"]) and "Müsli" in set(df["category"])
    elif case.check == "gbk":
        assert "图书" in set(df["category"])
    elif case.check == "thousands":
        assert pd.api.types.is_numeric_dtype(df["price"])
        np.testing.assert_allclose(df["price"].to_numpy(), base["price"].to_numpy() * 1000, rtol=1e-9)
    elif case.check == "numeric_price":
        assert pd.api.types.is_numeric_dtype(df["price"]), df["price"].dtype
    elif case.check == "na_kept":
        assert "NA" in set(df["category"].dropna())


def _config(case: CorpusCase, **train) -> RunConfig:
    cfg = RunConfig(
        data=DataConfig(tasks=[case.task], **case.data),
        split=SplitConfig(**case.split),
        model=ModelConfig(arch="shared_bottom", embed_dim=4, hidden=[8], tower_hidden=[4]),
        train=TrainConfig(epochs=1, batch_size=64, num_threads=1, diagnostics=False, device="cpu", **train),
    )
    if case.limits:
        cfg.limits = Limits(**case.limits)
    return cfg


@pytest.mark.parametrize("name", IDS)
def test_reader_and_prepare(name):
    from mtl_core.pipeline import prepare

    case = BY_NAME[name]
    try:
        df = read_table(case.path, limits=_limits(case))
    except MTLError as exc:
        assert case.expect == "error", f"{name}: unexpected error: {exc}"
        _check_message(case, str(exc))
        return
    assert case.expect == "ok", f"{name}: read a {df.shape} table but the file should be refused"
    assert len(df) > 0 and df.shape[1] > 0
    assert isinstance(df.index, pd.RangeIndex)
    assert all(isinstance(c, str) and c == c.strip() and c for c in df.columns)
    _content_check(case, df)
    if not case.task:
        return
    try:
        prep = prepare(_config(case), df)
    except MTLError as exc:
        assert case.prepare == "error", f"{name}: prepare failed: {exc}"
        _one_sentence(str(exc))
        return
    assert case.prepare == "ok", f"{name}: prepare should have refused this table"
    assert len(prep.encoded["train"]) > 0 and len(prep.encoded["test"]) > 0
    for split in prep.encoded.values():
        assert np.isfinite(split.num).all()


RUN_CASES = ["good_reference", "inf_spellings", "nan_spellings", "timestamps_mixed", "parquet_binary_decimal",
             "label_partly_missing", "zip_table"]


@pytest.mark.parametrize("name", RUN_CASES)
def test_small_run_on_readable_files(name, tmp_path):
    from mtl_core.pipeline import run_experiment
    from mtl_core.runs import list_runs, load_run

    case = BY_NAME[name]
    df = read_table(case.path)
    res = run_experiment(_config(case), df, runs_root=tmp_path)
    assert res.status == "completed"
    assert [r.run_id for r in list_runs(tmp_path)] == [res.run_dir.name]
    run = load_run(res.run_dir)
    run.model()
    assert len(run.predictions) == res.metrics["split"]["test"] > 0  # every test row has a prediction
    auc = res.metrics["tasks"]["click"].get("auc")
    assert auc is None or 0.0 <= auc <= 1.0


# --------------------------------------------------------------------------- (b) CLI
def _check_cli(case: CorpusCase, rc: int, out: str, err: str) -> None:
    assert "Traceback" not in err and "Traceback" not in out, err
    if case.expect == "ok":
        assert rc == 0, (case.name, err)
        info = json.loads(out)
        assert info["rows"] > 0 and info["columns"]
        assert err.strip() == ""
    else:
        assert rc == 2, (case.name, rc, out)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        _check_message(case, lines[0][len("error: "):])


@pytest.mark.parametrize("name", IDS)
def test_cli_inspect_in_process(name, capsys):
    case = BY_NAME[name]
    with _limit_env(case):
        rc = cli_main(["inspect", "--data", str(case.path)])
    cap = capsys.readouterr()
    _check_cli(case, rc, cap.out, cap.err)


SUBPROCESS_CASES = ["empty", "header_only", "random_bytes", "gzip_table", "zip_garbage", "mixed_delimiters",
                    "unterminated_quote", "utf16_le_bom", "gbk", "duplicate_names", "cols_10000", "cell_1m_chars",
                    "too_big_bytes", "parquet_list", "inf_spellings"]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_cli_inspect_subprocess(name):
    case = BY_NAME[name]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    for k, v in (case.limits or {}).items():
        env[f"MTL_LAB_LIMIT_{k.upper()}"] = str(v)
    proc = subprocess.run([sys.executable, "-m", "mtl_core", "inspect", "--data", str(case.path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    _check_cli(case, proc.returncode, proc.stdout, proc.stderr)


def test_cli_train_on_hostile_files_is_one_line(tmp_path, capsys):
    """`train` on refused files and on files whose task cannot be learnt: exit 2, one line."""
    for name in ("zip_garbage", "label_one_class", "label_all_missing", "timestamps_unreadable"):
        case = BY_NAME[name]
        argv = ["train", "--data", str(case.path), "--task", "click", "--epochs", "1", "--out", str(tmp_path),
                "--quiet"]
        if case.data.get("time_col"):
            argv += ["--time-col", case.data["time_col"], "--split", "temporal"]
        rc = cli_main(argv)
        cap = capsys.readouterr()
        assert rc == 2, (name, cap.out)
        lines = cap.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in cap.err, cap.err
    from mtl_core.runs import list_interrupted, list_runs

    assert list_runs(tmp_path) == [] and list_interrupted(tmp_path) == []


# --------------------------------------------------------------------------- (b2) command lines
CLI_CASES: dict[str, CliCase] = {c.name: c for c in build_cli_cases(_DIR / "cli")}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """(a small finished run, one of its users), for the damaged-run cases to spoil copies of."""
    out = tmp_path_factory.mktemp("corpus-run")
    rc = cli_main([*TRAIN_ARGS, "--data", str(_DIR / "cli" / "d.csv"), "--task", "click", "--out", str(out)])
    assert rc == 0
    run = next(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    users = pd.read_parquet(run / "users.parquet")
    return run, str(users.iloc[0, 0])


#: rows of the message table tested elsewhere: a shell pipe (tests/test_cli_errors.py) and a data
#: file changed under an interrupted run (it needs a trained run; tests/test_resume.py)
ELSEWHERE = {"`inspect … \\| head`", "interrupted run's data file changed since it started"}


def test_the_corpus_covers_every_command_line_row_of_the_message_table():
    """Compare the corpus with docs/ROBUSTNESS.md: from the `--out` row on, every row of the
    message table is a corpus case (or tested where named in ELSEWHERE), and every case's row
    is in the table."""
    lines = (ROOT / "docs" / "ROBUSTNESS.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| Case | Message (file names shortened to `F`) |")
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    cells = [ln.split(" | ")[0][2:].strip() for ln in lines[start + 2:end]]
    cli_rows = set(cells[cells.index("`--out` is an existing file"):])
    rows = {c.row for c in CLI_CASES.values()}
    assert rows <= set(cells), rows - set(cells)
    assert cli_rows - ELSEWHERE <= rows, cli_rows - ELSEWHERE - rows
    assert ELSEWHERE <= cli_rows


@pytest.mark.parametrize("name", list(CLI_CASES))
def test_cli_case(name, capsys, tmp_path, request):
    """Exit status 2 with exactly one ``error:`` line matching the case (never "unexpected"),
    or exit 0 for the cases that are not errors."""
    import shutil

    case = CLI_CASES[name]
    argv = list(case.argv)
    if case.damage:
        run, user = request.getfixturevalue("trained_run")
        copy = tmp_path / run.name
        shutil.copytree(run, copy)
        damage_run(copy, case.damage)
        argv = [a.replace("{run}", str(copy)).replace("{user}", user) for a in argv]
    rc = cli_main(argv)
    cap = capsys.readouterr()
    assert rc == case.code, (name, rc, cap.err)
    assert "Traceback" not in cap.err + cap.out
    if case.code == 2:
        lines = cap.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "unexpected" not in lines[0], cap.err
        assert re.search(case.match, lines[0]), (name, case.match, lines[0])
    assert not Path("/tmp/mtl-lab-corpus-pwned").exists()  # a crafted model.pt never runs code


# --------------------------------------------------------------------------- (c) app upload
def _batches(size: int = 40) -> list[list[str]]:
    """Upload orders where (almost) every refused file is followed by a readable one."""
    bad = [c.name for c in CASES if c.expect == "error"]
    good = [c.name for c in CASES if c.expect == "ok"]
    order: list[str] = []
    while bad or good:
        if bad:
            order.append(bad.pop(0))
        if good:
            order.append(good.pop(0))
    return [order[i:i + size] for i in range(0, len(order), size)]


BATCHES = _batches()
UPLOAD_TYPES = (".csv", ".tsv", ".txt", ".parquet", ".gz", ".zip")  # the Data page's file_uploader types


def _upload_name(case: CorpusCase) -> str:
    """The browser only offers allowed extensions; give the odd ones (no extension) a .txt."""
    name = case.path.name
    return name if name.lower().endswith(UPLOAD_TYPES) else name + ".txt"


def _plain(markdown: str) -> str:
    """The text a Markdown string shows (backslash escapes removed)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


@pytest.mark.parametrize("batch", range(len(BATCHES)))
def test_app_upload_corpus(batch, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MTL_LAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception
    names = BATCHES[batch] + ["good_reference"]  # the last upload of every session must load
    for name in names:
        case = BY_NAME[name]
        with _limit_env(case):
            at.file_uploader(key="upload").set_value((_upload_name(case), case.path.read_bytes(), "text/csv")).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        errors = [_plain(e.value) for e in at.error]  # pages escape names from data for Markdown
        for msg in errors:
            _one_sentence(msg)
            assert "Something went wrong" not in msg, (name, msg)
        if case.expect == "error":
            assert errors, f"{name}: no error shown"
            _check_message(case, errors[0])
            assert at.session_state["upload_error"] is not None
        else:
            ok = [s for s in map(_plain, (s.value for s in at.success)) if s.startswith(f"Loaded {_upload_name(case)}:")]
            assert ok, (name, errors)
            assert at.session_state["data_name"] == _upload_name(case)
            expected = read_table(case.path)
            assert at.session_state["df"].shape == expected.shape
    assert at.session_state["data_name"] == "010_good_reference.csv"  # usable after every bad file
    # nothing uploaded was written to the runs folder but the session's own saved table and
    # choices (kept so that a reload or a restart brings them back)
    written = [p for p in (tmp_path / "runs").rglob("*") if p.is_file()] if (tmp_path / "runs").exists() else []
    assert all(p.parent.name == ".session" or p.name == ".session-secret" for p in written), written
