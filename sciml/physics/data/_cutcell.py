r"""Shortley--Weller cut-cell stencils: second-order Dirichlet conditions on curved boundaries.

The staircase treatment (``u = g`` at the first grid node outside the domain) moves the
boundary by up to one spacing ``h``, so a finite-difference solution converges at first
order on any boundary that is not a grid line. The Shortley--Weller scheme keeps the
boundary where it is: for an unknown node ``x_i`` whose neighbour along an axis is not an
unknown, the boundary crossing ``x_i + theta h e`` (``0 < theta <= 1``) is found from the
geometry, and the 3-point difference along that axis uses the unequal arms ``theta_- h``
and ``theta_+ h``:

.. math:: -\frac{1}{\bar h}\left(K_+ \frac{u_+ - u_i}{\theta_+ h}
          - K_- \frac{u_i - u_-}{\theta_- h}\right), \qquad
          \bar h = \frac{(\theta_- + \theta_+) h}{2},

with ``u_+ = g`` at a crossing. ``K_+`` is the face average (harmonic or arithmetic, as in
:func:`~sciml.physics.data._fd.assemble_diffusion`) of ``K_i`` and ``K`` at the crossing,
interpolated linearly along the grid line. With ``theta = 1`` everywhere the stencil is the
5/7-point finite-volume stencil of :func:`~sciml.physics.data._fd.assemble_diffusion`.

The local truncation error at cut nodes is ``O(h)``, but the discrete maximum principle
(the matrix is an M-matrix) turns it into a global error ``O(h^2)``, the classical result
(Shortley and Weller, 1938; Matsunaga and Yamamoto, 2000). The price is a non-symmetric
matrix, so the systems are solved by a sparse LU (SuperLU) or BiCGSTAB, not by conjugate
gradients.

Why this and not finite elements: it keeps the solution on the same tensor grid as the
data sets (no interpolation from a triangulation, which is itself only second order and
smooths the fields) and reuses the masks, the geometries and the sparse direct solver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from sciml.physics.data._fd import _face, solve_sparse, sparse_from_parts

if TYPE_CHECKING:
    from sciml.physics.data.geometry import Geometry, Grid

__all__ = [
    "BOUNDARY_SCHEMES",
    "CutCells",
    "interior_nodes",
    "cut_cells",
    "assemble_cut_cell",
    "solve_nonsymmetric",
    "solve_dirichlet",
    "scheme_attrs",
    "check_scheme",
]

BOUNDARY_SCHEMES = ("shortley-weller", "staircase")
"""Dirichlet treatments on curved boundaries: second order (default) and the first-order
staircase kept for comparison."""

_MIN_THETA = 1e-6
"""Smallest arm fraction kept: a node closer to the boundary than ``1e-6 h`` would give a
row ``1e6`` times heavier than its neighbours for no gain in accuracy."""

_BISECTIONS = 52
"""Bisection steps for a crossing: the interval shrinks to ``2^-52 h``, machine precision."""


@dataclass(frozen=True, eq=False)
class CutCells:
    """Where each unknown node's grid lines cross the Dirichlet boundary.

    Attributes
    ----------
    theta
        Arm length as a fraction of the spacing, shape ``(d, 2, *grid)``; ``theta[axis,
        side]`` belongs to the neighbour at ``-1`` (side 0) or ``+1`` (side 1) along
        ``axis``. It is 1 wherever the neighbour is itself a grid node carrying the value.
    values
        Dirichlet value at the crossing, same shape; read only where the neighbour is not
        an unknown.
    """

    theta: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.theta.shape != self.values.shape or self.theta.shape[1:2] != (2,):
            raise ValueError(
                f"theta {self.theta.shape} and values {self.values.shape} must both have "
                "shape (d, 2, *grid)"
            )
        if not np.all((self.theta > 0) & (self.theta <= 1)):
            raise ValueError("every theta must lie in (0, 1]")

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape."""
        return self.theta.shape[2:]

    def n_cut(self) -> int:
        """Number of links cut short by the boundary (``theta < 1``)."""
        return int(np.count_nonzero(self.theta < 1))


def _boundary_values(
    boundary_value: float | Callable[[np.ndarray], np.ndarray], points: np.ndarray
) -> np.ndarray:
    if callable(boundary_value):
        values = np.asarray(boundary_value(points), dtype=float).reshape(-1)
        if values.shape != (len(points),):
            raise ValueError(
                f"boundary_value returned {values.size} values for {len(points)} points"
            )
        return values
    return np.full(len(points), float(boundary_value))


def interior_nodes(geometry: Geometry, grid: Grid, *, check: bool = True) -> np.ndarray:
    """Return the unknowns of the cut-cell scheme: nodes inside ``geometry``, off the frame.

    Unlike :func:`~sciml.physics.data.geometry.interior_mask` this does not drop the nodes that
    DeepXDE's ``on_boundary`` flags: its tolerance (``isclose`` on the sum of the distances
    to an edge's end points) reaches ``sqrt(1e-5 L)``, about 0.002 on the unit square, and
    fixing ``u = g`` at a node that far inside is an ``O(1)`` error that no refinement
    removes. A node on the boundary is kept as an unknown; its arm to the boundary is
    clipped to ``1e-6 h``, which pins it to ``g``.

    Raises
    ------
    ResolutionError
        As :func:`~sciml.physics.data.geometry.rasterize` (with ``check``), or if no node remains.
    """
    from sciml.physics.data.geometry import off_frame, rasterize

    return off_frame(rasterize(geometry, grid, check=check))


def cut_cells(
    geometry: Geometry,
    grid: Grid,
    unknown: np.ndarray,
    *,
    boundary_value: float | Callable[[np.ndarray], np.ndarray] = 0.0,
) -> CutCells:
    """Find the boundary crossings of the links from unknown nodes to known ones.

    For every unknown node and every axis direction whose neighbour is a grid node outside
    ``geometry`` (``geometry.inside`` false), the crossing is located by bisection on
    ``geometry.inside`` along the segment; this needs only the inside test, so it works for
    every DeepXDE primitive, CSG combination and user geometry. A neighbour inside or on the
    boundary (a boundary node, or a node of the grid's frame) keeps ``theta = 1`` and takes
    the boundary value at that node. Links leaving the grid are left at ``theta = 1``.

    Parameters
    ----------
    geometry
        Any object with ``inside(points) -> bool array`` for points of shape ``(m, d)``.
    grid
        The grid of ``unknown``.
    unknown
        Boolean mask of the unknowns, shape ``grid.shape``; the nodes must be inside.
    boundary_value
        Dirichlet value ``g``: a constant, or a function of points ``(m, d)`` returning
        ``(m,)`` values.

    Returns
    -------
    CutCells
    """
    unknown = np.asarray(unknown, dtype=bool)
    shape = grid.shape
    if unknown.shape != shape:
        raise ValueError(f"mask {unknown.shape} does not match the grid {shape}")
    d = grid.ndim
    theta = np.ones((d, 2, *shape))
    values = np.zeros((d, 2, *shape))
    nodes = np.nonzero(unknown)
    coords = np.stack([grid.axes[k][nodes[k]] for k in range(d)], axis=-1)
    for axis in range(d):
        for side, step in ((0, -1), (1, 1)):
            neighbour = list(nodes)
            neighbour[axis] = nodes[axis] + step
            on_grid = (neighbour[axis] >= 0) & (neighbour[axis] < shape[axis])
            link = np.nonzero(on_grid)[0]
            link = link[~unknown[tuple(c[link] for c in neighbour)]]
            if link.size == 0:
                continue
            start = coords[link]
            end = start.copy()
            end[:, axis] = grid.axes[axis][neighbour[axis][link]]
            outside = ~np.asarray(geometry.inside(end), dtype=bool)
            fraction = np.ones(link.size)
            if outside.any():
                lo = np.zeros(int(outside.sum()))
                hi = np.ones_like(lo)
                a, b = start[outside], end[outside]
                for _ in range(_BISECTIONS):
                    mid = 0.5 * (lo + hi)
                    inside = np.asarray(geometry.inside(a + mid[:, None] * (b - a)), dtype=bool)
                    lo = np.where(inside, mid, lo)
                    hi = np.where(inside, hi, mid)
                fraction[outside] = np.clip(0.5 * (lo + hi), _MIN_THETA, 1.0)
            crossing = start + fraction[:, None] * (end - start)
            index = (axis, side, *(c[link] for c in nodes))
            theta[index] = fraction
            values[index] = _boundary_values(boundary_value, crossing)
    return CutCells(theta, values)


def assemble_cut_cell(
    coefficient: np.ndarray,
    unknown: np.ndarray,
    spacing: Sequence[float],
    cut: CutCells,
    *,
    face_average: str = "harmonic",
    outer_dirichlet: Mapping[tuple[int, int], float] | None = None,
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Assemble the Shortley--Weller form of ``-div(K grad u)`` on a masked tensor grid.

    Parameters
    ----------
    coefficient
        ``K`` at every grid point, shape ``grid``, positive at the unknowns. Values at
        known nodes are used to interpolate ``K`` to the crossings; non-finite ones there
        are replaced by ``K`` of the unknown node (constant extrapolation).
    unknown
        Boolean mask of the unknowns, shape ``grid``.
    spacing
        Grid spacing per axis.
    cut
        Crossings and boundary values from :func:`cut_cells`.
    face_average
        ``"harmonic"`` or ``"arithmetic"``.
    outer_dirichlet
        As in :func:`~sciml.physics.data._fd.assemble_diffusion`: values on the grid's outer
        faces (half a spacing beyond the edge nodes of a cell-centred grid), keyed by
        ``(axis, side)``; absent edges are insulated.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix
        Non-symmetric M-matrix, shape ``(n_unknown, n_unknown)``.
    rhs_boundary : numpy.ndarray
        Contribution of the boundary values to the right-hand side, shape ``(n_unknown,)``.
    """
    unknown = np.asarray(unknown, dtype=bool)
    shape = unknown.shape
    if cut.shape != shape:
        raise ValueError(f"cut cells {cut.shape} do not match the mask {shape}")
    outer_dirichlet = dict(outer_dirichlet or {})
    index = -np.ones(shape, dtype=np.int64)
    points = np.nonzero(unknown)
    n = points[0].size
    index[points] = np.arange(n)
    k_point = coefficient[points]
    rows, cols, vals = [], [], []
    diagonal = np.zeros(n)
    rhs = np.zeros(n)
    for axis, h in enumerate(spacing):
        theta = cut.theta[axis][(slice(None), *points)]  # (2, n)
        # Cell width along this axis: the mean of the two arms (h away from the boundary).
        width = 0.5 * (theta[0] + theta[1]) * h
        for side, step in ((0, -1), (1, 1)):
            neighbour = list(points)
            neighbour[axis] = points[axis] + step
            on_grid = (neighbour[axis] >= 0) & (neighbour[axis] < shape[axis])
            edge = ~on_grid
            if edge.any() and (axis, side) in outer_dirichlet:
                # Finite-volume face half a spacing away, exactly as assemble_diffusion.
                weight = 2.0 * k_point[edge] / h**2
                diagonal[edge] += weight
                rhs[edge] += weight * outer_dirichlet[(axis, side)]
            me = np.nonzero(on_grid)[0]
            nb = tuple(c[on_grid] for c in neighbour)
            arm = theta[side, on_grid]
            k_far = coefficient[nb]
            k_far = np.where(np.isfinite(k_far), k_far, k_point[on_grid])
            k_cross = k_point[on_grid] + arm * (k_far - k_point[on_grid])
            weight = _face(k_point[on_grid], k_cross, face_average) / (arm * h * width[on_grid])
            diagonal[me] += weight
            nb_index = index[nb]
            coupled = nb_index >= 0
            rows.append(me[coupled])
            cols.append(nb_index[coupled])
            vals.append(-weight[coupled])
            known = cut.values[(axis, side, *(c[me[~coupled]] for c in points))]
            rhs[me[~coupled]] += weight[~coupled] * known
    return sparse_from_parts(rows, cols, vals, diagonal, n), rhs


def solve_nonsymmetric(matrix: sp.spmatrix, rhs: np.ndarray, **options) -> np.ndarray:
    """Solve a cut-cell system, which is not symmetric (BiCGSTAB when iterative).

    Options as in :func:`~sciml.physics.data._fd.solve_sparse`; ``method="cg"`` asks for
    an iterative solve.
    """
    return solve_sparse(matrix, rhs, symmetric=False, **options)


def solve_dirichlet(
    geometry: Geometry,
    grid: Grid,
    coefficient: float | np.ndarray,
    source: float | np.ndarray,
    *,
    boundary_value: float | Callable[[np.ndarray], np.ndarray] = 0.0,
    scheme: str = "shortley-weller",
    face_average: str = "harmonic",
    method: str = "direct",
    check: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``-div(K grad u) = f`` in ``geometry`` with ``u = g`` on its boundary.

    Parameters
    ----------
    geometry
        A geometry of dimension ``grid.ndim`` (DeepXDE or any object with ``inside`` and
        ``on_boundary``); it must not touch the grid's outer frame except on its boundary.
    grid
        Node grid.
    coefficient, source
        ``K > 0`` and ``f``: constants or arrays of shape ``grid.shape``.
    boundary_value
        ``g``: a constant or a function of points ``(m, d)`` returning ``(m,)``.
    scheme
        ``"shortley-weller"`` (second order) or ``"staircase"`` (``u = g`` at the nodes
        outside, first order on curved boundaries).
    face_average, method
        As in :func:`assemble_cut_cell` and :func:`solve_nonsymmetric`.
    check
        Run the resolution check of :func:`~sciml.physics.data.geometry.interior_mask`.

    Returns
    -------
    u : numpy.ndarray
        Shape ``grid.shape``; ``g`` at the known nodes.
    unknown : numpy.ndarray
        Boolean mask of the nodes solved for, shape ``grid.shape``.
    """
    from sciml.physics.data._fd import assemble_diffusion, solve_spd
    from sciml.physics.data.geometry import interior_mask

    check_scheme(scheme)
    if scheme == "staircase":
        unknown = interior_mask(geometry, grid, check=check)
    else:
        unknown = interior_nodes(geometry, grid, check=check)
    k = np.array(np.broadcast_to(np.asarray(coefficient, dtype=float), grid.shape))
    f = np.broadcast_to(np.asarray(source, dtype=float), grid.shape)[unknown]
    u = _boundary_values(boundary_value, grid.points()).reshape(grid.shape)
    if scheme == "staircase":
        matrix, rhs = assemble_diffusion(
            k, unknown, grid.spacing, known_values=u, face_average=face_average
        )
        u[unknown] = solve_spd(matrix, f + rhs, method=method)
    else:
        cut = cut_cells(geometry, grid, unknown, boundary_value=boundary_value)
        matrix, rhs = assemble_cut_cell(k, unknown, grid.spacing, cut, face_average=face_average)
        u[unknown] = solve_nonsymmetric(matrix, f + rhs, method=method)
    return u, unknown


def scheme_attrs(scheme: str) -> dict[str, object]:
    """Data-set attributes naming the boundary scheme and its order of accuracy.

    Raises
    ------
    ValueError
        If ``scheme`` is not one of :data:`BOUNDARY_SCHEMES`.
    """
    check_scheme(scheme)
    order = 2 if scheme == "shortley-weller" else 1
    return {"boundary_scheme": scheme, "order": order}


def check_scheme(scheme: str) -> None:
    """Raise ``ValueError`` naming the valid choices if ``scheme`` is not one of them."""
    if scheme not in BOUNDARY_SCHEMES:
        raise ValueError(
            f"unknown boundary scheme {scheme!r}; choose one of {', '.join(BOUNDARY_SCHEMES)}"
        )
