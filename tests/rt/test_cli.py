import numpy as np
import pandas as pd
import pytest

from sciml.cli import main


@pytest.fixture
def csv(tmp_path, molecules, qed_frame):
    path = tmp_path / "train.csv"
    pd.DataFrame({"smiles": molecules, "qed": qed_frame["qed"]}).to_csv(path, index=False)
    return path


def test_train_predict_generate(tmp_path, csv, trained_rt, capsys):
    model = tmp_path / "rt.pt"
    assert (
        main(
            [
                "rt",
                "train",
                str(csv),
                "--properties",
                "qed",
                "--output",
                str(model),
                "--size",
                "tiny",
                "--epochs",
                "1",
                "--batch-size",
                "12",
                "--quiet",
            ]
        )
        == 0
    )
    assert model.is_file()
    trained = trained_rt.save(tmp_path / "trained.pt")
    out = tmp_path / "pred.csv"
    assert main(["rt", "predict", str(trained), str(csv), "--output", str(out)]) == 0
    assert list(pd.read_csv(out).columns) == ["smiles", "qed"]
    greedy = tmp_path / "greedy.csv"
    argv = ["rt", "predict", str(trained), str(csv), "--output", str(greedy)]
    assert main([*argv, "--decoding", "greedy"]) == 0
    values = pd.read_csv(greedy)["qed"].to_numpy()
    assert np.allclose(values, np.round(values, 2))  # digits, on the precision grid
    gen = tmp_path / "gen.csv"
    assert (
        main(
            [
                "rt",
                "generate",
                str(trained),
                "CCOc1ccccc1",
                "--target",
                "qed=0.3,0.8",
                "--n",
                "3",
                "--mask",
                "atoms",
                "--repair",
                "--best-of",
                "2",
                "--output",
                str(gen),
            ]
        )
        == 0
    )
    assert "candidates invalid" in capsys.readouterr().out
    assert (
        main(["rt", "generate", str(trained), "CCO", "--target", "logp=1", "--output", str(gen)])
        == 2
    )
    assert "this model knows: qed" in capsys.readouterr().err


def test_bad_arguments(tmp_path, csv, capsys):
    assert (
        main(["rt", "train", str(csv), "--properties", "qed", "--output", "x.pt", "--size", "huge"])
        == 2
    )
    assert "choose one of: base, small, tiny" in capsys.readouterr().err
    assert main(["rt", "train", str(csv), "--properties", "sol", "--output", "x.pt"]) == 2
    assert "no column(s) ['sol']" in capsys.readouterr().err
