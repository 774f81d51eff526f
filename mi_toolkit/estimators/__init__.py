"""The estimator registry.

Adding an estimator is a pure bound function (``bounds.py``), a config dataclass and
one ``ESTIMATORS.register`` line below. A neural spec says which bound it reports,
how its marginal term is formed and which critic it trains; the shared trainer
(``train.py``) and evaluator (``mi_toolkit.api``) do the rest.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from predgen_core.registry import Registry

from mi_toolkit.estimators import bounds
from mi_toolkit.estimators.result import MIResult

__all__ = ["ESTIMATORS", "EstimatorSpec", "MIResult", "NeuralConfig", "MineConfig", "SmileConfig",
           "KSGConfig", "ProbeConfig", "DEFAULT_DISCRETE", "DEFAULT_CONTINUOUS", "default_estimator"]


@dataclass
class NeuralConfig:
    """Hyper-parameters shared by every trained critic (documented in docs/estimators.md)."""

    hidden: int = 128          # width of each hidden layer
    n_hidden: int = 1          # hidden layers: 1 = the paper's "two-layer network"
    embed: int = 32            # separable critic embedding size (continuous Y)
    lr: float = 1e-3
    weight_decay: float = 1e-2  # AdamW (decoupled)
    batch_size: int = 256
    max_epochs: int = 60       # training rounds (>= 1 epoch and >= min_steps steps each)
    min_steps: int = 20
    patience: int = 6          # rounds without validation gain before stopping
    min_delta: float = 1e-3    # nats: a smaller validation gain does not count as one
    val_fraction: float = 0.2  # of the train split, for early stopping
    n_bootstrap: int = 1000
    n_permutations: int = 200
    max_pool: int = 2048       # continuous Y: candidate pool for the held-out marginal
    max_retries: int = 2       # divergence retries, each at a quarter of the learning rate


@dataclass
class MineConfig(NeuralConfig):
    ema_rate: float = 0.01     # moving-average rate of the bias-corrected gradient


@dataclass
class SmileConfig(NeuralConfig):
    tau: float = 5.0           # clip e^T to [e^-tau, e^tau] in the marginal term


@dataclass
class KSGConfig:
    k: int = 3
    n_bootstrap: int = 1000
    n_permutations: int = 20   # each one re-runs the neighbour search


Marginal = Literal["exclusive", "inclusive", "clipped", "none"]


@dataclass(frozen=True)
class EstimatorSpec:
    """How to build, train and read out one estimator.

    ``bound(t, log_m) -> mi`` is the pure function that is reported (and, unless
    ``trainer`` is ``"mine"`` or ``"js"``, also maximised); ``marginal`` says which per-sample
    marginal term it takes; ``critic`` is ``"ratio"`` (free scores ``T``) or
    ``"density"`` (a normalised predictive density, the classifier family).
    """

    name: str
    config_cls: type
    family: Literal["neural", "knn", "probe", "direct"]
    bound: Callable | None = None
    marginal: Marginal = "exclusive"
    critic: Literal["ratio", "density"] = "ratio"
    trainer: Literal["bound", "mine", "js"] = "bound"
    summary: str = ""
    null_score: float = 0.0   # the constant critic T whose bound is exactly 0 (NWJ: T = 1)
    discrete_only: bool = False  # reads integer labels only (the bench skips continuous tasks for it)
    continuous_only: bool = False  # reads float targets only (the bench skips discrete tasks for it)
    # family "direct": run(checked, config or None, seed, n_fit) -> MIResult; the estimator splits or
    # cross-fits itself (n_fit: rows :n_fit are the fit set of an explicit held-out split)
    run: Callable | None = None


ESTIMATORS: Registry[EstimatorSpec] = Registry("estimator")

ESTIMATORS.register("classifier")(EstimatorSpec("classifier", NeuralConfig, "neural", bounds.density_ratio_estimate, "none", "density", summary="H(Y) - held-out cross-entropy of q(y|z) (Gaussian density for continuous Y)"))
ESTIMATORS.register("infonce")(EstimatorSpec("infonce", NeuralConfig, "neural", bounds.infonce_bound, "inclusive", summary="InfoNCE (exact label marginal for discrete Y)"))
ESTIMATORS.register("smile")(EstimatorSpec("smile", SmileConfig, "neural", bounds.smile_bound, "clipped", trainer="js", summary="SMILE, DV with e^T clipped at tau"))
ESTIMATORS.register("mine")(EstimatorSpec("mine", MineConfig, "neural", bounds.dv_bound, "exclusive", trainer="mine", summary="Donsker-Varadhan, bias-corrected moving-average gradient"))
ESTIMATORS.register("nwj")(EstimatorSpec("nwj", NeuralConfig, "neural", bounds.nwj_bound, "exclusive", summary="NWJ / MINE-f f-divergence bound", null_score=1.0))
ESTIMATORS.register("ksg")(EstimatorSpec("ksg", KSGConfig, "knn", summary="Kraskov (continuous Y) / Ross 2014 (discrete Y) k-NN"))

# continuous targets (imported here, after the classes above: it reaches train.py, which imports them)
from mi_toolkit.estimators import continuous as _continuous  # noqa: E402

ESTIMATORS.register("binned")(EstimatorSpec("binned", _continuous.BinnedConfig, "direct", run=_continuous.run_binned, continuous_only=True, summary="continuous Y: lower bound I(bin(Y); Z) <= I(Y; Z), a cross-fitted discretised-regression probe"))
ESTIMATORS.register("gaussian")(EstimatorSpec("gaussian", _continuous.GaussianConfig, "direct", run=_continuous.run_gaussian, continuous_only=True, summary="continuous Y: Gaussian difference of entropies, full residual covariance; estimate, not a bound"))

from mi_toolkit.estimators.probe import ProbeConfig  # noqa: E402  (imports the specs above)

ESTIMATORS.register("probe")(EstimatorSpec("probe", ProbeConfig, "probe", summary="H(Y) - cross-fitted CE of probes chosen by CV log-loss (discrete Y)", discrete_only=True))

# Chosen from `mi bench` measurements; see docs/estimators.md for the numbers.
DEFAULT_DISCRETE = "probe"  # mi bench: 8/8 within tolerance, independent 0.000 (classifier 7/8); benchmarks/results/mi_bench_probe.json
DEFAULT_CONTINUOUS = "binned"  # a lower bound; never above the truth on mi bench (benchmarks/results/mi_bench_continuous.json)


def default_estimator(discrete: bool) -> str:
    """The documented default estimator for a discrete or a continuous ``Y``."""
    return DEFAULT_DISCRETE if discrete else DEFAULT_CONTINUOUS
