"""``sciml pde train`` network options, ReLoBRaLo and transfer (--init/--freeze)."""

import pytest

from sciml.cli import main
from sciml.physics.data.geometry import circle, square
from sciml.physics.data.storage import save_dataset
from sciml.physics.predictor import OperatorPredictor
from sciml.physics.problems.darcy import DarcyConfig, generate_darcy

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def darcy_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("d") / "d.nc"
    ds = generate_darcy(12, {"square": square(), "circle": circle()}, DarcyConfig(resolution=20))
    save_dataset(ds, path)
    return path


def _train(data, out, *extra):
    return main(
        [
            "pde",
            "train",
            "--train",
            str(data),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--width",
            "16",
            "--no-progress",
            *extra,
        ]
    )


def test_darcy_default_is_the_exact_boundary_and_mask_keeps_the_old_one(tmp_path, darcy_file):
    assert _train(darcy_file, tmp_path / "a.pt", "--p", "8") == 0
    assert OperatorPredictor.load(tmp_path / "a.pt").model.boundary_factor
    assert _train(darcy_file, tmp_path / "b.pt", "--p", "8", "--boundary", "mask") == 0
    assert not OperatorPredictor.load(tmp_path / "b.pt").model.boundary_factor


@pytest.mark.parametrize(
    ("flags", "check"),
    [
        (
            ["--wide-branch"],
            lambda m: m.p == 200 and m.log_input and m.hparams["cnn_channels"] == [32, 64, 128],
        ),
        (["--fourier", "4", "--p", "8"], lambda m: m.fourier_features == 4),
        (["--trunk", "pod", "--p", "4"], lambda m: m.trunk == "pod" and bool(m.pod_fitted)),
        (
            ["--physics", "0.1", "--weighting", "relobralo", "--p", "8"],
            lambda m: not m.boundary_factor,
        ),
    ],
)
def test_network_flags_reach_the_checkpoint(tmp_path, darcy_file, flags, check):
    assert _train(darcy_file, tmp_path / "m.pt", *flags) == 0
    assert check(OperatorPredictor.load(tmp_path / "m.pt").model)


def test_transfer_from_a_source_checkpoint(tmp_path, darcy_file, capsys):
    source = tmp_path / "source.pt"
    assert _train(darcy_file, source, "--p", "8") == 0
    for freeze in ("none", "partial"):
        assert (
            _train(
                darcy_file,
                tmp_path / f"{freeze}.pt",
                "--init-from",
                str(source),
                "--freeze",
                freeze,
            )
            == 0
        )
        assert OperatorPredictor.load(tmp_path / f"{freeze}.pt").model.p == 8
    capsys.readouterr()
    assert _train(darcy_file, tmp_path / "x.pt", "--init-from", str(source), "--fourier", "4") == 2
    assert "--fourier cannot change a network loaded with --init" in capsys.readouterr().err
    assert _train(darcy_file, tmp_path / "x.pt", "--freeze", "partial") == 2
    assert "error: --freeze applies to transfer" in capsys.readouterr().err


def test_wide_branch_on_an_mlp_problem_is_a_one_line_error(tmp_path, capsys):
    from sciml.physics.problems.fisher import FisherConfig, generate_fisher

    data = tmp_path / "f.nc"
    save_dataset(generate_fisher(4, FisherConfig(nx=16, n_times=5)), data)
    assert _train(data, tmp_path / "f.pt", "--wide-branch") == 2
    err = capsys.readouterr().err
    assert "sciml pde train: error: --wide-branch" in err and "Traceback" not in err


def test_generate_darcy_on_random_polygons(tmp_path, capsys):
    from sciml.physics.data.storage import load_dataset

    out = tmp_path / "poly.nc"
    assert (
        main(
            [
                "pde",
                "generate",
                "darcy",
                "--n",
                "4",
                "--random-polygons",
                "2",
                "--resolution",
                "30",
                "--seed",
                "3",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    ds = load_dataset(out)
    assert list(ds["geometry"].values) == ["polygon_000", "polygon_001"] * 2
    assert not ds["mask"].values[0].all() and ds["mask"].values[0].any()
    capsys.readouterr()
    assert (
        main(
            [
                "pde",
                "generate",
                "fisher",
                "--n",
                "2",
                "--random-polygons",
                "2",
                "--out",
                str(tmp_path / "f.nc"),
            ]
        )
        != 0
    )
    assert "error: --random-polygons applies to darcy, not fisher" in capsys.readouterr().err
