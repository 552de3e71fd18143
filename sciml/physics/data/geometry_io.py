"""User-defined geometries from files: polygons with holes, masks, and STL surfaces.

Every loader returns a DeepXDE :class:`~deepxde.geometry.Geometry`, so a loaded domain goes
wherever a named shape goes (:func:`~sciml.physics.problems.darcy.generate_darcy`, the predictor,
:func:`~sciml.physics.data.geometry.rasterize`, the cut-cell solver):

- a polygon with holes from GeoJSON (a ``Polygon``, or a ``Feature`` / one-feature
  ``FeatureCollection`` holding one; the first ring is the outer boundary, the others are
  holes) or from CSV (columns ``x``, ``y`` and optionally ``ring``; ring ``0`` is the outer
  boundary, every other id a hole; a ring closes on its own): :func:`load_polygon_geojson`,
  :func:`load_polygon_csv`, or :func:`polygon_with_holes` from vertex arrays;
- a mask from an image (PNG: pixels brighter than half the maximum are inside), a ``.npy``
  array or a netCDF variable (nonzero is inside): :func:`load_mask_image`,
  :func:`load_mask_array`, :func:`load_mask_netcdf`, as a :class:`MaskGeometry`;
- a closed STL surface (3-D, for the heat problem): :func:`load_stl`, a
  :class:`MeshGeometry` (needs the optional ``trimesh``).

:func:`load_geometry` picks the loader from the file suffix. Each loader checks what it
reads (closed rings, holes inside the outer ring and apart, a watertight surface) and
:func:`check_geometry` checks that a grid resolves the domain: the same topology as on a
finer grid, at least ``min_nodes`` nodes across its thinnest part, and enough unknowns.
Errors are :class:`~sciml.physics.errors.GeometryError` (a ``ValueError``) naming the file.

Coordinates: 2-D domains live in the unit square ``[0, 1]^2`` of the Darcy grid; arrays
are indexed ``mask[i, j]`` at ``(x_i, y_j)`` (the grids' ``"ij"`` convention). A 2-D array
(``.npy``, or netCDF without ``x``/``y`` coordinates) holds node values of a uniform grid
over the unit square, ``x_i = i / (n - 1)``, like the Darcy grid and a numpy mask given to
a model, so one mask means one domain whichever way it comes; a 3-D array covers the unit
cube with cells (the heat problem's cell-centred grid). Images cover the unit square with
their pixels and are read as shown (row 0 at the top, ``y = 1``). STL coordinates are used
as they are.

Examples
--------
>>> from sciml.physics.data.geometry_io import polygon_with_holes
>>> ring = [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)]
>>> hole = [(0.4, 0.4), (0.6, 0.4), (0.5, 0.6)]
>>> domain = polygon_with_holes(ring, [hole])
>>> bool(domain.inside([[0.2, 0.2]])[0]), bool(domain.inside([[0.5, 0.45]])[0])
(True, False)
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sciml.physics.data.geometry import (
    Geometry,
    Grid,
    Polygon,
    Rectangle,
    Triangle,
    check_resolution,
    check_thickness,
    difference,
    rasterize,
)
from sciml.physics.errors import GeometryError, ResolutionError

__all__ = [
    "GEOMETRY_SUFFIXES",
    "MaskGeometry",
    "MeshGeometry",
    "polygon_with_holes",
    "load_polygon_geojson",
    "load_polygon_csv",
    "load_mask_image",
    "load_mask_array",
    "load_mask_netcdf",
    "mask_from_values",
    "load_stl",
    "load_geometry",
    "geometry_file_dim",
    "check_thickness",
    "check_geometry",
]

GEOMETRY_SUFFIXES = (".geojson", ".json", ".csv", ".png", ".npy", ".nc", ".stl")
"""File suffixes :func:`load_geometry` understands."""

_UNIT_TOLERANCE = 1e-9


# --------------------------------------------------------------------------- polygons


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _orientation(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (
        c[..., 0] - a[..., 0]
    )


def _crossing_pairs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Boolean ``(n1, n2)``: whether edge ``i`` of ring ``first`` meets edge ``j`` of ``second``.

    Touching and collinear overlap count as meeting, so a hole that touches the outer ring
    is rejected like one that crosses it.
    """
    a, b = first[:, None], np.roll(first, -1, axis=0)[:, None]
    c, d = second[None], np.roll(second, -1, axis=0)[None]
    o1, o2 = _orientation(a, b, c), _orientation(a, b, d)
    o3, o4 = _orientation(c, d, a), _orientation(c, d, b)
    scale = 1e-12 * max(np.ptp(first, axis=0).max(), np.ptp(second, axis=0).max(), 1.0) ** 2
    proper = (o1 * o2 < 0) & (o3 * o4 < 0)

    def on_segment(p, q, r, o):
        # r collinear with p-q and within its bounding box.
        lo, hi = np.minimum(p, q), np.maximum(p, q)
        inside = np.all((r >= lo - 1e-12) & (r <= hi + 1e-12), axis=-1)
        return (np.abs(o) <= scale) & inside

    touching = (
        on_segment(a, b, c, o1)
        | on_segment(a, b, d, o2)
        | on_segment(c, d, a, o3)
        | on_segment(c, d, b, o4)
    )
    return proper | touching


def _points_in_ring(points: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Even-odd test, shape ``(m,)``; points on an edge may go either way."""
    x, y = points[:, 0:1], points[:, 1:2]
    x1, y1 = ring[:, 0], ring[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    straddle = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return np.count_nonzero(straddle & (x < x_cross), axis=1) % 2 == 1


def _check_ring(ring: np.ndarray, name: str, source: str) -> np.ndarray:
    if ring.ndim != 2 or ring.shape[1] != 2:
        raise GeometryError(f"{source}: {name} must be a list of (x, y) vertices")
    if not np.all(np.isfinite(ring)):
        raise GeometryError(f"{source}: {name} has a non-finite vertex coordinate")
    # Drop repeated consecutive vertices (a closing vertex is handled by the caller).
    keep = np.ones(len(ring), dtype=bool)
    keep[1:] = np.any(np.diff(ring, axis=0) != 0, axis=1)
    ring = ring[keep]
    if len(ring) > 1 and np.array_equal(ring[0], ring[-1]):
        ring = ring[:-1]
    if len(ring) < 3:
        raise GeometryError(f"{source}: {name} has {len(ring)} distinct vertices; need 3")
    meets = _crossing_pairs(ring, ring)
    n = len(ring)
    i, j = np.nonzero(np.triu(meets, k=2))
    # Edges n-1 and 0 share the first vertex: that is not a self-intersection.
    bad = ~((i == 0) & (j == n - 1))
    if bad.any():
        k, m = int(i[bad][0]), int(j[bad][0])
        raise GeometryError(
            f"{source}: {name} intersects itself: edge {k} ({ring[k]} -> {ring[(k + 1) % n]}) "
            f"meets edge {m} ({ring[m]} -> {ring[(m + 1) % n]})"
        )
    extent = max(float(np.ptp(ring, axis=0).max()), 1e-300)
    if abs(_signed_area(ring)) <= 1e-12 * extent**2:
        raise GeometryError(f"{source}: {name} has zero area (its vertices are collinear)")
    return ring


def _ring_geometry(ring: np.ndarray) -> Geometry:
    # DeepXDE refuses a 3-vertex or axis-aligned 4-vertex Polygon and wants the dedicated class.
    if len(ring) == 3:
        return Triangle(*ring.tolist())
    if len(ring) == 4 and Rectangle.is_valid(ring):
        return Rectangle(ring.min(axis=0).tolist(), ring.max(axis=0).tolist())
    return Polygon(ring.tolist())


def polygon_with_holes(
    outer: Sequence[Sequence[float]] | np.ndarray,
    holes: Sequence[Sequence[Sequence[float]] | np.ndarray] = (),
    *,
    source: str = "polygon",
    unit_square: bool = True,
) -> Geometry:
    """Build a polygon with polygonal holes, after checking it.

    Parameters
    ----------
    outer
        Outer ring, ``(n, 2)`` vertices in either orientation; a repeated closing vertex is
        allowed.
    holes
        Hole rings, each ``(n_k, 2)``.
    source
        Name used in error messages (the file).
    unit_square
        Require the polygon to lie in ``[0, 1]^2``, the Darcy grid.

    Returns
    -------
    deepxde.geometry.Geometry
        The outer polygon minus the holes (DeepXDE CSG).

    Raises
    ------
    GeometryError
        If a ring has fewer than 3 distinct vertices, zero area, intersects itself; a hole
        is not strictly inside the outer ring, or meets another hole; or the polygon leaves
        the unit square.
    """
    ring = _check_ring(np.asarray(outer, dtype=float), "the outer ring", source)
    if unit_square and (ring.min() < -_UNIT_TOLERANCE or ring.max() > 1 + _UNIT_TOLERANCE):
        lo, hi = ring.min(axis=0), ring.max(axis=0)
        raise GeometryError(
            f"{source}: the outer ring spans [{lo[0]:.4g}, {hi[0]:.4g}] x "
            f"[{lo[1]:.4g}, {hi[1]:.4g}], outside the unit square [0, 1]^2 of the grid"
        )
    checked: list[np.ndarray] = []
    for k, hole in enumerate(holes, start=1):
        name = f"hole {k}"
        hole = _check_ring(np.asarray(hole, dtype=float), name, source)
        if _crossing_pairs(hole, ring).any() or not _points_in_ring(hole, ring).all():
            raise GeometryError(
                f"{source}: {name} is not strictly inside the outer ring (it crosses, touches "
                "or lies outside it)"
            )
        for m, other in enumerate(checked, start=1):
            if (
                _crossing_pairs(hole, other).any()
                or _points_in_ring(hole[:1], other).any()
                or _points_in_ring(other[:1], hole).any()
            ):
                raise GeometryError(f"{source}: {name} overlaps hole {m}; holes must be apart")
        checked.append(hole)
    return difference(_ring_geometry(ring), *(_ring_geometry(h) for h in checked))


def load_polygon_geojson(path: str | Path, **kwargs: Any) -> Geometry:
    """Load a GeoJSON ``Polygon`` (first ring outer, further rings holes).

    Accepts a bare ``Polygon`` geometry, a ``Feature`` holding one, or a
    ``FeatureCollection`` of exactly one such feature. Each ring must be closed (first
    vertex repeated at the end), as RFC 7946 requires. Keyword arguments go to
    :func:`polygon_with_holes`.

    Raises
    ------
    GeometryError
        If the file is not valid JSON, not a single Polygon, has an open ring, or fails the
        checks of :func:`polygon_with_holes`.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GeometryError(f"{path}: not valid JSON ({exc})") from exc
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features") or []
        if len(features) != 1:
            raise GeometryError(
                f"{path}: a FeatureCollection must hold exactly one Polygon feature, found "
                f"{len(features)}"
            )
        data = features[0]
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry") or {}
    kind = data.get("type") if isinstance(data, dict) else type(data).__name__
    if kind != "Polygon":
        raise GeometryError(
            f"{path}: expected a GeoJSON Polygon (outer ring, then holes), found {kind!r}"
        )
    rings = data.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise GeometryError(f"{path}: the Polygon has no coordinates")
    arrays = []
    for k, ring in enumerate(rings):
        name = "the outer ring" if k == 0 else f"hole {k}"
        try:
            array = np.asarray(ring, dtype=float)
        except (TypeError, ValueError) as exc:
            raise GeometryError(f"{path}: {name} has non-numeric coordinates ({exc})") from exc
        if array.ndim != 2 or array.shape[1] != 2 or len(array) < 4:
            raise GeometryError(
                f"{path}: {name} must be a list of at least 4 [x, y] positions (3 vertices "
                f"and the closing one), got shape {array.shape}"
            )
        if not np.array_equal(array[0], array[-1]):
            raise GeometryError(
                f"{path}: {name} is not closed: its first position {array[0].tolist()} differs "
                f"from its last {array[-1].tolist()}"
            )
        arrays.append(array)
    return polygon_with_holes(arrays[0], arrays[1:], source=str(path), **kwargs)


def load_polygon_csv(path: str | Path, **kwargs: Any) -> Geometry:
    """Load a polygon with holes from CSV columns ``x``, ``y`` and optionally ``ring``.

    Rows of one ring are consecutive vertices; ring ``0`` (or every row, without a ``ring``
    column) is the outer boundary, every other ring id a hole. A ring closes on its own;
    repeating its first vertex at the end is allowed. Keyword arguments go to
    :func:`polygon_with_holes`.

    Raises
    ------
    GeometryError
        If a column is missing, a value is not a number (naming row and column), there is
        no ring 0, or the rings fail the checks of :func:`polygon_with_holes`.
    """
    path = Path(path)
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        reader.fieldnames = columns
        missing = {"x", "y"} - set(columns)
        if missing:
            raise GeometryError(
                f"{path}: missing column(s) {', '.join(sorted(missing))}; expected x, y and "
                f"optionally ring, found {columns}"
            )
        rings: dict[int, list[tuple[float, float]]] = {}
        for row_number, row in enumerate(reader, start=2):
            values = []
            for column in ("x", "y"):
                try:
                    values.append(float(row[column]))
                except (TypeError, ValueError):
                    raise GeometryError(
                        f"{path}, row {row_number}, column {column}: {row[column]!r} is not a "
                        "number"
                    ) from None
            ring_id = 0
            if "ring" in columns:
                try:
                    ring_id = int(row["ring"])
                except (TypeError, ValueError):
                    raise GeometryError(
                        f"{path}, row {row_number}, column ring: {row['ring']!r} is not an "
                        "integer ring id"
                    ) from None
            rings.setdefault(ring_id, []).append((values[0], values[1]))
    if 0 not in rings:
        found = sorted(rings) if rings else "no rows"
        raise GeometryError(f"{path}: no outer ring (ring id 0); found ring ids {found}")
    holes = [rings[k] for k in sorted(rings) if k != 0]
    return polygon_with_holes(rings[0], holes, source=str(path), **kwargs)


# --------------------------------------------------------------------------- masks


class MaskGeometry(Geometry):
    """A domain given by a boolean pixel (or voxel) mask over a box.

    Pixel ``mask[i, j, ...]`` covers the cell ``lower + (i, j, ...) * size / shape`` to one
    cell further; a point is inside if its cell is true (points outside the box are
    outside). The boundary is the set of cell faces between true and false cells; since a
    mask carries no finer information, the boundary of a mask domain is only as accurate
    as its pixels.

    Parameters
    ----------
    mask
        Boolean array, shape ``(n_1, ..., n_d)``, ``"ij"`` indexing.
    lower, upper
        Box corners, default the unit square/cube.
    name
        Shown in messages (e.g. the file it came from).
    """

    def __init__(
        self,
        mask: np.ndarray,
        lower: Sequence[float] | None = None,
        upper: Sequence[float] | None = None,
        *,
        name: str = "mask",
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        d = mask.ndim
        if d not in (2, 3):
            raise GeometryError(f"{name}: a mask must be 2-D or 3-D, got shape {mask.shape}")
        if not mask.any():
            raise GeometryError(f"{name}: the mask is empty (no pixel is inside)")
        self.mask = mask
        self.name = name
        self.lower = np.zeros(d) if lower is None else np.asarray(lower, dtype=float)
        self.upper = np.ones(d) if upper is None else np.asarray(upper, dtype=float)
        self.cell = (self.upper - self.lower) / np.asarray(mask.shape)
        super().__init__(
            d, (self.lower, self.upper), float(np.linalg.norm(self.upper - self.lower))
        )

    def _cells(self, x: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        x = np.asarray(x, dtype=float).reshape(-1, self.dim)
        index = np.floor((x - self.lower) / self.cell).astype(np.int64)
        shape = np.asarray(self.mask.shape)
        # A point on the upper face belongs to the last cell.
        on_upper = np.isclose(x, self.upper) & (index == shape)
        index[on_upper] -= 1
        in_box = np.all((index >= 0) & (index < shape), axis=1)
        index = np.clip(index, 0, shape - 1)
        return tuple(index.T), in_box

    def inside(self, x: np.ndarray) -> np.ndarray:
        cells, in_box = self._cells(x)
        return in_box & self.mask[cells]

    def on_boundary(self, x: np.ndarray) -> np.ndarray:
        # No node of a grid is on a pixel face in general; the solvers find the faces
        # themselves (staircase or bisection on ``inside``).
        return np.zeros(len(np.asarray(x).reshape(-1, self.dim)), dtype=bool)

    def random_points(self, n: int, random: str = "pseudo") -> np.ndarray:
        cells = np.argwhere(self.mask)
        pick = cells[np.random.randint(len(cells), size=n)]
        return self.lower + (pick + np.random.random_sample((n, self.dim))) * self.cell

    def random_boundary_points(self, n: int, random: str = "pseudo") -> np.ndarray:
        faces = []
        padded = np.pad(self.mask, 1)
        for axis in range(self.dim):
            # Along ``axis``, entry f of the difference is the face at lower + f * cell
            # (between mask cells f - 1 and f); the other axes index cells.
            change = np.diff(padded.astype(np.int8), axis=axis)
            core = [slice(1, -1)] * self.dim
            core[axis] = slice(None)
            faces.append((axis, np.argwhere(change[tuple(core)] != 0)))
        counts = np.array([len(w) for _, w in faces])
        choice = np.random.choice(len(faces), size=n, p=counts / counts.sum())
        points = np.empty((n, self.dim))
        for k, (axis, where) in enumerate(faces):
            rows = np.nonzero(choice == k)[0]
            pick = where[np.random.randint(len(where), size=len(rows))].astype(float)
            offset = np.random.random_sample(pick.shape)
            offset[:, axis] = 0.0
            pick += offset
            points[rows] = self.lower + pick * self.cell
        return points


def load_mask_array(path: str | Path, **kwargs: Any) -> MaskGeometry:
    """Load a 2-D or 3-D mask from a ``.npy`` file (nonzero is inside).

    Keyword arguments (``lower``, ``upper``) go to :class:`MaskGeometry`.

    Raises
    ------
    GeometryError
        If the array is not 2-D/3-D, holds NaN, or is empty.
    """
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise GeometryError(f"{path}: not a readable .npy array ({exc})") from exc
    return mask_from_values(array, str(path), **kwargs)


def mask_from_values(array: np.ndarray, name: str, **kwargs: Any) -> MaskGeometry:
    """A :class:`MaskGeometry` from an array (nonzero is inside), checked like a file's.

    ``name`` goes into the messages. A 2-D array holds node values of the unit square's
    grid (see the module notes on coordinates); ``lower`` / ``upper`` override that.
    """
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise GeometryError(f"{name}: a mask must be numeric or boolean, got dtype {array.dtype}")
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise GeometryError(f"{name}: the mask holds NaN; use 0 outside and 1 inside")
    if array.ndim == 2 and "lower" not in kwargs and min(array.shape) > 1:
        # Node values of the 2-D (Darcy) grid over the unit square, x_i = i / (n - 1): each
        # node's cell extends half a spacing around it, as for a numpy array or a netCDF
        # mask with coordinates, so the same mask gives the same domain however it comes.
        half = 0.5 / (np.asarray(array.shape) - 1)
        kwargs["lower"], kwargs["upper"] = -half, 1 + half
    return MaskGeometry(array != 0, name=name, **kwargs)


def load_mask_netcdf(
    path: str | Path, variable: str | None = None, *, sample: int = 0, **kwargs: Any
) -> MaskGeometry:
    """Load a mask from a netCDF variable (nonzero is inside).

    Parameters
    ----------
    path
        netCDF file.
    variable
        Variable name; default ``"mask"``.
    sample
        If the variable has a ``sample`` dimension (a data set written by ``sciml pde
        generate``), the sample to take.
    **kwargs
        ``lower``, ``upper`` for :class:`MaskGeometry`; by default the box spans the
        variable's ``x``/``y``(/``z``) coordinates when it has them.

    Raises
    ------
    GeometryError
        If the file has no such variable or it is not a 2-D/3-D mask.
    """
    import xarray as xr

    path = Path(path)
    variable = variable or "mask"
    try:
        ds = xr.open_dataset(path)
    except (OSError, ValueError) as exc:
        raise GeometryError(f"{path}: not a readable netCDF file ({exc})") from exc
    with ds:
        if variable not in ds:
            raise GeometryError(
                f"{path}: no variable {variable!r}; variables are {sorted(map(str, ds.data_vars))}"
            )
        data = ds[variable]
        if "sample" in data.dims:
            data = data.isel(sample=sample)
        spatial = [d for d in ("x", "y", "z") if d in data.dims]
        if len(spatial) == data.ndim:
            data = data.transpose(*spatial)
            if "lower" not in kwargs and all(d in data.coords for d in spatial):
                # Coordinates are point positions: the cells extend half a spacing around them.
                axes = [np.asarray(data[d].values, dtype=float) for d in spatial]
                if all(a.size > 1 for a in axes):
                    half = [0.5 * (a[-1] - a[0]) / (a.size - 1) for a in axes]
                    kwargs["lower"] = [a[0] - h for a, h in zip(axes, half, strict=True)]
                    kwargs["upper"] = [a[-1] + h for a, h in zip(axes, half, strict=True)]
        values = np.asarray(data.values)
    return mask_from_values(values, f"{path}:{variable}", **kwargs)


def load_mask_image(path: str | Path, *, threshold: float = 0.5, **kwargs: Any) -> MaskGeometry:
    """Load a mask from an image (PNG): pixels brighter than ``threshold`` x max are inside.

    The image is read as displayed: its top row is ``y = 1``, its left column ``x = 0``. An
    alpha channel, if any, multiplies the brightness (transparent is outside).

    Raises
    ------
    GeometryError
        If the image cannot be read or no pixel is inside.
    """
    from matplotlib import image as mpimg

    path = Path(path)
    try:
        pixels = np.asarray(mpimg.imread(path), dtype=float)
    except (OSError, ValueError, SyntaxError) as exc:
        raise GeometryError(f"{path}: not a readable image ({exc})") from exc
    if pixels.ndim == 3:
        alpha = pixels[..., 3] if pixels.shape[2] == 4 else 1.0
        pixels = pixels[..., :3].mean(axis=-1) * alpha
    peak = pixels.max()
    if peak <= 0:
        raise GeometryError(f"{path}: the image is black: no pixel is inside the domain")
    # Row 0 is the top (y = 1): flip rows and swap axes to mask[i_x, j_y].
    return MaskGeometry((pixels >= threshold * peak)[::-1].T, name=str(path), **kwargs)


# --------------------------------------------------------------------------- STL


class MeshGeometry(Geometry):
    """A 3-D domain bounded by a closed triangle surface (from an STL file).

    ``inside`` casts a ray from each point along ``+z`` and counts the surface crossings
    (odd: inside), with exact vectorised ray--triangle tests; trimesh's own ``contains``
    needs the optional ``rtree``. Points on the surface may go either way.

    Parameters
    ----------
    mesh
        A watertight ``trimesh.Trimesh``.
    name
        Shown in messages.
    """

    def __init__(self, mesh: Any, *, name: str = "mesh") -> None:
        self.mesh = mesh
        self.name = name
        self._triangles = np.asarray(mesh.triangles, dtype=float)
        lower, upper = np.asarray(mesh.bounds, dtype=float)
        super().__init__(3, (lower, upper), float(np.linalg.norm(upper - lower)))

    def inside(self, x: np.ndarray, *, chunk: int = 2048) -> np.ndarray:
        x = np.asarray(x, dtype=float).reshape(-1, 3)
        a, b, c = (self._triangles[:, k] for k in range(3))
        # A tiny off-lattice shift keeps rays off edges and vertices of grid-aligned meshes.
        jitter = np.array([1.234567e-9, 2.345678e-9]) * max(self.diam, 1.0)
        result = np.zeros(len(x), dtype=bool)
        denominator = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (
            a[:, 1] - c[:, 1]
        )
        usable = np.abs(denominator) > 0  # triangles seen edge-on by a vertical ray
        a, b, c, denominator = a[usable], b[usable], c[usable], denominator[usable]
        for start in range(0, len(x), chunk):
            p = x[start : start + chunk]
            px = p[:, 0:1] + jitter[0]
            py = p[:, 1:2] + jitter[1]
            w1 = ((b[:, 1] - c[:, 1]) * (px - c[:, 0]) + (c[:, 0] - b[:, 0]) * (py - c[:, 1])) / (
                denominator
            )
            w2 = ((c[:, 1] - a[:, 1]) * (px - c[:, 0]) + (a[:, 0] - c[:, 0]) * (py - c[:, 1])) / (
                denominator
            )
            w3 = 1.0 - w1 - w2
            hit = (w1 >= 0) & (w2 >= 0) & (w3 >= 0)
            z = w1 * a[:, 2] + w2 * b[:, 2] + w3 * c[:, 2]
            result[start : start + chunk] = np.count_nonzero(hit & (z > p[:, 2:3]), axis=1) % 2 == 1
        return result

    def on_boundary(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(len(np.asarray(x).reshape(-1, 3)), dtype=bool)

    def random_points(self, n: int, random: str = "pseudo") -> np.ndarray:
        lower, upper = self.bbox
        points = np.empty((0, 3))
        while len(points) < n:
            candidates = lower + (upper - lower) * np.random.random_sample((2 * n, 3))
            points = np.concatenate([points, candidates[self.inside(candidates)]])
        return points[:n]

    def random_boundary_points(self, n: int, random: str = "pseudo") -> np.ndarray:
        from trimesh.sample import sample_surface

        return np.asarray(sample_surface(self.mesh, n)[0], dtype=float)


def load_stl(path: str | Path) -> MeshGeometry:
    """Load a closed STL surface as a 3-D geometry (needs ``trimesh``).

    Raises
    ------
    ImportError
        If ``trimesh`` is not installed (``pip install 'sciml[geometry]'``).
    GeometryError
        If the file holds no triangles, or the surface is not watertight (a closed volume)
        or not consistently oriented.
    """
    try:
        import trimesh
    except ImportError as exc:
        raise ImportError(
            "reading STL surfaces needs trimesh: pip install trimesh (or 'sciml[geometry]')"
        ) from exc
    path = Path(path)
    try:
        mesh = trimesh.load(path, file_type="stl", force="mesh")
    except Exception as exc:  # trimesh raises many types for a bad file
        raise GeometryError(f"{path}: not a readable STL surface ({exc})") from exc
    if len(getattr(mesh, "faces", ())) == 0:
        raise GeometryError(f"{path}: the STL file holds no triangles")
    if not mesh.is_watertight:
        raise GeometryError(
            f"{path}: the surface is not watertight (it has open edges), so it does not "
            "enclose a volume"
        )
    if not mesh.is_winding_consistent:
        raise GeometryError(f"{path}: the triangles are not consistently oriented")
    return MeshGeometry(mesh, name=str(path))


# --------------------------------------------------------------------------- checks


def check_geometry(
    geometry: Geometry,
    grid: Grid | int,
    *,
    min_nodes: int = 3,
    source: str | None = None,
) -> np.ndarray:
    """Check that ``grid`` resolves ``geometry``; return its mask on the grid.

    Runs :func:`~sciml.physics.data.geometry.check_resolution` (the same parts and holes as on a
    4x finer grid, and :func:`~sciml.physics.data.geometry.check_thickness`), and requires at least ``min_nodes ** d``
    nodes inside.

    Parameters
    ----------
    geometry
        The domain.
    grid
        A grid, or a number of nodes per side of the unit square/cube.
    min_nodes
        Nodes required across the thinnest part.
    source
        Name for messages; default the geometry's ``name`` or ``"geometry"``.

    Returns
    -------
    numpy.ndarray
        Boolean mask of shape ``grid.shape``.

    Raises
    ------
    ResolutionError
        If the grid is too coarse.
    """
    source = source or getattr(geometry, "name", "geometry")
    if isinstance(grid, int | np.integer):
        grid = Grid.uniform((int(grid),) * geometry.dim)
    try:
        mask = rasterize(geometry, grid, check=False)
        check_resolution(geometry, grid, min_width=min_nodes)
    except GeometryError as exc:
        raise type(exc)(f"{source}: {exc}") from exc
    needed = min_nodes**grid.ndim
    if mask.sum() < needed:
        raise ResolutionError(
            f"{source}: only {int(mask.sum())} grid nodes of {grid.shape} lie in the domain; "
            f"need at least {needed}"
        )
    return mask


def _geometry_file(path: str | Path) -> tuple[Path, str]:
    """``(path, lower-case suffix)`` of an existing geometry file of a known type.

    Raises
    ------
    GeometryError
        Unknown file type (listing the known ones), or no such file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in GEOMETRY_SUFFIXES:
        raise GeometryError(
            f"{path}: unknown geometry file type {suffix or '(none)'!r}; use one of "
            f"{', '.join(GEOMETRY_SUFFIXES)}"
        )
    if not path.is_file():
        raise GeometryError(f"{path}: no such geometry file")
    return path, suffix


def geometry_file_dim(path: str | Path, variable: str | None = None) -> int:
    """Spatial dimension of a geometry file (2 or 3), read without building the geometry.

    Polygons (GeoJSON, CSV) and images are 2-D, STL surfaces 3-D; ``.npy`` and netCDF masks
    are as many-dimensional as their array (a netCDF ``sample`` dimension does not count).
    Cheap: an ``.npy`` header or netCDF metadata is read, no mask or mesh is built, so a
    problem can refuse a file of the wrong dimension before any work.

    Raises
    ------
    GeometryError
        If the file is missing, of an unknown type, or unreadable.
    """
    path, suffix = _geometry_file(path)
    if suffix == ".stl":
        return 3
    if suffix == ".npy":
        try:
            return int(np.load(path, mmap_mode="r", allow_pickle=False).ndim)
        except (OSError, ValueError) as exc:
            raise GeometryError(f"{path}: not a readable .npy array ({exc})") from exc
    if suffix == ".nc":
        import xarray as xr

        try:
            with xr.open_dataset(path) as ds:
                data = ds[variable or "mask"] if (variable or "mask") in ds else None
                if data is None:
                    return 2  # load_mask_netcdf names the missing variable
                return int(data.ndim - ("sample" in data.dims))
        except (OSError, ValueError) as exc:
            raise GeometryError(f"{path}: not a readable netCDF file ({exc})") from exc
    return 2


def load_geometry(
    path: str | Path,
    *,
    variable: str | None = None,
    resolution: int | Grid | None = None,
    min_nodes: int = 3,
) -> Geometry:
    """Load a geometry from a file, choosing the loader by suffix.

    ``.geojson``/``.json``: :func:`load_polygon_geojson`; ``.csv``: :func:`load_polygon_csv`;
    ``.png``: :func:`load_mask_image`; ``.npy``: :func:`load_mask_array`; ``.nc``:
    :func:`load_mask_netcdf` (``variable``, default ``"mask"``); ``.stl``: :func:`load_stl`.

    Parameters
    ----------
    path
        The file.
    variable
        netCDF variable holding the mask.
    resolution
        If given (nodes per side, or a grid), also run :func:`check_geometry` on it.
    min_nodes
        For the resolution check.

    Raises
    ------
    GeometryError
        If the file is missing, of an unknown type, or fails its checks (the message names
        the file).
    """
    path, suffix = _geometry_file(path)
    if suffix in (".geojson", ".json"):
        geometry = load_polygon_geojson(path)
    elif suffix == ".csv":
        geometry = load_polygon_csv(path)
    elif suffix == ".png":
        geometry = load_mask_image(path)
    elif suffix == ".npy":
        geometry = load_mask_array(path)
    elif suffix == ".nc":
        geometry = load_mask_netcdf(path, variable)
    else:
        geometry = load_stl(path)
    geometry.name = str(path)
    if resolution is not None:
        check_geometry(geometry, resolution, min_nodes=min_nodes, source=str(path))
    return geometry
