from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats as sps

from sciml.metrics import (
    compare_methods,
    corrected_resampled_ttest,
    paired_ttest,
    rm_anova,
    tukey_hsd,
    wilcoxon,
)
from sciml.metrics.stats import _anova_from_matrix, _tukey_table


def long_scores(x: np.ndarray, methods=None) -> pd.DataFrame:
    """(n_folds, n_methods) matrix -> long table with fold, method, score."""
    methods = methods or [f"m{j}" for j in range(x.shape[1])]
    rows = [(i, m, x[i, j]) for i in range(x.shape[0]) for j, m in enumerate(methods)]
    return pd.DataFrame(rows, columns=["fold", "method", "score"])


def random_scores(seed: int, n: int = 6, k: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 1)) + np.linspace(0, 0.8, k) + 0.4 * rng.normal(size=(n, k))


# --------------------------------------------------------------------------- paired tests
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_paired_ttest_matches_scipy(seed, alternative):
    x = random_scores(seed, n=5 + seed, k=2)
    res = paired_ttest(x[:, 0], x[:, 1], alternative=alternative)
    ref = sps.ttest_rel(x[:, 0], x[:, 1], alternative=alternative)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    assert res.df == len(x) - 1 and res.mean_diff == pytest.approx((x[:, 0] - x[:, 1]).mean())


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_wilcoxon_matches_scipy(seed, alternative):
    x = random_scores(seed, n=8 + seed, k=2)
    res = wilcoxon(x[:, 0], x[:, 1], alternative=alternative)
    ref = sps.wilcoxon(x[:, 0], x[:, 1], alternative=alternative)
    assert (res.statistic, res.pvalue) == pytest.approx((ref.statistic, ref.pvalue))


def test_wilcoxon_hand_worked():
    # Six distinct positive differences: only 1 of the 2**6 sign patterns is as extreme in
    # each tail, so the exact two-sided p-value is 2 / 64.
    a = np.array([1.1, 2.2, 3.3, 4.4, 5.5, 6.6])
    res = wilcoxon(a, np.zeros(6))
    assert res.pvalue == pytest.approx(2 / 64)


def test_paired_bad_input():
    with pytest.raises(ValueError, match=r"a \(3,\) and b \(4,\)"):
        paired_ttest(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="empty input"):
        wilcoxon([], [])
    with pytest.raises(ValueError, match="finite"):
        paired_ttest([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2 folds"):
        paired_ttest([1.0], [2.0])
    with pytest.raises(ValueError, match="alternative"):
        paired_ttest([1.0, 2.0], [2.0, 2.0], alternative="bigger")
    with pytest.raises(ValueError, match="identical"):
        wilcoxon([1.0, 2.0], [1.0, 2.0])


def test_corrected_resampled_ttest_hand_worked():
    # d = a - b = [0.05, 0.08, 0.05, 0.03, 0.02]: mean 0.046, var (ddof 1) 5.3e-4; 5-fold CV
    # has n_test / n_train = 1/4, so the variance is 5.3e-4 * (1/5 + 1/4) = 2.385e-4 and
    # t = 0.046 / sqrt(2.385e-4) = 2.97861 on 4 df. The plain paired t is 4.468.
    a, b = [0.5, 0.6, 0.55, 0.58, 0.52], [0.45, 0.52, 0.50, 0.55, 0.50]
    res = corrected_resampled_ttest(a, b, 0.25)
    assert res.statistic == pytest.approx(2.97861, abs=1e-5)
    assert res.pvalue == pytest.approx(2 * sps.t.sf(2.97861, 4), rel=1e-4)
    assert res.pvalue == pytest.approx(0.04079, abs=1e-5)
    assert (res.n, res.df, res.mean_diff) == (5, 4.0, pytest.approx(0.046))
    assert paired_ttest(a, b).statistic == pytest.approx(4.46791, abs=1e-5)
    assert paired_ttest(a, b).pvalue == pytest.approx(0.01109, abs=1e-5)


def _weles_t_test_corrected(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Reference: ``t_test_corrected`` of w4k2/weles (weles/statistics/statistics.py),
    the corrected repeated k-fold cv test on ``(repetitions, folds)`` arrays."""
    n_rep, k = a.shape
    d = a - b
    var = (1 / (n_rep * k) + 1 / (k - 1)) * np.var(d.reshape(-1), ddof=1)
    t = np.mean(d) / np.sqrt(var)
    return t, sps.t.sf(np.abs(t), k * n_rep - 1) * 2


@pytest.mark.parametrize(("seed", "n_rep", "k"), [(0, 1, 5), (1, 3, 5), (2, 10, 10)])
def test_corrected_resampled_ttest_matches_reference(seed, n_rep, k):
    rng = np.random.default_rng(seed)
    a = rng.normal(0.5, 0.05, size=(n_rep, k))
    b = a - 0.02 + rng.normal(0, 0.03, size=(n_rep, k))
    res = corrected_resampled_ttest(a.ravel(), b.ravel(), 1 / (k - 1))
    t, p = _weles_t_test_corrected(a, b)
    assert res.statistic == pytest.approx(t, rel=1e-12) and res.pvalue == pytest.approx(p)
    # Always more conservative than the plain paired t-test on the same folds.
    assert res.pvalue > paired_ttest(a.ravel(), b.ravel()).pvalue


def test_corrected_resampled_ttest_one_sided_and_errors():
    a, b = [0.5, 0.6, 0.55, 0.58, 0.52], [0.45, 0.52, 0.50, 0.55, 0.50]
    two = corrected_resampled_ttest(a, b, 0.25).pvalue
    greater = corrected_resampled_ttest(a, b, 0.25, alternative="greater").pvalue
    less = corrected_resampled_ttest(a, b, 0.25, alternative="less").pvalue
    assert greater == pytest.approx(two / 2) and less == pytest.approx(1 - two / 2)
    with pytest.raises(ValueError, match="test_train_ratio must be a positive number, got 0"):
        corrected_resampled_ttest(a, b, 0)
    with pytest.raises(ValueError, match="at least 2 folds"):
        corrected_resampled_ttest([1.0], [2.0], 0.25)
    with pytest.raises(ValueError, match="alternative"):
        corrected_resampled_ttest(a, b, 0.25, alternative="bigger")


# --------------------------------------------------------------------------- RM-ANOVA
# Field, "Discovering Statistics Using SPSS" (3rd ed., ch. 13), Bushtucker Trial: 8
# celebrities (subjects) each eat 4 animals; textbook: SS_M = 83.13, SS_R = 153.38,
# SS_B(between participants) = 17.38, F(3, 21) = 3.79, p = .026.
BUSHTUCKER = np.array(
    [
        [8, 7, 1, 6],
        [9, 5, 2, 5],
        [6, 2, 3, 8],
        [5, 3, 1, 9],
        [8, 4, 5, 8],
        [7, 5, 6, 7],
        [10, 2, 7, 2],
        [12, 6, 8, 1],
    ],
    dtype=float,
)


def test_rm_anova_textbook_example():
    scores = long_scores(BUSHTUCKER, ["stick_insect", "kangaroo", "fish_eye", "grub"])
    res = rm_anova(scores)
    assert (res.df_method, res.df_error, res.n_folds, res.n_methods) == (3, 21, 8, 4)
    assert res.ss_method == pytest.approx(83.125)
    assert res.ss_error == pytest.approx(153.375)
    assert res.ss_fold == pytest.approx(17.375)
    assert res.ss_total == pytest.approx(253.875)
    assert round(res.F, 2) == 3.79 and round(res.pvalue, 3) == 0.026


@pytest.mark.parametrize("seed", range(3))
def test_rm_anova_equals_additive_two_way_ols(seed):
    # Independent route: F = nested-model comparison of OLS fits with fold dummies,
    # with and without method dummies.
    x = random_scores(seed, n=7, k=4)
    n, k = x.shape
    y = x.ravel()
    fold = np.repeat(np.eye(n), k, axis=0)
    method = np.tile(np.eye(k), (n, 1))[:, 1:]

    def rss(design):
        beta, *_ = np.linalg.lstsq(design, y, rcond=None)
        return ((y - design @ beta) ** 2).sum()

    rss_full, rss_reduced = rss(np.hstack([fold, method])), rss(fold)
    df_err = (n - 1) * (k - 1)
    f_ref = ((rss_reduced - rss_full) / (k - 1)) / (rss_full / df_err)
    res = rm_anova(long_scores(x))
    assert res.F == pytest.approx(f_ref, rel=1e-10)
    assert res.pvalue == pytest.approx(sps.f.sf(f_ref, k - 1, df_err), rel=1e-10)


def test_rm_anova_with_two_methods_is_the_paired_ttest():
    x = random_scores(7, n=9, k=2)
    res, t = rm_anova(long_scores(x)), sps.ttest_rel(x[:, 0], x[:, 1])
    assert res.F == pytest.approx(t.statistic**2) and res.pvalue == pytest.approx(t.pvalue)


@pytest.mark.parametrize("seed", range(2))
def test_rm_anova_matches_statsmodels(seed):
    # statsmodels is a test extra: a missing install fails here rather than skipping.
    from statsmodels.stats.anova import AnovaRM as anova_rm

    scores = long_scores(random_scores(seed))
    ref = anova_rm(scores, "score", "fold", within=["method"]).fit().anova_table.iloc[0]
    res = rm_anova(scores)
    assert res.F == pytest.approx(ref["F Value"]) and res.pvalue == pytest.approx(ref["Pr > F"])


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, (5, 3), elements=st.floats(-10, 10)),
    arrays(np.float64, (5, 1), elements=st.floats(-100, 100)),
)
def test_rm_anova_ignores_fold_offsets(x, offsets):
    base, shifted = _anova_from_matrix(x), _anova_from_matrix(x + offsets)
    assert base.ss_method + base.ss_fold + base.ss_error == pytest.approx(base.ss_total, abs=1e-8)
    assert shifted.ss_method == pytest.approx(base.ss_method, abs=1e-7)
    assert shifted.ss_error == pytest.approx(base.ss_error, abs=1e-7)


def test_scores_table_validation():
    scores = long_scores(random_scores(0, n=3, k=2))
    with pytest.raises(
        ValueError, match=r"unknown metric 'rmse'; valid metric columns: \['score'\]"
    ):
        rm_anova(scores, "rmse")
    with pytest.raises(ValueError, match=r"missing or NaN for \(fold, method\) in \[\(2, 'm1'\)\]"):
        rm_anova(scores.iloc[:-1])
    with pytest.raises(ValueError, match="several scores"):
        rm_anova(pd.concat([scores, scores.iloc[:1]]))
    with pytest.raises(ValueError, match="empty input"):
        rm_anova(scores.iloc[:0])
    with pytest.raises(ValueError, match="at least 2 folds"):
        rm_anova(scores[scores.fold == 0])
    with pytest.raises(ValueError, match="no 'fold' column"):
        rm_anova(scores.rename(columns={"fold": "split"}))
    with pytest.raises(TypeError, match="DataFrame"):
        rm_anova(scores.to_numpy())


# --------------------------------------------------------------------------- Tukey HSD
@pytest.mark.parametrize("seed", range(3))
def test_tukey_core_reproduces_scipy_for_independent_groups(seed):
    # The "rm" variant only swaps the error term, so check the studentized-range core
    # against scipy with scipy's own (independent groups) error term.
    x = random_scores(seed, n=6, k=4)
    n, k = x.shape
    mse = ((x - x.mean(axis=0)) ** 2).sum() / (k * (n - 1))
    table = _tukey_table(list(range(k)), x.mean(axis=0), mse, n, k * (n - 1), 0.05)
    ref = sps.tukey_hsd(*x.T)
    ci = ref.confidence_interval(0.95)
    for row in table.itertuples():
        i, j = row.method_a, row.method_b
        assert row.pvalue == pytest.approx(ref.pvalue[i, j], rel=1e-6, abs=1e-10)
        assert row.mean_diff == pytest.approx(ref.statistic[i, j])
        assert (row.ci_low, row.ci_high) == pytest.approx((ci.low[i, j], ci.high[i, j]), rel=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_tukey_centred_is_scipy_on_fold_centred_scores(seed):
    x = random_scores(seed)
    table = tukey_hsd(long_scores(x), error="centred")
    ref = sps.tukey_hsd(*(x - x.mean(axis=1, keepdims=True)).T)
    pairs = list(itertools.combinations(range(x.shape[1]), 2))
    assert list(zip(table.method_a, table.method_b, strict=True)) == [
        (f"m{i}", f"m{j}") for i, j in pairs
    ]
    np.testing.assert_allclose(table.pvalue, [ref.pvalue[i, j] for i, j in pairs])
    np.testing.assert_allclose(table.mean_diff, [x[:, i].mean() - x[:, j].mean() for i, j in pairs])
    np.testing.assert_allclose(table.mean_a - table.mean_b, table.mean_diff)
    np.testing.assert_array_equal(table.reject, table.pvalue < 0.05)


@pytest.mark.parametrize("seed", range(3))
def test_tukey_rm_is_more_conservative_than_centred(seed):
    scores = long_scores(random_scores(seed))
    rm, centred = tukey_hsd(scores), tukey_hsd(scores, error="centred")
    np.testing.assert_allclose(rm.mean_diff, centred.mean_diff)
    assert np.all(rm.pvalue >= centred.pvalue - 1e-12)
    assert np.all(rm.ci_high - rm.ci_low >= centred.ci_high - centred.ci_low)


def test_tukey_detects_a_clear_winner():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 1)) * 5 + np.array([0.0, 0.0, 2.0]) + 0.1 * rng.normal(size=(10, 3))
    table = tukey_hsd(long_scores(x, ["a", "b", "c"])).set_index(["method_a", "method_b"])
    assert not table.loc[("a", "b"), "reject"]
    assert table.loc[("a", "c"), "reject"] and table.loc[("b", "c"), "reject"]


def test_compare_methods_bundles_everything():
    x = random_scores(1, n=5, k=3)
    scores = long_scores(x).rename(columns={"score": "rmse"}).assign(r2=0.5)
    res = compare_methods(scores, "rmse")
    np.testing.assert_allclose(res.summary["mean"], x.mean(axis=0))
    np.testing.assert_allclose(res.summary["std"], x.std(axis=0, ddof=1))
    assert res.anova == rm_anova(scores, "rmse")
    pd.testing.assert_frame_equal(res.tukey, tukey_hsd(scores, "rmse"))
    with pytest.raises(ValueError, match=r"valid metric columns: \['rmse', 'r2'\]"):
        compare_methods(scores, "mae")
    with pytest.raises(ValueError, match="alpha"):
        tukey_hsd(scores, "rmse", alpha=5)
    with pytest.raises(ValueError, match="'rm' or 'centred'"):
        tukey_hsd(scores, "rmse", error="pooled")
