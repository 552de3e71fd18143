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
    shapes: str = "polygons",
    hole_radius: tuple[float, float] = (0.05, 0.2),
    progress: bool = False,
) -> xr.Dataset:
    """Darcy solutions on ``n_geometries`` random shapes, ``k_per_geometry`` ``K`` fields each.

    Geometries come from :func:`~sciml.physics.data.geometry.random_polygons`
    (``shapes="polygons"``) or :func:`~sciml.physics.data.geometry.random_shapes`
    (``shapes="mixed"``: star polygons, unions of rectangles and plates in turn, holes of
    size ``hole_radius``; ``shapes="channels"``: the same and bent channels, four kinds in
    turn), seed ``seed``, 0 to ``max_holes`` holes, resolved on the grid; the
    solutions from
    :func:`~sciml.physics.problems.darcy.generate_darcy` (``K = exp(GRF)``, ``f = 1``,
    Shortley--Weller boundary, seed ``seed + 1``), sample ``i`` on geometry
    ``i % n_geometries``.
    """
    from sciml.physics.data.geometry import (
        ALL_SHAPE_KINDS,
        SHAPE_KINDS,
        random_polygons,
        random_shapes,
    )
    from sciml.physics.problems.darcy import DarcyConfig, generate_darcy

    if n_geometries < 1 or k_per_geometry < 1:
        raise ValueError(
            f"need n_geometries, k_per_geometry >= 1, got {n_geometries}, {k_per_geometry}"
        )
    if shapes == "polygons":
        geometries = random_polygons(
            n_geometries, seed=seed, max_holes=max_holes, resolution=resolution
        )
    elif shapes in ("mixed", "channels"):
        geometries = random_shapes(
            n_geometries,
            seed=seed,
            max_holes=max_holes,
            resolution=resolution,
            hole_radius=hole_radius,
            kinds=SHAPE_KINDS if shapes == "mixed" else ALL_SHAPE_KINDS,
        )
    else:
        raise ValueError(f"unknown shapes {shapes!r}; choose one of polygons, mixed, channels")
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
    state = {
        "config": asdict(config),
        "epoch": 0,
        "history": [],
        "best_val": float("inf"),
        "best_epoch": -1,
        "best_state": None,
        "cpu": 0.0,
        "wall": 0.0,
    }
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
            {
                "epoch": state["epoch"],
                "train_rel_l2": total / n,
                "val_rel_l2": val_error,
                "cpu_s": round(state["cpu"], 1),
                "wall_s": round(state["wall"], 1),
            }
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
        errors.append(
            relative_l2(model(data["channels"][sl]), data["target"][sl], data["mask"][sl])
        )
    errors = torch.cat(errors).numpy()
    return errors if per_sample else float(errors.mean())


# --------------------------------------------------------------------------- descriptors

FEATURES = ("area", "perimeter", "holes", "parts", "max_distance", "mean_distance", "compactness")
"""Scalar features of :func:`shape_features`, in column order."""

_INTEGER_FEATURES = ("holes", "parts")
_DOMAIN_MARGIN = 0.1
"""Scalar features count as seen within ``[min, max]`` widened by this fraction of the range
(integer features: exactly within their training range)."""

_IOU_GRID = 32
"""Masks are compared with the training masks on a ``32 x 32`` subsample of the grid."""


def shape_features(mask: np.ndarray, spacing: float) -> np.ndarray:
    """Geometry descriptor of each mask: ``(S, 7)`` values in the order of :data:`FEATURES`.

    Area (nodes inside times ``h^2``), perimeter (node links crossing the boundary, grid
    frame included, times ``h``), holes and parts (as the resolution check counts them),
    largest and mean distance to the boundary inside, and compactness ``4 pi area /
    perimeter^2`` (1 for a disk, small for thin or ragged shapes).
    """
    from sciml.physics.data.geometry import boundary_distance, topology

    mask = np.asarray(mask, dtype=bool)
    mask = mask[None] if mask.ndim == 2 else mask
    axis = np.arange(mask.shape[1]) * spacing
    rows = []
    for m in mask:
        padded = np.pad(m, 1)
        links = np.count_nonzero(np.diff(padded, axis=0)) + np.count_nonzero(
            np.diff(padded, axis=1)
        )
        area = m.sum() * spacing**2
        perimeter = links * spacing
        parts, holes = topology(m)
        d = boundary_distance(m, (axis, np.arange(m.shape[1]) * spacing))[m]
        rows.append(
            [
                area,
                perimeter,
                holes,
                parts,
                d.max(),
                d.mean(),
                4 * np.pi * area / max(perimeter, 1e-12) ** 2,
            ]
        )
    return np.asarray(rows, dtype=float)


def _iou_masks(mask: np.ndarray) -> np.ndarray:
    """Masks ``(S, H, W)`` subsampled to about ``32 x 32``, as booleans."""
    step = max(1, mask.shape[-1] // _IOU_GRID)
    return np.asarray(mask, dtype=bool)[..., ::step, ::step]


@dataclass(frozen=True, eq=False)
class ShapeDescriptor:
    """What the training shapes looked like, to tell a user's shape apart from them.

    Attributes
    ----------
    spacing : float
        Node spacing of the masks.
    lower, upper : tuple of float
        Training range of each of :data:`FEATURES`.
    masks : numpy.ndarray
        The training masks, subsampled (``(N, h, w)`` booleans), for the nearest-mask IoU.
    min_iou : float
        A shape whose best IoU with a training mask is below this is out of domain; set by
        :meth:`calibrate` from held-out shapes of the training distribution.
    """

    spacing: float
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    masks: np.ndarray
    min_iou: float = 0.0

    @classmethod
    def fit(cls, masks: np.ndarray, spacing: float) -> ShapeDescriptor:
        """Describe the training masks ``(S, H, W)`` (duplicates are kept once)."""
        masks = np.asarray(masks, dtype=bool)
        unique = np.unique(masks.reshape(len(masks), -1), axis=0).reshape(-1, *masks.shape[1:])
        features = shape_features(unique, spacing)
        return cls(spacing, tuple(features.min(0)), tuple(features.max(0)), _iou_masks(unique))

    def nearest_iou(self, mask: np.ndarray) -> np.ndarray:
        """Best intersection-over-union of each mask ``(S, H, W)`` with a training mask, ``(S,)``.

        Both are compared on the subsampled grid; a mask of another grid size raises.
        """
        query = _iou_masks(np.asarray(mask, dtype=bool))
        if query.shape[-2:] != self.masks.shape[-2:]:
            raise ValueError(
                f"mask of shape {np.shape(mask)[-2:]} does not subsample to the training "
                f"masks' {self.masks.shape[-2:]}"
            )
        query = query.reshape(-1, 1, *query.shape[-2:])
        inter = (query & self.masks[None]).sum((-1, -2))
        union = (query | self.masks[None]).sum((-1, -2))
        return (inter / np.maximum(union, 1)).max(axis=1)

    def calibrate(self, masks: np.ndarray, quantile: float = 0.01) -> ShapeDescriptor:
        """The descriptor with ``min_iou`` set to a low quantile of held-out shapes' nearest IoU.

        ``masks`` are validation shapes of the training distribution (never test shapes):
        about ``1 - quantile`` of such shapes then count as in domain.
        """
        iou = self.nearest_iou(masks)
        return ShapeDescriptor(
            self.spacing, self.lower, self.upper, self.masks, float(np.quantile(iou, quantile))
        )

    def check(self, mask: np.ndarray) -> tuple[bool, list[str]]:
        """Whether one mask ``(H, W)`` is like the training shapes, and the reasons if not."""
        values = shape_features(mask, self.spacing)[0]
        reasons = []
        for name, v, lo, hi in zip(FEATURES, values, self.lower, self.upper, strict=True):
            if name in _INTEGER_FEATURES:
                ok = lo <= v <= hi
                seen = f"{int(lo)} to {int(hi)}"
                shown = f"{int(v)}"
            else:
                margin = _DOMAIN_MARGIN * max(hi - lo, 1e-12)
                ok = lo - margin <= v <= hi + margin
                seen = f"{lo:.3g} to {hi:.3g}"
                shown = f"{v:.3g}"
            if not ok:
                reasons.append(f"{name} {shown} outside the training range {seen}")
        iou = float(self.nearest_iou(mask[None])[0])
        if iou < self.min_iou:
            reasons.append(
                f"nearest training shape overlaps only {iou:.2f} (IoU); held-out training-like "
                f"shapes reach at least {self.min_iou:.2f}"
            )
        return not reasons, reasons

    def to_state(self) -> dict:
        """Weights-only-loadable form (JSON text and a packed boolean tensor)."""
        meta = {
            "spacing": self.spacing,
            "lower": list(self.lower),
            "upper": list(self.upper),
            "min_iou": self.min_iou,
            "mask_shape": list(self.masks.shape),
        }
        packed = np.packbits(self.masks.reshape(-1))
        return {"meta": json.dumps(meta), "masks": torch.from_numpy(packed)}

    @classmethod
    def from_state(cls, state: dict) -> ShapeDescriptor:
        """Inverse of :meth:`to_state`."""
        meta = json.loads(state["meta"])
        shape = tuple(meta["mask_shape"])
        bits = np.unpackbits(state["masks"].numpy())[: int(np.prod(shape))]
        return cls(
            meta["spacing"],
            tuple(meta["lower"]),
            tuple(meta["upper"]),
            bits.reshape(shape).astype(bool),
            meta["min_iou"],
        )


# --------------------------------------------------------------------------- the model


def _grid_values(
    value: float | np.ndarray | Callable[[np.ndarray], np.ndarray], grid, name: str
) -> np.ndarray:
    if callable(value):
        value = np.asarray(value(grid.points()), dtype=float).reshape(grid.shape)
    value = np.asarray(value, dtype=float)
    if value.ndim and value.shape != grid.shape:
        raise ValueError(
            f"{name} has shape {value.shape}; expected a constant, a function of points or "
            f"{grid.shape} values on the model's grid"
        )
    return np.array(np.broadcast_to(value, grid.shape))


#: Loss norms of :meth:`AnyShapeDarcy.adapt`.
ADAPT_LOSSES = ("amg", "multilevel-l2", "multilevel", "jacobi")
#: Unknowns up to which :func:`amg_preconditioner` may form its dense matrix (128 MiB).
_AMG_DENSE_MAX = 4096


def amg_preconditioner(matrix) -> np.ndarray:
    """One smoothed-aggregation AMG V-cycle (pyamg) for ``matrix``, as a dense matrix ``B``.

    ``B`` approximates ``A^-1``, so ``|B r|`` with ``r = A u - f`` measures the error
    ``u - A^-1 f`` in the L2 norm without solving ``A u = f``: in
    ``benchmarks/results/operators_any_shape.md`` the estimate is within 10% of the solver's
    error on every test family, while one V-cycle applied to ``f`` alone is 1.8-18.5% off the
    solution (so ``B`` is not a solver in disguise). Dense because the
    loss needs ``B^T`` for its gradient and pyamg gives only ``B``; limited to
    ``_AMG_DENSE_MAX`` unknowns (the shipped model's 64 x 64 grid has at most 4096).
    """
    n = matrix.shape[0]
    if n > _AMG_DENSE_MAX:
        raise ValueError(
            f"the AMG loss forms a dense {n} x {n} preconditioner; at most {_AMG_DENSE_MAX} "
            "unknowns are supported (use loss_kind='multilevel-l2' on finer grids)"
        )
    return np.asarray(_vcycle(matrix).matmat(np.eye(n)))


def _vcycle(matrix):
    """One smoothed-aggregation V-cycle for ``matrix`` as a scipy ``LinearOperator``."""
    import pyamg

    solver = pyamg.smoothed_aggregation_solver(matrix.tocsr(), symmetry="nonsymmetric")
    return solver.aspreconditioner(cycle="V")


def _off_frame(mask: np.ndarray) -> np.ndarray:
    """1 inside the grid, 0 on its outer frame.

    A domain node on the frame of the unit square lies on the boundary, where ``u = 0``
    exactly (as in the solver).
    """
    keep = np.zeros(mask.shape)
    keep[1:-1, 1:-1] = 1.0
    return keep


class AnyShapeDarcy:
    """A trained grid operator for Darcy flow on any 2-D shape, with its training domain.

    Parameters
    ----------
    model : GridOperator
        The network (:mod:`sciml.physics.operator.grid`).
    resolution : int
        Nodes per direction of its grid on the unit square.
    descriptor : ShapeDescriptor
        The training shapes (:meth:`ShapeDescriptor.fit`, calibrated on validation shapes).
    contrast : (float, float)
        Training range of ``log K - mean(log K)`` inside the domain.
    info : dict, optional
        Provenance (command, data, budget, scores), stored in the checkpoint.
    """

    def __init__(
        self,
        model: GridOperator,
        resolution: int,
        descriptor: ShapeDescriptor,
        contrast: Sequence[float],
        info: dict | None = None,
    ):
        from sciml.physics.data.geometry import Grid

        self.model = model.eval()
        self.resolution = int(resolution)
        self.grid = Grid.uniform((self.resolution, self.resolution))
        self.spacing = 1.0 / (self.resolution - 1)
        self.descriptor = descriptor
        self.contrast = (float(contrast[0]), float(contrast[1]))
        self.info = dict(info or {})

    # ------------------------------------------------------------------ io
    def save(self, path: str | Path) -> Path:
        """Write a weights-only checkpoint: network, grid, training domain and provenance."""
        from sciml.train import save_checkpoint

        extra = {
            "any_shape": json.dumps(
                {"resolution": self.resolution, "contrast": list(self.contrast), "info": self.info}
            ),
            "descriptor": self.descriptor.to_state(),
        }
        return save_checkpoint(path, self.model, extra=extra)

    @classmethod
    def load(cls, path: str | Path) -> AnyShapeDarcy:
        """Rebuild from :meth:`save` output (``torch.load(weights_only=True)``)."""
        from sciml.physics.operator.grid import FNOOperator, UNetOperator
        from sciml.train import CheckpointError, load_checkpoint, rebuild_model

        payload = load_checkpoint(path)
        if "any_shape" not in payload["extra"]:
            raise CheckpointError(f"{path} is not an any-shape Darcy model (no 'any_shape' entry)")
        model = rebuild_model(payload, expected=(UNetOperator, FNOOperator), source=path)
        meta = json.loads(payload["extra"]["any_shape"])
        descriptor = ShapeDescriptor.from_state(payload["extra"]["descriptor"])
        return cls(model, meta["resolution"], descriptor, meta["contrast"], meta["info"])

    @classmethod
    def load_shipped(cls, name: str = "darcy-any-shape") -> AnyShapeDarcy:
        """A model shipped in ``sciml/assets`` by its name in :data:`SHIPPED_MODELS`."""
        from importlib.resources import files

        from sciml._resolve import resolve

        filename = resolve("shipped model", name, SHIPPED_MODELS)
        return cls.load(Path(str(files("sciml") / "assets" / filename)))

    # ---------------------------------------------------------------- inputs
    def mask_of(self, geometry) -> np.ndarray:
        """The domain on the model's grid, ``(H, W)`` booleans, from any geometry input.

        ``geometry``: a boolean array on the model's grid, a shape name
        (:data:`~sciml.physics.data.geometry.SHAPES`), a geometry file (GeoJSON, CSV, PNG,
        npy, netCDF; a 3-D file is refused before it is read) or a DeepXDE geometry. It is
        rasterised with the resolution check of the solver.
        """
        from sciml.physics.data.geometry import rasterize

        return rasterize(self.geometry(geometry), self.grid)

    @staticmethod
    def geometry(geometry):
        """A 2-D DeepXDE geometry from a mask array, a name, a file or a geometry.

        A mask array (nonzero inside; node values of a grid over the unit square, any size)
        gets the checks a mask file gets; a 3-D file or array is refused before any work.
        """
        from sciml.physics.errors import GeometryError

        if isinstance(geometry, np.ndarray):
            from sciml.physics.data.geometry_io import mask_from_values

            if geometry.ndim != 2:
                raise GeometryError(
                    f"the mask array has {geometry.ndim} dimension(s) {geometry.shape}; this "
                    "model is 2-D: give mask[i, j] at (x_i, y_j)"
                )
            shape = mask_from_values(geometry, "the mask array")
        else:
            from sciml.physics.problems import get_problem

            shape = get_problem("darcy")._geometry(geometry)[0]
        if shape.dim != 2:
            raise GeometryError(f"a {shape.dim}-D geometry; this model is 2-D")
        return shape

    def channels(self, mask: np.ndarray, permeability) -> tuple[np.ndarray, float, np.ndarray]:
        """Network input ``(1, 4, H, W)``, the ``log K`` level and ``K`` on the grid."""
        k = _grid_values(permeability, self.grid, "permeability")
        bad = mask & ~(np.isfinite(k) & (k > 0))
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"the permeability K must be finite and strictly positive in the domain; "
                f"{int(bad.sum())} node(s) are not, the first at node {first}"
            )
        # Outside the domain K only enters the solver's interpolation to the boundary
        # crossings; values that are not usable there become NaN, which the cut-cell
        # assembly replaces by K of the node inside (as the reference solver does).
        k = np.where(mask | ((k > 0) & np.isfinite(k)), k, np.nan)
        channels, level = shape_channels(
            mask[None], np.log(np.where(mask, k, 1.0))[None], self.spacing
        )
        return channels, float(level[0]), k

    def in_domain(self, mask: np.ndarray, k: np.ndarray, level: float) -> tuple[bool, list[str]]:
        """Whether the shape and the ``K`` contrast are like the training data, with reasons."""
        ok, reasons = self.descriptor.check(mask)
        contrast = np.log(k[mask]) - level
        lo, hi = self.contrast
        margin = _DOMAIN_MARGIN * (hi - lo)
        if contrast.min() < lo - margin or contrast.max() > hi + margin:
            reasons.append(
                f"log K contrast {contrast.min():.2f} to {contrast.max():.2f} outside the "
                f"training range {lo:.2f} to {hi:.2f} (the level of K is exact: u(cK) = u(K)/c)"
            )
        return not reasons, reasons

    # --------------------------------------------------------------- predict
    def predict(self, geometry, permeability=1.0):
        """Pressure on the model's grid for one shape; NaN outside it.

        Parameters
        ----------
        geometry
            See :meth:`mask_of`.
        permeability
            ``K > 0``: a constant, ``(H, W)`` values on the grid, or a function of points
            ``(m, 2)``.

        Returns
        -------
        xarray.DataArray
            ``u`` with dims ``(x, y)``; attributes ``in_domain`` (``1``/``0``) and
            ``domain_reason`` (empty when in domain). An out-of-domain shape also warns
            (:class:`~sciml.physics.errors.OutOfDomainWarning`).

        Raises
        ------
        NonFiniteOutputError
            If the network returns NaN or infinite values.
        """
        import warnings

        import xarray as xr

        from sciml.physics.errors import OutOfDomainWarning, check_finite_output

        mask = self.mask_of(geometry)
        channels, level, k = self.channels(mask, permeability)
        with torch.inference_mode():
            raw = self.model(torch.as_tensor(channels))[0].numpy()
        check_finite_output(raw, "the any-shape Darcy network")
        u = np.where(mask, raw / np.exp(level) * _off_frame(mask), np.nan)
        ok, reasons = self.in_domain(mask, k, level)
        if not ok:
            warnings.warn(
                "the shape or K is unlike the training data (" + "; ".join(reasons) + "); the "
                "prediction is an extrapolation, see in_domain",
                OutOfDomainWarning,
                stacklevel=2,
            )
        axis = self.grid.axes[0]
        return xr.DataArray(
            u,
            dims=("x", "y"),
            coords={"x": axis, "y": axis, "in_domain": ok},
            name="u",
            attrs={
                "domain_reason": "; ".join(reasons),
                "equation": "-div(K grad u) = 1, u = 0 on the boundary",
            },
        )

    # ----------------------------------------------------------------- adapt
    def residual_operator(self, geometry, permeability=1.0):
        """The discrete PDE on this shape, and what the network reads.

        Returns ``A`` (Shortley--Weller, for ``K / K_level``, CSR), the unknown nodes, the
        network input, the ``log K`` level and the mask. Assembling ``A`` solves nothing.
        """
        from sciml.physics.data._cutcell import assemble_cut_cell, cut_cells, interior_nodes
        from sciml.physics.data.geometry import rasterize

        shape = self.geometry(geometry)
        mask = rasterize(shape, self.grid)
        channels, level, k = self.channels(mask, permeability)
        unknown = interior_nodes(shape, self.grid, check=False)
        cut = cut_cells(shape, self.grid, unknown)
        matrix, _ = assemble_cut_cell(k / np.exp(level), unknown, (self.spacing,) * 2, cut)
        return matrix.tocsr(), unknown, channels, level, mask

    def estimate_error(self, geometry, permeability=1.0) -> float:
        """The relative L2 error of :meth:`predict` on this shape, estimated without a solver.

        ``|B (A u - f)| / |B f|`` for the network's ``u``, with ``A`` the Shortley--Weller
        equations on the shape and ``B`` one AMG V-cycle (see :meth:`adapt`): ``B A`` is
        close to the identity, so this tracks the true error (compared with the
        reference solver in ``benchmarks/results/operators_any_shape.md``). Well under a
        second on the 64 x 64 grid.
        """
        matrix, unknown, channels, _, _ = self.residual_operator(geometry, permeability)
        with torch.no_grad():
            raw = self.model.eval()(torch.as_tensor(channels))[0].double().numpy()
        u = raw.reshape(-1)[np.flatnonzero(unknown.reshape(-1))]
        source = np.ones(len(u))
        vcycle = _vcycle(matrix)
        return float(
            np.linalg.norm(vcycle @ (matrix @ u - source)) / np.linalg.norm(vcycle @ source)
        )

    def adapt(
        self,
        geometry,
        permeability=1.0,
        *,
        steps: int = 1000,
        lr: float = 3e-4,
        cpu_seconds: float = 120.0,
        reference: np.ndarray | None = None,
        log: Callable[[str], None] | None = None,
        loss_kind: str = "amg",
        parameters: str = "all",
        anchor: float = 0.0,
    ) -> tuple[AnyShapeDarcy, list[dict]]:
        """Fine-tune a copy of the network on one shape with the PDE residual alone.

        The loss is the residual ``r = A u - f`` of the Shortley--Weller equations on the
        shape (``f = 1``), preconditioned by one algebraic-multigrid V-cycle ``B``
        (:func:`amg_preconditioner`): ``|B r|^2 / |B f|^2``. Because ``B`` approximates
        ``A^-1``, this is close to the squared relative L2 error of ``u``
        itself, so lowering the loss lowers the error, and ``sqrt(loss)`` (logged as
        ``estimated_rel_l2``) estimates the error without the solver. ``u = 0`` on the
        boundary holds by construction of the network, so no boundary term is needed. No
        solution of ``A u = f`` is computed.

        The older norms stay for comparison: ``"multilevel-l2"`` / ``"multilevel"``
        (``h^2 sum_l w^l |S_l r|^2`` over ``2^l x 2^l`` block sums, rows scaled to an ordinary
        row's weight) and ``"jacobi"`` (``mean((D^-1 r)^2)``). They do not track the error:
        in ``benchmarks/results/operators_any_shape.md`` the multilevel loss fell 100-1000x
        while the error rose on 3 of 7 unseen families.

        The defaults (every weight, ``"amg"``, lr 3e-4, 1000 steps: about 20-30 CPU-s on one
        thread) were chosen on validation shapes in ``benchmarks/operator_any_shape.py``,
        where they took the mean error from 3.62% to 0.42% (100 steps: 0.76%);
        ``benchmarks/results/operators_any_shape.md`` reports the unseen families before and
        after, against the reference solver.

        Parameters
        ----------
        geometry, permeability
            As in :meth:`predict`.
        steps, lr
            Adam steps and learning rate.
        loss_kind
            ``"amg"`` (default), ``"multilevel-l2"``, ``"multilevel"`` or ``"jacobi"``.
        parameters
            ``"head"``: only the last (1 x 1 convolution) layer; ``"all"``: every weight.
        anchor
            Weight of a trust region around the zero-shot prediction ``u0``: ``anchor *
            mean((u - u0)^2) / mean(u0^2)`` is added to the loss (on the residual's scale, a
            10% change costs what a 10% error does at ``anchor = 1``). It keeps what the
            residual does not see from drifting; 0 (the default) adds nothing.
        cpu_seconds
            Stop when this much process CPU time is spent (the budget), if before ``steps``.
        reference
            Optional solver solution on the grid, only to log the error as it goes; it never
            enters the loss.
        log
            Receives a line every 25 steps.

        Returns
        -------
        adapted : AnyShapeDarcy
            A new model (this one is unchanged).
        history : list of dict
            Per logged step: loss, CPU seconds, ``estimated_rel_l2`` (``"amg"`` loss only:
            the square root of its residual part) and, with ``reference``, the relative L2
            error.
        """
        import copy

        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if loss_kind not in ADAPT_LOSSES:
            raise ValueError(f"loss_kind must be one of {ADAPT_LOSSES}, got {loss_kind!r}")
        if not (np.isfinite(anchor) and anchor >= 0):
            raise ValueError(f"anchor must be a finite number >= 0, got {anchor!r}")
        if parameters not in ("all", "head"):
            raise ValueError(f"parameters must be 'all' or 'head', got {parameters!r}")
        matrix, unknown, channels, level, mask = self.residual_operator(geometry, permeability)
        coo = matrix.tocoo()
        a = torch.sparse_coo_tensor(
            np.vstack([coo.row, coo.col]),
            coo.data,
            coo.shape,
            dtype=torch.float64,
            check_invariants=False,
        ).coalesce()
        inv_diag = torch.as_tensor(1.0 / matrix.diagonal())
        index = torch.as_tensor(np.flatnonzero(unknown.reshape(-1)))
        x = torch.as_tensor(channels)
        model = copy.deepcopy(self.model).train()
        trained = model.head_parameters() if parameters == "head" else list(model.parameters())
        optimizer = torch.optim.Adam(trained, lr=lr)
        history = []
        cpu0 = time.process_time()
        ref = None if reference is None else np.where(mask, reference * np.exp(level), 0.0)

        def record(step: int, loss: float, physics: float) -> None:
            entry = {"step": step, "loss": loss, "cpu_s": round(time.process_time() - cpu0, 2)}
            if loss_kind == "amg":
                entry["estimated_rel_l2"] = float(np.sqrt(physics))
            if ref is not None:
                with torch.no_grad():
                    u = model(x)[0].numpy() * _off_frame(mask)
                entry["rel_l2"] = float(np.linalg.norm((u - ref)[mask]) / np.linalg.norm(ref[mask]))
            history.append(entry)
            if log:
                log(
                    " ".join(
                        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in entry.items()
                    )
                )

        n_nodes = mask.size
        source = torch.ones(len(index), dtype=torch.float64)

        def multilevel_norm(r: torch.Tensor) -> torch.Tensor:
            # h^2 sum_l |sum-pool_{2^l}(r)|^2: the BPX multilevel approximation of r^T A^-1 r,
            # i.e. the energy norm of the error, without a solve.
            grid = torch.zeros(n_nodes, dtype=torch.float64).index_put((index,), r)
            grid = grid.reshape(1, 1, *mask.shape)
            total = grid.new_zeros(())
            level = 0
            weight = 4.0 if loss_kind == "multilevel-l2" else 1.0
            while True:
                total = total + weight**level * (grid**2).sum()
                if min(grid.shape[-2:]) < 2:
                    break
                grid = torch.nn.functional.avg_pool2d(grid, 2, ceil_mode=True) * 4.0
                level += 1
            return total * self.spacing**2

        multilevel = loss_kind.startswith("multilevel")
        with torch.no_grad():
            start = model(x)[0].reshape(-1)[index].double()
        start_scale = (start**2).mean().clamp_min(1e-30)
        diag = matrix.diagonal()
        row_scale = torch.as_tensor(np.median(diag) / diag)
        scale = multilevel_norm(source * row_scale) if multilevel else None
        if loss_kind == "amg":
            precondition = torch.as_tensor(amg_preconditioner(matrix))
            scale = (precondition @ source).square().sum()
        for step in range(steps + 1):
            u = model(x)[0].reshape(-1)[index].double()
            residual = torch.sparse.mm(a, u[:, None])[:, 0] - source
            if loss_kind == "amg":
                loss = (precondition @ residual).square().sum() / scale
            elif multilevel:
                # Rows cut short by the boundary (arms down to 1e-6 h) are divided by their
                # weight relative to an ordinary row: the same equations, without letting a
                # near-boundary node dominate the norm.
                residual = residual * row_scale
                loss = multilevel_norm(residual) / scale
            else:
                if scale is None:  # fixed: the starting prediction's mean square
                    scale = (u.detach() ** 2).mean().clamp_min(1e-30)
                loss = ((inv_diag * residual) ** 2).mean() / scale
            physics = float(loss.detach())
            if anchor:
                loss = loss + anchor * ((u - start) ** 2).mean() / start_scale
            if step % 25 == 0 or step == steps:
                record(step, float(loss.detach()), physics)
            if step == steps or time.process_time() - cpu0 >= cpu_seconds:
                if history[-1]["step"] != step:
                    record(step, float(loss.detach()), physics)
                break
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        info = {
            **self.info,
            "adapted": {
                "steps": history[-1]["step"],
                "lr": lr,
                "anchor": anchor,
                "cpu_s": history[-1]["cpu_s"],
            },
        }
        adapted = AnyShapeDarcy(model.eval(), self.resolution, self.descriptor, self.contrast, info)
        return adapted, history
