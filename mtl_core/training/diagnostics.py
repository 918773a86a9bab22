"""Training diagnostics: per-task gradient norms and conflicts on the model's shared
representation, and gate utilisation of gated models (MMoE, PLE).

Gradients are measured where GradNorm measures them: with respect to the shared
representation each architecture declares (``model.shared_representation()``, recorded by
the forward pass the losses come from), so the gradient-norm chart shows the very quantity
GradNorm balances, and the cosines say whether two tasks pull the representation every
task reads in the same direction. (PCGrad, CAGrad and MGDA act on the shared
*parameters*; the gradients there are the representation gradients pulled back through the
shared layers.) Pure functions over a model and tensors; torch is imported lazily so
importing this module is cheap. They read gradients with ``torch.autograd.grad`` and never
touch ``.grad``.
"""
from __future__ import annotations


def cosine_matrix(G):
    """Pairwise cosine similarity of the rows of ``G [T, P]`` -> ``[T, T]`` (0 for a zero row)."""
    n = G.norm(dim=1, keepdim=True)
    U = G / n.clamp_min(1e-12)
    return (U @ U.T).clamp(-1.0, 1.0)


def task_gradient_stats(model, losses: dict, task_names) -> dict:
    """Gradient norm per task and cosine per task pair on the model's shared representation.

    ``losses`` must come from the model's last forward pass (run with gradients enabled).
    Returns ``{"grad_norm": {task: float}, "cosine": {"a|b": float}}`` (pairs in task order);
    both dicts are empty when the model shares no representation. The losses' graph is kept.
    """
    from ..weighting.base import Weighting

    names = list(task_names)
    G = Weighting.representation_gradients(losses, names, model) if names else None  # [T, P]
    if G is None:
        return {"grad_norm": {}, "cosine": {}}
    G = G.detach().float()
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

    if not getattr(model, "has_gates", False):
        return {}
    was_training, was_recording = model.training, model.record_gates
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
    for key, g in gates.items():  # [B, E] each
        out[key] = g.detach().float().reshape(-1, g.shape[-1]).mean(0).tolist()  # mean over the batch
    return out
