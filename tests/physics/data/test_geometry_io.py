"""User geometries from files: loaders, checks, and their use by the solvers, CLI and predictor."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from sciml.physics.data.geometry import Grid, rasterize
from sciml.physics.data.geometry_io import (
    MaskGeometry,
    MeshGeometry,
    check_geometry,
    check_thickness,
    load_geometry,
    load_mask_image,
    load_mask_netcdf,
    load_polygon_csv,
    load_polygon_geojson,
    load_stl,
    polygon_with_holes,
)
from sciml.physics.errors import GeometryError, ResolutionError
from sciml.physics.problems.darcy import DarcyConfig, generate_darcy

DATA = Path(__file__).resolve().parents[2] / "data"
PENTAGON = DATA / "pentagon_hole.geojson"
SQUARE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]


def _disk_mask(n=40, radius=0.35):
    centres = (np.arange(n) + 0.5) / n
    xx, yy = np.meshgrid(centres, centres, indexing="ij")
    return np.hypot(xx - 0.5, yy - 0.5) <= radius


def _write_geojson(path, rings, kind="Polygon"):
    path.write_text(json.dumps({"type": kind, "coordinates": rings}))
    return path


def _closed(ring):
    return [*ring, ring[0]]


# --------------------------------------------------------------------------- polygons


def test_shipped_pentagon_with_hole_loads_and_resolves():
    geometry = load_geometry(PENTAGON, resolution=100)
    inside = geometry.inside(np.array([[0.5, 0.5], [0.5, 0.8], [0.5, 0.9], [0.05, 0.05]]))
    np.testing.assert_array_equal(inside, [False, True, True, False])
    assert geometry.name == str(PENTAGON)
    # Area: pentagon (5/2 R^2 sin 72deg) minus the 48-gon hole.
    mask = rasterize(geometry, Grid.uniform((401, 401), cell_centred=True), check=False)
    pentagon = 2.5 * 0.45**2 * np.sin(np.deg2rad(72))
    hole = 0.5 * 48 * 0.15**2 * np.sin(2 * np.pi / 48)
    assert mask.mean() == pytest.approx(pentagon - hole, rel=0.01)


def test_geojson_feature_collection_and_orientation(tmp_path):
    hole = [[0.4, 0.4], [0.6, 0.4], [0.6, 0.6], [0.45, 0.6]]
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [_closed(SQUARE[::-1]), _closed(hole)]},
    }
    path = tmp_path / "f.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    geometry = load_polygon_geojson(path)
    np.testing.assert_array_equal(geometry.inside(np.array([[0.2, 0.2], [0.5, 0.5]])), [1, 0])


@pytest.mark.parametrize(
    ("rings", "message"),
    [
        ([SQUARE + [[0.2, 0.1]]], "the outer ring is not closed: its first position"),
        ([_closed([[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]])], "intersects itself"),
        ([_closed([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]])], "zero area"),
        ([_closed([[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]])], "outside the unit square"),
        (
            [_closed(SQUARE), _closed([[0.5, 0.5], [1.0, 0.5], [0.7, 0.7]])],
            "hole 1 is not strictly inside the outer ring",
        ),
        (
            [
                _closed(SQUARE),
                _closed([[0.3, 0.3], [0.6, 0.3], [0.45, 0.6]]),
                _closed([[0.4, 0.35], [0.7, 0.35], [0.55, 0.65]]),
            ],
            "hole 2 overlaps hole 1",
        ),
        ([[[0.1, 0.1], [0.9, 0.1], [0.1, 0.1]]], "at least 4 \\[x, y\\] positions"),
    ],
)
def test_bad_geojson_polygons_name_the_file_and_the_problem(tmp_path, rings, message):
    path = _write_geojson(tmp_path / "bad.geojson", rings)
    with pytest.raises(GeometryError, match=message) as info:
        load_geometry(path)
    assert str(path) in str(info.value)


def test_geojson_that_is_not_one_polygon(tmp_path):
    multi = _write_geojson(tmp_path / "m.geojson", [[_closed(SQUARE)]], kind="MultiPolygon")
    with pytest.raises(GeometryError, match="expected a GeoJSON Polygon .* found 'MultiPolygon'"):
        load_geometry(multi)
    broken = tmp_path / "b.json"
    broken.write_text("{not json")
    with pytest.raises(GeometryError, match="b.json: not valid JSON"):
        load_geometry(broken)
    two = tmp_path / "two.geojson"
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}
    two.write_text(json.dumps({"type": "FeatureCollection", "features": [feature, feature]}))
    with pytest.raises(GeometryError, match="exactly one Polygon feature, found 2"):
        load_geometry(two)


def test_csv_polygon_with_ring_ids(tmp_path):
    path = tmp_path / "p.csv"
    rows = ["x,y,ring"] + [f"{x},{y},0" for x, y in SQUARE]
    rows += ["0.3,0.3,1", "0.6,0.3,1", "0.45,0.6,1", "0.3,0.3,1"]  # closing vertex allowed
    path.write_text("\n".join(rows) + "\n")
    geometry = load_polygon_csv(path)
    np.testing.assert_array_equal(geometry.inside(np.array([[0.15, 0.5], [0.45, 0.4]])), [1, 0])
    # Without a ring column every row is the outer ring.
    plain = tmp_path / "plain.csv"
    plain.write_text("x,y\n" + "\n".join(f"{x},{y}" for x, y in SQUARE) + "\n")
    assert bool(load_geometry(plain).inside(np.array([[0.5, 0.5]]))[0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x,y,ring\n0.1,0.1,0\n0.9,0.1,0\n0.5,abc,0\n", r"row 4, column y: 'abc' is not a number"),
        ("x,ring\n0.1,0\n", "missing column\\(s\\) y"),
        ("x,y,ring\n0.1,0.1,1\n0.9,0.1,1\n0.5,0.9,1\n", "no outer ring \\(ring id 0\\)"),
        ("x,y,ring\n0.1,0.1,a\n", "row 2, column ring: 'a' is not an integer ring id"),
        ("x,y\n0.1,0.1\n0.9,0.1\n", "has 2 distinct vertices; need 3"),
    ],
)
def test_bad_csv_polygons(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(GeometryError, match=message) as info:
        load_geometry(path)
    assert str(path) in str(info.value)


def test_polygon_with_holes_from_arrays_builds_triangles_and_rectangles():
    geometry = polygon_with_holes(SQUARE, [[[0.3, 0.3], [0.6, 0.3], [0.45, 0.6]]])
    assert type(geometry).__name__ == "CSGDifference"
    assert not geometry.inside(np.array([[0.45, 0.4]]))[0]


# --------------------------------------------------------------------------- masks


def test_npy_mask_and_its_use_in_the_darcy_generator(tmp_path):
    path = tmp_path / "disk.npy"
    np.save(path, _disk_mask().astype(np.uint8))
    geometry = load_geometry(path, resolution=33)
    assert isinstance(geometry, MaskGeometry)
    np.testing.assert_array_equal(geometry.inside(np.array([[0.5, 0.5], [0.02, 0.5]])), [1, 0])
    ds = generate_darcy(1, {"disk": geometry}, DarcyConfig(resolution=33))
    assert ds.attrs["order"] == 2 and float(ds["u"].max()) > 0
    assert np.all(ds["u"].values[~ds["mask"].values] == 0)


def test_bad_mask_arrays(tmp_path):
    cases = {
        "nan.npy": (np.full((4, 4), np.nan), "holds NaN"),
        "flat.npy": (np.ones(5), "must be 2-D or 3-D, got shape \\(5,\\)"),
        "empty.npy": (np.zeros((5, 5)), "the mask is empty"),
        "text.npy": (np.array([["a", "b"]]), "must be numeric or boolean"),
    }
    for name, (array, message) in cases.items():
        np.save(tmp_path / name, array)
        with pytest.raises(GeometryError, match=message) as info:
            load_geometry(tmp_path / name)
        assert name in str(info.value)
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(GeometryError, match="junk.npy: not a readable .npy array"):
        load_geometry(tmp_path / "junk.npy")


def test_png_mask_is_read_as_displayed(tmp_path):
    from matplotlib import image as mpimg

    pixels = np.zeros((20, 30))  # 20 rows (y), 30 columns (x)
    pixels[:8, :10] = 1.0  # top-left block: small x, large y
    path = tmp_path / "block.png"
    mpimg.imsave(path, pixels, cmap="gray", vmin=0, vmax=1)
    geometry = load_mask_image(path)
    assert geometry.mask.shape == (30, 20)
    inside = geometry.inside(np.array([[0.1, 0.9], [0.1, 0.1], [0.9, 0.9]]))
    np.testing.assert_array_equal(inside, [True, False, False])
    mpimg.imsave(tmp_path / "black.png", np.zeros((5, 5)), cmap="gray", vmin=0, vmax=1)
    with pytest.raises(GeometryError, match="black.png: the image is black"):
        load_geometry(tmp_path / "black.png")
    (tmp_path / "fake.png").write_text("no image")
    with pytest.raises(GeometryError, match="fake.png: not a readable image"):
        load_geometry(tmp_path / "fake.png")


def test_netcdf_mask_variable_and_coordinates(tmp_path):
    import xarray as xr

    mask = _disk_mask(21)
    x = np.linspace(0, 1, 21)
    ds = xr.Dataset(
        {"domain": (("y", "x"), mask.T.astype(np.int8)), "other": (("x",), x)},
        coords={"x": x, "y": x},
    )
    path = tmp_path / "m.nc"
    ds.to_netcdf(path)
    geometry = load_mask_netcdf(path, "domain")
    np.testing.assert_array_equal(geometry.mask, mask)  # transposed back to (x, y)
    np.testing.assert_allclose(geometry.lower, [-0.025, -0.025])
    with pytest.raises(GeometryError, match="no variable 'mask'; variables are \\['domain'"):
        load_geometry(path)
    assert load_geometry(path, variable="domain").mask.sum() == mask.sum()


def test_netcdf_mask_from_a_generated_data_set(tmp_path):
    from sciml.physics.data.storage import save_dataset

    ds = generate_darcy(2, {"pentagon": load_geometry(PENTAGON)}, DarcyConfig(resolution=41))
    path = save_dataset(ds, tmp_path / "d.nc")
    geometry = load_geometry(path, resolution=41)
    regrid = rasterize(geometry, Grid.uniform((41, 41)), check=False)
    np.testing.assert_array_equal(regrid, ds["mask"].values[0])


def test_mask_boundary_points_lie_on_pixel_faces():
    geometry = MaskGeometry(_disk_mask(16))
    np.random.seed(0)
    points = geometry.random_boundary_points(200)
    on_face = np.isclose((points * 16) % 1, 0) | np.isclose((points * 16) % 1, 1)
    assert np.all(on_face.any(axis=1))
    interior = geometry.random_points(100)
    assert geometry.inside(interior).all()


# --------------------------------------------------------------------------- STL


def _annulus_stl(tmp_path, name="ring.stl"):
    trimesh = pytest.importorskip("trimesh")
    mesh = trimesh.creation.annulus(r_min=0.15, r_max=0.45, height=0.25, sections=64)
    mesh.apply_translation([0.5, 0.5, 0.125])
    path = tmp_path / name
    mesh.export(path)
    return path, mesh


def test_stl_solid_voxelised_and_solved_as_a_heat_plate(tmp_path):
    from sciml.physics.problems.heat import HeatConfig, generate_heat

    path, _ = _annulus_stl(tmp_path)
    geometry = load_geometry(path)
    assert isinstance(geometry, MeshGeometry) and geometry.dim == 3
    probe = np.array([[0.5, 0.5, 0.1], [0.5, 0.8, 0.1], [0.5, 0.8, 0.3], [0.02, 0.02, 0.1]])
    np.testing.assert_array_equal(geometry.inside(probe), [False, True, False, False])
    config = HeatConfig(shape=(16, 16, 4))
    grid = config.grid()
    mask = rasterize(geometry, grid)
    xx, yy, _ = np.meshgrid(*grid.axes, indexing="ij")
    radius = np.hypot(xx - 0.5, yy - 0.5)
    np.testing.assert_array_equal(mask[(radius < 0.14) | (radius > 0.46)], False)
    np.testing.assert_array_equal(mask[(radius > 0.16) & (radius < 0.43)], True)
    ds = generate_heat(2, config, geometry=geometry)
    np.testing.assert_array_equal(ds["mask"].values[0], mask)
    assert ds.attrs["geometry"] == str(path) and int(ds["n_holes"][0]) == 0
    assert np.all(ds["T"].values[:, ~mask] == config.t_hole)


def test_open_stl_surface_is_rejected(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    _, mesh = _annulus_stl(tmp_path)
    open_mesh = trimesh.Trimesh(mesh.vertices, mesh.faces[:-3])
    path = tmp_path / "open.stl"
    open_mesh.export(path)
    with pytest.raises(GeometryError, match="open.stl: the surface is not watertight"):
        load_stl(path)
    (tmp_path / "junk.stl").write_bytes(b"\x00" * 10)
    with pytest.raises(GeometryError, match="junk.stl"):
        load_stl(tmp_path / "junk.stl")


def test_missing_trimesh_gives_an_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "trimesh", None)
    with pytest.raises(ImportError, match="pip install trimesh"):
        load_stl(tmp_path / "any.stl")


# --------------------------------------------------------------------------- checks


def test_resolution_check_counts_nodes_across_the_thinnest_part():
    geometry = load_geometry(PENTAGON)
    with pytest.raises(ResolutionError, match="too coarse"):
        check_geometry(geometry, 6)
    with pytest.raises(ResolutionError, match="less than 3 nodes thick"):
        check_geometry(geometry, 10)
    assert check_geometry(geometry, 16).sum() > 50
    with pytest.raises(ResolutionError, match="less than 5 nodes thick"):
        check_geometry(geometry, 16, min_nodes=5)


def test_thickness_check_finds_thin_necks_and_walls():
    dumbbell = np.zeros((30, 15), bool)
    dumbbell[2:12, 2:13] = dumbbell[18:28, 2:13] = True
    dumbbell[12:18, 7:9] = True  # a neck 2 nodes wide
    with pytest.raises(ResolutionError, match="breaks into 2 pieces"):
        check_thickness(dumbbell)
    dumbbell[12:18, 6:9] = True  # 3 nodes wide
    check_thickness(dumbbell)
    ring = np.ones((20, 20), bool)
    ring[[0, -1]] = ring[:, [0, -1]] = False
    ring[3:17, 3:17] = False  # walls 2 nodes thick around one hole
    with pytest.raises(ResolutionError, match="less than 3 nodes thick"):
        check_thickness(ring)


def test_unknown_and_missing_files(tmp_path):
    with pytest.raises(GeometryError, match="unknown geometry file type '.txt'"):
        load_geometry(tmp_path / "shape.txt")
    with pytest.raises(GeometryError, match="nope.geojson: no such geometry file"):
        load_geometry(tmp_path / "nope.geojson")


# --------------------------------------------------------------------------- CLI, predictor


def test_cli_generates_darcy_on_a_geometry_file(tmp_path, capsys):
    from sciml.cli import main

    out = tmp_path / "d.nc"
    argv = ["pde", "generate", "darcy", "--n", "2", "--resolution", "33", "--no-progress"]
    assert main([*argv, "--geometry-file", str(PENTAGON), "--out", str(out)]) == 0
    import xarray as xr

    with xr.open_dataset(out) as ds:
        assert list(ds["geometry"].values) == ["pentagon_hole", "pentagon_hole"]
        assert ds.attrs["boundary_scheme"] == "shortley-weller"
        assert not ds["mask"].values[0, 16, 16]  # the hole
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n0.1,zz\n")
    assert main([*argv, "--geometry-file", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("sciml pde generate: error: ") and "row 2, column y" in err[-1]
    assert main([*argv[:-3], "--resolution", "8", "--no-progress", "--geometry-file",
                 str(PENTAGON), "--out", str(out)]) == 2  # fmt: skip
    assert "too coarse" in capsys.readouterr().err


def test_predictor_accepts_a_geometry_file():
    import torch

    from sciml.physics.operator.networks import MTDeepONet
    from sciml.physics.predictor import OperatorPredictor

    torch.manual_seed(0)
    axis = np.linspace(0, 1, 16)
    net = MTDeepONet(
        (1, 16, 16), 2, p=8, branch="cnn", branch_hidden=(8,), cnn_channels=(4,), trunk_hidden=(8,)
    )
    predictor = OperatorPredictor(net, "darcy", ("x", "y"), ("x", "y"), (axis, axis))
    k = np.ones((16, 16))
    from_file = predictor.predict(k, geometry=str(PENTAGON))
    from_object = predictor.predict(k, geometry=load_geometry(PENTAGON))
    np.testing.assert_array_equal(from_file.values, from_object.values)
    assert np.isnan(from_file.values[8, 8]) and np.isfinite(from_file.values[8, 13])


def test_cli_generates_heat_on_a_cross_section_file(tmp_path, capsys):
    import xarray as xr

    from sciml.cli import main

    out = tmp_path / "h.nc"
    argv = ["pde", "generate", "heat", "--n", "1", "--resolution", "16", "--no-progress"]
    assert main([*argv, "--geometry-file", str(PENTAGON), "--out", str(out)]) == 0
    with xr.open_dataset(out) as ds:
        assert ds.attrs["geometry"] == str(PENTAGON) and int(ds["n_holes"][0]) == 0
        mask = ds["mask"].values[0]
        assert mask[:, :, 0].any() and not mask[8, 8, 0]  # the hole, through the thickness
        np.testing.assert_array_equal(mask, np.repeat(mask[:, :, :1], mask.shape[2], axis=2))
    two = ["--geometry-file", str(PENTAGON), str(PENTAGON), "--out", str(out)]
    assert main([*argv, *two]) == 2
    assert "heat takes one --geometry-file" in capsys.readouterr().err


def test_heat_predictions_are_nan_outside_a_user_geometry():
    import torch

    from sciml.physics.operator.networks import MTDeepONet
    from sciml.physics.predictor import OperatorPredictor
    from sciml.physics.problems.heat import HEAT_DESIGN_FEATURES

    torch.manual_seed(0)
    n_features = len(HEAT_DESIGN_FEATURES) + 2 * 3
    net = MTDeepONet(n_features, 3, p=4, branch_hidden=(8,), trunk_hidden=(8,), mask_output=True)
    axes = (np.linspace(0, 1, 12), np.linspace(0, 1, 12), np.linspace(0, 0.1, 3))
    predictor = OperatorPredictor(net, "heat", ("x", "y", "z"), ("x", "y", "z"), axes)
    design = np.full(n_features, -1.0)
    design[: len(HEAT_DESIGN_FEATURES)] = 0.1  # no holes: the whole plate
    plain = predictor.predict(design)
    bounded = predictor.predict(design, geometry=str(PENTAGON))
    assert np.isfinite(plain.values).all()
    # The pentagon's hole and the corners outside it are NaN; its body is not.
    assert np.isnan(bounded.values[6, 6, 1]) and np.isnan(bounded.values[0, 0, 1])
    assert np.isfinite(bounded.values[6, 10, 1])
