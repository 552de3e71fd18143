import pytest

from sciml.cli import build_parser, main
from sciml.physics.data.storage import load_dataset


def test_generate_fisher_writes_a_dataset(tmp_path, capsys):
    out = tmp_path / "fisher.nc"
    rc = main(
        [
            "pde",
            "generate",
            "fisher",
            "--n",
            "3",
            "--resolution",
            "16",
            "--family",
            "zeldovich",
            "--seed",
            "4",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0
    ds = load_dataset(out)
    assert ds.sizes["sample"] == 3 and ds.sizes["x"] == 16
    assert set(ds["family"].values) == {"zeldovich"} and ds.attrs["seed"] == 4
    assert "wrote fisher_kpp" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("pde", "extra", "sizes"),
    [
        ("darcy", ["--geometry", "circle", "l_shape", "--resolution", "24"], {"x": 24, "y": 24}),
        ("darcy_fno", ["--resolution", "21", "--n-test", "1"], {"sample": 3, "x": 5}),
        ("heat", ["--resolution", "32"], {"z": 8, "x": 32}),
    ],
)
def test_generate_other_pdes(tmp_path, pde, extra, sizes):
    out = tmp_path / f"{pde}.nc"
    assert (
        main(["pde", "generate", pde, "--n", "2", "--out", str(out), "--no-progress", *extra]) == 0
    )
    ds = load_dataset(out)
    for dim, size in sizes.items():
        assert ds.sizes[dim] == size
    assert "sciml_version" in ds.attrs


def test_unknown_names_list_the_valid_ones(tmp_path, capsys):
    out = str(tmp_path / "x.nc")
    assert (
        main(["pde", "generate", "darcy", "--n", "1", "--geometry", "hexagon", "--out", out]) == 2
    )
    assert (
        "annulus, circle, l_shape, square, square_with_cross, triangle" in capsys.readouterr().err
    )
    assert main(["pde", "generate", "fisher", "--n", "1", "--family", "kpp", "--out", out]) == 2
    assert "logistic" in capsys.readouterr().err
    assert not (tmp_path / "x.nc").exists()


def test_too_coarse_grid_is_reported(tmp_path, capsys):
    out = str(tmp_path / "x.nc")
    rc = main(
        [
            "pde",
            "generate",
            "darcy",
            "--n",
            "1",
            "--geometry",
            "square_with_cross",
            "--resolution",
            "8",
            "--out",
            out,
            "--no-progress",
        ]
    )
    assert rc == 2 and "too coarse" in capsys.readouterr().err


def test_pde_command_is_registered_with_generate():
    parser = build_parser()
    args = parser.parse_args(
        ["pde", "generate", "heat", "--n", "5", "--out", "h.nc", "--workers", "2"]
    )
    assert (args.pde, args.n, args.workers, args.dask_scheduler) == ("heat", 5, 2, None)
    with pytest.raises(SystemExit):
        parser.parse_args(["pde", "generate", "burgers", "--n", "1", "--out", "x.nc"])
