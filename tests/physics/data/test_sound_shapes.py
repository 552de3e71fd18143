"""Sound shapes are accepted, bad geometry input is refused early and points into the domain."""

import re
import subprocess
import sys

import numpy as np
import pytest

from sciml.physics.data.geometry import Grid, check_thickness, rasterize, topology
from sciml.physics.data.geometry_io import (
    geometry_file_dim,
    load_geometry,
    polygon_with_holes,
)
from sciml.physics.errors import GeometryError, ResolutionError
from sciml.physics.problems import get_problem


def star(inner=0.15, rotation=0.0, points=5):
    angles = np.arange(2 * points) * np.pi / points + rotation
    radii = np.where(np.arange(2 * points) % 2 == 0, 0.45, inner)
    return polygon_with_holes(np.c_[0.5 + radii * np.cos(angles), 0.5 + radii * np.sin(angles)])


@pytest.mark.parametrize("n", [20, 30, 50, 100])
def test_sharp_star_is_one_part_at_every_resolution(n):
    # Before: the tips, rasterised, touch the rest only diagonally or leave single nodes
    # beyond them, and the check counted them as parts ("a 4x finer grid shows 5 parts").
    mask = rasterize(star(), Grid.uniform((n, n)))
    assert topology(mask) == (1, 0)


def test_diagonal_tip_mask_is_one_part():
    mask = np.zeros((40, 40), bool)
    yy, xx = np.mgrid[:40, :40]
    mask[(xx - 20) ** 2 + (yy - 20) ** 2 <= 100] = True
    mask[31, 20] = False  # the disk's top node, so that the tip below touches it diagonally
    mask[31, 21] = True
    mask[32, 22] = True  # tip node: joined to the disk only across a corner
    assert topology(mask) == (1, 0)
    check_thickness(mask)  # the tip is no part of its own that "vanishes"


@pytest.mark.parametrize("n", [20, 30, 50, 100])
def test_star_npy_mask_loads_at_its_resolution(tmp_path, n):
    # The case: a star drawn as an npy mask, checked on its own grid.
    path = tmp_path / "star.npy"
    np.save(path, rasterize(star(), Grid.uniform((n, n))))
    load_geometry(path, resolution=n)  # no ResolutionError


def test_real_second_part_is_still_refused():
    # Two disks joined by a bar thinner than a node spacing: a coarse grid splits them.
    from sciml.physics.data.geometry import Disk, Rectangle, union

    shape = union(
        Disk([0.3, 0.5], 0.15), Disk([0.7, 0.5], 0.15), Rectangle([0.3, 0.49], [0.7, 0.51])
    )
    with pytest.raises(ResolutionError, match="too coarse"):
        rasterize(shape, Grid.uniform((20, 20)))


@pytest.mark.parametrize("width", [3.2, 5.5])
def test_thickness_message_points_at_a_node_inside_the_domain(width):
    # A ring: its centroid lies in the hole; the message must name a node of the ring.
    yy, xx = np.mgrid[:41, :41]
    r = np.hypot(xx - 20, yy - 20)
    ring = (r >= 12) & (r <= 12 + width)
    with pytest.raises(ResolutionError, match="around node") as info:
        check_thickness(ring, min_nodes=9)
    found = re.search(r"around node \((\d+), (\d+)\)", str(info.value))
    node = tuple(int(v) for v in found.groups())
    assert ring[node], f"the message points at {node}, outside the ring: {info.value}"


@pytest.fixture
def stl_file(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    path = tmp_path / "block.stl"
    trimesh.creation.box((0.5, 0.5, 0.2)).export(path)
    return path


def test_file_dimensions_are_read_without_loading(tmp_path, stl_file):
    np.save(tmp_path / "m2.npy", np.ones((8, 8)))
    np.save(tmp_path / "m3.npy", np.ones((8, 8, 4)))
    assert geometry_file_dim(stl_file) == 3
    assert geometry_file_dim(tmp_path / "m2.npy") == 2
    assert geometry_file_dim(tmp_path / "m3.npy") == 3
    with pytest.raises(GeometryError, match="no such geometry file"):
        geometry_file_dim(tmp_path / "none.npy")


def test_darcy_refuses_a_3d_file_before_loading(tmp_path, stl_file):
    darcy = get_problem("darcy")
    with pytest.raises(GeometryError, match="a 3-D geometry, but the darcy problem is 2-D"):
        darcy.check_geometry_file(stl_file)
    np.save(tmp_path / "voxels.npy", np.ones((8, 8, 4)))
    with pytest.raises(GeometryError, match="a 3-D geometry, but the darcy problem is 2-D"):
        darcy.solve(str(tmp_path / "voxels.npy"), resolution=16)
    get_problem("heat").check_geometry_file(stl_file)  # heat takes 3-D solids
    np.save(tmp_path / "line.npy", np.ones(8))
    with pytest.raises(GeometryError, match="1-D geometry"):
        get_problem("heat").check_geometry_file(tmp_path / "line.npy")


def test_cli_refuses_stl_for_darcy_at_once(tmp_path, stl_file):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sciml.cli",
            "pde",
            "generate",
            "darcy",
            "--n",
            "2",
            "--geometry-file",
            str(stl_file),
            "--out",
            str(tmp_path / "d.nc"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "3-D geometry, but the darcy problem is 2-D" in run.stderr
    assert not (tmp_path / "d.nc").exists()


def test_source_and_boundary_values_through_the_problem():
    darcy = get_problem("darcy")
    # Harmonic data: u = x + 2y solves -div(grad u) = 0 exactly, also on a curved boundary.
    ds = darcy.solve(
        "annulus", resolution=33, source=0.0, boundary_value=lambda p: p[:, 0] + 2 * p[:, 1]
    )
    x, y = np.meshgrid(ds["x"], ds["y"], indexing="ij")
    inside = ds["mask"].values[0]
    np.testing.assert_allclose(ds["u"].values[0][inside], (x + 2 * y)[inside], atol=1e-10)
    # -lap u = 4 in the disk of radius 1/2 with u = 0: u = 1/4 - r^2, to second order.
    ds = darcy.solve("circle", resolution=41, source=lambda p: np.full(len(p), 4.0))
    x, y = np.meshgrid(ds["x"], ds["y"], indexing="ij")
    r2 = (x - 0.5) ** 2 + (y - 0.5) ** 2
    inside = ds["mask"].values[0]
    assert np.abs(ds["u"].values[0] - (0.25 - r2))[inside].max() < 1e-3
    with pytest.raises(ValueError, match="strictly positive in the domain"):
        darcy.solve("circle", resolution=21, permeability=-1.0)
    with pytest.raises(ValueError, match="source has shape"):
        darcy.solve("circle", resolution=21, source=np.ones((5, 5)))
