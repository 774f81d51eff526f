"""RoCoFT: fine-tune only r rows (or r columns) of each targeted linear layer.

After Kowsher et al. 2024 ("RoCoFT: Efficient Finetuning of Large Language
Models with Row-Column Updates", arXiv 2410.10075): the update ``ΔW`` of a
weight ``W`` (out × in) is non-zero in at most ``r`` rows (or columns). Our own
implementation wraps each targeted ``nn.Linear`` in :class:`RocoftLinear`,
which keeps ``W`` frozen and adds a trainable ``delta``:

* rows: ``delta`` is (r, in); output features ``idx`` get ``x @ delta.T`` added,
  i.e. ``W'[idx, :] = W[idx, :] + delta``;
* columns: ``delta`` is (out, r); ``x[..., idx] @ delta.T`` is added to every
  output, i.e. ``W'[:, idx] = W[:, idx] + delta``.

``delta`` starts at zero, so a freshly wrapped model computes exactly what the
base model does. No full-size weight copy is made in the forward pass, which
keeps it cheap for 7B models. Which rows: the first ``r`` by default
(``select="first"``) or a seeded random choice (``select="random"``); the
indices are buffers, saved with the adapter.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from predgen_common.errors import UserError


@dataclass
class RocoftConfig:
    """``r``: rows/columns per layer; ``mode``: "row" or "column"; ``target_modules``: name suffixes."""

    r: int = 4
    mode: str = "row"
    select: str = "first"
    seed: int = 0
    target_modules: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class RocoftLinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable update of ``r`` rows or columns.

    Shapes: input ``(..., in)``, output ``(..., out)``; ``delta`` (r, in) for rows,
    (out, r) for columns; ``index`` (r,) int64.
    """

    def __init__(self, base: nn.Linear, r: int, mode: str = "row", index: torch.Tensor | None = None) -> None:
        super().__init__()
        if mode not in ("row", "column"):
            raise UserError(f"rocoft mode must be 'row' or 'column', got {mode!r}")
        limit = base.out_features if mode == "row" else base.in_features
        if not 0 < r <= limit:
            raise UserError(f"rocoft r={r} must be between 1 and {limit} for a {base.out_features}x{base.in_features} layer")
        self.base = base
        self.mode = mode
        for p in self.base.parameters():
            p.requires_grad_(False)
        if index is None:
            index = torch.arange(r)
        self.register_buffer("index", index.to(torch.long).to(base.weight.device))
        w = base.weight
        shape = (r, base.in_features) if mode == "row" else (base.out_features, r)
        self.delta = nn.Parameter(torch.zeros(shape, dtype=w.dtype, device=w.device))

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    @property
    def weight(self) -> torch.Tensor:
        """The effective weight ``W + ΔW`` (materialised; for inspection and merging only)."""
        w = self.base.weight.detach().clone()
        if self.mode == "row":
            w[self.index] += self.delta.detach()
        else:
            w[:, self.index] += self.delta.detach()
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        delta = self.delta.to(x.dtype)
        if self.mode == "row":
            return y.index_add(-1, self.index, x @ delta.T)
        return y + x.index_select(-1, self.index) @ delta.T

    def extra_repr(self) -> str:
        return f"mode={self.mode}, r={self.index.numel()}"


def _choose_index(n: int, r: int, select: str, generator: torch.Generator) -> torch.Tensor:
    if select == "first":
        return torch.arange(r)
    if select == "random":
        return torch.randperm(n, generator=generator)[:r].sort().values
    raise UserError(f"rocoft select must be 'first' or 'random', got {select!r}")


def apply_rocoft(model: nn.Module, config: RocoftConfig) -> nn.Module:
    """Freeze ``model`` and wrap every ``nn.Linear`` whose name ends in a target suffix (in place)."""
    for p in model.parameters():
        p.requires_grad_(False)
    generator = torch.Generator().manual_seed(config.seed)
    targets = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and any(name.split(".")[-1] == t for t in config.target_modules)
    ]
    if not targets:
        raise UserError(
            f"rocoft found no linear layers named {config.target_modules} in {type(model).__name__}; "
            "pass target_modules=[...] with the model's layer names"
        )
    for name, module in targets:
        n = module.out_features if config.mode == "row" else module.in_features
        index = _choose_index(n, min(config.r, n), config.select, generator)
        parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
        setattr(parent, name.rsplit(".", 1)[-1], RocoftLinear(module, index.numel(), config.mode, index))
    return model


def rocoft_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The deltas and their indices: ``<layer>.delta`` and ``<layer>.index`` for each wrapped layer."""
    state = {}
    for name, module in model.named_modules():
        if isinstance(module, RocoftLinear):
            state[f"{name}.delta"] = module.delta.detach()
            state[f"{name}.index"] = module.index
    return state


def load_rocoft_state(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Inverse of :func:`rocoft_state_dict`; raises on missing, extra or mis-shaped entries."""
    layers = {name: m for name, m in model.named_modules() if isinstance(m, RocoftLinear)}
    expected = {f"{n}.{k}" for n in layers for k in ("delta", "index")}
    if set(state) != expected:
        missing, extra = sorted(expected - set(state))[:3], sorted(set(state) - expected)[:3]
        raise UserError(f"rocoft adapter does not fit this model (missing {missing}, unexpected {extra}); "
                        "apply rocoft with the checkpoint's own config first")
    with torch.no_grad():
        for name, module in layers.items():
            delta, index = state[f"{name}.delta"], state[f"{name}.index"]
            if delta.shape != module.delta.shape:
                raise UserError(f"rocoft delta {name} has shape {tuple(delta.shape)}, model wants {tuple(module.delta.shape)}")
            module.delta.copy_(delta)
            module.index.copy_(index)
