import numpy as np
import pandas as pd
import pytest
import torch

from sciml.train import (
    ArrayDataset,
    HLGauss,
    MultiTaskRegression,
    NonFiniteLossError,
    RegressionMLP,
    StaticWeighting,
    TrainConfig,
    Trainer,
    UncertaintyWeighting,
)
from sciml.train.synthetic import make_multitask_regression

TASKS = ["milli", "unit", "kilo"]


def _data(n=700, seed=0):
    x, y, clean = make_multitask_regression(n, missing=0.4, scales=(1e-3, 1.0, 1e3), seed=seed)
    split = int(0.8 * n)
    return (
        ArrayDataset(x=x[:split], y=y[:split]),
        ArrayDataset(x=x[split:], y=y[split:]),
        x[split:],
        clean[split:],
    )


def _relative_rmse(pred, clean):
    return np.sqrt(np.mean((pred - clean) ** 2, axis=0)) / clean.std(axis=0)


def test_sparse_multitask_on_wildly_different_scales_learns_every_task(tmp_path):
    train, val, x_test, clean = _data()
    assert np.isnan(train.arrays["y"].numpy()).mean() == pytest.approx(0.4, abs=0.03)
    torch.manual_seed(0)
    model = RegressionMLP(x_test.shape[1], 3, hidden=(64, 64))
    config = TrainConfig(
        max_epochs=60,
        batch_size=32,
        lr=3e-3,
        progress=False,
        patience=20,
        history_csv=str(tmp_path / "history.csv"),
    )
    trainer = Trainer(model, MultiTaskRegression(TASKS), config)
    history = trainer.fit(train, val)
    pred = trainer.predict(ArrayDataset(x=x_test, y=clean))["pred"]
    # Broken masking (NaN leaking) gives NaN; missing normalisation lets the 1e3 task
    # swamp the loss so the 1e-3 task is not learnt (relative RMSE near 1).
    assert np.all(_relative_rmse(pred, clean) < 0.3), _relative_rmse(pred, clean)
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0] / 5
    saved = pd.read_csv(tmp_path / "history.csv")
    assert len(saved) == len(history) and "val_r2" in saved


def test_hl_gauss_head_trains_through_the_same_trainer():
    train, val, x_test, clean = _data()
    torch.manual_seed(0)  # the initial weights: independent of the tests that ran before
    model = RegressionMLP(x_test.shape[1], 3, hidden=(64, 64), n_bins=101)
    trainer = Trainer(
        model,
        MultiTaskRegression(TASKS, loss=HLGauss(101, -6, 10)),
        TrainConfig(max_epochs=60, batch_size=32, lr=3e-3, progress=False, patience=20),
    )
    trainer.fit(train, val)
    out = trainer.predict(ArrayDataset(x=x_test, y=clean))
    assert out["pred"].shape == out["var"].shape == clean.shape
    assert (out["var"] > 0).all()
    assert np.all(_relative_rmse(out["pred"], clean) < 0.5), _relative_rmse(out["pred"], clean)


def _fit(train, val, tmp_path, epochs, resume=None, callbacks=()):
    torch.manual_seed(123)
    model = RegressionMLP(8, 3, hidden=(16,), dropout=0.1)
    config = TrainConfig(
        max_epochs=epochs,
        batch_size=64,
        lr=1e-2,
        progress=False,
        seed=7,
        checkpoint_dir=str(tmp_path),
    )
    trainer = Trainer(
        model,
        MultiTaskRegression(TASKS),
        config,
        weighting=UncertaintyWeighting(TASKS),
        callbacks=callbacks,
    )
    history = trainer.fit(train, val, resume=resume)
    return trainer, history


class _Killed(Exception):
    pass


def test_killed_run_resumes_exactly(tmp_path):
    train, val, _, _ = _data(300)
    full, full_history = _fit(train, val, tmp_path / "full", epochs=6)

    def kill_after_epoch_2(trainer, epoch, row):
        if epoch == 2:
            raise _Killed

    with pytest.raises(_Killed):
        _fit(train, val, tmp_path / "cut", epochs=6, callbacks=[kill_after_epoch_2])
    resumed, history = _fit(
        train, val, tmp_path / "cut", epochs=6, resume=tmp_path / "cut" / "last.pt"
    )
    assert len(history) == 6 and history["epoch"].tolist() == list(range(6))
    for a, b in zip(
        full.raw_model.state_dict().values(), resumed.raw_model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    assert np.allclose(history["train_loss"], full_history["train_loss"])
    assert torch.equal(full.weighting.log_vars, resumed.weighting.log_vars)


def test_non_finite_loss_names_epoch_and_batch_and_keeps_last_checkpoint(tmp_path):
    train, val, _, _ = _data(200)

    def poison(model, batch, outputs):
        step = poison.calls = getattr(poison, "calls", 0) + 1
        return {"poison": torch.tensor(float("nan")) if step == 5 else torch.tensor(0.0)}

    config = TrainConfig(max_epochs=5, batch_size=64, progress=False, checkpoint_dir=str(tmp_path))
    trainer = Trainer(
        RegressionMLP(8, 3, hidden=(8,)), MultiTaskRegression(TASKS), config, extra_losses=[poison]
    )
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, batch 1"):
        trainer.fit(train, val)
    assert (tmp_path / "last.pt").is_file()


def test_early_stopping_restores_the_best_weights():
    train, val, _, _ = _data(200)
    config = TrainConfig(
        max_epochs=50, batch_size=16, lr=5e-2, progress=False, patience=3, warmup=0
    )
    trainer = Trainer(RegressionMLP(8, 3, hidden=(256, 256)), MultiTaskRegression(TASKS), config)
    history = trainer.fit(train, val)
    best = history["val_loss"].min()
    assert trainer.evaluate(val)["loss"] == pytest.approx(best, rel=1e-5)
    assert trainer.best == {
        "value": pytest.approx(best),
        "epoch": int(history["val_loss"].idxmin()),
    }
    if len(history) < 50:
        assert history["val_loss"].idxmin() == len(history) - 4


def test_extra_loss_terms_are_weighted_and_logged():
    train, _, _, _ = _data(100)
    config = TrainConfig(max_epochs=1, batch_size=100, progress=False)
    trainer = Trainer(
        RegressionMLP(8, 3, hidden=(8,)),
        MultiTaskRegression(TASKS),
        config,
        weighting=StaticWeighting({"residual": 0.0}),
        extra_losses=[lambda m, b, o: {"residual": o.pow(2).mean() + 1e6}],
    )
    history = trainer.fit(train)
    assert history["train_residual"].iloc[0] > 1e6
    assert history["train_loss"].iloc[0] < 100  # weighted by zero


def test_empty_data_and_all_nan_task_get_clear_errors():
    x = np.zeros((0, 8), dtype=np.float32)
    trainer = Trainer(
        RegressionMLP(8, 1, hidden=(4,)),
        MultiTaskRegression(["a"]),
        TrainConfig(max_epochs=1, progress=False),
    )
    with pytest.raises(ValueError, match="empty"):
        trainer.fit(ArrayDataset(x=x, y=np.zeros((0, 1))))
    y = np.c_[np.ones(10), np.full(10, np.nan)]
    trainer = Trainer(
        RegressionMLP(8, 2, hidden=(4,)),
        MultiTaskRegression(["ok", "ghost"]),
        TrainConfig(max_epochs=1, progress=False),
    )
    with pytest.raises(ValueError, match="ghost"):
        trainer.fit(ArrayDataset(x=np.zeros((10, 8), dtype=np.float32), y=y))


def test_wrong_input_shape_names_expected_form():
    trainer = Trainer(
        RegressionMLP(8, 1, hidden=(4,)),
        MultiTaskRegression(["a"]),
        TrainConfig(max_epochs=1, progress=False),
    )
    with pytest.raises(ValueError, match=r"expected \(B, 8\)"):
        trainer.fit(ArrayDataset(x=np.zeros((10, 5), dtype=np.float32), y=np.ones((10, 1))))
