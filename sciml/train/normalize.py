"""Per-task target standardisation, fitted on the training split only."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["Standardizer"]


class Standardizer(nn.Module):
    """NaN- and mask-aware per-task z-scoring, stored as buffers so checkpoints carry it.

    Statistics are taken over every axis but the last (tasks): targets of shape
    ``(B, T)`` or fields ``(B, N, T)``. Models that regress targets own one as
    ``model.target_scaler``; they predict standardised values, and
    :meth:`inverse` returns physical units.

    Parameters
    ----------
    n_tasks : int
        Number of tasks ``T``.
    eps : float
        Floor on the standard deviation, so a constant task does not divide by zero.
    """

    def __init__(self, n_tasks: int, eps: float = 1e-8):
        super().__init__()
        self.n_tasks = n_tasks
        self.eps = eps
        self.register_buffer("mean", torch.zeros(n_tasks, dtype=torch.float64))
        self.register_buffer("std", torch.ones(n_tasks, dtype=torch.float64))
        self.register_buffer("fitted", torch.tensor(False))

    @torch.no_grad()
    def fit(
        self,
        y: np.ndarray | torch.Tensor,
        mask: np.ndarray | torch.Tensor | None = None,
        task_names: list[str] | None = None,
    ) -> Standardizer:
        """Fit mean and standard deviation per task, ignoring NaN and masked-out points.

        Parameters
        ----------
        y : array, shape ``(..., T)``
            Training targets, NaN where missing.
        mask : bool array, shape ``y.shape[:-1]``, optional
            ``True`` where a point counts (e.g. inside a geometry).
        task_names : list of str, optional
            Only used to name a task in the error message.

        Raises
        ------
        ValueError
            If the last axis is not ``T`` or a task has no labelled value.
        """
        y = torch.as_tensor(
            np.asarray(y, dtype=np.float64) if not torch.is_tensor(y) else y, dtype=torch.float64
        ).cpu()
        if y.ndim == 1 and self.n_tasks == 1:
            y = y[:, None]
        if y.shape[-1] != self.n_tasks:
            raise ValueError(
                f"targets have shape {tuple(y.shape)}; expected (..., {self.n_tasks}) tasks"
            )
        valid = ~torch.isnan(y)
        if mask is not None:
            mask = torch.as_tensor(mask).bool().cpu()
            valid &= mask.unsqueeze(-1) if mask.ndim == y.ndim - 1 else mask
        flat_y = torch.where(valid, y, torch.zeros_like(y)).reshape(-1, self.n_tasks)
        flat_v = valid.reshape(-1, self.n_tasks)
        count = flat_v.sum(0)
        empty = (count == 0).nonzero().flatten().tolist()
        if empty:
            names = [task_names[i] if task_names else str(i) for i in empty]
            raise ValueError(
                f"task(s) {', '.join(names)} have no labelled value in the training split "
                "(all NaN); drop them or provide labels"
            )
        mean = flat_y.sum(0) / count
        var = (torch.where(flat_v, flat_y - mean, torch.zeros_like(flat_y)) ** 2).sum(0) / count
        self.mean.copy_(mean)
        self.std.copy_(var.sqrt().clamp_min(self.eps))
        self.fitted.fill_(True)
        return self

    def transform(self, y: torch.Tensor) -> torch.Tensor:
        """Physical units to standardised units (NaN stays NaN)."""
        return (y - self.mean.to(y)) / self.std.to(y)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """Standardised units back to physical units."""
        return z * self.std.to(z) + self.mean.to(z)

    def inverse_variance(self, var: torch.Tensor) -> torch.Tensor:
        """Variance in standardised units to physical units."""
        return var * self.std.to(var) ** 2
