from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sciml.metrics import (
    METRIC_NAMES,
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

from .reference import reference

FUNCS = {"rmse": rmse, "mae": mae, "r2": r2, "pearson": pearson, "spearman": spearman}


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_matches_sklearn_scipy(name, batch):
    y_true, y_pred = batch
    got = FUNCS[name](y_true, y_pred)
    assert got.shape == (y_true.shape[1],)
    np.testing.assert_allclose(got, reference(name, y_true, y_pred), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_reduce_mean_is_macro_average(name, batch):
    y_true, y_pred = batch
    per_task = FUNCS[name](y_true, y_pred, reduce="none")
    assert FUNCS[name](y_true, y_pred, reduce="mean") == pytest.approx(np.nanmean(per_task))


def test_one_dimensional_input_gives_one_task():
    rng = np.random.default_rng(0)
    y = rng.normal(size=20)
    p = y + rng.normal(size=20)
    assert rmse(y, p).shape == (1,)
    assert r2(y, p, reduce="mean") == pytest.approx(reference("r2", y, p)[0])


def test_torch_and_pandas_inputs():
    torch = pytest.importorskip("torch")
    y_true, y_pred = (np.random.default_rng(1).normal(size=(10, 2)) for _ in range(2))
    expected = rmse(y_true, y_pred)
    np.testing.assert_allclose(rmse(torch.tensor(y_true), torch.tensor(y_pred)), expected)
    np.testing.assert_allclose(
        rmse(torch.tensor(y_true, dtype=torch.bfloat16), torch.tensor(y_pred)),
        rmse(torch.tensor(y_true, dtype=torch.bfloat16).double().numpy(), y_pred),
    )
    t = pd.DataFrame(y_true, columns=["a", "b"])
    p = pd.DataFrame(y_pred[:, ::-1], columns=["b", "a"])  # aligned by name
    np.testing.assert_allclose(rmse(t, p), expected)


def test_undefined_values_follow_the_rule():
    nan = np.nan
    y_true = np.array(
        [  # all-NaN | one pair | constant y_true | constant y_pred
            [nan, 1.0, 2.0, 1.0],
            [nan, nan, 2.0, 2.0],
            [nan, nan, 2.0, 3.0],
        ]
    )
    y_pred = np.array([[1.0, 2.0, 1.0, 5.0], [2.0, 3.0, 2.0, 5.0], [3.0, 4.0, 3.0, 5.0]])
    np.testing.assert_allclose(rmse(y_true, y_pred), [nan, 1.0, np.sqrt(2 / 3), np.sqrt(29 / 3)])
    np.testing.assert_array_equal(np.isnan(r2(y_true, y_pred)), [True, True, True, False])
    np.testing.assert_array_equal(np.isnan(pearson(y_true, y_pred)), [True] * 4)
    np.testing.assert_array_equal(np.isnan(spearman(y_true, y_pred)), [True] * 4)
    assert r2(y_true, y_pred, reduce="mean") == pytest.approx(r2(y_true, y_pred)[3])
    assert np.isnan(pearson(y_true, y_pred, reduce="mean"))


def test_constant_detection_is_exact_despite_rounding():
    y = np.full(3, 0.1)  # mean(0.1, 0.1, 0.1) != 0.1 in floating point
    assert np.isnan(r2(y, [0.0, 0.1, 0.2])[0])


def test_numerically_stable_far_from_zero():
    rng = np.random.default_rng(3)
    y = 1e8 + rng.normal(size=1000)
    p = y + 0.5 * rng.normal(size=1000)
    np.testing.assert_allclose(pearson(y, p), reference("pearson", y, p), rtol=1e-9)
    np.testing.assert_allclose(r2(y, p), reference("r2", y, p), rtol=1e-9)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [
        (np.zeros((3, 2)), np.zeros((3, 3)), r"y_true \(3, 2\) and y_pred \(3, 3\)"),
        (np.zeros((0, 2)), np.zeros((0, 2)), "empty input"),
        (np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), r"\(N,\) or \(N, T\)"),
        (np.array([1.0, np.inf]), np.zeros(2), "y_true contains inf"),
    ],
)
def test_bad_input(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        rmse(y_true, y_pred)


def test_bad_reduce_and_unknown_metric():
    with pytest.raises(ValueError, match="'none' or 'mean'"):
        mae([1.0, 2.0], [1.0, 2.0], reduce="sum")
    with pytest.raises(ValueError, match=r"valid names: \['rmse', 'mae'"):
        get_metric("mse")
    assert get_metric("R2") is r2
    with pytest.raises(ValueError, match="no column"):
        rmse(pd.DataFrame({"a": [1.0]}), pd.DataFrame({"b": [1.0]}))


def test_merge_stats_equals_stats_of_union(batch):
    y_true, y_pred = batch
    k = len(y_true) // 3
    merged = merge_stats(
        regression_stats(y_true[:k], y_pred[:k]), regression_stats(y_true[k:], y_pred[k:])
    )
    whole = regression_stats(y_true, y_pred)
    for name in ("rmse", "mae", "r2", "pearson"):
        np.testing.assert_allclose(
            metric_from_stats(merged, name), metric_from_stats(whole, name), rtol=1e-10
        )
    with pytest.raises(ValueError, match="valid names"):
        metric_from_stats(whole, "spearman")


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(2, 25), st.integers(1, 3)), elements=finite),
    st.data(),
)
def test_properties(y_true, data):
    y_pred = data.draw(arrays(np.float64, y_true.shape, elements=finite))
    assert np.all(rmse(y_true, y_pred) >= mae(y_true, y_pred) - 1e-9)
    for fn in (pearson, spearman):
        values = fn(y_true, y_pred)
        assert np.all(np.isnan(values) | (np.abs(values) <= 1.0))
    # Pearson is invariant to a positive affine map of the predictions, as long as the map
    # does not round distinct predictions to one float (then the correlation is undefined).
    spread = np.ptp(y_pred, axis=0) > 1e-6 * (1.0 + np.abs(y_pred).max())
    np.testing.assert_allclose(
        pearson(y_true, 3.0 * y_pred + 7.0)[spread], pearson(y_true, y_pred)[spread], atol=1e-6
    )
    # Row order does not matter.
    perm = data.draw(st.permutations(range(len(y_true))))
    np.testing.assert_allclose(
        spearman(y_true[perm], y_pred[perm]), spearman(y_true, y_pred), atol=1e-12
    )


# --------------------------------------------------------------------------- relative L2
def _reference_relative_l2(y_true, y_pred, mask):
    out = []
    for s in range(len(y_true)):
        t, p = y_true[s][mask[s]], y_pred[s][mask[s]]
        out.append(np.linalg.norm(p - t) / np.linalg.norm(t))  # Frobenius over points, channels
    return np.array(out)


@pytest.mark.parametrize("shape", [(4, 50), (3, 40, 2)])
def test_relative_l2_matches_numpy_norm(shape):
    rng = np.random.default_rng(0)
    y_true = rng.normal(size=shape)
    y_pred = y_true + 0.1 * rng.normal(size=shape)
    mask = rng.random(shape[:2]) < 0.7
    expected = _reference_relative_l2(y_true, y_pred, mask)
    got = relative_l2(y_true, y_pred, mask, reduce="none")
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert relative_l2(y_true, y_pred, mask) == pytest.approx(expected.mean())
    full = np.ones(shape[:2], bool)
    np.testing.assert_allclose(
        relative_l2(y_true, y_pred, reduce="none"), _reference_relative_l2(y_true, y_pred, full)
    )


def test_relative_l2_nan_mask_torch_and_degenerate_samples():
    torch = pytest.importorskip("torch")
    y_true = np.array([[1.0, 2.0, np.nan], [0.0, 0.0, 1.0], [3.0, 4.0, 5.0]])
    y_pred = np.array([[1.0, 0.0, 9.0], [1.0, 1.0, 1.0], [3.0, 4.0, 5.0]])
    mask = torch.tensor([[True, True, True], [True, True, False], [False, False, False]])
    got = relative_l2(torch.tensor(y_true), torch.tensor(y_pred), mask, reduce="none")
    # sample 0: NaN point dropped -> |(0, -2)| / |(1, 2)|; sample 1: zero true norm;
    # sample 2: no valid point.
    np.testing.assert_allclose(got, [2 / np.sqrt(5), np.nan, np.nan])
    assert relative_l2(y_true, y_pred, mask.numpy()) == pytest.approx(2 / np.sqrt(5))


def test_relative_l2_bad_input():
    y = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\)"):
        relative_l2(y, y, np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="boolean"):
        relative_l2(y, y, np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match=r"y_true \(2, 3\) and y_pred \(2, 4\)"):
        relative_l2(y, np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"\(S, N\) or \(S, N, C\)"):
        relative_l2(np.ones(3), np.ones(3))


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, (3, 8), elements=st.floats(0.1, 10)),
    arrays(np.float64, (3, 8), elements=st.floats(-10, 10)),
    st.floats(1e-3, 1e3),
)
def test_relative_l2_is_scale_invariant(y_true, y_pred, c):
    np.testing.assert_allclose(
        relative_l2(c * y_true, c * y_pred, reduce="none"),
        relative_l2(y_true, y_pred, reduce="none"),
        rtol=1e-9,
        atol=1e-12,  # y_pred == y_true leaves rounding noise (~1e-16) that need not scale
    )
