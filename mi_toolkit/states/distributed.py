"""Extraction past one process: which shards this process writes, and when to wait for the others.

Under ``accelerate launch`` (``WORLD_SIZE`` > 1) every process loads the model on its own
device, writes the shards ``k`` with ``k % world == rank`` into the one output folder (a
shard is written whole, then renamed, so processes never see each other's half-written
files), and the main process lists them all in the manifest once every process is done.
The output folder must therefore be on a file system all processes see (one machine, or a
shared mount). A single process never imports accelerate.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass
class Ranks:
    """This process's place in the run: ``rank`` of ``world``; ``state`` is accelerate's ``PartialState``."""

    rank: int = 0
    world: int = 1
    state: Any = None

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def device(self) -> Any:
        """The device accelerate gave this process (None in a single process: keep the model's)."""
        return self.state.device if self.state is not None else None

    def barrier(self) -> None:
        if self.state is None:
            return
        import torch.distributed as dist
        from accelerate.utils import DistributedType

        # accelerate reports CPU processes joined by gloo as distributed type NO, and then its
        # wait_for_everyone does nothing; the process group itself is up, so wait on it directly.
        if self.state.distributed_type == DistributedType.NO and dist.is_initialized():
            dist.barrier()
        else:
            self.state.wait_for_everyone()

    def mine(self, n_shards: int) -> list[int]:
        """The shard indices this process writes (round robin)."""
        return [k for k in range(n_shards) if k % self.world == self.rank]


def current() -> Ranks:
    """The running process's ranks; a single process when not launched by accelerate/torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Ranks()
    # Imported on use, deliberately: only a distributed launch needs accelerate.
    import torch
    from accelerate import PartialState

    # Without CUDA, accelerate's default would quietly run each process alone; gloo joins CPU processes.
    state = PartialState(backend=None if torch.cuda.is_available() else "gloo")
    return Ranks(state.process_index, state.num_processes, state)
