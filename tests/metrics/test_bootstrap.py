from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score

from sciml.metrics import bootstrap_ci, get_metric, rmse

from .conftest import make_batch
from .reference import reference


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_a_plain_loop_with_sklearn(seed):
    y_true, y_pred = make_batch(seed, 40, 3)
    low, high = bootstrap_ci("r2", y_true, y_pred, n_resamples=200, confidence=0.9, seed=seed)
    idx = np.random.default_rng(seed).integers(0, 40, size=(200, 40))
    values = np.array([reference("r2", y_true[i], y_pred[i]) for i in idx])
    np.testing.assert_allclose(low, np.nanpercentile(values, 5, axis=0), rtol=1e-10)
    np.testing.assert_allclose(high, np.nanpercentile(values, 95, axis=0), rtol=1e-10)
    assert np.all(low <= high)
    point = r2_score(*(a[~np.isnan(y_true[:, 0] + y_pred[:, 0]), 0] for a in (y_true, y_pred)))
    assert low[0] - 0.05 <= point <= high[0] + 0.05


@pytest.mark.parametrize("name", ["rmse", "mae", "r2", "pearson", "spearman"])
def test_vectorised_path_equals_callable_path(name):
    y_true, y_pred = make_batch(3, 30, 2)
    fn = get_metric(name)
    fast = bootstrap_ci(name, y_true, y_pred, n_resamples=150)
    slow = bootstrap_ci(fn, y_true, y_pred, n_resamples=150)
    np.testing.assert_allclose(fast, slow, rtol=1e-10)


def test_macro_average_interval_and_reproducibility():
    y_true, y_pred = make_batch(4, 60, 3)
    low, high = bootstrap_ci("rmse", y_true, y_pred, n_resamples=300, reduce="mean")
    assert isinstance(low, float) and low < rmse(y_true, y_pred, reduce="mean") < high
    again = bootstrap_ci("rmse", y_true, y_pred, n_resamples=300, reduce="mean")
    other = bootstrap_ci("rmse", y_true, y_pred, n_resamples=300, reduce="mean", seed=1)
    assert again == (low, high) and other != (low, high)


def test_interval_narrows_with_more_data():
    rng = np.random.default_rng(0)
    widths = []
    for n in (30, 3000):
        y = rng.normal(size=n)
        low, high = bootstrap_ci("pearson", y, y + rng.normal(size=n), n_resamples=200)
        widths.append(high[0] - low[0])
    assert widths[1] < widths[0] / 3


def test_bad_arguments():
    y = np.arange(5.0)
    with pytest.raises(ValueError, match=r"valid names: \['rmse'"):
        bootstrap_ci("mse", y, y)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci("rmse", y, y, confidence=95)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci("rmse", y, y, n_resamples=0)
    with pytest.raises(ValueError, match=r"y_true \(5,\) and y_pred \(4,\)"):
        bootstrap_ci("rmse", y, y[:4])
