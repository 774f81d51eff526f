"""Input checks at the library boundary: every problem becomes a one-line :class:`UserError`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from predgen_common.errors import UserError

# entropy_nats and resolve_device live on the ground floor with the input types; re-exported here
from mi_toolkit.ground import TokenStates, as_input, entropy_nats, resolve_device

__all__ = ["Checked", "MAX_LABEL_COLUMNS", "MIN_SAMPLES", "as_states", "check_config", "check_task", "code_labels",
           "concat_inputs", "entropy_nats", "flat", "float_labels_as_classes", "load_array", "resolve_device",
           "tame_scale"]

MIN_SAMPLES = 20
# integer labels of up to this many columns are read jointly (the joint code and a factorised probe)
MAX_LABEL_COLUMNS = 8
# float labels whose values are all whole numbers, at most this many distinct, are read as classes
MAX_FLOAT_CLASSES = 10
# a float target that is not whole numbers needs at least this many distinct values to be continuous
MIN_CONTINUOUS_VALUES = 10
# features beyond this magnitude are rescaled per column by a power of two (exact, MI unchanged)
SCALE_ABOVE = 1e15


@dataclass
class Checked:
    """A validated task. ``z (N, d)`` float64; ``y`` int codes ``(N,)`` or float ``(N, k)``; ``columns``
    ``(N, m)`` int codes of each column when integer labels of m columns are read jointly (``y`` is then
    the code of each row)."""

    z: np.ndarray
    y: np.ndarray
    discrete: bool
    classes: np.ndarray | None   # original label values (label rows for m columns), index = code
    ceiling: float | None        # plug-in H(Y) in nats (discrete only): of the rows for m columns
    columns: np.ndarray | None = None


def load_array(path: str | Path, what: str, mmap: bool = False) -> np.ndarray:
    """``np.load`` a ``.npy`` file, turning every failure into a :class:`UserError`.

    ``mmap=True`` maps the file read-only instead of reading it: the shape and dtype cost
    only the header (how ``mi estimate`` checks a large file before any work)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} file {str(path)!r} not found; pass an existing .npy file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as err:
        raise UserError(f"{what} file {str(path)!r} cannot be read ({err.strerror}); check its permissions") from None
    if magic != b"\x93NUMPY":
        raise UserError(f"{what} file {str(path)!r} is not a readable .npy array; save it with numpy.save")
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except ValueError as err:
        if "pickle" in str(err).lower() or "python objects" in str(err).lower():
            raise UserError(f"{what} file {str(path)!r} holds a non-numeric (object) array; "
                            "save a numeric array with numpy.save") from None
        raise UserError(f"{what} file {str(path)!r} is not a readable .npy array ({err}); "
                        "save it again with numpy.save") from None
    except (OSError, EOFError) as err:
        raise UserError(f"{what} file {str(path)!r} is not a readable .npy array ({err}); "
                        "save it with numpy.save") from None
    if not isinstance(arr, np.ndarray):
        raise UserError(f"{what} file {str(path)!r} is an .npz archive; pass a single .npy array")
    return arr


def _numeric(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise UserError(f"{what} has non-numeric dtype {arr.dtype}; pass integer or float values")
    return arr


def check_task(z, y, what: str = "") -> Checked:
    """Validate features ``z`` ((N, d) or (N, n, d)) and labels/targets ``y``.

    Integer (or bool) ``y`` of shape ``(N,)`` is discrete, and so is ``(N, m)``: m discrete labels read
    jointly (``2 <= m <=`` :data:`MAX_LABEL_COLUMNS`; ``y`` becomes the code of each row, which every
    discrete estimator reads, and ``columns`` each column's codes, which the probe also reads factorised);
    float ``y`` of shape ``(N,)`` or ``(N, k)`` is continuous.
    """
    pre = f"{what}: " if what else ""
    z = _numeric(np.asarray(z), f"{pre}features")
    y = _numeric(np.asarray(y), f"{pre}labels")
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim == 3:
        z = z.reshape(len(z), -1)
    if z.ndim != 2 or z.shape[1] == 0:
        raise UserError(f"{pre}features have shape {z.shape}; expected (N, d) or (N, n, d)")
    if len(z) != len(y):
        raise UserError(f"{pre}features have N={len(z)} rows but labels have N={len(y)}; "
                        "pass arrays with one label per feature row")
    if len(z) < MIN_SAMPLES:
        raise UserError(f"{pre}only N={len(z)} samples; MI estimation needs at least {MIN_SAMPLES}")
    z = z.astype(np.float64)
    if not np.isfinite(z).all():
        raise UserError(f"{pre}features contain NaN or inf ({int((~np.isfinite(z)).sum())} values); "
                        "drop or impute those rows")
    if np.issubdtype(y.dtype, np.integer):
        return _check_classes(z, y, pre)
    y = y.astype(np.float64)
    if not np.isfinite(y).all():
        raise UserError(f"{pre}labels contain NaN or inf; drop or impute those rows")
    if y.ndim not in (1, 2):
        raise UserError(f"{pre}float targets must have shape (N,) or (N, k), got {y.shape}")
    y = y.reshape(len(y), -1)
    if (y.std(axis=0) == 0).any():
        raise UserError(f"{pre}a continuous target is constant; MI with a constant is 0")
    _check_continuous(y, pre)
    return Checked(z, y, False, None, None)


def _check_classes(z: np.ndarray, y: np.ndarray, pre: str) -> Checked:
    """Integer labels ``(N,)``, or ``(N, m)``: m labels read jointly, coded by their rows (``classes (K, m)``,
    the ceiling the entropy of the rows) with each column's own codes kept in ``Checked.columns``."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and y.shape[1] > MAX_LABEL_COLUMNS:
        raise UserError(f"{pre}integer labels have {y.shape[1]} columns, above the {MAX_LABEL_COLUMNS} discrete "
                        "labels read jointly; read fewer columns at a time, or code some together (e.g. k * a + b)")
    if y.ndim not in (1, 2):
        raise UserError(f"{pre}integer labels must have shape (N,) or (N, m) with m <= {MAX_LABEL_COLUMNS} "
                        f"columns, got {y.shape}")
    classes, codes, columns = code_labels(y)
    if len(classes) < 2:
        raise UserError(f"{pre}labels have a single class ({classes[0]}); "
                        "MI needs at least two classes")
    return Checked(z, codes, True, classes, entropy_nats(codes), columns)


def code_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(classes, codes (N,), columns)`` of integer labels: ``y (N,)`` its distinct values and their codes
    (``columns`` None); ``y (N, m)`` its distinct rows (lexicographic order), each row's code, and
    ``columns (N, m)`` each column coded ``0..k_j-1`` (order kept, so column codes give the same row codes)."""
    y = np.asarray(y)
    classes, codes = np.unique(y, axis=0, return_inverse=True)
    columns = None
    if y.ndim == 2:
        columns = np.stack([np.unique(col, return_inverse=True)[1].reshape(-1) for col in y.T], 1).astype(np.int64)
    return classes, codes.reshape(-1).astype(np.int64), columns


def _check_continuous(y: np.ndarray, pre: str) -> None:
    """A float target that is not whole numbers needs :data:`MIN_CONTINUOUS_VALUES` distinct values."""
    for j in range(y.shape[1]):
        values = np.unique(y[:, j])
        if len(values) < MIN_CONTINUOUS_VALUES and not np.array_equal(values, np.round(values)):
            shown = ", ".join(f"{v:g}" for v in values[:5]) + (", ..." if len(values) > 5 else "")
            raise UserError(f"{pre}the float target has only {len(values)} distinct values ({shown}), too few for a "
                            f"continuous estimate (at least {MIN_CONTINUOUS_VALUES}); pass integer labels "
                            "(class codes) to measure them as classes")


def float_labels_as_classes(y: Any) -> tuple[Any, str | None]:
    """Float labels whose values are few whole numbers (e.g. 0.0/1.0), as integer labels, with a note.

    Returns ``(y, None)`` unchanged for anything else (integer labels, continuous targets)."""
    arr = np.asarray(y)
    if not np.issubdtype(arr.dtype, np.floating) or arr.ndim not in (1, 2) or arr.size == 0:
        return y, None
    if arr.ndim == 2 and arr.shape[1] != 1:
        return y, None
    flat_y = arr.reshape(-1)
    if not np.isfinite(flat_y).all():
        return y, None
    values = np.unique(flat_y)
    if not (2 <= len(values) <= MAX_FLOAT_CLASSES and np.array_equal(values, np.round(values))):
        return y, None
    shown = "{" + ", ".join(f"{v:g}" for v in values) + "}"
    note = (f"float labels with {len(values)} whole-number values {shown} read as class labels (the discrete "
            "path); pass integer labels to say so, or choose a continuous estimator to read them as a target")
    return flat_y.astype(np.int64), note


def _refuse_outliers(absz: np.ndarray, peak: np.ndarray) -> None:
    """A column whose extreme values lie :data:`SCALE_ABOVE` times beyond its typical one cannot be
    scaled into float32 with its other values still distinct: refused, naming the column."""
    for j in np.flatnonzero(peak > SCALE_ABOVE):
        col = absz[:, j]
        typical = float(np.median(col[col > 0])) if (col > 0).any() else 0.0
        if typical and peak[j] / typical > SCALE_ABOVE:
            row = int(np.argmax(col))
            raise UserError(f"features column {j} holds {peak[j]:.3g} (row {row}) while its typical magnitude is "
                            f"{typical:.3g}: no scaling keeps both readable in float32; drop or clip the outlying "
                            "rows (e.g. np.clip), or pass log-scaled features")


def tame_scale(z: Any) -> tuple[Any, str | None]:
    """Features beyond :data:`SCALE_ABOVE` in magnitude, rescaled per column by a power of two.

    The estimators compute in float32 (about 3e38 at most, and squares overflow far earlier); an
    invertible per-column scaling leaves I(Y; Z) unchanged. Ordinary features (below the bound)
    are returned as they are. Returns ``(z, note or None)``."""
    arr = z.z if isinstance(z, TokenStates) else z
    if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.number) or arr.size == 0:
        return z, None
    big = np.abs(arr.reshape(-1, arr.shape[-1]) if arr.ndim > 1 else arr[:, None]).astype(np.float64)
    if not np.isfinite(big).all():
        return z, None  # check_task names the NaN/inf
    peak = big.max(axis=0)
    if peak.max() <= SCALE_ABOVE:
        return z, None
    _refuse_outliers(big, peak)
    scale = np.where(peak > SCALE_ABOVE, np.exp2(np.ceil(np.log2(np.maximum(peak, 1e-300)))), 1.0)
    scaled = (arr.astype(np.float64) / scale) if arr.ndim > 1 else arr.astype(np.float64) / scale[0]
    note = (f"features up to {peak.max():.3g} in magnitude were divided per column by a power of two "
            f"(columns above {SCALE_ABOVE:g}; I(Y; Z) is unchanged by an invertible scaling)")
    if isinstance(z, TokenStates):
        return TokenStates(scaled, z.mask), note
    return scaled, note


def as_states(Z: Any, mask: Any = None) -> Any:
    """The input as the estimators take it: an ``(N, d)`` / ``(N, n, d)`` array or
    :class:`~mi_toolkit.ground.TokenStates` (3-D with a mask, or given as such).

    A list of ``(n_i, d)`` arrays of different lengths without a mask is refused: the
    padding would be read as tokens."""
    if isinstance(Z, TokenStates):
        if mask is not None:
            raise UserError("TokenStates carry their own mask; do not pass mask= with them")
        return Z
    if isinstance(Z, (list, tuple)) and len(Z) and all(hasattr(r, "shape") or isinstance(r, (list, tuple)) for r in Z):
        shapes = {np.shape(r) for r in Z}
        if len(shapes) > 1 and mask is None:
            lengths = sorted({s[0] for s in shapes if len(s)})
            raise UserError(f"token states of varying length (n from {lengths[0]} to {lengths[-1]}) without a mask; "
                            "pass TokenStates.from_list(rows), or TokenStates(padded (N, n, d) states, mask)")
    if mask is not None:
        return as_input(np.asarray(Z), mask)
    arr = np.asarray(Z)
    return arr


def flat(Z: Any) -> np.ndarray:
    """``(N, features)`` for the checks and the critic estimators (token states flattened, padding 0)."""
    if isinstance(Z, TokenStates):
        return Z.z.reshape(len(Z.z), -1)
    return np.asarray(Z)


def concat_inputs(a: Any, b: Any) -> Any:
    """Rows of ``a`` then rows of ``b`` (token states padded to the longer window)."""
    if isinstance(a, TokenStates) != isinstance(b, TokenStates):
        raise UserError("the fit and held-out sets must both be token states or both be arrays")
    if isinstance(a, TokenStates):
        n = max(a.z.shape[1], b.z.shape[1])
        pad = lambda t: (np.pad(t.z, ((0, 0), (0, n - t.z.shape[1]), (0, 0))),  # noqa: E731
                         np.pad(t.mask, ((0, 0), (0, n - t.mask.shape[1]))))
        (za, ma), (zb, mb) = pad(a), pad(b)
        return TokenStates(np.concatenate([za, zb]), np.concatenate([ma, mb]))
    a, b = np.asarray(a), np.asarray(b)
    if a.shape[1:] != b.shape[1:]:
        a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    if a.shape[1:] != b.shape[1:]:
        raise UserError(f"fit and held-out features differ in width ({a.shape[1]} vs {b.shape[1]}); "
                        "pass the same representation for both")
    return np.concatenate([a, b])


def check_config(spec: Any, config: Any) -> None:
    """A config must be the chosen estimator's config class (or a subclass of it)."""
    if config is None or isinstance(config, spec.config_cls):
        return
    raise UserError(f"config {type(config).__name__} does not belong to estimator {spec.name!r}, which takes "
                    f"{spec.config_cls.__name__}; pass {spec.config_cls.__name__}(...) or no config")
