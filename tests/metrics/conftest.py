"""Shared data for the metrics tests: random multi-task batches with missing labels."""

from __future__ import annotations

import numpy as np
import pytest


def make_batch(
    seed: int, n: int, t: int, nan_true: float = 0.2, nan_pred: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Correlated targets/predictions (N, T) on task-specific scales, with NaNs."""
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-3, 3, size=t)
    y_true = rng.normal(size=(n, t)) * scale + rng.normal(size=t) * scale
    y_pred = y_true + rng.normal(size=(n, t)) * scale * rng.uniform(0.1, 2.0, size=t)
    y_true[rng.random((n, t)) < nan_true] = np.nan
    y_pred[rng.random((n, t)) < nan_pred] = np.nan
    return y_true, y_pred


BATCH_PARAMS = [(0, 7, 1), (1, 30, 3), (2, 200, 4), (3, 55, 2), (4, 12, 5)]


@pytest.fixture(params=BATCH_PARAMS, ids=lambda p: f"seed{p[0]}-n{p[1]}-t{p[2]}")
def batch(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    return make_batch(*request.param)
