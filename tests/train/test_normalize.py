import numpy as np
import pytest
import torch

from sciml.train import Standardizer, masked_moments


def test_fit_is_nan_aware_and_inverse_round_trips():
    rng = np.random.default_rng(0)
    y = rng.normal([1e-3, 1e3], [1e-4, 50.0], size=(200, 2))
    y[rng.random(y.shape) < 0.3] = np.nan
    scaler = Standardizer(2).fit(y)
    assert np.allclose(scaler.mean.numpy(), np.nanmean(y, 0))
    assert np.allclose(scaler.std.numpy(), np.nanstd(y, 0))
    t = torch.tensor(y)
    z = scaler.transform(t)
    assert torch.isnan(z).equal(torch.isnan(t))
    assert torch.allclose(scaler.inverse(z), t, equal_nan=True)


def test_mask_excludes_points_from_statistics():
    y = np.array([[[1.0], [3.0], [1000.0]]])
    mask = np.array([[True, True, False]])
    scaler = Standardizer(1).fit(y, mask=mask)
    assert scaler.mean.item() == pytest.approx(2.0)


def test_all_nan_task_raises_with_its_name():
    y = np.array([[1.0, np.nan], [2.0, np.nan]])
    with pytest.raises(ValueError, match="logS"):
        Standardizer(2).fit(y, task_names=["HLM", "logS"])


def test_wrong_task_count_raises():
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 3\)"):
        Standardizer(3).fit(np.zeros((4, 2)))


def test_state_dict_carries_statistics():
    a = Standardizer(1).fit(np.array([[2.0], [4.0]]))
    b = Standardizer(1)
    b.load_state_dict(a.state_dict())
    assert bool(b.fitted) and b.mean.item() == 3.0


def test_masked_moments_match_numpy_and_skip_masked_points():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(5, 7, 3))
    y[rng.random(y.shape) < 0.2] = np.nan
    mask = rng.random((5, 7)) < 0.8
    mean, std, count = masked_moments(y, mask)
    kept = np.where(mask[..., None], y, np.nan).reshape(-1, 3)
    assert np.allclose(mean.numpy(), np.nanmean(kept, 0))
    assert np.allclose(std.numpy(), np.nanstd(kept, 0))
    assert count.tolist() == (~np.isnan(kept)).sum(0).tolist()


def test_masked_moments_leave_an_empty_column_nan():
    mean, std, count = masked_moments(np.array([[1.0, np.nan], [3.0, np.nan]]))
    assert mean[0].item() == 2.0 and std[0].item() == 1.0
    assert np.isnan(mean[1].item()) and np.isnan(std[1].item()) and count[1].item() == 0


def test_constant_task_gets_the_eps_floor_not_zero():
    scaler = Standardizer(1, eps=1e-6).fit(np.full((4, 1), 7.0))
    assert scaler.std.item() == 1e-6
    assert torch.isfinite(scaler.transform(torch.tensor([[8.0]]))).all()


def test_fit_batches_equals_fit_on_the_concatenation():
    rng = np.random.default_rng(2)
    parts = [rng.normal(size=(n, 4, 2)) for n in (3, 5)]
    parts[0][0, 0, 1] = np.nan
    masks = [rng.random((3, 4)) < 0.7, None]
    whole = Standardizer(2).fit(
        np.concatenate(parts), mask=np.concatenate([masks[0], np.ones((5, 4), bool)])
    )
    batched = Standardizer(2).fit_batches([torch.tensor(p) for p in parts], masks)
    assert torch.equal(batched.mean, whole.mean) and torch.equal(batched.std, whole.std)


def test_fit_batches_keeps_a_fitted_scaler_unless_refit():
    scaler = Standardizer(1).fit(np.array([[0.0], [2.0]]))
    scaler.fit_batches([np.array([[10.0], [30.0]])])
    assert scaler.mean.item() == 1.0
    scaler.fit_batches([np.array([[10.0], [30.0]])], refit=True)
    assert scaler.mean.item() == 20.0


def test_fit_batches_rejects_no_batches_and_a_mask_count_mismatch():
    with pytest.raises(ValueError, match="empty"):
        Standardizer(1).fit_batches([])
    with pytest.raises(ValueError, match="1 masks for 2 batches"):
        Standardizer(1).fit_batches([np.zeros((2, 1)), np.zeros((2, 1))], [None])


def test_mpnn_descriptor_scaler_guards_constant_and_empty_columns():
    from sciml.chem.models.mpnn import MPNNRegressor

    net = MPNNRegressor(4, 2, n_tasks=1, hidden=8, ffn_hidden=8, n_descriptors=3)
    d = np.array([[1.0, 5.0, np.nan], [3.0, 5.0, np.nan], [np.nan, 5.0, np.nan]])
    net.fit_descriptor_scaler(d)
    assert net.descriptor_mean.tolist() == [2.0, 5.0, 0.0]
    assert net.descriptor_std.tolist() == [1.0, 1.0, 1.0]
    z = net.scaled_descriptors(torch.tensor([[2.0, 6.0, 4.0], [100.0, 5.0, np.nan]]))
    assert z.tolist() == [[0.0, 1.0, 4.0], [5.0, 0.0, 0.0]]
