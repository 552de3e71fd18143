"""Darcy flow on any shape a user draws: data, training, prediction, physics-only adaptation.

The shipped model ``darcy-any-shape`` (``sciml/assets/darcy_any_shape.pt``) is a grid
operator (:mod:`sciml.physics.operator.grid`) trained on random polygons with 0 to 3 holes and
random permeability ``K = exp(GRF)``, solved with the project's second-order cut-cell solver.
:class:`AnyShapeDarcy` applies it to a shape from a file (GeoJSON, CSV, PNG, npy, netCDF), a
named shape, a DeepXDE geometry or a mask:

>>> model = AnyShapeDarcy.load_shipped()  # doctest: +SKIP
>>> u = model.predict("plate.geojson")  # doctest: +SKIP
>>> u.attrs["in_domain"], u.attrs["domain_reason"]  # doctest: +SKIP

Every prediction is checked against the training set (:class:`ShapeDescriptor`): a shape
whose area, perimeter, hole count, thickness or nearest training mask is unlike anything
seen gets ``in_domain = False`` with the reason, and so does a ``K`` whose contrast lies
outside the training range (the level of ``K`` is exact: ``u(cK) = u(K) / c``).

:meth:`AnyShapeDarcy.adapt` fine-tunes the network on one shape with the discretised PDE
alone -- the residual of the Shortley--Weller equations ``A u = f`` (the boundary condition is
exact by construction) -- without solving them.

Equation: ``-div(K grad u) = f`` in the domain, ``u = 0`` on its boundary, ``f = 1``, on a
``64 x 64`` node grid over the unit square.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from sciml.physics.operator.grid import GridOperator, shape_channels

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "SHIPPED_MODELS",
    "ShapeDescriptor",
    "shape_features",
    "generate_any_shape",
    "training_arrays",
    "FitConfig",
    "fit_grid_operator",
    "relative_l2",
    "AnyShapeDarcy",
]

SHIPPED_MODELS = {"darcy-any-shape": "darcy_any_shape.pt"}
"""Shipped operator names (for ``sciml pde predict --model NAME``) and their asset files."""


# --------------------------------------------------------------------------- data


def generate_any_shape(
    n_geometries: int,
    k_per_geometry: int = 1,
    *,
    resolution: int = 64,
    seed: int = 0,
    max_holes: int = 3,
    progress: bool = False,
) -> xr.Dataset:
    """Darcy solutions on ``n_geometries`` random polygons, ``k_per_geometry`` ``K`` fields each.

    Geometries come from :func:`~sciml.physics.data.geometry.random_polygons` (seed
    ``seed``, 0 to ``max_holes`` holes, resolved on the grid); the solutions from
    :func:`~sciml.physics.problems.darcy.generate_darcy` (``K = exp(GRF)``, ``f = 1``,
    Shortley--Weller boundary, seed ``seed + 1``), sample ``i`` on geometry
    ``i % n_geometries``.
    """
    from sciml.physics.data.geometry import random_polygons
    from sciml.physics.problems.darcy import DarcyConfig, generate_darcy

    if n_geometries < 1 or k_per_geometry < 1:
        raise ValueError(
            f"need n_geometries, k_per_geometry >= 1, got {n_geometries}, {k_per_geometry}"
        )
    geometries = random_polygons(
        n_geometries, seed=seed, max_holes=max_holes, resolution=resolution
    )
    return generate_darcy(
        n_geometries * k_per_geometry,
        geometries,
        DarcyConfig(resolution=resolution),
        seed=seed + 1,
        progress=progress,
    )


def training_arrays(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """Channels ``(S, 4, H, W)``, targets ``u * exp(level)`` ``(S, H, W)`` and masks of a data set."""
    mask = ds["mask"].transpose("sample", "x", "y").values.astype(bool)
    k = ds["K"].transpose("sample", "x", "y").values
    u = ds["u"].transpose("sample", "x", "y").values
    x = ds["x"].values
    channels, level = shape_channels(mask, np.log(k), float(x[1] - x[0]))
    return {
        "channels": channels,
        "target": (u * np.exp(level)[:, None, None]).astype(np.float32),
        "mask": mask,
        "level": level,
    }


# --------------------------------------------------------------------------- training


def relative_l2(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sample relative L2 error inside the mask, ``(B,)``."""
    m = mask.to(pred.dtype)
    num = ((pred - target) ** 2 * m).flatten(1).sum(1)
    den = (target**2 * m).flatten(1).sum(1).clamp_min(1e-30)
    return torch.sqrt(num / den)


def _dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 symmetries of the square grid on the last two dimensions."""
    if k >= 4:
        x = x.transpose(-1, -2)
    return torch.rot90(x, k % 4, dims=(-2, -1))


@dataclass(frozen=True)
class FitConfig:
    """Training settings of :func:`fit_grid_operator` (budget in epochs, or CPU seconds).

    Attributes
    ----------
    epochs : int
        Passes over the training set (the one-cycle schedule spans them).
    batch_size : int
        Samples per step.
    lr : float
        Peak learning rate of AdamW's one-cycle schedule.
    weight_decay : float
        AdamW weight decay.
    seed : int
        Seeds initial weights, batch order and the random grid symmetries.
    augment : bool
        Apply a random one of the 8 symmetries of the square to each batch (exact for the PDE).
    cpu_seconds : float or None
        Stop after the epoch during which this much process CPU time was spent (for
        equal-budget comparisons); ``None``: run every epoch.
    """

    epochs: int = 40
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-5
    seed: int = 0
    augment: bool = True
    cpu_seconds: float | None = None


def fit_grid_operator(
    model: GridOperator,
    train: dict[str, np.ndarray],
    val: dict[str, np.ndarray],
    config: FitConfig,
    *,
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train ``model`` with the relative-L2 loss; keep the weights of the best validation epoch.

    Parameters
    ----------
    model
        A :class:`~sciml.physics.operator.grid.GridOperator`.
    train, val
        :func:`training_arrays` of the training and validation sets. The best epoch is
        chosen on ``val`` only.
    config
        Budget and optimiser settings.
    checkpoint
        If given, the model, optimiser, schedule, RNG and history are written there after
        every epoch (weights-only loadable) and a run that finds the file resumes from it.
    log
        Receives one line per epoch.

    Returns
    -------
    dict
        ``history`` (per epoch: train loss, validation relative L2, cumulative CPU and wall
        seconds), ``best_epoch``, ``best_val`` (mean validation relative L2), ``epochs_run``.
    """
    torch.manual_seed(config.seed)
    tensors = {k: torch.as_tensor(v) for k, v in train.items() if k != "level"}
    vtensors = {k: torch.as_tensor(v) for k, v in val.items() if k != "level"}
    n = len(tensors["channels"])
    steps_per_epoch = -(-n // config.batch_size)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.1
    )
    generator = torch.Generator().manual_seed(config.seed)
    state = {"config": asdict(config), "epoch": 0, "history": [], "best_val": float("inf"), "best_epoch": -1,
             "best_state": None, "cpu": 0.0, "wall": 0.0}
    path = Path(checkpoint) if checkpoint else None
    if path is not None and path.is_file():
        saved = torch.load(path, weights_only=True)
        stored = json.loads(saved["state"]).get("config")
        if stored != asdict(config):
            raise ValueError(
                f"{path} was written with {stored}; resuming needs the same settings, got "
                f"{asdict(config)} (delete the file to start over)"
            )
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        generator.set_state(saved["generator"])
        state.update(json.loads(saved["state"]))
        state["best_state"] = saved["best_state"]
        log(f"resumed from {path} at epoch {state['epoch']}")
    cpu0 = time.process_time() - state["cpu"]
    wall0 = time.perf_counter() - state["wall"]
    while state["epoch"] < config.epochs:
        if config.cpu_seconds is not None and state["cpu"] >= config.cpu_seconds:
            break
        model.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, config.batch_size):
            idx = order[start : start + config.batch_size]
            x, y, m = tensors["channels"][idx], tensors["target"][idx], tensors["mask"][idx]
            if config.augment:
                k = int(torch.randint(8, (1,), generator=generator))
                x, y, m = _dihedral(x, k), _dihedral(y, k), _dihedral(m, k)
            loss = relative_l2(model(x), y, m).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(idx)
        val_error = evaluate_grid_operator(model, vtensors)
        state["epoch"] += 1
        state["cpu"] = time.process_time() - cpu0
        state["wall"] = time.perf_counter() - wall0
        state["history"].append(
            {"epoch": state["epoch"], "train_rel_l2": total / n, "val_rel_l2": val_error,
             "cpu_s": round(state["cpu"], 1), "wall_s": round(state["wall"], 1)}
        )
        if val_error < state["best_val"]:
            state["best_val"], state["best_epoch"] = val_error, state["epoch"]
            state["best_state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        log(
            f"epoch {state['epoch']}/{config.epochs} train {total / n:.4f} val {val_error:.4f} "
            f"(best {state['best_val']:.4f} @ {state['best_epoch']}) cpu {state['cpu']:.0f}s "
            f"wall {state['wall']:.0f}s"
        )
        if path is not None:
            from sciml._io import atomic_path

            payload = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "generator": generator.get_state(),
                "best_state": state["best_state"],
                "state": json.dumps({k: v for k, v in state.items() if k != "best_state"}),
            }
            with atomic_path(path) as tmp:
                torch.save(payload, tmp)
    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    model.eval()
    return {
        "history": state["history"],
        "best_epoch": state["best_epoch"],
        "best_val": state["best_val"],
        "epochs_run": state["epoch"],
        "cpu_s": state["cpu"],
        "wall_s": state["wall"],
    }


@torch.no_grad()
def evaluate_grid_operator(
    model: GridOperator, data: dict, *, batch_size: int = 64, per_sample: bool = False
):
    """Mean (or per-sample) relative L2 error of ``model`` on :func:`training_arrays` output."""
    model.eval()
    data = {k: torch.as_tensor(v) for k, v in data.items() if k != "level"}
    errors = []
    for start in range(0, len(data["channels"]), batch_size):
        sl = slice(start, start + batch_size)
        errors.append(relative_l2(model(data["channels"][sl]), data["target"][sl], data["mask"][sl]))
    errors = torch.cat(errors).numpy()
    return errors if per_sample else float(errors.mean())
