"""What the command-line cases of the corpus (tests/make_corpus.py ``build_cli_cases``, run by
tests/test_corpus.py) do not show by their exit status and message alone: a quoted task name
with '=' trains that column, a refused run saves nothing, the 1e308 message no longer blames
the learning rate, and ``inspect | head`` exits quietly. Each case is named in the message
table of docs/ROBUSTNESS.md."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from make_corpus import build_cli_cases
from mtl_core.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return {c.name: c for c in build_cli_cases(tmp_path_factory.mktemp("cli14"))}


def _with_out(argv: list[str], out: Path) -> list[str]:
    i = argv.index("--out")
    return [*argv[:i + 1], str(out), *argv[i + 2:]]


def test_quoted_task_column_with_equals_sign(cases, capsys, tmp_path):
    assert main(_with_out(cases["quoted_task_with_equals"].argv, tmp_path)) == 0
    out = capsys.readouterr().out
    assert list(json.loads(out[out.index("{\n"):])["tasks"]) == ["a=b"]


def test_run_without_labelled_test_rows_saves_nothing(cases, capsys, tmp_path):
    assert main(_with_out(cases["multiclass_no_test_labels"].argv, tmp_path)) == 2
    assert "no labelled rows" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # neither a run nor a temporary folder


def test_regression_target_of_1e308_blames_the_data(cases, capsys, tmp_path):
    assert main(_with_out(cases["regression_1e308"].argv, tmp_path)) == 2
    err = capsys.readouterr().err
    assert "rescale" in err and "learning rate" not in err


def test_inspect_into_head_exits_quietly(tmp_path):
    wide = tmp_path / "wide.csv"
    pd.DataFrame([[i] * 900 for i in range(3)], columns=[f"c{i}" for i in range(900)]).to_csv(wide, index=False)
    proc = subprocess.run(f"{sys.executable} -m mtl_core inspect --data '{wide}' | head -1; exit ${{PIPESTATUS[0]}}",
                          shell=True, executable="/bin/bash", cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "{"
    assert proc.stderr == "", proc.stderr
