"""How numeric features enter every torch architecture (the shared input layer,
``base.FeatureEmbedding``), chosen by ``preprocess.numeric_encoding`` and carried by the
``FeatureSpec`` (``num_encoding``, ``num_bins``), so no architecture has code of its own:

- ``scalar``: each scaled value as one input (``[B, D] -> [B, D]``);
- ``ple``: piecewise-linear encoding on quantile bins fitted on the training split
  (``FeatureSpec.num_bins``), then a per-feature linear layer and ReLU ("Q-LR" in Gorishniy,
  Rubachev & Babenko, "On Embeddings for Numerical Features in Tabular Deep Learning",
  NeurIPS 2022): ``[B, D] -> [B, D * dim]``;
- ``periodic``: ``sin`` / ``cos`` of ``N_FREQUENCIES`` learned frequencies per feature
  (initialised from N(0, ``SIGMA``)), then a per-feature linear layer and ReLU ("PLR" in the
  same paper): ``[B, D] -> [B, D * dim]``.

The bin edges are buffers rebuilt from the ``FeatureSpec`` (not in the state dict): a saved
run's ``model_meta.json`` restores them, and the weights file keeps only tensors.
"""
from __future__ import annotations

import math

import torch
from torch import nn

N_FREQUENCIES = 16
SIGMA = 0.1


class _PerFeatureLinear(nn.Module):
    """One ``Linear(k -> dim)`` per feature, then ReLU: ``[B, D, k] -> [B, D * dim]``."""

    def __init__(self, n: int, k: int, dim: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(k)
        self.weight = nn.Parameter(torch.empty(n, k, dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n, dim).uniform_(-bound, bound))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.relu(torch.einsum("bfk,fkd->bfd", z, self.weight) + self.bias)  # [B, D, dim]
        return h.reshape(z.shape[0], -1)


class PiecewiseLinear(nn.Module):
    """Piecewise-linear encoding of each feature on its own bins, then ``_PerFeatureLinear``.

    Bin ``t`` of a feature with edges ``b_0 < ... < b_T`` encodes ``(x - b_t) / (b_{t+1} - b_t)``
    clipped to [0, 1]; the first bin is not clipped below and the last not above (values
    outside the training range extrapolate). Features with fewer bins are padded with bins
    that always encode 0.
    """

    def __init__(self, bins: list[list[float]], dim: int) -> None:
        super().__init__()
        n, t = len(bins), max((len(b) - 1 for b in bins), default=1)
        left, width = torch.zeros(n, t), torch.ones(n, t)
        valid, last = torch.zeros(n, t, dtype=torch.bool), torch.zeros(n, t, dtype=torch.bool)
        for i, b in enumerate(bins):
            e = torch.tensor(b, dtype=torch.float32)
            k = len(b) - 1
            left[i, :k], width[i, :k] = e[:-1], e[1:] - e[:-1]
            valid[i, :k] = True
            last[i, k - 1] = True
        first = torch.zeros(n, t, dtype=torch.bool)
        first[:, 0] = True
        for name, v in (("left", left), ("width", width), ("valid", valid), ("first", first), ("last", last)):
            self.register_buffer(name, v, persistent=False)
        self.linear = _PerFeatureLinear(n, t, dim)
        self.output_dim = n * dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x.unsqueeze(-1) - self.left) / self.width  # [B, D, T]
        z = torch.where(self.first, z, z.clamp_min(0.0))
        z = torch.where(self.last, z, z.clamp_max(1.0))
        return self.linear(z * self.valid)


class Periodic(nn.Module):
    """``[sin(2 pi c x), cos(2 pi c x)]`` with learned frequencies ``c`` per feature, then
    ``_PerFeatureLinear``."""

    def __init__(self, n: int, dim: int, k: int | None = None, sigma: float | None = None) -> None:
        super().__init__()
        k, sigma = k or N_FREQUENCIES, SIGMA if sigma is None else sigma  # module constants read at build time
        self.frequencies = nn.Parameter(torch.randn(n, k) * sigma)
        self.linear = _PerFeatureLinear(n, 2 * k, dim)
        self.output_dim = n * dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = 2 * math.pi * x.unsqueeze(-1) * self.frequencies  # [B, D, k]
        return self.linear(torch.cat([torch.sin(v), torch.cos(v)], dim=-1))


def numeric_encoder(features, dim: int) -> nn.Module | None:
    """The encoder of ``features.num_encoding`` (None: the scalars enter as they are)."""
    kind = getattr(features, "num_encoding", "scalar")
    if not features.n_num or kind == "scalar":
        return None
    if kind == "ple":
        if len(features.num_bins) != features.n_num:
            raise ValueError("numeric_encoding 'ple' needs the bins fitted on the training split "
                             f"({features.n_num} features, {len(features.num_bins)} bin lists).")
        return PiecewiseLinear(features.num_bins, dim)
    if kind == "periodic":
        return Periodic(features.n_num, dim)
    raise ValueError(f"Unknown numeric encoding {kind!r}; expected scalar, ple or periodic.")
