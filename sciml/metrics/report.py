"""Per-task regression report with a macro-average row and optional bootstrap CIs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._functional import METRIC_NAMES, _macro_mean, _per_task_along, _prepare
from .bootstrap import _bootstrap_values, _check_bootstrap_args, _percentile_interval

__all__ = ["regression_report"]


def regression_report(
    y_true: Any,
    y_pred: Any,
    task_names: Sequence[str] | None = None,
    *,
    ci: bool = False,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Tabulate RMSE, MAE, R², Pearson and Spearman per task and their macro average.

    Parameters
    ----------
    y_true, y_pred : array-like or pandas.DataFrame, shape ``(N,)`` or ``(N, T)``
        Targets and predictions; NaN in either marks a missing pair. DataFrames
        are aligned by column name (and by row index when both are frames); the
        columns become the task names.
    task_names : sequence of str, optional
        Row labels, ``task_0 ...`` by default. With DataFrames, selects and
        orders the columns to report.
    ci : bool
        Add percentile-bootstrap columns ``<metric>_low`` and ``<metric>_high``
        (see :func:`~sciml.metrics.bootstrap_ci`; all metrics share resamples).
    n_resamples, confidence, seed
        Bootstrap settings, used when ``ci=True``.

    Returns
    -------
    pandas.DataFrame
        Index ``task`` with one row per task and a final ``mean`` row; columns
        ``n, rmse, mae, r2, pearson, spearman`` (then the CI columns). ``n`` is
        the number of labelled pairs (the total over tasks in the ``mean`` row);
        each metric in the ``mean`` row is the average over tasks where it is
        defined, and its CI is that of the macro average.

    Examples
    --------
    >>> regression_report([[1.0, 2.0], [2.0, 1.0], [3.0, 0.0]],
    ...                   [[1.1, 2.0], [2.0, 1.2], [2.9, 0.1]], ["a", "b"]).shape
    (3, 6)
    """
    yt, yp, names = _prepare(y_true, y_pred, task_names)
    num_tasks = yt.shape[1]
    if names is None:
        names = [f"task_{i}" for i in range(num_tasks)]
    if len(set(names)) != len(names) or "mean" in names:
        raise ValueError(f"task names must be unique and not 'mean', got {names}")
    n = (~(np.isnan(yt) | np.isnan(yp))).sum(axis=0)
    columns: dict[str, np.ndarray] = {"n": np.append(n, n.sum())}
    for name in METRIC_NAMES:
        values = _per_task_along(name, yt, yp)
        columns[name] = np.append(values, _macro_mean(values))
    if ci:
        _check_bootstrap_args(n_resamples, confidence)
        boot = _bootstrap_values(list(METRIC_NAMES), yt, yp, int(n_resamples), seed)
        for name, values in zip(METRIC_NAMES, boot, strict=True):
            low, high = _percentile_interval(values, confidence)
            m_low, m_high = _percentile_interval(_macro_mean(values), confidence)
            columns[f"{name}_low"] = np.append(low, m_low)
            columns[f"{name}_high"] = np.append(high, m_high)
    index = pd.Index([*names, "mean"], name="task")
    return pd.DataFrame(columns, index=index)
