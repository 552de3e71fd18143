"""Percentile-bootstrap confidence intervals for per-task regression metrics."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._functional import (
    METRIC_NAMES,
    Reduce,
    _check_reduce,
    _macro_mean,
    _per_task_along,
    _prepare,
    get_metric,
)

__all__ = ["bootstrap_ci"]

# Resampled arrays are (chunk, N, T); keep each under ~4M float64 (32 MB).
_CHUNK_ELEMENTS = 4_000_000


def _check_bootstrap_args(n_resamples: int, confidence: float) -> None:
    if int(n_resamples) < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")


def _bootstrap_values(
    metrics: Sequence[str | Callable[..., Any]],
    yt: np.ndarray,
    yp: np.ndarray,
    n_resamples: int,
    seed: int | None,
) -> list[np.ndarray]:
    """Metric values ``(n_resamples, T)`` for each metric, on shared row resamples.

    Rows (samples) are resampled with replacement, all tasks together, so the
    per-task values of one resample stay paired. Built-in metrics are evaluated
    on a whole chunk of resamples at once; a callable is called per resample.
    """
    n, t = yt.shape
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // (n * t))
    out: list[list[np.ndarray]] = [[] for _ in metrics]
    for start in range(0, n_resamples, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_resamples - start), n))
        bt, bp = yt[idx], yp[idx]
        for k, metric in enumerate(metrics):
            if isinstance(metric, str):
                out[k].append(_per_task_along(metric, bt, bp))
            else:
                values = [
                    np.asarray(metric(a, b, reduce="none"), float)
                    for a, b in zip(bt, bp, strict=True)
                ]
                out[k].append(np.stack(values).reshape(len(values), -1))
    return [np.concatenate(v) for v in out]


def _percentile_interval(values: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along axis 0, ignoring resamples where the metric is NaN."""
    alpha = (1.0 - confidence) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN task -> NaN bounds
        low, high = np.nanquantile(values, [alpha, 1.0 - alpha], axis=0)
    return low, high


def bootstrap_ci(
    metric: str | Callable[..., Any],
    y_true: Any,
    y_pred: Any,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | None = 0,
    *,
    reduce: Reduce = "none",
) -> tuple[np.ndarray, np.ndarray] | tuple[float, float]:
    """Percentile-bootstrap confidence interval of a metric, per task.

    Rows are resampled with replacement (all tasks together); the metric is
    recomputed on each resample with the usual NaN masking, and the interval is
    the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the
    resampled values. Resamples on which the metric is undefined (e.g. a
    constant resample for R²) are left out of the quantiles.

    Parameters
    ----------
    metric : str or callable
        A name in :data:`~sciml.metrics.METRIC_NAMES` (vectorised over
        resamples), or ``fn(y_true, y_pred, reduce="none") -> (T,)`` (looped).
    y_true, y_pred : array-like, shape ``(N,)`` or ``(N, T)``
        Targets and predictions; NaN in either marks a missing pair.
    n_resamples : int
        Number of bootstrap resamples.
    confidence : float
        Coverage of the interval, in ``(0, 1)``.
    seed : int or None
        Seed of :func:`numpy.random.default_rng`; fixed by default so reports
        are reproducible.
    reduce : {"none", "mean"}
        ``"none"``: interval per task; ``"mean"``: interval of the macro average
        (averaged within each resample, then quantiles).

    Returns
    -------
    (low, high)
        Arrays ``(T,)``, or floats when ``reduce="mean"``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=50)
    >>> low, high = bootstrap_ci("rmse", y, y + 0.1 * rng.normal(size=50), n_resamples=200)
    >>> bool(low[0] < high[0])
    True
    """
    _check_reduce(reduce)
    _check_bootstrap_args(n_resamples, confidence)
    if isinstance(metric, str):
        get_metric(metric)  # validates the name, listing the valid ones
        metric = metric.lower()
    elif not callable(metric):
        raise TypeError(f"metric must be a name in {list(METRIC_NAMES)} or a callable")
    yt, yp, _ = _prepare(y_true, y_pred)
    (values,) = _bootstrap_values([metric], yt, yp, int(n_resamples), seed)
    if reduce == "mean":
        low, high = _percentile_interval(_macro_mean(values), confidence)
        return float(low), float(high)
    return _percentile_interval(values, confidence)
