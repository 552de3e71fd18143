"""Boosted trees, tree ensembles and conformal intervals on the Biogen Fang split.

For each of the six endpoints, on the authors' own train/test split:

- ``RF-physchem``: the random forest of ``adme_baselines.py`` (200 trees on RDKit descriptors);
- ``GBM``: ``GBMModel`` defaults (LightGBM on Morgan count fingerprints + RDKit descriptors);
- ``GNN``: the D-MPNN settings of ``adme_study_protocol.py`` (``GNNModel(hidden=128,
  ffn_hidden=128, epochs=30)``, RDKit descriptors on), fixed before any Fang test score;
- ``RF + GBM``, ``GBM + GNN``, ``RF + GBM + GNN``: averages of the members' test predictions
  (what ``EnsembleModel`` of the same members returns; members are not refitted);
- ``GBM tuned`` (with ``--tune-trials N``): Optuna search by 3-fold CV inside the training
  split (``sciml.chem.tune``), then refitted on the whole training split;
- conformal intervals: a GBM fitted with ``calibration=0.2`` (20% of the training split held
  out for calibration) predicts 90% intervals; the table gives their coverage on the test set.

No setting was chosen on the test set: the GBM defaults are generic, the tuned arm tunes on
training folds. Regenerate with (from the repository root)::

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/adme_fang_gbm.py [--tune-trials 0]

Writes ``benchmarks/results/adme_fang_gbm.md`` and ``adme_fang_gbm.csv``. Each model's test
predictions and fit time are kept in ``benchmarks/.cache/adme_fang_gbm/`` (by endpoint, model
and settings), so a killed run resumes and a rerun refits only the tuned GBM (the search runs
again) and the GBM fitted with a calibration split.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import machine_info  # noqa: E402
from benchmarks.adme_baselines import AUTHORS_BEST as _AUTHORS  # noqa: E402
from sciml import metrics  # noqa: E402
from sciml._io import atomic_write  # noqa: E402
from sciml.chem import load_fang_split  # noqa: E402
from sciml.chem.models import GBMModel, GNNModel, RandomForestModel  # noqa: E402
from sciml.data import FANG_ENDPOINTS  # noqa: E402

RESULTS = ROOT / "results"
#: The authors' best test Pearson r per endpoint (Fang et al. 2023), as adme_baselines has
#: them, and issue 15's goals.
AUTHORS_BEST = {endpoint: r for endpoint, (r, _) in _AUTHORS.items()}
GOAL = {"HLM": 0.70, "RLM": 0.75, "MDR1_ER": 0.80, "Sol": 0.63, "hPPB": 0.81, "rPPB": 0.76}
RF = dict(n_estimators=200, max_features=1 / 3, seed=0)
GNN = dict(hidden=128, ffn_hidden=128, epochs=30, seed=0)
#: Averages of members' test predictions.
ENSEMBLES = {
    "RF + GBM": ["RF-physchem", "GBM"],
    "GBM + GNN": ["GBM", "GNN"],
    "RF + GBM + GNN": ["RF-physchem", "GBM", "GNN"],
}
LEVEL = 0.9
CACHE = ROOT / ".cache" / "adme_fang_gbm"


def _cached_fit(endpoint: str, name: str, settings: str, fit_predict) -> tuple[np.ndarray, float]:
    """``fit_predict() -> (test predictions, fit seconds)``, or its stored result."""
    import hashlib
    import json

    key = hashlib.sha256(f"{endpoint}|{name}|{settings}".encode()).hexdigest()[:12]
    path = CACHE / f"{endpoint}-{name.replace(' ', '_')}-{key}.json"
    if path.is_file():
        stored = json.loads(path.read_text())
        print(f"{endpoint} {name}: from an earlier run ({path.name})", flush=True)
        return np.asarray(stored["pred"], float), float(stored["fit_s"])
    pred, fit_s = fit_predict()
    CACHE.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        json.dump({"pred": np.asarray(pred, float).tolist(), "fit_s": fit_s}, handle)
    return pred, fit_s


def _score(y: np.ndarray, pred: np.ndarray) -> dict:
    return {
        m: float(getattr(metrics, m)(y, pred, reduce="mean"))
        for m in ("pearson", "r2", "mae", "rmse")
    }


def run(args) -> pd.DataFrame:
    rows = []
    for endpoint in args.endpoints.split(","):
        train, test = load_fang_split(endpoint)
        x, y = train["smiles"].tolist(), train[[endpoint]]
        truth = test[[endpoint]].to_numpy()
        arms = {
            "RF-physchem": (lambda: RandomForestModel(**RF, n_jobs=args.threads), repr(RF)),
            "GBM": (lambda: GBMModel(n_jobs=args.threads), "defaults"),
            "GNN": (lambda: GNNModel(**GNN), repr(GNN)),
        }
        if args.tune_trials:
            from sciml.chem.tune import tune

            start = time.perf_counter()
            result = tune(
                x,
                y,
                "gbm",
                trials=args.tune_trials,
                folds=3,
                progress=False,
                fixed={"n_jobs": args.threads},
            )
            tune_s = time.perf_counter() - start
            arms["GBM tuned"] = (
                lambda r=result: GBMModel(**r.fixed, **r.best_params),
                repr((result.fixed, result.best_params)),
            )
        preds, times = {}, {}
        for name, (make, settings) in arms.items():

            def fit_predict(make=make, x=x, y=y, test=test, endpoint=endpoint):
                start = time.perf_counter()
                model = make().fit(x, y)
                fit_s = time.perf_counter() - start
                return model.predict(test["smiles"].tolist())[[endpoint]].to_numpy(), fit_s

            preds[name], times[name] = _cached_fit(endpoint, name, settings, fit_predict)
        for name, members in ENSEMBLES.items():
            preds[name] = np.mean([preds[m] for m in members], axis=0)
            times[name] = sum(times[m] for m in members)
        for name, pred in preds.items():
            extra = {"tune_s": tune_s} if name == "GBM tuned" else {}
            rows.append(
                {
                    "endpoint": endpoint,
                    "model": name,
                    "n_train": len(train),
                    "n_test": len(test),
                    "fit_s": times[name],
                    **_score(truth, pred),
                    **extra,
                }
            )
            print(rows[-1], flush=True)
        start = time.perf_counter()
        model = GBMModel(n_jobs=args.threads).fit(x, y, calibration=0.2)
        fit_s = time.perf_counter() - start
        frame = model.predict(test["smiles"].tolist(), interval=LEVEL)
        lower, upper = frame[f"{endpoint}_lower"].to_numpy(), frame[f"{endpoint}_upper"].to_numpy()
        inside = (lower <= truth[:, 0]) & (truth[:, 0] <= upper)
        rows.append(
            {
                "endpoint": endpoint,
                "model": "GBM, 20% held out to calibrate",
                "n_train": model.fit_info["n_train"],
                "n_test": len(test),
                "fit_s": fit_s,
                **_score(truth, frame[[endpoint]].to_numpy()),
                "coverage": float(inside.mean()),
                "mean_width": float(np.mean(upper - lower)),
                "n_calibration": model.fit_info["n_calibration"],
            }
        )
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def write_markdown(results: pd.DataFrame, args, total_s: float) -> str:
    point = results[~results.model.str.startswith("GBM, ")]
    wide = point.pivot(index="endpoint", columns="model", values="pearson")
    models = [
        m
        for m in [
            "RF-physchem",
            "GBM",
            "GNN",
            "RF + GBM",
            "GBM + GNN",
            "RF + GBM + GNN",
            "GBM tuned",
        ]
        if m in wide.columns
    ]
    lines = [
        "# Boosted trees, ensembles and conformal intervals on the Biogen Fang split",
        "",
        machine_info(("numpy", "scikit-learn", "lightgbm", "optuna", "rdkit")),
        "Data: `load_fang_split(endpoint)`, the authors' own 80/20 split (see "
        "`adme_baselines.md` for its duplicates). Metrics on the test split, log10 units. "
        "GBM: `GBMModel()` defaults (LightGBM 1000 rounds at learning rate 0.03, 31 leaves, "
        "30% of features per tree, on 2048-bit Morgan counts (radius 2) + 216 RDKit "
        f"descriptors). RF-physchem: `RandomForestModel({RF})`. GNN: `GNNModel({GNN})` (the "
        "study-protocol settings, D-MPNN with RDKit descriptors). Ensembles average their "
        "members' test predictions (fit time: the members' sum). No setting was chosen on the "
        "test set; the ensembles were declared before any Fang test score of the GNN was "
        "seen.",
        "",
        "## Test Pearson r",
        "",
        "| endpoint | " + " | ".join(models) + " | authors' best | goal (issue 15) |",
        "|---|" + "---|" * (len(models) + 2),
    ]
    for endpoint in wide.index:
        cells = [f"{wide.loc[endpoint, m]:.3f}" for m in models]
        lines.append(
            f"| {endpoint} | "
            + " | ".join(cells)
            + f" | {AUTHORS_BEST[endpoint]:.3f} | {GOAL[endpoint]:.2f} |"
        )
    for m in models:
        sub = wide[m]
        above = int(sum(sub[e] >= AUTHORS_BEST[e] for e in sub.index))
        goals = int(sum(sub[e] >= GOAL[e] for e in sub.index))
        lines.append(
            f"\n- **{m}**: mean r {sub.mean():.3f}; at or above the authors' best on "
            f"{above} of {len(sub)} endpoints, at or above issue 15's goal on {goals}."
        )
    cal = results[results.model.str.startswith("GBM, ")]
    lines += [
        "",
        f"## Conformal {LEVEL:.0%} intervals (split conformal, GBM)",
        "",
        "| endpoint | calibration molecules | test coverage | mean width (log10) | "
        "Pearson r of this model |",
        "|---|---|---|---|---|",
    ]
    for _, row in cal.iterrows():
        lines.append(
            f"| {row.endpoint} | {int(row.n_calibration)} | {row.coverage:.3f} | "
            f"{row.mean_width:.2f} | {row.pearson:.3f} |"
        )
    inside = ((cal.coverage >= 0.87) & (cal.coverage <= 0.93)).sum()
    lines += [
        "",
        f"Coverage within 87-93% (issue 15's goal) on {inside} of {len(cal)} test sets. "
        "A test set of n molecules has a binomial standard error of "
        "sqrt(0.09/n) on the coverage (0.012-0.023 for these sizes); the split's test "
        "molecules are not a random draw from the training distribution (a time split "
        "in part), which is what conformal guarantees assume.",
        "",
        "## Times",
        "",
        "| endpoint | model | fit (s) |",
        "|---|---|---|",
    ]
    for _, row in results.iterrows():
        extra = (
            f" (+ {row.tune_s:.0f} s tuning)"
            if "tune_s" in row and pd.notna(row.get("tune_s"))
            else ""
        )
        lines.append(f"| {row.endpoint} | {row.model} | {row.fit_s:.1f}{extra} |")
    lines += ["", f"Total wall time: {total_s / 60:.1f} min ({args.threads} thread(s)).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoints",
        default=",".join(FANG_ENDPOINTS),
        help="comma-separated Fang endpoints (default: all six)",
    )
    parser.add_argument(
        "--tune-trials",
        type=int,
        default=0,
        help="Optuna trials for the tuned GBM arm (0: no tuned arm)",
    )
    parser.add_argument("--threads", type=int, default=2, help="threads per model")
    parser.add_argument(
        "--out",
        default=str(RESULTS / "adme_fang_gbm"),
        help="results stem (writes STEM.md and STEM.csv)",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    results = run(args)
    stem = Path(args.out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(stem.with_suffix(".csv")) as handle:
        results.to_csv(handle, index=False, float_format="%.6g")
    text = write_markdown(results, args, time.perf_counter() - start)
    with atomic_write(stem.with_suffix(".md")) as handle:
        handle.write(text)
    print(text)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
