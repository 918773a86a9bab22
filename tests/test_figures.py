"""Tests for mtl_core.figures: every builder returns a titled Figure holding the expected data."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from mtl_core import figures as F
from mtl_core.config import ModelConfig
from mtl_core.models import MODELS
from mtl_core.lab.front import pareto_front


def _titled(fig, axes: bool = True):
    assert isinstance(fig, go.Figure)
    assert fig.layout.title.text
    if axes:
        assert fig.layout.xaxis.title.text
        assert fig.layout.yaxis.title.text
    return fig


def _history():
    rows = []
    for e in range(4):
        for split in ("train", "val"):
            for t in ("click", "cart", "sales"):
                rows.append({"epoch": e, "split": split, "task": t, "loss": 1.0 / (e + 1) + (split == "val")})
    return pd.DataFrame(rows)


def _curves():
    return {
        "click": {
            "roc": {"fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1], "thresholds": [1.0, 0.5, 0.1], "auc": 0.75},
            "pr": {"precision": [0.5, 0.7, 1.0], "recall": [1.0, 0.6, 0.0], "thresholds": [0.1, 0.5, 1.0],
                   "ap": 0.66},
            "calibration": {"prob_pred": [0.1, 0.5, 0.9], "prob_true": [0.12, 0.45, 0.8], "count": [10, 5, 3]},
        },
        "cart": {
            "roc": {"fpr": [0, 1], "tpr": [0, 1], "thresholds": [1.0, 0.0]},
            "pr": {"precision": [0.2, 1.0], "recall": [1.0, 0.0], "thresholds": [0.0, 1.0]},
            "calibration": {"prob_pred": [0.2], "prob_true": [0.2], "count": [4]},
        },
    }


def test_loss_curves_one_trace_per_task_and_split():
    fig = _titled(F.loss_curves(_history()))
    assert len(fig.data) == 6
    assert fig.layout.xaxis.title.text == "Epoch" and fig.layout.yaxis.title.text.startswith("Loss")
    dashes = {tr.name: tr.line.dash for tr in fig.data}
    assert dashes["click · train"] == "solid" and dashes["click · val"] == "dash"
    tr = next(t for t in fig.data if t.name == "sales · val")
    assert list(tr.x) == [0, 1, 2, 3] and tr.y[0] == pytest.approx(2.0)
    _titled(F.loss_curves(pd.DataFrame()))


def test_metric_bars():
    metrics = {"tasks": {
        "click": {"kind": "binary", "precision": 0.5, "recall": 0.4, "f1": 0.44, "accuracy": 0.9, "threshold": 0.5},
        "cart": {"kind": "binary", "precision": 0.3, "recall": 0.2, "f1": 0.24, "accuracy": 0.95, "threshold": 0.3},
        "sales": {"kind": "regression", "rmse": 3.0},
    }}
    fig = _titled(F.metric_bars(metrics))
    assert [t.name for t in fig.data] == ["Precision", "Recall", "F1", "Accuracy"]
    assert list(fig.data[0].x) == ["click", "cart"]
    assert list(fig.data[2].y) == [0.44, 0.24]
    assert fig.layout.barmode == "group"


def test_confusion_heatmap_z_equals_input():
    cm = [[50, 10], [5, 35]]
    fig = _titled(F.confusion_heatmap(cm, ["no", "yes"], "Click confusion"))
    hm = fig.data[0]
    assert [list(r) for r in hm.z] == cm
    assert fig.layout.title.text == "Click confusion"
    assert fig.layout.xaxis.title.text == "Predicted" and fig.layout.yaxis.title.text == "Actual"
    assert hm.customdata[0][0] == pytest.approx(50 / 60)
    assert hm.customdata[1][1] == pytest.approx(35 / 40)
    assert "%" in hm.hovertemplate
    assert list(hm.x) == ["no", "yes"]


def test_roc_pr_calibration():
    c = _curves()
    roc = _titled(F.roc_curves(c))
    names = [t.name for t in roc.data]
    assert "click (AUC 0.750)" in names and "cart" in names and "Chance" in names
    click = next(t for t in roc.data if t.name.startswith("click"))
    assert list(click.x) == [0, 0.5, 1] and list(click.y) == [0, 0.8, 1]
    pr = _titled(F.pr_curves(c))
    assert any(t.name == "click (AP 0.660)" for t in pr.data)
    assert list(pr.data[0].x) == [1.0, 0.6, 0.0]
    cal = _titled(F.calibration_plot(c))
    diag = cal.data[0]
    assert list(diag.x) == [0, 1] and list(diag.y) == [0, 1]
    assert list(cal.data[1].x) == [0.1, 0.5, 0.9] and list(cal.data[1].customdata) == [10, 5, 3]
    _titled(F.roc_curves({}))


def test_roc_from_metrics_curves_output():
    from mtl_core.evaluation import metrics as M

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = rng.random(300)
    fig = F.roc_curves({"click": M.curves(y, p)})
    assert fig.data[0].name.startswith("click (AUC")


def test_pred_vs_actual_downsampled_with_diagonal():
    rng = np.random.default_rng(1)
    y = rng.normal(size=12000)
    yhat = y + rng.normal(size=12000)
    fig = _titled(F.pred_vs_actual(y, yhat, "sales", units="EUR"))
    assert len(fig.data[0].x) == 5000
    assert "EUR" in fig.layout.xaxis.title.text and "EUR" in fig.layout.yaxis.title.text
    diag = fig.data[1]
    assert diag.x[0] == diag.y[0] and diag.x[-1] == diag.y[-1]
    small = F.pred_vs_actual([1, 2, np.nan], [1.5, 2.5, 3], "sales")
    assert list(small.data[0].x) == [1, 2]


def test_residuals_hist():
    fig = _titled(F.residuals_hist([1.0, 2.0, 3.0], [1.5, 2.0, 2.0], "sales"))
    assert list(fig.data[0].x) == [-0.5, 0.0, 1.0]


def test_missing_bar_sorted():
    fig = _titled(F.missing_bar({"a": 0.1, "b": 0.5, "c": 0.0}))
    assert list(fig.data[0].x) == ["b", "a", "c"]
    assert list(fig.data[0].y) == [0.5, 0.1, 0.0]


def test_distribution_numeric_and_categorical():
    num = _titled(F.distribution(pd.Series([1.0, 2.0, np.nan, 3.0]), "price"))
    assert isinstance(num.data[0], go.Histogram) and list(num.data[0].x) == [1.0, 2.0, 3.0]
    cats = pd.Series([f"c{i}" for i in range(30) for _ in range(i + 1)])
    cat = _titled(F.distribution(cats, "brand"))
    assert isinstance(cat.data[0], go.Bar)
    assert len(cat.data[0].x) == 20 and cat.data[0].x[0] == "c29" and cat.data[0].y[0] == 30


def test_label_balance():
    fig = _titled(F.label_balance({"click": 0.2, "cart": 0.05, "segment": {"a": 0.5, "b": 0.3, "c": 0.2}}))
    pos = next(t for t in fig.data if t.name == "Positive (binary tasks)")  # not about the segment bar
    assert list(pos.x) == ["click", "cart"] and list(pos.y) == [0.2, 0.05]
    seg = [t for t in fig.data if list(t.x) == ["segment"]]
    assert sum(t.y[0] for t in seg) == pytest.approx(1.0)
    assert next(t for t in F.label_balance({"click": 0.2}).data).name == "Positive"
    only_classes = F.label_balance({"rating": {"1": 0.2, "5": 0.8}})  # no Positive/Negative legend
    assert not only_classes.layout.showlegend and not any("ositive" in (t.name or "") for t in only_classes.data)


def test_ranking_bars():
    ranking = {"click": {"gauc": 0.6, "ndcg@10": 0.5, "hit@10": 0.8, "users": 10},
               "cart": {"gauc": 0.7, "ndcg@10": 0.4, "hit@10": 0.6, "users": 5}}
    fig = _titled(F.ranking_bars(ranking))
    assert [t.name for t in fig.data] == ["GAUC", "NDCG@10", "Hit@10"]
    assert list(fig.data[0].y) == [0.6, 0.7]
    assert len(F.ranking_bars({"ranking": ranking}).data) == 3


def test_lines_over_time():
    w = pd.DataFrame({"epoch": [0, 1, 0, 1], "task": ["a", "a", "b", "b"], "weight": [1.0, 0.8, 1.0, 1.2]})
    fig = _titled(F.task_weights_over_time(w))
    assert len(fig.data) == 2 and list(fig.data[1].y) == [1.0, 1.2]
    g = w.rename(columns={"weight": "grad_norm"})
    assert len(_titled(F.grad_norms_over_time(g)).data) == 2
    c = pd.DataFrame({"epoch": [0, 1, 0, 1], "pair": ["a|b", "a|b", "a|c", "a|c"], "cosine": [0.1, 0.2, -0.3, -0.1]})
    cf = _titled(F.cosine_over_time(c))
    assert [t.name for t in cf.data] == ["a|b", "a|c"]
    assert list(cf.layout.yaxis.range) == [-1.05, 1.05]


def test_grad_cosine_heatmap_symmetric_unit_diagonal():
    tasks = ["a", "b", "c"]
    fig = _titled(F.grad_cosine_heatmap({"a|b": 0.3, "c|a": -0.5, "b|c": 0.1}, tasks))
    hm = fig.data[0]
    z = np.array(hm.z, dtype=float)
    assert np.allclose(z, z.T)
    assert np.allclose(np.diag(z), 1.0)
    assert z[0, 1] == pytest.approx(0.3) and z[0, 2] == pytest.approx(-0.5) and z[1, 2] == pytest.approx(0.1)
    assert hm.zmin == -1 and hm.zmax == 1


def test_gate_heatmap():
    fig = _titled(F.gate_heatmap({"click": [0.5, 0.3, 0.2], "cart": [0.1, 0.9]}))
    hm = fig.data[0]
    assert list(hm.x) == ["Expert 1", "Expert 2", "Expert 3"]
    assert list(hm.y) == ["click", "cart"]
    assert list(hm.z[0]) == [0.5, 0.3, 0.2] and hm.z[1][2] is None


def test_pareto_front_known_set():
    xs = [1, 2, 3, 1.5, 2, np.nan, 3]
    ys = [3, 2, 1, 1, 1.5, 5, 1]
    mask = pareto_front(xs, ys)
    assert mask.tolist() == [True, True, True, False, False, False, True]
    # minimising both axes flips the picture
    assert pareto_front([1, 2, 3], [1, 2, 0], maximize=(False, False)).tolist() == [True, False, True]
    assert pareto_front([], []).tolist() == []


def test_pareto_plot_marks_front():
    pts = pd.DataFrame({"x": [1, 2, 3, 1.5], "y": [3, 2, 1, 1], "label": ["w=0", "w=.5", "w=1", "single"],
                        "kind": ["sweep", "sweep", "sweep", "single"]})
    fig = _titled(F.pareto_plot(pts, "AUC click", "AUC purchase"))
    front = next(t for t in fig.data if t.name == "Pareto front")
    assert list(front.x) == [1, 2, 3] and list(front.y) == [3, 2, 1]
    assert fig.layout.xaxis.title.text == "AUC click · higher is better"
    f2 = F.pareto_plot(pts, "x", "y", front=[0, 2])
    assert list(next(t for t in f2.data if t.name == "Pareto front").x) == [1, 3]
    pts2 = pts.assign(pareto=[False, True, False, False])
    f3 = F.pareto_plot(pts2, "x", "y")
    assert list(next(t for t in f3.data if t.name == "Pareto front").x) == [2]
    assert {t.name for t in fig.data} >= {"Weight sweep", "Single-task"}


def test_correlation_lab_plot():
    df = pd.DataFrame({"correlation": [1.0, 0.0, 0.5] * 2, "model": ["mmoe"] * 3 + ["shared_bottom"] * 3,
                       "value": [0.9, 0.7, 0.8, 0.85, 0.6, 0.7], "std": [0.01] * 6})
    fig = _titled(F.correlation_lab_plot(df))
    assert len(fig.data) == 2
    assert list(fig.data[0].x) == [0.0, 0.5, 1.0] and list(fig.data[0].y) == [0.7, 0.8, 0.9]
    assert fig.data[0].error_y.array is not None
    assert fig.layout.xaxis.title.text == "Task correlation"
    nostd = F.correlation_lab_plot(df.drop(columns="std").rename(columns={"value": "auc"}))
    assert nostd.data[0].error_y.array is None and nostd.layout.yaxis.title.text == "auc"


def test_runs_overlay():
    h = _history()
    fig = _titled(F.runs_overlay({"run-a": h, "run-b": h.assign(loss=h.loss * 2)}))
    assert [t.name for t in fig.data] == ["run-a", "run-b"]
    # val loss mean over 3 tasks at epoch 0 = 1/(0+1) + 1
    assert fig.data[0].y[0] == pytest.approx(2.0)
    assert fig.data[1].y[0] == pytest.approx(4.0)
    per = F.runs_overlay({"run-a": h}, per_task=True)
    assert len(per.data) == 3


def _diagram_boxes(fig):
    """(shape, label annotation) per box, in drawing order."""
    return list(zip(fig.layout.shapes, [a for a in fig.layout.annotations if a.name]))


@pytest.mark.parametrize("tasks", [["click", "cart", "purchase"],
                                   ["ctr", "add_to_cart_within_a_week", "purchase", "rating", "segment", "churned"]])
@pytest.mark.parametrize("arch", MODELS.names())
def test_architecture_diagram_draws_every_registered_model_with_fitting_labels(arch, tasks):
    from mtl_core.figures import architecture as A

    fig = _titled(F.architecture_diagram(arch, tasks), axes=False)
    spec = MODELS.get(arch).diagram(tasks, ModelConfig())
    boxes = _diagram_boxes(fig)
    assert len(boxes) == len(spec.boxes) and fig.layout.height == A.HEIGHT_PX
    hover = " ".join(fig.data[0].text)
    assert all(t in hover for t in tasks)
    bold = [shape for shape, _ in boxes if shape.line.width == 3]
    assert len(bold) == len(spec.representation)
    assert bool(bold) == (MODELS.get(arch).representation is not None)
    assert ("shared representation" in hover) == bool(bold)
    for shape, ann in boxes:  # every label fits its box at the narrowest width the app draws
        w_px, h_px = (shape.x1 - shape.x0) * A.REF_WIDTH_PX, (shape.y1 - shape.y0) * A.PLOT_HEIGHT_PX
        along, across = (w_px, h_px) if not ann.textangle else (h_px, w_px)
        lines = [html.unescape(ln) for ln in ann.text.split("<br>")]
        size = ann.font.size
        assert size >= A.FONT_MIN
        assert max(map(len, lines)) * A.CHAR_W * size <= along, (arch, lines, size, along)
        assert len(lines) * A.LINE_H * size <= across, (arch, lines, size, across)
    assert len(fig.layout.title.text) * A.CHAR_W * A.TITLE_FONT <= A.REF_WIDTH_PX


def test_architecture_diagram_follows_the_run_config():
    tasks = ["click", "cart", "purchase"]
    texts = lambda fig: " ".join(a.text for a in fig.layout.annotations if a.name)  # noqa: E731
    two = F.architecture_diagram("mmoe", tasks, {"n_experts": 2, "lr": 0.1})  # unknown keys are ignored
    assert texts(two).count("Expert") == 2 and "2 shared experts" in two.layout.title.text
    many = F.architecture_diagram("mmoe", tasks, ModelConfig(n_experts=9))
    assert "Experts<br>4–9" in texts(many) and texts(many).count("Expert") == 4
    ple = F.architecture_diagram("ple", tasks, ModelConfig(levels=3, n_shared_experts=3, n_task_experts=2))
    assert "Shared<br>experts ×3" in texts(ple) and texts(ple).count("Own<br>experts ×2") == 3
    assert "3 levels" in ple.layout.title.text
    assert "Gate" in texts(ple)


def test_architecture_diagram_esmm_uses_parent_and_task_kinds():
    from mtl_core.types import TaskInfo

    tasks = [TaskInfo("click", "binary"), TaskInfo("rating", "regression"), TaskInfo("buy", "binary")]
    fig = F.architecture_diagram("esmm", tasks, {"esmm_parent": "buy"})
    labels = {ann.name: ann.text for _, ann in _diagram_boxes(fig)}
    assert labels["tower:buy"].startswith("CTR") and labels["tower:click"].startswith("CVR")
    assert labels["tower:rating"].startswith("Tower") and "op:rating" not in labels
    assert labels["op:click"] == "×" and labels["out:click"].startswith("pCTCVR")


def test_architecture_diagram_unknown_name_is_a_clear_error():
    from mtl_core.errors import ConfigError

    with pytest.raises(ConfigError, match="Unknown architecture 'other'; choose one of"):
        F.architecture_diagram("other", ["click"])


def test_empty_inputs_do_not_raise():
    for fig in (F.metric_bars({}), F.missing_bar({}), F.label_balance({}), F.ranking_bars({}),
                F.gate_heatmap({}), F.pareto_plot(pd.DataFrame(), "x", "y"),
                F.correlation_lab_plot(pd.DataFrame()), F.runs_overlay({}),
                F.task_weights_over_time(pd.DataFrame()), F.grad_cosine_heatmap({}, []),
                F.pred_vs_actual([], [], "t"), F.distribution(pd.Series([], dtype=float), "x")):
        _titled(fig)
