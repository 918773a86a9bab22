#!/usr/bin/env bash
# Create bench/.venv-rechub with torch-rechub 0.9.0 for bench/run_bench.py.
#
# The venv sees the system site-packages (torch 2.13.0 CPU, numpy, pandas, sklearn), so
# nothing big is downloaded. torch is pinned anyway: an unpinned `pip install torch` would
# fetch gigabytes of CUDA wheels. torch-rechub is installed with --no-deps (its declared
# dependencies would pull another torch); the few modules it imports at import time are
# installed explicitly below.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${RECHUB_VENV:-$here/.venv-rechub}"
py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install -q "torch==2.13.0"
"$venv/bin/python" -m pip install -q --no-deps "torch-rechub==0.9.0"
# modules torch_rechub imports at import time that may be missing from the system
"$venv/bin/python" -m pip install -q tqdm scikit-learn pandas numpy
"$venv/bin/python" - <<'PY'
import torch, torch_rechub
from torch_rechub.models.multi_task import MMOE
from torch_rechub.trainers import MTLTrainer
from torch_rechub.basic.features import SparseFeature, DenseFeature
print("torch", torch.__version__, "torch_rechub", getattr(torch_rechub, "__version__", "0.9.0"), "ok")
PY
