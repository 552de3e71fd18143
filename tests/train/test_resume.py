"""Time budgets, early-stopped and mismatched resumes, and the Checkpoints plan."""

import numpy as np
import pytest
import torch

from sciml.train import (
    ArrayDataset,
    Checkpoints,
    MultiTaskRegression,
    RegressionMLP,
    TimeBudgetReached,
    TrainConfig,
    Trainer,
)
from sciml.train.synthetic import make_multitask_regression

TASKS = ["milli", "unit", "kilo"]


def _data(n=200):
    x, y, _ = make_multitask_regression(n, missing=0.4, seed=0)
    return ArrayDataset(x=x[:150], y=y[:150]), ArrayDataset(x=x[150:], y=y[150:])


def _trainer(folder, **changes):
    torch.manual_seed(0)
    settings = {"max_epochs": 5, "batch_size": 32, "lr": 1e-2, **changes}
    config = TrainConfig(progress=False, checkpoint_dir=str(folder), **settings)
    return Trainer(RegressionMLP(8, 3, hidden=(16,)), MultiTaskRegression(TASKS), config)


def test_time_budget_stops_after_an_epoch_and_resume_finishes_identically(tmp_path):
    train, val = _data()
    full = _trainer(tmp_path / "full")
    full.fit(train, val)

    cut = _trainer(tmp_path / "cut", max_minutes=1e-9)
    with pytest.raises(TimeBudgetReached, match=r"after epoch 1 of 5") as info:
        cut.fit(train, val)
    assert info.value.checkpoint == tmp_path / "cut" / "last.pt"
    assert info.value.checkpoint.is_file()

    resumed = _trainer(tmp_path / "cut")  # the budget may change on resume
    history = resumed.fit(train, val, resume=info.value.checkpoint)
    assert history["epoch"].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(resumed.predict(val)["pred"], full.predict(val)["pred"])


def test_time_budget_needs_a_checkpoint_dir():
    train, val = _data()
    trainer = Trainer(
        RegressionMLP(8, 3),
        MultiTaskRegression(TASKS),
        TrainConfig(max_epochs=2, progress=False, max_minutes=1.0),
    )
    with pytest.raises(ValueError, match="max_minutes needs a checkpoint_dir"):
        trainer.fit(train, val)
    with pytest.raises(ValueError, match="max_minutes must be > 0"):
        TrainConfig(max_minutes=0)


def test_resuming_an_early_stopped_run_trains_no_further(tmp_path):
    train, val = _data()
    stopped = _trainer(tmp_path, max_epochs=40, patience=1, lr=0.2, warmup=0)
    first = stopped.fit(train, val)
    assert len(first) < 40  # it did stop early
    again = _trainer(tmp_path, max_epochs=40, patience=1, lr=0.2, warmup=0)
    history = again.fit(train, val, resume=tmp_path / "last.pt")
    assert len(history) == len(first)
    np.testing.assert_array_equal(again.predict(val)["pred"], stopped.predict(val)["pred"])


def test_resume_with_other_settings_is_refused(tmp_path):
    train, val = _data()
    _trainer(tmp_path, max_epochs=2).fit(train, val)
    other = _trainer(tmp_path, max_epochs=3, lr=1e-3)
    with pytest.raises(ValueError, match=r"max_epochs=2 there, 3 here; lr=0.01 there, 0.001 here"):
        other.fit(train, val, resume=tmp_path / "last.pt")


def test_checkpoints_plan_names_run_folders_and_removes_only_its_own_files(tmp_path):
    plan = Checkpoints(tmp_path, resume=True)
    with pytest.raises(FileNotFoundError, match="nothing to resume: .* holds no last.pt"):
        plan.check()
    config, resume = plan.apply(TrainConfig(), "member_1")
    assert config.checkpoint_dir == str(tmp_path / "member_1") and resume is None
    (tmp_path / "member_1").mkdir()
    (tmp_path / "member_1" / "last.pt").write_bytes(b"x")
    (tmp_path / "member_1" / "best.pt").write_bytes(b"x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "last.pt").write_bytes(b"not ours")
    plan.check()
    assert plan.apply(TrainConfig(), "member_1")[1] == tmp_path / "member_1" / "last.pt"
    fresh = Checkpoints(tmp_path)
    assert fresh.apply(TrainConfig(), "member_1")[1] is None  # not resuming
    with pytest.raises(
        ValueError,
        match="holds the checkpoints of an unfinished run: continue "
        "it with --resume, or delete .* to start afresh",
    ):
        fresh.check()
    plan.finish()
    assert not (tmp_path / "member_1").exists()
    assert (tmp_path / "other" / "last.pt").read_bytes() == b"not ours"


def test_budget_plan_gives_each_run_the_time_left():
    plan = Checkpoints.with_budget("ckpt", max_minutes=10)
    config, _ = plan.apply(TrainConfig())
    assert 9.9 < config.max_minutes <= 10
    late = Checkpoints("ckpt", deadline=0.0)  # long past: still one epoch, not none
    assert late.apply(TrainConfig())[0].max_minutes == 1e-6


def test_on_budget_stop_keeps_the_best_weights_and_resumes(tmp_path):
    train, val = _data()
    stopped = _trainer(tmp_path / "stop", max_minutes=1e-9, on_budget="stop")
    history = stopped.fit(train, val)
    assert stopped.stopped_by_budget
    assert history["epoch"].tolist() == [0]
    assert (tmp_path / "stop" / "last.pt").is_file()
    # The same run given more time continues from last.pt and ends like an uncut one.
    full = _trainer(tmp_path / "full")
    full.fit(train, val)
    more = _trainer(tmp_path / "stop")
    assert more.fit(train, val, resume=tmp_path / "stop" / "last.pt")["epoch"].tolist() == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert not more.stopped_by_budget
    np.testing.assert_array_equal(more.predict(val)["pred"], full.predict(val)["pred"])
    with pytest.raises(ValueError, match="on_budget must be 'raise' or 'stop'"):
        TrainConfig(on_budget="pause")


def test_epoch_size_slices_one_permutation_per_pass():
    from sciml.encoder import LengthBucketBatchSampler

    sampler = LengthBucketBatchSampler(np.arange(10) % 4 + 1, batch_size=2, epoch_size=4, seed=3)
    seen = []
    for epoch in range(3):  # ceil(10 / 4) = 3 slices make one pass
        sampler.set_epoch(epoch)
        seen.append(sorted(i for batch in sampler for i in batch))
    assert [len(s) for s in seen] == [4, 4, 2]
    assert sorted(sum(seen, [])) == list(range(10))
    sampler.set_epoch(3)  # the next pass: a new permutation
    assert sorted(i for batch in sampler for i in batch) != seen[0]
    with pytest.raises(ValueError, match="epoch_size must be >= 1"):
        LengthBucketBatchSampler([1, 2], batch_size=1, epoch_size=0)


def test_cpu_budget_counts_cpu_time_not_wall_time(tmp_path, monkeypatch):
    import time

    train, val = _data()
    _trainer(tmp_path / "warm-up").fit(train, val)  # one-off costs out of the way
    # Sleeping costs wall time but no CPU: a 1.5 CPU-s budget lets all 5 epochs run although
    # they take well over 1.5 s of wall time (a loaded machine must train the same epochs).
    slow = _trainer(tmp_path / "sleepy", max_cpu_minutes=1.5 / 60, on_budget="stop")
    slow.callbacks.append(lambda trainer, epoch, row: time.sleep(0.5))
    start = time.perf_counter()
    history = slow.fit(train, val)
    assert time.perf_counter() - start > 2.5
    assert len(history) == 5 and not slow.stopped_by_budget
    assert history["cpu_seconds"].sum() < 1.5 and (history["cpu_seconds"] >= 0).all()
    # CPU time running out does stop it: a fake CPU clock that jumps a minute per call.
    clock = iter(range(0, 10_000, 60))
    monkeypatch.setattr(time, "process_time", lambda: float(next(clock)))
    cut = _trainer(tmp_path / "cut", max_cpu_minutes=1.5)
    with pytest.raises(TimeBudgetReached, match=r"CPU budget of 1.5 CPU-min used up after epoch"):
        cut.fit(train, val)
    assert (tmp_path / "cut" / "last.pt").is_file()
    with pytest.raises(ValueError, match="max_cpu_minutes must be > 0"):
        TrainConfig(max_cpu_minutes=0)
    with pytest.raises(ValueError, match="max_cpu_minutes needs a checkpoint_dir"):
        Trainer(
            RegressionMLP(8, 3),
            MultiTaskRegression(TASKS),
            TrainConfig(max_epochs=2, progress=False, max_cpu_minutes=1.0),
        ).fit(train, val)


def test_budget_plan_gives_each_run_the_cpu_time_left():
    plan = Checkpoints.with_budget("ckpt", max_cpu_minutes=10)
    config, _ = plan.apply(TrainConfig())
    assert 9.9 < config.max_cpu_minutes <= 10 and config.max_minutes is None
    with pytest.raises(ValueError, match="max_cpu_minutes must be > 0"):
        Checkpoints.with_budget("ckpt", max_cpu_minutes=-1)
