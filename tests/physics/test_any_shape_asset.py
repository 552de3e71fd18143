"""The shipped any-shape Darcy model: size, provenance, frozen predictions, CLI."""

import json
import subprocess
import sys
import warnings
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sciml.physics.any_shape import AnyShapeDarcy

pytestmark = pytest.mark.usefixtures("one_thread")

ASSET = Path(str(files("sciml") / "assets" / "darcy_any_shape.pt"))
FROZEN = Path(__file__).parents[1] / "data" / "frozen_any_shape.json"


def test_asset_is_small_and_carries_its_provenance():
    assert ASSET.stat().st_size < 5e6
    info = AnyShapeDarcy.load_shipped().info
    for key in (
        "made_by",
        "train_command",
        "data",
        "architecture_screen",
        "training",
        "validation_rel_l2",
    ):
        assert key in info
    assert info["validation_rel_l2"] < 0.1
    assert info["training"]["epochs_run"] >= 1
    # every training run, first to last, each with its data and budget
    stages = info["stages"]
    assert stages[0]["init_from"] is None and all(s["init_from"] for s in stages[1:])
    assert info["training_cpu_s_all_stages"] == pytest.approx(
        sum(s["cpu_s"] for s in stages), abs=1
    )
    assert "random_shapes" in stages[-1]["data"]["train"]["description"]


def test_frozen_predictions():
    sys.path.insert(0, str(FROZEN.parent))
    from make_frozen_any_shape import frozen

    expected = json.loads(FROZEN.read_text())
    got = frozen()
    for shape, case in expected.items():
        assert got[shape]["in_domain"] == case["in_domain"]
        np.testing.assert_allclose(got[shape]["mean"], case["mean"], rtol=1e-4)
        for node, value in case["nodes"].items():
            np.testing.assert_allclose(got[shape]["nodes"][node], value, rtol=1e-4, atol=1e-7)


def test_cli_predicts_a_geojson_plate(tmp_path):
    angles = np.linspace(0, 2 * np.pi, 9)[:-1]
    outer = np.c_[0.5 + 0.4 * np.cos(angles), 0.5 + 0.4 * np.sin(angles)].tolist()
    hole = [[0.45, 0.45], [0.6, 0.45], [0.55, 0.58]]
    plate = tmp_path / "plate.geojson"
    plate.write_text(
        json.dumps({"type": "Polygon", "coordinates": [outer + [outer[0]], hole + [hole[0]]]})
    )
    out = tmp_path / "u.nc"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sciml.cli",
            "pde",
            "predict",
            "--model",
            "darcy-any-shape",
            "--geometry-file",
            str(plate),
            "--permeability",
            "2",
            "--adapt-steps",
            "10",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "wrote u" in run.stdout and "with the PDE residual only: 10 steps" in run.stdout
    assert "Deprecation" not in run.stderr  # dependencies' notes do not bury sciml's warnings
    ds = xr.open_dataset(out)
    assert ds["u"].shape == (64, 64) and ds.attrs["in_domain"] in (0, 1)
    # the error estimated from the residual (no solver) is stored and printed
    assert 0 < ds.attrs["estimated_rel_l2"] < 0.2
    assert f"estimated relative L2 error {100 * ds.attrs['estimated_rel_l2']:.2f}%" in run.stdout
    assert np.isnan(ds["u"].values[0, 0]) and np.nanmax(ds["u"].values) > 0
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "sciml.cli",
            "pde",
            "predict",
            "--model",
            "darcy-any-shape",
            "--out",
            str(tmp_path / "v.nc"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode != 0 and "needs --geometry-file" in bad.stderr


def test_cli_refuses_a_negative_step_count(tmp_path, capsys):
    from sciml.cli import main

    argv = ["pde", "predict", "--model", "darcy-any-shape", "--geometry-file", "circle"]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--adapt-steps", "-5", "--out", str(tmp_path / "u.nc")])
    assert exit_.value.code == 2
    assert "--adapt-steps: expected a whole number >= 0, got -5" in capsys.readouterr().err


def test_cli_reads_a_permeability_field_from_a_file(tmp_path, capsys):
    from sciml.cli import main

    x = np.linspace(0, 1, 64)
    k = np.exp(0.5 * np.sin(3 * x)[:, None] * np.cos(2 * x)[None, :])
    np.save(tmp_path / "k.npy", k)
    xr.Dataset({"K": (("y", "x"), k.T)}).to_netcdf(tmp_path / "k.nc")  # transposed on disk
    argv = ["pde", "predict", "--model", "darcy-any-shape", "--geometry-file", "circle"]
    fields = []
    for source in ("k.npy", "k.nc"):
        assert (
            main(
                [
                    *argv,
                    "--permeability",
                    str(tmp_path / source),
                    "--out",
                    str(tmp_path / f"u_{source}.nc"),
                ]
            )
            == 0
        )
        ds = xr.open_dataset(tmp_path / f"u_{source}.nc")
        np.testing.assert_allclose(ds["K"].values, k)
        fields.append(ds["u"].values)
    np.testing.assert_allclose(fields[0], fields[1])
    shipped = AnyShapeDarcy.load_shipped("darcy-any-shape")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(fields[0], shipped.predict("circle", k).values, rtol=1e-6)
    with pytest.raises(SystemExit):
        main([*argv, "--permeability", "nofile.npy", "--out", str(tmp_path / "v.nc")])
    assert "expected a number or a .npy / .nc file of K" in capsys.readouterr().err
    np.save(tmp_path / "bad.npy", np.ones((5, 5)))
    bad = [*argv, "--permeability", str(tmp_path / "bad.npy"), "--out", str(tmp_path / "w.nc")]
    assert main(bad) != 0
    assert "permeability has shape (5, 5)" in capsys.readouterr().err
