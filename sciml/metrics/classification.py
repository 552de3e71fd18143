"""Binary classification metrics with NaN masking, per task and macro-averaged.

The same conventions as the regression metrics (:mod:`sciml.metrics._functional`):
``y_true`` and ``y_prob`` are ``(N,)`` or ``(N, T)``; NaN in either marks a missing pair and
each task uses only its own labelled pairs; ``reduce="none"`` returns ``(T,)``,
``reduce="mean"`` the macro average over the tasks whose value is defined. Labels are 0/1;
``y_prob`` is the predicted probability of class 1, in ``[0, 1]``.

Undefined values are NaN: AUROC and AUPRC need both classes among a task's labels;
balanced accuracy needs at least one label; log loss, Brier score and ECE need one pair.

Each metric matches scikit-learn's (``roc_auc_score``, ``average_precision_score``,
``balanced_accuracy_score``, ``log_loss``, ``brier_score_loss``) on a single task; the
tests check that. ECE is the expected calibration error with equal-width bins
(Guo et al. 2017): the label-weighted mean of ``|mean(y) - mean(p)|`` over bins.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 0, 1, 1, np.nan])
>>> p = np.array([0.1, 0.4, 0.35, 0.8, 0.5])
>>> auroc(y, p, reduce="mean")
0.75
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from ._functional import Reduce, _prepare, _reduce

__all__ = [
    "CLASSIFICATION_METRIC_NAMES",
    "auprc",
    "auroc",
    "balanced_accuracy",
    "brier",
    "ece",
    "log_loss",
]

#: Per-task binary metrics by name (higher is better for the first three).
CLASSIFICATION_METRIC_NAMES: tuple[str, ...] = (
    "auroc",
    "auprc",
    "balanced_accuracy",
    "log_loss",
    "brier",
    "ece",
)

_EPS = 1e-15


def _pairs(y_true: Any, y_prob: Any) -> tuple[np.ndarray, np.ndarray]:
    yt, yp, _ = _prepare(y_true, y_prob)
    labels = yt[~np.isnan(yt)]
    if not np.isin(labels, (0.0, 1.0)).all():
        bad = np.unique(labels[~np.isin(labels, (0.0, 1.0))])[:5]
        raise ValueError(f"binary labels must be 0 or 1 (NaN = missing), got {bad.tolist()}")
    probs = yp[~np.isnan(yp)]
    if ((probs < 0) | (probs > 1)).any():
        raise ValueError(
            "predicted probabilities must lie in [0, 1]; got values from "
            f"{probs.min():.3g} to {probs.max():.3g}"
        )
    return yt, yp


def _per_task(fn, y_true: Any, y_prob: Any, reduce: Reduce) -> np.ndarray | float:
    yt, yp = _pairs(y_true, y_prob)
    values = np.full(yt.shape[1], np.nan)
    for t in range(yt.shape[1]):
        keep = ~np.isnan(yt[:, t]) & ~np.isnan(yp[:, t])
        if keep.any():
            values[t] = fn(yt[keep, t], yp[keep, t])
    return _reduce(values, reduce)


def _auroc(y: np.ndarray, p: np.ndarray) -> float:
    n_pos = y.sum()
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.nan
    # Mann-Whitney U with mid-ranks for ties: exactly the trapezoidal ROC area.
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _auprc(y: np.ndarray, p: np.ndarray) -> float:
    n_pos = y.sum()
    if n_pos == 0 or n_pos == y.size:
        return np.nan
    # Average precision as scikit-learn computes it: precision at each distinct threshold,
    # weighted by the recall gained there (no interpolation).
    order = np.argsort(-p, kind="mergesort")
    p_sorted, y_sorted = p[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(p_sorted)), y.size - 1]
    tp = np.cumsum(y_sorted)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def auroc(y_true: Any, y_prob: Any, *, reduce: Reduce = "none") -> np.ndarray | float:
    """Area under the ROC curve per task (NaN where a task has one class only)."""
    return _per_task(_auroc, y_true, y_prob, reduce)


def auprc(y_true: Any, y_prob: Any, *, reduce: Reduce = "none") -> np.ndarray | float:
    """Area under the precision-recall curve (average precision) per task."""
    return _per_task(_auprc, y_true, y_prob, reduce)


def balanced_accuracy(
    y_true: Any, y_prob: Any, *, threshold: float = 0.5, reduce: Reduce = "none"
) -> np.ndarray | float:
    """Mean of the recalls of both classes, with class 1 predicted where ``p >= threshold``."""

    def one(y, p):
        pred = p >= threshold
        recalls = [np.mean(pred[y == c] == bool(c)) for c in (0, 1) if (y == c).any()]
        return float(np.mean(recalls))

    return _per_task(one, y_true, y_prob, reduce)


def log_loss(y_true: Any, y_prob: Any, *, reduce: Reduce = "none") -> np.ndarray | float:
    """Mean negative log-likelihood of the labels (probabilities clipped to [1e-15, 1 - 1e-15])."""

    def one(y, p):
        p = np.clip(p, _EPS, 1 - _EPS)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))

    return _per_task(one, y_true, y_prob, reduce)


def brier(y_true: Any, y_prob: Any, *, reduce: Reduce = "none") -> np.ndarray | float:
    """Mean squared difference between probability and label."""
    return _per_task(lambda y, p: float(np.mean((p - y) ** 2)), y_true, y_prob, reduce)


def ece(
    y_true: Any, y_prob: Any, *, n_bins: int = 10, reduce: Reduce = "none"
) -> np.ndarray | float:
    """Expected calibration error over ``n_bins`` equal-width probability bins."""
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")

    def one(y, p):
        bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
        count = np.bincount(bins, minlength=n_bins)
        gap = np.abs(np.bincount(bins, y, n_bins) - np.bincount(bins, p, n_bins))
        return float(gap.sum() / count.sum())

    return _per_task(one, y_true, y_prob, reduce)
