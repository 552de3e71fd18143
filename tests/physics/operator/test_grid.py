import numpy as np
import pytest
import torch

from sciml.physics.operator.grid import FNOOperator, UNetOperator, shape_channels
from sciml.train import load_model, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")


def disk_mask(n=16, r=5):
    yy, xx = np.mgrid[:n, :n]
    return ((xx - n // 2) ** 2 + (yy - n // 2) ** 2 <= r * r)[None]


def test_channels_and_exact_boundary():
    mask = disk_mask()
    log_k = np.random.default_rng(0).standard_normal(mask.shape)
    channels, level = shape_channels(mask, log_k, 1 / 15)
    assert channels.shape == (1, 4, 16, 16)
    np.testing.assert_allclose(level, log_k[mask].mean())
    assert abs(channels[0, 3][mask[0]].mean()) < 1e-6  # contrast has mean zero inside
    assert (channels[0, 1][~mask[0]] == 0).all() and channels[0, 2].max() == pytest.approx(1)
    torch.manual_seed(0)
    u = UNetOperator((4, 8))(torch.as_tensor(channels))
    assert u.shape == (1, 16, 16)
    assert (u[0][torch.as_tensor(~mask[0])] == 0).all()  # zero outside and on the boundary


def test_channels_refuse_empty_masks():
    with pytest.raises(ValueError, match=r"sample\(s\) \[1\] is empty"):
        shape_channels(
            np.stack([disk_mask()[0], np.zeros((16, 16), bool)]), np.zeros((2, 16, 16)), 0.1
        )
    with pytest.raises(ValueError, match="expected"):
        UNetOperator((4,))(torch.zeros(1, 3, 8, 8))


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (UNetOperator, {"widths": (4, 8)}),
        (FNOOperator, {"n_modes": (4, 4), "hidden_channels": 8, "n_layers": 2}),
    ],
)
def test_checkpoint_round_trip(tmp_path, cls, kwargs):
    pytest.importorskip("neuralop") if cls is FNOOperator else None
    torch.manual_seed(0)
    net = cls(**kwargs).eval()
    x = torch.as_tensor(shape_channels(disk_mask(), np.zeros((1, 16, 16)), 1 / 15)[0])
    path = save_checkpoint(tmp_path / "m.pt", net)
    again = load_model(path, expected=cls)
    torch.testing.assert_close(again(x), net(x))
    assert len(net.head_parameters()) == 2


def test_superposition_unet_is_linear_in_its_scalars_and_roundtrips(tmp_path):
    from sciml.physics.operator.grid import SuperpositionUNet
    from sciml.train import load_checkpoint, rebuild_model, save_checkpoint

    torch.manual_seed(0)
    net = SuperpositionUNet(in_channels=3, n_terms=3, widths=(4, 8)).eval()
    geometry = torch.rand(2, 3, 12, 12)
    s1, s2 = torch.rand(2, 3), torch.rand(2, 3)
    with torch.no_grad():
        combined = net(geometry, 2.0 * s1 - 0.5 * s2)
        separate = 2.0 * net(geometry, s1) - 0.5 * net(geometry, s2)
        assert combined.shape == (2, 12, 12)
        torch.testing.assert_close(combined, separate, rtol=1e-5, atol=1e-6)
        unit = net(geometry, torch.tensor([[0.0, 1.0, 0.0]] * 2))
        torch.testing.assert_close(unit, net.fields(geometry)[:, 1])
    path = save_checkpoint(tmp_path / "net.pt", net)
    again = rebuild_model(load_checkpoint(path), expected=SuperpositionUNet, source=path).eval()
    with torch.no_grad():
        torch.testing.assert_close(again(geometry, s1), net(geometry, s1))
    with pytest.raises(ValueError, match=r"expected \(B, 3, H, W\)"):
        net(torch.rand(2, 4, 12, 12), s1)
    with pytest.raises(ValueError, match=r"scalars have shape \(2, 2\); expected \(2, 3\)"):
        net(geometry, torch.rand(2, 2))
    with pytest.raises(ValueError, match="positive widths"):
        SuperpositionUNet(n_terms=0)
