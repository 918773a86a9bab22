"""Cleaning and encoding fitted on the training split only, one concern per module:

- ``categorical``: vocabularies of categorical / id columns (0 = unknown, missing or rare);
- ``numeric``: text coercion, missing values, outliers and scaling (scikit-learn's
  ``SimpleImputer`` and scalers);
- ``labels``: task labels, on the rules of :mod:`mtl_core.data.targets`;
- ``preprocessor``: the one :class:`Preprocessor` that runs them (fit / transform, JSON state).
"""
from .preprocessor import Preprocessor

__all__ = ["Preprocessor"]
