"""MTL Lab core library: data, multi-task models, training, metrics and recommendations.

Plain Python (never imports Streamlit). Heavy dependencies (torch, sklearn.metrics) are
imported lazily by the modules that need them, so ``import mtl_core`` is cheap.
"""
from .errors import ConfigError, DataError, MTLError, TrainingError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "MTLError", "TrainingError", "__version__"]
