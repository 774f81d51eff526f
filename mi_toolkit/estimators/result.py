"""The result every estimator returns."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class MIResult:
    """An MI estimate in nats with how it was obtained.

    ``ci_low``/``ci_high``: 95% percentile interval, see ``interval_method``.
    ``p_value``: permutation-null p-value (labels permuted on the held-out split
    under the fixed critic). ``ceiling``: plug-in ``H(Y)`` for discrete ``Y``
    (``None`` for continuous); ``above_ceiling`` flags an estimate above it, which
    is estimator error and not information; :attr:`below_zero` flags the other
    impossible case. ``curve``: validation bound per epoch.
    """

    mi: float
    ci_low: float
    ci_high: float
    estimator: str
    ceiling: float | None
    above_ceiling: bool
    n_train: int
    n_test: int
    p_value: float
    seconds: float
    seed: int
    config: dict[str, Any] = field(default_factory=dict)
    curve: list[float] = field(default_factory=list)
    interval_method: str = ""
    discrete: bool = True
    n_classes: int | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("mi", "ci_low", "ci_high"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"MIResult.{name} is not finite; estimators must never return NaN/inf")

    @property
    def below_zero(self) -> bool:
        """The whole interval is below 0. True MI never is, so this is estimator error
        (typically too few examples for the input width): read it as "nothing detected"."""
        return self.ci_high < 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (plain floats, lists and dicts)."""
        return asdict(self)
