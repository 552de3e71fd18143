"""Geometries for the PDE data sets: a thin layer on :mod:`deepxde.geometry`.

DeepXDE supplies the primitives (:class:`Rectangle`, :class:`Disk`, :class:`Triangle`,
:class:`Polygon`, :class:`Cuboid`, :class:`Sphere`) and constructive solid geometry through
the operators ``a | b`` (union), ``a - b`` (difference) and ``a & b`` (intersection), or the
functions :func:`union`, :func:`difference` and :func:`intersection` below. This module adds
what the finite-difference solvers need:

- :class:`Grid`, a tensor-product grid of nodes or cell centres;
- :func:`rasterize`, a geometry to a boolean mask on a grid, with checks that the mask is not
  empty and that the grid resolves the geometry (:class:`~sciml.physics.errors.ResolutionError`);
- :func:`boundary_points`, reproducible points on the boundary;
- the named shapes of the multi-task DeepONet study, all inside the unit square:
  :func:`square`, :func:`circle`, :func:`triangle` (training geometries),
  :func:`square_with_cross` (transfer target), :func:`l_shape` and :func:`annulus`.
  :data:`SHAPES` maps their names to the factories for the command line.

Coordinates are dimensionless; every named shape lies in ``[0, 1]^2``.

Examples
--------
>>> from sciml.physics.data.geometry import Grid, annulus, rasterize
>>> mask = rasterize(annulus(), Grid.uniform((41, 41)))
>>> mask.shape, bool(mask[20, 20]), bool(mask[20, 5])
((41, 41), False, True)
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from sciml.physics.errors import GeometryError, ResolutionError

# DeepXDE picks a tensor backend at import and prints which one; geometry needs no tensors,
# so name the backend the project already depends on and keep the notice off the console
# (generated data sets are often written from scripts whose output is parsed).
os.environ.setdefault("DDE_BACKEND", "pytorch")
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    from deepxde.geometry import (
        Cuboid,
        Disk,
        Geometry,
        Polygon,
        Rectangle,
        Sphere,
        Triangle,
    )

__all__ = [
    "Geometry",
    "Rectangle",
    "Disk",
    "Triangle",
    "Polygon",
    "Cuboid",
    "Sphere",
    "union",
    "difference",
    "intersection",
    "Grid",
    "rasterize",
    "check_thickness",
    "interior_mask",
    "check_resolution",
    "node_inside",
    "topology",
    "boundary_points",
    "boundary_distance",
    "grid_values_at",
    "random_polygon",
    "random_polygons",
    "random_shape",
    "random_shapes",
    "SHAPE_KINDS",
    "square",
    "circle",
    "triangle",
    "square_with_cross",
    "l_shape",
    "annulus",
    "SHAPES",
]


def union(first: Geometry, *others: Geometry) -> Geometry:
    """Return the union of two or more geometries of the same dimension."""
    result = first
    for other in others:
        result = result | other
    return result


def difference(base: Geometry, *holes: Geometry) -> Geometry:
    """Return ``base`` with every geometry in ``holes`` removed."""
    result = base
    for hole in holes:
        result = result - hole
    return result


def intersection(first: Geometry, *others: Geometry) -> Geometry:
    """Return the intersection of two or more geometries of the same dimension."""
    result = first
    for other in others:
        result = result & other
    return result


@dataclass(frozen=True, eq=False)
class Grid:
    """A tensor-product grid.

    Parameters
    ----------
    axes
        One increasing 1-D coordinate array per dimension, ``(n_1,), ..., (n_d,)``.
        Arrays built on the grid use ``"ij"`` indexing: ``field[i, j]`` lives at
        ``(axes[0][i], axes[1][j])``.
    """

    axes: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        axes = tuple(np.asarray(a, dtype=float) for a in self.axes)
        for axis in axes:
            if axis.ndim != 1 or axis.size < 2 or np.any(np.diff(axis) <= 0):
                raise ValueError("each grid axis must be an increasing 1-D array of >= 2 points")
        object.__setattr__(self, "axes", axes)

    @classmethod
    def uniform(
        cls,
        shape: Sequence[int],
        lower: Sequence[float] | None = None,
        upper: Sequence[float] | None = None,
        *,
        cell_centred: bool = False,
    ) -> Grid:
        """Build a uniform grid on the box ``[lower, upper]``.

        Parameters
        ----------
        shape
            Number of points per dimension, ``(n_1, ..., n_d)``.
        lower, upper
            Box corners, default the unit cube ``[0, 1]^d``.
        cell_centred
            If true, points are the centres of ``n_k`` equal cells; otherwise ``n_k`` nodes
            including both ends.
        """
        d = len(shape)
        lower = np.zeros(d) if lower is None else np.asarray(lower, dtype=float)
        upper = np.ones(d) if upper is None else np.asarray(upper, dtype=float)
        axes = []
        for n, lo, hi in zip(shape, lower, upper, strict=True):
            if cell_centred:
                h = (hi - lo) / n
                axes.append(lo + h * (np.arange(n) + 0.5))
            else:
                axes.append(np.linspace(lo, hi, int(n)))
        return cls(tuple(axes))

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of points per dimension."""
        return tuple(a.size for a in self.axes)

    @property
    def ndim(self) -> int:
        """Spatial dimension ``d``."""
        return len(self.axes)

    @property
    def spacing(self) -> tuple[float, ...]:
        """Mean point spacing per dimension (exact for uniform grids)."""
        return tuple(float((a[-1] - a[0]) / (a.size - 1)) for a in self.axes)

    def points(self) -> np.ndarray:
        """Return all grid points, shape ``(prod(shape), d)``, in C order of ``shape``."""
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=-1)

    def refined(self, factor: int) -> Grid:
        """Return a uniform grid ``factor`` times finer over the same extent."""
        return Grid(tuple(np.linspace(a[0], a[-1], (a.size - 1) * factor + 1) for a in self.axes))


def _inside(geometry: Geometry, grid: Grid) -> np.ndarray:
    if geometry.dim != grid.ndim:
        raise GeometryError(
            f"a {geometry.dim}-D geometry cannot be rasterised on a {grid.ndim}-D grid"
        )
    return np.asarray(geometry.inside(grid.points()), dtype=bool).reshape(grid.shape)


def _full_connectivity(ndim: int) -> np.ndarray:
    """Structuring element joining nodes that share a face, an edge or a corner (8 / 26)."""
    return ndimage.generate_binary_structure(ndim, ndim)


def _label_parts(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Connected parts of a domain mask, nodes joined across corners too (8- / 26-connected).

    Why corners count: a sharp tip of a sound shape, rasterised, often meets the rest of
    the domain at one node diagonally. For the solvers that is harmless: the 5-point (7-point)
    stencil then sees the tip node as its own small Dirichlet problem whose neighbours
    carry the boundary value, which is what the tip of the true shape is -- no unknown
    is left without a boundary, so the system stays an M-matrix. Counting such a tip as a
    second part made the resolution check reject sound shapes at any resolution. The
    complement (holes, outside) is labelled face-connected (4- / 6-), the pairing under
    which parts and holes of a digital image are well defined (a hole closed by a diagonal
    step of the domain is a hole).
    """
    return ndimage.label(mask, structure=_full_connectivity(mask.ndim))


def _resolved(labels: np.ndarray, n: int, core: np.ndarray) -> int:
    """How many of the ``n`` labelled components hold at least one node of ``core``."""
    return int(np.unique(labels[core & (labels > 0)]).size) if n else 0


def _count_components(mask: np.ndarray) -> tuple[int, int]:
    """Return (parts of ``mask``, holes = enclosed parts of its complement).

    Only parts that the grid resolves count: a part must hold a node whose face
    neighbours are all inside. The slivers a sharp tip leaves when rasterised -- isolated
    nodes beyond the tip, on every grid, in numbers that change with the grid -- are
    therefore not parts; a small island that a coarse grid shows only as such a sliver but
    a finer grid resolves is still a difference, so the check still fails on it. Every
    enclosed component of the complement is a hole (holes carry the boundary value, so
    even a one-node hole changes the problem).
    """
    parts, n_parts = _label_parts(mask)
    resolved = _resolved(parts, n_parts, ndimage.binary_erosion(mask))
    # Pad with background so that everything connected to the outside is one component;
    # any further background component is an enclosed hole.
    background = ndimage.label(np.pad(~mask, 1, constant_values=True))[1]
    return resolved, background - 1


def topology(mask: np.ndarray) -> tuple[int, int]:
    """Resolved parts and enclosed holes of a domain mask, as the resolution check counts them.

    Parts are 8-connected (26 in 3-D) and must hold a node whose face neighbours are all
    inside; holes are the face-connected components of the complement that do not reach the
    outside.
    """
    return _count_components(np.asarray(mask, dtype=bool))


def node_inside(part: np.ndarray) -> tuple[int, ...]:
    """A node of ``part`` (boolean array) near its centre, for messages.

    The centroid of a ring or a C-shape lies in its hole; the node of the part nearest to
    the centroid is always in the domain.
    """
    nodes = np.argwhere(part)
    centre = nodes.mean(axis=0)
    return tuple(int(i) for i in nodes[np.argmin(((nodes - centre) ** 2).sum(axis=1))])


def check_resolution(
    geometry: Geometry, grid: Grid, *, factor: int = 4, min_width: int = 3
) -> None:
    """Raise :class:`ResolutionError` if ``grid`` is too coarse for ``geometry``.

    The rasterised mask must have the same topology (number of connected parts and of
    enclosed holes) as on a grid ``factor`` times finer, and keep it after one erosion, i.e.
    every part is at least ``min_width`` points thick (3 by default: a Dirichlet problem
    then has unknowns across the thinnest part, e.g. the ring around a hole). ``min_width=1``
    checks only the topology (the heat plates, whose thin webs between holes conduct). Thin bars and small holes that a coarse grid
    misses fail this check instead of silently producing a different domain.
    """
    name = getattr(geometry, "name", None)
    prefix = f"{name}: " if isinstance(name, str) and name else ""
    mask = _inside(geometry, grid)
    fine = _inside(geometry, grid.refined(factor))
    coarse_topology = _count_components(mask)
    fine_topology = _count_components(fine)
    if not mask.any():
        raise ResolutionError(
            f"{prefix}grid {grid.shape} is too coarse for the geometry: no node lies inside "
            "it (it is thinner than the grid spacing everywhere)"
        )
    if coarse_topology != fine_topology:
        raise ResolutionError(
            f"{prefix}grid {grid.shape} is too coarse for the geometry: it shows "
            f"{coarse_topology[0]} part(s) and {coarse_topology[1]} hole(s), a {factor}x finer "
            f"grid shows {fine_topology[0]} part(s) and {fine_topology[1]} hole(s)"
        )
    if not ndimage.binary_erosion(mask).any():
        raise ResolutionError(
            f"{prefix}grid {grid.shape} is too coarse for the geometry: no point of the mask "
            "has all its neighbours inside, so no interior unknowns remain"
        )
    if min_width >= 3:
        check_thickness(mask, min_nodes=min_width, source=name or None)


def check_thickness(mask: np.ndarray, *, min_nodes: int = 3, source: str | None = None) -> None:
    """Raise :class:`ResolutionError` if part of ``mask`` is less than ``min_nodes`` thick.

    The mask is eroded ``min_nodes // 2`` times (4/6-neighbour cross): a part at least
    ``min_nodes`` nodes thick everywhere keeps its core, so each connected part must stay
    one connected part, and no two holes (or a hole and the outside) may merge. A bar or a
    wall thinner than that breaks, vanishes or lets holes merge. Thin spikes that do not
    change the topology (a short peninsula) are not flagged.

    Parameters
    ----------
    mask
        Boolean nodes inside the domain, 2-D or 3-D.
    min_nodes
        Required nodes across the thinnest part (odd values are natural: 3, 5, ...).
    source
        Name that starts the message (default: none).
    """
    prefix = f"{source}: " if source else ""
    mask = np.asarray(mask, dtype=bool)
    steps = max(min_nodes // 2, 1)
    eroded = ndimage.binary_erosion(mask, iterations=steps)
    parts, n_parts = _label_parts(mask)
    core_parts = _label_parts(eroded)[0]
    interior = ndimage.binary_erosion(mask)
    for label in range(1, n_parts + 1):
        part = parts == label
        if not (part & interior).any():
            # A sliver with no interior node: the nodes a sharp tip leaves beyond itself
            # when rasterised. It holds no unknown away from the boundary, and a real
            # island of that size is caught by check_resolution (a finer grid resolves it).
            continue
        cores = np.unique(core_parts[part & eroded])
        if cores.size != 1:
            detail = "vanishes" if cores.size == 0 else f"breaks into {cores.size} pieces"
            raise ResolutionError(
                f"{prefix}on a grid of {mask.shape} nodes a part of the domain (around node "
                f"{node_inside(part)}, inside it) {detail} when thinned by "
                f"{steps} node(s): it is less than {min_nodes} nodes thick; use a finer grid"
            )
    holes = _count_components(mask)[1]
    holes_after = _count_components(eroded)[1]
    if holes_after < holes:
        raise ResolutionError(
            f"{prefix}on a grid of {mask.shape} nodes a wall between holes (or between a "
            f"hole and the outside), around node {_thin_wall_node(mask, eroded)}, is less "
            f"than {min_nodes} nodes thick; use a finer grid"
        )


def _thin_wall_node(mask: np.ndarray, eroded: np.ndarray) -> tuple[int, ...]:
    """A domain node of a wall that thinning opens: it joins two former background parts."""
    before = ndimage.label(np.pad(~mask, 1, constant_values=True))[0][
        tuple(slice(1, -1) for _ in mask.shape)
    ]
    after = ndimage.label(np.pad(~eroded, 1, constant_values=True))[0][
        tuple(slice(1, -1) for _ in mask.shape)
    ]
    removed = mask & ~eroded
    for label in np.unique(after[removed]):
        region = after == label
        if np.unique(before[region & (before > 0)]).size > 1:
            return node_inside(removed & region)
    return node_inside(removed if removed.any() else mask)


def rasterize(
    geometry: Geometry, grid: Grid, *, check: bool = True, min_width: int = 3
) -> np.ndarray:
    """Rasterise a geometry to a boolean mask: true at grid points inside or on the boundary.

    Parameters
    ----------
    geometry
        A DeepXDE geometry of dimension ``grid.ndim``.
    grid
        The grid to sample on.
    check
        If true (default), also run :func:`check_resolution`.
    min_width
        Grid nodes required across the thinnest part (see :func:`check_resolution`).

    Returns
    -------
    numpy.ndarray
        Boolean mask of shape ``grid.shape``.

    Raises
    ------
    GeometryError
        If no grid point lies in the geometry.
    ResolutionError
        If ``check`` and the grid does not resolve the geometry.
    """
    mask = _inside(geometry, grid)
    if not mask.any():
        raise GeometryError(
            f"the geometry covers no point of the {grid.shape} grid (empty mask); check that "
            "it lies inside the grid's box and that holes do not remove all of it"
        )
    if check:
        check_resolution(geometry, grid, min_width=min_width)
    return mask


def interior_mask(geometry: Geometry, grid: Grid, *, check: bool = True) -> np.ndarray:
    """Return the mask of grid points strictly inside ``geometry`` and not on the grid's edge.

    These are the unknowns of a Dirichlet problem: points on the geometry boundary, outside
    it, or on the outer frame of the grid carry the boundary value.
    """
    mask = rasterize(geometry, grid, check=check)
    on_boundary = np.asarray(geometry.on_boundary(grid.points()), dtype=bool).reshape(grid.shape)
    return off_frame(mask & ~on_boundary)


def off_frame(interior: np.ndarray) -> np.ndarray:
    """``interior`` without the grid's outer frame (boundary values live there).

    Raises
    ------
    ResolutionError
        If no point remains.
    """
    frame = np.ones(interior.shape, dtype=bool)
    frame[tuple(slice(1, -1) for _ in interior.shape)] = False
    interior = interior & ~frame
    if not interior.any():
        raise ResolutionError(f"grid {interior.shape} leaves no interior point in the geometry")
    return interior


def boundary_points(geometry: Geometry, n: int, *, seed: int | None = 0) -> np.ndarray:
    """Return ``n`` points on the boundary of ``geometry``, shape ``(n, d)``.

    Uses DeepXDE's evenly spaced boundary points where the geometry provides them, and its
    random boundary sampler otherwise (CSG and 3-D shapes). DeepXDE draws from NumPy's
    global generator, so it is seeded from ``seed`` and restored afterwards to keep the
    result reproducible without side effects.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    # DeepXDE's base class "implements" evenly spaced points by silently drawing random ones
    # from the unseeded global generator, so only call it where a subclass overrides it.
    has_uniform = type(geometry).uniform_boundary_points is not Geometry.uniform_boundary_points
    # DeepXDE prints a warning when it rounds n to a lattice; that case falls back below.
    with contextlib.redirect_stdout(io.StringIO()):
        points = geometry.uniform_boundary_points(n) if has_uniform else None
        if points is None or len(points) != n:
            state = np.random.get_state()
            try:
                np.random.seed(seed)
                points = geometry.random_boundary_points(n)
            finally:
                np.random.set_state(state)
    return np.asarray(points, dtype=float)


def boundary_distance(mask: np.ndarray, axes: Sequence[np.ndarray]) -> np.ndarray:
    """Approximate distance of every grid node to the boundary of the domain ``mask``.

    A Euclidean distance transform of the mask (padded with outside nodes, so the grid's
    frame is a boundary too), less half a node spacing: the boundary lies between the last
    node inside and the first node outside, on average half way. Nodes outside get 0. This
    is the approximate distance function of the exact-Dirichlet DeepONet
    (``boundary_factor``), ``u = tanh(d / w) * network``.

    Parameters
    ----------
    mask : bool array ``(H, W)`` or ``(S, H, W)``
        True inside or on the boundary (:func:`rasterize`).
    axes : (array, array)
        Uniform node coordinates along the two grid axes.

    Returns
    -------
    numpy.ndarray
        Float distances, the shape of ``mask``, in coordinate units.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim == 3:
        return np.stack([boundary_distance(m, axes) for m in mask])
    if mask.ndim != 2 or mask.shape != tuple(len(a) for a in axes):
        raise ValueError(
            f"mask has shape {mask.shape}; expected {tuple(len(a) for a in axes)} from the axes"
        )
    spacing = [float(a[1] - a[0]) if len(a) > 1 else 1.0 for a in axes]
    padded = np.pad(mask, 1, constant_values=False)
    distance = ndimage.distance_transform_edt(padded, sampling=spacing)[1:-1, 1:-1]
    return np.where(mask, np.maximum(distance - 0.5 * min(spacing), 0.0), 0.0)


def grid_values_at(
    values: np.ndarray, axes: Sequence[np.ndarray], coords: np.ndarray
) -> np.ndarray:
    """Bilinear interpolation of grid values ``(S, H, W)`` at points ``(N, 2)``: ``(S, N)``."""
    values = np.asarray(values, dtype=float)
    index = [np.interp(coords[:, k], axis, np.arange(len(axis))) for k, axis in enumerate(axes)]
    return np.stack([ndimage.map_coordinates(v, index, order=1, mode="nearest") for v in values])


def _star_polygon(
    rng: np.random.Generator, centre: np.ndarray, radius: float, n_vertices: int, jitter: float
) -> np.ndarray:
    """Vertices of a star-shaped polygon: sorted angles, radii ``radius * [1 - jitter, 1]``."""
    angles = np.sort(rng.uniform(0.0, 2.0 * np.pi, n_vertices))
    # Spread the angles so no two vertices nearly coincide (a valid, simple polygon).
    angles = 0.5 * angles + 0.5 * np.linspace(0.0, 2.0 * np.pi, n_vertices, endpoint=False)
    radii = radius * rng.uniform(1.0 - jitter, 1.0, n_vertices)
    direction = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    # Shorten rays that leave the unit square (radially, so the polygon stays star-shaped).
    with np.errstate(divide="ignore"):
        to_edge = np.where(direction > 0, (1.0 - centre) / direction, -centre / direction)
    radii = np.minimum(radii, np.where(direction != 0, to_edge, np.inf).min(axis=1))
    return centre + radii[:, None] * direction


def _polygon(vertices: np.ndarray) -> Geometry:
    """DeepXDE polygon of counter-clockwise vertices (its ``Triangle`` for three)."""
    if len(vertices) == 3:
        return Triangle(*vertices.tolist())
    return Polygon(vertices.tolist())


def random_polygon(
    rng: np.random.Generator,
    *,
    holes: int | None = None,
    max_holes: int = 3,
    resolution: int = 50,
) -> Geometry:
    """A random star-shaped polygon inside the unit square with 0 to ``max_holes`` holes.

    The outer polygon has 3 to 9 vertices at radii 0.26 to 0.7 around a centre near
    ``(0.5, 0.5)``, cut radially at the unit square; each hole is
    a small star-shaped polygon (3 to 6 vertices) or a disk, kept at least two grid nodes
    away from the boundary and from the other holes. The result is checked with
    :func:`check_resolution` on a ``resolution`` grid and drawn again when it fails, so
    every geometry is valid for the Darcy solver on that grid.

    Parameters
    ----------
    rng
        Source of randomness (seed it for reproducible families).
    holes
        Exact number of holes; default a uniform draw in ``0 .. max_holes``.
    max_holes
        Largest number of holes when ``holes`` is not given.
    resolution
        Grid nodes per direction the geometry must be resolved on.
    """
    if holes is not None and not 0 <= holes <= max(max_holes, holes):
        raise GeometryError(f"holes must be >= 0, got {holes}")
    grid = Grid.uniform((resolution, resolution))
    gap = 2.5 / (resolution - 1)
    for _ in range(100):
        n_holes = int(rng.integers(0, max_holes + 1)) if holes is None else holes
        centre = 0.5 + rng.uniform(-0.05, 0.05, 2)
        radius = rng.uniform(0.4, 0.7)
        outer = _star_polygon(rng, centre, radius, int(rng.integers(3, 10)), jitter=0.35)
        base = _polygon(outer)
        cut: list[tuple[np.ndarray, float]] = []
        for _ in range(n_holes):
            for _ in range(50):
                r = rng.uniform(0.05, 0.15)
                c = rng.uniform(0.2, 0.8, 2)
                clear = all(np.hypot(*(c - c2)) > r + r2 + gap for c2, r2 in cut)
                ring = c + (r + gap) * np.stack(
                    [np.cos(np.linspace(0, 2 * np.pi, 16)), np.sin(np.linspace(0, 2 * np.pi, 16))],
                    axis=1,
                )
                if clear and bool(np.all(base.inside(ring))):
                    cut.append((c, r))
                    break
        shapes = [
            Disk(c.tolist(), r)
            if rng.random() < 0.4
            else _polygon(_star_polygon(rng, c, r, int(rng.integers(3, 7)), jitter=0.3))
            for c, r in cut
        ]
        geometry = difference(base, *shapes) if shapes else base
        if len(cut) != n_holes:
            continue
        try:
            rasterize(geometry, grid)
        except (GeometryError, ResolutionError):
            continue
        return geometry
    raise GeometryError(
        f"no valid random polygon with {holes} hole(s) on a {resolution}^2 grid in 100 draws"
    )


SHAPE_KINDS = ("polygon", "blocks", "plate")
"""Outer-shape kinds that :func:`random_shapes` cycles through by default."""

ALL_SHAPE_KINDS = (*SHAPE_KINDS, "channel")
"""Every outer-shape kind of :func:`random_shape` (``"channel"``: thick bent strokes)."""


def _slot(rng: np.random.Generator, centre: np.ndarray, half_length: float) -> Geometry:
    """A rectangle (a slot) of half-length ``half_length`` about ``centre``, often rotated."""
    half_width = half_length * rng.uniform(0.2, 0.6)
    angle = rng.choice([0.0, np.pi / 2]) if rng.random() < 0.5 else rng.uniform(0, np.pi)
    along = np.array([np.cos(angle), np.sin(angle)])
    across = np.array([-along[1], along[0]])
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    vertices = np.array(
        [centre + a * half_length * along + b * half_width * across for a, b in corners]
    )
    if Rectangle.is_valid(vertices):
        return Rectangle(vertices.min(axis=0).tolist(), vertices.max(axis=0).tolist())
    return Polygon(vertices.tolist())


def _blocks(rng: np.random.Generator) -> Geometry:
    """A union of 2 to 4 overlapping axis-aligned rectangles inside the unit square."""
    lo = rng.uniform(0.0, 0.15, 2)
    hi = lo + rng.uniform(0.35, 0.85, 2)
    boxes = [(lo, np.minimum(hi, 1.0))]
    for _ in range(int(rng.integers(1, 4))):
        b_lo, b_hi = boxes[int(rng.integers(len(boxes)))]
        anchor = rng.uniform(b_lo + 0.1 * (b_hi - b_lo), b_hi - 0.1 * (b_hi - b_lo))
        size = rng.uniform(0.2, 0.6, 2)
        new_lo = np.clip(anchor - rng.uniform(0.1, 0.9, 2) * size, 0.0, 0.9)
        boxes.append((new_lo, np.minimum(new_lo + size, 1.0)))
    return union(*(Rectangle(a.tolist(), b.tolist()) for a, b in boxes))


def _channel(rng: np.random.Generator) -> Geometry:
    """A thick path of 2 to 4 axis-aligned strokes turning by 90 degrees (U, L, Z, S, ...)."""
    width = rng.uniform(0.12, 0.3)
    margin = 0.03 + width / 2
    point = rng.uniform(margin, 1 - margin, 2)
    heading = int(rng.integers(4))
    steps = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype=float)
    boxes = []
    for _ in range(int(rng.integers(2, 5))):
        end = np.clip(point + steps[heading] * rng.uniform(0.35, 0.85), margin, 1 - margin)
        boxes.append(
            Rectangle(
                (np.minimum(point, end) - width / 2).tolist(),
                (np.maximum(point, end) + width / 2).tolist(),
            )
        )
        point = end
        heading = (heading + int(rng.choice([1, 3]))) % 4
    return union(*boxes)


def _plate(rng: np.random.Generator) -> Geometry:
    """A rectangle filling most of the unit square, some corners cut."""
    lo = rng.uniform(0.0, 0.12, 2)
    hi = 1.0 - rng.uniform(0.0, 0.12, 2)
    corners = [lo, np.array([hi[0], lo[1]]), hi, np.array([lo[0], hi[1]])]
    vertices = []
    for i, corner in enumerate(corners):
        cut = rng.uniform(0.05, 0.25) if rng.random() < 0.4 else 0.0
        if cut == 0.0:
            vertices.append(corner)
            continue
        previous, following = corners[i - 1], corners[(i + 1) % 4]
        vertices.append(corner + cut * (previous - corner) / np.linalg.norm(previous - corner))
        vertices.append(corner + cut * (following - corner) / np.linalg.norm(following - corner))
    if len(vertices) == 4:
        return Rectangle(lo.tolist(), hi.tolist())
    return _polygon(np.array(vertices))


def random_shape(
    rng: np.random.Generator,
    *,
    kind: str | None = None,
    holes: int | None = None,
    max_holes: int = 3,
    resolution: int = 50,
    hole_radius: tuple[float, float] = (0.05, 0.2),
) -> Geometry:
    """A random 2-D shape inside the unit square, of one of :data:`SHAPE_KINDS`, with holes.

    - ``"polygon"``: :func:`random_polygon` (star-shaped, cut at the square);
    - ``"blocks"``: a union of 2 to 4 overlapping axis-aligned rectangles (re-entrant corners);
    - ``"plate"``: a rectangle covering 58-100% of the square, some corners chamfered;
    - ``"channel"``: a stroke 0.12-0.3 wide along 2 to 4 axis-aligned segments, each turning
      by 90 degrees (U-, L-, Z-, S-shaped channels; without holes unless ``holes`` asks).

    Holes of ``"blocks"``, ``"plate"`` and ``"channel"`` are disks, small star polygons or slots (rotated
    rectangles up to six times longer than wide), kept two grid nodes clear of the boundary
    and of each other. Drawn again until :func:`rasterize` accepts it on a ``resolution`` grid.

    Parameters
    ----------
    rng
        Source of randomness.
    kind
        One of :data:`ALL_SHAPE_KINDS`; default a uniform draw from :data:`SHAPE_KINDS`.
    holes, max_holes, resolution
        As for :func:`random_polygon`.
    hole_radius
        Range of a hole's size (the radius of a circle around it) for ``"blocks"`` and
        ``"plate"``; disks are at most ``0.6 * hole_radius[1]`` in radius.
    """
    if kind is None:
        kind = str(rng.choice(SHAPE_KINDS))
    if kind not in ALL_SHAPE_KINDS:
        raise GeometryError(f"unknown shape kind {kind!r}; known: {', '.join(ALL_SHAPE_KINDS)}")
    if kind == "polygon":
        return random_polygon(rng, holes=holes, max_holes=max_holes, resolution=resolution)
    if holes is not None and holes < 0:
        raise GeometryError(f"holes must be >= 0, got {holes}")
    if not 0 < hole_radius[0] <= hole_radius[1] < 0.5:
        raise GeometryError(f"hole_radius must satisfy 0 < low <= high < 0.5, got {hole_radius}")
    grid = Grid.uniform((resolution, resolution))
    gap = 2.5 / (resolution - 1)
    circle = np.stack(
        [np.cos(np.linspace(0, 2 * np.pi, 16)), np.sin(np.linspace(0, 2 * np.pi, 16))], axis=1
    )
    for _ in range(100):
        base = {"blocks": _blocks, "plate": _plate, "channel": _channel}[kind](rng)
        if holes is not None:
            n_holes = holes
        else:
            n_holes = 0 if kind == "channel" else int(rng.integers(0, max_holes + 1))
        cut: list[tuple[np.ndarray, float]] = []
        for _ in range(n_holes):
            for _ in range(50):
                r = rng.uniform(*hole_radius)
                c = rng.uniform(0.1, 0.9, 2)
                clear = all(np.hypot(*(c - c2)) > r + r2 + gap for c2, r2 in cut)
                if clear and bool(np.all(base.inside(c + (r + gap) * circle))):
                    cut.append((c, r))
                    break
        if len(cut) != n_holes:
            continue
        shapes = []
        for c, r in cut:
            draw = rng.random()
            if draw < 0.3:
                shapes.append(Disk(c.tolist(), min(r, 0.6 * hole_radius[1])))
            elif draw < 0.6:
                shapes.append(_polygon(_star_polygon(rng, c, r, int(rng.integers(3, 7)), 0.3)))
            else:
                shapes.append(_slot(rng, c, r))
        geometry = difference(base, *shapes) if shapes else base
        try:
            rasterize(geometry, grid)
        except (GeometryError, ResolutionError):
            continue
        return geometry
    raise GeometryError(f"no valid random {kind} shape on a {resolution}^2 grid in 100 draws")


def random_shapes(
    n: int,
    *,
    seed: int = 0,
    max_holes: int = 3,
    resolution: int = 50,
    family: str = "shape",
    hole_radius: tuple[float, float] = (0.05, 0.2),
    kinds: Sequence[str] = SHAPE_KINDS,
) -> dict[str, Geometry]:
    """``n`` seeded random shapes (:func:`random_shape`, ``kinds`` in turn), ``family_000``, ...."""
    rng = np.random.default_rng(seed)
    return {
        f"{family}_{i:03d}": random_shape(
            rng,
            kind=kinds[i % len(kinds)],
            max_holes=max_holes,
            resolution=resolution,
            hole_radius=hole_radius,
        )
        for i in range(n)
    }


def random_polygons(
    n: int, *, seed: int = 0, max_holes: int = 3, resolution: int = 50, family: str = "polygon"
) -> dict[str, Geometry]:
    """``n`` seeded random polygons (:func:`random_polygon`), named ``family_000``, ....

    The names are stable for a seed, so a data set generated from them (one geometry per
    sample group, as :func:`~sciml.physics.problems.darcy.generate_darcy` cycles them) can
    be regenerated and its geometries looked up again.
    """
    rng = np.random.default_rng(seed)
    return {
        f"{family}_{i:03d}": random_polygon(rng, max_holes=max_holes, resolution=resolution)
        for i in range(n)
    }


def square() -> Geometry:
    """The unit square ``[0, 1]^2``."""
    return Rectangle([0.0, 0.0], [1.0, 1.0])


def circle(radius: float = 0.5) -> Geometry:
    """A disk centred at ``(0.5, 0.5)``; the default touches the unit square's sides."""
    if not 0 < radius <= 0.5:
        raise GeometryError(f"circle radius must be in (0, 0.5], got {radius}")
    return Disk([0.5, 0.5], radius)


def triangle() -> Geometry:
    """The equilateral triangle with unit base from ``(0, 0)`` to ``(1, 0)``."""
    return Triangle([0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0])


def square_with_cross(arm: float = 0.5, width: float = 0.1) -> Geometry:
    """The unit square minus a centred plus-shaped hole (the transfer-learning target).

    Parameters
    ----------
    arm
        Length of each bar of the cross.
    width
        Width of each bar.
    """
    if not (0 < width < arm < 1):
        raise GeometryError(
            f"the cross needs 0 < width < arm < 1 to be a hole inside the square, got "
            f"arm={arm}, width={width}"
        )
    lo, hi = 0.5 - arm / 2, 0.5 + arm / 2
    bar_lo, bar_hi = 0.5 - width / 2, 0.5 + width / 2
    cross = union(Rectangle([lo, bar_lo], [hi, bar_hi]), Rectangle([bar_lo, lo], [bar_hi, hi]))
    return difference(square(), cross)


def l_shape() -> Geometry:
    """The L-shaped domain ``[0, 1]^2`` minus ``(0.5, 1] x (0.5, 1]``."""
    return Polygon([[0.0, 0.0], [1.0, 0.0], [1.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]])


def annulus(inner: float = 0.25, outer: float = 0.5) -> Geometry:
    """The ring ``inner <= |x - (0.5, 0.5)| <= outer``.

    Raises
    ------
    GeometryError
        If the hole is at least as large as the disk.
    """
    if not 0 < outer <= 0.5:
        raise GeometryError(f"annulus outer radius must be in (0, 0.5], got {outer}")
    if not 0 < inner < outer:
        raise GeometryError(
            f"annulus hole radius {inner} must be positive and smaller than the outer "
            f"radius {outer}"
        )
    return difference(Disk([0.5, 0.5], outer), Disk([0.5, 0.5], inner))


SHAPES: dict[str, Callable[[], Geometry]] = {
    "square": square,
    "circle": circle,
    "triangle": triangle,
    "square_with_cross": square_with_cross,
    "l_shape": l_shape,
    "annulus": annulus,
}
"""Named 2-D shapes by name, for the command line (see :func:`sciml.cli.resolve`)."""
