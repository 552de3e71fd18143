"""The one multi-output Trainer shared by every sciml model family."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from sciml._io import atomic_write
from sciml.train import distributed
from sciml.train.checkpoint import get_rng_state, load_checkpoint, save_checkpoint, set_rng_state
from sciml.train.device import (
    PRECISIONS,
    autocast,
    default_device,
    move_to_device,
    seed_everything,
)
from sciml.train.losses import Objective
from sciml.train.weighting import EqualWeighting, LossWeighting

__all__ = ["ExtraLoss", "NonFiniteLossError", "TimeBudgetReached", "TrainConfig", "Trainer"]

#: An extra loss hook: ``(model, batch, outputs) -> {name: scalar}``, e.g. a PDE residual.
ExtraLoss = Callable[[nn.Module, dict, object], dict[str, torch.Tensor]]

_MAXIMISE = ("r2", "pearson", "spearman", "auroc", "auprc", "balanced_accuracy")


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class TimeBudgetReached(RuntimeError):
    """Training stopped at ``TrainConfig.max_minutes`` or ``max_cpu_minutes``; ``last.pt`` resumes it.

    Attributes
    ----------
    checkpoint : Path
        The ``last.pt`` to pass as ``resume=``.
    """

    def __init__(self, message: str, checkpoint: Path):
        super().__init__(message)
        self.checkpoint = checkpoint


# Fields a resumed run may change: they do not alter what is computed.
_RESUME_MAY_CHANGE = (
    "progress",
    "checkpoint_dir",
    "history_csv",
    "device",
    "num_workers",
    "max_minutes",
    "max_cpu_minutes",
    "on_budget",
)


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters.

    Attributes
    ----------
    max_epochs : int
        Upper bound on epochs.
    batch_size : int
        Samples per batch (per process under DDP).
    lr, weight_decay : float
        AdamW learning rate and decoupled weight decay.
    warmup : float
        Linear warm-up length: a fraction of all steps if < 1, else a number of steps.
    schedule : {"cosine", "linear", "constant"}
        Decay after warm-up, down to ``min_lr_ratio * lr``.
    grad_clip : float or None
        Clip the global gradient norm to this value.
    monitor : str or None
        Early-stopping metric: ``"val_loss"`` (default with validation data),
        ``"val_rmse"``, ``"val_mae"``, ``"val_r2"``, ``"val_pearson"``, a metric of the
        objective's ``metrics`` (``"val_rel_l2"`` for fields) or ``"train_loss"`` (default
        without).
    patience : int or None
        Epochs without improvement before stopping; ``None`` trains all epochs. The
        best weights are restored at the end either way.
    seed : int
        Seeds Python, NumPy, torch and the shuffling order at the start of :meth:`Trainer.fit`
        (deterministic runs). The model's initial weights are drawn earlier, when it is
        built: call :func:`sciml.train.seed_everything` with the same seed before building it.
    device : str or None
        ``None`` picks CUDA, then MPS, then CPU.
    amp : bool
        Mixed precision on CUDA: bf16 where supported, else fp16 with loss scaling
        (``precision="auto"``); False turns every autocast off.
    precision : {"auto", "fp32", "bf16"}
        ``"auto"``: as ``amp`` says on CUDA, fp32 elsewhere; ``"bf16"``: bf16 autocast on
        any device, CPU included (fp32 master weights; the loss is computed in fp32);
        ``"fp32"``: no autocast.
    checkpoint_dir : str or None
        Where ``last.pt`` (every epoch) and ``best.pt`` go; ``None`` writes none.
    history_csv : str or None
        Per-epoch history written here (atomically) after each epoch.
    progress : bool
        Show tqdm progress bars.
    max_minutes : float or None
        Time budget: after the first epoch that ends past it, :meth:`Trainer.fit` raises
        :class:`TimeBudgetReached` (``last.pt`` is written first, so ``resume=`` continues
        the run). Needs ``checkpoint_dir``. Wall-clock time: on a loaded machine the
        same budget trains fewer epochs.
    max_cpu_minutes : float or None
        The same in CPU time of this process (``time.process_time``: every thread of
        it, not other processes), so a loaded machine trains the same epochs in it.
        Needs ``checkpoint_dir``. Either budget, whichever is used up first, stops the run.
    on_budget : {"raise", "stop"}
        At ``max_minutes`` or ``max_cpu_minutes``: raise :class:`TimeBudgetReached` (the default), or stop like
        early stopping, keeping the best weights (``Trainer.stopped_by_budget`` is then
        True; ``last.pt`` still resumes the run with more time).
    """

    max_epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.05
    schedule: str = "cosine"
    min_lr_ratio: float = 0.0
    grad_clip: float | None = 1.0
    monitor: str | None = None
    patience: int | None = None
    seed: int = 0
    device: str | None = None
    amp: bool = True
    precision: str = "auto"
    checkpoint_dir: str | None = None
    history_csv: str | None = None
    progress: bool = True
    num_workers: int = 0
    max_minutes: float | None = None
    on_budget: str = "raise"
    max_cpu_minutes: float | None = None

    def __post_init__(self):
        if self.schedule not in ("cosine", "linear", "constant"):
            raise ValueError(
                f"unknown schedule {self.schedule!r}; choose cosine, linear or constant"
            )
        if self.max_epochs < 1 or self.batch_size < 1:
            raise ValueError("max_epochs and batch_size must be >= 1")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes}")
        if self.max_cpu_minutes is not None and not self.max_cpu_minutes > 0:
            raise ValueError(f"max_cpu_minutes must be > 0, got {self.max_cpu_minutes}")
        if self.on_budget not in ("raise", "stop"):
            raise ValueError(f"on_budget must be 'raise' or 'stop', got {self.on_budget!r}")

    def replace(self, **changes) -> TrainConfig:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def _lr_lambda(config: TrainConfig, total_steps: int) -> Callable[[int], float]:
    warmup = int(config.warmup * total_steps) if config.warmup < 1 else int(config.warmup)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if config.schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        decay = (
            0.5 * (1 + math.cos(math.pi * progress))
            if config.schedule == "cosine"
            else 1 - progress
        )
        return config.min_lr_ratio + (1 - config.min_lr_ratio) * decay

    return factor


@dataclass
class _Run:
    """What one :meth:`Trainer.fit` call works with: model, optimiser state, loaders, best epoch."""

    model: nn.Module
    params: list
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    grad_scaler: torch.amp.GradScaler
    generator: torch.Generator
    train_loader: object
    val_loader: object
    ckpt_dir: Path | None
    monitor: str
    main: bool
    fit_start: float
    fit_start_cpu: float = 0.0
    best: dict = dataclasses.field(default_factory=lambda: {"value": None, "epoch": None})
    best_state: dict | None = None
    stale: int = 0


class Trainer:
    """Train any ``nn.Module`` on named loss terms from an :class:`Objective`.

    One trainer serves sparse multi-task regression, token-level objectives and field
    outputs with physics-residual terms: the objective turns ``(outputs, batch)`` into
    named scalar terms, ``extra_losses`` hooks add more (a PDE residual, an auxiliary
    language-model loss), and ``weighting`` combines them.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(batch)`` with a dict batch; returns a tensor or a dict.
    objective : Objective
        Loss specification (e.g. :class:`~sciml.train.MultiTaskRegression`).
    config : TrainConfig
        Hyper-parameters.
    weighting : LossWeighting, optional
        How terms combine (default: equal weights).
    extra_losses : sequence of callables
        ``hook(model, batch, outputs) -> {name: scalar}``, added during training only.
    callbacks : sequence of callables
        ``callback(trainer, epoch, row)`` after every epoch (``row`` is the history dict).

    Examples
    --------
    >>> import torch
    >>> from sciml.train import ArrayDataset, MultiTaskRegression, RegressionMLP
    >>> from sciml.train import TrainConfig, Trainer
    >>> x = torch.randn(64, 3); y = torch.stack([x.sum(1), x[:, 0]], 1)
    >>> model = RegressionMLP(3, 2, hidden=(16,))
    >>> trainer = Trainer(model, MultiTaskRegression(["a", "b"]),
    ...                   TrainConfig(max_epochs=2, progress=False))
    >>> history = trainer.fit(ArrayDataset(x=x, y=y))
    >>> list(history.columns[:2])
    ['epoch', 'train_loss']
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        config: TrainConfig = TrainConfig(),
        weighting: LossWeighting | None = None,
        extra_losses: Sequence[ExtraLoss] = (),
        callbacks: Sequence[Callable] = (),
        unit: str = "sample",
    ):
        self.model = model
        #: What one training item is, for the per-batch progress bar (e.g. ``"mol"``).
        self.unit = unit
        self.objective = objective
        self.config = config
        self.weighting = weighting if weighting is not None else EqualWeighting()
        self.extra_losses = list(extra_losses)
        self.callbacks = list(callbacks)
        self.history: list[dict] = []
        self.device = default_device(config.device)
        self.global_step = 0
        #: True when the last :meth:`fit` stopped at ``max_minutes`` (``on_budget="stop"``).
        self.stopped_by_budget = False
        #: Best monitored value and its epoch, set by :meth:`fit`.
        self.best: dict = {"value": None, "epoch": None}

    # ------------------------------------------------------------------ data
    def _loader(
        self, data, shuffle: bool, generator: torch.Generator | None = None
    ) -> DataLoader | Iterable:
        if data is None or isinstance(data, DataLoader):
            return data
        if not isinstance(data, Dataset):
            raise TypeError(f"expected a torch Dataset or DataLoader, got {type(data).__name__}")
        if len(data) == 0:
            raise ValueError("the data set is empty")
        sampler = None
        if shuffle and distributed.is_distributed():
            sampler = DistributedSampler(data, shuffle=True, seed=self.config.seed)
        return DataLoader(
            data,
            batch_size=self.config.batch_size,
            shuffle=shuffle and sampler is None,
            sampler=sampler,
            generator=generator,
            num_workers=self.config.num_workers,
            collate_fn=getattr(data, "collate", None),
        )

    @staticmethod
    def _set_epoch(loader, epoch: int) -> None:
        # Samplers reshuffle by epoch; a data set whose collation keeps state (e.g. which
        # objective comes next) restarts it, so that a resumed run repeats the same epoch.
        holders = ("sampler", "batch_sampler", "dataset")
        for holder in (getattr(loader, name, None) for name in holders):
            if hasattr(holder, "set_epoch"):
                holder.set_epoch(epoch)

    # --------------------------------------------------------------- helpers
    @property
    def raw_model(self) -> nn.Module:
        """The model without a DDP wrapper."""
        return getattr(self.model, "module", self.model)

    def _forward(self, model: nn.Module, batch: dict):
        """Forward pass under the configured autocast; floating outputs come back as fp32."""
        cfg = self.config
        with autocast(self.device, cfg.amp, cfg.precision):
            outputs = model(batch)
        if cfg.precision == "bf16":
            # Losses, metrics and decoding run in fp32 whatever the forward pass used.
            outputs = _to_fp32(outputs)
        return outputs

    def _terms(self, batch: dict, outputs, with_extra: bool) -> dict[str, torch.Tensor]:
        terms = dict(self.objective.terms(outputs, batch, self.raw_model))
        if with_extra:
            for hook in self.extra_losses:
                for key, value in hook(self.model, batch, outputs).items():
                    if key in terms:
                        raise ValueError(f"extra loss term {key!r} clashes with an objective term")
                    terms[key] = value
        return terms

    def _monitor_name(self, has_val: bool) -> str:
        return self.config.monitor or ("val_loss" if has_val else "train_loss")

    def _better(self, value: float, best: float | None, name: str) -> bool:
        if not np.isfinite(value):
            return False
        if best is None:
            return True
        return value > best if name.endswith(_MAXIMISE) else value < best

    def _training_state(
        self, optimizer, scheduler, grad_scaler, epoch: int, best, stopped: bool
    ) -> dict:
        return {
            "epoch": epoch,
            "stopped": stopped,
            "global_step": self.global_step,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "grad_scaler": grad_scaler.state_dict(),
            "weighting": self.weighting.state_dict(),
            "rng": get_rng_state(),
            "history": self.history,
            "best": best,
            "config": dataclasses.asdict(self.config),
        }

    # ------------------------------------------------------------------- fit
    def fit(self, train, val=None, *, resume: str | Path | None = None) -> pd.DataFrame:
        """Train, validate each epoch, checkpoint, stop early and restore the best weights.

        Parameters
        ----------
        train, val : torch Dataset or DataLoader
            Dict batches (see :mod:`sciml.train.losses`). A Dataset's optional
            ``collate`` method is used as ``collate_fn``.
        resume : path, optional
            A ``last.pt`` written by an earlier, interrupted run with the same config;
            training continues exactly where it stopped (a run that had finished or
            stopped early trains no further). A config that differs in anything but
            progress, checkpoint and history places, device, workers or time budget is
            refused.

        Returns
        -------
        pandas.DataFrame
            One row per epoch: losses per term, validation metrics, learning rate, time.
        """
        cfg = self.config
        for name in ("max_minutes", "max_cpu_minutes"):
            if getattr(cfg, name) is not None and not cfg.checkpoint_dir:
                raise ValueError(f"{name} needs a checkpoint_dir to resume from")
        run = self._start_run(train, val)
        start_epoch = self._restore(run, resume) if resume is not None else 0
        if distributed.is_distributed():
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(run.model, device_ids=device_ids)
        else:
            self.model = run.model
        run.stale = 0 if run.best["epoch"] is None else len(self.history) - 1 - run.best["epoch"]

        from tqdm.auto import tqdm

        bar = tqdm(
            range(start_epoch, cfg.max_epochs),
            desc="train",
            disable=not (cfg.progress and run.main),
            initial=start_epoch,
            total=cfg.max_epochs,
        )
        for epoch in bar:
            start, start_cpu = time.perf_counter(), time.process_time()
            row = {"epoch": epoch, **self._train_epoch(run, epoch)}
            if run.val_loader is not None:
                row.update(self.evaluate(run.val_loader, prefix="val_"))
            row["lr"] = run.scheduler.get_last_lr()[0]
            row["seconds"] = time.perf_counter() - start
            row["cpu_seconds"] = time.process_time() - start_cpu
            self.history.append(row)
            stop = self._end_epoch(run, epoch, row)
            bar.set_postfix({k: f"{row[k]:.4g}" for k in ("train_loss", run.monitor) if k in row})
            if stop or self._out_of_time(run, epoch, bar):
                break
        bar.close()
        if run.best_state is not None:
            run.model.load_state_dict(run.best_state)
        self.best = run.best
        return pd.DataFrame(self.history)

    def _start_run(self, train, val) -> _Run:
        """Loaders, objective set-up, optimiser, schedule and scaler of a new run."""
        cfg = self.config
        distributed.init_from_env()
        self.stopped_by_budget = False
        self.history = []
        seed_everything(cfg.seed)
        generator = torch.Generator()
        train_loader = self._loader(train, shuffle=True, generator=generator)
        val_loader = self._loader(val, shuffle=False)
        if len(train_loader) == 0:
            raise ValueError("the training data set is empty")
        model = self.raw_model.to(self.device)
        self.weighting.to(self.device)
        self.objective.setup(
            model,
            lambda: (move_to_device(b, self.device) for b in self._loader(train, shuffle=False)),
        )
        params = [p for p in model.parameters() if p.requires_grad]
        params += [p for p in self.weighting.parameters() if p.requires_grad]
        if not params:
            raise ValueError("the model has no trainable parameter")
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        total_steps = cfg.max_epochs * len(train_loader)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg, total_steps))
        use_amp = cfg.amp and self.device.type == "cuda" and cfg.precision == "auto"
        fp16 = use_amp and not torch.cuda.is_bf16_supported()
        return _Run(
            model=model,
            params=params,
            optimizer=optimizer,
            scheduler=scheduler,
            grad_scaler=torch.amp.GradScaler("cuda", enabled=fp16),
            generator=generator,
            train_loader=train_loader,
            val_loader=val_loader,
            ckpt_dir=Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else None,
            monitor=self._monitor_name(val_loader is not None),
            main=distributed.is_main_process(),
            fit_start=time.perf_counter(),
            fit_start_cpu=time.process_time(),
        )

    def _restore(self, run: _Run, resume: str | Path) -> int:
        """Load the training state of ``resume`` into ``run``; returns the next epoch."""
        payload = load_checkpoint(resume, map_location=self.device)
        if payload["training"] is None:
            raise ValueError(f"{resume} holds a model only, no training state to resume from")
        run.model.load_state_dict(payload["state_dict"])
        state = payload["training"]
        self._check_resumable(resume, state.get("config", {}))
        run.optimizer.load_state_dict(state["optimizer"])
        run.scheduler.load_state_dict(state["scheduler"])
        run.grad_scaler.load_state_dict(state["grad_scaler"])
        self.weighting.load_state_dict(state["weighting"])
        set_rng_state(state["rng"])
        self.global_step = state["global_step"]
        self.history = list(state["history"])
        run.best = state["best"]
        best_file = Path(resume).with_name("best.pt")
        if best_file.is_file():
            run.best_state = load_checkpoint(best_file, map_location="cpu")["state_dict"]
        return self.config.max_epochs if state.get("stopped") else state["epoch"] + 1

    def _train_epoch(self, run: _Run, epoch: int) -> dict[str, float]:
        """One pass over the training data; returns the mean loss and terms (``train_*``)."""
        from tqdm.auto import tqdm

        cfg = self.config
        run.generator.manual_seed(cfg.seed + epoch)
        self._set_epoch(run.train_loader, epoch)
        self.model.train()
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        total_sum, n_batches = 0.0, 0
        steps = tqdm(
            total=_loader_items(run.train_loader),
            desc=f"epoch {epoch + 1}",
            unit=self.unit,
            leave=False,
            disable=not (cfg.progress and run.main),
            unit_scale=True,
        )
        for b, batch in enumerate(run.train_loader):
            steps.update(_batch_items(batch))
            terms, loss = self._step(run, move_to_device(batch, self.device), epoch, b)
            total_sum += float(loss.detach())
            n_batches += 1
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
                counts[key] = counts.get(key, 0) + 1
        steps.close()
        means = {k: sums[k] / counts[k] for k in sums}
        means["loss"] = total_sum / max(1, n_batches)
        means = distributed.all_reduce_mean(means)
        train_loss = means.pop("loss")
        self.weighting.epoch_end(means)
        return {"train_loss": train_loss, **{f"train_{k}": v for k, v in means.items()}}

    def _step(self, run: _Run, batch: dict, epoch: int, index: int):
        """Forward, loss, backward and optimiser step on one batch; returns (terms, loss)."""
        cfg = self.config
        outputs = self._forward(self.model, batch)
        terms = self._terms(batch, outputs, with_extra=True)
        loss = self.weighting.combine(terms)
        if not torch.isfinite(loss):
            values = {k: float(v) for k, v in terms.items()}
            where = f" last good checkpoint: {run.ckpt_dir / 'last.pt'}" if run.ckpt_dir else ""
            raise NonFiniteLossError(
                f"non-finite loss {float(loss)} at epoch {epoch}, batch {index} "
                f"(terms: {values}); training stopped.{where}"
            )
        run.optimizer.zero_grad(set_to_none=True)
        run.grad_scaler.scale(loss).backward()
        if cfg.grad_clip:
            run.grad_scaler.unscale_(run.optimizer)
            nn.utils.clip_grad_norm_(run.params, cfg.grad_clip)
        run.grad_scaler.step(run.optimizer)
        run.grad_scaler.update()
        run.scheduler.step()
        self.global_step += 1
        return terms, loss

    def _end_epoch(self, run: _Run, epoch: int, row: dict) -> bool:
        """Track the best epoch, write checkpoints and history, run callbacks; True to stop."""
        cfg = self.config
        value = row.get(run.monitor)
        if value is None:
            raise KeyError(f"monitor {run.monitor!r} is not computed; available: {', '.join(row)}")
        if self._better(value, run.best["value"], run.monitor):
            run.best = {"value": float(value), "epoch": epoch}
            run.best_state = {
                k: v.detach().cpu().clone() for k, v in run.model.state_dict().items()
            }
            run.stale = 0
            if run.ckpt_dir and run.main:
                save_checkpoint(run.ckpt_dir / "best.pt", run.model)
        else:
            run.stale += 1
        stop = cfg.patience is not None and run.stale >= cfg.patience
        if run.ckpt_dir and run.main:
            training = self._training_state(
                run.optimizer, run.scheduler, run.grad_scaler, epoch, run.best, stop
            )
            save_checkpoint(run.ckpt_dir / "last.pt", run.model, training=training)
        if cfg.history_csv and run.main:
            with atomic_write(cfg.history_csv) as handle:
                pd.DataFrame(self.history).to_csv(handle, index=False)
        for callback in self.callbacks:
            callback(self, epoch, row)
        return stop

    def _out_of_time(self, run: _Run, epoch: int, bar) -> bool:
        """Whether a time budget is used up: True to stop (``on_budget="stop"``), else raise.

        ``max_minutes`` counts wall-clock time, ``max_cpu_minutes`` this process's CPU time.
        """
        cfg = self.config
        if epoch + 1 >= cfg.max_epochs:
            return False
        used = None
        minutes = (time.perf_counter() - run.fit_start) / 60
        if cfg.max_minutes is not None and minutes > cfg.max_minutes:
            used = f"time budget of {cfg.max_minutes:g} min used up"
        cpu = (time.process_time() - run.fit_start_cpu) / 60
        if used is None and cfg.max_cpu_minutes is not None and cpu > cfg.max_cpu_minutes:
            used = f"CPU budget of {cfg.max_cpu_minutes:g} CPU-min used up"
        if used is None:
            return False
        if cfg.on_budget == "stop":
            self.stopped_by_budget = True
            return True
        bar.close()
        raise TimeBudgetReached(
            f"{used} after epoch {epoch + 1} of {cfg.max_epochs} ({minutes:.1f} min, "
            f"{cpu:.1f} CPU-min); the run resumes from {run.ckpt_dir / 'last.pt'}",
            run.ckpt_dir / "last.pt",
        )

    def _check_resumable(self, resume, stored: dict) -> None:
        current = dataclasses.asdict(self.config)
        changed = [
            f"{key}={stored[key]!r} there, {current[key]!r} here"
            for key in current
            if key in stored and key not in _RESUME_MAY_CHANGE and stored[key] != current[key]
        ]
        if changed:
            raise ValueError(
                f"{resume} was written by a run with other settings "
                f"({'; '.join(changed)}); resume with the same settings"
            )

    # ------------------------------------------------------------- evaluate
    @torch.no_grad()
    def evaluate(self, data, prefix: str = "") -> dict[str, float]:
        """Mean loss terms and, where the objective decodes, the objective's metrics.

        Extra-loss hooks (e.g. PDE residuals, which need input gradients) are not
        evaluated here. Returns ``{prefix + "loss", prefix + term, prefix + metric, ...}``
        (rmse, mae, r2, pearson for regression; auroc, auprc, ... for binary tasks).
        """
        loader = self._loader(data, shuffle=False)
        model = self.model
        model.eval()
        sums: dict[str, float] = {}
        counts: dict[str, float] = {}
        total, n = 0.0, 0
        preds, targets = [], []
        for batch in loader:
            batch = move_to_device(batch, self.device)
            outputs = self._forward(model, batch)
            terms = self._terms(batch, outputs, with_extra=False)
            if terms:
                total += float(self.weighting.combine(terms))
                n += 1
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + float(value)
                counts[key] = counts.get(key, 0) + 1
            decoded = self.objective.decode(outputs, batch, self.raw_model)
            if decoded is not None and "target" in decoded:
                preds.append(decoded["pred"].detach().double().cpu())
                targets.append(decoded["target"].detach().double().cpu())
        result = {f"{prefix}loss": total / n if n else float("nan")}
        result.update({f"{prefix}{k}": sums[k] / counts[k] for k in sums})
        if preds:
            pred = torch.cat(preds).numpy()
            target = torch.cat(targets).numpy()
            # The objective owns its metrics: regression by default, per task kind for
            # MultiTaskObjective, relative L2 of fields for operator networks.
            result.update(
                {f"{prefix}{k}": v for k, v in self.objective.metrics(target, pred).items()}
            )
        return result

    # -------------------------------------------------------------- predict
    @torch.no_grad()
    def predict(self, data) -> dict[str, np.ndarray]:
        """Decoded predictions in physical units, concatenated over batches.

        Returns the objective's decode entries, e.g. ``{"pred": (S, T), "var": (S, T)}``.
        """
        loader = self._loader(data, shuffle=False)
        model = self.raw_model.to(self.device).eval()
        parts: dict[str, list] = {}
        for batch in loader:
            batch = move_to_device(batch, self.device)
            outputs = self._forward(model, batch)
            decoded = self.objective.decode(outputs, batch, model)
            if decoded is None:
                raise TypeError(f"{type(self.objective).__name__} does not decode predictions")
            for key, value in decoded.items():
                parts.setdefault(key, []).append(value.detach().double().cpu())
        return {key: torch.cat(values).numpy() for key, values in parts.items()}


def _loader_items(loader) -> int | None:
    """Items per epoch of a loader, for the progress bar (None when it cannot tell)."""
    sampler = getattr(loader, "batch_sampler", None)
    if sampler is not None and hasattr(sampler, "lengths"):
        size = getattr(sampler, "epoch_size", None)
        return int(size) if size else len(sampler.lengths)
    try:
        return len(loader.dataset)
    except (AttributeError, TypeError):
        return None


def _batch_items(batch) -> int:
    """Items in a batch: the leading size of its first tensor."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 1
    values = batch.values() if isinstance(batch, dict) else batch
    if isinstance(values, (list, tuple)) or isinstance(batch, dict):
        for value in values:
            if isinstance(value, (torch.Tensor, dict, list, tuple)):
                return _batch_items(value)
    return 0


def _to_fp32(outputs):
    """Floating tensors in ``outputs`` (a tensor, or dicts/lists/tuples of them) as fp32."""
    if isinstance(outputs, torch.Tensor):
        return outputs.float() if outputs.is_floating_point() else outputs
    if isinstance(outputs, dict):
        return {k: _to_fp32(v) for k, v in outputs.items()}
    if isinstance(outputs, list | tuple):
        return type(outputs)(_to_fp32(v) for v in outputs)
    return outputs
