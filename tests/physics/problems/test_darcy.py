import numpy as np
import pytest

from sciml.physics.data.geometry import Grid, circle, interior_mask, square_with_cross, triangle
from sciml.physics.errors import ResolutionError
from sciml.physics.problems.darcy import (
    DarcyConfig,
    DarcyFNOConfig,
    generate_darcy,
    generate_darcy_fno,
    solve_darcy,
)


def _interior(n):
    unknown = np.zeros((n, n), bool)
    unknown[1:-1, 1:-1] = True
    return unknown


def _manufactured_error(n, face_average):
    x = np.linspace(0, 1, n)
    X, Y = np.meshgrid(x, x, indexing="ij")
    k = 1 + X**2 + Y
    u = np.sin(np.pi * X) * np.sin(2 * np.pi * Y)
    u_x = np.pi * np.cos(np.pi * X) * np.sin(2 * np.pi * Y)
    u_y = 2 * np.pi * np.sin(np.pi * X) * np.cos(2 * np.pi * Y)
    f = -(2 * X * u_x + u_y - 5 * np.pi**2 * k * u)
    u_h = solve_darcy(k, _interior(n), 1 / (n - 1), source=f, face_average=face_average)
    return np.abs(u_h - u).max()


@pytest.mark.parametrize("face_average", ["harmonic", "arithmetic"])
def test_second_order_convergence_on_the_square(face_average):
    errors = [_manufactured_error(n, face_average) for n in (17, 33, 65)]
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    np.testing.assert_allclose(orders, 2.0, atol=0.1)


def test_disk_with_constant_k_matches_the_radial_solution():
    # -laplace(u) = 1 on the disk of radius 1/2, u = 0 on the circle: u = (1/4 - r^2) / 4.
    errors = []
    for n in (41, 81):
        grid = Grid.uniform((n, n))
        unknown = interior_mask(circle(), grid)
        u = solve_darcy(np.ones((n, n)), unknown, 1 / (n - 1))
        X, Y = np.meshgrid(*grid.axes, indexing="ij")
        exact = np.clip((0.25 - (X - 0.5) ** 2 - (Y - 0.5) ** 2) / 4, 0, None)
        errors.append(np.abs(u - exact).max() / exact.max())
    assert errors[1] < errors[0] < 0.08  # staircase boundary: first order, still converging


def test_constant_k_scales_the_solution():
    n = 21
    u1 = solve_darcy(np.ones((n, n)), _interior(n), 1 / (n - 1))
    u4 = solve_darcy(np.full((n, n), 4.0), _interior(n), 1 / (n - 1))
    np.testing.assert_allclose(u4, u1 / 4, rtol=1e-12)
    assert u1.max() == pytest.approx(0.07367, rel=0.01)  # series value of the unit square


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_non_positive_permeability_is_an_error(bad):
    k = np.ones((9, 9))
    k[4, 4] = bad
    with pytest.raises(ValueError, match="strictly positive"):
        solve_darcy(k, _interior(9), 0.125)


def test_nan_permeability_names_the_nan_and_its_node():
    k = np.full((9, 9), 0.383)
    k[4, 5] = np.nan
    with pytest.raises(ValueError, match=r"1 NaN .* node \(4, 5\)"):
        solve_darcy(k, _interior(9), 0.125)


def test_inconsistent_masks_are_errors():
    with pytest.raises(ValueError, match="empty"):
        solve_darcy(np.ones((5, 5)), np.zeros((5, 5), bool), 0.25)
    with pytest.raises(ValueError, match="outer frame"):
        solve_darcy(np.ones((5, 5)), np.ones((5, 5), bool), 0.25)
    with pytest.raises(ValueError, match="shapes"):
        solve_darcy(np.ones((5, 4)), _interior(5), 0.25)


def test_generated_dataset_on_several_geometries():
    geometries = {"square_with_cross": square_with_cross(), "triangle": triangle()}
    ds = generate_darcy(4, geometries, DarcyConfig(resolution=41), seed=11)
    assert ds["u"].dims == ("sample", "x", "y") and ds["u"].shape == (4, 41, 41)
    assert list(ds["geometry"].values) == ["square_with_cross", "triangle"] * 2
    mask = ds["mask"].values
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask[0], mask[2])
    assert not mask[0, 20, 20]  # centre of the cross is a hole
    assert np.all(ds["u"].values[~mask] == 0)
    assert np.all(ds["K"].values > 0)
    # f = 1 > 0: by the maximum principle u > 0 at every interior node
    interior = interior_mask(triangle(), Grid.uniform((41, 41)))
    assert np.all(ds["u"].values[1][interior] > 0)
    assert ds.attrs["pde"] == "darcy" and "harmonic" in ds.attrs["solver"]


def test_geometry_too_coarse_for_the_grid():
    with pytest.raises(ResolutionError, match="too coarse"):
        generate_darcy(1, {"cross": square_with_cross(width=0.04)}, DarcyConfig(resolution=10))


def test_fno_benchmark_small_resolution():
    config = DarcyFNOConfig(resolution=41, subsample=5)
    assert config.output_resolution == 9
    ds = generate_darcy_fno(3, 2, config, seed=0)
    assert ds["K"].shape == (5, 9, 9)
    assert set(np.unique(ds["K"].values)) <= {3.0, 12.0}
    assert list(ds["split"].values) == ["train"] * 3 + ["test"] * 2
    np.testing.assert_allclose(ds["x"].values, (np.arange(0, 41, 5) + 0.5) / 41)
    # bounded by the constant-coefficient solutions with K = 12 and K = 3
    peak = ds["u"].max(("x", "y")).values
    assert np.all(peak > 0.0737 / 12 * 0.8) and np.all(peak < 0.0737 / 3 * 1.2)
    assert ds["mask"].values.all()


def test_fno_defaults_reproduce_the_published_setup():
    config = DarcyFNOConfig()
    assert (config.resolution, config.subsample, config.output_resolution) == (421, 5, 85)
    assert (config.alpha, config.tau, config.k_high, config.k_low) == (2.0, 3.0, 12.0, 3.0)
    with pytest.raises(ValueError, match="multiple"):
        DarcyFNOConfig(resolution=42, subsample=5)


def test_fno_split_keeps_the_test_samples_out_of_validation():
    from sciml.physics.problems.darcy import DarcyFNOProblem

    ds = generate_darcy_fno(10, 4, DarcyFNOConfig(resolution=21, subsample=4), seed=0)
    problem = DarcyFNOProblem()
    train, val = problem.split(ds, 0.2, seed=0)
    test = problem.test_indices(ds)
    assert len(train) == 8 and len(val) == 2
    assert set(test.tolist()) == {10, 11, 12, 13}
    assert not set(val.tolist()) & set(test.tolist())
    assert not set(train.tolist()) & (set(val.tolist()) | set(test.tolist()))
    assert problem.split(ds, 0.2, seed=0)[1].tolist() == val.tolist()  # seeded
    with pytest.raises(ValueError, match="at least 2 are needed"):
        problem.split(ds.isel(sample=[0, 10]), 0.2, seed=0)
