"""A small saved run and one saved lab result of each kind, with hostile names, for the
report tests (unit and browser)."""
from __future__ import annotations

from pathlib import Path

TAG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"


def hostile_table(rows: int = 800):
    """Synthetic shop data whose click column and item category carry HTML."""
    from mtl_core.data.synth import make_synthetic

    df = make_synthetic(rows=rows, seed=1)
    df["item_category"] = df["item_category"].astype(str).where(df.index % 3 > 0, TAG)
    return df.rename(columns={"click": SCRIPT})


def small_run(root: Path, tmp: Path, hostile: bool = True, epochs: int = 2) -> Path:
    """One trained run on the hostile table, read from a file named with HTML (``hostile``),
    or on plain synthetic data (a picture for the docs)."""
    from mtl_core.config import DataConfig, RunConfig, TrainConfig
    from mtl_core.data.synth import make_synthetic
    from mtl_core.pipeline import run_experiment

    data = tmp / ("shop <b>x<b>.csv" if hostile else "shop.csv")
    (hostile_table() if hostile else make_synthetic(rows=3000, seed=1)).to_csv(data, index=False)
    click = SCRIPT if hostile else "click"
    cfg = RunConfig(data=DataConfig(path=str(data), tasks=[click, "purchase", "rating:regression"],
                                    user_col="user_id", item_col="item_id"),
                    train=TrainConfig(epochs=epochs, batch_size=256, weighting="uncertainty"),
                    name=TAG if hostile else "demo run")
    return Path(run_experiment(cfg.validate(), runs_root=root).run_dir)


def small_labs(root: Path) -> dict[str, Path]:
    """A one-seed negative-transfer check, a two-point sweep and a one-correlation lab."""
    from mtl_core import lab
    from mtl_core.config import DataConfig, RunConfig, TrainConfig

    df = hostile_table(600)
    cfg = RunConfig(data=DataConfig(tasks=[SCRIPT, "purchase"]),
                    train=TrainConfig(epochs=1, batch_size=256)).validate()
    t = lab.negative_transfer(cfg, df, seeds=[0], runs_root=root)
    s = lab.pareto_sweep(cfg, df, SCRIPT, "purchase", n_points=2, learned=[], include_single=False,
                         runs_root=root)
    c = lab.correlation_lab([0.5], ["shared_bottom"], rows=600, epochs=1, seeds=[0], runs_root=root)
    return {"transfer": Path(t.attrs["path"]), "sweeps": Path(s.path), "corrlab": Path(c.attrs["path"])}
