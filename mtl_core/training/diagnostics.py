"""Training diagnostics: per-task gradient norms and conflicts on the shared parameters,
and gate utilisation of gated models (MMoE, PLE).

Pure functions over a model and tensors; torch is imported lazily so importing this module
is cheap. They read gradients with ``torch.autograd.grad`` and never touch ``.grad``.
"""
from __future__ import annotations


def cosine_matrix(G):
    """Pairwise cosine similarity of the rows of ``G [T, P]`` -> ``[T, T]`` (0 for a zero row)."""
    n = G.norm(dim=1, keepdim=True)
    U = G / n.clamp_min(1e-12)
    return (U @ U.T).clamp(-1.0, 1.0)


def task_gradient_stats(model, losses: dict, task_names) -> dict:
    """Gradient norm per task and cosine per task pair on ``model.shared_parameters()``.

    Returns ``{"grad_norm": {task: float}, "cosine": {"a|b": float}}`` (pairs in task order);
    both dicts are empty when the model has no shared parameters. The losses' graph is kept.
    """
    from ..weighting.base import Weighting

    names = list(task_names)
    shared = list(model.shared_parameters()) if hasattr(model, "shared_parameters") else []
    if not shared or not names:
        return {"grad_norm": {}, "cosine": {}}
    G = Weighting.task_gradients(losses, names, shared).detach()  # [T, P]
    norms = G.norm(dim=1).tolist()
    cos = cosine_matrix(G).tolist()
    return {
        "grad_norm": dict(zip(names, norms)),
        "cosine": {f"{a}|{b}": cos[i][j] for i, a in enumerate(names) for j, b in enumerate(names) if i < j},
    }


def gate_utilisation(model, cat, num) -> dict[str, list[float]]:
    """Mean gate weight per expert for each gate (``task`` or ``level{l}/task``) over the
    batch ``(cat, num)``: ``{key: [n_experts floats]}``; ``{}`` for models without gates.
    The model's training mode and ``record_gates`` flag are restored afterwards."""
    import torch

    if not getattr(model, "has_gates", False) or not hasattr(model, "gate_weights"):
        return {}
    was_training, was_recording = model.training, getattr(model, "record_gates", False)
    model.eval()
    model.record_gates = True
    try:
        with torch.no_grad():
            model(cat, num)
            gates = model.gate_weights()
    finally:
        model.record_gates = was_recording
        model.train(was_training)
    out = {}
    for key, g in (gates or {}).items():
        g = g.detach().float()
        if g.dim() >= 3 and g.shape[-1] == 1:  # [B, E, 1] -> [B, E]
            g = g.squeeze(-1)
        out[key] = g.reshape(-1, g.shape[-1]).mean(0).tolist()  # mean over the batch
    return out
