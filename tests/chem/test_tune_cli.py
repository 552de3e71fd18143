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
