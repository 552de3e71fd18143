import numpy as np
import pytest

from sciml.physics.data.geometry import (
    SHAPES,
    Cuboid,
    Disk,
    Grid,
    Rectangle,
    Sphere,
    annulus,
    boundary_points,
    check_resolution,
    circle,
    difference,
    interior_mask,
    intersection,
    rasterize,
    square_with_cross,
    union,
)
from sciml.physics.errors import GeometryError, ResolutionError

AREAS = {
    "square": 1.0,
    "circle": np.pi / 4,
    "triangle": np.sqrt(3) / 4,
    "square_with_cross": 1.0 - (2 * 0.5 * 0.1 - 0.1**2),
    "l_shape": 0.75,
    "annulus": np.pi * (0.5**2 - 0.25**2),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_named_shape_area_from_mask(name):
    grid = Grid.uniform((201, 201), cell_centred=True)
    mask = rasterize(SHAPES[name](), grid)
    assert mask.dtype == bool and mask.shape == (201, 201)
    assert mask.mean() == pytest.approx(AREAS[name], rel=0.02)


def test_grid_uniform_nodes_and_cells():
    nodes = Grid.uniform((5, 3))
    np.testing.assert_allclose(nodes.axes[0], [0, 0.25, 0.5, 0.75, 1])
    assert nodes.spacing == (0.25, 0.5)
    cells = Grid.uniform((4,), cell_centred=True)
    np.testing.assert_allclose(cells.axes[0], [0.125, 0.375, 0.625, 0.875])
    points = nodes.points()
    assert points.shape == (15, 2)
    # "ij" order: the second coordinate varies fastest
    np.testing.assert_allclose(points[:3], [[0, 0], [0, 0.5], [0, 1]])
    with pytest.raises(ValueError, match="increasing"):
        Grid((np.array([0.0, 0.0, 1.0]),))


def test_annulus_hole_and_interior_mask():
    grid = Grid.uniform((41, 41))
    mask = rasterize(annulus(), grid)
    assert not mask[20, 20] and mask[20, 5]
    interior = interior_mask(annulus(), grid)
    assert interior.sum() < mask.sum()
    assert not interior[0].any() and not interior[:, -1].any()
    assert np.all(mask[interior])


def test_csg_helpers_match_operators():
    a, b = Disk([0.4, 0.5], 0.3), Disk([0.6, 0.5], 0.3)
    grid = Grid.uniform((51, 51))
    ma, mb = rasterize(a, grid), rasterize(b, grid)
    np.testing.assert_array_equal(rasterize(union(a, b), grid), ma | mb)
    np.testing.assert_array_equal(rasterize(intersection(a, b), grid), ma & mb)
    np.testing.assert_array_equal(rasterize(difference(a, b), grid, check=False), ma & ~mb)


def test_3d_cuboid_minus_sphere_volume():
    solid = Cuboid([0, 0, 0], [1, 1, 1]) - Sphere([0.5, 0.5, 0.5], 0.3)
    grid = Grid.uniform((30, 30, 30), cell_centred=True)
    mask = rasterize(solid, grid, check=False)
    assert mask.mean() == pytest.approx(1 - 4 / 3 * np.pi * 0.3**3, rel=0.01)
    assert not mask[15, 15, 15] and mask[0, 0, 0]
    check_resolution(solid, Grid.uniform((16, 16, 16), cell_centred=True))  # one hole resolved
    with pytest.raises(ResolutionError, match="less than 3 nodes thick"):  # wall 2.4 cells
        check_resolution(solid, Grid.uniform((12, 12, 12), cell_centred=True))


def test_boundary_points_on_boundary_and_reproducible():
    state = np.random.get_state()
    pts = boundary_points(annulus(), 200, seed=3)
    assert pts.shape == (200, 2)
    radii = np.linalg.norm(pts - 0.5, axis=1)
    assert np.all(np.isclose(radii, 0.25, atol=1e-5) | np.isclose(radii, 0.5, atol=1e-5))
    np.testing.assert_array_equal(pts, boundary_points(annulus(), 200, seed=3))
    # the global NumPy generator that DeepXDE uses is restored
    np.testing.assert_array_equal(np.random.get_state()[1], state[1])
    circle_pts = boundary_points(circle(0.3), 16)
    np.testing.assert_allclose(np.linalg.norm(circle_pts - 0.5, axis=1), 0.3, atol=1e-6)


def test_empty_mask_is_an_error():
    with pytest.raises(GeometryError, match="empty mask"):
        rasterize(Disk([3.0, 3.0], 0.1), Grid.uniform((20, 20)))
    with pytest.raises(GeometryError, match="empty mask"):
        rasterize(difference(Rectangle([0.2, 0.2], [0.4, 0.4]), circle()), Grid.uniform((20, 20)))


def test_hole_larger_than_domain_is_an_error():
    with pytest.raises(GeometryError, match="hole radius"):
        annulus(inner=0.6, outer=0.5)
    with pytest.raises(GeometryError, match="width < arm"):
        square_with_cross(arm=0.5, width=0.6)
    with pytest.raises(GeometryError, match="radius"):
        circle(0.8)


def test_grid_too_coarse_for_thin_cross_hole():
    geometry = square_with_cross(width=0.03)
    with pytest.raises(ResolutionError, match="too coarse.*0 hole.*1 hole"):
        rasterize(geometry, Grid.uniform((20, 20)))
    # a fine enough grid resolves it
    assert not rasterize(geometry, Grid.uniform((200, 200)))[100, 100]


def test_grid_too_coarse_without_interior():
    with pytest.raises(ResolutionError, match="too coarse"):
        check_resolution(Disk([0.5, 0.5], 0.12), Grid.uniform((6, 6)))


def test_dimension_mismatch():
    with pytest.raises(GeometryError, match="2-D grid"):
        rasterize(Sphere([0.5, 0.5, 0.5], 0.2), Grid.uniform((5, 5)))


def test_random_polygons_are_seeded_valid_and_named():
    from sciml.physics.data.geometry import _count_components, random_polygons

    grid = Grid.uniform((40, 40))
    first = random_polygons(6, seed=4, resolution=40)
    again = random_polygons(6, seed=4, resolution=40)
    assert list(first) == [f"polygon_{i:03d}" for i in range(6)]
    holes = []
    for name, geometry in first.items():
        mask = rasterize(geometry, grid)  # raises unless the grid resolves it
        assert np.array_equal(mask, rasterize(again[name], grid))
        parts, n_holes = _count_components(mask)
        assert parts == 1 and 0 <= n_holes <= 3
        holes.append(n_holes)
    assert len(set(holes)) > 1  # the family mixes hole counts
    other = random_polygons(1, seed=5, resolution=40)["polygon_000"]
    assert not np.array_equal(rasterize(other, grid), rasterize(first["polygon_000"], grid))


def test_random_polygon_with_an_exact_number_of_holes():
    from sciml.physics.data.geometry import _count_components, random_polygon

    rng = np.random.default_rng(0)
    for holes in (0, 2, 3):
        mask = rasterize(random_polygon(rng, holes=holes, resolution=50), Grid.uniform((50, 50)))
        assert _count_components(mask) == (1, holes)
    with pytest.raises(GeometryError, match="holes must be >= 0"):
        random_polygon(rng, holes=-1)


def test_random_shapes_mix_kinds_seeded_valid_and_with_exact_holes():
    from sciml.physics.data.geometry import (
        SHAPE_KINDS,
        _count_components,
        random_shape,
        random_shapes,
    )

    grid = Grid.uniform((48, 48))
    first = random_shapes(9, seed=2, resolution=48)
    again = random_shapes(9, seed=2, resolution=48)
    assert list(first) == [f"shape_{i:03d}" for i in range(9)]
    areas = []
    for name, geometry in first.items():
        mask = rasterize(geometry, grid)
        assert np.array_equal(mask, rasterize(again[name], grid))
        parts, holes = _count_components(mask)
        assert parts == 1 and 0 <= holes <= 3
        areas.append(mask.mean())
    # plates (kind 3 of 3) fill most of the square; polygons and blocks less
    assert min(areas[2::3]) > 0.5 and min(areas) < 0.5
    rng = np.random.default_rng(1)
    for kind in SHAPE_KINDS:
        mask = rasterize(random_shape(rng, kind=kind, holes=2, resolution=48), grid)
        assert _count_components(mask) == (1, 2), kind
    with pytest.raises(GeometryError, match="unknown shape kind 'blob'"):
        random_shape(rng, kind="blob")
    with pytest.raises(GeometryError, match="holes must be >= 0"):
        random_shape(rng, kind="plate", holes=-1)


def test_random_shapes_hole_radius_widens_the_holes_and_is_checked():
    from sciml.physics.data.geometry import random_shape, random_shapes

    grid = Grid.uniform((48, 48))
    default = random_shapes(3, seed=2, resolution=48)
    same = random_shapes(3, seed=2, resolution=48, hole_radius=(0.05, 0.2))
    for name in default:  # the default is the range the shipped model's second run used
        assert np.array_equal(rasterize(default[name], grid), rasterize(same[name], grid))
    with pytest.raises(GeometryError, match="hole_radius must satisfy"):
        random_shape(np.random.default_rng(0), kind="plate", hole_radius=(0.3, 0.1))


def test_channels_are_bent_strokes_and_opt_in():
    from sciml.physics.data.geometry import (
        ALL_SHAPE_KINDS,
        SHAPE_KINDS,
        _count_components,
        random_shape,
        random_shapes,
    )

    grid = Grid.uniform((64, 64))
    rng = np.random.default_rng(3)
    for _ in range(8):
        mask = rasterize(random_shape(rng, kind="channel", resolution=64), grid)
        # one thick path: thinner than the square, at least 3 nodes across everywhere
        assert _count_components(mask)[0] == 1 and 0.03 < mask.mean() < 0.6
    # opt-in: the default cycle (and every data set made with it) is unchanged
    assert "channel" not in SHAPE_KINDS and ALL_SHAPE_KINDS[-1] == "channel"
    plain = random_shapes(4, seed=5, resolution=48)
    assert list(plain) == list(random_shapes(4, seed=5, resolution=48, kinds=SHAPE_KINDS))
    with_channels = random_shapes(4, seed=5, resolution=48, kinds=ALL_SHAPE_KINDS)
    small = Grid.uniform((48, 48))
    for name in list(plain)[:3]:  # the same draws until the first channel
        assert np.array_equal(rasterize(plain[name], small), rasterize(with_channels[name], small))
    assert not np.array_equal(
        rasterize(plain["shape_003"], small), rasterize(with_channels["shape_003"], small)
    )
