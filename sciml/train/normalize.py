"""Per-column standardisation (z-scoring), fitted on the training split only.

:func:`masked_moments` is the one place sciml computes NaN- and mask-aware column statistics;
:class:`Standardizer` (targets, operator inputs, transformer descriptors) and the D-MPNN's
descriptor scaling (:meth:`sciml.chem.models.mpnn.MPNNRegressor.fit_descriptor_scaler`) both
fit from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["Standardizer", "masked_moments"]


@torch.no_grad()
def masked_moments(
    values: np.ndarray | torch.Tensor, mask: np.ndarray | torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean, standard deviation and count per column, ignoring NaN and masked-out points.

    Statistics are taken over every axis but the last (columns), in float64 on the CPU; the
    standard deviation is the population one (``ddof=0``, as ``numpy.nanstd``).

    Parameters
    ----------
    values : array, shape ``(..., T)``
        Values, NaN where missing.
    mask : bool array, shape ``values.shape[:-1]`` or ``values.shape``, optional
        ``True`` where a point counts (e.g. inside a geometry).

    Returns
    -------
    mean, std : Tensor ``(T,)``
        NaN for a column without any counted value; no floor on ``std`` (callers choose
        how a constant column is guarded).
    count : Tensor ``(T,)``
        Counted values per column.

    Examples
    --------
    >>> mean, std, count = masked_moments(np.array([[1.0, np.nan], [3.0, 2.0]]))
    >>> mean.tolist(), std.tolist(), count.tolist()
    ([2.0, 2.0], [1.0, 0.0], [2, 1])
    """
    y = torch.as_tensor(
        np.asarray(values, dtype=np.float64) if not torch.is_tensor(values) else values,
        dtype=torch.float64,
    ).cpu()
    n_columns = y.shape[-1]
    valid = ~torch.isnan(y)
    if mask is not None:
        mask = torch.as_tensor(mask).bool().cpu()
        valid &= mask.unsqueeze(-1) if mask.ndim == y.ndim - 1 else mask
    flat_y = torch.where(valid, y, torch.zeros_like(y)).reshape(-1, n_columns)
    flat_v = valid.reshape(-1, n_columns)
    count = flat_v.sum(0)
    mean = flat_y.sum(0) / count
    var = (torch.where(flat_v, flat_y - mean, torch.zeros_like(flat_y)) ** 2).sum(0) / count
    return mean, var.sqrt(), count


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
        mean, std, count = masked_moments(y, mask)
        empty = (count == 0).nonzero().flatten().tolist()
        if empty:
            names = [task_names[i] if task_names else str(i) for i in empty]
            raise ValueError(
                f"task(s) {', '.join(names)} have no labelled value in the training split "
                "(all NaN); drop them or provide labels"
            )
        self.mean.copy_(mean)
        self.std.copy_(std.clamp_min(self.eps))
        self.fitted.fill_(True)
        return self

    @torch.no_grad()
    def fit_batches(
        self,
        values: Iterable[np.ndarray | torch.Tensor],
        masks: Iterable[np.ndarray | torch.Tensor | None] | None = None,
        *,
        refit: bool = False,
        task_names: Sequence[str] | None = None,
    ) -> Standardizer:
        """Fit on values gathered batch by batch, unless already fitted.

        Parameters
        ----------
        values : iterable of arrays, each ``(..., T)`` (or ``(B,)`` for one task)
            One entry per training batch; all points of all batches count together.
        masks : iterable of bool arrays or None, optional
            One per entry of ``values``, of its shape without the last axis; ``None`` (or no
            ``masks``) counts every point of that batch.
        refit : bool
            Fit again even when already fitted (by default fitted statistics are kept, so a
            fine-tuned model keeps its source statistics).
        task_names : sequence of str, optional
            Only used to name a task in the error message.

        Raises
        ------
        ValueError
            If there are no batches, or as :meth:`fit`.
        """
        if bool(self.fitted) and not refit:
            return self
        values = list(values)
        masks = [None] * len(values) if masks is None else list(masks)
        if len(masks) != len(values):
            raise ValueError(f"{len(masks)} masks for {len(values)} batches of values")
        if not values:
            raise ValueError("the training data set is empty")
        rows, row_masks = [], []
        for v, m in zip(values, masks, strict=True):
            v = torch.as_tensor(v).detach().cpu().double()
            rows.append(v.reshape(-1, v.shape[-1]) if v.ndim > 1 else v[:, None])
            row_masks.append(
                torch.ones(len(rows[-1]), dtype=torch.bool)
                if m is None
                else torch.as_tensor(m).cpu().bool().reshape(-1)
            )
        has_mask = any(m is not None for m in masks)
        return self.fit(
            torch.cat(rows),
            mask=torch.cat(row_masks) if has_mask else None,
            task_names=None if task_names is None else list(task_names),
        )

    def transform(self, y: torch.Tensor) -> torch.Tensor:
        """Physical units to standardised units (NaN stays NaN)."""
        return (y - self.mean.to(y)) / self.std.to(y)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """Standardised units back to physical units."""
        return z * self.std.to(z) + self.mean.to(z)

    def inverse_variance(self, var: torch.Tensor) -> torch.Tensor:
        """Variance in standardised units to physical units."""
        return var * self.std.to(var) ** 2
