import numpy as np
import pytest
from sklearn import metrics as skm

from sciml.metrics import auprc, auroc, balanced_accuracy, brier, ece, log_loss


def _data(seed, n=200, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n).astype(float)
    p = np.clip(0.3 * y + rng.uniform(size=n) * 0.7, 0, 1)
    if ties:
        p = np.round(p, 1)
    return y, p


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
def test_each_metric_matches_sklearn(seed, ties):
    y, p = _data(seed, ties=ties)
    assert auroc(y, p, reduce="mean") == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert auprc(y, p, reduce="mean") == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert balanced_accuracy(y, p, reduce="mean") == pytest.approx(
        skm.balanced_accuracy_score(y, p >= 0.5), abs=1e-12
    )
    assert log_loss(y, p, reduce="mean") == pytest.approx(
        skm.log_loss(y, np.clip(p, 1e-15, 1 - 1e-15)), abs=1e-9
    )
    assert brier(y, p, reduce="mean") == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)


def test_missing_labels_are_masked_per_task_and_macro_averaged():
    y1, p1 = _data(0)
    y2, p2 = _data(1)
    y2[:50] = np.nan
    y = np.column_stack([y1, y2])
    p = np.column_stack([p1, p2])
    per_task = auroc(y, p)
    assert per_task[0] == pytest.approx(skm.roc_auc_score(y1, p1))
    assert per_task[1] == pytest.approx(skm.roc_auc_score(y2[50:], p2[50:]))
    assert auroc(y, p, reduce="mean") == pytest.approx(per_task.mean())


def test_one_class_task_is_nan_and_skipped_by_the_mean():
    y = np.array([[1, 0], [1, 1], [1, 0], [1, 1.0]])
    p = np.array([[0.2, 0.1], [0.4, 0.9], [0.6, 0.2], [0.8, 0.7]])
    assert np.isnan(auroc(y, p)[0])
    assert auroc(y, p, reduce="mean") == 1.0


def test_ece_of_perfectly_calibrated_bins_is_zero_and_of_overconfident_is_large():
    y = np.array([0, 0, 0, 1] * 25 + [1] * 100, dtype=float)
    p = np.array([0.25] * 100 + [0.95] * 100)
    # bin 0.2-0.3: mean y 0.25 = mean p; bin 0.9-1.0: mean y 1.0 vs 0.95
    assert ece(y, p, reduce="mean") == pytest.approx(0.5 * 0.05)
    assert ece(np.zeros(10), np.full(10, 0.9), reduce="mean") == pytest.approx(0.9)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="0 or 1"):
        auroc([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        auroc([0, 1, 1], [0.1, 1.2, 0.3])
    with pytest.raises(ValueError, match="same shape"):
        auroc([0, 1], [0.1, 0.2, 0.3])
