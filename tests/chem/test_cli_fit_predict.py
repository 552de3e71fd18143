import json

import numpy as np
import pandas as pd
import pytest

from sciml.chem.models import GNNModel, load_model
from sciml.cli import main
from tests.chem._molecules import SMILES, synthetic_targets, with_missing


@pytest.fixture
def train_csv(tmp_path):
    frame = with_missing(synthetic_targets()).rename(columns={"logp": "LogP", "mw": "MW"})
    frame.insert(0, "SMILES", SMILES)
    frame["note"] = "ignored"
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def query_csv(tmp_path):
    path = tmp_path / "query.csv"
    pd.DataFrame({"SMILES": ["CCCCCCCO", "not a molecule", "c1ccccc1C"]}).to_csv(path, index=False)
    return path


def test_fit_predict_random_forest(train_csv, query_csv, tmp_path, capsys):
    out = tmp_path / "rf"
    assert (
        main(
            [
                "fit",
                "--train",
                str(train_csv),
                "--smiles-col",
                "SMILES",
                "--targets",
                "LogP,MW",
                "--model",
                "rf",
                "--out",
                str(out),
                "--seed",
                "3",
                "--set",
                "n_estimators=25",
                "--set",
                "n_jobs=1",
            ]
        )
        == 0
    )
    meta = json.loads((out / "model.json").read_text())
    assert meta["model"] == "rf" and meta["targets"] == ["LogP", "MW"]
    assert meta["config"]["n_estimators"] == 25 and meta["config"]["seed"] == 3
    assert "fitted RandomForestModel on 40 molecules" in capsys.readouterr().out

    preds = tmp_path / "preds.csv"
    # Default errors="raise": the bad row stops the command with a message naming it.
    assert (
        main(
            [
                "predict",
                "--model",
                str(out),
                "--input",
                str(query_csv),
                "--smiles-col",
                "SMILES",
                "--out",
                str(preds),
            ]
        )
        == 2
    )
    assert "'not a molecule'" in capsys.readouterr().err and not preds.exists()

    assert (
        main(
            [
                "predict",
                "--model",
                str(out),
                "--input",
                str(query_csv),
                "--smiles-col",
                "SMILES",
                "--out",
                str(preds),
                "--errors",
                "nan",
                "--std",
            ]
        )
        == 0
    )
    table = pd.read_csv(preds, index_col="row")
    assert table.columns.tolist() == [
        "SMILES",
        "LogP",
        "MW",
        "LogP_std",
        "MW_std",
        "max_tanimoto",
        "in_domain",
        "note",
    ]
    assert table.index.tolist() == [0, 1, 2]
    assert table.loc[1, ["LogP", "MW"]].isna().all() and table.loc[[0, 2], "LogP"].notna().all()
    expected = load_model(out).predict(["CCCCCCCO", "c1ccccc1C"])
    np.testing.assert_allclose(
        table.loc[[0, 2], ["LogP", "MW"]].to_numpy(), expected.to_numpy(), rtol=1e-6
    )
    assert "row 1" in capsys.readouterr().err

    argv = [
        "predict",
        "--model",
        str(out),
        "--input",
        str(query_csv),
        "--smiles-col",
        "SMILES",
        "--out",
        str(preds),
        "--errors",
        "skip",
        "--targets",
        "MW",
    ]
    assert main(argv) == 2  # preds exists: replaced only with --overwrite
    assert "pass --overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    table = pd.read_csv(preds, index_col="row")
    assert table.index.tolist() == [0, 2]
    assert table.columns.tolist() == ["SMILES", "MW", "max_tanimoto", "in_domain", "note"]


def test_fit_gnn_with_training_options(train_csv, tmp_path):
    out = tmp_path / "gnn"
    assert (
        main(
            [
                "fit",
                "--train",
                str(train_csv),
                "--smiles-col",
                "SMILES",
                "--targets",
                "LogP",
                "--model",
                "gnn",
                "--out",
                str(out),
                "--epochs",
                "2",
                "--val-fraction",
                "0.25",
                "--set",
                "hidden=16",
                "--set",
                "ffn_hidden=16",
                "--set",
                "descriptors=false",
            ]
        )
        == 0
    )
    model = load_model(out)
    assert isinstance(model, GNNModel) and model.targets == ["LogP"]
    assert model.config.epochs == 2 and model.config.descriptors is False
    # Rows without a LogP label are dropped before training.
    assert model.fit_info["n_train"] == pd.read_csv(train_csv)["LogP"].notna().sum() < 40


def test_transformer_pipeline_pretrain_adapt_fit_predict(train_csv, query_csv, tmp_path, capsys):
    corpus = tmp_path / "corpus.smi"
    corpus.write_text("\n".join(SMILES) + "\n")
    pre, ada, out = tmp_path / "pre.pt", tmp_path / "ada.pt", tmp_path / "tf"
    assert (
        main(
            [
                "pretrain",
                "--corpus",
                str(corpus),
                "--size",
                "tiny",
                "--epochs",
                "1",
                "--out",
                str(pre),
                "--no-progress",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "adapt",
                "--init-from",
                str(pre),
                "--train",
                str(train_csv),
                "--smiles-col",
                "SMILES",
                "--epochs",
                "1",
                "--out",
                str(ada),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "adapt (mtr) on 40 molecules" in capsys.readouterr().out
    assert (
        main(
            [
                "fit",
                "--train",
                str(train_csv),
                "--smiles-col",
                "SMILES",
                "--targets",
                "LogP,MW",
                "--model",
                "transformer",
                "--pretrained",
                str(ada),
                "--adapt",
                "none",
                "--head",
                "rf",
                "--out",
                str(out),
                "--set",
                "n_estimators=10",
                "--set",
                "n_jobs=1",
            ]
        )
        == 0
    )
    meta = json.loads((out / "model.json").read_text())
    assert meta["model"] == "transformer" and meta["config"]["pretrained"] == str(ada)
    tables = {}
    for precision in ("fp32", "bf16"):
        preds = tmp_path / f"{precision}.csv"
        assert (
            main(
                [
                    "predict",
                    "--model",
                    str(out),
                    "--input",
                    str(query_csv),
                    "--smiles-col",
                    "SMILES",
                    "--out",
                    str(preds),
                    "--errors",
                    "nan",
                    "--precision",
                    precision,
                ]
            )
            == 0
        )
        tables[precision] = pd.read_csv(preds, index_col="row")
    assert tables["fp32"].loc[1, ["LogP", "MW"]].isna().all()
    expected = load_model(out).predict(["CCCCCCCO", "c1ccccc1C"])
    np.testing.assert_allclose(
        tables["fp32"].loc[[0, 2], ["LogP", "MW"]].to_numpy(), expected.to_numpy(), rtol=1e-6
    )
    spread = pd.read_csv(train_csv)[["LogP", "MW"]].std().to_numpy()
    diff = np.abs(
        tables["bf16"].loc[[0, 2], ["LogP", "MW"]].to_numpy()
        - tables["fp32"].loc[[0, 2], ["LogP", "MW"]].to_numpy()
    )
    assert (diff < 0.2 * spread).all()
    rf = tmp_path / "rf"
    assert (
        main(
            [
                "fit",
                "--train",
                str(train_csv),
                "--smiles-col",
                "SMILES",
                "--targets",
                "LogP",
                "--out",
                str(rf),
                "--model",
                "rf",
                "--set",
                "n_estimators=5",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "predict",
                "--model",
                str(rf),
                "--input",
                str(query_csv),
                "--out",
                str(tmp_path / "p.csv"),
                "--precision",
                "bf16",
            ]
        )
        == 2
    )
    assert "applies to transformer models" in capsys.readouterr().err


def test_helpful_errors(train_csv, tmp_path, capsys):
    base = [
        "fit",
        "--train",
        str(train_csv),
        "--smiles-col",
        "SMILES",
        "--targets",
        "LogP",
        "--out",
        str(tmp_path / "m"),
    ]
    assert main(base + ["--model", "svm"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'svm'; choose one of: " in err and "gnn, kernel, rf" in err
    assert main(base + ["--model", "rf", "--epochs", "3"]) == 2
    assert "not trained in epochs" in capsys.readouterr().err
    assert main(base[:-1] + [str(tmp_path / "m"), "--targets", "nope"]) == 2
    assert "no column(s) ['nope']" in capsys.readouterr().err
    assert (
        main(
            [
                "predict",
                "--model",
                str(tmp_path / "absent"),
                "--input",
                str(train_csv),
                "--out",
                str(tmp_path / "p.csv"),
            ]
        )
        == 2
    )
    assert "not a saved sciml model" in capsys.readouterr().err
