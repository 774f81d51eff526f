"""Tasks: ``TASKS`` registry of :class:`Task` objects (see docs/tasks-and-models.md).

Each built-in task is one small module, imported here explicitly so that it registers.
"""
from predgen_core.tasks.base import (
    TASKS,
    ClassificationTask,
    Example,
    MultipleChoiceTask,
    RegressionTask,
    Task,
    compatible_task,
    get_task,
    register_task,
    require_field,
    subsample,
)
from predgen_core.tasks import sst2, stsb, polarity, piqa, boolq, sick, arc  # noqa: E402,F401  (registration)
from predgen_core.tasks import wassa, lcp, clear, humicroedit, obqa, winogrande, hellaswag, siqa  # noqa: E402,F401

__all__ = [
    "TASKS", "Task", "Example", "ClassificationTask", "RegressionTask", "MultipleChoiceTask",
    "compatible_task", "get_task", "register_task", "require_field", "subsample",
]
