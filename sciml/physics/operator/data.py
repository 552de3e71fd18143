"""Torch data sets for operator learning, built from the xarray data sets of the physics layer.

Every data set here is an :class:`OperatorDataset`: per-sample branch inputs, targets
``y`` ``(S, N, K)`` on ``N`` query points, optional point masks ``(S, N)`` and optional
coefficient vectors, plus one coordinate array ``(N, d)`` shared by all samples. Its
``collate`` puts the coordinates into every batch once (Cartesian-product layout).

Builders:

- :func:`fisher_dataset` -- Fisher-KPP: branch = initial condition ``u0`` ``(nx,)``,
  coefficients = the source coefficients ``(4,)``, coordinates ``(x, t)``;
- :func:`darcy_dataset` -- Darcy on masked geometries (and the FNO benchmark): branch = the
  permeability image ``(1, H, W)``, ``mask_grid`` = the geometry mask, coordinates ``(x, y)``;
- :func:`heat_dataset` -- 3-D heat: branch = the plate design parameters, coordinates
  ``(x, y, z)``, mask = the solid voxels.

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

__all__ = [
    "OperatorDataset",
    "fisher_dataset",
    "darcy_dataset",
    "heat_dataset",
    "heat_design_vector",
    "fit_scalers",
    "HEAT_DESIGN_FEATURES",
]

HEAT_DESIGN_FEATURES = ("source", "t_left", "t_right", "n_holes", "hole_radius")
"""Scalar plate parameters that start the heat branch vector (hole centres follow)."""


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


def _select(ds, indices):
    return ds if indices is None else ds.isel(sample=np.asarray(indices))


def fisher_dataset(ds, indices: Sequence[int] | None = None) -> OperatorDataset:
    """Fisher-KPP samples: ``u(x, t)`` from ``u0`` and the source coefficients.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`sciml.physics.problems.fisher.generate_fisher`.
    indices : sequence of int, optional
        Samples to keep (default all).

    Returns
    -------
    OperatorDataset
        coords ``(nt * nx, 2)`` as ``(x, t)`` with point ``i * nx + j`` at ``(x_j, t_i)``;
        ``y`` ``(S, nt * nx, 1)``; branch ``u0`` ``(S, nx)``; ``coefficients`` ``(S, 4)``;
        labels = family names.
    """
    ds = _select(ds, indices)
    x, t = ds["x"].values, ds["t"].values
    tt, xx = np.meshgrid(t, x, indexing="ij")
    coords = np.stack([xx.ravel(), tt.ravel()], axis=-1)
    u = ds["u"].transpose("sample", "t", "x").values
    return OperatorDataset(
        coords,
        u.reshape(len(u), -1, 1),
        ds["u0"].values,
        grid_shape=(t.size, x.size),
        labels=ds["family"].values,
        coefficients=ds["coefficients"].values,
    )


def darcy_dataset(ds, indices: Sequence[int] | None = None) -> OperatorDataset:
    """Darcy samples (any geometry, or the FNO benchmark): ``u`` from ``K`` and the mask.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`~sciml.physics.problems.darcy.generate_darcy` or
        :func:`~sciml.physics.problems.darcy.generate_darcy_fno`.
    indices : sequence of int, optional
        Samples to keep (default all).

    Returns
    -------
    OperatorDataset
        coords ``(H * W, 2)`` as ``(x, y)`` in C order of ``(H, W)``; ``y`` ``(S, H * W, 1)``;
        ``mask`` ``(S, H * W)``; branch ``K`` ``(S, 1, H, W)``; ``mask_grid`` ``(S, H, W)``;
        labels = geometry names (``"square"`` for the FNO benchmark).
    """
    ds = _select(ds, indices)
    x, y = ds["x"].values, ds["y"].values
    xx, yy = np.meshgrid(x, y, indexing="ij")
    coords = np.stack([xx.ravel(), yy.ravel()], axis=-1)
    k = ds["K"].transpose("sample", "x", "y").values
    mask = ds["mask"].transpose("sample", "x", "y").values.astype(bool)
    u = ds["u"].transpose("sample", "x", "y").values
    s = len(u)
    labels = ds["geometry"].values if "geometry" in ds else np.array(["square"] * s)
    return OperatorDataset(
        coords,
        u.reshape(s, -1, 1),
        k[:, None],
        mask.reshape(s, -1),
        grid_shape=(x.size, y.size),
        labels=labels,
        mask_grid=mask,
    )


def heat_design_vector(ds) -> np.ndarray:
    """Branch vectors of plate designs ``(S, 5 + 2 * MAX_HOLES)``.

    The scalars :data:`HEAT_DESIGN_FEATURES` then the hole centres sorted by ``x``; absent
    holes (NaN padding) become ``-1``, outside the plate, so every entry is finite.
    """
    scalars = np.stack([ds[name].values.astype(float) for name in HEAT_DESIGN_FEATURES], axis=1)
    centers = ds["hole_center"].values.copy()
    key = np.where(np.isnan(centers[..., 0]), np.inf, centers[..., 0])
    order = np.argsort(key, axis=1)
    centers = np.take_along_axis(centers, order[..., None], axis=1)
    centers = np.nan_to_num(centers, nan=-1.0).reshape(len(centers), -1)
    return np.concatenate([scalars, centers], axis=1)


def heat_dataset(ds, indices: Sequence[int] | None = None) -> OperatorDataset:
    """3-D heat samples: temperature from the plate design parameters.

    Returns
    -------
    OperatorDataset
        coords ``(nx * ny * nz, 3)``; ``y`` ``(S, N, 1)``; ``mask`` ``(S, N)`` solid voxels;
        branch = :func:`heat_design_vector`.
    """
    ds = _select(ds, indices)
    axes = [ds[a].values for a in ("x", "y", "z")]
    mesh = np.meshgrid(*axes, indexing="ij")
    coords = np.stack([m.ravel() for m in mesh], axis=-1)
    temperature = ds["T"].transpose("sample", "x", "y", "z").values
    mask = ds["mask"].transpose("sample", "x", "y", "z").values.astype(bool)
    s = len(temperature)
    return OperatorDataset(
        coords,
        temperature.reshape(s, -1, 1),
        heat_design_vector(ds),
        mask.reshape(s, -1),
        grid_shape=tuple(a.size for a in axes),
        labels=["plate"] * s,
    )


@torch.no_grad()
def fit_scalers(model: torch.nn.Module, batches: Iterable[dict], *, refit: bool = False) -> None:
    """Fit the model's input, coefficient and target standardisers on training batches.

    Branch images are standardised per channel over the pixels inside ``mask_grid``;
    targets over the query points inside ``mask``. Already fitted scalers are kept (so a
    fine-tuned model keeps its source statistics) unless ``refit``.
    """
    branches, branch_masks, coefficients, targets, target_masks = [], [], [], [], []
    for batch in batches:
        v = batch["branch"].detach().double().cpu()
        if v.ndim == 4:  # (B, C, H, W) -> (B, H*W, C), statistics per channel
            branches.append(v.flatten(2).transpose(1, 2).reshape(-1, v.shape[1]))
            if "mask_grid" in batch:
                branch_masks.append(batch["mask_grid"].bool().cpu().reshape(-1))
        else:
            branches.append(v)
        if "coefficients" in batch:
            coefficients.append(batch["coefficients"].detach().double().cpu())
        y = batch["y"].detach().double().cpu()
        targets.append(y.reshape(-1, y.shape[-1]))
        if "mask" in batch:
            target_masks.append(batch["mask"].bool().cpu().reshape(-1))
    if not targets:
        raise ValueError("the training data set is empty")
    plan = [
        (model.input_scaler, branches, branch_masks),
        (model.target_scaler, targets, target_masks),
    ]
    if getattr(model, "n_coefficients", 0):
        plan.append((model.coef_scaler, coefficients, []))
    for scaler, values, masks in plan:
        if bool(scaler.fitted) and not refit:
            continue
        mask = torch.cat(masks) if masks and len(masks) == len(values) else None
        scaler.fit(torch.cat(values), mask=mask)
