import numpy as np
import pytest
import torch

from sciml.train import ArrayDataset, MultiTaskRegression, RegressionMLP, TrainConfig, Trainer
from sciml.train.device import autocast


def _data(n=256):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]])).astype(np.float32)
    return ArrayDataset(x=x, y=y)


def test_bf16_autocast_trains_on_cpu_with_fp32_weights_and_outputs():
    torch.manual_seed(0)
    model = RegressionMLP(4, 1, hidden=(32,))
    trainer = Trainer(
        model,
        MultiTaskRegression(["y"]),
        TrainConfig(
            max_epochs=15, batch_size=32, lr=3e-3, precision="bf16", device="cpu", progress=False
        ),
    )
    history = trainer.fit(_data())
    assert history["train_loss"].iloc[-1] < 0.2 * history["train_loss"].iloc[0]
    assert all(p.dtype == torch.float32 for p in model.parameters())
    pred = trainer.predict(_data(16))["pred"]
    assert np.asarray(pred).dtype in (np.float32, np.float64)
    with autocast(torch.device("cpu"), precision="bf16"):
        assert torch.nn.Linear(4, 2)(torch.ones(1, 4)).dtype == torch.bfloat16


def test_auto_is_fp32_on_cpu_and_bad_precision_is_named():
    with autocast(torch.device("cpu")):
        assert torch.nn.Linear(4, 2)(torch.ones(1, 4)).dtype == torch.float32
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(precision="fp16")


def test_cpu_has_fast_bf16_is_a_bool_and_false_without_onednn(monkeypatch):
    import torch

    from sciml.train.device import cpu_has_fast_bf16

    assert isinstance(cpu_has_fast_bf16(), bool)

    class NoOneDNN:
        def _is_mkldnn_bf16_supported(self):
            raise RuntimeError("oneDNN is not available")

    monkeypatch.setattr(torch.ops, "mkldnn", NoOneDNN())
    assert cpu_has_fast_bf16() is False
