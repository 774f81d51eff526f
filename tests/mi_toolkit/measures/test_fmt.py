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
    assert fmt_result(tiny) == "not detected (nothing read above the no-information model, to 3 decimals)"
    # a reading of nothing with numbers that do not all round to zero still shows its best held-out value
    assert fmt_result(_res(-0.004, -0.03, 0.02)) == "not detected (best held-out -0.004 [-0.030, 0.020])"
    real = _res(0.05, 10 * RESOLUTION, 0.09)
    assert real.detected and fmt_result(real) == "0.050 [0.000, 0.090]"


def test_a_difference_of_two_readings_of_nothing_is_not_written_as_a_number():
    from mi_toolkit.measures.compare import Comparison

    none = Comparison("within", "R", "last", 0.0, 0.0, 0.0, 1.0, 200, verdict="not detected")
    assert none.difference() == "none (neither reading detected anything)" and "0.000" not in none.sentence()
    some = Comparison("within", "R", "last", 0.031, 0.012, 0.05, 0.004, 200, verdict="reads higher")
    assert some.difference() == "+0.031 [+0.012, +0.050]" and "+0.031 nats [+0.012, +0.050] paired" in some.sentence()


def test_console_table_cells_never_show_a_reading_of_nothing_as_zero():
    from mi_toolkit.estimators.result import table_cells

    assert table_cells(0.0, 0.0, 0.0) == ("not detected", "")                 # the engine on a null task
    assert table_cells(-0.0001, None, None) == ("not detected", "")           # a grid probe without interval
    assert table_cells(-0.004, -0.03, 0.02) == ("not detected (-0.004)", "-0.030 – 0.020")
    assert table_cells(0.207, 0.184, 0.231) == ("0.207", "0.184 – 0.231")
    assert table_cells(0.207, None, None, detected=True) == ("0.207", "")
    assert table_cells(0.203, None, None) == ("0.203", "")                    # the best grid probe's reading


def test_the_below_zero_flag_reads_the_values_shown():
    """A prior-chosen result prints its best model's values; the below-0 flag judges those, not the prior's."""
    from mi_toolkit.measures.fmt import shown_below_zero

    prior = _res(-0.01, -0.015, -0.005)
    prior.chosen = "prior"
    prior.config = {"best_model": {"mi": -0.001, "ci_low": -0.007, "ci_high": 0.004}}
    assert prior.below_zero and not shown_below_zero(prior)       # the printed interval reaches 0: no flag
    assert shown_below_zero(_res(-0.05, -0.08, -0.02))
