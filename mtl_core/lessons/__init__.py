"""Guided lessons: small experiments with pinned settings that each show one multi-task
effect, say what to notice and what to expect, and check whether this run showed it.

A ``Lesson`` is data (id, title, question, pinned settings, what to notice, expected result,
a robustness note) plus two functions: ``run(seeds, reporter, cancel)`` trains through the
lab's library and returns the numbers per seed, and ``check(observations)`` says whether the
expected effect showed (``Verdict``). ``run_lesson`` runs one on a set of seeds with
progress (``callback(progress dict)``, as the lab's experiments) and a cancel event, so the
app runs it as a background job. No Streamlit here.
"""
from .catalog import LESSONS
from .core import Lesson, LessonResult, Verdict, run_lesson

__all__ = ["LESSONS", "Lesson", "LessonResult", "Verdict", "get_lesson", "lesson_ids", "run_lesson"]


def get_lesson(lesson_id: str) -> Lesson:
    """The lesson with this id, or a ConfigError naming the known ones."""
    from ..validate import choice

    return LESSONS[choice("lesson", lesson_id, tuple(LESSONS))]


def lesson_ids() -> list[str]:
    return list(LESSONS)
