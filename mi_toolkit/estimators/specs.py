"""The estimators' configuration dataclasses and the critic protocol, apart from the registry.

The trainer, the evaluator and the estimator modules import these; the registry
(``mi_toolkit.estimators``) imports those modules to register them, so the specs live
here to keep the imports one-way. ``mi_toolkit.estimators`` re-exports every name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Protocol

__all__ = ["CriticSpec", "KSGConfig", "Marginal", "MineConfig", "NeuralConfig", "ProbeConfig", "SmileConfig"]


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


class CriticSpec(Protocol):
    """What the shared critic trainer (``train.py``) and read-out (``evaluate.py``) ask of a neural
    estimator (:class:`~mi_toolkit.estimators.neural.NeuralEstimator` is one).

    ``bound(t, log_m) -> mi`` is the pure function that is reported (and, unless ``trainer`` is
    ``"mine"`` or ``"js"``, also maximised); ``marginal`` says which per-sample marginal term it takes;
    ``critic`` is ``"ratio"`` (free scores ``T``) or ``"density"`` (a normalised predictive density, the
    classifier family); ``null_score`` is the constant critic ``T`` whose bound is exactly 0 (NWJ: 1).
    """

    name: str
    summary: str
    config_cls: type
    bound: Callable
    marginal: Marginal
    critic: Literal["ratio", "density"]
    trainer: Literal["bound", "mine", "js"]
    null_score: float


@dataclass
class ProbeConfig:
    """Hyper-parameters of the ``probe`` estimator (documented in docs/estimators.md)."""

    folds: int = 5                                   # K: cross-fitting and selection folds
    penalties: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1)  # L2 on the mean log-loss scale
    pca_ks: tuple[int, ...] = (8, 64)                # PCA sizes for the logistic heads
    pca_ratio: int = 4                               # a PCA size k is a candidate when d >= pca_ratio * k
    nonlinear_ks: tuple[int, ...] = (8,)             # top raw PCs read by an MLP head (d > mlp_max_dim)
    hidden: int = 64                                 # MLP hidden units
    mlp_decays: tuple[float, ...] = (1e-3, 1e-2)     # MLP weight decays
    mlp_max_dim: int = 64                            # MLP on all standardised features up to this d
    max_iter_linear: int = 60                        # L-BFGS iterations
    max_iter_mlp: int = 100
    repeats: int = 1                                 # cross-fits with different fold splits (averaged)
    n_bootstrap: int = 1000
    sequence: bool = True                            # token states: the sequence probe's candidates too
    # with an explicit held-out set: "test" chooses the candidate for each held-out fold on the other
    # held-out folds (no shift between the data that selects and the data that is scored); "fit" by
    # K-fold CV on the fit set (cheaper to reason about, but a fit pool drawn unlike the held-out set
    # can then pick a candidate that transfers worse, and a container can read below its part)
    select_on: str = "test"
    # generative heads (estimators/probe_generative.py), on the same views as the logistic heads
    generative: bool = True                          # LDA, regularised QDA and Gaussian naive Bayes candidates
    generative_max_dim: int = 128                    # LDA / naive Bayes on views up to this width (all features too)
    lda_shrinkages: tuple[float | str, ...] = ("auto",)  # "auto": Ledoit-Wolf, no grid to select over
    gnb_smoothings: tuple[float, ...] = (1e-9,)      # scikit-learn's default variance floor
    qda_regs: tuple[float, ...] = (0.1, 0.5)         # covariance shrinkage towards I (views are unit-variance)
    qda_max_dim: int = 16                            # QDA only on views this narrow (d(d+1)/2 per class)
    generative_pca_ks: tuple[int, ...] = (16,)       # PCA sizes for the generative heads beside pca_ks
