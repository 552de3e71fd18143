import json

import pandas as pd
from rdkit import Chem
from rdkit.Chem import Crippen

from sciml.cli import main


def test_tune_writes_a_config_and_a_trials_table(tmp_path, nci_smiles, capsys):
    rows = [
        (s, Crippen.MolLogP(m)) for s in nci_smiles[:60] if (m := Chem.MolFromSmiles(s)) is not None
    ]
    pd.DataFrame(rows, columns=["SMILES", "logp"]).to_csv(tmp_path / "train.csv", index=False)
    code = main(
        [
            "tune",
            "--train",
            str(tmp_path / "train.csv"),
            "--smiles-col",
            "SMILES",
            "--targets",
            "logp",
            "--model",
            "rf",
            "--trials",
            "2",
            "--folds",
            "2",
            "--set",
            "n_jobs=1",
            "--set",
            "descriptor_cache=false",
            "--no-progress",
            "--storage",
            f"sqlite:///{tmp_path / 'study.db'}",
            "--out",
            str(tmp_path / "t"),
        ]
    )
    assert code == 0
    config = json.loads((tmp_path / "t" / "best_config.json").read_text())
    assert config["model"] == "rf" and config["options"]["n_jobs"] == 1
    assert len(pd.read_csv(tmp_path / "t" / "trials.csv")) == 2
    assert "sciml fit --config" in capsys.readouterr().out


def test_tune_refuses_an_unwritable_output_before_searching(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(
        [
            "tune",
            "--train",
            str(tmp_path / "missing.csv"),
            "--targets",
            "y",
            "--out",
            str(blocker / "sub"),
        ]
    )
    assert code == 2
    assert "cannot write --out folder" in capsys.readouterr().err


def _logp_csv(tmp_path, nci_smiles, n=60):
    rows = [
        (s, Crippen.MolLogP(m)) for s in nci_smiles[:n] if (m := Chem.MolFromSmiles(s)) is not None
    ]
    path = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["smiles", "logp"]).to_csv(path, index=False)
    return path


def test_tune_best_writes_a_config_that_fit_reproduces(tmp_path, nci_smiles, capsys):
    from sciml.chem.models import StackedModel, load_model

    train = _logp_csv(tmp_path, nci_smiles)
    fast = []
    for label in ("gbm", "gbm_rich"):
        fast += ["--set", f"{label}.n_estimators=20", "--set", f"{label}.descriptor_cache=false"]
    argv = ["tune", "--train", str(train), "--targets", "logp", "--model", "best"]
    argv += ["--members", "gbm,gbm_rich", "--set", "threads=1", *fast]
    argv += ["--trials", "1", "--folds", "2", "--no-progress", "--out", str(tmp_path / "t")]
    assert main(argv) == 0
    config = json.loads((tmp_path / "t" / "best_config.json").read_text())
    assert config["model"] == "best"
    options = config["options"]
    assert options["members"] == ["gbm", "gbm_rich"] and options["inner_folds"] == 3
    assert options["gbm_rich"]["fingerprints"] == ["avalon", "erg", "maccs"]  # trial 0
    assert config["searched"]["gbm_rich.features"] == "rich" and config["transforms"] == "auto"
    # A flag given to fit changes the tuned configuration.
    fit = ["fit", "--train", str(train), "--targets", "logp", "--out", str(tmp_path / "m")]
    fit += ["--config", str(tmp_path / "t" / "best_config.json"), "--set", "gbm.n_estimators=25"]
    assert main(fit) == 0
    model = load_model(tmp_path / "m")
    assert isinstance(model, StackedModel) and list(model.members) == ["gbm", "gbm_rich"]
    assert model.members["gbm"].config.n_estimators == 25
    assert model.members["gbm_rich"].config.n_estimators == 20
    assert model.members["gbm_rich"].config.fingerprints == ("avalon", "erg", "maccs")
    assert model.config.threads == 1 and model.members["gbm"].config.n_jobs == 1


def test_members_applies_to_best_only(tmp_path, nci_smiles, capsys):
    train = _logp_csv(tmp_path, nci_smiles)
    argv = ["tune", "--train", str(train), "--targets", "logp", "--model", "gbm"]
    argv += ["--members", "gbm,gnn", "--out", str(tmp_path / "t")]
    assert main(argv) == 2
    assert "--members applies to --model best, not --model gbm" in capsys.readouterr().err


def test_every_tune_option_has_help():
    import argparse

    from sciml.chem.tune_cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    tune_parser = parser._subparsers._group_actions[0].choices["tune"]
    missing = [
        a.option_strings for a in tune_parser._actions if a.help in (None, "") and a.option_strings
    ]
    assert not missing
    text = tune_parser.format_help()
    assert "best" in text and "--members" in text and "LABEL.FIELD" in text
