"""Name -> class registries for architectures and weighting methods, with what the app and
the CLI need to know about each entry without importing it.

An entry is registered with its module and class name (imported on first use, so that
``import mtl_core`` and config validation never pay for torch), a display name, a one-line
description and its own settings (``Setting``: which config field it reads, its type,
range, default and help). The Train page and the CLI build their controls from these
settings; nothing outside a registry checks names.

Adding an architecture or a weighting method is one new file plus one ``register`` line in
the package ``__init__``; the registry-wide tests then cover it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError
from .validate import number, number_list


@dataclass(frozen=True)
class Setting:
    """One setting of a registered entry.

    ``field``: the ``ModelConfig`` attribute (architectures) or the
    ``TrainConfig.weighting_params`` key (weighting methods) it sets.
    ``kind``: ``int`` | ``float`` | ``layers`` (a list of layer sizes) | ``task`` (the name of
    one of the run's tasks). ``default``, ``lo`` and ``hi`` are the only place a weighting
    method's parameter default and range are written (``Weighting.hparam`` reads them); an
    architecture's defaults equal the ``ModelConfig`` defaults (a test checks).
    """

    field: str
    label: str
    kind: str = "int"
    default: Any = None
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    help: str = ""

    @property
    def flag(self) -> str:
        """The command-line flag: ``--n-experts`` for ``n_experts``."""
        return "--" + self.field.replace("_", "-")


@dataclass(frozen=True)
class Entry:
    name: str
    module: str
    cls: str
    display: str
    description: str
    settings: tuple[Setting, ...] = field(default_factory=tuple)


class Registry:
    def __init__(self, what: str, package: str) -> None:
        self.what = what
        self.package = package
        self._entries: dict[str, Entry] = {}
        self._loaded: dict[str, Any] = {}

    def register(self, name: str, module: str, cls: str, display: str, description: str,
                 settings: tuple[Setting, ...] | list[Setting] = ()) -> None:
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._entries[name] = Entry(name, module, cls, display, description, tuple(settings))

    def info(self, name: str) -> Entry:
        if name not in self._entries:
            raise ConfigError(
                f"Unknown {self.what} {name!r}; choose one of: {', '.join(sorted(self._entries))}."
            )
        return self._entries[name]

    def get(self, name: str):
        """The class registered as ``name`` (imported on first use)."""
        entry = self.info(name)
        if name not in self._loaded:
            self._loaded[name] = getattr(importlib.import_module(f"{self.package}.{entry.module}"), entry.cls)
        return self._loaded[name]

    def name_of(self, cls: type) -> str | None:
        """The name ``cls`` is registered under (``None`` if it is not registered); found from
        the entry's module and class name, so nothing is imported."""
        for entry in self._entries.values():
            if cls.__module__ == f"{self.package}.{entry.module}" and cls.__name__ == entry.cls:
                return entry.name
        return None

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())


def setting_value(setting: Setting, value, name: str | None = None):
    """``value`` (from a widget or a command-line option) typed for a ``Setting``: ``layers``
    ``"64,32"`` -> ``[64, 32]``, ``int`` / ``float`` a number, ``task`` a task name or None. A ``ConfigError`` names ``name`` (default: the
    setting's label). Ranges are checked by ``ModelConfig.validate`` and the weighting method."""
    name = name or setting.label
    if setting.kind == "layers":
        return number_list(value, name, int, "64,32", lo=1, hi=8192)
    if setting.kind == "task":
        return None if value in (None, "") else str(value)
    integer = setting.kind == "int"
    if integer and isinstance(value, float) and value.is_integer():
        value = int(value)  # a widget's 3.0
    number(name, value, integer=integer)
    return int(value) if integer else float(value)
