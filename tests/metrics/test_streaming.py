from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml.metrics import METRIC_NAMES, RegressionAccumulator, get_metric

from .conftest import make_batch
from .reference import reference


def _split(n: int, cuts: list[int]) -> list[slice]:
    edges = [0, *sorted(set(c for c in cuts if 0 < c < n)), n]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def test_multi_batch_equals_one_shot_equals_reference(batch):
    y_true, y_pred = batch
    acc = RegressionAccumulator()
    for sl in _split(len(y_true), [1, 3, len(y_true) // 2]):
        acc.update(y_true[sl], y_pred[sl])
    result = acc.compute()
    assert list(result) == list(METRIC_NAMES)
    for name in METRIC_NAMES:
        one_shot = get_metric(name)(y_true, y_pred)
        np.testing.assert_allclose(result[name], one_shot, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            result[name], reference(name, y_true, y_pred), rtol=1e-10, atol=1e-12
        )
    means = acc.compute(reduce="mean")
    assert means["r2"] == pytest.approx(get_metric("r2")(y_true, y_pred, reduce="mean"))


def test_batch_with_an_unlabelled_task_corrupts_nothing():
    y_true, y_pred = make_batch(5, 40, 3)
    y_true[:10, 1] = np.nan
    acc = RegressionAccumulator()
    acc.update(y_true[:10], y_pred[:10])
    acc.update(y_true[10:], y_pred[10:])
    for name in METRIC_NAMES:
        np.testing.assert_allclose(
            acc.compute([name])[name], reference(name, y_true, y_pred), rtol=1e-10
        )


def test_torch_batches_and_merge():
    torch = pytest.importorskip("torch")
    y_true, y_pred = make_batch(6, 60, 2)
    a, b = RegressionAccumulator(), RegressionAccumulator()
    a.update(torch.tensor(y_true[:25]), torch.tensor(y_pred[:25]))
    b.update(torch.tensor(y_true[25:]), torch.tensor(y_pred[25:]))
    merged = a.merge(b).compute()
    for name in METRIC_NAMES:
        np.testing.assert_allclose(merged[name], reference(name, y_true, y_pred), rtol=1e-10)
    fresh = RegressionAccumulator().merge(b)
    np.testing.assert_allclose(
        fresh.compute()["rmse"], get_metric("rmse")(y_true[25:], y_pred[25:])
    )


def test_without_values_spearman_is_refused():
    y_true, y_pred = make_batch(7, 20, 2)
    acc = RegressionAccumulator(keep_values=False)
    acc.update(y_true, y_pred)
    assert list(acc.compute()) == ["rmse", "mae", "r2", "pearson"]
    with pytest.raises(ValueError, match="keep_values=True"):
        acc.compute(["spearman"])


def test_errors_and_reset():
    acc = RegressionAccumulator()
    with pytest.raises(RuntimeError, match="no batch"):
        acc.compute()
    acc.update(np.zeros((3, 2)), np.ones((3, 2)))
    assert acc.num_tasks == 2
    with pytest.raises(ValueError, match=r"3 tasks \(shape \(2, 3\)\).*had 2"):
        acc.update(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="valid names"):
        acc.compute(["mse"])
    acc.reset()
    assert acc.num_tasks is None


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.integers(1, 49), max_size=6))
def test_any_split_gives_the_same_result(seed, cuts):
    y_true, y_pred = make_batch(seed, 50, 2)
    acc = RegressionAccumulator()
    for sl in _split(50, cuts):
        acc.update(y_true[sl], y_pred[sl])
    result = acc.compute()
    for name in METRIC_NAMES:
        np.testing.assert_allclose(
            result[name], get_metric(name)(y_true, y_pred), rtol=1e-9, atol=1e-12
        )
