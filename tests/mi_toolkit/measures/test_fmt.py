"""How estimates are written: a reading of nothing is never a bare 0.000 [0.000, 0.000]."""
from __future__ import annotations

from mi_toolkit.estimators.result import RESOLUTION, MIResult
from mi_toolkit.measures.fmt import detected, fmt_result


def _res(mi: float, lo: float, hi: float) -> MIResult:
    return MIResult(mi=mi, ci_low=lo, ci_high=hi, estimator="probe", ceiling=0.69, above_ceiling=False, n_train=600,
                    n_test=600, p_value=0.001, seconds=0.0, seed=0)


def test_a_reading_below_the_resolution_is_not_detected():
    # what a probe on a constant input read in the layer sweep (layer 0): float rounding, not information
    tiny = _res(2.4e-8, 2.0e-8, 2.8e-8)
    assert not tiny.detected and not detected(tiny.to_dict())
    assert fmt_result(tiny).startswith("not detected (best held-out 0.000")
    real = _res(0.05, 10 * RESOLUTION, 0.09)
    assert real.detected and fmt_result(real) == "0.050 [0.000, 0.090]"
