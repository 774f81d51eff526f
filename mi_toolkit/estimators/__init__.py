"""The estimator registry.

An estimator is an object (:class:`~mi_toolkit.estimators.base.Estimator`) with its config and one
interface, ``estimate_many(tasks, test=...) -> list[MIResult]``. Adding one is one file (a subclass
that overrides ``estimate_task``, or a pure bound for the trained critics of ``neural.py``) and one
``ESTIMATORS.register`` line below; ``ESTIMATORS.get(name).with_config(cfg)`` runs it with another config.
"""
from __future__ import annotations

from predgen_common.registry import Registry

from mi_toolkit.estimators import bounds
from mi_toolkit.estimators import continuous as _continuous
from mi_toolkit.estimators.base import Estimator, Run, Task
from mi_toolkit.estimators.direct import DirectEstimator
from mi_toolkit.estimators.ksg import KSGEstimator
from mi_toolkit.estimators.neural import NeuralEstimator
from mi_toolkit.estimators.probe import ProbeEstimator
from mi_toolkit.estimators.result import MIResult
from mi_toolkit.estimators.specs import KSGConfig, MineConfig, NeuralConfig, ProbeConfig, SmileConfig

__all__ = ["ESTIMATORS", "Estimator", "Run", "Task", "MIResult", "NeuralConfig", "MineConfig", "SmileConfig",
           "KSGConfig", "ProbeConfig", "DEFAULT_DISCRETE", "DEFAULT_CONTINUOUS", "default_estimator", "resolve"]


ESTIMATORS: Registry[Estimator] = Registry("estimator")

ESTIMATORS.register("classifier")(NeuralEstimator(name="classifier", bound=bounds.density_ratio_estimate, marginal="none", critic="density", summary="H(Y) - held-out cross-entropy of q(y|z) (Gaussian density for continuous Y)"))
ESTIMATORS.register("infonce")(NeuralEstimator(name="infonce", bound=bounds.infonce_bound, marginal="inclusive", summary="InfoNCE (exact label marginal for discrete Y)"))
ESTIMATORS.register("smile")(NeuralEstimator(name="smile", config_cls=SmileConfig, bound=bounds.smile_bound, marginal="clipped", trainer="js", summary="SMILE, DV with e^T clipped at tau"))
ESTIMATORS.register("mine")(NeuralEstimator(name="mine", config_cls=MineConfig, bound=bounds.dv_bound, trainer="mine", summary="Donsker-Varadhan, bias-corrected moving-average gradient"))
ESTIMATORS.register("nwj")(NeuralEstimator(name="nwj", bound=bounds.nwj_bound, null_score=1.0, summary="NWJ / MINE-f f-divergence bound"))
ESTIMATORS.register("ksg")(KSGEstimator(name="ksg", summary="Kraskov (continuous Y) / Ross 2014 (discrete Y) k-NN"))

ESTIMATORS.register("binned")(DirectEstimator(name="binned", config_cls=_continuous.BinnedConfig, run=_continuous.run_binned, companions=ESTIMATORS, continuous_only=True, summary="continuous Y of any width: lower bound I(q(Y); Z) <= I(Y; Z), q cells fitted on the fit folds, read by cross-fitted probes; an InfoNCE estimate beside it"))
ESTIMATORS.register("gaussian")(DirectEstimator(name="gaussian", config_cls=_continuous.GaussianConfig, run=_continuous.run_gaussian, continuous_only=True, summary="continuous Y: Gaussian difference of entropies, full residual covariance; estimate, not a bound"))

ESTIMATORS.register("probe")(ProbeEstimator(name="probe", summary="H(Y) - cross-fitted CE of probes chosen by CV log-loss (discrete Y)"))

# Chosen from `mi bench` measurements; see docs/estimators.md for the numbers.
DEFAULT_DISCRETE = "probe"  # mi bench: 8/8 within tolerance, independent 0.000 (classifier 7/8); benchmarks/results/mi_bench_probe.json
DEFAULT_CONTINUOUS = "binned"  # a lower bound; never above the truth on mi bench (benchmarks/results/mi_bench_continuous.json)


def default_estimator(discrete: bool) -> str:
    """The documented default estimator for a discrete or a continuous ``Y``."""
    return DEFAULT_DISCRETE if discrete else DEFAULT_CONTINUOUS


def resolve(choice: "str | Estimator | None", discrete: bool) -> Estimator:
    """The estimator object for a registered name, an object, or None (the default for the kind of ``Y``)."""
    if isinstance(choice, Estimator):
        return choice
    return ESTIMATORS.get(choice or default_estimator(discrete))
