"""ESMM: Entire Space Multi-task Model.

Ma, Zhao, Huang, Wang, Hu, Zhu, Gai, "Entire Space Multi-Task Model: An Effective Approach
for Estimating Post-Click Conversion Rate", SIGIR 2018. A CTR tower for the parent binary
task (``config.esmm_parent``, default the first binary task) and a CVR tower for every other
binary task on a shared bottom: the network *is* shared-bottom (this class only adds the
product). A child's output is the logit of pCTCVR = pCTR * pCVR, so training on the child's
labels over ALL impressions fits the conversion rate without sample-selection bias.
Non-binary tasks get ordinary towers.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..types import FeatureSpec, TaskInfo
from .diagram import Diagram, DiagramBuilder
from .shared_bottom import SharedBottom, bottom_box

_LOG_HALF = -math.log(2.0)


def logit_of_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``logit(sigmoid(a) * sigmoid(b))`` computed in log-space (finite for any a, b)."""
    log_p = (F.logsigmoid(a) + F.logsigmoid(b)).clamp(max=-1e-30)  # log p < 0
    # log(1 - p): log(-expm1(x)) is accurate near 0, log1p(-exp(x)) far below it (both
    # branches see clamped inputs so neither produces inf/NaN gradients).
    near = torch.log(-torch.expm1(log_p.clamp(min=_LOG_HALF)))
    far = torch.log1p(-torch.exp(log_p.clamp(max=_LOG_HALF)))
    return log_p - torch.where(log_p > _LOG_HALF, near, far)


def parent_and_children(tasks: list[TaskInfo], parent: str | None) -> tuple[str, list[str]]:
    """The parent binary task (``parent`` or the first binary task) and the other binary
    tasks; a ``ConfigError`` when there are fewer than two or ``parent`` is not one."""
    binary = [t.name for t in tasks if t.kind == "binary"]
    if len(binary) < 2:
        raise ConfigError(
            "The esmm architecture needs at least two binary tasks (a parent such as click and "
            f"a child such as purchase); got {len(binary)}: {', '.join(binary) or 'none'}."
        )
    parent = parent or binary[0]
    if parent not in binary:
        raise ConfigError(
            f"model.esmm_parent must name a binary task, one of: {', '.join(binary)}; got {parent!r}."
        )
    return parent, [n for n in binary if n != parent]


class ESMM(SharedBottom):
    def __init__(self, features: FeatureSpec, tasks: list[TaskInfo], config) -> None:
        parent, children = parent_and_children(list(tasks), config.esmm_parent)
        super().__init__(features, tasks, config)
        self.parent, self.children_tasks = parent, children

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        out = super().forward(cat, num)  # task -> [B] (CTR / CVR logits) or [B, K]
        ctr = out[self.parent]  # [B] logit of pCTR
        for child in self.children_tasks:
            out[child] = logit_of_product(ctr, out[child])  # [B] logit of pCTCVR
        return out

    def conditional(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        """Conditional probability of each child given the parent (pCVR), ``[B]`` each."""
        raw = super().forward(cat, num)
        return {child: torch.sigmoid(raw[child]) for child in self.children_tasks}

    @classmethod
    def diagram(cls, tasks, config) -> Diagram:
        b = DiagramBuilder("ESMM: pCTCVR = pCTR × pCVR", tasks)
        known = [t for t in b.tasks if b.kinds.get(t) in ("binary", None)]
        parent = config.esmm_parent if config.esmm_parent in known else (known or b.tasks)[0]
        children = [t for t in known if t != parent]
        h = bottom_box(b, b.inputs(), config)
        labels = {parent: "CTR tower\n{task}", **{c: "CVR tower\n{task}" for c in children}}
        towers = {t: b.box(f"tower:{t}", labels.get(t, "Tower\n{task}").format(task=t), "tower", 2, t,
                           f"pCVR: probability of {t} given {parent}" if t in children else
                           f"pCTR: probability of {t}" if t == parent else f"Task tower of {t}")
                  for t in b.tasks}
        b.fan([h], towers.values())
        ops = b.per_task("op", "×", "op", 3, f"pCTCVR({{task}}) = pCTR({parent}) × pCVR({{task}})", children)
        b.pair(towers, ops)
        b.fan([towers[parent]], ops.values())
        outs = b.outputs(4, {parent: f"pCTR\n{parent}", **{c: f"pCTCVR\n{c}" for c in children}})
        b.pair({**towers, **ops}, outs)
        return b.build(representation=[h])
