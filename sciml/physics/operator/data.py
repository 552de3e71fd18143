"""Torch data sets for operator learning, and the mask-aware fitting of the model's scalers.

An :class:`OperatorDataset` holds per-sample branch inputs, targets ``y`` ``(S, N, K)`` on
``N`` query points, optional point masks ``(S, N)`` and optional coefficient vectors, plus
one coordinate array ``(N, d)`` shared by all samples. Its ``collate`` puts the coordinates
into every batch once (Cartesian-product layout). Each Problem builds its own
(``problem.dataset(ds)``, :mod:`sciml.physics.problems`).

Normalisers (:func:`fit_scalers`) live in the model as buffers, are fitted on the training
split only and ignore points outside the geometry mask (neuraloperator's mask-aware data
processor): the permeability outside ``Omega`` and the zeros of ``u`` there never shift
the statistics.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["OperatorDataset", "fit_pod", "fit_scalers"]


class OperatorDataset(Dataset):
    """Samples of an operator-learning problem on shared query coordinates.

    Parameters
    ----------
    coords : array, shape ``(N, d)``
        Query coordinates, shared by every sample.
    y : array, shape ``(S, N, K)``
        Targets in physical units (NaN = missing).
    branch : array, shape ``(S, F)`` or ``(S, C, H, W)``
        Branch inputs in physical units.
    mask : bool array, shape ``(S, N)``, optional
        True inside the geometry at the query points.
    grid_shape : tuple of int, optional
        Shape of the grid the ``N`` points flatten (C order), for reshaping fields.
    labels : array of str, shape ``(S,)``, optional
        Group of each sample (family or geometry name), for per-group metrics.
    **extra
        Further per-sample arrays put into batches (``coefficients`` ``(S, C)``,
        ``mask_grid`` ``(S, H, W)``, ...).
    """

    def __init__(
        self,
        coords: np.ndarray,
        y: np.ndarray,
        branch: np.ndarray,
        mask: np.ndarray | None = None,
        grid_shape: Sequence[int] | None = None,
        labels: Sequence[str] | None = None,
        **extra: np.ndarray,
    ):
        self.coords = torch.as_tensor(np.asarray(coords, dtype=np.float32))
        self.arrays: dict[str, torch.Tensor] = {
            "y": torch.as_tensor(np.asarray(y, dtype=np.float32)),
            "branch": torch.as_tensor(np.asarray(branch, dtype=np.float32)),
        }
        if mask is not None:
            self.arrays["mask"] = torch.as_tensor(np.asarray(mask, dtype=bool))
        for name, value in extra.items():
            value = np.asarray(value)
            self.arrays[name] = torch.as_tensor(
                value if value.dtype == bool else value.astype(np.float32)
            )
        n = len(self.arrays["y"])
        for name, t in self.arrays.items():
            if len(t) != n:
                raise ValueError(f"{name!r} has {len(t)} samples, y has {n}")
        y = self.arrays["y"]
        if y.ndim != 3 or y.shape[1] != len(self.coords) or self.coords.ndim != 2:
            raise ValueError(
                f"y must be (S, N, K) with N = len(coords) = {len(self.coords)}; "
                f"got y {tuple(y.shape)}, coords {tuple(self.coords.shape)}"
            )
        if "mask" in self.arrays and self.arrays["mask"].shape != y.shape[:2]:
            raise ValueError(
                f"mask has shape {tuple(self.arrays['mask'].shape)}; expected {tuple(y.shape[:2])}"
            )
        self.grid_shape = tuple(grid_shape) if grid_shape is not None else (len(self.coords),)
        self.labels = np.asarray(labels if labels is not None else [""] * n, dtype=str)

    def __len__(self) -> int:
        return len(self.arrays["y"])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {name: t[index] for name, t in self.arrays.items()}

    def collate(self, samples: list[dict]) -> dict[str, torch.Tensor]:
        """Stack per-sample tensors and add the shared ``coords`` ``(N, d)`` once."""
        batch = {name: torch.stack([s[name] for s in samples]) for name in samples[0]}
        batch["coords"] = self.coords
        return batch

    def subset(self, indices: Sequence[int] | np.ndarray) -> OperatorDataset:
        """A new data set holding the samples ``indices`` (coordinates shared)."""
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        arrays = {name: t[idx].numpy() for name, t in self.arrays.items()}
        y, branch, mask = arrays.pop("y"), arrays.pop("branch"), arrays.pop("mask", None)
        return OperatorDataset(
            self.coords.numpy(),
            y,
            branch,
            mask,
            self.grid_shape,
            self.labels[idx.numpy()],
            **arrays,
        )

    @classmethod
    def concat(cls, parts: Sequence[OperatorDataset]) -> OperatorDataset:
        """Pool data sets on the same coordinates (e.g. several geometries on one grid)."""
        first = parts[0]
        for part in parts[1:]:
            if part.coords.shape != first.coords.shape or not torch.equal(
                part.coords, first.coords
            ):
                raise ValueError("only data sets on the same query coordinates can be pooled")
            if set(part.arrays) != set(first.arrays):
                raise ValueError(
                    f"data sets hold different arrays: {sorted(first.arrays)} vs {sorted(part.arrays)}"
                )
        arrays = {name: torch.cat([p.arrays[name] for p in parts]).numpy() for name in first.arrays}
        y, branch, mask = arrays.pop("y"), arrays.pop("branch"), arrays.pop("mask", None)
        return cls(
            first.coords.numpy(),
            y,
            branch,
            mask,
            first.grid_shape,
            np.concatenate([p.labels for p in parts]),
            **arrays,
        )

    def where(self, label: str) -> np.ndarray:
        """Indices of the samples whose label is ``label``."""
        return np.flatnonzero(self.labels == label)

    @property
    def n_coefficients(self) -> int:
        """Width of the coefficient vector (0 when absent)."""
        return int(self.arrays["coefficients"].shape[1]) if "coefficients" in self.arrays else 0

    @property
    def branch_in(self) -> int | tuple[int, ...]:
        """``branch_in`` of a matching :class:`~sciml.physics.operator.networks.DeepONet`."""
        shape = tuple(self.arrays["branch"].shape[1:])
        return shape[0] if len(shape) == 1 else shape


@torch.no_grad()
def fit_scalers(model: torch.nn.Module, batches: Iterable[dict], *, refit: bool = False) -> None:
    """Fit the model's input, coefficient and target standardisers on training batches.

    Branch images are standardised per channel over the pixels inside ``mask_grid``;
    targets over the query points inside ``mask``. Already fitted scalers are kept (so a
    fine-tuned model keeps its source statistics) unless ``refit``.
    """
    branches, branch_masks, coefficients, targets, target_masks = [], [], [], [], []
    fields, field_masks, coords = [], [], None
    prepare = getattr(model, "prepare_branch", lambda v: v)
    for batch in batches:
        v = prepare(batch["branch"].detach().float()).double().cpu()
        if v.ndim == 4:  # (B, C, H, W) -> (B, H*W, C), statistics per channel
            branches.append(v.flatten(2).transpose(1, 2))
            branch_masks.append(batch.get("mask_grid"))
        else:
            branches.append(v)
            branch_masks.append(None)
        if "coefficients" in batch:
            coefficients.append(batch["coefficients"].detach())
        y = batch["y"].detach().double().cpu()
        targets.append(y)
        target_masks.append(batch.get("mask"))
        if getattr(model, "trunk", "mlp") == "pod":
            fields.append(y[..., 0])
            field_masks.append(batch["mask"].bool().cpu() if "mask" in batch else None)
            coords = batch["coords"].detach().double().cpu()
    if not targets:
        raise ValueError("the training data set is empty")
    plan = [
        (model.input_scaler, branches, branch_masks),
        (model.target_scaler, targets, target_masks),
    ]
    if getattr(model, "n_coefficients", 0):
        plan.append((model.coef_scaler, coefficients, None))
    for scaler, values, masks in plan:
        scaler.fit_batches(values, masks, refit=refit)
    if fields and (refit or not bool(model.pod_fitted)):
        fit_pod(model, torch.cat(fields), _cat_masks(field_masks), coords)


def _cat_masks(masks: list) -> torch.Tensor | None:
    return None if any(m is None for m in masks) else torch.cat(masks)


@torch.no_grad()
def fit_pod(
    model: torch.nn.Module,
    fields: torch.Tensor,
    mask: torch.Tensor | None,
    coords: torch.Tensor,
) -> None:
    """Fit the POD basis of a POD-DeepONet (Lu et al. 2022) on training fields.

    Parameters
    ----------
    model
        A :class:`~sciml.physics.operator.networks.DeepONet` with ``trunk="pod"`` and a
        fitted ``target_scaler``.
    fields : Tensor ``(S, N)``
        Training targets in physical units (NaN = missing).
    mask : bool Tensor ``(S, N)``, optional
        Points inside each sample's geometry; outside, the standardised field counts as 0.
    coords : Tensor ``(N, d)``
        The query points the modes live on.

    The modes are the ``p`` leading right singular vectors of the centred, standardised
    fields, scaled by ``sqrt(N)`` so that the branch outputs coefficients of order one.
    """
    n_points, p = model.pod_modes.shape
    if fields.shape[1] != n_points or len(coords) != n_points:
        raise ValueError(
            f"the POD trunk was built for {n_points} query points; the training fields have "
            f"{fields.shape[1]}"
        )
    if len(fields) < p:
        raise ValueError(f"a POD basis of p = {p} modes needs at least {p} training fields")
    scaler = model.target_scaler
    z = (fields - scaler.mean.double().cpu()[0]) / scaler.std.double().cpu()[0]
    valid = torch.isfinite(z) if mask is None else torch.isfinite(z) & mask
    z = torch.where(valid, z, torch.zeros_like(z))
    mean = z.mean(0)
    _, _, vh = torch.linalg.svd(z - mean, full_matrices=False)
    modes = vh[:p].T * n_points**0.5
    model.pod_modes.copy_(modes.to(model.pod_modes))
    model.pod_mean.copy_(mean.to(model.pod_mean))
    model.pod_coords.copy_(coords.to(model.pod_coords))
    model.pod_fitted.fill_(True)
