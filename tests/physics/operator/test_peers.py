import numpy as np
import pytest
import torch

from sciml.physics.operator.data import OperatorDataset
from sciml.physics.operator.networks import MaskedFieldLoss
from sciml.train import TrainConfig, Trainer, load_model, save_checkpoint

pytest.importorskip("neuralop")
from sciml.physics.operator.peers import NeuralOperatorFNO  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def _grid_data(n=24, side=12, seed=0):
    """u = K * sin(pi x) sin(pi y): a pointwise operator an FNO fits quickly."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, side)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    k = 1 + rng.random((n, side, side))
    u = k * np.sin(np.pi * xx) * np.sin(np.pi * yy)
    coords = np.stack([xx.ravel(), yy.ravel()], -1)
    return OperatorDataset(coords, u.reshape(n, -1, 1), k[:, None], grid_shape=(side, side))


def test_shapes_and_c_order_of_the_grid():
    net = NeuralOperatorFNO((1, 12, 10), n_modes=(4, 4), hidden_channels=8, n_layers=2)
    out = net({"branch": torch.rand(3, 1, 12, 10), "coords": torch.rand(120, 2)})
    assert out.shape == (3, 120, 1)
    # the FNO's (B, K, H, W) grid flattens in the same C order as the data set's coordinates
    with torch.no_grad():
        img = net.fno(net.input_scaler.transform(torch.ones(1, 12, 10, 1)).movedim(-1, 1))
    flat = net({"branch": torch.ones(1, 1, 12, 10), "coords": torch.rand(120, 2)})
    torch.testing.assert_close(flat[0, :, 0].reshape(12, 10), img[0, 0])


def test_wrong_inputs_are_named():
    net = NeuralOperatorFNO((1, 12, 12), n_modes=(4, 4), hidden_channels=8, n_layers=1)
    with pytest.raises(ValueError, match=r"expected \(B, 1, 12, 12\)"):
        net({"branch": torch.rand(2, 1, 10, 12), "coords": torch.rand(144, 2)})
    with pytest.raises(ValueError, match="holds 50 points.*12 x 12 = 144 nodes"):
        net({"branch": torch.rand(2, 1, 12, 12), "coords": torch.rand(50, 2)})
    with pytest.raises(ValueError, match="branch_in = \\(C, H, W\\)"):
        NeuralOperatorFNO(144)
    with pytest.raises(ValueError, match="exceed what a 12 x 12 grid resolves"):
        NeuralOperatorFNO((1, 12, 12), n_modes=(9, 4))


def test_trained_by_the_sciml_trainer_and_checkpointed_weights_only(tmp_path):
    torch.manual_seed(0)
    data = _grid_data()
    train, test = data.subset(np.arange(20)), data.subset(np.arange(20, 24))
    net = NeuralOperatorFNO(data.branch_in, n_modes=(4, 4), hidden_channels=12, n_layers=2)
    cfg = TrainConfig(max_epochs=40, batch_size=5, lr=3e-3, progress=False, weight_decay=0.0)
    trainer = Trainer(net, MaskedFieldLoss("mse"), cfg)
    history = trainer.fit(train)
    assert history["train_loss"].iloc[-1] < 0.2 * history["train_loss"].iloc[0]
    out = trainer.predict(test)
    err = np.linalg.norm(out["pred"] - out["target"]) / np.linalg.norm(out["target"])
    assert err < 0.15
    path = save_checkpoint(tmp_path / "fno.pt", trainer.raw_model)
    payload = torch.load(path, weights_only=True)
    assert "_metadata" not in payload["state_dict"]
    again = load_model(path, expected=NeuralOperatorFNO)
    assert bool(again.target_scaler.fitted)
    batch = test.collate([test[i] for i in range(len(test))])
    with torch.no_grad():
        torch.testing.assert_close(again(batch), trainer.raw_model.eval()(batch))


def test_mask_channel_and_masked_output():
    net = NeuralOperatorFNO(
        (1, 8, 8),
        n_modes=(3, 3),
        hidden_channels=4,
        n_layers=1,
        mask_channel=True,
        mask_output=True,
    )
    mask = torch.zeros(2, 8, 8, dtype=torch.bool)
    mask[:, 2:6, 2:6] = True
    z = net({"branch": torch.rand(2, 1, 8, 8), "mask_grid": mask, "coords": torch.rand(64, 2)})
    u = net.to_physical(z + 5.0, mask.reshape(2, -1))
    assert torch.all(u[~mask.reshape(2, -1)] == 0) and torch.all(u[mask.reshape(2, -1)] != 0)
