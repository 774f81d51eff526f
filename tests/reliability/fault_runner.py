"""Run `mi` or `predgen` with a fault injected at a deterministic point (used by test_reliability_faults).

``FAULT`` (environment) says where:

- ``kill-after-dir:N``: SIGKILL this process right after its N-th folder is renamed into place
  (``predgen_common.io.atomic_dir``: a shard of extracted states);
- ``kill-before-file:NAME``: SIGKILL it after the temporary of output file ``NAME`` is written,
  before the rename (``atomic_path``): the moment a non-atomic writer would leave half a file;
- ``barrier-before-dir:FOLDER:N``: before each rename of a folder, wait (up to 60 s) until N
  processes have reached that point, so that two extractions of the same states collide.

The patch is made before the command's modules import ``predgen_common.io``'s names.
Usage: ``python fault_runner.py mi|predgen ARGS...``.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import predgen_common.io as pio

_atomic_dir, _atomic_path = pio.atomic_dir, pio.atomic_path
KIND, _, ARG = os.environ.get("FAULT", "").partition(":")
done = {"dirs": 0}


def _wait_for_others(arg: str) -> None:
    folder, _, n = arg.rpartition(":")
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(list(Path(folder).iterdir())) < int(n) and time.monotonic() < deadline:
        time.sleep(0.05)


@contextmanager
def atomic_dir(target, **options):
    with _atomic_dir(target, **options) as tmp:
        yield tmp
        if KIND == "barrier-before-dir":
            _wait_for_others(ARG)
    done["dirs"] += 1
    if KIND == "kill-after-dir" and done["dirs"] == int(ARG):
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def atomic_path(target):
    with _atomic_path(target) as tmp:
        yield tmp
        if KIND == "kill-before-file" and Path(target).name == ARG:
            os.kill(os.getpid(), signal.SIGKILL)


pio.atomic_dir, pio.atomic_path = atomic_dir, atomic_path

if __name__ == "__main__":
    prog = sys.argv[1]
    sys.argv = sys.argv[1:]
    if prog == "mi":
        from mi_toolkit.cli import main
    else:
        from predgen_core.cli import main
    main()
