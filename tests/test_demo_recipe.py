"""benchmarks/demo_recipe.py: the rule that picks the demo's adaptation recipe (no training)."""

import argparse
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def _frame(scores: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """One validation fold: candidate -> (mean R² on every endpoint, seconds)."""
    targets = ["HLM", "RLM"]
    rows = [
        {
            "candidate": c,
            "fold": 0,
            "n_fit": 100,
            "seconds": sec,
            "load": "0 / 0 / 0",
            **{t: r2 for t in targets},
            "mean": r2,
        }
        for c, (r2, sec) in scores.items()
    ]
    return pd.DataFrame(rows), targets


def test_best_candidate_within_the_time_budget_is_chosen():
    import demo_recipe

    frame, targets = _frame(
        {
            "RF-physchem": (0.35, 30.0),
            "toy, 30 epochs, fp32": (0.18, 85.0),  # 76 s in the demo by definition
            "small, 10 epochs, bf16": (0.26, 200.0),  # 76 * 230 / 115 = 152 s: fits
            "small, 20 epochs, bf16": (0.32, 300.0),  # 76 * 330 / 115 = 218 s: over 196 s
        }
    )
    args = argparse.Namespace(folds=1, threads=1, budget_seconds=196.0)
    text = demo_recipe.report(frame, targets, 200, args)
    assert "**Chosen: small, 10 epochs, bf16** (mean validation R² 0.260" in text
    assert "| small, 20 epochs, bf16 | 0.320 | 0.320 | **0.320** | 300 | 218 | no |" in text
    assert "| toy, 30 epochs, fp32 | 0.180 | 0.180 | **0.180** | 85 | 76 | yes |" in text

    tight = argparse.Namespace(folds=1, threads=1, budget_seconds=50.0)
    assert "**No transformer candidate fits the budget**" in demo_recipe.report(
        frame, targets, 200, tight
    )


def test_unknown_candidates_are_refused_before_any_training(tmp_path):
    import demo_recipe

    with pytest.raises(SystemExit, match=r"unknown candidate\(s\) \['tiny, 3 epochs'\]"):
        demo_recipe.main(["--candidates", "tiny, 3 epochs", "--output", str(tmp_path / "r.md")])
