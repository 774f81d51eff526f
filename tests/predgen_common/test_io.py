"""Folders written whole (``atomic_dir``) when several writers finish at the same moment."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from predgen_common.io import _swap_in, atomic_dir


def _write_together(target: Path, writers: int, keep_existing: bool) -> list[BaseException]:
    """``writers`` threads each write a folder of two files naming itself, and all leave the block together."""
    barrier, errors = threading.Barrier(writers), []

    def write(i: int) -> None:
        try:
            with atomic_dir(target, keep_existing=keep_existing) as tmp:
                (tmp / "a.txt").write_text(str(i))
                (tmp / "b.txt").write_text(str(i))
                barrier.wait(timeout=30)
        except BaseException as err:  # noqa: BLE001 - the test reports any
            errors.append(err)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.parametrize("keep_existing", [False, True])
def test_writers_finishing_together_all_succeed_and_leave_one_whole_folder(tmp_path, keep_existing):
    for round_ in range(15):
        target = tmp_path / f"shard-{round_}"
        assert _write_together(target, 6, keep_existing) == []
        a, b = (target / "a.txt").read_text(), (target / "b.txt").read_text()
        assert a == b  # one writer's folder, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"shard-{r}" for r in range(15))  # no .tmp/.old


def test_a_folder_that_appears_before_the_rename_is_replaced_or_kept(tmp_path):
    target = tmp_path / "out"
    for keep_existing, expected in ((False, "new"), (True, "first")):
        target.mkdir(exist_ok=True)
        (target / "who.txt").write_text("first")
        tmp = tmp_path / "tmp"
        tmp.mkdir()
        (tmp / "who.txt").write_text("new")
        _swap_in(tmp, target, keep_existing)  # os.replace meets a full folder (ENOTEMPTY) first
        assert (target / "who.txt").read_text() == expected and not tmp.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
        (target / "who.txt").write_text("first")


def test_keep_existing_drops_the_second_copy(tmp_path):
    target = tmp_path / "shard"
    for text in ("one", "two"):
        with atomic_dir(target, keep_existing=True) as tmp:
            (tmp / "x.txt").write_text(text)
    assert (target / "x.txt").read_text() == "one" and [p.name for p in tmp_path.iterdir()] == ["shard"]
