"""Building blocks shared by every architecture.

A model is built from a ``FeatureSpec`` (embedded categorical fields + numeric fields), a
list of ``TaskInfo`` and a ``ModelConfig``. ``forward(cat, num)`` returns a dict keyed by task
name: a logit ``[B]`` for binary tasks, a value ``[B]`` for regression (in the scaled target
space), logits ``[B, K]`` for multiclass. What an architecture shares is declared, never
inferred from its name: ``shared_parameters()`` lists the parameters every task's loss reaches
(PCGrad, CAGrad and MGDA combine gradients there), ``shared_representation()`` the tensor(s)
of the last forward pass that every task reads from the shared part (GradNorm and the
gradient diagnostics measure there), ``has_gates`` whether ``gate_weights()`` has anything
to show, and the classmethod ``diagram(tasks, config)`` the boxes and arrows that
``figures.architecture_diagram`` draws.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..types import FeatureSpec, TaskInfo
from .diagram import Diagram
from .numeric import numeric_encoder


class FeatureEmbedding(nn.Module):
    """Embeds every categorical field and concatenates them with the numeric features,
    encoded as ``features.num_encoding`` says (``models.numeric``: the scalars, or
    piecewise-linear / periodic embeddings of ``embed_dim`` each).

    All fields share one big table with per-field offsets (one gather instead of one
    embedding call per field): input ``cat [B, C]`` int32 or int64, ``num [B, D]`` float ->
    output ``[B, C * embed_dim + D]`` (``[B, (C + D) * embed_dim]`` with a numeric embedding).
    """

    def __init__(self, features: FeatureSpec, embed_dim: int, init_std: float = 0.01) -> None:
        super().__init__()
        self.n_cat = features.n_cat
        self.n_num = features.n_num
        self.embed_dim = embed_dim
        cards = [max(int(c), 1) for c in features.cat_cardinalities]
        offsets = torch.tensor([0] + cards[:-1], dtype=torch.long).cumsum(0) if cards else torch.zeros(0, dtype=torch.long)
        self.register_buffer("offsets", offsets, persistent=False)
        self.table = nn.Embedding(max(sum(cards), 1), embed_dim)
        nn.init.normal_(self.table.weight, mean=0.0, std=init_std)
        self.numeric = numeric_encoder(features, embed_dim)  # None: the scalars as they are
        self.output_dim = self.n_cat * embed_dim + (self.numeric.output_dim if self.numeric else self.n_num)

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        parts = []
        if self.n_cat:
            # Performance: ``index_select`` on the weight is the same lookup as
            # ``self.table(...)``, but its backward (zeros + index_add) is ~6x faster on CPU
            # than ``embedding_dense_backward`` (which sorts the indices); see docs/PERFORMANCE.md.
            idx = (cat + self.offsets).reshape(-1)
            parts.append(self.table.weight.index_select(0, idx).view(cat.shape[0], -1))  # [B, C*E]
        if self.n_num:
            parts.append(num if self.numeric is None else self.numeric(num))
        if not parts:
            return num.new_zeros((cat.shape[0], 0))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def mlp(in_dim: int, hidden: list[int], dropout: float = 0.0, out_dim: int | None = None) -> nn.Sequential:
    """Linear-ReLU(-Dropout) stack; an optional final Linear to ``out_dim`` (no activation)."""
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d = h
    if out_dim is not None:
        layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


def mlp_out_dim(in_dim: int, hidden: list[int]) -> int:
    return hidden[-1] if hidden else in_dim


def zero_final_bias(net: nn.Module) -> None:
    """Set the bias of the last Linear in ``net`` to 0 (binary heads start at p = 0.5)."""
    last = [m for m in net.modules() if isinstance(m, nn.Linear)]
    if last and last[-1].bias is not None:
        nn.init.zeros_(last[-1].bias)


class Experts(nn.Module):
    """``n`` independent MLP experts over the same input: ``[B, in_dim] -> [B, n, out_dim]``."""

    def __init__(self, in_dim: int, n: int, hidden: list[int], dropout: float = 0.0) -> None:
        super().__init__()
        self.experts = nn.ModuleList(mlp(in_dim, hidden, dropout) for _ in range(n))
        self.output_dim = mlp_out_dim(in_dim, hidden)
        self.n = n
        self.first_dim = hidden[0] if hidden else 0
        self.dropout = dropout
        # modules after each expert's first Linear-ReLU(-Dropout) block
        self._head_len = 3 if dropout > 0 else 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.first_dim:  # no hidden layer: every expert is the identity
            return torch.stack([e(x) for e in self.experts], dim=1)
        # Performance: the experts' first layers all read the same x, so they run as ONE
        # matmul with the experts' weights concatenated (the parameters and the state dict
        # are unchanged: the concatenation is rebuilt from them on every call). Deeper
        # layers, if any, run per expert. Dropout draws one mask for all experts at once
        # (same distribution as per-expert masks).
        w = torch.cat([e[0].weight for e in self.experts])  # [n*H1, in]
        b = torch.cat([e[0].bias for e in self.experts])
        h = F.relu(F.linear(x, w, b)).view(x.shape[0], self.n, self.first_dim)  # [B, n, H1]
        if self.dropout > 0:
            h = F.dropout(h, self.dropout, self.training)
        if len(self.experts[0]) > self._head_len:
            h = torch.stack([e[self._head_len:](h[:, i]) for i, e in enumerate(self.experts)], dim=1)
        return h  # [B, n, H]


def gated_mix(gate_logits: torch.Tensor, experts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax-gated sum of expert outputs.

    ``gate_logits [B, E]``, ``experts [B, E, H]`` -> (mixture ``[B, H]``, weights ``[B, E]``);
    leading batch dims broadcast, e.g. ``[B, T, E]`` with ``[B, 1, E, H]`` -> ``[B, T, H]``.
    """
    if gate_logits.device.type == "cpu":
        # Performance: torch.softmax over a short last dim (a handful of experts) is ~4x
        # slower on CPU than this stable exp/sum form (subtracting the row max does not change
        # softmax, so detaching it leaves the gradient exact).
        z = (gate_logits - gate_logits.amax(-1, keepdim=True).detach()).exp()
        w = z / z.sum(-1, keepdim=True)
    else:
        w = torch.softmax(gate_logits, dim=-1)  # [B, E]
    # Performance: broadcast multiply + sum instead of bmm([B,1,E], [B,E,H]): batched
    # 1-row matmuls are slow on CPU (2-3x here); same result.
    return (w.unsqueeze(-1) * experts).sum(-2), w


class Towers(nn.Module):
    """One small MLP head per task: input ``[B, in_dim]`` (or a dict task -> ``[B, in_dim]``)
    -> dict task -> output (``[B]`` for 1 output, ``[B, K]`` otherwise)."""

    def __init__(self, in_dim: int, tasks: list[TaskInfo], hidden: list[int], dropout: float = 0.0) -> None:
        super().__init__()
        self.names = [t.name for t in tasks]
        self.n_out = {t.name: t.n_outputs for t in tasks}
        self.heads = nn.ModuleDict({t.name: mlp(in_dim, hidden, dropout, out_dim=t.n_outputs) for t in tasks})
        for t in tasks:
            if t.kind == "binary":
                zero_final_bias(self.heads[t.name])

    def forward(self, x: torch.Tensor | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for name in self.names:
            h = x[name] if isinstance(x, dict) else x
            y = self.heads[name](h)
            out[name] = y.squeeze(-1) if self.n_out[name] == 1 else y
        return out


class MultiTaskModel(nn.Module):
    """Base class of the torch architectures.

    Subclasses build their layers in ``__init__`` (after calling ``super().__init__``),
    implement ``forward`` and the classmethod ``diagram``, and declare what they share:

    - ``shared_modules``: attribute names of the submodules whose parameters every task's
      loss reaches (``shared_parameters`` and ``task_specific_parameters`` derive from it);
    - ``representation``: in words, the tensor every task reads from the shared part, which
      ``forward`` passes through ``self.share(...)``; ``None`` when nothing is shared.
    """

    #: attribute names of submodules whose parameters every task's loss reaches
    shared_modules: tuple[str, ...] = ("embedding",)
    #: the shared representation in words (``None``: the model shares no representation)
    representation: str | None = None
    #: True when the model has per-task gates whose weights can be inspected
    has_gates: bool = False

    def __init__(self, features: FeatureSpec, tasks: list[TaskInfo], config) -> None:
        super().__init__()
        self.features = features
        self.tasks = list(tasks)
        self.task_names = [t.name for t in tasks]
        self.config = config
        self.embedding = FeatureEmbedding(features, config.embed_dim, config.embed_init_std)
        #: when True, gated models store the last batch's gate weights in ``last_gates``
        self.record_gates = False
        self.last_gates: dict[str, torch.Tensor] = {}
        #: when True (the default: GradNorm and the diagnostics need it on every training
        #: batch), a forward pass with gradients enabled keeps its shared representation
        self.record_representation = True
        self._representation: list[torch.Tensor] = []

    # -- what the model shares ----------------------------------------------------------
    def shared_parameters(self) -> list[nn.Parameter]:
        return [p for name in self.shared_modules for p in getattr(self, name).parameters() if p.requires_grad]

    def task_specific_parameters(self) -> list[nn.Parameter]:
        shared = {id(p) for p in self.shared_parameters()}
        return [p for p in self.parameters() if id(p) not in shared and p.requires_grad]

    def share(self, h: torch.Tensor) -> torch.Tensor:
        """Record ``h`` as the shared representation of this forward pass and return the
        tensor the tasks must read. Recorded only while ``record_representation`` is on and
        gradients are enabled (inference keeps nothing); a tensor without a gradient path
        (no learnable shared layer, e.g. numeric features only) is returned as a leaf that
        requires one, so that gradients with respect to it are still defined."""
        if not (self.record_representation and torch.is_grad_enabled()):
            self._representation = []
            return h
        if not h.requires_grad:
            h = h.detach().requires_grad_(True)
        self._representation = [h]
        return h

    def shared_representation(self) -> list[torch.Tensor]:
        """The shared representation of the last forward pass run with gradients enabled
        (see ``representation`` for what it is): a list of tensors every task's output
        depends on, ``[]`` when the model shares none or nothing was recorded."""
        return list(self._representation)

    @classmethod
    def diagram(cls, tasks, config) -> Diagram:  # pragma: no cover - every architecture overrides it
        """Boxes and arrows of the architecture for ``tasks`` (names or ``TaskInfo``) and
        ``config`` (``ModelConfig``); see ``models.diagram``."""
        raise NotImplementedError(f"{cls.__name__} does not describe its diagram")

    @classmethod
    def gate_experts(cls, tasks, config) -> dict[str, list[str]]:
        """Gate key (as in ``gate_weights``) -> the names of the experts it mixes, in gate
        order; ``{}`` for models without gates."""
        return {}

    # -- training -----------------------------------------------------------------------
    def extra_losses(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The architecture's own loss terms for the outputs of a training batch: task ->
        scalar, added to that task's loss before the weighting method combines the losses
        (e.g. AITM's calibrator). Most architectures have none: ``{}``."""
        return {}

    # -- initialisation -----------------------------------------------------------------
    def init_weights(self, scheme: str) -> None:
        """Apply ``default`` (PyTorch's), ``xavier`` or ``kaiming`` init to Linear layers.
        Embedding tables keep their small normal init in every scheme."""
        if scheme == "default":
            return
        for m in self.modules():
            if isinstance(m, nn.Linear):
                if scheme == "xavier":
                    nn.init.xavier_uniform_(m.weight)
                else:  # kaiming (the config admits no other scheme)
                    nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    # -- analysis -----------------------------------------------------------------------
    def gate_weights(self) -> dict[str, torch.Tensor]:
        """Last recorded gate weights: task (or ``level{l}/task``) -> ``[B, n_experts]``.
        Empty for models without gates."""
        return dict(self.last_gates)
