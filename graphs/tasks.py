"""A task with a payload: the input every team's graph gets, the question it stands for, and an optional grader.

Seeded environments are one kind of task; a user's team works on a `Task`
instead: `ParallelTeams.run(task)` or `teammind run --team module:factory
--task "..."` (or `--tasks module:loader` for a list). A loader may return
`Task` objects, plain question strings, or dicts with `input`/`task`/`grade`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from teammind.memory import InvalidFieldError

Grader = Callable[[str], "float | bool"]


@dataclass(frozen=True)
class Task:
    """One task for K parallel teams.

    text: the question (names the bank namespace and is the task admission embeds).
    input: what each team's graph is invoked with; default: the question as one user message.
    grade: `grade(answer) -> float | bool` (1.0 / True passes); None = ungraded.
    id: a stable name for tables and traces; default: a hash of the question.
    """

    text: str
    input: Any = None
    grade: Grader | None = field(default=None, compare=False)
    id: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise InvalidFieldError("task", f"is {self.text!r}", "give the question the teams work on")
        if self.grade is not None and not callable(self.grade):
            raise InvalidFieldError("grade", f"is {type(self.grade).__name__}", "pass a function answer -> float | bool, or None")
        if self.input is None:
            object.__setattr__(self, "input", {"messages": [("user", self.text)]})
        if not self.id:
            object.__setattr__(self, "id", "task-" + hashlib.sha256(self.text.encode()).hexdigest()[:10])


def as_task(item: Any, grade: Grader | None = None) -> Task:
    """A `Task` from a Task, a question string or a dict with `task` (and `input`, `grade`, `id`); `grade` fills in a missing grader."""
    if isinstance(item, Task):
        return item if item.grade is not None or grade is None else Task(item.text, item.input, grade, item.id)
    if isinstance(item, str):
        return Task(item, grade=grade)
    if isinstance(item, Mapping):
        unknown = sorted(set(item) - {"task", "text", "input", "grade", "id"})
        if unknown:
            raise InvalidFieldError(unknown[0], "is not a task field", "use task (or text), input, grade and id")
        text = item.get("task", item.get("text"))
        return Task(text, item.get("input"), item.get("grade") or grade, str(item.get("id") or ""))
    raise InvalidFieldError("task", f"is a {type(item).__name__}", "pass a Task, a question string, or a dict with task/input/grade")


def as_tasks(items: Iterable[Any], grade: Grader | None = None) -> list[Task]:
    """Every item as a `Task` (a loader's output); an empty list is refused."""
    if isinstance(items, (str, Mapping, Task)):
        items = [items]
    tasks = [as_task(item, grade) for item in items]
    if not tasks:
        raise InvalidFieldError("tasks", "is empty", "return at least one task from the loader")
    return tasks
