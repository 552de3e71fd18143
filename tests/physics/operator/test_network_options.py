"""Options of the operator networks: exact Dirichlet factor, wide log-K branch, Fourier
features, POD trunk; their checkpoint round trips and the old-checkpoint default."""

import numpy as np
import pytest
import torch

from sciml.physics.data.geometry import Grid, boundary_distance, rasterize, square
from sciml.physics.operator.data import OperatorDataset, fit_scalers
from sciml.physics.operator.networks import DeepONet, MaskedFieldLoss, MTDeepONet
from sciml.physics.predictor import OperatorPredictor
from sciml.physics.problems.darcy import WIDE_BRANCH, DarcyProblem
from sciml.train import TrainConfig, Trainer, load_checkpoint, load_model, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")

H = 12


def _cnn(**kw):
    options = dict(p=10, branch="cnn", branch_hidden=(16,), cnn_channels=(4, 8), trunk_hidden=(16,))
    options.update(kw)
    return MTDeepONet((1, H, H), 2, **options)


def _data(n=6, seed=0):
    """Tiny Darcy-like samples on an H x H grid with a disk-shaped mask."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, H)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    mask = (xx - 0.5) ** 2 + (yy - 0.5) ** 2 <= 0.45**2
    masks = np.repeat(mask[None], n, 0)
    distance = boundary_distance(masks, (x, x))
    k = np.exp(rng.normal(size=(n, 1, H, H)))
    u = np.where(masks, np.sin(np.pi * xx) * np.sin(np.pi * yy), 0) * rng.uniform(1, 2, (n, 1, 1))
    return OperatorDataset(
        np.stack([xx.ravel(), yy.ravel()], -1),
        u.reshape(n, -1, 1),
        k,
        masks.reshape(n, -1),
        grid_shape=(H, H),
        mask_grid=masks,
        distance=distance.reshape(n, -1),
    )


def _batch(data, idx=slice(0, 4)):
    return data.collate([data[i] for i in range(len(data))[idx]])


# ------------------------------------------------------------------ distance to the boundary
def test_boundary_distance_on_the_unit_square():
    x = np.linspace(0, 1, 11)
    d = boundary_distance(rasterize(square(), Grid.uniform((11, 11))), (x, x))
    # Distance to the first node outside (the padding) less half a spacing: frame nodes 0.05.
    assert d[0, 5] == pytest.approx(0.05)
    assert d[5, 5] == pytest.approx(0.55)
    assert d[2, 5] == pytest.approx(0.25)
    mask = np.zeros((11, 11), bool)
    mask[3:8, 3:8] = True
    d = boundary_distance(mask, (x, x))
    assert d[0, 0] == 0.0 and d[5, 5] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="expected \\(11, 11\\)"):
        boundary_distance(mask[:5], (x, x))


def test_boundary_factor_makes_the_output_vanish_on_the_boundary():
    data = _data()
    net = _cnn(boundary_factor=True)
    fit_scalers(net, [_batch(data)])
    batch = _batch(data)
    distance = batch["distance"].clone()
    distance[:, :5] = 0.0  # five query points on the boundary
    batch["distance"] = distance
    with torch.no_grad():
        u = net.to_physical(net(batch), batch["mask"])
    assert torch.all(u[:, :5] == 0)
    assert u[:, 5:].abs().max() > 0
    phi = net.boundary_phi(torch.tensor([[0.0, 0.05, 1.0]]))
    assert torch.allclose(phi, torch.tensor([[0.0, np.tanh(1.0), np.tanh(20.0)]]).float())


def test_boundary_factor_needs_the_distance():
    data = _data()
    batch = _batch(data)
    del batch["distance"]
    with pytest.raises(ValueError, match="needs 'distance'"):
        _cnn(boundary_factor=True)(batch)


def test_distance_is_a_trunk_input_and_the_trunk_is_per_sample():
    net = _cnn(boundary_factor=True)
    assert net.trunk_net[0].in_features == 3
    coords = torch.rand(7, 2)
    t = net.trunk_features(coords, torch.rand(2, 7))
    assert t.shape == (2, 7, 10)
    t0 = net.trunk_features(coords, torch.zeros(2, 7))
    assert not torch.allclose(t, t0)
    # Samples sharing a geometry share the trunk evaluation, with the same result.
    shared = torch.rand(1, 7)
    d = torch.cat([shared, torch.rand(1, 7), shared])
    together = net.trunk_features(coords, d)
    one_by_one = torch.cat([net.trunk_features(coords, row[None]) for row in d])
    assert torch.allclose(together, one_by_one, atol=1e-6)


def test_old_checkpoints_keep_the_learned_boundary(tmp_path):
    net = _cnn()
    hparams = dict(net.hparams)
    for key in (
        "boundary_factor",
        "boundary_width",
        "branch_activation",
        "log_input",
        "fourier_features",
        "fourier_scale",
        "trunk",
        "pod_points",
    ):
        hparams.pop(key)
    net.hparams = hparams  # as written before the options existed
    path = save_checkpoint(tmp_path / "old.pt", net)
    loaded = load_model(path, expected=DeepONet)
    assert not loaded.boundary_factor and loaded.trunk == "mlp" and not loaded.log_input
    batch = _batch(_data())
    del batch["distance"]  # old data sets have none
    with torch.no_grad():
        assert torch.equal(loaded(batch), net(batch))


@pytest.mark.parametrize(
    "options",
    [
        {"boundary_factor": True, "boundary_width": 0.1},
        {"fourier_features": 4, "fourier_scale": 2.0},
        {**{k: v for k, v in WIDE_BRANCH.items() if k != "p"}, "p": 12},
        {"boundary_factor": True, "fourier_features": 3},
    ],
)
def test_options_round_trip_through_checkpoints(tmp_path, options):
    data = _data()
    net = _cnn(**options)
    fit_scalers(net, [_batch(data)])
    path = save_checkpoint(tmp_path / "m.pt", net)
    assert load_checkpoint(path)["model"]["hparams"]["boundary_factor"] == net.boundary_factor
    loaded = load_model(path, expected=DeepONet)
    for key, value in options.items():
        expected = list(value) if isinstance(value, tuple) else value
        assert loaded.hparams[key] == expected
    batch = _batch(data)
    with torch.no_grad():
        assert torch.allclose(loaded(batch), net(batch))


def test_log_input_standardises_log_k():
    data = _data()
    net = _cnn(log_input=True)
    fit_scalers(net, [_batch(data, slice(None))])
    k = data.arrays["branch"].double()
    logk = torch.log(k)[data.arrays["mask_grid"][:, None]]
    assert net.input_scaler.mean.item() == pytest.approx(logk.mean().item(), rel=1e-6)
    # float32 log(e) is 1 within an ulp (0.99999994 on some CPUs' vectorised log)
    torch.testing.assert_close(
        net.prepare_branch(torch.tensor([[-1.0, 0.0, np.e]])), torch.tensor([[0.0, 0.0, 1.0]])
    )


def test_wide_branch_is_gelu_with_a_256_head():
    net = _cnn(**{k: v for k, v in WIDE_BRANCH.items() if k != "p"})
    convs = [m for m in net.branch_net.conv if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128]
    assert any(isinstance(m, torch.nn.GELU) for m in net.branch_net.modules())
    assert not any(isinstance(m, torch.nn.GELU) for m in net.trunk_net.modules())
    assert net.branch_net.head[0].out_features == 256


def test_fourier_features_feed_the_trunk():
    net = DeepONet(4, 2, p=6, branch_hidden=(8,), trunk_hidden=(8,), fourier_features=5)
    assert net.trunk_net[0].in_features == 2 + 10
    again = DeepONet(4, 2, p=6, branch_hidden=(8,), trunk_hidden=(8,), fourier_features=5)
    assert torch.equal(net.fourier_matrix, again.fourier_matrix)  # seeded
    with pytest.raises(ValueError, match="fourier_features >= 0"):
        DeepONet(4, 2, fourier_features=-1)


def test_fourier_trunk_derivatives_match_finite_differences():
    from sciml.physics.operator.derivatives import trunk_derivatives

    net = DeepONet(4, 2, p=6, branch_hidden=(8,), trunk_hidden=(8,), fourier_features=3)
    x = torch.rand(5, 2, dtype=torch.float32)
    _, dt, _ = trunk_derivatives(net, x)
    h = 1e-3
    step = torch.tensor([h, 0.0])
    fd = (net.trunk_features(x + step) - net.trunk_features(x - step)) / (2 * h)
    assert torch.allclose(dt[..., 0], fd, atol=2e-3)


def test_physics_refuses_the_boundary_factor():
    from sciml.physics.operator.derivatives import trunk_derivatives

    with pytest.raises(ValueError, match="boundary_factor=False"):
        trunk_derivatives(_cnn(boundary_factor=True), torch.rand(3, 2))


# ------------------------------------------------------------------------------ POD trunk
def test_pod_trunk_fits_the_training_fields_exactly_with_enough_modes(tmp_path):
    data = _data(n=8)
    n = len(data.coords)
    net = _cnn(trunk="pod", pod_points=n, p=8)
    batch = _batch(data, slice(None))
    fit_scalers(net, [batch])
    assert bool(net.pod_fitted)
    modes = net.pod_modes.double() / n**0.5
    assert torch.allclose(modes.T @ modes, torch.eye(8, dtype=torch.float64)[:8, :8], atol=1e-5)
    # The fields are multiples of one shape: one mode spans them (singular values > 0 after it
    # are noise-free zeros), and the mean field is the standardised mean.
    z = net.target_scaler.transform(batch["y"].double())[..., 0]
    z = torch.where(batch["mask"], z, torch.zeros_like(z))
    assert torch.allclose(net.pod_mean.double(), z.mean(0), atol=1e-5)
    t = net.trunk_features(data.coords)
    assert t.shape == (n, 9)
    # Subsets of the training points are looked up; other points are refused.
    assert torch.allclose(net.trunk_features(data.coords[[5, 2]]), t[[5, 2]])
    with pytest.raises(ValueError, match="not points of the POD basis"):
        net.trunk_features(torch.tensor([[0.013, 0.5]]))
    path = save_checkpoint(tmp_path / "pod.pt", net)
    loaded = load_model(path, expected=DeepONet)
    with torch.no_grad():
        assert torch.allclose(loaded(batch), net(batch))


def test_pod_trunk_unfitted_and_bad_arguments_raise():
    with pytest.raises(ValueError, match="not fitted"):
        _cnn(trunk="pod", pod_points=4).trunk_features(torch.rand(4, 2))
    with pytest.raises(ValueError, match="pod_points >= 1"):
        _cnn(trunk="pod")
    with pytest.raises(ValueError, match="POD trunk takes no coordinates"):
        _cnn(trunk="pod", pod_points=4, boundary_factor=True)
    with pytest.raises(ValueError, match="unknown trunk"):
        _cnn(trunk="fno")
    net = _cnn(trunk="pod", pod_points=len(_data().coords), p=10)
    with pytest.raises(ValueError, match="needs at least 10 training fields"):
        fit_scalers(net, [_batch(_data(), slice(None))])


@pytest.mark.parametrize("options", [{}, {"trunk": "pod", "p": 5}, WIDE_BRANCH])
def test_darcy_default_model_options_overfit_tiny_data(options):
    data = _data(n=8)
    model = DarcyProblem().default_model(data, width=16, **options)
    assert model.boundary_factor == (options.get("trunk") != "pod")
    trainer = Trainer(
        model,
        MaskedFieldLoss(),
        TrainConfig(max_epochs=300, batch_size=4, lr=3e-3, progress=False, monitor=None, seed=0),
    )
    trainer.fit(data)
    assert trainer.evaluate(data)["rel_l2"] < 0.1


def test_predictor_uses_the_distance_on_and_off_the_grid(tmp_path):
    data = _data(n=8)
    model = _cnn(boundary_factor=True)
    fit_scalers(model, [_batch(data, slice(None))])
    x = np.linspace(0, 1, H)
    predictor = OperatorPredictor(model, "darcy", ("x", "y"), ("x", "y"), (x, x))
    k = data.arrays["branch"][0, 0].numpy()
    mask = data.arrays["mask_grid"][0].numpy()
    field = predictor.predict(k, mask=mask).values
    with torch.no_grad():
        direct = model.to_physical(model(_batch(data, slice(0, 1))))[0, :, 0].numpy()
    assert np.allclose(
        np.where(mask.ravel(), direct, np.nan), field.ravel(), equal_nan=True, atol=1e-5
    )
    points = predictor.grid_coords()[[30, 31, 70]]
    at = predictor.predict(k, mask=mask, coords=points).values
    assert np.allclose(at, field.ravel()[[30, 31, 70]], atol=1e-5, equal_nan=True)
    with pytest.raises(ValueError, match="pass geometry="):
        predictor.predict(k)
    loaded = OperatorPredictor.load(predictor.save(tmp_path / "p.pt"))
    assert np.allclose(loaded.predict(k, mask=mask).values, field, equal_nan=True)


def test_predictor_groups_samples_by_geometry():
    data = _data(n=4)
    model = _cnn(boundary_factor=True)
    fit_scalers(model, [_batch(data, slice(None))])
    x = np.linspace(0, 1, H)
    predictor = OperatorPredictor(model, "darcy", ("x", "y"), ("x", "y"), (x, x))
    k = data.arrays["branch"][:, 0].numpy()
    masks = data.arrays["mask_grid"].numpy().copy()
    masks[1] = False
    masks[1, 2:10, 3:9] = True  # a second geometry between samples of the first
    together = predictor.predict(k, mask=masks, batch_size=3).values
    alone = np.stack([predictor.predict(k[i], mask=masks[i]).values for i in range(4)])
    assert np.allclose(together, alone, atol=1e-5, equal_nan=True)
    assert np.isnan(together[1, 0, 0]) and not np.isnan(together[0, 2, 5])
