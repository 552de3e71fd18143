import numpy as np
import pytest

from sciml.physics.data.geometry import Grid
from sciml.physics.errors import GeometryError, ResolutionError, SolverError
from sciml.physics.problems.heat import (
    MAX_HOLES,
    HeatConfig,
    generate_heat,
    place_holes,
    plate_mask,
    plate_with_holes,
    solve_heat,
)

SIZE = (1.0, 1.0, 0.25)


def _centres(shape):
    return [(np.arange(n) + 0.5) * length / n for n, length in zip(shape, SIZE, strict=True)]


def _manufactured_error(n, z_dependent, method):
    shape = (n, n, n // 4 if z_dependent else 2)
    spacing = [length / m for length, m in zip(SIZE, shape, strict=True)]
    X, Y, Z = np.meshgrid(*_centres(shape), indexing="ij")
    lz, t_left, t_right = SIZE[2], 1.0, 0.3
    mode_z = np.cos(np.pi * Z / lz) if z_dependent else 1.0
    wave = np.sin(np.pi * X) * np.cos(np.pi * Y) * mode_z
    exact = wave + t_left * (1 - X) + t_right * X
    q = np.pi**2 * (2 + (1 / lz**2 if z_dependent else 0)) * wave
    solution = solve_heat(
        np.ones(shape, bool), spacing, source=q, t_left=t_left, t_right=t_right, method=method
    )
    return np.abs(solution - exact).max()


def test_second_order_convergence_without_holes():
    errors = [_manufactured_error(n, False, "cg") for n in (16, 32, 64)]
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    assert np.all(orders > 1.9)


def test_second_order_convergence_fully_3d():
    errors = [_manufactured_error(n, True, "direct") for n in (8, 16, 32)]
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    assert orders[-1] > 1.85 and orders[-1] > orders[0]


def test_linear_profile_is_exact_and_solvers_agree():
    shape = (10, 6, 3)
    spacing = [length / n for length, n in zip(SIZE, shape, strict=True)]
    X = np.meshgrid(*_centres(shape), indexing="ij")[0]
    for method in ("direct", "cg"):
        T = solve_heat(np.ones(shape, bool), spacing, t_left=2.0, t_right=-1.0, method=method)
        np.testing.assert_allclose(T, 2.0 - 3.0 * X, atol=1e-8)


def test_holes_obey_the_maximum_principle_and_hold_their_temperature():
    config = HeatConfig(shape=(24, 24, 4))
    centres = np.array([[0.3, 0.4], [0.7, 0.6]])
    mask = plate_mask(plate_with_holes(centres, 0.1), config.grid())
    assert not mask[7, 9].any()  # voxel column through the first hole centre
    T = solve_heat(mask, config.spacing, source=0.0, t_left=1.0, t_right=0.5, t_hole=0.2)
    assert np.all(T[~mask] == 0.2)
    assert T[mask].min() >= 0.2 - 1e-9 and T[mask].max() <= 1.0 + 1e-9
    # insulated y and z faces: the field is uniform in z for a through-hole plate
    np.testing.assert_allclose(T, np.broadcast_to(T[:, :, :1], T.shape), atol=1e-8)


def test_heating_raises_the_temperature():
    config = HeatConfig(shape=(16, 16, 4))
    mask = np.ones(config.shape, bool)
    cold = solve_heat(mask, config.spacing, source=0.0)
    hot = solve_heat(mask, config.spacing, source=5.0)
    assert np.all(hot > cold)
    # 1-D slab: T = q x (1 - x) / 2 on top of the linear profile; the half-cell boundary
    # faces shift the discrete solution by q h^2 / 8 everywhere (second order)
    X = config.grid().axes[0][:, None, None]
    h = config.spacing[0]
    excess = np.broadcast_to(5.0 * X * (1 - X) / 2, hot.shape)
    np.testing.assert_allclose(hot - cold, excess + 5.0 * h**2 / 8, atol=1e-8)


def test_generated_dataset():
    config = HeatConfig(shape=(32, 32, 4))
    ds = generate_heat(3, config, seed=5)
    assert ds["T"].dims == ("sample", "x", "y", "z") and ds["T"].shape == (3, 32, 32, 4)
    n_holes = ds["n_holes"].values
    assert np.all((n_holes >= 2) & (n_holes <= MAX_HOLES))
    centres = ds["hole_center"].values
    assert np.array_equal(np.isfinite(centres[:, :, 0]).sum(axis=1), n_holes)
    for i in range(3):
        mask = ds["mask"].values[i]
        assert 0.5 < mask.mean() < 1.0
        np.testing.assert_array_equal(ds["T"].values[i][~mask], config.t_hole)
        assert ds["T"].values[i][mask].max() > 0
    assert ds.attrs["pde"] == "heat" and "zero flux" in ds.attrs["boundary_conditions"]


def test_default_config_always_places_its_holes():
    # seed 50 used to jam at sample 32 (9 holes of radius 0.089): random sequential placement
    # can run out of room even though the holes fit; nz = 2 keeps the solves fast and leaves
    # the (x, y) voxels, hence the 2-voxel gap, as in the default grid
    config = HeatConfig(shape=(32, 32, 2))
    for seed in (50, 7):
        ds = generate_heat(64, config, seed=seed)
        n_holes = ds["n_holes"].values
        radius = ds["hole_radius"].values
        assert np.all((n_holes >= 2) & (n_holes <= MAX_HOLES))
        assert np.all((radius >= 0.05) & (radius <= 0.09))
        gap = 2 * config.spacing[0]
        for centres, n, r in zip(ds["hole_center"].values, n_holes, radius, strict=True):
            placed = centres[:n]
            assert np.all((placed >= r + gap) & (placed <= 1 - r - gap))
            distances = np.linalg.norm(placed[:, None] - placed[None], axis=-1)
            assert np.all(distances[~np.eye(n, dtype=bool)] >= 2 * r + gap)


def test_tight_placements_restart_instead_of_failing():
    # the largest default request (9 holes of radius 0.09, 3 x 3 would fit): seed 7 jams on
    # the first attempt, the default restarts
    request = (9, 0.09, (1.0, 1.0), 1 / 16)
    with pytest.raises(GeometryError, match="could not place 9 holes"):
        place_holes(*request, np.random.default_rng(7), max_restarts=0)
    for seed in range(10):
        assert place_holes(*request, np.random.default_rng(seed)).shape == (9, 2)


def test_same_seed_same_holes_whatever_the_workers():
    config = HeatConfig(shape=(32, 32, 2))
    serial = generate_heat(40, config, seed=50)
    parallel = generate_heat(40, config, seed=50, workers=2)
    for key in ("hole_center", "hole_radius", "n_holes", "T"):
        np.testing.assert_array_equal(serial[key].values, parallel[key].values)


def test_impossible_hole_requests_are_geometry_errors():
    with pytest.raises(GeometryError, match="larger than the plate"):
        HeatConfig(hole_radius=(0.3, 0.6))
    with pytest.raises(GeometryError, match="can never fit"):
        HeatConfig(n_holes=(9, 9), hole_radius=(0.15, 0.2))
    with pytest.raises(ValueError, match="hole_radius"):
        HeatConfig(hole_radius=(0.09, 0.05))


def test_default_grid():
    assert HeatConfig().shape == (32, 32, 8)
    assert HeatConfig().spacing == (1 / 32, 1 / 32, 1 / 32)


def test_bad_geometries_and_inputs():
    with pytest.raises(GeometryError, match="larger than the plate"):
        plate_with_holes(np.array([[0.5, 0.5]]), 0.6)
    with pytest.raises(GeometryError, match="could not place 9 holes"):
        place_holes(9, 0.2, (1.0, 1.0), 0.05, np.random.default_rng(0), max_tries=200)
    with pytest.raises(GeometryError, match="empty"):
        solve_heat(np.zeros((4, 4, 2), bool), (0.25, 0.25, 0.25))
    with pytest.raises(ValueError, match="conductivity"):
        solve_heat(np.ones((4, 4, 2), bool), (0.25, 0.25, 0.25), conductivity=-1.0)
    with pytest.raises(ValueError, match="n_holes"):
        HeatConfig(n_holes=(1, 12))
    with pytest.raises(ResolutionError, match="too coarse"):
        grid = Grid.uniform((8, 8, 2), (0, 0, 0), SIZE, cell_centred=True)
        # hole centres on voxel corners: no coarse voxel centre falls inside a hole
        plate_mask(plate_with_holes(np.array([[0.25, 0.25], [0.75, 0.75]]), 0.04), grid)


def test_cg_non_convergence_is_a_solver_error():
    with pytest.raises(SolverError, match="did not converge"):
        solve_heat(np.ones((16, 16, 4), bool), (1 / 16, 1 / 16, 1 / 16), source=1.0, maxiter=3)
