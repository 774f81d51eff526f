"""The one progress helper (issue 20, item 4): a bar on a terminal's stderr, else one line per phase."""
from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from predgen_common import progress
from predgen_common.progress import Phase, track

LINE = re.compile(r"^extracting states: 6/6 rows, done in \d+\.\d s$")


def test_not_a_terminal_prints_one_line_per_phase(capsys):
    with Phase("extracting states", total=6, unit="rows") as phase:
        for _ in range(3):
            phase.advance(None, 2)  # rich Progress.advance(task_id, advance) signature
    assert list(track(range(4), 4, "predicting", unit="batches")) == [0, 1, 2, 3]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and LINE.match(err[0]), err
    assert err[1].startswith("predicting: 4/4 batches, done in ")
    assert "━" not in "".join(err)  # no bar when stderr is not a terminal


def test_a_failed_or_disabled_phase_prints_nothing(capsys):
    with pytest.raises(ValueError):
        with Phase("probing", total=3):
            raise ValueError("boom")
    with Phase("quiet", total=1, enabled=False) as phase:
        phase.step()
    assert capsys.readouterr().err == ""


def test_status_and_unknown_total_in_the_line(capsys):
    with Phase("training predgen", total=None, unit="steps") as phase:
        phase.update(completed=5, status="loss 0.4123")
    assert re.match(r"^training predgen: 5 steps, loss 0\.4123, done in ", capsys.readouterr().err)


def test_terminal_shows_a_bar_and_nested_phases_share_it():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100)
    with Phase("outer", total=2, unit="models", console=console) as outer:
        with Phase("inner", total=3, unit="rows", console=console) as inner:  # rich allows one live display
            inner.advance(None, 3)
            assert progress._shared["open"] == 2
        outer.step(2)
    text = buf.getvalue()
    assert progress._shared["progress"] is None and progress._shared["open"] == 0
    assert "inner: 3/3 rows, done in" in text and "outer: 2/2 models, done in" in text
    assert "━" in text and "0/2 models" in text  # the live bar was drawn


def test_optional_phases_are_quiet_when_short_or_nested(capsys):
    with Phase("probing", total=1, min_seconds=5.0) as quick:
        quick.step()
    with Phase("mi bench", total=2, unit="estimates") as bench:
        for _ in range(2):
            with Phase("probing", total=1, min_seconds=0.0001) as inner:  # nested: the bench's bar counts it
                inner.step()
            bench.step()
    with Phase("probing", total=1, min_seconds=0.0001) as alone:
        alone.step()
        __import__("time").sleep(0.001)
    err = capsys.readouterr().err.splitlines()
    assert [e.split(":")[0] for e in err] == ["mi bench", "probing"], err
    assert progress._shared["depth"] == 0
