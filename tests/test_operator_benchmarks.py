"""The operator benchmark harness: budgets, background runs, peers, GPU script (issue 13)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import _budget, gpu_operators  # noqa: E402
from benchmarks._machine import HEADER_ROWS  # noqa: E402
from sciml.physics.operator.data import OperatorDataset  # noqa: E402
from sciml.physics.operator.networks import DeepONet, MaskedFieldLoss  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def fast_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_FAST", "1")
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _data(n=64):
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 16)[:, None]
    a = rng.random((n, 4))
    y = a[:, :1, None] * np.sin(np.pi * x)[None] + a[:, 1:2, None]
    return OperatorDataset(x, y, a)


def _model():
    torch.manual_seed(0)
    return DeepONet(4, 1, p=8, branch_hidden=(16,), trunk_hidden=(16,))


def test_budget_checks_and_describes_itself():
    assert _budget.Budget().cpu_minutes is None and _budget.Budget().threads == 2
    assert (
        "0.5 CPU-min per model on cpu (1 threads, bf16)"
        in _budget.Budget(0.5, 1, "cpu", "bf16").describe()
    )
    assert "the stated epochs per model on cpu" in _budget.Budget(None, 1, "cpu").describe()
    assert _budget.Budget(0.5).cpu_seconds == 30 and _budget.Budget().cpu_seconds is None
    with pytest.raises(ValueError, match="budget must be positive"):
        _budget.Budget(0)
    with pytest.raises(ValueError, match="threads and batch_scale"):
        _budget.Budget(1, threads=0)


def test_fit_within_sizes_the_epochs_to_the_cpu_budget():
    data, lines = _data(), []
    budget = _budget.Budget(cpu_minutes=0.02, threads=1, device="cpu")  # 1.2 CPU-s
    start = time.perf_counter()
    result = _budget.fit_within(
        _model(), MaskedFieldLoss("mse"), data, budget, batch=16, label="tiny", log=lines.append
    )
    assert time.perf_counter() - start < 30  # probe + run; generous for a loaded machine
    assert result.cpu_seconds < 2 * budget.cpu_seconds + 0.5
    assert 1 <= result.epochs <= result.planned_epochs
    assert result.epochs == len(result.trainer.history)
    assert any(line.startswith("  tiny: epoch 1/") for line in lines)
    assert "planned epochs in" in lines[-1] and "CPU-s" in lines[-1]
    # the epoch cap wins when it comes first; the cosine schedule then runs to its end
    capped = _budget.fit_within(
        _model(), MaskedFieldLoss("mse"), data, budget, batch=16, max_epochs=2, log=lines.append
    )
    assert (capped.epochs, capped.planned_epochs, capped.stopped_by_budget) == (2, 2, False)
    assert capped.trainer.history[-1]["lr"] == 0.0


def test_fit_within_without_a_budget_trains_exactly_the_epochs(monkeypatch):
    # No time budget: the stated epochs run whatever the clocks say; a wall clock that
    # jumps an hour per call (a loaded machine) changes nothing.
    clock = iter(range(0, 10**7, 3600))
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(clock)))
    budget = _budget.Budget(None, threads=1, device="cpu")
    result = _budget.fit_within(
        _model(), MaskedFieldLoss("mse"), _data(), budget, batch=16, max_epochs=7, log=print
    )
    assert (result.epochs, result.planned_epochs, result.stopped_by_budget) == (7, 7, False)
    assert np.isnan(result.seconds_per_epoch) and result.trainer.history[-1]["lr"] == 0.0
    with pytest.raises(ValueError, match="no CPU budget and no max_epochs"):
        _budget.fit_within(_model(), MaskedFieldLoss("mse"), _data(), budget, log=print)


def test_fit_within_cpu_budget_ignores_wall_time_without_cpu(monkeypatch):
    # Epochs that sleep (wall time, no CPU) do not use up a CPU budget: all planned run.
    budget = _budget.Budget(cpu_minutes=0.05, threads=1, device="cpu")  # 3 CPU-s
    result = _budget.fit_within(
        _model(),
        MaskedFieldLoss("mse"),
        _data(),
        budget,
        batch=16,
        max_epochs=6,
        log=lambda _: None,
        hooks=[_Sleep(0.1)],
    )
    assert (result.epochs, result.stopped_by_budget) == (6, False)
    assert result.seconds > 6 * 4 * 0.1 * 0.9 and result.cpu_seconds < result.seconds / 2


class _Sleep:
    """An extra loss term of zero that sleeps ``seconds`` per step (wall time, no CPU)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __call__(self, model, batch, outputs):
        time.sleep(self.seconds)
        return {}


def test_fit_within_stops_at_the_cpu_budget_when_the_probe_was_optimistic(monkeypatch):
    monkeypatch.setattr(_budget, "_config", _slow_config(_budget._config))
    budget = _budget.Budget(cpu_minutes=0.01, threads=1, device="cpu")
    result = _budget.fit_within(
        _model(),
        MaskedFieldLoss("mse"),
        _data(),
        budget,
        batch=16,
        max_epochs=10_000,
        log=lambda _: None,
    )
    assert result.stopped_by_budget and result.epochs < result.planned_epochs
    assert result.cpu_seconds < 4 * budget.cpu_seconds


def _slow_config(make):
    # the probe (2 epochs) says 1000 epochs fit; the real run then overruns and is stopped
    def config(budget, **fields):
        if fields["max_epochs"] == 2:
            return make(budget, **fields)
        return make(budget, **{**fields, "max_epochs": 10_000})

    return config


def _spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_timed_rounds_fill_the_cpu_budget_not_the_wall_time():
    calls = []

    def rounds(k):  # each iteration: 2 ms of CPU and 2 ms of sleep
        calls.append(k)
        _spin(0.002 * k)
        time.sleep(0.002 * k)

    done, wall, cpu = _budget.timed_rounds(rounds, 0.3, first=5)
    assert done == sum(calls) and calls[0] == 5
    assert 0.2 < cpu < 0.5 and 60 < done <= 160 and wall > 1.5 * cpu
    calls.clear()
    done, _, _ = _budget.timed_rounds(rounds, iterations=23)
    assert done == 23 == sum(calls)
    with pytest.raises(ValueError, match="exactly one of iterations and cpu_budget_s"):
        _budget.timed_rounds(rounds, 0.3, iterations=3)


def test_run_detached_writes_the_log(tmp_path):
    log = tmp_path / "run.log"
    pid = _budget.run_detached(["-c", "print('hello from the background')"], log)
    assert pid > 0
    for _ in range(100):
        if log.exists() and "hello" in log.read_text():
            break
        time.sleep(0.1)
    assert "hello from the background" in log.read_text()


def test_operator_peers_smoke_writes_both_tables_with_the_header(fast_env):
    pytest.importorskip("neuralop")
    from benchmarks import operator_peers

    out = fast_env / "peers.md"
    operator_peers.main(
        [
            "--cpu-budget-min",
            "0.005",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--n-train",
            "12",
            "--n-test",
            "4",
            "--out",
            str(out),
        ]
    )
    text = out.read_text()
    assert [row for row in HEADER_ROWS if f"| {row}" not in text] == []
    assert "operator_peers.py --cpu-budget-min 0.005" in text
    assert "train CPU-s / wall s" in text and "CPU-min. Every model of a table" in text
    for name in (
        "sciml DeepONet (CNN branch)",
        "neuraloperator FNO",
        "DeepXDE DeepONetCartesianProd",
        "sciml MT-DeepONet",
        "| newell_whitehead |",
        "## Darcy on three geometries",
        "| DeepXDE DeepONetCartesianProd (square only) |",
    ):
        assert name in text
    assert "**12 training / 4 test samples** (a subset of the cached 40/10)" in text
    # a 0.3 s budget leaves the FNO a few epochs: the row and the table say so
    assert "*undertrained*" in text and "Rows marked *undertrained* ran fewer than 10" in text
    assert len(list((fast_env / "cache" / "pde").glob("darcy_fno-*.nc"))) == 1


def test_operator_peers_rejects_bad_options(capsys):
    from benchmarks import operator_peers

    with pytest.raises(SystemExit, match="--sciml-options is not JSON"):
        operator_peers.main(["--sciml-options", "{p: 3}"])
    with pytest.raises(SystemExit):
        operator_peers.main(["--tasks", "heat"])
    assert "invalid choice: 'heat'" in capsys.readouterr().err


def test_mt_deeponet_writes_the_shared_header_and_budget_table(fast_env):
    pytest.importorskip("neuralop")
    from benchmarks import mt_deeponet

    mt_deeponet.main(
        [
            "--only",
            "heat",
            "--cpu-budget-min",
            "0.01",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--out",
            str(fast_env / "mt"),
        ]
    )
    text = (fast_env / "mt" / "mt_deeponet.md").read_text()
    assert [row for row in HEADER_ROWS if f"| {row}" not in text] == []
    assert "mt_deeponet.py --only heat --cpu-budget-min 0.01" in text
    assert "## Budgets and sizes of every trained model" in text
    assert "| heat: MT-DeepONet, 8 designs | 8 |" in text
    assert "0.01 CPU-min per model on cpu (1 threads)" in text
    assert "| train CPU-s | train wall s |" in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a CPU machine")
def test_gpu_script_refuses_without_a_gpu(tmp_path):
    with pytest.raises(SystemExit, match="no CUDA GPU found.*--dry-run"):
        gpu_operators.main(["--out", str(tmp_path / "gpu.md")])
    assert not (tmp_path / "gpu.md").exists()


def test_gpu_plan_uses_bf16_large_batches_and_shares_the_total():
    args = gpu_operators.argparse.Namespace(
        total_min=10.0,
        batch_scale=4,
        data_min=0.0,
        dry_run=False,
        benchmarks=list(gpu_operators.MODELS),
    )
    steps = gpu_operators.plan(args, Path("/tmp/x"))
    assert [s[0] for s in steps] == ["operator_peers", "mt_deeponet"]
    for _, argv, _, _ in steps:
        assert {"--paper", "--precision", "bf16", "--batch-scale", "4", "cuda"} <= set(argv)
        assert argv[argv.index("--cpu-budget-min") + 1] == f"{0.9 * 10 / 41:.4g}"
    assert sum(s[3] for s in steps) < 15 * 60


def test_gpu_script_dry_run_on_the_cpu(fast_env):
    pytest.importorskip("neuralop")
    out = fast_env / "gpu.md"
    gpu_operators.main(
        ["--dry-run", "--benchmarks", "operator_peers", "--total-min", "0.02", "--out", str(out)]
    )
    text = out.read_text()
    assert "on **CPU (dry run)**" in text and "Did not finish" not in text
    assert "## operator_peers (" in text and "### Standard FNO Darcy" in text
    assert [row for row in HEADER_ROWS if f"| {row}" not in text] == []


def test_fno_darcy_on_a_partial_cache_holds_out_the_last_samples(fast_env, monkeypatch):
    from benchmarks import operator_peers
    from sciml.physics.data import cache
    from sciml.physics.problems.darcy import DarcyFNOConfig, cached_darcy_fno

    sizes = dict(operator_peers.SIZES["fast"], fno_train=90, fno_test=10)
    real = cache.run_samples

    def stop_after_the_first_chunk(fn, seed, n, *, start, **kwargs):
        if start > 0:
            raise KeyboardInterrupt
        return real(fn, seed, n, start=start, **kwargs)

    monkeypatch.setattr(cache, "run_samples", stop_after_the_first_chunk)
    with pytest.raises(KeyboardInterrupt):
        cached_darcy_fno(90, 10, DarcyFNOConfig(resolution=41, subsample=2), seed=40)
    train, test, _, _, note = operator_peers.darcy_fno_data(sizes, None, 8, partial=True)
    assert (len(train), len(test)) == (42, 8)
    assert "only the first 50 of the 100 samples" in note and "last 8 of them" in note


def test_mt_deeponet_keeps_every_section_and_states_the_goals(fast_env):
    # Two runs of single sections: the results file holds both, each with its command,
    # and the goals table marks what was not run and what each measured section missed.
    from benchmarks import mt_deeponet

    out = fast_env / "mt"
    mt_deeponet.main(["--only", "dde", "--threads", "1", "--out", str(out)])
    mt_deeponet.main(
        ["--only", "heat", "--threads", "1", "--cpu-budget-min", "0.01", "--out", str(out)]
    )
    text = (out / "mt_deeponet.md").read_text()
    assert "## PINN residual speed" in text and "## 3-D heat: predict 8 unseen" in text
    assert "`SCIML_FAST=1 python benchmarks/mt_deeponet.py --only dde" in text
    assert "`SCIML_FAST=1 python benchmarks/mt_deeponet.py --only heat" in text
    goals = text.split("## Goals (issue 13)")[1].split("\n## ")[0]
    assert "| Fisher-KPP, each family (worst family) | <= 1.50% | not run |" in goals
    heat_row = next(line for line in goals.splitlines() if line.startswith("| 3-D heat"))
    assert "missed by" in heat_row or "**met**" in heat_row
    assert "| heat: MT-DeepONet, 8 designs | 8 |" in text  # the budget table
    # a second results folder does not see these sections
    other = fast_env / "other"
    mt_deeponet.main(["--only", "dde", "--threads", "1", "--out", str(other)])
    assert "## 3-D heat" not in (other / "mt_deeponet.md").read_text()


def test_mt_deeponet_rejects_an_unknown_section():
    from benchmarks import mt_deeponet

    with pytest.raises(SystemExit):
        mt_deeponet.main(["--only", "darcyy"])


def test_mt_deeponet_default_epochs_are_those_of_the_recorded_run():
    # The pinned epochs reproduce the recorded results: each matches the budget table.
    from benchmarks import mt_deeponet

    records = mt_deeponet.records_from_results(ROOT / "benchmarks" / "results" / "mt_deeponet.md")
    ran = {r["label"]: r["epochs"] for rec in records.values() for r in rec["runs"]}
    s = mt_deeponet.SCALES["default"]
    assert ran["fisher: MT-DeepONet"] == s["fisher_mt_epochs"]
    assert ran["darcy: MT POD-DeepONet"] == s["darcy_pod_epochs"]
    assert ran["darcy: MT distance + Fourier"] == s["darcy_dist_epochs"]
    assert ran["zero_shot: MT distance + Fourier on random polygons"] == s["zero_epochs_run"]
    assert ran["heat: MT-DeepONet, 200 designs"] == s["heat_train_epochs"]
    fno = "\n".join(records["fno"]["md"])
    pins = s["fno_pins"]
    assert f"| {pins['sciml']} |" in fno and f"| {pins['fno']} *undertrained* |" in fno
    assert f"| {pins['deepxde']} iterations" in fno


def test_mt_deeponet_takes_over_sections_from_an_existing_results_file(tmp_path):
    # A checkout without the section store: the sections come back from the results file,
    # so --only SECTION replaces one section and keeps the others as they were.
    from benchmarks import mt_deeponet

    source = ROOT / "benchmarks" / "results" / "mt_deeponet.md"
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mt_deeponet.md").write_text(source.read_text())
    store = tmp_path / "store"
    store.mkdir()
    assert mt_deeponet.seed_store(tmp_path / "out", store) == list(mt_deeponet.SECTIONS)
    assert mt_deeponet.seed_store(tmp_path / "out", store) == []  # kept, not overwritten
    text = mt_deeponet.assemble(tmp_path / "out", store, "default").read_text()
    old = source.read_text()
    for heading in ("## Goals", "## Fisher-KPP", "## Speed:"):
        part = old[old.index(heading) :].split("\n## ")[0]
        assert part in text
    speed = old[old.index("## Speed:") :].split("\n## ")[0]
    assert text.count(speed) == 1
    row = next(line for line in old.splitlines() if line.startswith("| darcy: MT POD-DeepONet |"))
    assert row.startswith("| darcy: MT POD-DeepONet | 1800 | 1,756,961 | 184 / ") and row in text
    assert "10 min per model on cpu (1 threads) (wall time) |" in text


def test_operator_peers_pins_epochs_per_task_and_model():
    from benchmarks import operator_peers

    pins = operator_peers.parse_epochs(["fisher.sciml=258", "fisher.deepxde=5513"])
    assert pins == {"fisher": {"sciml": 258, "deepxde": 5513}}
    budget = _budget.Budget(5.0, 1, "cpu")
    assert operator_peers.pinned(budget, pins["fisher"], "sciml", 99) == (
        _budget.Budget(None, 1, "cpu"),
        258,
    )
    assert operator_peers.pinned(budget, pins["fisher"], "fno", 99) == (budget, 99)
    for bad in ("fisher.heat=3", "darcy.sciml=3", "fisher.sciml=x", "fisher.sciml=0"):
        with pytest.raises(SystemExit, match="--epochs"):
            operator_peers.parse_epochs([bad])


def test_fno_darcy_unet_smoke_writes_its_goal_row_and_record(fast_env):
    import importlib
    import json

    script = importlib.import_module("benchmarks.fno_darcy_unet")
    out = fast_env / "fno_darcy_unet.md"
    assert script.main(["--workdir", str(fast_env / "w"), "--out", str(out), "--epochs", "2"]) == 0
    text = out.read_text()
    assert "| FNO Darcy 421 -> 85, best sciml model at <= 30 CPU-min | 3.81%" in text
    assert "| command |" in text and "validation samples" in text
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["epochs_run"] == 2 and record["data"]["train"] + record["data"]["val"] == 40
    assert 0 < record["test_rel_l2_mean"] <= record["test_rel_l2_worst"]


def test_heat_unet_checks_z_independence_and_writes_its_goal_row(fast_env):
    import importlib
    import json

    import xarray as xr

    script = importlib.import_module("benchmarks.heat_unet")
    out = fast_env / "heat_unet.md"
    assert script.main(["--out", str(out), "--epochs", "2"]) == 0
    assert "| 3-D heat, unseen designs | 25.01%" in out.read_text()
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["designs"] == {"train": 16, "test": 8, "shape": [16, 16, 4]}
    ds = xr.Dataset(
        {
            "mask": (("sample", "x", "y", "z"), np.ones((1, 4, 4, 2), bool)),
            "T": (("sample", "x", "y", "z"), np.arange(32.0).reshape(1, 4, 4, 2)),
        }
    )
    with pytest.raises(ValueError, match="varies over z"):
        script.arrays(ds)


def test_operator_any_shape_levers_rewrites_only_the_lever_rows(tmp_path):
    import importlib

    sys.path.insert(0, str(ROOT / "benchmarks"))
    script = importlib.import_module("operator_any_shape")
    out = tmp_path / "goals.md"
    out.write_text(
        "| goal | now | target | verdict |\n"
        "| 3-D heat, unseen designs | old | <= 5% | missed |\n"
        "| FNO Darcy 421 -> 85, best sciml model at <= 30 CPU-min | old | <= 2% | missed |\n"
        "| something else | kept | - | - |\n"
    )
    script.refresh_levers(out)
    lines = out.read_text().splitlines()
    assert lines[0] == "| goal | now | target | verdict |" and lines[3].startswith(
        "| something else"
    )
    for line, stem in zip(lines[1:3], ("heat_unet", "fno_darcy_unet"), strict=True):
        assert "old" not in line and f"`{stem}.md`" in line
        assert line.endswith(("| met |", "| missed |"))
