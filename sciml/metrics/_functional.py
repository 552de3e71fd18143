"""Functional regression metrics with NaN masking: the core of :mod:`sciml.metrics`.

Each metric is split, torchmetrics-style, into

1. per-task sufficient statistics (:func:`regression_stats`), mergeable across
   batches with :func:`merge_stats` (Chan et al.'s parallel update of means and
   co-moments, numerically stable where raw sums of squares are not); and
2. a reduction from those statistics to one value per task.

The one-shot functions (:func:`rmse`, :func:`r2`, ...) run exactly the same two
steps on a single batch, so a streaming
:class:`~sciml.metrics.RegressionAccumulator` agrees with them up to
floating-point summation order.

Conventions
-----------
- ``y_true`` and ``y_pred`` have shape ``(N,)`` (one task) or ``(N, T)``;
  numpy arrays, torch tensors, pandas objects and nested sequences are
  accepted and converted to ``float64``.
- NaN in ``y_true`` *or* ``y_pred`` marks a missing pair; each task uses only
  its own labelled pairs. ``inf`` is rejected: it is a bug, not a missing label.
- Undefined values are NaN, by one rule: RMSE and MAE need ``n >= 1`` pairs;
  R² needs ``n >= 2`` and a non-constant ``y_true``; Pearson and Spearman need
  ``n >= 2`` and both ``y_true`` and ``y_pred`` non-constant. (sklearn's
  ``r2_score`` returns 0 or 1 for a constant ``y_true``; we return NaN so that the
  macro average skips the task instead of being pulled by a convention.)
- ``reduce="none"`` returns the per-task array ``(T,)`` (``(1,)`` for 1-D
  input); ``reduce="mean"`` returns the macro average over the tasks whose
  value is defined (NaN if none is).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import rankdata

__all__ = [
    "METRIC_NAMES",
    "RegressionStats",
    "get_metric",
    "mae",
    "merge_stats",
    "metric_from_stats",
    "pearson",
    "r2",
    "regression_stats",
    "relative_l2",
    "rmse",
    "spearman",
]

Reduce = Literal["none", "mean"]
MetricFn = Callable[..., Any]

#: Per-task metrics available by name (report columns, bootstrap, accumulator).
METRIC_NAMES: tuple[str, ...] = ("rmse", "mae", "r2", "pearson", "spearman")
_STATS_METRICS: tuple[str, ...] = ("rmse", "mae", "r2", "pearson")


# --------------------------------------------------------------------------- input handling
def _to_numpy(x: Any, name: str) -> np.ndarray:
    """Convert an array-like (numpy, torch, pandas, sequence) to a float64 array."""
    if isinstance(x, (pd.DataFrame, pd.Series)):
        return x.to_numpy(dtype=np.float64)
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch tensor, without importing torch
        x = x.detach().cpu().double().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be numeric array-like, got {type(x).__name__}") from err


def _align_frames(
    y_true: Any, y_pred: Any, task_names: Sequence[str] | None
) -> tuple[Any, Any, list[str] | None]:
    """Align pandas inputs by column name (and row index); return task names if known."""
    is_df_t, is_df_p = isinstance(y_true, pd.DataFrame), isinstance(y_pred, pd.DataFrame)
    if isinstance(y_true, pd.Series) and y_true.name is not None and task_names is None:
        task_names = [str(y_true.name)]
    if not (is_df_t or is_df_p):
        return y_true, y_pred, None if task_names is None else [str(t) for t in task_names]
    ref = y_true if is_df_t else y_pred
    names = [str(c) for c in ref.columns] if task_names is None else [str(t) for t in task_names]
    out = []
    for label, frame in (("y_true", y_true), ("y_pred", y_pred)):
        if isinstance(frame, pd.DataFrame):
            frame = frame.rename(columns=str)
            missing = [c for c in names if c not in frame.columns]
            if missing:
                raise ValueError(
                    f"{label} has no column(s) {missing}; its columns are {list(frame.columns)}"
                )
            frame = frame[names]
        out.append(frame)
    yt, yp = out
    if is_df_t and is_df_p and not yt.index.equals(yp.index):
        if len(yt.index) == len(yp.index) and set(yt.index) == set(yp.index):
            yp = yp.loc[yt.index]
        else:
            raise ValueError(
                "y_true and y_pred DataFrames have different row indices; align them or "
                "call .reset_index(drop=True) on both if rows correspond by position"
            )
    return yt, yp, names


def _check_finite_or_nan(arr: np.ndarray, name: str) -> None:
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains inf; use NaN to mark missing values")


def _prepare(
    y_true: Any, y_pred: Any, task_names: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Validate and convert a pair to 2-D float64 arrays ``(N, T)``."""
    y_true, y_pred, names = _align_frames(y_true, y_pred, task_names)
    yt, yp = _to_numpy(y_true, "y_true"), _to_numpy(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got y_true {yt.shape} "
            f"and y_pred {yp.shape}"
        )
    if yt.ndim not in (1, 2):
        raise ValueError(f"y_true and y_pred must have shape (N,) or (N, T), got {yt.shape}")
    if yt.ndim == 1:
        yt, yp = yt[:, None], yp[:, None]
    if yt.shape[0] == 0 or yt.shape[1] == 0:
        raise ValueError(f"empty input: y_true and y_pred have shape {yt.shape}")
    _check_finite_or_nan(yt, "y_true")
    _check_finite_or_nan(yp, "y_pred")
    if names is not None and len(names) != yt.shape[1]:
        raise ValueError(f"got {len(names)} task names for {yt.shape[1]} tasks")
    return yt, yp, names


def _check_reduce(reduce: str) -> None:
    if reduce not in ("none", "mean"):
        raise ValueError(f"reduce must be 'none' or 'mean', got {reduce!r}")


def _macro_mean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean over tasks of the defined (non-NaN) values; NaN where none is defined."""
    finite = ~np.isnan(values)
    count = finite.sum(axis=axis)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _reduce(values: np.ndarray, reduce: Reduce) -> np.ndarray | float:
    _check_reduce(reduce)
    return values if reduce == "none" else float(_macro_mean(values))


# --------------------------------------------------------------------------- sufficient stats
@dataclass(frozen=True)
class RegressionStats:
    """Per-task sufficient statistics of a set of ``(y_true, y_pred)`` pairs.

    All fields are arrays of shape ``(..., T)``; the leading dimensions (if any)
    index independent evaluations, e.g. bootstrap resamples.

    Attributes
    ----------
    n : np.ndarray
        Number of labelled pairs (both values not NaN).
    mean_true, mean_pred : np.ndarray
        Means over labelled pairs (0 where ``n == 0``).
    m2_true, m2_pred : np.ndarray
        Sums of squared deviations from the mean.
    c_tp : np.ndarray
        Sum of cross deviations ``(t - mean_t) * (p - mean_p)``.
    sse, sae : np.ndarray
        Sum of squared errors and sum of absolute errors.
    min_true, max_true, min_pred, max_pred : np.ndarray
        Extremes (``+inf``/``-inf`` where ``n == 0``); ``min == max`` is the exact,
        tolerance-free test for a constant column.
    """

    n: np.ndarray
    mean_true: np.ndarray
    mean_pred: np.ndarray
    m2_true: np.ndarray
    m2_pred: np.ndarray
    c_tp: np.ndarray
    sse: np.ndarray
    sae: np.ndarray
    min_true: np.ndarray
    max_true: np.ndarray
    min_pred: np.ndarray
    max_pred: np.ndarray

    @property
    def num_tasks(self) -> int:
        """Number of tasks ``T``."""
        return int(self.n.shape[-1])


def _stats_along(yt: np.ndarray, yp: np.ndarray) -> RegressionStats:
    """Sufficient statistics of arrays ``(..., N, T)``, reducing the ``N`` axis."""
    valid = ~(np.isnan(yt) | np.isnan(yp))
    n = valid.sum(axis=-2).astype(np.float64)
    safe_n = np.maximum(n, 1.0)
    t0, p0 = np.where(valid, yt, 0.0), np.where(valid, yp, 0.0)
    mean_t, mean_p = t0.sum(axis=-2) / safe_n, p0.sum(axis=-2) / safe_n
    dt = np.where(valid, yt - mean_t[..., None, :], 0.0)
    dp = np.where(valid, yp - mean_p[..., None, :], 0.0)
    err = p0 - t0
    return RegressionStats(
        n=n,
        mean_true=mean_t,
        mean_pred=mean_p,
        m2_true=(dt * dt).sum(axis=-2),
        m2_pred=(dp * dp).sum(axis=-2),
        c_tp=(dt * dp).sum(axis=-2),
        sse=(err * err).sum(axis=-2),
        sae=np.abs(err).sum(axis=-2),
        min_true=np.where(valid, yt, np.inf).min(axis=-2),
        max_true=np.where(valid, yt, -np.inf).max(axis=-2),
        min_pred=np.where(valid, yp, np.inf).min(axis=-2),
        max_pred=np.where(valid, yp, -np.inf).max(axis=-2),
    )


def regression_stats(y_true: Any, y_pred: Any) -> RegressionStats:
    """Compute per-task sufficient statistics of one batch.

    Parameters
    ----------
    y_true, y_pred : array-like, shape ``(N,)`` or ``(N, T)``
        Targets and predictions; NaN in either marks a missing pair.

    Returns
    -------
    RegressionStats
        Statistics with fields of shape ``(T,)``.
    """
    yt, yp, _ = _prepare(y_true, y_pred)
    return _stats_along(yt, yp)


def merge_stats(a: RegressionStats, b: RegressionStats) -> RegressionStats:
    """Merge the statistics of two disjoint sets of pairs (Chan et al., 1979).

    Parameters
    ----------
    a, b : RegressionStats
        Statistics with the same number of tasks.

    Returns
    -------
    RegressionStats
        Statistics of the union, as if computed in one pass.
    """
    if a.n.shape != b.n.shape:
        raise ValueError(f"cannot merge statistics of shapes {a.n.shape} and {b.n.shape}")
    n = a.n + b.n
    safe_n = np.maximum(n, 1.0)
    d_t, d_p = b.mean_true - a.mean_true, b.mean_pred - a.mean_pred
    w = a.n * b.n / safe_n
    return RegressionStats(
        n=n,
        mean_true=a.mean_true + d_t * b.n / safe_n,
        mean_pred=a.mean_pred + d_p * b.n / safe_n,
        m2_true=a.m2_true + b.m2_true + d_t * d_t * w,
        m2_pred=a.m2_pred + b.m2_pred + d_p * d_p * w,
        c_tp=a.c_tp + b.c_tp + d_t * d_p * w,
        sse=a.sse + b.sse,
        sae=a.sae + b.sae,
        min_true=np.minimum(a.min_true, b.min_true),
        max_true=np.maximum(a.max_true, b.max_true),
        min_pred=np.minimum(a.min_pred, b.min_pred),
        max_pred=np.maximum(a.max_pred, b.max_pred),
    )


def _empty_stats(num_tasks: int) -> RegressionStats:
    zeros = np.zeros(num_tasks)
    values = {f.name: zeros.copy() for f in fields(RegressionStats)}
    values.update(
        min_true=np.full(num_tasks, np.inf),
        max_true=np.full(num_tasks, -np.inf),
        min_pred=np.full(num_tasks, np.inf),
        max_pred=np.full(num_tasks, -np.inf),
    )
    return RegressionStats(**values)


def metric_from_stats(stats: RegressionStats, name: str) -> np.ndarray:
    """Reduce sufficient statistics to one metric per task.

    Parameters
    ----------
    stats : RegressionStats
        Statistics with fields of shape ``(..., T)``.
    name : {"rmse", "mae", "r2", "pearson"}
        Metric to compute (Spearman needs the values, not statistics).

    Returns
    -------
    np.ndarray, shape ``(..., T)``
        Metric values, NaN where undefined (see the module docstring).
    """
    if name not in _STATS_METRICS:
        raise ValueError(
            f"metric {name!r} cannot be computed from sufficient statistics; "
            f"valid names: {list(_STATS_METRICS)}"
        )
    n = stats.n
    safe_n = np.maximum(n, 1.0)
    varying_t = stats.max_true > stats.min_true
    varying_p = stats.max_pred > stats.min_pred
    with np.errstate(invalid="ignore", divide="ignore"):
        if name == "rmse":
            return np.where(n >= 1, np.sqrt(stats.sse / safe_n), np.nan)
        if name == "mae":
            return np.where(n >= 1, stats.sae / safe_n, np.nan)
        if name == "r2":
            ok = (n >= 2) & varying_t
            return np.where(ok, 1.0 - stats.sse / np.where(ok, stats.m2_true, 1.0), np.nan)
        ok = (n >= 2) & varying_t & varying_p
        denom = np.sqrt(np.where(ok, stats.m2_true * stats.m2_pred, 1.0))
        return np.where(ok, np.clip(stats.c_tp / denom, -1.0, 1.0), np.nan)


def _spearman_along(yt: np.ndarray, yp: np.ndarray) -> np.ndarray:
    """Spearman correlation of arrays ``(..., N, T)`` along ``N``: Pearson of average ranks."""
    invalid = np.isnan(yt) | np.isnan(yp)
    yt, yp = np.where(invalid, np.nan, yt), np.where(invalid, np.nan, yp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rt = rankdata(yt, axis=-2, nan_policy="omit")
        rp = rankdata(yp, axis=-2, nan_policy="omit")
    return metric_from_stats(_stats_along(rt, rp), "pearson")


def _per_task_along(name: str, yt: np.ndarray, yp: np.ndarray) -> np.ndarray:
    """Metric ``name`` on arrays ``(..., N, T)``, per leading index and task."""
    if name == "spearman":
        return _spearman_along(yt, yp)
    return metric_from_stats(_stats_along(yt, yp), name)


# --------------------------------------------------------------------------- public metrics
def rmse(y_true: Any, y_pred: Any, *, reduce: Reduce = "none") -> np.ndarray | float:
    """Root mean squared error per task, ``sqrt(mean((y_pred - y_true)**2))``.

    Parameters
    ----------
    y_true, y_pred : array-like, shape ``(N,)`` or ``(N, T)``
        Targets and predictions; NaN in either marks a missing pair.
    reduce : {"none", "mean"}
        ``"none"``: array ``(T,)``; ``"mean"``: macro average over defined tasks.

    Returns
    -------
    np.ndarray or float
        NaN for a task with no labelled pair.

    Examples
    --------
    >>> rmse([[1.0, 0.0], [3.0, float("nan")]], [[2.0, 0.0], [3.0, 5.0]])
    array([0.70710678, 0.        ])
    """
    yt, yp, _ = _prepare(y_true, y_pred)
    return _reduce(_per_task_along("rmse", yt, yp), reduce)


def mae(y_true: Any, y_pred: Any, *, reduce: Reduce = "none") -> np.ndarray | float:
    """Mean absolute error per task, ``mean(|y_pred - y_true|)``.

    Parameters
    ----------
    y_true, y_pred : array-like, shape ``(N,)`` or ``(N, T)``
        Targets and predictions; NaN in either marks a missing pair.
    reduce : {"none", "mean"}
        ``"none"``: array ``(T,)``; ``"mean"``: macro average over defined tasks.

    Returns
    -------
    np.ndarray or float
        NaN for a task with no labelled pair.
    """
    yt, yp, _ = _prepare(y_true, y_pred)
    return _reduce(_per_task_along("mae", yt, yp), reduce)


def r2(y_true: Any, y_pred: Any, *, reduce: Reduce = "none") -> np.ndarray | float:
    """Coefficient of determination per task, ``1 - SS_res / SS_tot``.

    Parameters
    ----------
    y_true, y_pred : array-like, shape ``(N,)`` or ``(N, T)``
        Targets and predictions; NaN in either marks a missing pair.
    reduce : {"none", "mean"}
        ``"none"``: array ``(T,)``; ``"mean"``: macro average over defined tasks.

    Returns
    -------
    np.ndarray or float
        NaN for a task with fewer than 2 pairs or a constant ``y_true``.
    """
    yt, yp, _ = _prepare(y_true, y_pred)
    return _reduce(_per_task_along("r2", yt, yp), reduce)


def pearson(y_true: Any, y_pred: Any, *, reduce: Reduce = "none") -> np.ndarray | float:
    """Pearson correlation coefficient per task.

    Parameters
    ----------
    y_true, y_pred : array-like, shape ``(N,)`` or ``(N, T)``
        Targets and predictions; NaN in either marks a missing pair.
    reduce : {"none", "mean"}
        ``"none"``: array ``(T,)``; ``"mean"``: macro average over defined tasks.

    Returns
    -------
    np.ndarray or float
        NaN for a task with fewer than 2 pairs or a constant column.
    """
    yt, yp, _ = _prepare(y_true, y_pred)
    return _reduce(_per_task_along("pearson", yt, yp), reduce)


def spearman(y_true: Any, y_pred: Any, *, reduce: Reduce = "none") -> np.ndarray | float:
    """Spearman rank correlation per task (Pearson of average ranks, ties averaged).

    Parameters
    ----------
    y_true, y_pred : array-like, shape ``(N,)`` or ``(N, T)``
        Targets and predictions; NaN in either marks a missing pair.
    reduce : {"none", "mean"}
        ``"none"``: array ``(T,)``; ``"mean"``: macro average over defined tasks.

    Returns
    -------
    np.ndarray or float
        NaN for a task with fewer than 2 pairs or a constant column.
    """
    yt, yp, _ = _prepare(y_true, y_pred)
    return _reduce(_per_task_along("spearman", yt, yp), reduce)


_METRICS: dict[str, MetricFn] = {
    "rmse": rmse,
    "mae": mae,
    "r2": r2,
    "pearson": pearson,
    "spearman": spearman,
}


def get_metric(name: str) -> MetricFn:
    """Return the per-task metric function called ``name``.

    Parameters
    ----------
    name : str
        One of :data:`METRIC_NAMES` (case-insensitive).

    Returns
    -------
    callable
        ``fn(y_true, y_pred, *, reduce="none")``.
    """
    key = str(name).lower()
    if key not in _METRICS:
        raise ValueError(f"unknown metric {name!r}; valid names: {list(METRIC_NAMES)}")
    return _METRICS[key]


def relative_l2(
    y_true: Any, y_pred: Any, mask: Any = None, *, reduce: Reduce = "mean"
) -> np.ndarray | float:
    """Relative L2 error of fields, per sample within an optional point mask.

    For sample ``s`` with valid points ``M_s`` (mask true, and neither value NaN)
    the error is the discrete L2 (Frobenius) norm ratio over points and channels::

        e_s = sqrt(sum_{i in M_s, c} (p[s,i,c] - t[s,i,c])**2)
              / sqrt(sum_{i in M_s, c} t[s,i,c]**2)

    No quadrature weights are applied: on a non-uniform grid this is the norm of
    the nodal values, not of the continuous field.

    Parameters
    ----------
    y_true, y_pred : array-like, shape ``(S, N)`` or ``(S, N, C)``
        Fields of ``S`` samples on ``N`` points with ``C`` channels.
    mask : array-like of bool, shape ``(S, N)``, optional
        True at points that belong to the geometry; all points if omitted.
    reduce : {"none", "mean"}
        ``"none"``: per-sample errors ``(S,)``; ``"mean"`` (default): their mean
        over samples where the error is defined.

    Returns
    -------
    np.ndarray or float
        NaN for a sample with no valid point or a zero true norm.

    Examples
    --------
    >>> relative_l2([[1.0, 0.0], [0.0, 2.0]], [[1.0, 1.0], [0.0, 1.0]], reduce="none")
    array([1. , 0.5])
    """
    _check_reduce(reduce)
    yt, yp = _to_numpy(y_true, "y_true"), _to_numpy(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got y_true {yt.shape} "
            f"and y_pred {yp.shape}"
        )
    if yt.ndim not in (2, 3):
        raise ValueError(f"fields must have shape (S, N) or (S, N, C), got {yt.shape}")
    if yt.size == 0:
        raise ValueError(f"empty input: fields have shape {yt.shape}")
    _check_finite_or_nan(yt, "y_true")
    _check_finite_or_nan(yp, "y_pred")
    if yt.ndim == 2:
        yt, yp = yt[..., None], yp[..., None]
    valid = ~(np.isnan(yt) | np.isnan(yp))
    if mask is not None:
        if hasattr(mask, "detach"):
            mask = mask.detach().cpu().numpy()
        m = np.asarray(mask)
        if m.shape != yt.shape[:2]:
            raise ValueError(f"mask must have shape {yt.shape[:2]} (S, N), got {m.shape}")
        if m.dtype != bool:
            if not (np.issubdtype(m.dtype, np.number) and np.isin(m, (0, 1)).all()):
                raise ValueError(f"mask must be boolean (or 0/1), got dtype {m.dtype}")
            m = m.astype(bool)
        valid &= m[..., None]
    diff2 = np.where(valid, (yp - yt) ** 2, 0.0).sum(axis=(1, 2))
    true2 = np.where(valid, yt**2, 0.0).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        per_sample = np.where(true2 > 0, np.sqrt(diff2) / np.sqrt(true2), np.nan)
    return _reduce(per_sample, reduce)
