import numpy as np
import pytest
import torch

from sciml.physics.operator.data import OperatorDataset
from sciml.physics.operator.networks import DeepONet, MaskedFieldLoss, MTDeepONet
from sciml.train import TrainConfig, Trainer, load_model, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny(**kw):
    return DeepONet(8, 2, p=12, branch_hidden=(16,), trunk_hidden=(16, 16), **kw)


def _cnn(**kw):
    return MTDeepONet(
        (1, 12, 12),
        2,
        p=10,
        branch="cnn",
        branch_hidden=(16,),
        cnn_channels=(4, 8),
        trunk_hidden=(16,),
        **kw,
    )


def test_mlp_shapes_multiple_outputs_and_per_sample_coords():
    net = _tiny(n_outputs=3, n_coefficients=2)
    batch = {
        "branch": torch.randn(5, 8),
        "coefficients": torch.randn(5, 2),
        "coords": torch.rand(40, 2),
    }
    assert net(batch).shape == (5, 40, 3)
    batch["coords"] = torch.rand(5, 40, 2)
    assert net(batch).shape == (5, 40, 3)


def test_cnn_branch_with_mask_channel_shapes():
    net = _cnn()
    assert net.mask_channel and net.mask_output
    mask = torch.ones(4, 12, 12, dtype=torch.bool)
    out = net(
        {
            "branch": torch.rand(4, 1, 12, 12),
            "mask_grid": mask,
            "coords": torch.rand(144, 2),
            "mask": mask.reshape(4, -1),
        }
    )
    assert out.shape == (4, 144, 1)


def test_wrong_shapes_and_arguments_raise():
    with pytest.raises(ValueError, match="expected \\(B, 8\\)"):
        _tiny()({"branch": torch.randn(2, 7), "coords": torch.rand(3, 2)})
    with pytest.raises(ValueError, match="CNN branch needs"):
        DeepONet(8, 2, branch="cnn")
    with pytest.raises(ValueError, match="unknown branch"):
        DeepONet(8, 2, branch="gnn")
    with pytest.raises(ValueError, match="mask_channel needs"):
        DeepONet(8, 2, mask_channel=True)


def test_mask_zeroes_physical_output_outside_and_carries_no_loss():
    net = _cnn()
    torch.manual_seed(0)
    mask = torch.rand(3, 12, 12) > 0.4
    batch = {
        "branch": torch.rand(3, 1, 12, 12),
        "mask_grid": mask,
        "coords": torch.rand(144, 2),
        "mask": mask.reshape(3, -1),
        "y": torch.randn(3, 144, 1),
    }
    out = net(batch)
    outside = ~batch["mask"]
    assert torch.all(net.to_physical(out, batch["mask"])[..., 0][outside] == 0.0)
    for kind in ("mse", "rel_l2"):
        loss = MaskedFieldLoss(kind)
        value = loss.terms(out, batch, net)[kind]
        changed = dict(batch, y=torch.where(outside[..., None], torch.tensor(1e6), batch["y"]))
        assert torch.allclose(loss.terms(out, changed, net)[kind], value)
        pred = out.detach().requires_grad_()
        loss.terms(pred, batch, net)[kind].backward()
        assert torch.all(pred.grad[..., 0][outside] == 0.0)


def test_overfits_tiny_data():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 16)
    amp = rng.uniform(0.5, 1.5, (12, 1))
    branch = amp * np.sin(np.pi * x)[None, :8].repeat(1, 0)
    coords = np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(-1, 2)
    y = (amp * np.sin(np.pi * coords[:, 0]) * coords[:, 1])[..., None]
    data = OperatorDataset(coords, y, branch)
    net = _tiny()
    trainer = Trainer(
        net,
        MaskedFieldLoss("mse"),
        TrainConfig(max_epochs=400, batch_size=12, lr=3e-3, weight_decay=0.0, progress=False),
    )
    trainer.fit(data)
    assert trainer.evaluate(data)["rel_l2"] < 0.05


def test_checkpoint_round_trip(tmp_path):
    net = _cnn(n_coefficients=2)
    net.target_scaler.fit(torch.randn(50, 1) * 3 + 2)
    path = save_checkpoint(tmp_path / "m.pt", net)
    again = load_model(path, expected=MTDeepONet)
    mask = torch.ones(2, 12, 12, dtype=torch.bool)
    batch = {
        "branch": torch.rand(2, 1, 12, 12),
        "coefficients": torch.randn(2, 2),
        "mask_grid": mask,
        "coords": torch.rand(10, 2),
    }
    with torch.no_grad():
        assert torch.equal(net.eval()(batch), again(batch))
    assert again.hparams == net.hparams


def test_outputs_are_standardised_and_decoded_to_physical_units():
    net = _tiny()
    net.target_scaler.fit(torch.tensor([[10.0], [14.0]]))
    batch = {"branch": torch.randn(2, 8), "coords": torch.rand(6, 2), "y": torch.ones(2, 6, 1)}
    z = net(batch)
    loss = MaskedFieldLoss("mse")
    decoded = loss.decode(z, batch, net)
    torch.testing.assert_close(decoded["pred"], (z * 2.0 + 12.0).double())
    standardised = (batch["y"] - 12.0) / 2.0
    torch.testing.assert_close(loss.terms(z, batch, net)["mse"], ((z - standardised) ** 2).mean())
    arrays = {k: v.detach().numpy() for k, v in decoded.items()}
    assert set(loss.metrics(arrays["target"], arrays["pred"])) == {
        "rel_l2",
        "rmse",
        "mae",
        "r2",
        "pearson",
    }
