"""Progress of every long phase, one way: a rich bar on stderr, or one line per phase.

On a terminal (``Console(stderr=True).is_terminal``) a phase is a live rich bar (a spinner when its
total is unknown) with the elapsed and remaining time; phases that run inside another share the one
live display (rich allows one), each as its own row. When a phase ends it prints one line on
stderr, on a terminal or not, e.g. ``extracting states: 600/600 rows, done in 12.0 s``; stderr that
is not a terminal (a pipe, a log file, CI) gets that line and nothing else. A phase that fails
prints nothing: the error line speaks for it. ``enabled=False`` is silent; ``min_seconds`` keeps
short phases silent.

Used by training (``methods.progress.RichProgress``), the prediction passes (validation after
training, ``predgen evaluate``, ``zero-shot``: ``methods.runtime.track``), state extraction, probing
and ``mi bench``. Import-light (rich only): the CLIs import it before torch.
"""
from __future__ import annotations

import time
from typing import Any, Iterable, Iterator, Optional

from rich.console import Console
from rich.progress import (BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

# the one live display, how many phases show in it, and how many phases are open (any mode)
_shared: dict[str, Any] = {"progress": None, "open": 0, "depth": 0}


def stderr_console() -> Console:
    """The console every phase writes to (stderr; rich decides whether it is a terminal)."""
    return Console(stderr=True)


def seconds_text(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds:.0f} s"


class Phase:
    """One phase of work: ``with Phase("extracting states", total=600, unit="rows") as p: ... p.advance(n)``.

    ``min_seconds``: the closing line is printed only for a phase that took at least this long (for
    work that is often instant, such as one small estimate from Python); such a phase opened inside
    another phase is silent (``mi bench``'s bar counts its estimates).

    ``advance(task_id, advance)`` and ``update(task_id, ...)`` take rich ``Progress``'s arguments (the
    task id is ignored), so code written against a rich bar keeps working. ``done``: already
    completed at the start (a resumed run)."""

    def __init__(self, description: str, total: Optional[float] = None, *, unit: str = "", done: float = 0,
                 enabled: bool = True, console: Optional[Console] = None, min_seconds: float = 0.0) -> None:
        self.description, self.total, self.unit, self.completed = description, total, unit, done
        self.enabled, self.status, self.min_seconds = enabled, "", min_seconds
        self.console = console or stderr_console()
        self.task: Optional[TaskID] = None
        self.started = 0.0

    def _count(self) -> str:
        done = f"{self.completed:,.0f}" + (f"/{self.total:,.0f}" if self.total is not None else "")
        return f"{done} {self.unit}".strip()

    def __enter__(self) -> "Phase":
        self.started = time.perf_counter()
        if self.enabled and self.min_seconds > 0 and _shared["depth"] > 0:
            self.enabled = False  # an optional phase inside another: the enclosing one reports the work
        _shared["depth"] += 1
        if self.enabled and self.console.is_terminal:
            progress = _shared["progress"]
            if progress is None:
                progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                    TextColumn("{task.fields[count]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                    console=self.console, transient=True)
                progress.start()
                _shared["progress"] = progress
            _shared["open"] += 1
            self.task = progress.add_task(self.description, total=self.total, completed=self.completed,
                                          count=self._count())
        return self

    def update(self, task_id: Any = None, *, completed: Optional[float] = None, total: Optional[float] = None,
               status: Optional[str] = None, description: Optional[str] = None) -> None:
        """Set the count, the total or the status shown after the description (e.g. the latest loss);
        ``description`` is rich's name for the status."""
        self.completed = self.completed if completed is None else completed
        self.total = self.total if total is None else total
        self.status = next((s for s in (status, description) if s is not None), self.status)
        if self.task is not None and _shared["progress"] is not None:
            label = f"{self.description} {self.status}".strip()
            _shared["progress"].update(self.task, completed=self.completed, total=self.total, description=label,
                                       count=self._count())

    def advance(self, task_id: Any = None, advance: float = 1) -> None:
        """``advance`` more done (rich's ``Progress.advance(task_id, advance)`` signature)."""
        self.update(completed=self.completed + advance)

    def step(self, n: float = 1) -> None:
        self.advance(None, n)

    def line(self) -> str:
        status = f", {self.status}" if self.status else ""
        return f"{self.description}: {self._count()}{status}, done in {seconds_text(time.perf_counter() - self.started)}"

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        _shared["depth"] -= 1
        progress = _shared["progress"]
        if self.task is not None and progress is not None:
            progress.remove_task(self.task)
            _shared["open"] -= 1
            if _shared["open"] == 0:
                progress.stop()
                _shared["progress"] = None
        if exc_type is None and self.enabled and time.perf_counter() - self.started >= self.min_seconds:
            self.console.print(self.line(), highlight=False, markup=False, soft_wrap=True)


def track(iterable: Iterable[Any], total: Optional[int], description: str, *, unit: str = "",
          enabled: bool = True, sizes: Optional[Iterable[int]] = None) -> Iterator[Any]:
    """Yield from ``iterable`` inside a :class:`Phase` that advances by one per item (or by ``sizes``,
    one per item, e.g. the rows of each batch)."""
    steps = iter(sizes) if sizes is not None else None
    with Phase(description, total, unit=unit, enabled=enabled) as phase:
        for item in iterable:
            yield item
            phase.advance(None, next(steps) if steps is not None else 1)
