"""Statistical comparison of methods across cross-validation folds.

The protocol follows the domain-adaptation study of Sultan et al. (2025): each
method is scored on the same folds; two methods are compared with a paired
t-test or a Wilcoxon signed-rank test, several with a one-way repeated-measures
ANOVA (folds are the subjects, methods the within-subject factor) followed by a
Tukey HSD post-hoc test.

Folds of one cross-validation share training data, so per-fold scores are not
independent and every test above that treats folds as independent subjects is
anti-conservative. :func:`corrected_resampled_ttest` (Nadeau & Bengio 2003;
Bouckaert & Frank 2004 for repeated k-fold CV) inflates the variance by
``n_test / n_train`` to account for that; report it next to the others.

Scores come as a long DataFrame with one row per (fold, method)::

    fold  method   score
    0     mlp      0.71
    0     gnn      0.65
    ...

Tukey HSD for repeated measures
-------------------------------
:func:`scipy.stats.tukey_hsd` assumes independent groups. Folds are shared
between methods, so the between-fold variance must come out of the error term.
By default (``error="rm"``) the post-hoc test uses the studentized range
distribution with the repeated-measures ANOVA error, ``MSE = SS_error /
((k-1)(n-1))`` on ``(k-1)(n-1)`` degrees of freedom (the standard
repeated-measures Tukey test). ``error="centred"`` instead subtracts each fold's
mean score and passes the centred groups to :func:`scipy.stats.tukey_hsd`; that
removes the fold effect from the residuals but keeps scipy's independent-groups
denominator ``k(n-1)``, which underestimates the error variance by a factor
``(k-1)/k`` and so gives smaller (anti-conservative) p-values. Both variants
share the same pairwise mean differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = [
    "AnovaResult",
    "MethodComparison",
    "PairedTestResult",
    "compare_methods",
    "corrected_resampled_ttest",
    "paired_ttest",
    "rm_anova",
    "tukey_hsd",
    "wilcoxon",
]

Alternative = Literal["two-sided", "less", "greater"]
TukeyError = Literal["rm", "centred"]


@dataclass(frozen=True)
class PairedTestResult:
    """Result of a paired two-sample test.

    Attributes
    ----------
    statistic : float
        t statistic (t-test) or signed-rank statistic (Wilcoxon, as scipy reports it).
    pvalue : float
        p-value for the requested alternative.
    n : int
        Number of pairs.
    mean_diff : float
        Mean of ``a - b``.
    df : float
        Degrees of freedom (``n - 1`` for the t-test, NaN for Wilcoxon).
    """

    statistic: float
    pvalue: float
    n: int
    mean_diff: float
    df: float


@dataclass(frozen=True)
class AnovaResult:
    """One-way repeated-measures ANOVA table (folds as subjects).

    Attributes
    ----------
    F, pvalue : float
        F statistic for the method effect and its p-value.
    df_method, df_error : int
        ``k - 1`` and ``(k - 1)(n - 1)`` for ``k`` methods on ``n`` folds.
    ss_method, ss_fold, ss_error, ss_total : float
        Sums of squares; ``ss_total = ss_method + ss_fold + ss_error``.
    n_folds, n_methods : int
        Design size.
    """

    F: float
    pvalue: float
    df_method: int
    df_error: int
    ss_method: float
    ss_fold: float
    ss_error: float
    ss_total: float
    n_folds: int
    n_methods: int

    @property
    def ms_error(self) -> float:
        """Mean squared error ``ss_error / df_error``."""
        return self.ss_error / self.df_error


@dataclass(frozen=True)
class MethodComparison:
    """Output of :func:`compare_methods`.

    Attributes
    ----------
    summary : pandas.DataFrame
        Per method: ``mean``, ``std`` (ddof=1) and ``n`` over folds.
    anova : AnovaResult
        Repeated-measures ANOVA of the method effect.
    tukey : pandas.DataFrame
        Pairwise post-hoc comparisons (see :func:`tukey_hsd`).
    """

    summary: pd.DataFrame
    anova: AnovaResult
    tukey: pd.DataFrame


# --------------------------------------------------------------------------- paired tests
def _paired(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"a and b must have the same shape, got a {x.shape} and b {y.shape}")
    if x.ndim != 1:
        raise ValueError(f"a and b must be 1-D arrays of per-fold scores, got shape {x.shape}")
    if x.size == 0:
        raise ValueError("empty input: a and b have no scores")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("a and b must be finite; every fold needs a score for both methods")
    return x, y


def _check_alternative(alternative: str) -> None:
    valid = ("two-sided", "less", "greater")
    if alternative not in valid:
        raise ValueError(f"alternative must be one of {list(valid)}, got {alternative!r}")


def paired_ttest(a: Any, b: Any, alternative: Alternative = "two-sided") -> PairedTestResult:
    """Paired t-test of per-fold scores (:func:`scipy.stats.ttest_rel` on ``a`` and ``b``).

    Folds of one cross-validation share most of their training data, so their scores are
    correlated and this test is anti-conservative (too many false positives); see
    :func:`corrected_resampled_ttest` for the corrected variance.

    Parameters
    ----------
    a, b : array-like, shape ``(n,)``
        Scores of two methods on the same ``n >= 2`` folds, in the same order.
    alternative : {"two-sided", "less", "greater"}
        Alternative hypothesis on the mean of ``a - b``.

    Returns
    -------
    PairedTestResult
        scipy's statistic and p-value; ``df = n - 1``.
    """
    _check_alternative(alternative)
    x, y = _paired(a, b)
    n = x.size
    if n < 2:
        raise ValueError(f"paired t-test needs at least 2 folds, got {n}")
    res = sps.ttest_rel(x, y, alternative=alternative)
    return PairedTestResult(
        float(res.statistic), float(res.pvalue), n, float((x - y).mean()), float(n - 1)
    )


def corrected_resampled_ttest(
    a: Any,
    b: Any,
    test_train_ratio: float,
    *,
    alternative: Alternative = "two-sided",
) -> PairedTestResult:
    """Corrected resampled t-test of per-fold scores (Nadeau & Bengio 2003).

    With ``d = a - b`` over ``m`` folds (``m = k * r`` for ``r`` repetitions of ``k``-fold
    cross-validation), ``t = mean(d) / sqrt((1 / m + n_test / n_train) * var(d))`` on
    ``m - 1`` degrees of freedom, ``var`` with ``ddof=1``. The ``n_test / n_train`` term
    accounts for the correlation between folds that share training data; without it
    (the plain paired t-test) the variance is underestimated. For repeated k-fold CV this
    is the "corrected repeated k-fold cv test" of Bouckaert & Frank (2004), where
    ``n_test / n_train = 1 / (k - 1)``.

    Parameters
    ----------
    a, b : array-like, shape ``(m,)``
        Scores of two methods on the same ``m >= 2`` folds, in the same order.
    test_train_ratio : float
        ``n_test / n_train`` of one fold (its mean when fold sizes differ slightly);
        ``1 / (k - 1)`` for k-fold CV.
    alternative : {"two-sided", "less", "greater"}
        Alternative hypothesis on the mean of ``a - b``.

    Returns
    -------
    PairedTestResult
        Corrected t statistic and p-value; ``df = m - 1``.

    Examples
    --------
    >>> res = corrected_resampled_ttest([0.5, 0.6, 0.55, 0.58, 0.52],
    ...                                 [0.45, 0.52, 0.50, 0.55, 0.50], 0.25)
    >>> round(res.statistic, 3), round(res.pvalue, 3)
    (2.979, 0.041)
    """
    _check_alternative(alternative)
    if not (np.isfinite(test_train_ratio) and test_train_ratio > 0):
        raise ValueError(f"test_train_ratio must be a positive number, got {test_train_ratio}")
    x, y = _paired(a, b)
    m = x.size
    if m < 2:
        raise ValueError(f"corrected resampled t-test needs at least 2 folds, got {m}")
    d = x - y
    mean = float(d.mean())
    var = float(d.var(ddof=1)) * (1.0 / m + test_train_ratio)
    if var == 0.0:
        t = np.nan if mean == 0.0 else float(np.copysign(np.inf, mean))
    else:
        t = mean / np.sqrt(var)
    df = m - 1
    if alternative == "two-sided":
        p = 2.0 * sps.t.sf(abs(t), df)
    elif alternative == "greater":
        p = sps.t.sf(t, df)
    else:
        p = sps.t.cdf(t, df)
    return PairedTestResult(float(t), float(min(p, 1.0)), m, mean, float(df))


def wilcoxon(a: Any, b: Any, alternative: Alternative = "two-sided") -> PairedTestResult:
    """Wilcoxon signed-rank test of per-fold scores (via :func:`scipy.stats.wilcoxon`).

    Parameters
    ----------
    a, b : array-like, shape ``(n,)``
        Scores of two methods on the same folds, in the same order.
    alternative : {"two-sided", "less", "greater"}
        Alternative hypothesis on the location of ``a - b``.

    Returns
    -------
    PairedTestResult
        scipy's statistic and p-value (exact distribution for small ``n``
        without ties or zeros); ``df`` is NaN.
    """
    _check_alternative(alternative)
    x, y = _paired(a, b)
    if np.all(x == y):
        raise ValueError("wilcoxon is undefined when a and b are identical on every fold")
    res = sps.wilcoxon(x, y, alternative=alternative)
    return PairedTestResult(
        float(res.statistic), float(res.pvalue), x.size, float((x - y).mean()), np.nan
    )


# --------------------------------------------------------------------------- repeated measures
def _score_matrix(
    scores: pd.DataFrame, metric_name: str, fold_col: str, method_col: str
) -> pd.DataFrame:
    """Pivot long scores to a ``(n_folds, n_methods)`` table, checking the design."""
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"scores must be a pandas DataFrame, got {type(scores).__name__}")
    for col in (fold_col, method_col):
        if col not in scores.columns:
            raise ValueError(f"scores has no {col!r} column; columns are {list(scores.columns)}")
    if metric_name not in scores.columns:
        valid = [
            c
            for c in scores.columns
            if c not in (fold_col, method_col) and pd.api.types.is_numeric_dtype(scores[c])
        ]
        raise ValueError(f"unknown metric {metric_name!r}; valid metric columns: {valid}")
    if len(scores) == 0:
        raise ValueError("empty input: scores has no rows")
    dup = scores.duplicated([fold_col, method_col])
    if dup.any():
        first = scores.loc[dup, [fold_col, method_col]].iloc[0].tolist()
        raise ValueError(f"several scores for ({fold_col}, {method_col}) = {first}")
    methods = list(pd.unique(scores[method_col]))
    folds = list(pd.unique(scores[fold_col]))
    table = scores.pivot(index=fold_col, columns=method_col, values=metric_name)
    table = table.reindex(index=folds, columns=methods).astype(np.float64)
    missing = table.isna()
    if missing.to_numpy().any():
        cells = [(f, m) for f, m in missing.stack()[missing.stack()].index][:5]
        raise ValueError(
            f"every method needs a finite {metric_name!r} on every fold; missing or NaN for "
            f"({fold_col}, {method_col}) in {cells}"
        )
    if len(folds) < 2 or len(methods) < 2:
        raise ValueError(
            f"need at least 2 folds and 2 methods, got {len(folds)} folds and "
            f"{len(methods)} methods"
        )
    return table


def _anova_from_matrix(x: np.ndarray) -> AnovaResult:
    n, k = x.shape
    grand = x.mean()
    fold_means, method_means = x.mean(axis=1), x.mean(axis=0)
    ss_method = float(n * ((method_means - grand) ** 2).sum())
    ss_fold = float(k * ((fold_means - grand) ** 2).sum())
    resid = x - fold_means[:, None] - method_means[None, :] + grand
    ss_error = float((resid**2).sum())
    df_m, df_e = k - 1, (k - 1) * (n - 1)
    if ss_error == 0.0:
        f_stat = np.nan if ss_method == 0.0 else np.inf
    else:
        f_stat = (ss_method / df_m) / (ss_error / df_e)
    return AnovaResult(
        F=float(f_stat),
        pvalue=float(sps.f.sf(f_stat, df_m, df_e)),
        df_method=df_m,
        df_error=df_e,
        ss_method=ss_method,
        ss_fold=ss_fold,
        ss_error=ss_error,
        ss_total=float(((x - grand) ** 2).sum()),
        n_folds=n,
        n_methods=k,
    )


def rm_anova(
    scores: pd.DataFrame,
    metric_name: str = "score",
    *,
    fold_col: str = "fold",
    method_col: str = "method",
) -> AnovaResult:
    """One-way repeated-measures ANOVA of a method effect across folds.

    With ``x[i, j]`` the score of method ``j`` on fold ``i`` (``n`` folds,
    ``k`` methods): ``SS_method = n * sum_j (mean_j - grand)^2``,
    ``SS_fold = k * sum_i (mean_i - grand)^2``, ``SS_error`` the sum of squared
    residuals ``x - mean_i - mean_j + grand``, and
    ``F = (SS_method / (k-1)) / (SS_error / ((k-1)(n-1)))``. No sphericity
    correction is applied.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table with one row per (fold, method); the design must be complete.
    metric_name : str
        Column holding the score.
    fold_col, method_col : str
        Columns naming the fold (subject) and the method (within factor).

    Returns
    -------
    AnovaResult
        F, degrees of freedom, p-value and sums of squares.
    """
    table = _score_matrix(scores, metric_name, fold_col, method_col)
    return _anova_from_matrix(table.to_numpy())


def _tukey_table(
    methods: list[Any],
    means: np.ndarray,
    mse: float,
    n_per_method: int,
    df: float,
    alpha: float,
) -> pd.DataFrame:
    """Tukey HSD for equal group sizes given the error mean square and its df."""
    k = len(methods)
    se = np.sqrt(mse / n_per_method)
    crit = sps.studentized_range.ppf(1.0 - alpha, k, df) * se
    rows = []
    for i in range(k):
        for j in range(i + 1, k):
            diff = float(means[i] - means[j])
            if se == 0.0:
                p = 1.0 if diff == 0.0 else 0.0
            else:
                p = float(sps.studentized_range.sf(abs(diff) / se, k, df))
            rows.append((methods[i], methods[j], diff, min(p, 1.0), diff - crit, diff + crit))
    return pd.DataFrame(
        rows, columns=["method_a", "method_b", "mean_diff", "pvalue", "ci_low", "ci_high"]
    )


def tukey_hsd(
    scores: pd.DataFrame,
    metric_name: str = "score",
    *,
    fold_col: str = "fold",
    method_col: str = "method",
    alpha: float = 0.05,
    error: TukeyError = "rm",
) -> pd.DataFrame:
    """Tukey HSD post-hoc comparison of every pair of methods across folds.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table with one row per (fold, method); the design must be complete.
    metric_name : str
        Column holding the score.
    fold_col, method_col : str
        Columns naming the fold and the method.
    alpha : float
        Family-wise error rate for ``reject`` and the simultaneous intervals.
    error : {"rm", "centred"}
        ``"rm"`` (default): studentized range with the repeated-measures ANOVA
        error term on ``(k-1)(n-1)`` df. ``"centred"``: :func:`scipy.stats.tukey_hsd`
        on fold-centred scores (anti-conservative; see the module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per pair (in order of first appearance): ``method_a, method_b,
        mean_a, mean_b, mean_diff`` (``mean_a - mean_b``), ``pvalue``,
        ``ci_low, ci_high`` (simultaneous ``1 - alpha`` interval of the
        difference) and ``reject`` (``pvalue < alpha``).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if error not in ("rm", "centred"):
        raise ValueError(f"error must be 'rm' or 'centred', got {error!r}")
    table = _score_matrix(scores, metric_name, fold_col, method_col)
    x = table.to_numpy()
    methods = list(table.columns)
    means = x.mean(axis=0)
    if error == "rm":
        anova = _anova_from_matrix(x)
        out = _tukey_table(methods, means, anova.ms_error, x.shape[0], anova.df_error, alpha)
    else:
        centred = x - x.mean(axis=1, keepdims=True)
        res = sps.tukey_hsd(*centred.T)
        ci = res.confidence_interval(confidence_level=1.0 - alpha)
        rows = [
            (
                methods[i],
                methods[j],
                float(means[i] - means[j]),
                float(res.pvalue[i, j]),
                float(ci.low[i, j]),
                float(ci.high[i, j]),
            )
            for i in range(len(methods))
            for j in range(i + 1, len(methods))
        ]
        out = pd.DataFrame(
            rows, columns=["method_a", "method_b", "mean_diff", "pvalue", "ci_low", "ci_high"]
        )
    mean_of = dict(zip(methods, means, strict=True))
    out.insert(2, "mean_a", out["method_a"].map(mean_of).astype(float))
    out.insert(3, "mean_b", out["method_b"].map(mean_of).astype(float))
    out["reject"] = out["pvalue"] < alpha
    return out


def compare_methods(
    scores: pd.DataFrame,
    metric_name: str = "score",
    *,
    fold_col: str = "fold",
    method_col: str = "method",
    alpha: float = 0.05,
    error: TukeyError = "rm",
) -> MethodComparison:
    """Summarise, run the repeated-measures ANOVA, then Tukey HSD, in one call.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table with ``fold_col``, ``method_col`` and one or more metric
        columns (e.g. per-fold :func:`~sciml.metrics.regression_report` mean rows).
    metric_name : str
        Metric column to compare; an unknown name lists the valid ones.
    fold_col, method_col, alpha, error
        As in :func:`tukey_hsd`.

    Returns
    -------
    MethodComparison
        ``summary`` per method, ``anova`` and ``tukey``.

    Examples
    --------
    >>> df = pd.DataFrame({"fold": [0, 0, 1, 1, 2, 2], "method": ["a", "b"] * 3,
    ...                    "rmse": [1.0, 1.2, 0.9, 1.15, 1.1, 1.3]})
    >>> res = compare_methods(df, "rmse")
    >>> res.anova.df_method, res.anova.df_error
    (1, 2)
    """
    table = _score_matrix(scores, metric_name, fold_col, method_col)
    x = table.to_numpy()
    summary = pd.DataFrame(
        {"mean": x.mean(axis=0), "std": x.std(axis=0, ddof=1), "n": x.shape[0]},
        index=pd.Index(table.columns, name=method_col),
    )
    anova = _anova_from_matrix(x)
    tukey = tukey_hsd(
        scores, metric_name, fold_col=fold_col, method_col=method_col, alpha=alpha, error=error
    )
    return MethodComparison(summary=summary, anova=anova, tukey=tukey)
