import numpy as np
import pytest
import torch

from sciml.physics.operator.networks import MTDeepONet
from sciml.physics.predictor import OperatorPredictor
from sciml.train import CheckpointError, save_checkpoint

N = 16
AXIS = np.linspace(0, 1, N)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def darcy():
    torch.manual_seed(0)
    net = MTDeepONet(
        (1, N, N), 2, p=8, branch="cnn", branch_hidden=(8,), cnn_channels=(4,), trunk_hidden=(8,)
    )
    net.target_scaler.fit(torch.rand(20, 1) + 1.0)
    return OperatorPredictor(net, "darcy", ("x", "y"), ("x", "y"), (AXIS, AXIS))


@pytest.fixture(scope="module")
def fisher():
    torch.manual_seed(0)
    net = MTDeepONet(8, 2, p=8, branch_hidden=(8,), trunk_hidden=(8,), n_coefficients=4)
    return OperatorPredictor(
        net, "fisher", ("x", "t"), ("t", "x"), (np.linspace(0, 1, 5), np.linspace(0, 1, 8))
    )


def test_nan_outside_domain_and_physical_units(darcy):
    k = np.exp(np.random.default_rng(0).standard_normal((3, N, N)))
    field = darcy.predict(k, geometry="circle")
    assert field.dims == ("sample", "x", "y") and field.shape == (3, N, N)
    assert np.isnan(field.values[:, 0, 0]).all()  # corner is outside the disk
    assert np.isfinite(field.values[:, N // 2, N // 2]).all()


def test_batching_and_requested_points_agree(darcy):
    k = np.exp(np.random.default_rng(1).standard_normal((5, N, N)))
    full = darcy.predict(k, geometry="square", batch_size=2)
    single = darcy.predict(k[3], geometry="square")
    np.testing.assert_allclose(full.values[3], single.values, rtol=1e-5)
    points = darcy.predict(k, geometry="square", coords=[[AXIS[2], AXIS[5]], [AXIS[7], AXIS[1]]])
    assert points.dims == ("sample", "point")
    np.testing.assert_allclose(points.values[:, 0], full.values[:, 2, 5], rtol=1e-5)
    mask = np.ones((N, N), bool)
    np.testing.assert_allclose(darcy.predict(k, mask=mask).values, full.values, rtol=1e-5)


def test_bad_inputs_raise(darcy, fisher):
    k = np.ones((N, N))
    with pytest.raises(ValueError, match="outside the trained domain"):
        darcy.predict(k, geometry="square", coords=[[0.5, 1.5]])
    with pytest.raises(ValueError, match="mask has shape"):
        darcy.predict(k, mask=np.ones((N + 1, N), bool))
    bad = k.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        darcy.predict(bad, geometry="square")
    with pytest.raises(ValueError, match="unknown geometry"):
        darcy.predict(k, geometry="hexagon")
    with pytest.raises(ValueError, match="geometry mask as an input channel"):
        darcy.predict(k)
    with pytest.raises(ValueError, match="unknown reaction family 'kpp'.*logistic"):
        fisher.predict(np.ones(8), family="kpp", a=0.5)
    with pytest.raises(ValueError, match="needs coefficients"):
        fisher.predict(np.ones(8))


def test_family_coefficients(fisher):
    from sciml.physics.problems.fisher import LOGISTIC

    by_name = fisher.predict(np.ones(8), family="logistic", a=0.5)
    by_vector = fisher.predict(np.ones(8), coefficients=LOGISTIC.coefficients(0.5))
    assert by_name.dims == ("t", "x")
    np.testing.assert_allclose(by_name.values, by_vector.values)


def test_checkpoint_round_trip(tmp_path, darcy):
    path = darcy.save(tmp_path / "p.pt")
    again = OperatorPredictor.load(path)
    k = np.ones((2, N, N))
    np.testing.assert_array_equal(
        again.predict(k, geometry="triangle").values, darcy.predict(k, geometry="triangle").values
    )
    save_checkpoint(tmp_path / "plain.pt", darcy.model)
    with pytest.raises(CheckpointError, match="no operator metadata"):
        OperatorPredictor.load(tmp_path / "plain.pt")


def test_single_sample_results_are_independent_copies(darcy):
    # One sample on the default grid reuses cached coordinates: results must not share
    # data or attributes, and the coordinates cannot be changed in place.
    rng = np.random.default_rng(1)
    k1, k2 = np.exp(rng.standard_normal((2, N, N)))
    a = darcy.predict(k1, geometry="circle")
    b = darcy.predict(k2, geometry="circle")
    assert a.dims == ("x", "y") and not np.shares_memory(a.values, b.values)
    a.attrs["units"] = "changed"
    a.values[N // 2, N // 2] = -1.0
    again = darcy.predict(k1, geometry="circle")
    assert again.attrs["units"] == "physical (as the training data)"
    assert again.values[N // 2, N // 2] != -1.0
    batch = darcy.predict(np.stack([k1, k2]), geometry="circle")
    np.testing.assert_allclose(batch.values[1], b.values, rtol=1e-5, equal_nan=True)
    with pytest.raises(ValueError, match="read-only"):
        a.coords["x"].values[0] = 5.0


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_network_output_raises(value):
    from sciml.physics.errors import NonFiniteOutputError

    torch.manual_seed(0)
    net = MTDeepONet(
        (1, N, N), 2, p=8, branch="cnn", branch_hidden=(8,), cnn_channels=(4,), trunk_hidden=(8,)
    )
    with torch.no_grad():
        net.bias.fill_(value)  # every output becomes non-finite
    predictor = OperatorPredictor(net, "darcy", ("x", "y"), ("x", "y"), (AXIS, AXIS))
    with pytest.raises(NonFiniteOutputError, match=r"returned \d+ NaN or infinite value\(s\)"):
        predictor.predict(np.ones((N, N)), geometry="square")
