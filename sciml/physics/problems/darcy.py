r"""Darcy flow in 2-D: reference solver and operator-learning data sets.

Equation, on a domain ``Omega`` inside the unit square:

.. math:: -\nabla \cdot (K \nabla u) = f \ \text{in } \Omega, \qquad
          u = 0 \ \text{on } \partial\Omega \text{ and outside } \Omega.

Discretisation: nodes ``linspace(0, 1, n)`` in each direction; the unknowns are the nodes
strictly inside ``Omega`` (:func:`~sciml.physics.data.geometry.interior_mask`); the 5-point
finite-volume stencil uses face coefficients averaged from the two neighbouring nodes
(harmonic by default) and is solved with SuperLU. On the unit square the scheme is second
order in ``h``. On curved boundaries the Dirichlet condition is imposed where the boundary
crosses the grid lines, with the Shortley--Weller stencil of :mod:`sciml.physics.data._cutcell`
(second order, the default); ``DarcyConfig(boundary="staircase")`` keeps the older
first-order treatment (``u = 0`` at the first node outside) for comparison.

Two generators:

- :func:`generate_darcy` -- any geometry, ``K = exp(GRF)``, ``f = 1``, 100 x 100 by default;
- :func:`generate_darcy_fno` -- the FNO Darcy benchmark (Li et al., 2021): unit square,
  ``f = 1``, ``K = 12`` where a ``N(0, (-Delta + 9 I)^-2)`` field is ``>= 0`` and ``3``
  elsewhere, solved on 421 x 421 and subsampled to 85 x 85, 1000 training and 100 test
  samples. It follows the reference MATLAB pipeline (``GRF.m``, ``solve_gwf.m``): the field
  lives on cell centres, is spline-interpolated to the nodes, solved with arithmetic face
  averages, interpolated back and subsampled every 5th point. Like the reference, the spline
  step overshoots at the jumps of ``K``; the stored ``K`` is the exact 3/12 field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.interpolate import make_interp_spline

from sciml.physics.data._cutcell import (
    assemble_cut_cell,
    check_scheme,
    cut_cells,
    interior_nodes,
    scheme_attrs,
    solve_nonsymmetric,
)
from sciml.physics.data._fd import assemble_diffusion, solve_spd
from sciml.physics.data._parallel import run_samples
from sciml.physics.data.grf import gaussian_random_field, gaussian_random_field_on
from sciml.physics.problems.base import Problem

if TYPE_CHECKING:
    import xarray as xr

    from sciml.physics.data._cutcell import CutCells
    from sciml.physics.data.geometry import Geometry

__all__ = [
    "solve_darcy",
    "DarcyConfig",
    "sample_darcy",
    "generate_darcy",
    "DarcyFNOConfig",
    "sample_darcy_fno",
    "generate_darcy_fno",
    "cached_darcy_fno",
    "DarcyProblem",
    "DarcyFNOProblem",
    "WIDE_BRANCH",
]


def solve_darcy(
    permeability: np.ndarray,
    unknown: np.ndarray,
    spacing: float | tuple[float, float],
    *,
    source: float | np.ndarray = 1.0,
    face_average: str = "harmonic",
    method: str = "direct",
    cut: CutCells | None = None,
) -> np.ndarray:
    """Solve ``-div(K grad u) = f`` with ``u = 0`` at every node that is not an unknown.

    Parameters
    ----------
    permeability
        ``K`` at every node, shape ``(nx, ny)``, strictly positive.
    unknown
        Boolean mask of the nodes where ``u`` is solved for, shape ``(nx, ny)``; it must
        not touch the outer frame of the grid.
    spacing
        Node spacing ``h`` (or ``(hx, hy)``).
    source
        ``f``, a constant or an array of shape ``(nx, ny)``.
    face_average
        ``"harmonic"`` or ``"arithmetic"`` averaging of ``K`` onto cell faces.
    method
        ``"direct"`` or ``"cg"`` (see :func:`~sciml.physics.data._fd.solve_spd`).
    cut
        Boundary crossings (:func:`~sciml.physics.data._cutcell.cut_cells`): if given, ``u = 0``
        is imposed on the boundary itself with the second-order Shortley--Weller stencil
        instead of at the neighbouring nodes.

    Returns
    -------
    numpy.ndarray
        ``u`` at every node, shape ``(nx, ny)``, zero off the unknowns.

    Raises
    ------
    ValueError
        If ``K`` is not strictly positive and finite, or the masks are inconsistent.
    SolverError
        If the linear solve fails.
    """
    permeability = np.asarray(permeability, dtype=float)
    unknown = np.asarray(unknown, dtype=bool)
    if permeability.shape != unknown.shape or permeability.ndim != 2:
        raise ValueError(
            f"permeability {permeability.shape} and mask {unknown.shape} must be equal 2-D shapes"
        )
    bad = ~np.isfinite(permeability)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"the permeability K holds {int(bad.sum())} NaN or infinite value(s), the first "
            f"at node {first}; K must be finite at every node"
        )
    if permeability.min() <= 0:
        raise ValueError(
            f"the permeability K must be strictly positive; got minimum {permeability.min():.3g}"
        )
    if not unknown.any():
        raise ValueError("the mask of unknowns is empty: no interior node to solve for")
    if unknown[0].any() or unknown[-1].any() or unknown[:, 0].any() or unknown[:, -1].any():
        raise ValueError("unknowns must not touch the grid's outer frame, where u = 0 is imposed")
    return _solve_unchecked(permeability, unknown, spacing, source, face_average, method, cut)


def _solve_unchecked(
    permeability: np.ndarray,
    unknown: np.ndarray,
    spacing: float | tuple[float, float],
    source: float | np.ndarray,
    face_average: str,
    method: str,
    cut: CutCells | None = None,
) -> np.ndarray:
    spacing = (spacing, spacing) if np.isscalar(spacing) else tuple(spacing)
    if cut is not None:
        matrix, rhs_boundary = assemble_cut_cell(
            permeability, unknown, spacing, cut, face_average=face_average
        )
        f = np.broadcast_to(np.asarray(source, dtype=float), unknown.shape)[unknown]
        u = np.zeros(unknown.shape)
        u[unknown] = solve_nonsymmetric(matrix, f + rhs_boundary, method=method)
        return u
    matrix, rhs_boundary = assemble_diffusion(
        permeability, unknown, spacing, face_average=face_average
    )
    f = np.broadcast_to(np.asarray(source, dtype=float), unknown.shape)[unknown]
    u = np.zeros(unknown.shape)
    u[unknown] = solve_spd(matrix, f + rhs_boundary, method=method)
    return u


@dataclass(frozen=True)
class DarcyConfig:
    """Settings of the Darcy data set on general geometries.

    Attributes
    ----------
    resolution
        Nodes per direction on the unit square (paper default 100).
    source
        Constant forcing ``f``.
    grf_alpha, grf_tau
        Parameters of the Gaussian random field ``log K``.
    face_average
        ``"harmonic"`` or ``"arithmetic"``.
    boundary
        Dirichlet treatment on curved boundaries: ``"shortley-weller"`` (second order,
        default) or ``"staircase"`` (first order, the data sets written before it).
    """

    resolution: int = 100
    source: float = 1.0
    grf_alpha: float = 2.0
    grf_tau: float = 3.0
    face_average: str = "harmonic"
    boundary: str = "shortley-weller"

    def __post_init__(self) -> None:
        check_scheme(self.boundary)
        if self.resolution < 5:
            raise ValueError(f"resolution must be at least 5 nodes, got {self.resolution}")


def sample_darcy(
    index: int,
    seed: np.random.SeedSequence,
    config: DarcyConfig,
    masks: tuple[tuple[str, np.ndarray, np.ndarray], ...],
    cuts: tuple[CutCells | None, ...] | None = None,
) -> dict:
    """Draw and solve sample ``index``.

    ``masks`` holds ``(name, mask, unknown)`` per geometry and ``cuts`` the matching
    boundary crossings (``None``: staircase boundary).
    """
    rng = np.random.default_rng(seed)
    name, mask, unknown = masks[index % len(masks)]
    cut = cuts[index % len(masks)] if cuts else None
    x = np.linspace(0.0, 1.0, config.resolution)
    log_k = gaussian_random_field_on([x, x], rng, alpha=config.grf_alpha, tau=config.grf_tau)
    permeability = np.exp(log_k)
    u = solve_darcy(
        permeability,
        unknown,
        1.0 / (config.resolution - 1),
        source=config.source,
        face_average=config.face_average,
        cut=cut,
    )
    return {"K": permeability, "u": u, "mask": mask, "geometry": name}


def _darcy_masks(
    geometries: Mapping[str, Geometry], resolution: int, boundary: str = "staircase"
) -> tuple[tuple[tuple[str, np.ndarray, np.ndarray], ...], tuple[CutCells | None, ...]]:
    from sciml.physics.data.geometry import Grid, interior_mask, rasterize

    grid = Grid.uniform((resolution, resolution))
    masks, cuts = [], []
    for name, geom in geometries.items():
        if boundary == "staircase":
            unknown, cut = interior_mask(geom, grid), None
        else:
            unknown = interior_nodes(geom, grid)
            cut = cut_cells(geom, grid, unknown)
        masks.append((name, rasterize(geom, grid, check=False), unknown))
        cuts.append(cut)
    return tuple(masks), tuple(cuts)


def generate_darcy(
    n: int,
    geometries: Mapping[str, Geometry] | None = None,
    config: DarcyConfig | None = None,
    *,
    seed: int = 0,
    workers: int = 1,
    client: Any = None,
    progress: bool = False,
) -> xr.Dataset:
    """Generate ``n`` Darcy solutions with ``K = exp(GRF)`` on the given geometries.

    Parameters
    ----------
    n
        Number of samples.
    geometries
        Name to geometry; sample ``i`` uses the ``i % len(geometries)``-th. Default: the
        unit square. Each geometry is rasterised once, with a resolution check.
    config
        Data set settings; defaults to :class:`DarcyConfig`.
    seed, workers, client, progress
        As in :func:`sciml.physics.problems.fisher.generate_fisher`.

    Returns
    -------
    xarray.Dataset
        Dimensions ``sample``, ``x``, ``y`` (``resolution`` nodes each); variables ``K``
        ``(sample, x, y)`` permeability, ``mask`` ``(sample, x, y)`` geometry (true inside or
        on the boundary), ``u`` ``(sample, x, y)`` solution (0 outside), ``geometry`` name
        per sample. Attributes ``boundary_scheme`` and ``order`` record the Dirichlet
        treatment and its order of accuracy on curved boundaries (2 or 1).
    """
    import xarray as xr

    import sciml
    from sciml.physics.data.geometry import square

    config = config or DarcyConfig()
    geometries = dict(geometries) if geometries else {"square": square()}
    masks, cuts = _darcy_masks(geometries, config.resolution, config.boundary)
    results = run_samples(
        sample_darcy,
        seed,
        n,
        workers=workers,
        client=client,
        progress=progress,
        desc="darcy",
        config=config,
        masks=masks,
        cuts=cuts,
    )
    x = np.linspace(0.0, 1.0, config.resolution)
    dims = ("sample", "x", "y")
    return xr.Dataset(
        data_vars={
            "K": (dims, np.stack([r["K"] for r in results]), {"long_name": "permeability"}),
            "mask": (dims, np.stack([r["mask"] for r in results]), {"long_name": "in domain"}),
            "u": (dims, np.stack([r["u"] for r in results]), {"long_name": "pressure"}),
            "geometry": (("sample",), np.array([r["geometry"] for r in results], dtype=str)),
        },
        coords={"sample": np.arange(n), "x": x, "y": x},
        attrs={
            "pde": "darcy",
            "equation": "-div(K grad u) = f in Omega, u = 0 on and outside the boundary",
            "boundary_conditions": "homogeneous Dirichlet",
            "source": config.source,
            "parameters": json.dumps({**asdict(config), "geometries": list(geometries)}),
            "seed": seed,
            "solver": f"5-point finite volume, {config.face_average} face averages, "
            f"{config.boundary} Dirichlet boundary, SuperLU",
            **scheme_attrs(config.boundary),
            "sciml_version": sciml.__version__,
        },
    )


@dataclass(frozen=True)
class DarcyFNOConfig:
    """Settings of the FNO Darcy benchmark; the defaults reproduce the published data set.

    Attributes
    ----------
    resolution
        Solver grid size ``s`` (421).
    subsample
        Keep every ``subsample``-th point (5, giving 85 x 85); ``resolution - 1`` must be a
        multiple of it.
    alpha, tau
        GRF parameters of ``N(0, (-Delta + tau^2 I)^-alpha)``.
    k_high, k_low
        Permeability where the field is ``>= 0`` and ``< 0``.
    source
        Constant forcing ``f``.
    """

    resolution: int = 421
    subsample: int = 5
    alpha: float = 2.0
    tau: float = 3.0
    k_high: float = 12.0
    k_low: float = 3.0
    source: float = 1.0

    def __post_init__(self) -> None:
        if self.resolution < 5 or self.subsample < 1 or (self.resolution - 1) % self.subsample:
            raise ValueError(
                f"resolution - 1 = {self.resolution - 1} must be a positive multiple of "
                f"subsample = {self.subsample} (and resolution >= 5)"
            )
        if self.k_low <= 0 or self.k_high <= 0:
            raise ValueError(f"k_low and k_high must be positive, got {self.k_low}, {self.k_high}")

    @property
    def output_resolution(self) -> int:
        """Points per direction after subsampling."""
        return (self.resolution - 1) // self.subsample + 1


def _spline_resample(values: np.ndarray, x_from: np.ndarray, x_to: np.ndarray) -> np.ndarray:
    # Not-a-knot cubic splines along each axis in turn: MATLAB's interp2(..., 'spline').
    for axis in (0, 1):
        values = make_interp_spline(x_from, values, k=3, axis=axis)(x_to)
    return values


def sample_darcy_fno(index: int, seed: np.random.SeedSequence, config: DarcyFNOConfig) -> dict:
    """Draw and solve sample ``index`` of the FNO benchmark at full resolution, subsampled."""
    rng = np.random.default_rng(seed)
    s = config.resolution
    field_ = gaussian_random_field((s, s), rng, alpha=config.alpha, tau=config.tau)
    k_cells = np.where(field_ >= 0, config.k_high, config.k_low)
    centres = (np.arange(s) + 0.5) / s
    nodes = np.linspace(0.0, 1.0, s)
    k_nodes = _spline_resample(k_cells, centres, nodes)
    unknown = np.zeros((s, s), dtype=bool)
    unknown[1:-1, 1:-1] = True
    # The reference interpolates the 3/12 field with splines, which over- and undershoot at
    # the jumps (occasionally below zero next to the boundary); reproducing the benchmark
    # means keeping that, so the positivity check of solve_darcy is skipped here only.
    u_nodes = _solve_unchecked(
        k_nodes, unknown, 1.0 / (s - 1), config.source, "arithmetic", "direct"
    )
    u_cells = _spline_resample(u_nodes, nodes, centres)
    keep = slice(None, None, config.subsample)
    return {"K": k_cells[keep, keep], "u": u_cells[keep, keep]}


def generate_darcy_fno(
    n_train: int = 1000,
    n_test: int = 100,
    config: DarcyFNOConfig | None = None,
    *,
    seed: int = 0,
    workers: int = 1,
    client: Any = None,
    progress: bool = False,
) -> xr.Dataset:
    """Generate the FNO Darcy benchmark: ``n_train`` then ``n_test`` samples.

    Parameters
    ----------
    n_train, n_test
        Sizes of the two splits (published: 1000 and 100).
    config
        Benchmark settings; defaults to :class:`DarcyFNOConfig`.
    seed, workers, client, progress
        As in :func:`sciml.physics.problems.fisher.generate_fisher`.

    Returns
    -------
    xarray.Dataset
        Dimensions ``sample`` (``n_train + n_test``), ``x``, ``y`` (85 each by default, at
        the cell centres ``(5 k + 1/2) / 421``). Variables ``K``, ``u``, ``mask`` (all true)
        ``(sample, x, y)`` and ``split`` (``"train"``/``"test"``) per sample.
    """
    config = config or DarcyFNOConfig()
    if n_train < 0 or n_test < 0 or n_train + n_test < 1:
        raise ValueError(
            f"need n_train, n_test >= 0 with a positive total, got {n_train}, {n_test}"
        )
    results = run_samples(
        sample_darcy_fno,
        seed,
        n_train + n_test,
        workers=workers,
        client=client,
        progress=progress,
        desc="darcy_fno",
        config=config,
    )
    stacked = {key: np.stack([r[key] for r in results]) for key in ("K", "u")}
    return _darcy_fno_dataset(stacked, config, n_train, n_test, seed)


def _darcy_fno_dataset(
    stacked: dict[str, np.ndarray], config: DarcyFNOConfig, n_train: int, n_test: int, seed: int
) -> xr.Dataset:
    import xarray as xr

    import sciml

    n = n_train + n_test
    x = ((np.arange(config.resolution) + 0.5) / config.resolution)[:: config.subsample]
    dims = ("sample", "x", "y")
    k = stacked["K"]
    return xr.Dataset(
        data_vars={
            "K": (dims, k, {"long_name": "permeability"}),
            "mask": (dims, np.ones(k.shape, dtype=bool), {"long_name": "in domain"}),
            "u": (dims, stacked["u"], {"long_name": "pressure"}),
            "split": (("sample",), np.array(["train"] * n_train + ["test"] * n_test)),
        },
        coords={"sample": np.arange(n), "x": x, "y": x},
        attrs={
            "pde": "darcy_fno",
            "equation": "-div(K grad u) = 1 on the unit square, u = 0 on the boundary",
            "boundary_conditions": "homogeneous Dirichlet",
            "source": config.source,
            "parameters": json.dumps({**asdict(config), "n_train": n_train, "n_test": n_test}),
            "seed": seed,
            "solver": "5-point finite differences, arithmetic face averages, SuperLU "
            "(FNO reference pipeline: cell-centred field, spline to nodes and back)",
            "order": 2,
            "sciml_version": sciml.__version__,
        },
    )


def cached_darcy_fno(
    n_train: int = 1000,
    n_test: int = 100,
    config: DarcyFNOConfig | None = None,
    *,
    seed: int = 0,
    folder: str | Path | None = None,
    chunk_size: int = 50,
    workers: int = 1,
    client: Any = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    partial: bool = False,
) -> xr.Dataset:
    """:func:`generate_darcy_fno`, made once and cached under a hash of its settings.

    The file is ``<folder>/darcy_fno-<hash>.nc`` (default folder
    :func:`~sciml.physics.data.cache.data_cache_dir`, under ``sciml.data.cache_dir()``); the
    hash covers ``config``, ``n_train``, ``n_test`` and ``seed``, so any change makes a new
    file. Generation runs in chunks of ``chunk_size`` samples, each written atomically, and
    an interrupted run resumes where it stopped (:func:`~sciml.physics.data.cache.cached_samples`).
    The result is identical to ``generate_darcy_fno(n_train, n_test, config, seed=seed)``.
    At the published size (421 x 421) one sample takes about 0.8 s on one core.
    ``partial=True`` generates nothing and returns the leading samples written so far by an
    unfinished run (attribute ``complete = 0``; the ``split`` labels follow the sample index).
    """
    from sciml.physics.data.cache import cached_samples

    config = config or DarcyFNOConfig()
    if n_train < 0 or n_test < 0 or n_train + n_test < 1:
        raise ValueError(
            f"need n_train, n_test >= 0 with a positive total, got {n_train}, {n_test}"
        )
    return cached_samples(
        "darcy_fno",
        {**asdict(config), "n_train": n_train, "n_test": n_test},
        sample_darcy_fno,
        lambda stacked: _darcy_fno_dataset(
            stacked,
            config,
            min(n_train, len(stacked["K"])),
            max(0, len(stacked["K"]) - n_train),
            seed,
        ),
        n_train + n_test,
        seed=seed,
        folder=folder,
        chunk_size=chunk_size,
        workers=workers,
        client=client,
        progress=progress,
        log=log,
        partial=partial,
        config=config,
    )


WIDE_BRANCH = {
    "cnn_channels": (32, 64, 128),
    "branch_hidden": (256,),
    "branch_activation": "gelu",
    "log_input": True,
    "p": 200,
}
"""Network options of the wide CNN branch on ``log K`` (``default_model(data, **WIDE_BRANCH)``)."""


class DarcyProblem(Problem):
    """2-D Darcy flow on masked geometries: ``u(x, y)`` from the permeability image ``K``.

    Branch: ``K`` on the grid ``(1, H, W)`` with the geometry mask as a second channel;
    trunk coordinates ``(x, y)``; outputs are zero (NaN at prediction) outside the mask.
    """

    name = "darcy"
    data_name = "darcy"
    data_names = ("darcy", "darcy_fno")
    config_class = DarcyConfig
    options = ("geometry", "geometry_file", "random_polygons")
    coord_names = ("x", "y")
    grid_dims = ("x", "y")
    branch_ndim = 2
    geometry_dims = (2,)

    def config(self, resolution: int | None = None) -> DarcyConfig:
        return DarcyConfig() if resolution is None else DarcyConfig(resolution=resolution)

    def generate(self, n: int, config: DarcyConfig | None = None, geometries=None, **run: Any):
        """``geometries``: ``{name: deepxde geometry}`` cycled over samples (default square)."""
        from sciml.physics.data.geometry import square

        return generate_darcy(n, geometries or {"square": square()}, config, **run)

    def solve(
        self,
        geometry: Geometry | str,
        *,
        permeability: float | np.ndarray | Callable[[np.ndarray], np.ndarray] = 1.0,
        source: float | np.ndarray | Callable[[np.ndarray], np.ndarray] = 1.0,
        boundary_value: float | Callable[[np.ndarray], np.ndarray] = 0.0,
        resolution: int = 100,
        scheme: str = "shortley-weller",
        face_average: str = "harmonic",
    ) -> xr.Dataset:
        """Solve ``-div(K grad u) = f`` in one domain with ``u = g`` on its boundary.

        The public entry to the reference solver for custom source terms and nonzero
        boundary values (second-order Shortley--Weller boundary by default).

        Parameters
        ----------
        geometry
            A 2-D geometry in the unit square, a name in
            :data:`~sciml.physics.data.geometry.SHAPES`, or a geometry file (checked for
            its dimension before loading).
        permeability, source
            ``K > 0`` and ``f``: a constant, an array of shape ``(resolution, resolution)``
            on the nodes, or a function of points ``(m, 2)`` returning ``(m,)`` values.
        boundary_value
            ``g`` on the boundary: a constant or a function of points ``(m, 2)``.
        resolution
            Nodes per direction on the unit square.
        scheme, face_average
            ``"shortley-weller"`` (second order) or ``"staircase"``; ``"harmonic"`` or
            ``"arithmetic"`` face averages of ``K``.

        Returns
        -------
        xarray.Dataset
            One sample in the layout of :func:`generate_darcy` (``K``, ``mask``, ``u``,
            ``geometry``; ``u`` is ``g`` at nodes outside the domain), usable with
            :meth:`dataset` and the predictors.

        Raises
        ------
        GeometryError
            If the geometry is not 2-D, empty or not resolved by the grid.
        ValueError
            If ``K`` is not strictly positive and finite inside, or an array has the wrong
            shape.
        """
        import xarray as xr

        import sciml
        from sciml.physics.data._cutcell import solve_dirichlet
        from sciml.physics.data.geometry import Grid, rasterize
        from sciml.physics.errors import GeometryError

        geometry, name = self._geometry(geometry)
        if geometry.dim != 2:
            raise GeometryError(f"{name}: a {geometry.dim}-D geometry; darcy is 2-D")
        grid = Grid.uniform((resolution, resolution))
        values = {}
        for key, value in (("permeability", permeability), ("source", source)):
            if callable(value):
                value = np.asarray(value(grid.points()), dtype=float).reshape(grid.shape)
            value = np.asarray(value, dtype=float)
            if value.ndim and value.shape != grid.shape:
                raise ValueError(
                    f"{key} has shape {value.shape}; expected a constant or {grid.shape} nodes"
                )
            values[key] = np.broadcast_to(value, grid.shape)
        mask = rasterize(geometry, grid)
        k = values["permeability"]
        bad = mask & ~(np.isfinite(k) & (k > 0))
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"the permeability K must be finite and strictly positive in the domain; "
                f"{int(bad.sum())} node(s) are not, the first at node {first}"
            )
        if not np.isfinite(values["source"][mask]).all():
            raise ValueError("the source f holds NaN or infinite values inside the domain")
        # K outside the domain only enters the interpolation to the boundary crossings;
        # unusable values there become NaN, which the cut-cell assembly replaces by K of
        # the node inside.
        usable = np.isfinite(k) & (k > 0)
        fill = np.nan if scheme == "shortley-weller" else float(np.exp(np.log(k[mask]).mean()))
        u, _ = solve_dirichlet(
            geometry,
            grid,
            np.where(usable, k, fill),
            values["source"],
            boundary_value=boundary_value,
            scheme=scheme,
            face_average=face_average,
            check=False,
        )
        x = grid.axes[0]
        dims = ("sample", "x", "y")
        return xr.Dataset(
            data_vars={
                "K": (dims, np.asarray(k)[None], {"long_name": "permeability"}),
                "mask": (dims, mask[None], {"long_name": "in domain"}),
                "u": (dims, u[None], {"long_name": "pressure"}),
                "geometry": (("sample",), np.array([name], dtype=str)),
            },
            coords={"sample": [0], "x": x, "y": x},
            attrs={
                "pde": "darcy",
                "equation": "-div(K grad u) = f in Omega, u = g on the boundary",
                "source": float(values["source"].mean()),
                "solver": f"5-point finite volume, {face_average} face averages, {scheme} "
                "Dirichlet boundary, SuperLU",
                **scheme_attrs(scheme),
                "sciml_version": sciml.__version__,
            },
        )

    def _geometry(self, geometry) -> tuple[Geometry, str]:
        """A geometry object and its name, from an object, a shape name or a file."""
        if not isinstance(geometry, str | Path):
            return geometry, getattr(geometry, "name", type(geometry).__name__)
        if Path(geometry).suffix:
            from sciml.physics.data.geometry_io import load_geometry

            self.check_geometry_file(geometry)
            return load_geometry(geometry), Path(geometry).stem
        from sciml._resolve import resolve
        from sciml.physics.data.geometry import SHAPES

        return resolve("geometry", str(geometry), SHAPES)(), str(geometry)

    def dataset(self, ds, indices=None):
        """Darcy samples on one grid.

        Coords ``(H * W, 2)`` as ``(x, y)`` in C order of ``(H, W)``; ``y`` ``(S, H * W, 1)``;
        ``mask`` ``(S, H * W)``; branch ``K`` ``(S, 1, H, W)``; ``mask_grid`` ``(S, H, W)``;
        ``distance`` ``(S, H * W)`` to the boundary (:func:`~sciml.physics.data.geometry.
        boundary_distance`, for the exact-Dirichlet factor); labels = geometry names
        (``"square"`` for the FNO benchmark).
        """
        from sciml.physics.data.geometry import boundary_distance
        from sciml.physics.operator.data import OperatorDataset

        ds = ds if indices is None else ds.isel(sample=np.asarray(indices))
        x, y = ds["x"].values, ds["y"].values
        xx, yy = np.meshgrid(x, y, indexing="ij")
        coords = np.stack([xx.ravel(), yy.ravel()], axis=-1)
        inputs = self.inputs(ds)
        u = ds["u"].transpose("sample", "x", "y").values
        s = len(u)
        labels = ds["geometry"].values if "geometry" in ds else np.array(["square"] * s)
        return OperatorDataset(
            coords,
            u.reshape(s, -1, 1),
            self.branch(inputs["inputs"]),
            inputs["mask"].reshape(s, -1),
            grid_shape=(x.size, y.size),
            labels=labels,
            mask_grid=inputs["mask"],
            distance=boundary_distance(inputs["mask"], (x, y)).reshape(s, -1),
        )

    def inputs(self, ds) -> dict[str, np.ndarray]:
        return {
            "inputs": ds["K"].transpose("sample", "x", "y").values,
            "mask": ds["mask"].transpose("sample", "x", "y").values.astype(bool),
        }

    def branch(self, inputs: np.ndarray) -> np.ndarray:
        return inputs[:, None]

    def check_inputs(self, inputs: np.ndarray, mask: np.ndarray | None) -> None:
        """``K`` must be strictly positive inside the domain."""
        inside = inputs if mask is None else np.where(mask, inputs, np.inf)
        bad = inside <= 0
        if bad.any():
            sample = int(np.argwhere(bad)[0][0])
            raise ValueError(
                f"the permeability K must be strictly positive; sample {sample} has minimum "
                f"{float(inside[sample].min()):.3g}"
            )

    def input_domain(self, ds) -> dict:
        inputs = self.inputs(ds)
        k = inputs["inputs"][inputs["mask"]]
        return {"inputs": [float(k.min()), float(k.max())]}

    def default_model(
        self, data, *, multitask=True, p=None, width=128, activation="tanh", **options
    ):
        """CNN branch (16/32/64/64 filters) on ``K`` with the mask channel, ``p = 150``.

        ``u = 0`` on the boundary is exact: the output is multiplied by the distance factor
        (``boundary_factor=True``; pass ``False`` for the learned boundary of older models).
        ``options`` override any network argument (:class:`~sciml.physics.operator.networks.
        DeepONet`), e.g. :data:`WIDE_BRANCH` or ``fourier_features=16``; ``trunk="pod"``
        sets ``pod_points`` from the data.
        """
        from sciml.physics.operator.networks import DeepONet, MTDeepONet

        kwargs = dict(
            p=p or 150,
            branch="cnn",
            branch_hidden=(width,),
            mask_channel=multitask,
            mask_output=True,
            activation=activation,
            trunk_hidden=(width,) * 3,
            boundary_factor=True,
            **self.coordinate_bounds(data),
        )
        kwargs.update(options)
        if kwargs.get("trunk") == "pod":
            kwargs.setdefault("pod_points", len(data.coords))
            kwargs["boundary_factor"] = False
        return (MTDeepONet if multitask else DeepONet)(data.branch_in, 2, **kwargs)

    def physics_terms(self, ds, data) -> list:
        """``-div(K grad u) - f`` at interior nodes and ``u = 0`` on the boundary nodes."""
        from sciml.physics.operator.residuals import DarcyResidual

        x = ds["x"].values
        return [DarcyResidual(data.grid_shape, (x[1] - x[0],) * 2, float(ds.attrs["source"]))]

    def plot(self, ds, index: int = 0, *, ax=None):
        from sciml.physics.problems._plot import plot_field

        return plot_field(ds, index, "u", ax=ax)


class DarcyFNOProblem(DarcyProblem):
    """The FNO Darcy benchmark (Li et al., 2021): unit square, two-valued ``K``, fixed split."""

    name = "darcy_fno"
    data_name = "darcy_fno"
    config_class = DarcyFNOConfig
    options = ("n_test", "subsample")

    def config(self, resolution: int | None = None, subsample: int | None = None):
        options = {}
        if resolution is not None:
            options["resolution"] = resolution
        if subsample is not None:
            options["subsample"] = subsample
        return DarcyFNOConfig(**options)

    def generate(self, n: int, config=None, n_test: int | None = None, **run: Any):
        """``n`` training then ``n_test`` (default 100) test samples."""
        return generate_darcy_fno(n, 100 if n_test is None else n_test, config, **run)

    def split(self, ds, val_fraction: float, seed: int):
        """Training and validation indices, both from the benchmark's ``"train"`` samples.

        The ``"test"`` samples are never returned: they stay for the final score, so the
        best epoch is chosen on a seeded random ``val_fraction`` of the training samples.

        Raises
        ------
        ValueError
            If fewer than two training samples remain to split.
        """
        train = np.flatnonzero(ds["split"].values == "train")
        if len(train) < 2:
            raise ValueError(
                f"the data set holds {len(train)} training sample(s); at least 2 are needed to "
                "hold out a validation part (the test samples are never used for validation)"
            )
        if not 0 < val_fraction < 1:
            raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
        order = np.random.default_rng(seed).permutation(train)
        n_val = min(len(train) - 1, max(1, int(round(val_fraction * len(train)))))
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def test_indices(self, ds) -> np.ndarray:
        """The benchmark's test samples (``split == "test"``), for the final score only."""
        return np.flatnonzero(ds["split"].values == "test")
