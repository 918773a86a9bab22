"""Each ``torchrun`` rank's share of the prepared data (WORLD_SIZE > 1).

The split is seeded, so every rank computes the same one. The preprocessing is fitted once,
by rank 0, on the whole training split and sent to the other ranks in its JSON form
(``Preprocessor.to_dict``); every rank then encodes only its shard of the training rows
(positions ``rank, rank + world, ...`` of the training split), so the prepared arrays and the
training tensors of a rank shrink with the world size. Only rank 0, which validates, scores
the test split and writes the run, encodes the validation and test rows and keeps the raw
table; the other ranks drop it once their shard is encoded.

Rank 0 fits rather than every rank: the other ranks never build the fit's intermediate
arrays, and the preprocessing is identical on every rank by construction rather than by the
determinism of every fitting step. Without torchrun everything here is the one-process path.
"""
from __future__ import annotations

import numpy as np

from . import distributed
from .distributed import Ranks


def data_ranks(device_name: str) -> Ranks:
    """This process's ``Ranks`` while preparing data: joins torchrun's process group (on the
    device training will use) when WORLD_SIZE > 1; ``Ranks()`` otherwise."""
    if distributed.dist_env_world_size() <= 1:
        return Ranks()
    from .device import pick_device

    return distributed.join(pick_device(device_name))[1]


def encode_splits(pre, fitted: bool, df, splits: dict, ranks: Ranks) -> tuple[object, dict, dict]:
    """(fitted preprocessor, ``{"train", "val", "test"}`` encoded with ``index`` = positions in
    ``df``, shard facts). ``pre`` is a fresh preprocessor, or a continued run's fitted one
    (``fitted``: applied unchanged). Under torchrun ``encoded["train"]`` holds this rank's
    shard only, and ``val``/``test`` are empty on every rank but 0."""
    train_pos = np.asarray(splits["train"])
    if not ranks.active:
        train_df = pre.rows(df, train_pos)  # each column's rows read when encoded: no copy of the frame's rows
        encoded = {"train": pre.transform(train_df) if fitted else pre.fit_transform(train_df)}
        del train_df
        for name in ("val", "test"):
            encoded[name] = pre.transform(pre.rows(df, splits[name]))
        positions = {name: np.asarray(splits[name]) for name in encoded}
    else:
        if not fitted:
            if ranks.rank == 0:
                pre.fit(df.iloc[train_pos])
            (state,) = ranks.from_rank0(pre.to_dict() if ranks.rank == 0 else None)
            pre = pre if ranks.rank == 0 else type(pre).from_dict(state)
        positions = {"train": train_pos[ranks.rank::ranks.world]}
        shard = df.iloc[positions["train"]]
        encoded = {"train": pre.transform(shard) if fitted else pre.transform_train(shard)}
        del shard
        for name in ("val", "test"):
            positions[name] = np.asarray(splits[name]) if ranks.rank == 0 else train_pos[:0]
            encoded[name] = pre.transform(df.iloc[positions[name]])
    for name, enc in encoded.items():  # positions in the original frame of the rows that survived cleaning
        enc.index = positions[name][enc.index]
    return pre, encoded, shard_facts(encoded["train"], ranks)


def shard_facts(train, ranks: Ranks) -> dict:
    """``{"world", "rank", "train_rows" (this rank's), "train_rows_all" (every rank's)}``;
    under torchrun rank 0 also gets ``"train_index"``: the positions of every rank's training
    rows (what the saved run's training interactions are built from)."""
    facts = {"world": ranks.world, "rank": ranks.rank, "train_rows": len(train), "train_rows_all": len(train)}
    if ranks.active:
        import torch.distributed as dist

        gathered: list = [None] * ranks.world
        dist.all_gather_object(gathered, np.asarray(train.index, dtype=np.int64))
        facts["train_rows_all"] = int(sum(len(g) for g in gathered))
        if ranks.rank == 0:
            facts["train_index"] = np.sort(np.concatenate(gathered))
    return facts
