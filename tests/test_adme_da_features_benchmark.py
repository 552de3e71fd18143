"""benchmarks/adme_da_features.py: its verdict and report from stored folds (no training)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import adme_da_features as bench  # noqa: E402


def _folds(gain: dict[str, float], n_folds: int = 5) -> list[dict]:
    rng = np.random.default_rng(0)
    folds = []
    for k in range(n_folds):
        base = {e: 0.4 + 0.01 * rng.normal() for e in bench.ENDPOINTS}
        r2 = {
            "rich": base,
            "rich + MLM": {e: v - 0.01 for e, v in base.items()},
            "rich + DA": {e: v + gain.get(e, 0.0) + 0.002 * rng.normal() for e, v in base.items()},
        }
        folds.append(
            {
                "fold": k,
                "r2": r2,
                "n": {e: 500 for e in bench.ENDPOINTS},
                "precision": "fp32",
                "adapt_cpu_s": 100.0,
                "cpu_s": 150.0,
                "wall_s": 160.0,
                "trees_cpu_s": {"rich": 20.0},
                "command": "python benchmarks/adme_da_features.py",
                "git": "abc1234",
                "load_at_end": "1 / 1 / 1",
                "date": "2026-12-06 00:00 UTC",
            }
        )
    return folds


def test_goal_counts_only_significant_gains():
    gains = {"HLM": 0.05, "RLM": 0.05, "MDR1_ER": 0.05, "Sol": 0.05, "hPPB": -0.05}
    rows, verdict = bench.goal_rows(bench._table(_folds(gains)))
    better = {r["endpoint"]: r["better"] for r in rows}
    assert better == {
        "HLM": True,
        "RLM": True,
        "MDR1_ER": True,
        "Sol": True,
        "hPPB": False,
        "rPPB": False,
    }
    assert "**4 of 6**" in verdict


def test_report_says_met_only_with_all_folds():
    gains = dict.fromkeys(bench.ENDPOINTS, 0.05)
    assert "(met)" in bench.report(_folds(gains), "cmd")
    partial = bench.report(_folds(gains, n_folds=3), "cmd")
    assert "(undecided)" in partial and "3 of 5 folds run" in partial


def test_report_reads_a_loss_as_a_loss():
    text = bench.report(_folds(dict.fromkeys(bench.ENDPOINTS, -0.05)), "cmd")
    assert "**0 of 6**" in text and "(not met)" in text
    assert "the trees are better without it" in text


def test_bad_fold_numbers_are_refused():
    with pytest.raises(SystemExit):
        bench.main(["--folds", "7"])
