r"""Steady 3-D heat conduction in a plate with through-holes: solver and data set.

Domain: the plate ``[0, Lx] x [0, Ly] x [0, Lz]`` (default ``1 x 1 x 0.25``) minus 2-9
cylindrical holes through its thickness, represented by a voxel mask on a cell-centred grid
(default 32 x 32 x 8, cubic voxels). Equation and boundary conditions:

.. math:: -k \Delta T = q \quad \text{in the plate},

- ``T = T_left`` on the face ``x = 0`` and ``T = T_right`` on ``x = Lx`` (held faces);
- ``T = T_hole`` on the hole walls (cooling channels);
- zero flux (insulated) on the faces ``y = 0``, ``y = Ly``, ``z = 0``, ``z = Lz``.

``q`` is a uniform volumetric heat source and ``k`` the conductivity; all quantities are
nondimensional (read lengths in m, ``T`` in K, ``q`` in W/m^3 and ``k`` in W/(m K) for one
consistent unit system).

Discretisation: 7-point finite volumes on the voxel centres. A held face lies half a voxel
from the first centre. A hole wall is imposed where it crosses the grid lines, with the
Shortley--Weller stencil of :mod:`sciml.physics.data._cutcell` (second order, the default;
then the linear solve is BiCGSTAB or SuperLU, as the matrix is not symmetric), or, with
``HeatConfig(boundary="staircase")``, at the centres of the hole voxels (first order). The symmetric positive definite system is solved directly (SuperLU) or by
conjugate gradients (the default, with a Jacobi preconditioner). On a plate without holes
the scheme is second order in ``h``.

The hole-position parameter of each sample is the array of hole centres, drawn uniformly in
the plate with rejection so that holes keep two voxels from each other and from the edges
(:func:`place_holes` restarts when the placement jams; :func:`sample_heat` redraws the count
and radius from the sample's own generator in the rare case that still fails).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sciml.physics.data._cutcell import (
    CutCells,
    assemble_cut_cell,
    check_scheme,
    cut_cells,
    scheme_attrs,
    solve_nonsymmetric,
)
from sciml.physics.data._fd import assemble_diffusion, solve_spd
from sciml.physics.data._parallel import run_samples
from sciml.physics.errors import GeometryError
from sciml.physics.problems.base import Problem

if TYPE_CHECKING:
    import xarray as xr

    from sciml.physics.data.geometry import Geometry, Grid

__all__ = [
    "HeatProblem",
    "HEAT_DESIGN_FEATURES",
    "heat_design_vector",
    "HeatConfig",
    "solve_heat",
    "plate_with_holes",
    "plate_mask",
    "place_holes",
    "sample_heat",
    "plate_cut_cells",
    "heat_domain",
    "generate_heat",
    "MAX_HOLES",
]

MAX_HOLES = 9
"""Largest number of holes; hole arrays in data sets are padded to this length with NaN."""


def solve_heat(
    mask: np.ndarray,
    spacing: Sequence[float],
    *,
    source: float | np.ndarray = 0.0,
    t_left: float = 1.0,
    t_right: float = 0.0,
    t_hole: float = 0.0,
    conductivity: float | np.ndarray = 1.0,
    method: str = "cg",
    rtol: float = 1e-10,
    maxiter: int | None = None,
    cut: CutCells | None = None,
) -> np.ndarray:
    """Solve ``-div(k grad T) = q`` on the voxels of ``mask`` (see the module docstring).

    Parameters
    ----------
    mask
        Boolean voxel mask of the solid plate, shape ``(nx, ny, nz)``; false voxels are holes
        held at ``t_hole``.
    spacing
        Voxel sizes ``(hx, hy, hz)``.
    source
        Volumetric heat source ``q``, constant or shape ``(nx, ny, nz)``.
    t_left, t_right
        Temperatures of the faces ``x = 0`` and ``x = Lx``.
    t_hole
        Temperature of the hole walls.
    conductivity
        ``k > 0``, constant or shape ``(nx, ny, nz)``.
    method
        ``"cg"`` (default: Jacobi-preconditioned conjugate gradients, about 10x faster than
        SuperLU here because 3-D factorisations fill in) or ``"direct"``.
    rtol, maxiter
        Conjugate-gradient tolerance and iteration limit.
    cut
        Hole-wall crossings (:func:`plate_cut_cells`) for the second-order
        Shortley--Weller walls; their ``values`` hold the wall temperature and
        ``t_hole`` then only fills the hole voxels. Without it the walls are staircase.

    Returns
    -------
    numpy.ndarray
        Temperature at every voxel centre, shape ``(nx, ny, nz)``; ``t_hole`` in holes.

    Raises
    ------
    GeometryError
        If the mask is empty.
    ValueError
        If the conductivity is not strictly positive.
    SolverError
        If the linear solve does not converge.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3:
        raise ValueError(f"mask must be 3-D, got shape {mask.shape}")
    if not mask.any():
        raise GeometryError("the plate mask is empty: the holes cover the whole plate")
    k = np.broadcast_to(np.asarray(conductivity, dtype=float), mask.shape)
    if not np.all(np.isfinite(k)) or k.min() <= 0:
        raise ValueError("the conductivity k must be finite and strictly positive")
    held = {(0, 0): float(t_left), (0, 1): float(t_right)}
    q = np.broadcast_to(np.asarray(source, dtype=float), mask.shape)[mask]
    temperature = np.full(mask.shape, float(t_hole))
    if cut is not None:
        matrix, rhs_boundary = assemble_cut_cell(
            np.ascontiguousarray(k), mask, spacing, cut, outer_dirichlet=held
        )
        temperature[mask] = solve_nonsymmetric(
            matrix, q + rhs_boundary, method=method, rtol=rtol, maxiter=maxiter
        )
        return temperature
    matrix, rhs_boundary = assemble_diffusion(
        np.ascontiguousarray(k),
        mask,
        spacing,
        known_values=np.full(mask.shape, float(t_hole)),
        outer_dirichlet=held,
    )
    temperature[mask] = solve_spd(
        matrix, q + rhs_boundary, method=method, rtol=rtol, maxiter=maxiter
    )
    return temperature


def plate_with_holes(
    centers: np.ndarray, radius: float, size: tuple[float, float] = (1.0, 1.0)
) -> Geometry:
    """Return the 2-D cross-section: a ``size`` rectangle minus disks at ``centers``.

    Parameters
    ----------
    centers
        Hole centres, shape ``(n_holes, 2)``.
    radius
        Hole radius.
    size
        Plate extent ``(Lx, Ly)``.

    Raises
    ------
    GeometryError
        If a hole is at least as wide as the plate.
    """
    from sciml.physics.data.geometry import Disk, Rectangle, difference

    if radius <= 0:
        raise GeometryError(f"hole radius must be positive, got {radius}")
    if 2 * radius >= min(size):
        raise GeometryError(
            f"a hole of radius {radius} is larger than the plate {size[0]} x {size[1]}"
        )
    centers = np.asarray(centers, dtype=float).reshape(-1, 2)
    return difference(Rectangle([0.0, 0.0], list(size)), *(Disk(c, radius) for c in centers))


def plate_mask(geometry: Geometry, grid: Grid, *, check: bool = True) -> np.ndarray:
    """Extrude a 2-D cross-section through a 3-D cell-centred grid, shape ``grid.shape``.

    The cross-section is rasterised on the grid's ``(x, y)`` axes (with the resolution
    check of :func:`~sciml.physics.data.geometry.rasterize`) and repeated along ``z``.
    """
    from sciml.physics.data.geometry import Grid as Grid_
    from sciml.physics.data.geometry import rasterize

    # Heat flows through webs between holes however thin, so only the topology is checked.
    section = rasterize(geometry, Grid_(grid.axes[:2]), check=check, min_width=1)
    return np.repeat(section[:, :, None], grid.shape[2], axis=2)


def plate_cut_cells(geometry: Geometry, grid: Grid, mask: np.ndarray, t_hole: float) -> CutCells:
    """Hole-wall crossings of the voxel links, for :func:`solve_heat`'s ``cut``.

    A 2-D cross-section is cut on the grid's ``(x, y)`` axes and extruded along ``z``
    (through-holes have vertical walls, so no ``z`` link is cut); a 3-D geometry is cut
    on the full grid.
    """
    from sciml.physics.data.geometry import Grid as Grid_

    if geometry.dim == 3:
        return cut_cells(geometry, grid, mask, boundary_value=t_hole)
    section = cut_cells(geometry, Grid_(grid.axes[:2]), mask[:, :, 0], boundary_value=t_hole)
    nz = grid.shape[2]
    theta = np.ones((3, 2, *grid.shape))
    theta[:2] = np.repeat(section.theta[..., None], nz, axis=-1)
    return CutCells(theta, np.full(theta.shape, float(t_hole)))


def _hole_bounds(radius: float, size: Sequence[float], gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the box ``(lo, hi)`` of admissible hole centres, each of shape ``(2,)``."""
    lo = np.full(2, radius + gap)
    return lo, np.asarray(size, dtype=float) - radius - gap


def _check_hole_fits(radius: float, size: Sequence[float], gap: float) -> None:
    if radius <= 0:
        raise GeometryError(f"hole radius must be positive, got {radius}")
    lo, hi = _hole_bounds(radius, size, gap)
    if np.any(hi <= lo):
        raise GeometryError(
            f"a hole of radius {radius} with gap {gap} is larger than the plate "
            f"{size[0]} x {size[1]}"
        )


def _max_holes(radius: float, size: Sequence[float], gap: float) -> int:
    """Upper bound on how many holes can ever fit (a necessary condition, not sufficient).

    Centres lie in the ``w x h`` box of :func:`_hole_bounds` at least ``d = 2 r + gap``
    apart, so disks of radius ``d / 2`` around them are disjoint and inside the box grown by
    ``d / 2``: ``n pi d^2 / 4 <= (w + d) (h + d)``.
    """
    lo, hi = _hole_bounds(radius, size, gap)
    distance = 2 * radius + gap
    width, height = hi - lo + distance
    return int(4 * width * height / (np.pi * distance**2))


_ROOM_CHECK_AFTER = 100
"""Rejected candidates for one hole before :func:`place_holes` tests whether any room is left."""


def _has_room(centers: np.ndarray, lo: np.ndarray, hi: np.ndarray, distance: float) -> bool:
    """Whether some point of the box ``[lo, hi]`` keeps ``distance`` from all ``centers``.

    If the free region is not empty, its point of largest ``x`` is a box corner, a crossing
    of a circle of radius ``distance`` with a box edge, or a crossing of two such circles;
    so testing those finitely many points decides exactly (and without drawing numbers)
    whether sequential placement has jammed.
    """
    points = [np.array([[lo[0], lo[1]], [lo[0], hi[1]], [hi[0], lo[1]], [hi[0], hi[1]]])]
    for axis in (0, 1):
        for edge in (lo[axis], hi[axis]):
            offset = centers[:, axis] - edge
            inside = np.abs(offset) <= distance
            half = np.sqrt(distance**2 - offset[inside] ** 2)
            for sign in (-1.0, 1.0):
                crossing = np.empty((int(inside.sum()), 2))
                crossing[:, axis] = edge
                crossing[:, 1 - axis] = centers[inside, 1 - axis] + sign * half
                points.append(crossing)
    first, second = np.triu_indices(len(centers), k=1)
    chord = centers[second] - centers[first]
    half_chord = np.linalg.norm(chord, axis=1) / 2
    meet = (half_chord <= distance) & (half_chord > 0)
    middle = (centers[first] + centers[second])[meet] / 2
    normal = chord[meet][:, ::-1] * [-1.0, 1.0] / (2 * half_chord[meet, None])
    height = np.sqrt(distance**2 - half_chord[meet] ** 2)[:, None]
    points += [middle + height * normal, middle - height * normal]
    candidates = np.concatenate(points)
    tolerance = 1e-9 * distance
    in_box = np.all((candidates >= lo - tolerance) & (candidates <= hi + tolerance), axis=1)
    gaps = np.linalg.norm(candidates[in_box, None] - centers[None], axis=-1)
    return bool(np.any(np.all(gaps >= distance - tolerance, axis=1)))


def place_holes(
    n_holes: int,
    radius: float,
    size: tuple[float, float],
    gap: float,
    rng: np.random.Generator,
    *,
    max_tries: int = 10_000,
    max_restarts: int = 20,
) -> np.ndarray:
    """Draw ``n_holes`` non-overlapping hole centres in a ``size`` plate, shape ``(n, 2)``.

    Holes keep at least ``gap`` from each other and from the plate's edges. Centres are
    drawn one by one, uniformly in the admissible box, rejecting candidates too close to a
    hole already placed. Such sequential placement can jam (the holes placed so far leave
    no room for the next one although all holes would fit), so a hole that finds no room in
    ``max_tries`` candidates, or that provably has none left, discards the holes placed so
    far and starts over, up to ``max_restarts`` times. Everything is drawn from ``rng``, so
    the result is reproducible.

    Raises
    ------
    GeometryError
        If a single hole does not fit, if the holes can never fit (an area bound), or if
        they could not be placed in ``max_restarts`` attempts.
    """
    _check_hole_fits(radius, size, gap)
    lo, hi = _hole_bounds(radius, size, gap)
    distance = 2 * radius + gap
    bound = _max_holes(radius, size, gap)
    if n_holes > bound:
        raise GeometryError(
            f"could not place {n_holes} holes of radius {radius} with gap {gap} in a "
            f"{size[0]} x {size[1]} plate: at most {bound} can ever fit"
        )
    for _ in range(max_restarts + 1):
        centers = np.empty((n_holes, 2))
        placed = 0
        tries = 0
        while placed < n_holes and tries < max_tries:
            candidate = rng.uniform(lo, hi)
            tries += 1
            if np.all(np.hypot(*(centers[:placed] - candidate).T) >= distance):
                centers[placed] = candidate
                placed += 1
                tries = 0
            elif tries == _ROOM_CHECK_AFTER and not _has_room(centers[:placed], lo, hi, distance):
                break
        if placed == n_holes:
            return centers
    raise GeometryError(
        f"could not place {n_holes} holes of radius {radius} in a {size[0]} x {size[1]} plate "
        f"in {max_restarts + 1} attempts of {max_tries} tries per hole; use fewer or smaller "
        "holes"
    )


@dataclass(frozen=True)
class HeatConfig:
    """Settings of the 3-D heat data set.

    Attributes
    ----------
    shape
        Voxels ``(nx, ny, nz)``.
    size
        Plate extent ``(Lx, Ly, Lz)``.
    n_holes
        Inclusive range of the number of holes, within ``[2, 9]``.
    hole_radius
        Uniform range of the hole radius (one radius per sample). Holes keep
        :attr:`hole_gap` (two voxels) from each other and from the edges; see
        :func:`sample_heat` for what happens when a drawn count and radius do not fit.

    Raises
    ------
    GeometryError
        If the largest hole does not fit in the plate, or if the smallest request
        (``n_holes[0]`` holes of radius ``hole_radius[0]``) can never fit.
    source
        Uniform range of the heat source ``q``.
    t_left, t_right
        Uniform ranges of the held-face temperatures.
    t_hole
        Hole-wall temperature.
    conductivity
        ``k``.
    method
        Linear solver, ``"direct"`` or ``"cg"`` (BiCGSTAB with Shortley--Weller walls).
    boundary
        Hole walls: ``"shortley-weller"`` (second order, default) or ``"staircase"``.
    """

    shape: tuple[int, int, int] = (32, 32, 8)
    size: tuple[float, float, float] = (1.0, 1.0, 0.25)
    n_holes: tuple[int, int] = (2, 9)
    hole_radius: tuple[float, float] = (0.05, 0.09)
    source: tuple[float, float] = (0.0, 10.0)
    t_left: tuple[float, float] = (0.5, 1.0)
    t_right: tuple[float, float] = (0.0, 0.5)
    t_hole: float = 0.0
    conductivity: float = 1.0
    method: str = "cg"
    boundary: str = "shortley-weller"

    def __post_init__(self) -> None:
        check_scheme(self.boundary)
        low, high = self.n_holes
        if not 2 <= low <= high <= MAX_HOLES:
            raise ValueError(f"n_holes must be a range within [2, {MAX_HOLES}], got {self.n_holes}")
        if min(self.shape) < 2:
            raise ValueError(f"need at least 2 voxels per direction, got {self.shape}")
        if self.conductivity <= 0:
            raise ValueError(f"conductivity must be positive, got {self.conductivity}")
        r_low, r_high = self.hole_radius
        if not 0 < r_low <= r_high:
            raise ValueError(
                f"hole_radius must be a range of positive radii, got {self.hole_radius}"
            )
        size_xy, gap = self.size[:2], self.hole_gap
        _check_hole_fits(r_high, size_xy, gap)
        if _max_holes(r_low, size_xy, gap) < low:
            raise GeometryError(
                f"{low} holes of radius {r_low} with gap {gap} can never fit in a "
                f"{size_xy[0]} x {size_xy[1]} plate; use fewer or smaller holes"
            )

    @property
    def hole_gap(self) -> float:
        """Clearance between holes and from holes to the plate edges: two voxels."""
        return 2.0 * max(self.size[0] / self.shape[0], self.size[1] / self.shape[1])

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel sizes ``(hx, hy, hz)``."""
        return tuple(length / n for length, n in zip(self.size, self.shape, strict=True))  # type: ignore[return-value]

    def grid(self) -> Grid:
        """The cell-centred voxel grid."""
        from sciml.physics.data.geometry import Grid

        return Grid.uniform(self.shape, (0.0, 0.0, 0.0), self.size, cell_centred=True)


_MAX_HOLE_DRAWS = 100
"""Draws of (hole count, radius) per sample before :func:`sample_heat` gives up."""


def _draw_holes(config: HeatConfig, rng: np.random.Generator) -> tuple[int, float, np.ndarray]:
    size_xy, gap = config.size[:2], config.hole_gap
    for _ in range(_MAX_HOLE_DRAWS):
        n_holes = int(rng.integers(config.n_holes[0], config.n_holes[1] + 1))
        radius = float(rng.uniform(*config.hole_radius))
        try:
            return n_holes, radius, place_holes(n_holes, radius, size_xy, gap, rng)
        except GeometryError:
            continue
    raise GeometryError(
        f"{_MAX_HOLE_DRAWS} draws of n_holes in {config.n_holes} and hole_radius in "
        f"{config.hole_radius} all failed to fit in a {size_xy[0]} x {size_xy[1]} plate with "
        f"gap {gap}; use fewer or smaller holes"
    )


def heat_domain(geometry: Geometry, config: HeatConfig) -> tuple[np.ndarray, CutCells | None]:
    """Voxel mask and hole-wall crossings of a plate, with the resolution check.

    Parameters
    ----------
    geometry
        A 2-D cross-section (extruded through the thickness) or a 3-D solid.
    config
        Grid and boundary scheme.

    Returns
    -------
    mask : numpy.ndarray
        Solid voxels, shape ``config.shape``.
    cut : CutCells or None
        Wall crossings for the Shortley--Weller walls; ``None`` for the staircase.
    """
    from sciml.physics.data.geometry import rasterize

    grid = config.grid()
    mask = rasterize(geometry, grid) if geometry.dim == 3 else plate_mask(geometry, grid)
    if config.boundary != "shortley-weller":
        return mask, None
    return mask, plate_cut_cells(geometry, grid, mask, config.t_hole)


def sample_heat(
    index: int,
    seed: np.random.SeedSequence,
    config: HeatConfig,
    domain: tuple[np.ndarray, CutCells | None] | None = None,
) -> dict:
    """Draw a plate, a source and boundary temperatures, and solve (sample ``index``).

    The hole count and radius are drawn uniformly from the config's ranges and the centres
    by :func:`place_holes` (which restarts when sequential placement jams). If that still
    fails, the count and radius are drawn again from the sample's own generator, up to 100
    times, so every sample is a valid design and depends on its seed only (not on the
    number of workers). With the default config no redraw is needed in practice: the
    largest request, 9 holes of radius 0.09, leaves room for a 3 x 3 lattice.

    A fixed user ``domain`` (mask and wall crossings from :func:`heat_domain`) replaces
    the random holes; then ``n_holes`` is 0 and the hole arrays are NaN.

    Raises
    ------
    GeometryError
        If no drawn request fits (the config asks for holes that almost never fit).
    """
    rng = np.random.default_rng(seed)
    if domain is None:
        n_holes, radius, centers = _draw_holes(config, rng)
        mask, cut = heat_domain(plate_with_holes(centers, radius, config.size[:2]), config)
    else:
        n_holes, radius, centers = 0, np.nan, np.empty((0, 2))
        mask, cut = domain
    q = rng.uniform(*config.source)
    t_left = rng.uniform(*config.t_left)
    t_right = rng.uniform(*config.t_right)
    temperature = solve_heat(
        mask,
        config.spacing,
        source=q,
        t_left=t_left,
        t_right=t_right,
        t_hole=config.t_hole,
        conductivity=config.conductivity,
        method=config.method,
        cut=cut,
    )
    padded = np.full((MAX_HOLES, 2), np.nan)
    padded[:n_holes] = centers
    return {
        "T": temperature,
        "mask": mask,
        "source": q,
        "t_left": t_left,
        "t_right": t_right,
        "n_holes": n_holes,
        "hole_radius": radius,
        "hole_center": padded,
    }


def generate_heat(
    n: int,
    config: HeatConfig | None = None,
    *,
    geometry: Geometry | None = None,
    seed: int = 0,
    workers: int = 1,
    client: Any = None,
    progress: bool = False,
) -> xr.Dataset:
    """Generate ``n`` steady temperature fields in plates with holes.

    Parameters
    ----------
    n
        Number of samples.
    config
        Data set settings; defaults to :class:`HeatConfig`.
    geometry
        A fixed user domain instead of random holes: a 2-D cross-section of the plate
        (extruded through its thickness) or a 3-D solid (e.g. from an STL file, see
        :mod:`sciml.physics.data.geometry_io`); voxels outside it are held at ``t_hole``.
    seed, workers, client, progress
        As in :func:`sciml.physics.problems.fisher.generate_fisher`.

    Returns
    -------
    xarray.Dataset
        Dimensions ``sample``, ``x``, ``y``, ``z`` (voxel centres), ``hole`` (9), ``coord``
        (2). Variables: ``T`` ``(sample, x, y, z)`` temperature (``T_hole`` in holes);
        ``mask`` ``(sample, x, y, z)`` solid voxels; per sample ``source``, ``t_left``,
        ``t_right``, ``n_holes``, ``hole_radius``; ``hole_center`` ``(sample, hole, coord)``
        padded with NaN. Attributes ``boundary_scheme`` and ``order`` record the hole-wall
        treatment and its order (2 or 1); ``geometry`` names the user domain, if any.
    """
    import xarray as xr

    import sciml

    config = config or HeatConfig()
    results = run_samples(
        sample_heat,
        seed,
        n,
        workers=workers,
        client=client,
        progress=progress,
        desc="heat",
        config=config,
        # A user domain is fixed: rasterise, check and cut it once, not per sample.
        domain=heat_domain(geometry, config) if geometry is not None else None,
    )
    grid = config.grid()

    def stack(key: str) -> np.ndarray:
        return np.stack([r[key] for r in results])

    dims = ("sample", "x", "y", "z")
    return xr.Dataset(
        data_vars={
            "T": (dims, stack("T"), {"long_name": "temperature"}),
            "mask": (dims, stack("mask"), {"long_name": "solid voxel"}),
            "source": (("sample",), stack("source"), {"long_name": "heat source q"}),
            "t_left": (("sample",), stack("t_left"), {"long_name": "temperature at x = 0"}),
            "t_right": (("sample",), stack("t_right"), {"long_name": "temperature at x = Lx"}),
            "n_holes": (("sample",), stack("n_holes")),
            "hole_radius": (("sample",), stack("hole_radius")),
            "hole_center": (("sample", "hole", "coord"), stack("hole_center")),
        },
        coords={
            "sample": np.arange(n),
            "x": grid.axes[0],
            "y": grid.axes[1],
            "z": grid.axes[2],
            "hole": np.arange(MAX_HOLES),
            "coord": ["x", "y"],
        },
        attrs={
            "pde": "heat",
            "equation": "-k laplace(T) = q in the plate",
            "boundary_conditions": "T = t_left at x = 0, T = t_right at x = Lx, T = t_hole on "
            "hole walls, zero flux on the y and z faces",
            "t_hole": config.t_hole,
            "conductivity": config.conductivity,
            "parameters": json.dumps(asdict(config)),
            "seed": seed,
            "solver": f"7-point finite volumes on voxels, {config.boundary} hole walls, "
            f"{config.method} sparse solve",
            **scheme_attrs(config.boundary),
            "geometry": getattr(geometry, "name", "user geometry") if geometry else "random holes",
            "sciml_version": sciml.__version__,
        },
    )


HEAT_DESIGN_FEATURES = ("source", "t_left", "t_right", "n_holes", "hole_radius")
"""Scalar plate parameters that start the heat branch vector (hole centres follow)."""


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


def _design_plate(vector: np.ndarray):
    """The plate geometry a design vector describes (inverse of :func:`heat_design_vector`)."""
    n_scalars = len(HEAT_DESIGN_FEATURES)
    centers = vector[n_scalars:].reshape(-1, 2)
    centers = centers[(centers >= 0).all(axis=1)]
    return plate_with_holes(centers, float(vector[HEAT_DESIGN_FEATURES.index("hole_radius")]))


def _heat_config_at(resolution: int) -> HeatConfig:
    """The default design on a ``resolution x resolution`` grid (``sciml pde --resolution``)."""
    return HeatConfig(shape=(resolution, resolution, max(2, resolution // 4)))


def _fits_at(resolution: int) -> bool:
    try:
        _heat_config_at(resolution)
    except GeometryError:
        return False
    return True


class HeatProblem(Problem):
    """3-D steady heat conduction in a plate with holes: ``T(x, y, z)`` from the design.

    Branch: the design vector (:func:`heat_design_vector`); trunk coordinates ``(x, y, z)``;
    the domain (solid voxels) follows from the holes in the design vector.
    """

    name = "heat"
    data_name = "heat"
    data_names = ("heat",)
    config_class = HeatConfig
    coord_names = ("x", "y", "z")
    grid_dims = ("x", "y", "z")
    output_name = "T"
    options = ("geometry_file",)
    geometry_dims = (2, 3)

    def config(self, resolution: int | None = None) -> HeatConfig:
        if resolution is None:
            return HeatConfig()
        try:
            return _heat_config_at(resolution)
        except GeometryError:
            # The holes keep a gap of two voxels, so a coarse grid leaves no room for them.
            least = next(r for r in range(resolution + 1, 4097) if _fits_at(r))
            raise GeometryError(
                f"resolution {resolution} is too coarse for this design (holes "
                f"of radius up to {HeatConfig.hole_radius[1]} kept two voxels "
                f"apart); use a resolution of at least {least}"
            ) from None

    def generate(self, n: int, config: HeatConfig | None = None, geometry=None, **run: Any):
        """``geometry``: a fixed user plate (2-D cross-section or 3-D solid) instead of holes."""
        return generate_heat(n, config, geometry=geometry, **run)

    def dataset(self, ds, indices=None):
        """Heat samples: temperature from the plate design.

        Coords ``(nx * ny * nz, 3)``; ``y`` ``(S, N, 1)``; ``mask`` ``(S, N)`` solid voxels;
        branch = :func:`heat_design_vector`.
        """
        from sciml.physics.operator.data import OperatorDataset

        ds = ds if indices is None else ds.isel(sample=np.asarray(indices))
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

    def inputs(self, ds) -> dict[str, np.ndarray]:
        return {"inputs": heat_design_vector(ds)}

    def inside(self, coords: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        return np.stack(
            [np.asarray(_design_plate(v).inside(coords[:, :2]), dtype=bool) for v in inputs]
        )

    def default_model(
        self, data, *, multitask=True, p=None, width=128, activation="tanh", **options
    ):
        """MLP branch on the design vector, masked output, ``p = 128``."""
        from sciml.physics.operator.networks import DeepONet, MTDeepONet

        kwargs = dict(
            p=p or 128,
            branch_hidden=(width, width),
            mask_output=True,
            output_names=("T",),
            activation=activation,
            trunk_hidden=(width,) * 3,
            **self.coordinate_bounds(data),
        )
        kwargs.update(options)
        return (MTDeepONet if multitask else DeepONet)(data.branch_in, 3, **kwargs)

    def plot(self, ds, index: int = 0, *, ax=None):
        from sciml.physics.problems._plot import plot_heat

        return plot_heat(ds, index, ax=ax)
