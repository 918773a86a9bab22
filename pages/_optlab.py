"""The Trade-off lab page's "Optimisers" tab: the same data, split and seed trained with
several optimisers (full-batch gradient descent, SGD, momentum, Adam, AdamW) and
initialisations, loss curves overlaid (logic in ``mtl_core.lab.optimisers``)."""
from __future__ import annotations

import copy
from functools import partial

import streamlit as st

from mtl_core import lab
from mtl_core.config import INITS
from mtl_core.safe_text import md
from pages import _ui

INIT_LABELS = {"default": "PyTorch default", "xavier": "Xavier (Glorot)", "kaiming": "Kaiming (He)"}


def optimiser_tab(train_config, start_button, needs_tasks) -> None:
    """The tab: ``train_config()`` the Train page's RunConfig, ``start_button`` and
    ``needs_tasks`` the lab page's helpers (progress panel + start, data check)."""
    ss = st.session_state
    st.markdown("Trains the Train page's model on the same data, split and seed with each optimiser and "
                "initialisation you pick, and overlays the loss curves. **Full-batch GD** is plain gradient "
                "descent: one step per epoch over every training row.")
    if needs_tasks(1, "ol"):
        with _ui.errors_here():
            _controls(train_config(), start_button, ss)
    saved = lab.list_optimiser_labs(_ui.runs_root())
    if saved:
        with _ui.errors_here():
            _latest(saved[0])


def _controls(cfg, start_button, ss) -> None:
    recipes = list(lab.OPTIMISER_RECIPES)
    c1, c2, c3 = st.columns([2, 2, 1])
    opts = c1.multiselect("Optimisers", recipes, default=["gd", "sgd", "momentum", "adam"], key="ol_opts",
                          format_func=lab.OPTIMISER_LABELS.get)
    inits = c2.multiselect("Initialisations", list(INITS), default=list(INITS), key="ol_inits",
                           format_func=INIT_LABELS.get)
    epochs = c3.number_input("Epochs", 1, 100, min(int(cfg.train.epochs), 10), key="ol_epochs")
    with st.expander("Learning rate of each optimiser"):
        cols = st.columns(len(recipes))
        lrs = {o: cols[i].number_input(lab.OPTIMISER_LABELS[o], 1e-5, 10.0, float(lab.OPTIMISER_LR[o]),
                                       format="%.4g", key=f"ol_lr_{o}") for i, o in enumerate(recipes)}
    run_cfg = copy.deepcopy(cfg)
    run_cfg.train.epochs = int(epochs)
    st.caption(f"{len(opts) * len(inits)} trainings of {int(epochs)} epochs ({cfg.model.arch}, minibatch "
               f"{cfg.train.batch_size}, seed {cfg.train.seed}; change them on the Train page).")
    start_button("ol", "Optimiser lab", "Compare optimisers", ":material/speed:",
                 None if opts and inits else "Choose at least one optimiser and one initialisation.",
                 partial(lab.optimiser_lab, run_cfg, ss["df"], optimisers=list(opts), inits=list(inits),
                         lrs={o: lrs[o] for o in opts}, runs_root=_ui.runs_root(), background=True))


def _latest(meta: dict) -> None:
    from mtl_core import figures

    table = lab.load_optimiser_lab(meta["path"])
    c1, c2 = st.columns([3, 1])
    split = c1.radio("Loss", ["val", "train"], horizontal=True, key="ol_split",
                     format_func={"val": "Validation", "train": "Training"}.get)
    log_y = c2.checkbox("Log scale", value=False, key="ol_log")
    _ui.plot(figures.optimiser_curves(table.attrs["curves"], split=split, log_y=log_y),
             key=f"ol_plot_{meta['id']}_{split}_{log_y}")
    st.markdown("\n".join(f"- {md(line)}" for line in table.attrs["explanation"]))
    st.caption(f"Same colour = same optimiser, same dash = same initialisation. {meta.get('arch', '')} · "
               f"{meta.get('epochs', '?')} epochs · seed {meta.get('seed', '?')} · {meta.get('seconds', '?')} s · "
               f"{meta.get('status', '')} · {meta.get('created', '')}.")
    st.dataframe(table, hide_index=True, key=f"ol_table_{meta['id']}",
                 column_config={c: st.column_config.NumberColumn(format="%.4f") for c in table.columns
                                if c.endswith("_loss") or c.startswith("test_")})
