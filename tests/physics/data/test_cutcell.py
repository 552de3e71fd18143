"""Shortley--Weller cut cells: crossings, assembly, and second-order convergence."""

import functools

import numpy as np
import pytest
import sympy

from sciml.physics.data._cutcell import (
    CutCells,
    assemble_cut_cell,
    cut_cells,
    interior_nodes,
    scheme_attrs,
    solve_dirichlet,
)
from sciml.physics.data._fd import assemble_diffusion
from sciml.physics.data.geometry import Disk, Grid, Polygon, annulus, difference, interior_mask
from sciml.physics.problems.darcy import DarcyConfig, generate_darcy, solve_darcy

X, Y = sympy.symbols("x y")
K = 1 + X**2 + Y
R2 = (X - 0.5) ** 2 + (Y - 0.5) ** 2


def _pentagon_vertices(radius=0.45):
    angle = np.pi / 2 + 2 * np.pi * np.arange(5) / 5
    return np.c_[0.5 + radius * np.cos(angle), 0.5 + radius * np.sin(angle)]


def _pentagon_edges():
    # Product of the edge lines: positive inside the (counter-clockwise) pentagon, 0 on it.
    vertices = _pentagon_vertices()
    product = 1
    for (x1, y1), (x2, y2) in zip(vertices, np.roll(vertices, -1, axis=0), strict=True):
        product *= (x2 - x1) * (Y - y1) - (y2 - y1) * (X - x1)
    return product


# Manufactured solutions that vanish on the boundary, so the Darcy case u = 0 is tested.
CASES = {
    "disk": (lambda: Disk([0.5, 0.5], 0.4), (0.16 - R2) * sympy.exp(X)),
    "annulus": (lambda: annulus(0.15, 0.4), (R2 - 0.0225) * (0.16 - R2) * (1 + X)),
    "pentagon_with_hole": (
        lambda: difference(Polygon(_pentagon_vertices().tolist()), Disk([0.52, 0.48], 0.15)),
        100 * _pentagon_edges() * ((X - 0.52) ** 2 + (Y - 0.48) ** 2 - 0.0225),
    ),
}
SIZES = (31, 61, 121, 241)  # three grid doublings of the spacing


@functools.cache
def _errors(name, scheme):
    make_geometry, u = CASES[name]
    geometry = make_geometry()
    f = -(sympy.diff(K * sympy.diff(u, X), X) + sympy.diff(K * sympy.diff(u, Y), Y))
    u_fn, f_fn, k_fn = (sympy.lambdify((X, Y), e, "numpy") for e in (u, f, K))
    errors = []
    for n in SIZES:
        grid = Grid.uniform((n, n))
        xx, yy = np.meshgrid(*grid.axes, indexing="ij")
        u_h, unknown = solve_dirichlet(geometry, grid, k_fn(xx, yy), f_fn(xx, yy), scheme=scheme)
        exact = u_fn(xx, yy)
        errors.append(np.abs(u_h - exact)[unknown].max() / np.abs(exact[unknown]).max())
    return np.array(errors)


def _fitted_order(errors):
    h = 1.0 / (np.array(SIZES) - 1)
    return np.polyfit(np.log(h), np.log(errors), 1)[0]


@pytest.mark.parametrize("name", list(CASES))
def test_shortley_weller_is_second_order_on_curved_boundaries(name):
    errors = _errors(name, "shortley-weller")
    orders = np.log2(errors[:-1] / errors[1:])
    assert _fitted_order(errors) >= 1.8, (errors, orders)
    assert orders[-1] >= 1.8, (errors, orders)
    assert errors[-1] < 1e-3


@pytest.mark.parametrize("name", list(CASES))
def test_staircase_is_only_first_order(name):
    # u = 0 is imposed at the first node outside, up to one spacing beyond the boundary;
    # there the true solution is O(h), so the boundary moves by O(h) and the error is O(h)
    # (irregularly so, as the node-to-boundary distances vary with the grid).
    staircase = _errors(name, "staircase")
    assert 0.5 <= _fitted_order(staircase) <= 1.4, staircase
    assert staircase[-1] > 10 * _errors(name, "shortley-weller")[-1]


def test_nonhomogeneous_dirichlet_values_on_a_disk():
    u = sympy.sin(2 * X) * sympy.exp(Y)
    f = -(sympy.diff(K * sympy.diff(u, X), X) + sympy.diff(K * sympy.diff(u, Y), Y))
    u_fn, f_fn, k_fn = (sympy.lambdify((X, Y), e, "numpy") for e in (u, f, K))
    errors = []
    for n in (21, 41, 81):
        grid = Grid.uniform((n, n))
        xx, yy = np.meshgrid(*grid.axes, indexing="ij")
        u_h, unknown = solve_dirichlet(
            Disk([0.5, 0.5], 0.4),
            grid,
            k_fn(xx, yy),
            f_fn(xx, yy),
            boundary_value=lambda p: u_fn(p[:, 0], p[:, 1]),
        )
        errors.append(np.abs(u_h - u_fn(xx, yy))[unknown].max())
    assert np.all(np.log2(np.array(errors[:-1]) / errors[1:]) >= 1.8), errors


def test_crossings_match_the_exact_distance_to_a_circle():
    geometry = Disk([0.5, 0.5], 0.37)
    grid = Grid.uniform((41, 41))
    unknown = interior_nodes(geometry, grid)
    cut = cut_cells(geometry, grid, unknown)
    h = grid.spacing[0]
    nodes = grid.points().reshape(41, 41, 2)
    for axis in (0, 1):
        for side, sign in ((0, -1.0), (1, 1.0)):
            short = cut.theta[axis, side] < 1
            direction = np.zeros(2)
            direction[axis] = sign
            exact = geometry.distance2boundary_unitdirn(nodes[short], direction) / h
            np.testing.assert_allclose(cut.theta[axis, side][short], exact, atol=1e-12)
    assert cut.n_cut() > 50
    # Every cut link belongs to an unknown whose neighbour is known.
    assert np.all(unknown[np.any(cut.theta < 1, axis=(0, 1))])


def test_boundary_values_are_evaluated_at_the_crossings():
    geometry = Disk([0.5, 0.5], 0.37)
    grid = Grid.uniform((21, 21))
    unknown = interior_nodes(geometry, grid)
    cut = cut_cells(geometry, grid, unknown, boundary_value=lambda p: p[:, 0] + 10 * p[:, 1])
    nodes = grid.points().reshape(21, 21, 2)
    short = cut.theta[0, 1] < 1
    crossing = nodes[short] + np.c_[cut.theta[0, 1][short] * grid.spacing[0], 0 * nodes[short, 0]]
    np.testing.assert_allclose(cut.values[0, 1][short], crossing[:, 0] + 10 * crossing[:, 1])
    np.testing.assert_allclose(np.hypot(*(crossing - 0.5).T), 0.37, atol=1e-12)


def test_full_arms_reduce_to_the_finite_volume_stencil():
    rng = np.random.default_rng(0)
    k = np.exp(rng.normal(size=(9, 8)))
    unknown = np.zeros((9, 8), bool)
    unknown[1:-1, 1:-1] = True
    unknown[3, 3] = False
    flat = CutCells(np.ones((2, 2, 9, 8)), np.zeros((2, 2, 9, 8)))
    for face in ("harmonic", "arithmetic"):
        a, rhs_a = assemble_diffusion(k, unknown, (0.1, 0.2), face_average=face)
        b, rhs_b = assemble_cut_cell(k, unknown, (0.1, 0.2), flat, face_average=face)
        np.testing.assert_allclose(a.toarray(), b.toarray(), rtol=1e-13)
        np.testing.assert_allclose(rhs_a, rhs_b)


def test_cut_cell_matrix_is_an_m_matrix_with_nonnegative_row_sums():
    geometry = annulus(0.15, 0.4)
    grid = Grid.uniform((33, 33))
    unknown = interior_nodes(geometry, grid)
    matrix, _ = assemble_cut_cell(
        np.ones(grid.shape), unknown, grid.spacing, cut_cells(geometry, grid, unknown)
    )
    dense = matrix.toarray()
    off = dense - np.diag(np.diag(dense))
    assert np.all(np.diag(dense) > 0) and np.all(off <= 0)
    assert np.all(dense.sum(axis=1) >= -1e-9)
    assert not np.allclose(dense, dense.T)  # the price of the unequal arms


def test_interior_nodes_keep_nodes_deepxde_calls_on_the_boundary():
    # DeepXDE's Polygon.on_boundary tolerance is ~0.002; interior_mask drops such nodes.
    geometry = Polygon(_pentagon_vertices().tolist())
    grid = Grid.uniform((161, 161))
    loose = interior_mask(geometry, grid)
    kept = interior_nodes(geometry, grid)
    assert np.all(kept >= loose) and kept.sum() > loose.sum()


def test_cut_cells_validates_shapes_and_scheme_names():
    with pytest.raises(ValueError, match=r"every theta must lie in \(0, 1\]"):
        CutCells(np.zeros((2, 2, 3, 3)), np.zeros((2, 2, 3, 3)))
    with pytest.raises(ValueError, match="must both have shape"):
        CutCells(np.ones((2, 2, 3, 3)), np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="unknown boundary scheme 'ghost'.*shortley-weller"):
        DarcyConfig(boundary="ghost")
    assert scheme_attrs("shortley-weller") == {"boundary_scheme": "shortley-weller", "order": 2}
    assert scheme_attrs("staircase")["order"] == 1


def test_solve_darcy_with_cut_cells_on_a_disk_matches_the_radial_solution():
    # -lap u = 1 in a disk of radius R, u = 0 on it: u = (R^2 - r^2) / 4, a quadratic that the
    # Shortley--Weller stencil reproduces to round-off (the staircase does not).
    geometry = Disk([0.5, 0.5], 0.37)
    grid = Grid.uniform((41, 41))
    xx, yy = np.meshgrid(*grid.axes, indexing="ij")
    exact = (0.37**2 - (xx - 0.5) ** 2 - (yy - 0.5) ** 2) / 4
    unknown = interior_nodes(geometry, grid)
    cut = cut_cells(geometry, grid, unknown)
    u = solve_darcy(np.ones(grid.shape), unknown, grid.spacing[0], cut=cut)
    np.testing.assert_allclose(u[unknown], exact[unknown], atol=1e-12)
    staircase_unknown = interior_mask(geometry, grid)
    u_old = solve_darcy(np.ones(grid.shape), staircase_unknown, grid.spacing[0])
    assert np.abs(u_old - exact)[staircase_unknown].max() > 1e-4


def test_generated_darcy_data_records_the_scheme_and_order():
    geometries = {"annulus": annulus()}
    new = generate_darcy(2, geometries, DarcyConfig(resolution=33))
    old = generate_darcy(2, geometries, DarcyConfig(resolution=33, boundary="staircase"))
    assert new.attrs["boundary_scheme"] == "shortley-weller" and new.attrs["order"] == 2
    assert old.attrs["boundary_scheme"] == "staircase" and old.attrs["order"] == 1
    assert "shortley-weller" in new.attrs["solver"]
    # Same K (same seed), different boundary treatment.
    np.testing.assert_array_equal(new["K"].values, old["K"].values)
    assert not np.allclose(new["u"].values, old["u"].values)
    assert np.all(new["u"].values[~new["mask"].values] == 0)


def _heat_errors(boundary):
    from sciml.physics.problems.heat import (
        plate_cut_cells,
        plate_mask,
        plate_with_holes,
        solve_heat,
    )

    # T = 0 on the held faces x = 0, 1 and on the hole wall; y^2 (1 - y)^2 makes the
    # y faces insulated; T does not depend on z (insulated faces, through-hole).
    radius, centre = 0.17, (0.43, 0.56)
    t = 50 * ((X - centre[0]) ** 2 + (Y - centre[1]) ** 2 - radius**2) * X * (1 - X)
    t = t * Y**2 * (1 - Y) ** 2
    q = -(sympy.diff(t, X, 2) + sympy.diff(t, Y, 2))
    t_fn, q_fn = (sympy.lambdify((X, Y), e, "numpy") for e in (t, q))
    section = plate_with_holes(np.array([centre]), radius, (1.0, 1.0))
    errors = []
    for n in (16, 32, 64, 128):
        grid = Grid.uniform((n, n, 2), (0, 0, 0), (1, 1, 2 / n), cell_centred=True)
        xx, yy, _ = np.meshgrid(*grid.axes, indexing="ij")
        mask = plate_mask(section, grid)
        cut = plate_cut_cells(section, grid, mask, 0.0) if boundary == "shortley-weller" else None
        temperature = solve_heat(
            mask, (1 / n,) * 3, source=q_fn(xx, yy), t_left=0, t_right=0, method="direct", cut=cut
        )
        exact = t_fn(xx, yy)
        errors.append(np.abs(temperature - exact)[mask].max() / np.abs(exact[mask]).max())
    return np.array(errors)


def test_heat_hole_walls_are_second_order_with_cut_cells():
    errors = _heat_errors("shortley-weller")
    assert np.all(np.log2(errors[:-1] / errors[1:]) >= 1.8), errors
    staircase = _heat_errors("staircase")
    assert np.log2(staircase[0] / staircase[-1]) / 3 <= 1.2, staircase
    assert staircase[-1] > 10 * errors[-1]


def test_heat_data_records_the_wall_scheme():
    from sciml.physics.problems.heat import HeatConfig, generate_heat

    config = HeatConfig(shape=(16, 16, 2), n_holes=(2, 2), hole_radius=(0.1, 0.1))
    new = generate_heat(1, config)
    old = generate_heat(1, HeatConfig(**{**config.__dict__, "boundary": "staircase"}))
    assert (new.attrs["boundary_scheme"], new.attrs["order"]) == ("shortley-weller", 2)
    assert (old.attrs["boundary_scheme"], old.attrs["order"]) == ("staircase", 1)
    np.testing.assert_array_equal(new["mask"].values, old["mask"].values)
    assert not np.allclose(new["T"].values, old["T"].values)
