import numpy as np
import pytest
import scipy.sparse as sp

from sciml.physics.data._fd import assemble_diffusion, laplacian_1d_neumann, solve_spd
from sciml.physics.errors import SolverError


def test_neumann_laplacian_conserves_trapezoidal_mass_and_is_exact_for_quadratics():
    n, h = 11, 0.1
    lap = laplacian_1d_neumann(n, h)
    weights = np.full(n, h)
    weights[[0, -1]] = h / 2
    np.testing.assert_allclose(weights @ lap.toarray(), 0, atol=1e-10)
    x = np.linspace(0, 1, n)
    # cos(pi x) has zero slope at both ends; second differences approximate -pi^2 cos(pi x)
    np.testing.assert_allclose(lap @ np.cos(np.pi * x), -(np.pi**2) * np.cos(np.pi * x), atol=0.1)
    # interior rows are exact for quadratics
    np.testing.assert_allclose((lap @ x**2)[1:-1], 2.0)


def test_assembled_operator_is_symmetric_positive_definite():
    rng = np.random.default_rng(0)
    k = np.exp(rng.standard_normal((7, 6)))
    unknown = np.zeros((7, 6), bool)
    unknown[1:-1, 1:-1] = True
    unknown[3, 3] = False  # an internal Dirichlet point
    for average in ("harmonic", "arithmetic"):
        matrix, rhs = assemble_diffusion(k, unknown, (0.2, 0.25), face_average=average)
        dense = matrix.toarray()
        np.testing.assert_allclose(dense, dense.T, rtol=1e-12)
        assert np.linalg.eigvalsh(dense).min() > 0
        np.testing.assert_array_equal(rhs, 0)  # known values default to zero


def test_harmonic_average_is_exact_for_layered_medium():
    # 1-D conduction through two layers, -(k u')' = 0, u(0) = 1, u(1) = 0, k = 1 then 100:
    # the discrete flux equals 1 / (sum of series resistances), half cells at both ends.
    n = 10
    h = 1.0 / n
    k = np.where(np.arange(n) < n // 2, 1.0, 100.0)
    matrix, rhs = assemble_diffusion(
        k[:, None], np.ones((n, 1), bool), (h, 1.0), outer_dirichlet={(0, 0): 1.0, (0, 1): 0.0}
    )
    u = solve_spd(matrix, rhs)
    faces = 2 * k[:-1] * k[1:] / (k[:-1] + k[1:])
    flux = 1.0 / (h / 2 / k[0] + np.sum(h / faces) + h / 2 / k[-1])
    assert (1.0 - u[0]) * 2 * k[0] / h == pytest.approx(flux, rel=1e-10)
    assert u[-1] * 2 * k[-1] / h == pytest.approx(flux, rel=1e-10)
    # the interior flux is the same on every face
    np.testing.assert_allclose(faces * -np.diff(u) / h, flux, rtol=1e-10)


def test_solvers_agree_and_cg_reports_non_convergence():
    n = 30
    lap = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n), format="csr") * n**2
    b = np.ones(n)
    direct = solve_spd(lap, b, method="direct")
    np.testing.assert_allclose(solve_spd(lap, b, method="cg"), direct, rtol=1e-8)
    with pytest.raises(SolverError, match="did not converge in 2 iterations"):
        solve_spd(lap, b, method="cg", maxiter=2)
    with pytest.raises(ValueError, match="'direct' or 'cg'"):
        solve_spd(lap, b, method="gmres")


def test_singular_direct_solve_is_an_error():
    singular = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0]]))
    with pytest.warns(Warning), pytest.raises(SolverError, match="singular"):
        solve_spd(singular, np.ones(2))
