from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sciml.metrics import METRIC_NAMES, bootstrap_ci, regression_report

from .conftest import make_batch
from .reference import reference


def test_rows_columns_and_values(batch):
    y_true, y_pred = batch
    report = regression_report(y_true, y_pred)
    t = y_true.shape[1]
    assert list(report.columns) == ["n", *METRIC_NAMES]
    assert list(report.index) == [*(f"task_{i}" for i in range(t)), "mean"]
    labelled = (~(np.isnan(y_true) | np.isnan(y_pred))).sum(axis=0)
    np.testing.assert_array_equal(report["n"], [*labelled, labelled.sum()])
    for name in METRIC_NAMES:
        ref = reference(name, y_true, y_pred)
        np.testing.assert_allclose(report[name].iloc[:t], ref, rtol=1e-10, atol=1e-12)
        assert report.loc["mean", name] == pytest.approx(np.nanmean(ref))


def test_all_nan_task_is_reported_and_skipped_in_mean():
    y_true, y_pred = make_batch(0, 30, 3)
    y_true[:, 1] = np.nan
    report = regression_report(y_true, y_pred, ["a", "b", "c"])
    assert report.loc["b", "n"] == 0 and report.loc["b"].iloc[1:].isna().all()
    assert report.loc["mean", "rmse"] == pytest.approx(report.loc[["a", "c"], "rmse"].mean())


def test_dataframes_are_aligned_by_name_and_index():
    y_true, y_pred = make_batch(1, 25, 3)
    cols = ["logS", "logD", "clint"]
    t = pd.DataFrame(y_true, columns=cols, index=range(100, 125))
    p = pd.DataFrame(y_pred, columns=cols, index=range(100, 125))
    p = p.sample(frac=1.0, random_state=0)[cols[::-1]]  # shuffled rows and columns
    report = regression_report(t, p)
    pd.testing.assert_frame_equal(
        report, regression_report(y_true, y_pred, cols), check_exact=False, rtol=1e-12
    )
    subset = regression_report(t, p, task_names=["clint", "logS"])
    assert list(subset.index) == ["clint", "logS", "mean"]
    assert subset.loc["clint", "rmse"] == pytest.approx(report.loc["clint", "rmse"])
    with pytest.raises(ValueError, match="different row indices"):
        regression_report(t, p.reset_index(drop=True))
    with pytest.raises(ValueError, match=r"no column\(s\) \['logS'\]"):
        regression_report(t, p.drop(columns="logS"))


def test_ci_columns_match_bootstrap_ci():
    y_true, y_pred = make_batch(2, 50, 2)
    report = regression_report(y_true, y_pred, ci=True, n_resamples=200, seed=3)
    assert list(report.columns[6:]) == [f"{m}_{s}" for m in METRIC_NAMES for s in ("low", "high")]
    for name in METRIC_NAMES:
        low, high = bootstrap_ci(name, y_true, y_pred, n_resamples=200, seed=3)
        np.testing.assert_allclose(report[f"{name}_low"].iloc[:2], low)
        np.testing.assert_allclose(report[f"{name}_high"].iloc[:2], high)
        m_low, m_high = bootstrap_ci(name, y_true, y_pred, n_resamples=200, seed=3, reduce="mean")
        assert report.loc["mean", f"{name}_low"] == pytest.approx(m_low)
        assert report.loc["mean", f"{name}_high"] == pytest.approx(m_high)


def test_bad_task_names():
    y = np.ones((4, 2))
    with pytest.raises(ValueError, match="got 3 task names for 2 tasks"):
        regression_report(y, y, ["a", "b", "c"])
    with pytest.raises(ValueError, match="unique and not 'mean'"):
        regression_report(y, y, ["a", "a"])
    with pytest.raises(ValueError, match="unique and not 'mean'"):
        regression_report(y, y, ["mean", "b"])
