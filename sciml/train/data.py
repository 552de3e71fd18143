"""Generic in-memory data sets that yield dict samples (the batch convention)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from sciml.nn import MLP
from sciml.train.checkpoint import register_model
from sciml.train.normalize import Standardizer

__all__ = ["ArrayDataset", "RegressionMLP"]


class ArrayDataset(Dataset):
    """Index-aligned arrays as a data set of dict samples.

    Every keyword array must have the same first dimension; floating arrays become
    float32 tensors (NaN kept, meaning a missing label).

    Examples
    --------
    >>> ds = ArrayDataset(x=np.zeros((4, 2)), y=np.full((4, 1), np.nan))
    >>> sorted(ds[0]), len(ds)
    (['x', 'y'], 4)
    """

    def __init__(self, **arrays):
        if not arrays:
            raise ValueError("ArrayDataset needs at least one named array")
        self.arrays = {}
        for name, value in arrays.items():
            tensor = torch.as_tensor(np.asarray(value) if not torch.is_tensor(value) else value)
            if tensor.is_floating_point():
                tensor = tensor.float()
            self.arrays[name] = tensor
        lengths = {name: len(t) for name, t in self.arrays.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"arrays differ in length: {lengths}")
        self.length = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {name: t[index] for name, t in self.arrays.items()}


@register_model
class RegressionMLP(nn.Module):
    """Multi-output MLP regressor on feature vectors ``batch["x"]`` of shape ``(B, F)``.

    Predicts standardised targets ``(B, T)`` (or HL-Gauss logits ``(B, T, K)`` when
    ``n_bins`` is set); ``target_scaler`` maps them back to physical units.
    """

    def __init__(
        self,
        in_features: int,
        n_tasks: int,
        hidden: tuple[int, ...] = (128, 128),
        dropout: float = 0.0,
        n_bins: int | None = None,
        activation: str = "relu",
    ):
        super().__init__()
        self.hparams = {
            "in_features": in_features,
            "n_tasks": n_tasks,
            "hidden": list(hidden),
            "dropout": dropout,
            "n_bins": n_bins,
            "activation": activation,
        }
        self.n_tasks, self.n_bins = n_tasks, n_bins
        self.net = MLP(in_features, n_tasks * (n_bins or 1), hidden, activation, dropout)
        self.target_scaler = Standardizer(n_tasks)

    def forward(self, batch: dict) -> torch.Tensor:
        """``(B, F)`` features to ``(B, T)`` (or ``(B, T, K)``) standardised outputs."""
        x = batch["x"]
        if x.ndim != 2 or x.shape[1] != self.hparams["in_features"]:
            raise ValueError(
                f"batch['x'] has shape {tuple(x.shape)}; "
                f"expected (B, {self.hparams['in_features']})"
            )
        out = self.net(x)
        return out.view(len(x), self.n_tasks, self.n_bins) if self.n_bins else out
