"""Declarative architecture diagrams: what each architecture shares, as boxes and arrows.

Every registered architecture class has a classmethod ``diagram(tasks, config) -> Diagram``
built from its tasks and ``ModelConfig`` (number of experts, levels, parent task...);
``mtl_core.figures.architecture_diagram`` lays any ``Diagram`` out and draws it, so the
figure code never checks an architecture's name. This module imports neither torch nor
plotly.

A ``Box`` sits in a ``column`` (data flows left to right). A box with a ``task`` belongs to
that task; a column whose boxes all belong to different tasks is drawn as one box per task
row, any other column stacks its boxes top to bottom in order (a box alone in its column
spans the full height). ``Diagram.representation`` names the boxes whose output is the
model's shared representation (what GradNorm and the gradient diagnostics measure).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

#: box kinds the figure knows how to style
KINDS = ("input", "shared", "expert", "gate", "tower", "output", "op")


@dataclass(frozen=True)
class Box:
    id: str
    label: str  # lines separated by "\n"
    kind: str
    column: int
    task: str | None = None
    hover: str = ""


@dataclass(frozen=True)
class Diagram:
    title: str
    tasks: tuple[str, ...]
    boxes: tuple[Box, ...]
    arrows: tuple[tuple[str, str], ...]
    representation: tuple[str, ...] = ()

    @property
    def n_columns(self) -> int:
        return 1 + max((b.column for b in self.boxes), default=0)


def task_names_and_kinds(tasks: Sequence) -> tuple[list[str], dict[str, str | None]]:
    """Names and kinds (``None`` when unknown) from task names or ``TaskInfo`` objects."""
    names = [str(getattr(t, "name", t)) for t in tasks] or ["task"]
    kinds = {str(getattr(t, "name", t)): getattr(t, "kind", None) for t in tasks}
    return names, kinds


class DiagramBuilder:
    """Collects boxes and arrows; the architectures' ``diagram`` classmethods use it."""

    def __init__(self, title: str, tasks: Sequence) -> None:
        self.title = title
        self.tasks, self.kinds = task_names_and_kinds(tasks)
        self.boxes: list[Box] = []
        self.arrows: list[tuple[str, str]] = []

    def box(self, id: str, label: str, kind: str, column: int, task: str | None = None, hover: str = "") -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown box kind {kind!r}")
        self.boxes.append(Box(id, label, kind, column, task, hover or label.replace("\n", " ")))
        return id

    def per_task(self, prefix: str, label: str, kind: str, column: int, hover: str = "",
                 tasks: Iterable[str] | None = None) -> dict[str, str]:
        """One box per task (``{task}`` in ``label``/``hover`` is the task's name)."""
        return {t: self.box(f"{prefix}:{t}", label.format(task=t), kind, column, t, hover.format(task=t))
                for t in (self.tasks if tasks is None else tasks)}

    def arrow(self, src: str, dst: str) -> None:
        self.arrows.append((src, dst))

    def fan(self, srcs: Iterable[str], dsts: Iterable[str]) -> None:
        """An arrow from every source to every destination."""
        dsts = list(dsts)
        for s in srcs:
            for d in dsts:
                self.arrow(s, d)

    def pair(self, srcs: dict[str, str], dsts: dict[str, str]) -> None:
        """An arrow from each task's source to the same task's destination."""
        for t, d in dsts.items():
            if t in srcs:
                self.arrow(srcs[t], d)

    # -- the parts most architectures share --------------------------------------------------
    def inputs(self) -> str:
        return self.box("input", "Features +\nembeddings", "input", 0,
                        hover="Input: categorical embeddings + numeric features")

    def towers(self, column: int, src: str | dict[str, str], label: str = "Tower\n{task}") -> dict[str, str]:
        """Per-task towers in ``column`` fed by ``src`` (one box or one per task), and the
        outputs in the next column."""
        towers = self.per_task("tower", label, "tower", column, "Task tower of {task}")
        if isinstance(src, dict):
            self.pair(src, towers)
        else:
            self.fan([src], towers.values())
        self.pair(towers, self.outputs(column + 1))
        return towers

    def outputs(self, column: int, labels: dict[str, str] | None = None) -> dict[str, str]:
        labels = labels or {}
        return {t: self.box(f"out:{t}", labels.get(t, t), "output", column, t, f"Prediction for {t}")
                for t in self.tasks}

    def experts(self, column: int, n: int, src: str, hover: str, show: int = 4) -> list[str]:
        """``n`` expert boxes (at most ``show``: the last one stands for the rest)."""
        n = max(int(n), 1)
        labels = [f"Expert {i + 1}" for i in range(n)]
        if n > show:
            labels = labels[: show - 1] + [f"Experts\n{show}–{n}"]
        ids = [self.box(f"expert:{i}", lab, "expert", column, hover=hover) for i, lab in enumerate(labels)]
        self.fan([src], ids)
        return ids

    def build(self, representation: Iterable[str] = ()) -> Diagram:
        ids = {b.id for b in self.boxes}
        rep = tuple(representation)
        missing = [i for a in self.arrows for i in a if i not in ids] + [i for i in rep if i not in ids]
        if missing:
            raise ValueError(f"diagram refers to unknown boxes: {missing}")
        return Diagram(self.title, tuple(self.tasks), tuple(self.boxes), tuple(self.arrows), rep)
