"""ESMM: Entire Space Multi-task Model.

Ma, Zhao, Huang, Wang, Hu, Zhu, Gai, "Entire Space Multi-Task Model: An Effective Approach
for Estimating Post-Click Conversion Rate", SIGIR 2018. A CTR tower for the parent binary
task (``config.esmm_parent``, default the first binary task) and a CVR tower for every other
binary task share the embedding (and a shared-bottom MLP). A child's output is the logit of
pCTCVR = pCTR * pCVR, so training on the child's labels over ALL impressions fits the
conversion rate without sample-selection bias. Non-binary tasks get ordinary towers.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..types import FeatureSpec, TaskInfo
from .base import MultiTaskModel, Towers, mlp, mlp_out_dim

_LOG_HALF = -math.log(2.0)


def logit_of_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``logit(sigmoid(a) * sigmoid(b))`` computed in log-space (finite for any a, b)."""
    log_p = (F.logsigmoid(a) + F.logsigmoid(b)).clamp(max=-1e-30)  # log p < 0
    # log(1 - p): log(-expm1(x)) is accurate near 0, log1p(-exp(x)) far below it (both
    # branches see clamped inputs so neither produces inf/NaN gradients).
    near = torch.log(-torch.expm1(log_p.clamp(min=_LOG_HALF)))
    far = torch.log1p(-torch.exp(log_p.clamp(max=_LOG_HALF)))
    return log_p - torch.where(log_p > _LOG_HALF, near, far)


class ESMM(MultiTaskModel):
    shared_modules = ("embedding", "bottom")

    def __init__(self, features: FeatureSpec, tasks: list[TaskInfo], config) -> None:
        super().__init__(features, tasks, config)
        binary = [t.name for t in self.tasks if t.kind == "binary"]
        if len(binary) < 2:
            raise ConfigError(
                "The esmm architecture needs at least two binary tasks (a parent such as click and "
                f"a child such as purchase); got {len(binary)}: {', '.join(binary) or 'none'}."
            )
        parent = config.esmm_parent or binary[0]
        if parent not in binary:
            raise ConfigError(
                f"model.esmm_parent must name a binary task, one of: {', '.join(binary)}; got {parent!r}."
            )
        self.parent = parent
        self.children_tasks = [n for n in binary if n != parent]
        d = self.embedding.output_dim
        self.bottom = mlp(d, list(config.hidden), config.dropout)
        # one tower per task: CTR for the parent, CVR for each child, ordinary otherwise
        self.towers = Towers(mlp_out_dim(d, list(config.hidden)), self.tasks,
                             list(config.tower_hidden), config.dropout)
        self.init_weights(config.init)

    def _raw(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.bottom(self.embedding(cat, num))  # [B, H]
        return self.towers(h)  # task -> [B] (CTR / CVR logits) or [B, K]

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self._raw(cat, num)
        ctr = out[self.parent]  # [B] logit of pCTR
        for child in self.children_tasks:
            out[child] = logit_of_product(ctr, out[child])  # [B] logit of pCTCVR
        return out

    def conditional(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        """Conditional probability of each child given the parent (pCVR), ``[B]`` each."""
        raw = self._raw(cat, num)
        return {child: torch.sigmoid(raw[child]) for child in self.children_tasks}
