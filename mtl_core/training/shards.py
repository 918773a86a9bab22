"""Each ``torchrun`` rank's share of the prepared data (WORLD_SIZE > 1).

The split is seeded, so every rank computes the same one. The preprocessing is fitted once,
by rank 0, on the whole training split and sent to the other ranks in its JSON form
(``Preprocessor.to_dict``); every rank then encodes only its shard of the training rows
(positions ``rank, rank + world, ...`` of the training split), so the prepared arrays and the
training tensors of a rank shrink with the world size. Only rank 0, which validates, scores
the test split and writes the run, encodes the validation and test rows and keeps the raw
table.

Only rank 0 reads the file. It infers the schema, resolves the tasks, splits and fits, then
sends every other rank what preparing its shard needs (``send_shards``: the run's settings,
the schema, the tasks, the fitted preprocessing) and that rank's training rows only, in
messages of ``ROWS_PER_MESSAGE`` rows; the other ranks never hold the whole table, so their
memory falls with the world size. An error of rank 0 before that point (a bad file, a label
with one class) reaches the other ranks as the same error (``receive_shard``) instead of
leaving them waiting.

Rank 0 fits rather than every rank: the other ranks never build the fit's intermediate
arrays, and the preprocessing is identical on every rank by construction rather than by the
determinism of every fitting step. Without torchrun everything here is the one-process path.

The messages travel with ``torch.distributed``'s object send, which pickles: they go between
the processes of one run only (never a file, never anything a user uploaded as such).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, MTLError, TrainingError

from . import distributed
from .distributed import Ranks

ROWS_PER_MESSAGE = 200_000  # rows of one message to another rank: bounds the pickled copy in memory
_ERRORS = {c.__name__: c for c in (ConfigError, DataError, TrainingError, MTLError)}


def data_ranks(device_name: str) -> Ranks:
    """This process's ``Ranks`` while preparing data: joins torchrun's process group (on the
    device training will use) when WORLD_SIZE > 1; ``Ranks()`` otherwise."""
    if distributed.dist_env_world_size() <= 1:
        return Ranks()
    from .device import pick_device

    return distributed.join(pick_device(device_name))[1]


def encode_splits(pre, fitted: bool, df, splits: dict, ranks: Ranks,
                  context: dict | None = None) -> tuple[object, dict, dict]:
    """(fitted preprocessor, ``{"train", "val", "test"}`` encoded with ``index`` = positions in
    ``df``, shard facts). ``pre`` is a fresh preprocessor, or a continued run's fitted one
    (``fitted``: applied unchanged). Under torchrun ``encoded["train"]`` holds this rank's
    shard only, and ``val``/``test`` are empty on every rank but 0; rank 0 sends the other
    ranks ``context`` (what else they need to prepare) with the fitted preprocessing and
    their rows, and marks ``context["sent"]``."""
    train_pos = np.asarray(splits["train"])
    if not ranks.active:
        train_df = df.iloc[train_pos]
        encoded = {"train": pre.transform(train_df) if fitted else pre.fit_transform(train_df)}
        del train_df
        for name in ("val", "test"):
            encoded[name] = pre.transform(df.iloc[splits[name]])
        positions = {name: np.asarray(splits[name]) for name in encoded}
    else:
        if ranks.rank == 0:
            if not fitted:
                pre.fit(df.iloc[train_pos])
            send_shards(df, train_pos, ranks, {**(context or {}), "preprocessor": pre.to_dict(), "fitted": fitted})
            if context is not None:
                context["sent"] = True
            positions = {"train": train_pos[0::ranks.world]}
            shard = df.iloc[positions["train"]]
        else:  # ``df`` is this rank's training rows as rank 0 sent them, ``splits["train"]`` their positions
            positions, shard = {"train": train_pos}, df
        encoded = {"train": pre.transform(shard) if fitted else pre.transform_train(shard)}
        del shard
        for name in ("val", "test"):
            positions[name] = np.asarray(splits[name]) if ranks.rank == 0 else train_pos[:0]
            encoded[name] = pre.transform(df.iloc[positions[name]])
    for name, enc in encoded.items():  # positions in the original frame of the rows that survived cleaning
        enc.index = positions[name][enc.index]
    facts = shard_facts(encoded["train"], ranks)
    facts["raw_rows"] = len(df)  # rows of the raw table this process held: the whole table on rank 0 only
    return pre, encoded, facts


def shard_facts(train, ranks: Ranks) -> dict:
    """``{"world", "rank", "train_rows" (this rank's), "train_rows_all" (every rank's)}``
    (``encode_splits`` adds ``raw_rows``: the rows of the raw table this process held);
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


def send_shards(df: pd.DataFrame, train_pos: np.ndarray, ranks: Ranks, context: dict) -> None:
    """Rank 0: every other rank gets ``context`` and its training rows (positions
    ``train_pos[rank::world]`` of ``df``), ``ROWS_PER_MESSAGE`` rows a message."""
    import torch.distributed as dist

    for r in range(1, ranks.world):
        pos = np.asarray(train_pos[r::ranks.world])
        dist.send_object_list([{**context, "train_positions": pos}], dst=r)
        for start in range(0, len(pos), ROWS_PER_MESSAGE):
            dist.send_object_list([df.iloc[pos[start:start + ROWS_PER_MESSAGE]]], dst=r)
        dist.send_object_list([df.iloc[:0]], dst=r)  # the columns, and the end of the rows


def send_error(ranks: Ranks, error: BaseException) -> None:
    """Rank 0 failed before sending the shards: the other ranks raise the same error."""
    import torch.distributed as dist

    kind = type(error).__name__ if type(error).__name__ in _ERRORS else "MTLError"
    for r in range(1, ranks.world):
        dist.send_object_list([{"error": str(error), "kind": kind}], dst=r)


def receive_shard(ranks: Ranks) -> tuple[dict, pd.DataFrame]:
    """Another rank than 0: (what rank 0 sent, this rank's training rows with their positions
    in ``context["train_positions"]``); rank 0's error, raised here, if it failed first."""
    import torch.distributed as dist

    box: list = [None]
    dist.recv_object_list(box, src=0)
    context = box[0]
    if "error" in context:
        raise _ERRORS.get(context["kind"], MTLError)(context["error"])
    parts: list = []
    while True:
        dist.recv_object_list(box, src=0)
        if len(box[0]) == 0:  # the end: an empty frame with the columns
            break
        parts.append(box[0])
    rows = box[0] if not parts else parts[0] if len(parts) == 1 else pd.concat(parts, copy=False)
    del parts
    return context, rows
