"""Streaming accumulation of regression metrics over batches (for training loops)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._functional import (
    _STATS_METRICS,
    METRIC_NAMES,
    Reduce,
    RegressionStats,
    _check_reduce,
    _empty_stats,
    _prepare,
    _reduce,
    _spearman_along,
    _stats_along,
    merge_stats,
    metric_from_stats,
)

__all__ = ["RegressionAccumulator"]


class RegressionAccumulator:
    """Accumulate per-task regression metrics over batches.

    RMSE, MAE, R² and Pearson come from mergeable sufficient statistics
    (:class:`~sciml.metrics.RegressionStats`), so memory is ``O(T)``. Spearman
    needs ranks over the whole set, so it is only available when
    ``keep_values=True`` (the default), which buffers the batches.

    Parameters
    ----------
    keep_values : bool
        Buffer the batches so that Spearman can be computed.

    Examples
    --------
    >>> acc = RegressionAccumulator()
    >>> acc.update([[1.0], [2.0]], [[1.5], [2.0]])
    >>> acc.update([[3.0]], [[2.5]])
    >>> acc.compute(["rmse"])["rmse"]
    array([0.40824829])
    """

    def __init__(self, keep_values: bool = True) -> None:
        self.keep_values = keep_values
        self.reset()

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self._stats: RegressionStats | None = None
        self._true: list[np.ndarray] = []
        self._pred: list[np.ndarray] = []

    @property
    def num_tasks(self) -> int | None:
        """Number of tasks ``T``, fixed by the first batch (None before it)."""
        return None if self._stats is None else self._stats.num_tasks

    @property
    def stats(self) -> RegressionStats:
        """Sufficient statistics of everything seen so far."""
        if self._stats is None:
            raise RuntimeError("RegressionAccumulator has seen no batch yet; call update() first")
        return self._stats

    def update(self, y_true: Any, y_pred: Any) -> None:
        """Add one batch.

        Parameters
        ----------
        y_true, y_pred : array-like, shape ``(B,)`` or ``(B, T)``
            Targets and predictions (numpy, torch, pandas); NaN marks missing pairs.
        """
        yt, yp, _ = _prepare(y_true, y_pred)
        if self._stats is not None and yt.shape[1] != self._stats.num_tasks:
            raise ValueError(
                f"batch has {yt.shape[1]} tasks (shape {yt.shape}) but earlier batches had "
                f"{self._stats.num_tasks}"
            )
        batch = _stats_along(yt, yp)
        self._stats = batch if self._stats is None else merge_stats(self._stats, batch)
        if self.keep_values:
            self._true.append(yt.copy())
            self._pred.append(yp.copy())

    def merge(self, other: RegressionAccumulator) -> RegressionAccumulator:
        """Fold another accumulator (e.g. from another process) into this one.

        Parameters
        ----------
        other : RegressionAccumulator
            Accumulator over a disjoint set of pairs with the same number of tasks.

        Returns
        -------
        RegressionAccumulator
            ``self``, updated in place.
        """
        if other._stats is None:
            return self
        if self._stats is None:
            self._stats = _empty_stats(other._stats.num_tasks)
        self._stats = merge_stats(self._stats, other._stats)
        if self.keep_values:
            if not other.keep_values:
                self.keep_values = False
                self._true, self._pred = [], []
            else:
                self._true.extend(other._true)
                self._pred.extend(other._pred)
        return self

    def compute(
        self, metrics: Sequence[str] | None = None, *, reduce: Reduce = "none"
    ) -> dict[str, np.ndarray | float]:
        """Compute metrics over every batch seen so far.

        Parameters
        ----------
        metrics : sequence of str, optional
            Subset of :data:`~sciml.metrics.METRIC_NAMES`; all of them by default
            (all but Spearman when ``keep_values=False``).
        reduce : {"none", "mean"}
            Per-task arrays ``(T,)`` or macro averages.

        Returns
        -------
        dict
            Metric name to value, identical to the one-shot functions on the
            concatenated batches (up to summation order).
        """
        _check_reduce(reduce)
        stats = self.stats
        if metrics is None:
            metrics = METRIC_NAMES if self.keep_values else _STATS_METRICS
        out: dict[str, np.ndarray | float] = {}
        for name in metrics:
            key = str(name).lower()
            if key in _STATS_METRICS:
                values = metric_from_stats(stats, key)
            elif key == "spearman":
                if not self.keep_values:
                    raise ValueError(
                        "spearman needs the buffered values; create the accumulator with "
                        "keep_values=True"
                    )
                values = _spearman_along(np.concatenate(self._true), np.concatenate(self._pred))
            else:
                raise ValueError(f"unknown metric {name!r}; valid names: {list(METRIC_NAMES)}")
            out[key] = _reduce(values, reduce)
        return out
