"""Fixed weighting: ``total = sum_t w_t * L_t`` with the user's ``train.task_weights``
(1.0 for tasks not listed, i.e. equal weighting by default). The base-class behaviour."""
from __future__ import annotations

from .base import Weighting


class Fixed(Weighting):
    """Constant user-set weight per task."""
