"""Masked multi-task losses and the objectives that turn a batch into loss terms.

Batch convention (shared by every model family)
------------------------------------------------
A batch is a ``dict``. Regression objectives read

- ``"y"``: targets ``(B, T)`` or fields ``(B, N, T)``, NaN where a label is missing;
- ``"weight"`` (optional): per-sample weights ``(B,)``;
- ``"mask"`` (optional): point mask ``(B, N)``, ``True`` inside the geometry.

Each elementwise loss only computes the unreduced array; :func:`masked_task_mean`
applies the missing-label mask, point mask and sample weights in one place and
averages per task over labelled entries only. A task with no label in a batch is left
out of the returned terms, so it contributes nothing and corrupts no state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "Combined",
    "ELEMENTWISE_LOSSES",
    "HLGauss",
    "MultiTaskObjective",
    "MultiTaskRegression",
    "Objective",
    "TokenCrossEntropy",
    "masked_task_mean",
]


def _mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target) ** 2


def _mae(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target).abs()


def _huber(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.huber_loss(pred, target, reduction="none", delta=1.0)


#: Unreduced elementwise losses by name; each maps ``(pred, target)`` to an array of the same shape.
ELEMENTWISE_LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": _mse,
    "mae": _mae,
    "huber": _huber,
}


def masked_task_mean(
    values: torch.Tensor,
    valid: torch.Tensor,
    weight: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Average an unreduced loss per task over valid entries.

    Parameters
    ----------
    values : Tensor, shape ``(B, ..., T)``
        Unreduced loss; entries where ``valid`` is False may hold anything (even NaN).
    valid : bool Tensor, same shape as ``values``
        Which entries carry a label.
    weight : Tensor, shape ``(B,)``, optional
        Per-sample weights.

    Returns
    -------
    mean : Tensor, shape ``(T,)``
        Weighted mean per task (0 where a task has no valid entry).
    count : Tensor, shape ``(T,)``
        Weighted number of valid entries per task.
    """
    w = valid.to(values.dtype)
    if weight is not None:
        w = w * weight.to(values.dtype).reshape(-1, *([1] * (values.ndim - 1)))
    values = torch.where(valid, values, torch.zeros_like(values))
    dims = tuple(range(values.ndim - 1))
    count = w.sum(dims)
    total = (values * w).sum(dims)
    return total / count.clamp_min(torch.finfo(values.dtype).tiny), count


class HLGauss(nn.Module):
    """Histogram loss with Gaussian smoothing (Farebrother et al. 2024, "Stop Regressing").

    Regression as classification over ``n_bins`` equal bins on ``[vmin, vmax]`` in
    standardised units. A target ``y`` becomes the probability mass that a Gaussian
    ``N(y, sigma^2)`` puts on each bin (``sigma = sigma_ratio * bin width``,
    renormalised to the support); the loss is cross-entropy against the model's
    logits, and the prediction is the histogram's expected value, with its variance.

    Parameters
    ----------
    n_bins : int
        Number of bins ``K``.
    vmin, vmax : float
        Support in standardised units; values outside are clipped into it.
    sigma_ratio : float
        Smoothing width in bin widths (0.75 as recommended by the paper).

    Examples
    --------
    >>> head = HLGauss(n_bins=64, vmin=-5.0, vmax=5.0)
    >>> y = torch.tensor([-1.3, 0.0, 2.2])
    >>> mean, var = head.mean_var(head.to_probs(y).float().log())
    >>> bool(torch.allclose(mean, y, atol=1e-3))
    True
    """

    def __init__(
        self, n_bins: int = 64, vmin: float = -5.0, vmax: float = 5.0, sigma_ratio: float = 0.75
    ):
        super().__init__()
        if n_bins < 2 or not vmax > vmin:
            raise ValueError(
                f"HLGauss needs n_bins >= 2 and vmax > vmin; got {n_bins}, [{vmin}, {vmax}]"
            )
        self.n_bins, self.vmin, self.vmax, self.sigma_ratio = n_bins, vmin, vmax, sigma_ratio
        edges = torch.linspace(vmin, vmax, n_bins + 1, dtype=torch.float64)
        self.register_buffer("edges", edges, persistent=False)
        self.register_buffer("centers", (edges[1:] + edges[:-1]) / 2, persistent=False)
        self.sigma = sigma_ratio * (vmax - vmin) / n_bins

    def to_probs(self, y: torch.Tensor) -> torch.Tensor:
        """Targets of any shape ``S`` to histograms of shape ``S + (K,)``."""
        y = y.to(self.edges.dtype).clamp(self.vmin, self.vmax).unsqueeze(-1)
        cdf = torch.special.ndtr((self.edges - y) / self.sigma)
        mass = cdf[..., 1:] - cdf[..., :-1]
        return mass / (cdf[..., -1:] - cdf[..., :1])

    def mean_var(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Expected value and variance of the histogram; logits ``S + (K,)`` to ``S``."""
        probs = torch.softmax(logits.to(self.centers.dtype), dim=-1)
        mean = (probs * self.centers).sum(-1)
        var = (probs * self.centers**2).sum(-1) - mean**2
        return mean.to(logits.dtype), var.clamp_min(0.0).to(logits.dtype)

    def elementwise_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy per element: logits ``S + (K,)``, targets ``S`` to loss ``S``."""
        target = self.to_probs(torch.nan_to_num(y)).to(logits.dtype)
        return -(target * torch.log_softmax(logits, dim=-1)).sum(-1)


class Objective:
    """Turns model outputs and a batch into named scalar loss terms.

    Subclasses implement :meth:`terms`. They may also implement :meth:`setup` (called
    once by the Trainer before training, e.g. to fit a normaliser on the training
    split) and :meth:`decode` (model outputs to physical-unit predictions, used by
    ``Trainer.predict`` and validation metrics).
    """

    def setup(self, model: nn.Module, train_batches: Callable[[], object]) -> None:
        """Prepare state that depends on the training split (default: nothing)."""

    def terms(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor]:
        """Return named scalar losses; tasks without labels in this batch are omitted."""
        raise NotImplementedError

    def decode(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor] | None:
        """Return ``{"pred": ..., "target": ..., ["var": ...]}`` in physical units, or None."""
        return None

    def metrics(self, target, pred) -> dict[str, float]:
        """Validation metrics from decoded arrays ``(..., T)`` (default: regression metrics).

        ``Trainer.evaluate`` reports what this returns: rmse, mae, r2 and pearson macro-averaged
        over tasks by default; objectives with task kinds (:class:`MultiTaskObjective`) ask
        their tasks, and operator networks add the relative L2 error of fields.
        """
        from sciml import metrics

        flat_p = pred.reshape(-1, pred.shape[-1])
        flat_t = target.reshape(-1, target.shape[-1])
        return {
            name: float(getattr(metrics, name)(flat_t, flat_p, reduce="mean"))
            for name in ("rmse", "mae", "r2", "pearson")
        }


def _select(outputs, key: str | None):
    if key is None:
        return outputs
    if not isinstance(outputs, dict) or key not in outputs:
        raise KeyError(
            f"model outputs have no entry {key!r}; got "
            f"{list(outputs) if isinstance(outputs, dict) else type(outputs).__name__}"
        )
    return outputs[key]


class MultiTaskRegression(Objective):
    """Masked multi-task regression on standardised targets.

    The model predicts in standardised units and owns ``model.target_scaler``
    (a :class:`~sciml.train.normalize.Standardizer`), which :meth:`setup` fits on the
    training split (NaN- and mask-aware) unless it is already fitted.

    Parameters
    ----------
    task_names : sequence of str
        One name per target column ``T``; these name the loss terms.
    loss : {"mse", "mae", "huber"} or HLGauss
        Elementwise loss, or an HL-Gauss head (then the model outputs logits
        ``(B, T, K)`` or ``(B, N, T, K)``).
    output_key : str, optional
        Entry of the model's output dict holding the predictions.
    target_key : str
        Batch entry holding the targets.
    prefix : str
        Prefix for term names, to tell objectives apart when combined.
    """

    def __init__(
        self,
        task_names: Sequence[str],
        loss: str | HLGauss = "mse",
        output_key: str | None = None,
        target_key: str = "y",
        prefix: str = "",
    ):
        if isinstance(loss, str) and loss not in ELEMENTWISE_LOSSES:
            raise ValueError(
                f"unknown loss {loss!r}; choose one of: {', '.join(ELEMENTWISE_LOSSES)}"
            )
        self.task_names = list(task_names)
        if not self.task_names:
            raise ValueError("MultiTaskRegression needs at least one task name")
        self.loss = loss
        self.output_key = output_key
        self.target_key = target_key
        self.prefix = prefix

    @staticmethod
    def _scaler(model: nn.Module):
        scaler = getattr(model, "target_scaler", None)
        if scaler is None:
            raise AttributeError(
                f"{type(model).__name__} has no 'target_scaler'; models trained with "
                "MultiTaskRegression own a sciml.train.Standardizer"
            )
        return scaler

    def setup(self, model: nn.Module, train_batches) -> None:
        scaler = self._scaler(model)
        if bool(scaler.fitted):
            return
        ys, masks = [], []
        for batch in train_batches():
            ys.append(batch[self.target_key])
            masks.append(batch.get("mask"))
        scaler.fit_batches(ys, masks, task_names=self.task_names)

    def _check(self, pred: torch.Tensor, y: torch.Tensor) -> None:
        expected = tuple(y.shape) + ((self.loss.n_bins,) if isinstance(self.loss, HLGauss) else ())
        if tuple(pred.shape) != expected:
            raise ValueError(
                f"model output has shape {tuple(pred.shape)} but targets {self.target_key!r} have "
                f"shape {tuple(y.shape)}; expected output shape {expected}"
            )
        if y.shape[-1] != len(self.task_names):
            raise ValueError(
                f"targets have {y.shape[-1]} tasks in the last axis; expected "
                f"{len(self.task_names)} ({', '.join(self.task_names)})"
            )

    def _valid(self, y: torch.Tensor, batch: dict) -> torch.Tensor:
        valid = ~torch.isnan(y)
        if "mask" in batch:
            mask = batch["mask"].bool()
            valid = valid & (mask.unsqueeze(-1) if mask.ndim == y.ndim - 1 else mask)
        return valid

    def terms(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor]:
        pred = _select(outputs, self.output_key).float()
        y = batch[self.target_key].float()
        self._check(pred, y)
        z = self._scaler(model).transform(y)
        if isinstance(self.loss, HLGauss):
            values = self.loss.elementwise_loss(pred, z)
        else:
            values = ELEMENTWISE_LOSSES[self.loss](pred, torch.nan_to_num(z))
        mean, count = masked_task_mean(values, self._valid(y, batch), batch.get("weight"))
        return {
            f"{self.prefix}{name}": mean[t]
            for t, name in enumerate(self.task_names)
            if count[t] > 0
        }

    def decode(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor]:
        scaler = self._scaler(model)
        pred = _select(outputs, self.output_key).float()
        result = {}
        if isinstance(self.loss, HLGauss):
            mean, var = self.loss.to(pred.device).mean_var(pred)
            result["pred"] = scaler.inverse(mean)
            result["var"] = scaler.inverse_variance(var)
        else:
            result["pred"] = scaler.inverse(pred.double())
        if self.target_key in batch:
            result["target"] = batch[self.target_key]
            if "mask" in batch:
                mask = batch["mask"].bool()
                mask = mask.unsqueeze(-1) if mask.ndim == result["pred"].ndim - 1 else mask
                result["target"] = torch.where(mask, result["target"], torch.nan)
        return result


class TokenCrossEntropy(Objective):
    """Cross-entropy on token logits, e.g. masked-language modelling or digit tokens.

    Reads logits ``(B, L, V)`` from ``outputs[output_key]`` and labels ``(B, L)`` from
    ``batch[label_key]``, where ``ignore_index`` marks positions without a label.
    A batch with no labelled position yields no term.

    Parameters
    ----------
    name : str
        Name of the loss term (e.g. ``"mlm"``).
    output_key, label_key : str
        Where logits and labels live.
    ignore_index : int
        Label value to skip.
    """

    def __init__(
        self,
        name: str = "mlm",
        output_key: str = "logits",
        label_key: str = "labels",
        ignore_index: int = -100,
    ):
        self.name, self.output_key, self.label_key = name, output_key, label_key
        self.ignore_index = ignore_index

    def terms(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor]:
        if self.label_key not in batch:
            return {}
        labels = batch[self.label_key]
        if not (labels != self.ignore_index).any():
            return {}
        logits = _select(outputs, self.output_key).float()
        if logits.shape[:-1] != labels.shape:
            raise ValueError(
                f"logits have shape {tuple(logits.shape)} but labels {tuple(labels.shape)}; "
                "expected logits (B, L, V) with labels (B, L)"
            )
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=self.ignore_index
        )
        return {self.name: loss}


class MultiTaskObjective(MultiTaskRegression):
    """Masked multi-task objective over endpoints of several kinds, each asked of its task.

    Regression endpoints are trained on standardised targets with the elementwise ``loss``;
    binary endpoints on logits with binary cross-entropy (class weights or focal loss as
    their :class:`~sciml.train.tasks.BinaryTask` says) and decoded to probabilities. One
    network can so learn a regression and a classification endpoint together; missing
    labels (NaN) are masked per endpoint as in :class:`MultiTaskRegression`.

    Parameters
    ----------
    tasks : sciml.train.tasks.Tasks
        One task per target column ``T``.
    loss : {"mse", "mae", "huber"}
        Elementwise loss of the regression endpoints.
    output_key, target_key, prefix
        As in :class:`MultiTaskRegression`.
    """

    def __init__(
        self,
        tasks,
        loss: str = "mse",
        output_key: str | None = None,
        target_key: str = "y",
        prefix: str = "",
    ):
        if isinstance(loss, HLGauss):
            raise ValueError(
                "MultiTaskObjective takes an elementwise loss name; use "
                "MultiTaskRegression for an HL-Gauss head"
            )
        super().__init__(tasks.names, loss, output_key, target_key, prefix)
        self.tasks = tasks
        self._plain = [j for j, t in enumerate(tasks) if not t.standardized]

    def setup(self, model: nn.Module, train_batches) -> None:
        scaler = self._scaler(model)
        if bool(scaler.fitted):
            return
        super().setup(model, train_batches)
        # Endpoints that are not standardised (binary labels) pass through the scaler as is.
        with torch.no_grad():
            for j in self._plain:
                scaler.mean[j] = 0.0
                scaler.std[j] = 1.0

    def _elementwise(self, pred: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.stack(
            [
                task.loss_values(pred[..., j], z[..., j], self.loss)
                for j, task in enumerate(self.tasks)
            ],
            dim=-1,
        )

    def terms(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor]:
        pred = _select(outputs, self.output_key).float()
        y = batch[self.target_key].float()
        self._check(pred, y)
        z = torch.nan_to_num(self._scaler(model).transform(y))
        values = self._elementwise(pred, z)
        mean, count = masked_task_mean(values, self._valid(y, batch), batch.get("weight"))
        return {
            f"{self.prefix}{name}": mean[t]
            for t, name in enumerate(self.task_names)
            if count[t] > 0
        }

    def decode(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor]:
        result = super().decode(outputs, batch, model)
        raw = _select(outputs, self.output_key).double()
        for j in self._plain:
            result["pred"][..., j] = self.tasks[j].decode_output(raw[..., j])
        return result

    def metrics(self, target, pred) -> dict[str, float]:
        return self.tasks.metrics(
            target.reshape(-1, target.shape[-1]), pred.reshape(-1, pred.shape[-1])
        )


class Combined(Objective):
    """Several objectives on one model output (e.g. MLM + descriptor regression).

    Term names must not collide; :meth:`decode` comes from the first objective that
    decodes.
    """

    def __init__(self, *objectives: Objective):
        if not objectives:
            raise ValueError("Combined needs at least one objective")
        self.objectives = objectives

    def setup(self, model, train_batches) -> None:
        for objective in self.objectives:
            objective.setup(model, train_batches)

    def terms(self, outputs, batch, model):
        merged: dict[str, torch.Tensor] = {}
        for objective in self.objectives:
            for key, value in objective.terms(outputs, batch, model).items():
                if key in merged:
                    raise ValueError(f"two objectives both produce a loss term named {key!r}")
                merged[key] = value
        return merged

    def decode(self, outputs, batch, model):
        for objective in self.objectives:
            decoded = objective.decode(outputs, batch, model)
            if decoded is not None:
                return decoded
        return None

    def metrics(self, target, pred) -> dict[str, float]:
        # The metrics of the first objective with metrics of its own (the one that decodes).
        for objective in self.objectives:
            if type(objective).metrics is not Objective.metrics:
                return objective.metrics(target, pred)
        return super().metrics(target, pred)
