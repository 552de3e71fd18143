"""Wall-time budgets, progress logs and background runs for the operator benchmarks.

Every model of ``mt_deeponet.py`` and ``operator_peers.py`` trains under a per-model budget
(:class:`Budget`, 30 minutes on 2 threads by default): :func:`fit_within` times a few
steps, sets the number of epochs so that the whole learning-rate schedule fits in the budget,
and stops at the budget anyway (restoring the best weights) if the estimate was short.
:func:`run_detached` restarts a benchmark in the background (``nice``, own session) with its
output in a log file, which :class:`Progress` fills with one line per epoch.
"""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "Budget",
    "FitResult",
    "Progress",
    "cached_dataset",
    "fit_within",
    "run_detached",
    "timed_rounds",
]

ROOT = Path(__file__).resolve().parent.parent
#: Generated data sets of the operator benchmarks (self-ignored by git).
DATA_CACHE = ROOT / "benchmarks" / ".cache"


def cached_dataset(name: str, make, log=None):
    """The xarray data set ``benchmarks/.cache/<name>.nc``, made by ``make()`` the first time.

    ``name`` must encode every setting of ``make``; ``log`` (optional) gets one line with the
    generation time.
    """
    from sciml.physics.data.storage import load_dataset, save_dataset

    DATA_CACHE.mkdir(parents=True, exist_ok=True)
    ignore = DATA_CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    path = DATA_CACHE / f"{name}.nc"
    if path.exists():
        return load_dataset(path).load()
    start = time.perf_counter()
    ds = make()
    save_dataset(ds, path)
    if log is not None:
        log(f"generated {name} in {time.perf_counter() - start:.1f} s")
    return ds


@dataclass(frozen=True)
class Budget:
    """How long each model may train and on what.

    Attributes
    ----------
    minutes : float
        Wall-time budget per model (training only; data generation and evaluation excluded).
    threads : int
        ``torch.set_num_threads``: the budget is "minutes on this many threads".
    device : str or None
        ``None``: the Trainer's default (CUDA when present).
    precision : str
        The Trainer's ``precision`` (``"bf16"`` for bf16 autocast on a GPU).
    batch_scale : int
        Multiplies every batch size (larger batches on a GPU); learning rates scale by its
        square root.
    """

    minutes: float = 30.0
    threads: int = 2
    device: str | None = None
    precision: str = "auto"
    batch_scale: int = 1

    def __post_init__(self) -> None:
        if not self.minutes > 0:
            raise ValueError(f"the budget must be positive, got {self.minutes} minutes")
        if self.threads < 1 or self.batch_scale < 1:
            raise ValueError("threads and batch_scale must be >= 1")

    @property
    def seconds(self) -> float:
        return 60.0 * self.minutes

    def describe(self) -> str:
        where = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        extra = f", {self.precision}" if self.precision != "auto" else ""
        return f"{self.minutes:g} min per model on {where} ({self.threads} threads{extra})"


class Progress:
    """A Trainer callback that writes one line per epoch (at most every ``every`` seconds).

    Parameters
    ----------
    label : str
        Model name shown on each line.
    log : callable
        Where lines go (``print`` with ``flush=True`` in a background run's log).
    every : float
        Minimum seconds between lines; the last epoch is always shown.
    """

    def __init__(self, label: str, log=print, every: float = 30.0):
        self.label, self.log, self.every = label, log, every
        self.start = time.perf_counter()
        self.last = -math.inf

    def __call__(self, trainer, epoch: int, row: dict) -> None:
        now = time.perf_counter()
        final = epoch + 1 == trainer.config.max_epochs
        if now - self.last < self.every and not final:
            return
        self.last = now
        shown = " ".join(
            f"{k} {row[k]:.4g}" for k in ("train_loss", "val_rel_l2", "lr") if k in row
        )
        self.log(
            f"  {self.label}: epoch {epoch + 1}/{trainer.config.max_epochs} "
            f"{now - self.start:.0f} s {shown}"
        )


@dataclass
class FitResult:
    """A trained model and how its budget was used."""

    trainer: object
    seconds: float
    epochs: int
    planned_epochs: int
    seconds_per_epoch: float
    stopped_by_budget: bool

    @property
    def model(self):
        return self.trainer.raw_model


def _config(budget: Budget, **fields):
    from sciml.train import TrainConfig

    return TrainConfig(
        progress=False,
        weight_decay=0.0,
        warmup=0.02,
        device=budget.device,
        precision=budget.precision,
        **fields,
    )


def fit_within(
    model,
    objective,
    train,
    budget: Budget,
    *,
    max_epochs: int | None = None,
    batch: int = 32,
    lr: float = 1e-3,
    val=None,
    hooks=(),
    weighting=None,
    seed: int = 0,
    label: str = "model",
    log=print,
    probe_batches: int = 3,
) -> FitResult:
    """Train ``model`` with :class:`~sciml.train.Trainer` in at most ``budget.minutes``.

    A copy of the model first trains two epochs on ``probe_batches`` batches; the second
    epoch's time gives the seconds per step, hence the epochs that fit the budget (at most
    ``max_epochs``), so the cosine schedule runs to its end. The run also stops at the
    budget (``TrainConfig.max_minutes``) and keeps its best weights if the estimate was
    short. Returns the trainer with the model's best weights and the times.
    """
    from sciml.train import StaticWeighting, TimeBudgetReached, Trainer
    from sciml.train.checkpoint import load_checkpoint

    batch = batch * budget.batch_scale
    lr = lr * math.sqrt(budget.batch_scale)
    weighting = StaticWeighting(weighting) if isinstance(weighting, dict) else weighting
    # A POD trunk fits its basis on the probe's fields: it needs at least p of them.
    pod_fields = model.p + 1 if getattr(model, "trunk", "mlp") == "pod" else 0
    n_probe = min(len(train), max(probe_batches * batch, pod_fields))
    probe_data = train.subset(np.arange(n_probe))
    probe = Trainer(
        copy.deepcopy(model),
        copy.deepcopy(objective),
        _config(budget, max_epochs=2, batch_size=batch, lr=lr, seed=seed),
        extra_losses=list(hooks),
        weighting=copy.deepcopy(weighting),
    )
    history = probe.fit(probe_data)
    steps_probe = math.ceil(n_probe / batch)
    per_step = float(history["seconds"].iloc[-1]) / steps_probe
    steps = math.ceil(len(train) / batch)
    per_epoch = per_step * steps
    if val is not None:
        per_epoch *= 1.0 + len(val) / (3.0 * len(train))  # evaluation: a forward pass only
    fits = max(1, int(0.9 * budget.seconds / max(per_epoch, 1e-9)))
    epochs = fits if max_epochs is None else min(max_epochs, fits)
    with tempfile.TemporaryDirectory(prefix="sciml-budget-") as tmp:
        cfg = _config(
            budget,
            max_epochs=epochs,
            batch_size=batch,
            lr=lr,
            seed=seed,
            monitor="val_rel_l2" if val is not None else None,
            checkpoint_dir=tmp,
            max_minutes=1.02 * budget.minutes,
        )
        trainer = Trainer(
            model,
            objective,
            cfg,
            extra_losses=list(hooks),
            weighting=weighting,
            callbacks=[Progress(label, log)],
        )
        start = time.perf_counter()
        stopped = False
        try:
            trainer.fit(train, val)
        except TimeBudgetReached:
            stopped = True
            trainer.raw_model.load_state_dict(
                load_checkpoint(Path(tmp) / "best.pt", map_location="cpu")["state_dict"]
            )
        seconds = time.perf_counter() - start
    done = len(trainer.history)
    log(
        f"  {label}: {done} of {epochs} planned epochs in {seconds:.0f} s "
        f"(probe {per_epoch:.2f} s/epoch){' - stopped at the budget' if stopped else ''}"
    )
    return FitResult(trainer, seconds, done, epochs, per_epoch, stopped)


def timed_rounds(step_round, budget_s: float, *, first: int = 10, log=None, label: str = ""):
    """Call ``step_round(k)`` (k iterations) until ``budget_s`` is used; return iterations.

    For libraries with their own training loop (DeepXDE's ``Model.train``): a first round
    of ``first`` iterations measures the speed, then rounds of about a tenth of the budget
    follow until the next round would overrun it.
    """
    start = time.perf_counter()
    step_round(first)
    done = first
    per_iter = (time.perf_counter() - start) / first
    while True:
        left = budget_s - (time.perf_counter() - start)
        k = int(min(left, budget_s / 10) / max(per_iter, 1e-9))
        if k < 1:
            break
        t0 = time.perf_counter()
        step_round(k)
        done += k
        per_iter = (time.perf_counter() - t0) / k
        if log is not None:
            log(f"  {label}: {done} iterations {time.perf_counter() - start:.0f} s")
    return done, time.perf_counter() - start


def run_detached(argv: list[str], log_path: str | os.PathLike) -> int:
    """Start ``python <argv>`` in the background (niced, new session), output to ``log_path``.

    Returns the process id; the run survives the shell that started it.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    cmd = [sys.executable, "-u", *argv]
    if hasattr(os, "nice"):
        cmd = ["nice", "-n", "10", *cmd]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    handle.close()
    return proc.pid
