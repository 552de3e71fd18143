"""Smoke test of benchmarks/adme_domain_adaptation.py's MOSES arm set (issue 14).

Two folds of 60 Biogen molecules, a tiny encoder, one epoch per stage: checks that every
arm runs, is scored per fold with its time, and reaches the report and the statistics.
"""

import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

pytestmark = pytest.mark.usefixtures("one_thread")


def test_moses_arms_smoke(shared_data, tmp_path, monkeypatch):
    import adme_domain_adaptation as bench

    from sciml.chem.datasets import load_dataset
    from sciml.chem.transformer import pretrain

    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(bench, "FOLD_CACHE", tmp_path / "folds")
    smiles = load_dataset("biogen_adme")["smiles"].tolist()
    pretrain(
        smiles[:200],
        size="tiny",
        epochs=1,
        progress=False,
        output=tmp_path / "tiny.pt",
        vocab_smiles=smiles,
    )
    out = tmp_path / "report.md"
    argv = [
        "--arms",
        "moses",
        "--encoders",
        f"MLM-MOSES={tmp_path / 'tiny.pt'}",
        "--limit",
        "60",
        "--folds",
        "2",
        "--adapt-epochs",
        "1",
        "--finetune-epochs",
        "1",
        "--n-estimators",
        "5",
        "--output",
        str(out),
    ]
    bench.main(argv)
    scores = pd.read_csv(tmp_path / "adme_domain_adaptation_scores.csv")
    arms = {
        "MLM-MOSES",
        "MLM-MOSES + MTR-DA",
        "MLM-MOSES + MTR-DA + physchem",
        "MLM-MOSES + MTR-DA + fine-tuning",
        "ensemble: RF-physchem + MLM-MOSES + MTR-DA + physchem",
        "ensemble: RF-physchem + MLM-MOSES + MTR-DA + fine-tuning",
        "RF-physchem",
    }
    assert set(scores["method"]) == arms
    assert (scores.groupby("method")["fold"].nunique() == 2).all()
    assert (scores["seconds"] > 0).all()
    assert len(bench._AdaptedOnce.cache) == 2  # one adaptation per fold, shared by 3 arms
    per_arm = scores.groupby("method")["seconds"].mean()
    assert per_arm["MLM-MOSES + MTR-DA + physchem"] > per_arm["MLM-MOSES"]  # DA time counted
    report = out.read_text()
    assert "**Time per arm (random split)**" in report
    assert "| MLM-MOSES + MTR-DA | MLM-MOSES |" in report  # the DA claim's corrected t-test
    assert "RM-ANOVA and Tukey HSD" in report
    goals = report[report.index("## Issue 14's goals") : report.index("## Mean R²")]
    assert (
        "| DA gain (MLM-MOSES + MTR-DA vs MLM-MOSES) significant on >= 4 of 6 | random |" in goals
    )
    assert "| best transformer arm, mean R² >= 0.4 | random |" in goals

    # Each finished fold is kept: a rerun (or a killed run's restart) trains nothing again.
    assert len(list((tmp_path / "folds").glob("moses-random-fold*.csv"))) == 2
    bench.main(argv)
    assert len(bench._AdaptedOnce.cache) == 0
    again = pd.read_csv(tmp_path / "adme_domain_adaptation_scores.csv")
    pd.testing.assert_frame_equal(
        again.sort_values(["method", "endpoint", "fold"]).reset_index(drop=True),
        scores.sort_values(["method", "endpoint", "fold"]).reset_index(drop=True),
    )
    # Another split merges in next to this one instead of replacing its rows.
    bench.main([*argv, "--split", "scaffold"])
    merged = pd.read_csv(tmp_path / "adme_domain_adaptation_scores.csv")
    assert set(merged["split"]) == {"random", "scaffold"}
    assert len(merged[merged["split"] == "random"]) == len(scores)
    assert "`--arms moses --split scaffold`" in out.read_text()


def test_encoders_argument_is_checked(tmp_path):
    import adme_domain_adaptation as bench

    with pytest.raises(SystemExit, match="is not LABEL=CHECKPOINT"):
        bench._encoders("just-a-path.pt")
    with pytest.raises(SystemExit, match="MLM-X: no checkpoint at"):
        bench._encoders(f"MLM-X={tmp_path / 'missing.pt'}")
