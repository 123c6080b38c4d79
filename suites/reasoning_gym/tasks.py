"""reasoning-gym items as `Task`s for your own teams: the question, and the dataset's own scorer as the grader.

    teammind run --team mymodule:make_team --tasks teammind.suites.reasoning_gym.tasks:load_tasks:dataset=chain_sum,n=10

Item `seed` is the one `rg:<dataset>` plays for that seed, so a task list and
an environment run over the same seeds see the same questions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from teammind.graphs.tasks import Task
from teammind.suites.options import as_int
from teammind.suites.reasoning_gym.env import RGEnv, _dataset


def grader(dataset: Any, entry: dict[str, Any]) -> Callable[[str], float]:
    """The dataset's `score_answer` for one item, clipped to [0, 1]; an answer it cannot parse scores 0."""

    def grade(answer: str) -> float:
        try:
            score = float(dataset.score_answer(answer.strip(), entry))
        except Exception:  # noqa: BLE001 - some scorers raise on text they cannot parse: that answer is simply wrong
            return 0.0
        return 0.0 if math.isnan(score) else min(1.0, max(0.0, score))

    return grade


def load_tasks(dataset: str = "chain_sum", n: int | str = 10, seed: int | str = 0, **options: Any) -> list[Task]:
    """`n` items of `dataset` (seeds `seed`..`seed + n - 1`), each graded by the dataset's scorer; `options` as in `rg:` specs."""
    count, first = as_int("n", n, 1), as_int("seed", seed, 0)
    env = RGEnv(dataset, options)
    tasks = []
    for s in range(first, first + count):
        observation = env.reset(s)
        assert env.entry is not None and env.dataset is not None
        tasks.append(Task(text=observation.task, grade=grader(_dataset(env.dataset, env.options), env.entry), id=f"rg:{dataset}:{s}"))
    return tasks
