"""Evaluation metrics shared by every sciml model family.

- functional per-task metrics with NaN masking: :func:`rmse`, :func:`mae`,
  :func:`r2`, :func:`pearson`, :func:`spearman`, and :func:`relative_l2` for
  fields on (masked) geometries;
- binary classification metrics (:mod:`sciml.metrics.classification`): :func:`auroc`,
  :func:`auprc`, :func:`balanced_accuracy`, :func:`log_loss`, :func:`brier`, :func:`ece`;
- sufficient statistics (:func:`regression_stats`, :func:`merge_stats`) and a
  streaming :class:`RegressionAccumulator` for training loops;
- :func:`regression_report` (per-task table plus macro average) and
  :func:`bootstrap_ci`;
- :mod:`sciml.metrics.stats`: comparing methods across cross-validation folds
  (paired t-test, Wilcoxon, repeated-measures ANOVA, Tukey HSD).

Examples
--------
>>> import numpy as np
>>> from sciml.metrics import regression_report
>>> y = np.array([[1.0, np.nan], [2.0, 1.0], [3.0, 2.0], [4.0, 4.0]])
>>> regression_report(y, y + 0.1, ["a", "b"])["rmse"].round(3).tolist()
[0.1, 0.1, 0.1]
"""

from ._functional import (
    METRIC_NAMES,
    RegressionStats,
    get_metric,
    mae,
    merge_stats,
    metric_from_stats,
    pearson,
    r2,
    regression_stats,
    relative_l2,
    rmse,
    spearman,
)
from .bootstrap import bootstrap_ci
from .classification import (
    CLASSIFICATION_METRIC_NAMES,
    auprc,
    auroc,
    balanced_accuracy,
    brier,
    ece,
    log_loss,
)
from .report import regression_report
from .stats import (
    AnovaResult,
    MethodComparison,
    PairedTestResult,
    compare_methods,
    corrected_resampled_ttest,
    paired_ttest,
    rm_anova,
    tukey_hsd,
    wilcoxon,
)
from .streaming import RegressionAccumulator

__all__ = [
    "CLASSIFICATION_METRIC_NAMES",
    "METRIC_NAMES",
    "AnovaResult",
    "MethodComparison",
    "PairedTestResult",
    "RegressionAccumulator",
    "RegressionStats",
    "auprc",
    "auroc",
    "balanced_accuracy",
    "bootstrap_ci",
    "brier",
    "compare_methods",
    "corrected_resampled_ttest",
    "ece",
    "get_metric",
    "log_loss",
    "mae",
    "merge_stats",
    "metric_from_stats",
    "paired_ttest",
    "pearson",
    "r2",
    "regression_report",
    "regression_stats",
    "relative_l2",
    "rm_anova",
    "rmse",
    "spearman",
    "tukey_hsd",
    "wilcoxon",
]
