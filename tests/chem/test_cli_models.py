"""sciml fit/predict: model kinds, transforms, intervals, ensembles, tuned configs, help."""

import json

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem import Crippen

from sciml.chem.models import load_model
from sciml.cli import main


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory, nci_smiles):
    rows = [
        (s, 10.0 ** Crippen.MolLogP(m))
        for s in nci_smiles[:160]
        if (m := Chem.MolFromSmiles(s)) is not None and m.GetNumHeavyAtoms() < 40
    ]
    path = tmp_path_factory.mktemp("cli") / "train.csv"
    pd.DataFrame(rows, columns=["SMILES", "P"]).to_csv(path, index=False)
    return path


def _fit(tmp_path, train_csv, *extra):
    out = tmp_path / "model"
    code = main(
        [
            "fit",
            "--train",
            str(train_csv),
            "--smiles-col",
            "SMILES",
            "--targets",
            "P",
            "--out",
            str(out),
            *extra,
        ]
    )
    return code, out


def test_transform_and_calibration_reach_the_saved_model_and_predict(tmp_path, train_csv, capsys):
    code, out = _fit(
        tmp_path,
        train_csv,
        "--model",
        "gbm",
        "--transform",
        "P=log10",
        "--calibration",
        "0.2",
        "--set",
        "n_estimators=50",
        "--set",
        "n_jobs=1",
    )
    assert code == 0
    assert "target transforms: P: log10" in capsys.readouterr().out
    model = load_model(out)
    assert model.transforms.kinds == {"P": "log10"} and model.conformal.n("P") > 20
    preds = tmp_path / "p.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(out),
                "--input",
                str(train_csv),
                "--smiles-col",
                "SMILES",
                "--out",
                str(preds),
                "--interval",
                "0.9",
            ]
        )
        == 0
    )
    frame = pd.read_csv(preds)
    assert {"P_pred", "P_lower", "P_upper"} <= set(frame.columns)
    assert (frame.P_lower < frame.P_pred).all() and (frame.P_pred < frame.P_upper).all()
    np.testing.assert_allclose(np.sqrt(frame.P_lower * frame.P_upper), frame.P_pred, rtol=1e-5)


def test_interval_without_calibration_is_a_clear_error(tmp_path, train_csv, capsys):
    _, out = _fit(tmp_path, train_csv, "--model", "rf", "--set", "n_estimators=5")
    code = main(
        [
            "predict",
            "--model",
            str(out),
            "--input",
            str(train_csv),
            "--smiles-col",
            "SMILES",
            "--out",
            str(tmp_path / "p.csv"),
            "--interval",
            "0.9",
        ]
    )
    assert code == 2 and "no conformal calibration" in capsys.readouterr().err


def test_ensemble_from_the_command_line(tmp_path, train_csv):
    code, out = _fit(
        tmp_path,
        train_csv,
        "--model",
        "ensemble",
        "--members",
        "rf,gbm",
        "--seed",
        "3",
        "--transform",
        "auto",
    )
    assert code == 0
    model = load_model(out)
    assert [m.name for m in model.members] == ["rf", "gbm"]
    assert all(m.config.seed == 3 for m in model.members)
    assert model.transforms.kinds == {"P": "log10"}  # P spans many decades


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "ensemble", "--members", "rf"], "at least two kinds"),
        (["--model", "ensemble", "--members", "rf,svm"], "unknown ensemble member 'svm'"),
        (["--model", "rf", "--members", "rf,gbm"], "--members applies to --model ensemble"),
        (["--model", "rf", "--epochs", "3"], "not trained in epochs"),
        (["--transform", "P=sqrt"], "unknown transform 'sqrt'"),
        (["--calibration", "0.7"], "calibration must be a fraction"),
    ],
)
def test_bad_model_options_are_named(tmp_path, train_csv, capsys, argv, message):
    code, _ = _fit(tmp_path, train_csv, *argv)
    assert code == 2 and message in capsys.readouterr().err


def test_epochs_reach_every_stage_of_the_transformer():
    import argparse

    from sciml.chem.cli import model_options
    from sciml.chem.models import GNNModel, TransformerModel

    args = argparse.Namespace(model="transformer", epochs=7, overrides=[])
    options = model_options(args, TransformerModel)
    assert options == {"adapt_epochs": 7, "finetune_epochs": 7}
    assert model_options(args, GNNModel) == {"epochs": 7}


def test_config_from_tune_sets_model_and_options(tmp_path, train_csv):
    config = tmp_path / "best_config.json"
    config.write_text(
        json.dumps(
            {
                "model": "rf",
                "options": {"n_estimators": 7, "n_jobs": 1},
                "transforms": "log10",
                "cv_r2": 0.5,
            }
        )
    )
    code, out = _fit(tmp_path, train_csv, "--config", str(config))
    assert code == 0
    model = load_model(out)
    assert model.config.n_estimators == 7 and model.transforms.kinds == {"P": "log10"}
    code, _ = _fit(tmp_path, train_csv, "--config", str(config), "--model", "gbm")
    assert code == 2


def test_model_help_lists_the_models_own_options(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--model", "gnn", "--help"])
    out = capsys.readouterr().out
    assert (
        "gnn options (GNNConfig" in out and "hidden = 300" in out and "--epochs sets epochs" in out
    )
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    assert "sciml fit --model NAME --help" in capsys.readouterr().out


def test_gnn_and_gnn_ensembles_predict_from_the_command_line(tmp_path, train_csv):
    code, out = _fit(
        tmp_path,
        train_csv,
        "--model",
        "ensemble",
        "--members",
        "rf,gnn",
        "--epochs",
        "1",
        "--transform",
        "log10",
    )
    assert code == 0
    preds = tmp_path / "p.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(out),
                "--input",
                str(train_csv),
                "--smiles-col",
                "SMILES",
                "--out",
                str(preds),
                "--std",
            ]
        )
        == 0
    )
    frame = pd.read_csv(preds)
    assert frame["P_pred"].notna().all() and (frame["P_std"] >= 0).all()
    # A member folder is a complete model in physical units (trained with the same log10).
    member = tmp_path / "member.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(out / "member_1"),
                "--input",
                str(train_csv),
                "--smiles-col",
                "SMILES",
                "--out",
                str(member),
            ]
        )
        == 0
    )
    alone = pd.read_csv(member)["P_pred"]
    assert (alone > 0).all() and 0.1 < np.median(alone / frame["P_pred"]) < 10


def test_kernel_model_from_the_command_line(tmp_path, train_csv, capsys):
    code, out = _fit(
        tmp_path,
        train_csv,
        "--model",
        "kernel",
        "--set",
        "descriptor_weight=0.3",
        "--threads",
        "1",
        "--transform",
        "auto",
        "--calibration",
        "0.2",
    )
    assert code == 0, capsys.readouterr().err
    model = load_model(out)
    assert model.name == "kernel" and model.config.descriptor_weight == 0.3
    assert model.config.n_jobs == 1 and model.transforms.kinds == {"P": "log10"}
    assert model.fit_info["kernel"]["P"]["alpha"] in model.config.alphas
    inp, preds = tmp_path / "q.csv", tmp_path / "p.csv"
    pd.DataFrame({"SMILES": ["CCCCO", "c1ccccc1O"]}).to_csv(inp, index=False)
    argv = ["predict", "--model", str(out), "--input", str(inp), "--smiles-col", "SMILES"]
    assert main([*argv, "--out", str(preds), "--interval", "0.9"]) == 0
    frame = pd.read_csv(preds)
    assert (frame["P_lower"] < frame["P"]).all() and (frame["P"] < frame["P_upper"]).all()
    # no spread of its own: --std is refused with a message naming the model
    assert main([*argv, "--out", str(tmp_path / "s.csv"), "--std"]) == 2
    assert "the kernel model gives no spread" in capsys.readouterr().err
