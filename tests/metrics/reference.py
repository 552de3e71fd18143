"""sklearn/scipy reference values, computed task by task on the labelled pairs."""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

REFERENCE = {
    "rmse": lambda t, p: np.sqrt(mean_squared_error(t, p)),
    "mae": mean_absolute_error,
    "r2": r2_score,
    "pearson": lambda t, p: pearsonr(t, p).statistic,
    "spearman": lambda t, p: spearmanr(t, p).statistic,
}


def reference(name: str, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per-task reference value, NaN-masked; NaN where the task has < 2 pairs."""
    y_true, y_pred = np.atleast_2d(y_true.T).T, np.atleast_2d(y_pred.T).T
    out = []
    for j in range(y_true.shape[1]):
        ok = ~(np.isnan(y_true[:, j]) | np.isnan(y_pred[:, j]))
        out.append(REFERENCE[name](y_true[ok, j], y_pred[ok, j]) if ok.sum() >= 2 else np.nan)
    return np.array(out)
