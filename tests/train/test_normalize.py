import numpy as np
import pytest
import torch

from sciml.train import Standardizer


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
