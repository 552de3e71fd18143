"""Epoch and CPU-time budgets, progress logs and background runs for the operator benchmarks.

Every model of ``mt_deeponet.py`` and ``operator_peers.py`` trains for a stated number of
epochs, or under a per-model budget in CPU time of this process (:class:`Budget`:
``time.process_time``, every thread of the process, nothing of other processes), so that a
rerun on a loaded machine trains the same model. With a CPU budget, :func:`fit_within`
times a few steps in CPU seconds, sets the number of epochs so that the whole learning-rate
schedule fits in the budget, and stops at the budget anyway (restoring the best weights) if
the estimate was short. Wall time is measured and reported next to CPU time, never used to
stop.
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
    cpu_minutes : float or None
        CPU-time budget per model (this process's CPU time over all its threads; training
        only: data generation and evaluation excluded). ``None``: no time budget, every
        model trains exactly the epochs its caller states.
    threads : int
        ``torch.set_num_threads``.
    device : str or None
        ``None``: the Trainer's default (CUDA when present).
    precision : str
        The Trainer's ``precision`` (``"bf16"`` for bf16 autocast on a GPU).
    batch_scale : int
        Multiplies every batch size (larger batches on a GPU); learning rates scale by its
        square root.
    """

    cpu_minutes: float | None = None
    threads: int = 2
    device: str | None = None
    precision: str = "auto"
    batch_scale: int = 1

    def __post_init__(self) -> None:
        if self.cpu_minutes is not None and not self.cpu_minutes > 0:
            raise ValueError(f"the budget must be positive, got {self.cpu_minutes} CPU minutes")
        if self.threads < 1 or self.batch_scale < 1:
            raise ValueError("threads and batch_scale must be >= 1")

    @property
    def cpu_seconds(self) -> float | None:
        """The budget in CPU seconds (``None`` without one)."""
        return None if self.cpu_minutes is None else 60.0 * self.cpu_minutes

    def describe(self) -> str:
        where = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        extra = f", {self.precision}" if self.precision != "auto" else ""
        what = (
            "the stated epochs per model"
            if self.cpu_minutes is None
            else f"{self.cpu_minutes:g} CPU-min per model"
        )
        return f"{what} on {where} ({self.threads} threads{extra})"


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
        self.start, self.start_cpu = time.perf_counter(), time.process_time()
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
            f"{now - self.start:.0f} s ({time.process_time() - self.start_cpu:.0f} CPU-s) {shown}"
        )


@dataclass
class FitResult:
    """A trained model and how its budget was used.

    ``seconds`` is wall time, ``cpu_seconds`` this process's CPU time of the training run;
    ``seconds_per_epoch`` is the CPU-second estimate of the probe (NaN without a budget).
    """

    trainer: object
    seconds: float
    cpu_seconds: float
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
    """Train ``model`` with :class:`~sciml.train.Trainer` for ``max_epochs`` or the CPU budget.

    Without a CPU budget (``budget.cpu_minutes is None``) the model trains exactly
    ``max_epochs`` epochs. With one, a copy of the model first trains two epochs on
    ``probe_batches`` batches; the second epoch's CPU time gives the CPU seconds per step,
    hence the epochs that fit the budget (at most ``max_epochs``), so the cosine schedule
    runs to its end. The run also stops at the budget (``TrainConfig.max_cpu_minutes``)
    and keeps its best weights if the estimate was short. Returns the trainer with the
    model's best weights, and its wall and CPU times.

    Raises
    ------
    ValueError
        Neither a CPU budget nor ``max_epochs``: nothing says when to stop.
    """
    from sciml.train import StaticWeighting, Trainer

    if budget.cpu_minutes is None and max_epochs is None:
        raise ValueError(
            f"{label}: no CPU budget and no max_epochs; give the epochs to train or a budget"
        )
    batch = batch * budget.batch_scale
    lr = lr * math.sqrt(budget.batch_scale)
    weighting = StaticWeighting(weighting) if isinstance(weighting, dict) else weighting
    if budget.cpu_minutes is None:
        epochs, per_epoch = int(max_epochs), math.nan
    else:
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
        per_step = float(history["cpu_seconds"].iloc[-1]) / steps_probe
        steps = math.ceil(len(train) / batch)
        per_epoch = per_step * steps
        if val is not None:
            per_epoch *= 1.0 + len(val) / (3.0 * len(train))  # evaluation: a forward pass only
        fits = max(1, int(0.9 * budget.cpu_seconds / max(per_epoch, 1e-9)))
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
            max_cpu_minutes=None if budget.cpu_minutes is None else 1.02 * budget.cpu_minutes,
            on_budget="stop",
        )
        trainer = Trainer(
            model,
            objective,
            cfg,
            extra_losses=list(hooks),
            weighting=weighting,
            callbacks=[Progress(label, log)],
        )
        start, start_cpu = time.perf_counter(), time.process_time()
        trainer.fit(train, val)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
    stopped = bool(trainer.stopped_by_budget)
    done = len(trainer.history)
    probe_note = "" if math.isnan(per_epoch) else f" (probe {per_epoch:.2f} CPU-s/epoch)"
    log(
        f"  {label}: {done} of {epochs} planned epochs in {cpu_seconds:.0f} CPU-s, "
        f"{seconds:.0f} s wall{probe_note}{' - stopped at the CPU budget' if stopped else ''}"
    )
    return FitResult(trainer, seconds, cpu_seconds, done, epochs, per_epoch, stopped)


def timed_rounds(
    step_round,
    cpu_budget_s: float | None = None,
    *,
    iterations: int | None = None,
    first: int = 10,
    log=None,
    label: str = "",
):
    """Call ``step_round(k)`` (k iterations) for ``iterations`` or until ``cpu_budget_s``.

    For libraries with their own training loop (DeepXDE's ``Model.train``). With
    ``iterations``, exactly that many run (in rounds of about a tenth, for the log). With a
    CPU budget (this process's CPU seconds), a first round of ``first`` iterations
    measures the CPU per iteration, then rounds of about a tenth of the budget follow until
    the next round would overrun it. Returns ``(iterations, wall seconds, CPU seconds)``.
    """
    if (iterations is None) == (cpu_budget_s is None):
        raise ValueError("give exactly one of iterations and cpu_budget_s")
    start, start_cpu = time.perf_counter(), time.process_time()

    def cpu() -> float:
        return time.process_time() - start_cpu

    if iterations is not None:
        done, size = 0, max(1, int(iterations) // 10)
        while done < iterations:
            k = min(size, iterations - done)
            step_round(k)
            done += k
            if log is not None:
                log(f"  {label}: {done}/{iterations} iterations {cpu():.0f} CPU-s")
        return done, time.perf_counter() - start, cpu()
    step_round(first)
    done = first
    per_iter = cpu() / first
    while True:
        left = cpu_budget_s - cpu()
        k = int(min(left, cpu_budget_s / 10) / max(per_iter, 1e-9))
        if k < 1:
            break
        t0 = time.process_time()
        step_round(k)
        done += k
        per_iter = (time.process_time() - t0) / k
        if log is not None:
            log(f"  {label}: {done} iterations {cpu():.0f} CPU-s")
    return done, time.perf_counter() - start, cpu()


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
