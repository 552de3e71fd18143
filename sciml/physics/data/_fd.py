"""Sparse finite-difference operators shared by the reference solvers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse import linalg as spla

from sciml.physics.errors import SolverError

__all__ = [
    "assemble_diffusion",
    "laplacian_1d_neumann",
    "solve_sparse",
    "solve_spd",
    "sparse_from_parts",
]


def laplacian_1d_neumann(n: int, h: float) -> sp.csr_matrix:
    """Second-difference matrix on ``n`` nodes with homogeneous Neumann ends.

    The ends use a mirrored ghost node (``u_{-1} = u_1``), which is second-order accurate and
    makes the trapezoidal sum of ``L u`` vanish exactly, so pure diffusion conserves the
    trapezoidal integral of ``u``.

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(n, n)``, units ``1 / h^2``.
    """
    if n < 3:
        raise ValueError(f"need at least 3 nodes, got {n}")
    main = -2.0 * np.ones(n)
    upper = np.ones(n - 1)
    lower = np.ones(n - 1)
    upper[0] = 2.0
    lower[-1] = 2.0
    return sp.diags([lower, main, upper], [-1, 0, 1], format="csr") / h**2


def _face(a: np.ndarray, b: np.ndarray, how: str) -> np.ndarray:
    if how == "harmonic":
        return 2.0 * a * b / (a + b)
    if how == "arithmetic":
        return 0.5 * (a + b)
    raise ValueError(f"unknown face average {how!r}; choose 'harmonic' or 'arithmetic'")


def assemble_diffusion(
    coefficient: np.ndarray,
    unknown: np.ndarray,
    spacing: Sequence[float],
    *,
    known_values: np.ndarray | None = None,
    face_average: str = "harmonic",
    outer_dirichlet: Mapping[tuple[int, int], float] | None = None,
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Assemble the finite-volume form of ``-div(K grad u)`` on a masked tensor grid.

    Each unknown point exchanges flux with its ``2d`` axis neighbours through faces whose
    coefficient is the ``face_average`` of the two point values. A neighbour that is not an
    unknown carries the Dirichlet value ``known_values`` there. A neighbour beyond the grid
    edge is either a Dirichlet face half a spacing away (``outer_dirichlet[(axis, side)]``,
    side 0 = low, 1 = high, as for cell-centred grids) or, when absent, an insulated face.

    Parameters
    ----------
    coefficient
        ``K`` at every grid point, shape ``grid``, positive.
    unknown
        Boolean mask of the unknowns, shape ``grid``.
    spacing
        Grid spacing per axis.
    known_values
        Values at non-unknown points, shape ``grid``; zero if omitted.
    face_average
        ``"harmonic"`` (exact for layered media, default) or ``"arithmetic"``.
    outer_dirichlet
        Boundary values on the grid's outer faces, keyed by ``(axis, side)``.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix
        Symmetric positive definite operator, shape ``(n_unknown, n_unknown)``.
    rhs_boundary : numpy.ndarray
        Contribution of the known values to the right-hand side, shape ``(n_unknown,)``.
    """
    shape = unknown.shape
    outer_dirichlet = dict(outer_dirichlet or {})
    known = np.zeros(shape) if known_values is None else np.asarray(known_values, dtype=float)
    index = -np.ones(shape, dtype=np.int64)
    points = np.nonzero(unknown)
    n = points[0].size
    index[points] = np.arange(n)
    k_point = coefficient[points]
    rows, cols, vals = [], [], []
    diagonal = np.zeros(n)
    rhs = np.zeros(n)
    for axis, h in enumerate(spacing):
        for side, step in ((0, -1), (1, 1)):
            neighbour = list(points)
            neighbour[axis] = points[axis] + step
            inside = (neighbour[axis] >= 0) & (neighbour[axis] < shape[axis])
            # Faces on the grid's outer edge.
            edge = ~inside
            if edge.any() and (axis, side) in outer_dirichlet:
                weight = 2.0 * k_point[edge] / h**2
                diagonal[edge] += weight
                rhs[edge] += weight * outer_dirichlet[(axis, side)]
            # Faces between two grid points.
            nb = tuple(c[inside] for c in neighbour)
            me = np.nonzero(inside)[0]
            weight = _face(k_point[inside], coefficient[nb], face_average) / h**2
            diagonal[me] += weight
            nb_index = index[nb]
            coupled = nb_index >= 0
            rows.append(me[coupled])
            cols.append(nb_index[coupled])
            vals.append(-weight[coupled])
            rhs[me[~coupled]] += weight[~coupled] * known[tuple(c[~coupled] for c in nb)]
    return sparse_from_parts(rows, cols, vals, diagonal, n), rhs


def sparse_from_parts(
    rows: list, cols: list, vals: list, diagonal: np.ndarray, n: int
) -> sp.csr_matrix:
    """CSR matrix ``(n, n)`` from off-diagonal triplet parts plus the diagonal."""
    rows = [*rows, np.arange(n)]
    cols = [*cols, np.arange(n)]
    vals = [*vals, diagonal]
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )


def solve_sparse(
    matrix: sp.spmatrix,
    rhs: np.ndarray,
    *,
    method: str = "direct",
    rtol: float = 1e-10,
    maxiter: int | None = None,
    symmetric: bool = True,
) -> np.ndarray:
    """Solve a sparse diffusion system (an M-matrix, symmetric unless cut cells were used).

    Parameters
    ----------
    matrix
        Shape ``(n, n)``.
    rhs
        Shape ``(n,)``.
    method
        ``"direct"`` (SuperLU with a fill-reducing ordering of ``A^T + A``) or ``"cg"``: an
        iterative solve with a Jacobi preconditioner, conjugate gradients for a symmetric
        matrix and BiCGSTAB otherwise.
    rtol
        Relative residual tolerance of the iterative solve.
    maxiter
        Iteration limit of the iterative solve, default ``10 n``.
    symmetric
        Whether ``matrix`` is symmetric (picks CG or BiCGSTAB).

    Raises
    ------
    SolverError
        If the iterative solve does not reach ``rtol`` or the direct solve returns
        non-finite values.
    """
    if method == "direct":
        # MMD on A^T + A suits the 5/7-point pattern far better than COLAMD.
        solution = spla.spsolve(sp.csc_matrix(matrix), rhs, permc_spec="MMD_AT_PLUS_A")
        if not np.all(np.isfinite(solution)):
            raise SolverError("the direct sparse solve failed: the matrix is singular")
        return solution
    if method in ("cg", "bicgstab"):
        diagonal = matrix.diagonal()
        preconditioner = spla.LinearOperator(matrix.shape, matvec=lambda r: r / diagonal)
        limit = maxiter if maxiter is not None else 10 * matrix.shape[0]
        solver, name = (
            (spla.cg, "conjugate gradients") if symmetric else (spla.bicgstab, "BiCGSTAB")
        )
        solution, info = solver(matrix, rhs, rtol=rtol, atol=0.0, maxiter=limit, M=preconditioner)
        if info != 0:
            residual = np.linalg.norm(rhs - matrix @ solution) / max(np.linalg.norm(rhs), 1e-300)
            raise SolverError(
                f"{name} did not converge in {limit} iterations: relative residual "
                f"{residual:.2e} > rtol {rtol:.0e}; raise maxiter or use method='direct'"
            )
        return solution
    raise ValueError(f"unknown linear solver {method!r}; choose 'direct' or 'cg'")


def solve_spd(matrix: sp.spmatrix, rhs: np.ndarray, **options) -> np.ndarray:
    """:func:`solve_sparse` of a symmetric positive definite system (CG when iterative)."""
    return solve_sparse(matrix, rhs, symmetric=True, **options)
