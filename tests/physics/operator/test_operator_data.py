import numpy as np
import pytest
import torch

from sciml.physics.data.geometry import circle, square
from sciml.physics.operator.networks import MTDeepONet
from sciml.physics.operator_data import (
    OperatorDataset,
    darcy_dataset,
    fisher_dataset,
    fit_scalers,
    heat_dataset,
)
from sciml.physics.problems.darcy import DarcyConfig, generate_darcy
from sciml.physics.problems.fisher import FisherConfig, generate_fisher
from sciml.physics.problems.heat import HeatConfig, generate_heat

# The old operator_data path is deprecated; these tests keep its builders working until removal.
pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    pytest.mark.filterwarnings("ignore:sciml.physics.operator_data:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def fisher_ds():
    return generate_fisher(
        4, FisherConfig(nx=16, n_times=5, families=("logistic", "zeldovich")), seed=0
    )


@pytest.fixture(scope="module")
def darcy_ds():
    return generate_darcy(
        4, {"square": square(), "circle": circle()}, DarcyConfig(resolution=24), seed=0
    )


def test_fisher_dataset_layout(fisher_ds):
    data = fisher_dataset(fisher_ds)
    assert len(data) == 4 and data.coords.shape == (80, 2) and data.arrays["y"].shape == (4, 80, 1)
    assert data.n_coefficients == 4 and data.branch_in == 16
    # point i * nx + j sits at (x_j, t_i)
    i, j = 3, 7
    assert np.allclose(data.coords[i * 16 + j].numpy(), [fisher_ds.x[j], fisher_ds.t[i]])
    assert np.isclose(data.arrays["y"][1, i * 16 + j, 0], fisher_ds["u"].values[1, i, j])
    assert list(data.where("zeldovich")) == [1, 3]
    batch = data.collate([data[0], data[1]])
    assert batch["coords"].shape == (80, 2) and batch["branch"].shape == (2, 16)


def test_darcy_dataset_layout_and_masks(darcy_ds):
    data = darcy_dataset(darcy_ds)
    assert data.branch_in == (1, 24, 24)
    assert data.arrays["mask"].shape == (4, 576) and data.arrays["mask_grid"].shape == (4, 24, 24)
    circle_idx = data.where("circle")
    assert not data.arrays["mask"][circle_idx].all()
    assert torch.all(data.arrays["y"][..., 0][~data.arrays["mask"]] == 0)


def test_heat_dataset_is_finite():
    ds = generate_heat(2, HeatConfig(shape=(24, 24, 4), n_holes=(2, 3)), seed=0)
    data = heat_dataset(ds)
    assert data.arrays["y"].shape == (2, 24 * 24 * 4, 1) and data.coords.shape[1] == 3
    assert torch.isfinite(data.arrays["branch"]).all() and data.branch_in == 5 + 18


def test_scalers_are_mask_aware_and_fitted_on_train_only(darcy_ds):
    data = darcy_dataset(darcy_ds)
    train = data.subset([0, 1])
    outside = ~train.arrays["mask_grid"]
    train.arrays["branch"][:, 0][outside] = 1e6  # garbage outside the geometry
    model = MTDeepONet(
        data.branch_in,
        2,
        p=8,
        branch="cnn",
        branch_hidden=(8,),
        cnn_channels=(4,),
        trunk_hidden=(8,),
    )
    fit_scalers(model, [train.collate([train[0], train[1]])])
    inside_k = train.arrays["branch"][:, 0][train.arrays["mask_grid"]].double()
    assert torch.isclose(model.input_scaler.mean[0], inside_k.mean())
    inside_u = train.arrays["y"][..., 0][train.arrays["mask"]].double()
    assert torch.isclose(model.target_scaler.mean[0], inside_u.mean())
    before = model.target_scaler.mean.clone()
    fit_scalers(model, [data.collate([data[2], data[3]])])  # already fitted: kept
    assert torch.equal(model.target_scaler.mean, before)


def test_concat_and_validation(fisher_ds):
    data = fisher_dataset(fisher_ds)
    pooled = OperatorDataset.concat([data.subset([0]), data.subset([1, 2])])
    assert len(pooled) == 3 and list(pooled.labels) == list(data.labels[:3])
    with pytest.raises(ValueError, match="N = len\\(coords\\)"):
        OperatorDataset(np.zeros((5, 2)), np.zeros((2, 4, 1)), np.zeros((2, 3)))
