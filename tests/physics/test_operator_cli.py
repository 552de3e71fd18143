import pytest

from sciml.cli import main
from sciml.physics.data.geometry import circle, square
from sciml.physics.data.storage import load_dataset, save_dataset
from sciml.physics.problems.darcy import DarcyConfig, generate_darcy


def test_help_lists_train_and_predict(capsys):
    with pytest.raises(SystemExit):
        main(["pde", "--help"])
    out = capsys.readouterr().out
    assert "train" in out and "predict" in out and "generate" in out


def test_train_then_predict(tmp_path):
    data = tmp_path / "d.nc"
    save_dataset(
        generate_darcy(8, {"square": square(), "circle": circle()}, DarcyConfig(resolution=24)),
        data,
    )
    model = tmp_path / "m.pt"
    assert (
        main(
            [
                "pde",
                "train",
                "--train",
                str(data),
                "--out",
                str(model),
                "--epochs",
                "1",
                "--p",
                "8",
                "--width",
                "16",
                "--no-progress",
            ]
        )
        == 0
    )
    out = tmp_path / "p.nc"
    assert (
        main(
            [
                "pde",
                "predict",
                "--model",
                str(model),
                "--input",
                str(data),
                "--out",
                str(out),
                "--sample-index",
                "0",
                "1",
            ]
        )
        == 0
    )
    pred = load_dataset(out)
    assert pred["u"].shape == (2, 24, 24)
    assert pred["u"].isnull().values[1, 0, 0]  # circle sample: corner outside is NaN


def test_predict_missing_model_is_an_error(tmp_path, capsys):
    assert (
        main(
            [
                "pde",
                "predict",
                "--model",
                str(tmp_path / "none.pt"),
                "--input",
                "x.nc",
                "--out",
                str(tmp_path / "o.nc"),
            ]
        )
        == 2
    )
    assert "no checkpoint" in capsys.readouterr().err
