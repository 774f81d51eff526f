"""The estimator registry.

Adding an estimator is a pure bound function (``bounds.py``), a config dataclass
(``specs.py``, beside :class:`EstimatorSpec`) and one ``ESTIMATORS.register`` line below. A neural spec says which bound it reports,
how its marginal term is formed and which critic it trains; the shared trainer
(``train.py``) and evaluator (``mi_toolkit.api``) do the rest.
"""
from __future__ import annotations

from predgen_common.registry import Registry

from mi_toolkit.estimators import bounds
from mi_toolkit.estimators import continuous as _continuous
from mi_toolkit.estimators.result import MIResult
from mi_toolkit.estimators.specs import EstimatorSpec, KSGConfig, MineConfig, NeuralConfig, ProbeConfig, SmileConfig

__all__ = ["ESTIMATORS", "EstimatorSpec", "MIResult", "NeuralConfig", "MineConfig", "SmileConfig",
           "KSGConfig", "ProbeConfig", "DEFAULT_DISCRETE", "DEFAULT_CONTINUOUS", "default_estimator"]


ESTIMATORS: Registry[EstimatorSpec] = Registry("estimator")

ESTIMATORS.register("classifier")(EstimatorSpec("classifier", NeuralConfig, "neural", bounds.density_ratio_estimate, "none", "density", summary="H(Y) - held-out cross-entropy of q(y|z) (Gaussian density for continuous Y)"))
ESTIMATORS.register("infonce")(EstimatorSpec("infonce", NeuralConfig, "neural", bounds.infonce_bound, "inclusive", summary="InfoNCE (exact label marginal for discrete Y)"))
ESTIMATORS.register("smile")(EstimatorSpec("smile", SmileConfig, "neural", bounds.smile_bound, "clipped", trainer="js", summary="SMILE, DV with e^T clipped at tau"))
ESTIMATORS.register("mine")(EstimatorSpec("mine", MineConfig, "neural", bounds.dv_bound, "exclusive", trainer="mine", summary="Donsker-Varadhan, bias-corrected moving-average gradient"))
ESTIMATORS.register("nwj")(EstimatorSpec("nwj", NeuralConfig, "neural", bounds.nwj_bound, "exclusive", summary="NWJ / MINE-f f-divergence bound", null_score=1.0))
ESTIMATORS.register("ksg")(EstimatorSpec("ksg", KSGConfig, "knn", summary="Kraskov (continuous Y) / Ross 2014 (discrete Y) k-NN"))

ESTIMATORS.register("binned")(EstimatorSpec("binned", _continuous.BinnedConfig, "direct", run=_continuous.run_binned, continuous_only=True, summary="continuous Y of any width: lower bound I(q(Y); Z) <= I(Y; Z), q cells fitted on the fit folds, read by cross-fitted probes; an InfoNCE estimate beside it"))
ESTIMATORS.register("gaussian")(EstimatorSpec("gaussian", _continuous.GaussianConfig, "direct", run=_continuous.run_gaussian, continuous_only=True, summary="continuous Y: Gaussian difference of entropies, full residual covariance; estimate, not a bound"))

ESTIMATORS.register("probe")(EstimatorSpec("probe", ProbeConfig, "probe", summary="H(Y) - cross-fitted CE of probes chosen by CV log-loss (discrete Y)", discrete_only=True))

# Chosen from `mi bench` measurements; see docs/estimators.md for the numbers.
DEFAULT_DISCRETE = "probe"  # mi bench: 8/8 within tolerance, independent 0.000 (classifier 7/8); benchmarks/results/mi_bench_probe.json
DEFAULT_CONTINUOUS = "binned"  # a lower bound; never above the truth on mi bench (benchmarks/results/mi_bench_continuous.json)


def default_estimator(discrete: bool) -> str:
    """The documented default estimator for a discrete or a continuous ``Y``."""
    return DEFAULT_DISCRETE if discrete else DEFAULT_CONTINUOUS
