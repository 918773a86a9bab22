"""The optimiser / initialisation lab (mtl_core.lab.optimisers), its figure and its CLI."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from mtl_core import lab
from mtl_core.config import DataConfig, FULL_BATCH, ModelConfig, RunConfig, TrainConfig
from mtl_core.data.synth import make_synthetic
from mtl_core.errors import ConfigError


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return make_synthetic(rows=600, seed=4)


def _cfg(epochs=2) -> RunConfig:
    return RunConfig(
        data=DataConfig(tasks=["click", "purchase"], user_col="user_id", item_col="item_id", time_col="timestamp"),
        model=ModelConfig(arch="shared_bottom", embed_dim=4, hidden=[8], tower_hidden=[4]),
        train=TrainConfig(epochs=epochs, batch_size=128, lr=3e-3, patience=1, num_threads=1, device="cpu"),
    )


@pytest.fixture(scope="module")
def result(shop, tmp_path_factory):
    root = tmp_path_factory.mktemp("optlab")
    return lab.optimiser_lab(_cfg(), shop, optimisers=["gd", "adam"], inits=["default", "xavier"],
                             lrs={"adam": 0.01}, runs_root=root), root


def test_every_combination_trains_the_same_split_for_all_epochs(result):
    table, _ = result
    assert table["label"].tolist() == ["Full-batch GD · default init", "Full-batch GD · Xavier",
                                       "Adam · default init", "Adam · Xavier"]
    n_train = int(table.loc[table["optimiser"] == "gd", "batch_size"].iloc[0])
    assert n_train == 480  # 600 rows × 0.8: full batch = every training row, one step per epoch
    assert (table.loc[table["optimiser"] == "gd", "steps"] == 2).all()
    assert (table.loc[table["optimiser"] == "adam", "steps"] == 2 * math.ceil(480 / 128)).all()
    assert table.loc[table["optimiser"] == "adam", "lr"].tolist() == [0.01, 0.01]
    assert table.loc[table["optimiser"] == "gd", "lr"].tolist() == [lab.OPTIMISER_LR["gd"]] * 2
    assert (table["stopped"] == "completed").all()  # patience 1 is ignored: no early stopping
    # the initialisation changes the starting point, the optimiser (same init) does not
    first = table.set_index("label")["first_train_loss"]
    assert first["Adam · default init"] != first["Adam · Xavier"]
    curves = table.attrs["curves"]
    assert set(curves.groupby(["label", "split"]).size()) == {2}
    assert {"test_click", "test_purchase"} <= set(table.columns)


def test_explanation_is_computed_from_the_numbers(result):
    table, _ = result
    text = " ".join(table.attrs["explanation"])
    best = table.loc[pd.to_numeric(table["final_val_loss"]).idxmin(), "label"]
    assert f"Lowest validation loss after 2 epochs: {best}" in text
    assert "Full-batch gradient descent made 2 updates in 2 epochs" in text and "Adam 8" in text
    assert "initialisation moved the final validation loss" in text


def test_saved_and_loaded(result):
    table, root = result
    (saved,) = lab.list_optimiser_labs(root)
    back = lab.load_optimiser_lab(saved["path"])
    assert back["label"].tolist() == table["label"].tolist()
    assert back.attrs["explanation"] == table.attrs["explanation"]
    assert len(back.attrs["curves"]) == len(table.attrs["curves"])
    assert saved["optimisers"] == ["gd", "adam"] and saved["lrs"] == {"gd": lab.OPTIMISER_LR["gd"], "adam": 0.01}


def test_same_seed_same_curves(shop):
    a = lab.optimiser_lab(_cfg(1), shop, optimisers=["momentum"], inits=["kaiming"], save=False)
    b = lab.optimiser_lab(_cfg(1), shop, optimisers=["momentum"], inits=["kaiming"], save=False)
    assert a.attrs["curves"]["loss"].tolist() == b.attrs["curves"]["loss"].tolist()


@pytest.mark.parametrize("kw,needle", [
    ({"optimisers": ["rmsprop"]}, "optimisers must list"),
    ({"inits": []}, "inits must list"),
    ({"inits": ["xavier", "xavier"]}, "inits must list"),
    ({"lrs": {"adam": 0}}, "lrs\\['adam'\\]"),
    ({"lrs": {"lion": 0.1}}, "unknown optimiser 'lion'"),
])
def test_bad_arguments_are_config_errors(shop, kw, needle):
    with pytest.raises(ConfigError, match=needle):
        lab.optimiser_lab(_cfg(), shop, save=False, **kw)


def test_explanation_reports_divergence_and_momentum():
    rows = [{"label": "SGD · default init", "optimiser": "sgd", "init": "default", "steps": 10,
             "final_val_loss": 0.6, "best_val_loss": 0.6, "stopped": "completed"},
            {"label": "SGD + momentum · default init", "optimiser": "momentum", "init": "default", "steps": 10,
             "final_val_loss": 0.5, "best_val_loss": 0.5, "stopped": "completed"},
            {"label": "Adam · Xavier", "optimiser": "adam", "init": "xavier", "steps": 10, "final_val_loss": 0.8,
             "best_val_loss": 0.4, "best_epoch": 2, "final_train_loss": 0.1, "stopped": "completed"},
            {"label": "Adam · Kaiming", "optimiser": "adam", "init": "kaiming", "steps": 3,
             "final_val_loss": None, "best_val_loss": None, "stopped": "diverged"}]
    text = lab.explain_optimisers(pd.DataFrame(rows), 5)
    assert text[0] == "Lowest validation loss after 5 epochs: SGD + momentum · default init (0.5000)."
    assert any("SGD + momentum ended at a validation loss of 0.5000, lower than SGD's 0.6000" in t for t in text)
    assert text[-1].startswith("Diverged") and "Adam · Kaiming" in text[-1]
    assert text[-2] == ("Overfitting: Adam · Xavier's validation loss was lowest at epoch 2 (0.4000) and rose to "
                        "0.8000 while its training loss kept falling (to 0.1000); early stopping would keep epoch 2.")
    assert lab.explain_optimisers(pd.DataFrame(), 5) == ["No combination finished."]


def test_curves_figure_colours_by_optimiser_and_dashes_by_init(result):
    from mtl_core import figures

    table, _ = result
    fig = figures.optimiser_curves(table.attrs["curves"], split="val")
    assert [t.name for t in fig.data] == table["label"].tolist()
    colour = {t.name: t.line.color for t in fig.data}
    dash = {t.name: t.line.dash for t in fig.data}
    assert colour["Adam · default init"] == colour["Adam · Xavier"] != colour["Full-batch GD · Xavier"]
    assert dash["Adam · Xavier"] == dash["Full-batch GD · Xavier"] != dash["Adam · default init"]
    assert "validation" in fig.layout.title.text
    assert len(figures.optimiser_curves(pd.DataFrame(columns=["split"])).data) == 0


def test_cli_optlab(shop, tmp_path, capsys):
    from mtl_core.cli import main

    data = tmp_path / "shop.csv"
    shop.to_csv(data, index=False)
    code = main(["optlab", "--data", str(data), "--task", "click", "--task", "purchase", "--arch", "linear",
                 "--epochs", "1", "--optimisers", "gd,sgd", "--inits", "default", "--lrs", "sgd=0.1",
                 "--out", str(tmp_path / "runs"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "Full-batch GD · default init" in out and "SGD · default init" in out
    assert json.loads(out.strip().splitlines()[-1])["status"] == "complete"
    assert main(["optlab", "--data", str(data), "--task", "click", "--lrs", "sgd:0.1"]) == 2
    assert "--lrs must look like" in capsys.readouterr().err


def test_full_batch_is_one_step_per_epoch_in_the_trainer():
    from mtl_core.lab.optimisers import combination_configs

    _, train = combination_configs(_cfg(), "gd", "default", 0.5)
    assert (train.batch_size, train.optimizer, train.patience, train.diagnostics) == (FULL_BATCH, "sgd", 0, False)
