"""Command line: ``python -m mtl_core COMMAND ...``, one module per command group.

- ``data``: ``inspect``, ``events``, ``synth``
- ``train``: ``train``, ``recommend``
- ``lab``: ``baseline``, ``sweep``, ``corrlab``

over the shared option builders of ``options`` (reading a table; the training options,
declared once, with the architecture and weighting flags taken from the registries);
``main`` builds the parser and dispatches. Errors print one line starting with ``error:`` on
stderr and exit with status 2; ``--verbose`` adds the traceback of an unexpected error.
"""
from __future__ import annotations

from .main import build_parser, main
from .options import config_from_args

__all__ = ["build_parser", "config_from_args", "main"]
