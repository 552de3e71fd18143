"""benchmarks/tune_pays.py (issue 27 item 5): its collapse count and its report, on stored units."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def test_unsplittable_counts_trials_whose_leaves_exceed_a_fold():
    import tune_pays as bench

    # 30 molecules, all labelled: 3 tuning folds train on 20; a split needs 2 * leaf size.
    labels = np.ones((30, 2), dtype=bool)
    trials = pd.DataFrame({"min_child_samples": [5, 10, 11, 30]})
    assert bench._unsplittable(trials, labels, 3) == 2
    # The sparsest endpoint decides: 9 labels, so at most 6-7 in a fold's training part.
    labels[9:, 1] = False
    assert bench._unsplittable(trials, labels, 3) == 4
    assert bench._unsplittable(pd.DataFrame({"x": [1]}), labels, 3) == 0


def test_report_compares_default_and_tuned_per_fold(tmp_path, monkeypatch):
    import tune_pays as bench

    monkeypatch.setattr(bench, "CACHE", tmp_path)
    r2 = dict.fromkeys(bench.ENDPOINTS, 0.40)
    tuned_r2 = {**r2, "HLM": 0.46}
    (tmp_path / "full_0_default.json").write_text(json.dumps({"r2": r2, "cpu_s": 20.0}))
    tuned = {
        "r2": tuned_r2,
        "cpu_s": 200.0,
        "wall_s": 300.0,
        "cv_default": 0.30,
        "cv_best": 0.33,
        "trials": 8,
        "searched": {"features": "rich", "num_leaves": 12},
    }
    (tmp_path / "full_0_scaled_t8.json").write_text(json.dumps(tuned))
    text = bench.report("python benchmarks/tune_pays.py", {"small": 12, "full": 8, "stack": 4})
    assert "| 0 | 0.400 | 0.410 | 0.010 | 0.300 | 0.330 | features=rich, num_leaves=12 |" in text
    assert "| HLM | 0.400 | 0.460 | 0.060 |" in text
    assert "Total CPU seconds of the stored units: 220." in text
    assert "| command | `python benchmarks/tune_pays.py` |" in text
