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


@pytest.fixture(scope="module")
def darcy_distance():
    """A boundary-factor Darcy model (the default design) with fitted output scaling."""
    torch.manual_seed(0)
    net = MTDeepONet(
        (1, N, N),
        2,
        p=8,
        branch="cnn",
        branch_hidden=(8,),
        cnn_channels=(4, 4),
        trunk_hidden=(8,),
        boundary_factor=True,
    )
    net.target_scaler.fit(3.0 * torch.rand(20, 1) + 1.0)
    with torch.no_grad():
        net.bias.fill_(0.3)
    return net


def _reference(net, k, mask):
    """The model's own forward pass (branch, trunk, combine, boundary factor, units)."""
    from sciml.physics.data.geometry import boundary_distance

    coords = np.stack(np.meshgrid(AXIS, AXIS, indexing="ij"), -1).reshape(-1, 2)
    distance = boundary_distance(mask[None], (AXIS, AXIS)).reshape(1, -1)
    batch = {
        "branch": torch.as_tensor(k[None, None], dtype=torch.float32),
        "mask_grid": torch.as_tensor(mask[None]),
        "coords": torch.as_tensor(coords, dtype=torch.float32),
        "distance": torch.as_tensor(distance, dtype=torch.float32),
    }
    with torch.no_grad():
        u = net.to_physical(net(batch))[0, :, 0].numpy()
    return np.where(mask.ravel(), u, np.nan).reshape(N, N)


def test_folded_readout_matches_the_model_forward(darcy_distance):
    # predict folds the output scaling and the boundary factor into cached trunk features
    # and computes only the mask's inside nodes: the same field as the model's forward.
    predictor = OperatorPredictor(darcy_distance, "darcy", ("x", "y"), ("x", "y"), (AXIS, AXIS))
    rng = np.random.default_rng(3)
    x, y = np.meshgrid(AXIS, AXIS, indexing="ij")
    disk = (x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.16
    ring = disk & ((x - 0.5) ** 2 + (y - 0.5) ** 2 > 0.02)
    k = np.exp(rng.standard_normal((2, N, N)))
    for kk, mask in ((k[0], disk), (k[1], ring), (k[0], disk)):
        got = predictor.predict(kk, mask=mask).values
        want = _reference(darcy_distance, kk, mask)
        assert np.array_equal(np.isnan(got), ~mask)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6 * np.nanmax(np.abs(want)))
    # a batch on two geometries: one readout per geometry, each sample as alone
    both = predictor.predict(k, mask=np.stack([disk, ring])).values
    np.testing.assert_allclose(both[0], _reference(darcy_distance, k[0], disk), rtol=2e-5)
    np.testing.assert_allclose(both[1], _reference(darcy_distance, k[1], ring), rtol=2e-5)
    # explicit query points (every point computed, NaN outside afterwards) agree too
    points = predictor.predict(k[1], mask=ring, coords=[[AXIS[8], AXIS[3]], [AXIS[0], AXIS[0]]])
    np.testing.assert_allclose(points.values[0], both[1][8, 3], rtol=2e-5)
    assert np.isnan(points.values[1])


def test_readout_is_cached_per_query_grid_and_geometry(darcy_distance, monkeypatch):
    predictor = OperatorPredictor(darcy_distance, "darcy", ("x", "y"), ("x", "y"), (AXIS, AXIS))
    calls = []
    trunk = darcy_distance.trunk_features
    monkeypatch.setattr(
        darcy_distance, "trunk_features", lambda *a, **kw: calls.append(1) or trunk(*a, **kw)
    )
    k = np.exp(np.random.default_rng(4).standard_normal((N, N)))
    square = np.zeros((N, N), bool)
    square[2:-2, 2:-2] = True
    predictor.predict(k, mask=square)
    predictor.predict(2 * k, mask=square)
    assert len(calls) == 1  # same grid, same geometry: the trunk ran once
    predictor.predict(k, mask=~square & np.roll(square, 1, 0))
    assert len(calls) == 2  # another geometry: evaluated again
    coords = predictor.grid_coords()
    assert coords is predictor.grid_coords() and not coords.flags.writeable
    convs = [m for m in darcy_distance.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs)
