"""Biogen ADME on the study protocol: why RF-physchem trails the study's, and the best model.

Protocol (Sultan et al., 2025, as ``adme_domain_adaptation.py`` runs it): ``biogen_adme`` with
the censored HLM/RLM values dropped, random 5-fold CV with the same folds
(``sciml.chem.splits.kfold(n, 5, seed=0)``), R² per endpoint on each test fold in log10
units, averaged over folds. Every model sees only its fold's training molecules; every
setting is chosen on data inside the training fold (out-of-bag molecules of the forests,
or inner CV folds for the tuned GBM), never on the test fold.

Parts (``--parts``, all by default); each writes its out-of-fold predictions into
``adme_study_protocol_oof.csv.gz`` (merged with those of earlier parts), and the report
(ensembles included) is rebuilt from that file:

- ``rf``: random forests on sciml's RDKit descriptors (216, all of ``Descriptors.descList``
  but ``Ipc``; the study's are the same list) with the settings of sciml's study run
  (100 trees, ``max_features=1/3``, seed 0) and of the study's own RF
  (``RandomForestRegressor(random_state=42)``: 100 trees, ``max_features=1.0``), plus a
  settings grid on the two small PPB endpoints. ``RF-physchem, OOB choice`` picks, per fold
  and endpoint, the setting with the best out-of-bag R² on the training fold.
- ``gbm``: ``GBMModel`` defaults; ``gnn``: the multi-task D-MPNN of
  ``adme_domain_adaptation.py --arms gnn`` (width 128, 30 epochs);
- ``tuned``: GBM tuned per outer fold by ``sciml.chem.tune.tune`` (``--tune-trials`` trials,
  ``--tune-folds`` inner folds of the training fold, 300 rounds; 3 trials and 2 folds by
  default, which is what a loaded 2-core machine affords: a random search of 3 points);
- ``tuned-full``: the same search at the GBM's default 1000 rounds. Since the ``tuned`` run
  (commit 317aef6) scored below the untuned defaults, ``sciml.chem.tune`` starts every new
  study with the model's defaults as its first trial; ``tuned-full`` ran after that change.

Regenerate (from the repository root, about 45 min on a loaded 2-core CPU)::

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/adme_study_protocol.py

``--report-only`` rebuilds the markdown from the stored predictions in seconds.
Writes ``benchmarks/results/adme_study_protocol.md``, ``adme_study_protocol_oof.csv.gz`` and
``adme_study_protocol_runs.csv`` (seconds and chosen settings per fold).
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

from benchmarks._machine import command_line, git_commit, load_average, machine_info  # noqa: E402

RESULTS = ROOT / "results"
STEM = "adme_study_protocol"
ENDPOINTS = ["HLM", "RLM", "MDR1_ER", "Sol", "hPPB", "rPPB"]
PPB = ["hPPB", "rPPB"]
FOLDS = 5
#: The study's mean R² over random folds (Sultan et al., 2025; adme_domain_adaptation.py).
STUDY_RF = {"HLM": 0.252, "RLM": 0.339, "MDR1_ER": 0.49, "Sol": 0.312, "hPPB": 0.494, "rPPB": 0.434}
#: Issue 15's goals on this protocol.
GOAL_PPB = {"hPPB": 0.49, "rPPB": 0.43}
GOAL_BEST = 0.45

#: Forest settings: (trees, max_features, min_samples_leaf, seed). The first two are run on
#: every endpoint, the rest on hPPB and rPPB only (a few seconds each there).
RF_SETTINGS = {
    "sciml study run": (100, 1 / 3, 1, 0),
    "study's RF": (100, 1.0, 1, 42),
    "500 trees, 1/3": (500, 1 / 3, 1, 0),
    "500 trees, 0.5": (500, 0.5, 1, 0),
    "500 trees, 1.0": (500, 1.0, 1, 0),
    "500 trees, 1.0, leaf 3": (500, 1.0, 3, 0),
    "500 trees, 0.2": (500, 0.2, 1, 0),
}
ALL_ENDPOINT_SETTINGS = ("sciml study run", "study's RF")
#: The method each part adds (the forests' part adds several).
TUNING_NOTE = (
    "Tuning record: the first tuned run (`--parts tuned`, 3 trials of 300 rounds drawn by TPE's "
    "random start, 2 inner folds) scored below the untuned `GBMModel` defaults (1000 rounds at "
    "learning rate 0.03): 300 rounds and three random points are too little search. After "
    "seeing that, `sciml.chem.tune` was changed to evaluate the model's defaults as the first "
    "trial of every new study, and `--parts tuned-full` searched at the default 1000 rounds; "
    "both rows are kept above."
)

PART_METHODS = {
    "rf": "RF-physchem, OOB choice",
    "gbm": "GBM",
    "gnn": "GNN",
    "tuned": "GBM tuned",
    "tuned-full": "GBM tuned, 1000 rounds",
}
#: Averages of out-of-fold predictions reported as ensembles (when their members ran).
ENSEMBLES = {
    "RF-physchem (study run) + GNN": ["RF: sciml study run", "GNN"],
    "RF-physchem, OOB choice + GBM": ["RF-physchem, OOB choice", "GBM"],
    "RF-physchem, OOB choice + GNN": ["RF-physchem, OOB choice", "GNN"],
    "GBM + GNN": ["GBM", "GNN"],
    "RF-physchem, OOB choice + GBM + GNN": ["RF-physchem, OOB choice", "GBM", "GNN"],
    "RF-physchem, OOB choice + GBM tuned + GNN": ["RF-physchem, OOB choice", "GBM tuned", "GNN"],
}


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _data() -> tuple[pd.DataFrame, list]:
    from sciml.chem.datasets import load_dataset
    from sciml.chem.splits import kfold

    data = load_dataset("biogen_adme", drop_censored=True).reset_index(drop=True)
    return data, kfold(len(data), FOLDS, seed=0)


def _fold_of(folds: list, n: int) -> np.ndarray:
    fold = np.full(n, -1)
    for k, (_, test) in enumerate(folds):
        fold[test] = k
    return fold


def run_rf(data: pd.DataFrame, folds: list, threads: int) -> tuple[pd.DataFrame, list[dict]]:
    """Forests of every setting; out-of-fold predictions and OOB R² per fold and endpoint."""
    from sklearn.ensemble import RandomForestRegressor

    from sciml.chem.models.rf import physchem_features, training_medians
    from sciml.metrics import r2

    x = physchem_features(data["smiles"].tolist(), n_jobs=threads)
    oof = pd.DataFrame(index=data.index)
    runs = []
    for name in RF_SETTINGS:
        for e in ENDPOINTS:
            oof[f"RF: {name}|{e}"] = np.nan
    for e in ENDPOINTS:
        oof[f"RF-physchem, OOB choice|{e}"] = np.nan
    for k, (train, test) in enumerate(folds):
        medians = training_medians(x[train])
        x_train = np.where(np.isnan(x[train]), medians, x[train])
        x_test = np.where(np.isnan(x[test]), medians, x[test])
        for e in ENDPOINTS:
            y = data[e].to_numpy()
            rows = train[~np.isnan(y[train])]
            keep = ~np.isnan(y[train])
            best, best_oob = None, -np.inf
            for name, (trees, features, leaf, seed) in RF_SETTINGS.items():
                if e not in PPB and name not in ALL_ENDPOINT_SETTINGS:
                    continue
                start = time.perf_counter()
                forest = RandomForestRegressor(
                    n_estimators=trees,
                    max_features=features,
                    min_samples_leaf=leaf,
                    random_state=seed,
                    n_jobs=threads,
                    oob_score=True,
                )
                forest.fit(x_train[keep], y[rows])
                pred = forest.predict(x_test)
                seconds = time.perf_counter() - start
                oob = float(r2(y[rows], forest.oob_prediction_, reduce="mean"))
                oof.loc[test, f"RF: {name}|{e}"] = pred
                runs.append(
                    {
                        "method": f"RF: {name}",
                        "fold": k,
                        "endpoint": e,
                        "seconds": seconds,
                        "oob_r2": oob,
                    }
                )
                if oob > best_oob:  # out-of-bag molecules of the training fold only
                    best, best_oob = name, oob
            oof.loc[test, f"RF-physchem, OOB choice|{e}"] = oof.loc[test, f"RF: {best}|{e}"]
            runs.append(
                {
                    "method": "RF-physchem, OOB choice",
                    "fold": k,
                    "endpoint": e,
                    "seconds": 0.0,
                    "oob_r2": best_oob,
                    "chosen": best,
                }
            )
            _log(f"fold {k} {e}: OOB choice {best!r} (OOB R2 {best_oob:.3f})")
    return oof, runs


def run_model(
    name: str,
    make,
    data: pd.DataFrame,
    folds: list,
    tune_trials: int = 0,
    tune_folds: int = 2,
    rounds: int | None = 300,
) -> tuple[pd.DataFrame, list[dict]]:
    """Out-of-fold predictions of one multi-endpoint model (optionally tuned per fold)."""
    smiles = data["smiles"].tolist()
    oof = pd.DataFrame(np.nan, index=data.index, columns=[f"{name}|{e}" for e in ENDPOINTS])
    runs = []
    for k, (train, test) in enumerate(folds):
        train_smiles, y_train = [smiles[i] for i in train], data.iloc[train][ENDPOINTS]
        start = time.perf_counter()
        note = {}
        if tune_trials:
            from sciml.chem.tune import tune

            result = tune(
                train_smiles,
                y_train,
                "gbm",
                trials=tune_trials,
                folds=tune_folds,
                seed=0,
                fixed={"n_jobs": 1, **({"n_estimators": rounds} if rounds else {})},
                progress=False,
            )
            note = {
                "chosen": str(result.best_params),
                "inner_cv_r2": result.best_score,
                "tune_seconds": time.perf_counter() - start,
            }
            model = make(**result.fixed, **result.best_params)
        else:
            model = make()
        model.fit(train_smiles, y_train)
        pred = model.predict([smiles[i] for i in test])[ENDPOINTS].to_numpy()
        oof.loc[test, [f"{name}|{e}" for e in ENDPOINTS]] = pred
        seconds = time.perf_counter() - start
        runs.append({"method": name, "fold": k, "endpoint": "all", "seconds": seconds, **note})
        _log(f"fold {k} {name}: {seconds:.0f} s {note}")
    return oof, runs


def fold_scores(data: pd.DataFrame, folds: list, oof: pd.DataFrame) -> pd.DataFrame:
    """R² per method, fold and endpoint; ensembles averaged from their members' predictions."""
    from sciml.metrics import r2

    methods = list(dict.fromkeys(c.split("|")[0] for c in oof.columns))
    preds = {m: oof[[f"{m}|{e}" for e in ENDPOINTS]].to_numpy() for m in methods}
    for name, members in ENSEMBLES.items():
        if all(m in preds for m in members):
            preds[name] = np.mean([preds[m] for m in members], axis=0)
    truth = data[ENDPOINTS].to_numpy()
    rows = []
    for name, pred in preds.items():
        for k, (_, test) in enumerate(folds):
            scores = r2(truth[test], pred[test])
            rows += [
                {"method": name, "fold": k, "endpoint": e, "r2": float(s)}
                for e, s in zip(ENDPOINTS, scores, strict=True)
            ]
    return pd.DataFrame(rows)


def _table(mean: pd.DataFrame, methods: list[str], columns: list[str], mean_col: bool) -> list[str]:
    head = "| method | " + " | ".join(columns) + (" | mean |" if mean_col else " |")
    lines = [head, "|---" * (len(columns) + 1 + mean_col) + "|"]
    for m in methods:
        cells = [f"{mean.loc[m, c]:.3f}" if pd.notna(mean.loc[m, c]) else "-" for c in columns]
        if mean_col:
            cells.append(f"**{mean.loc[m, columns].mean():.3f}**")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def report(
    data: pd.DataFrame, folds: list, oof: pd.DataFrame, runs: pd.DataFrame, command: str
) -> str:
    scores = fold_scores(data, folds, oof)
    mean = scores.groupby(["method", "endpoint"])["r2"].mean().unstack()
    spread = scores.groupby(["method", "endpoint"])["r2"].std().unstack()
    counts = data[ENDPOINTS].notna().sum()
    x_nan = None
    if (runs["method"] == "RF: sciml study run").any():
        from sciml.chem.models.rf import physchem_features

        x_nan = int(np.isnan(physchem_features(data["smiles"].tolist())).sum())
    lines = [
        "# Biogen ADME, study protocol: RF-physchem settings, boosted trees, ensembles",
        "",
        machine_info(
            ("numpy", "scikit-learn", "lightgbm", "optuna", "torch", "rdkit"), command=command
        ),
        "Protocol: `biogen_adme`, censored HLM/RLM dropped, random 5-fold CV with the folds of "
        "`adme_domain_adaptation.py` (`kfold(n, 5, seed=0)`); R² per endpoint and test fold "
        "(log10 units), mean over folds. Labelled molecules per endpoint: "
        + ", ".join(f"{e} {counts[e]}" for e in ENDPOINTS)
        + " (a PPB test fold holds about "
        f"{counts['hPPB'] // FOLDS} / {counts['rPPB'] // FOLDS} molecules). No setting was "
        "chosen on a test fold: the forests' choice uses their out-of-bag molecules of the "
        "training fold, the tuned GBM inner folds of the training fold.",
        "",
    ]
    if "RF: sciml study run" in mean.index:
        rf_rows = [m for m in mean.index if m.startswith("RF")]
        order = [f"RF: {n}" for n in RF_SETTINGS] + ["RF-physchem, OOB choice"]
        rf_rows = [m for m in order if m in rf_rows]
        lines += [
            "## 1. RF-physchem on hPPB and rPPB: why sciml's trailed the study's",
            "",
            "The study's RF-physchem (code of Sultan et al., `uds-lsv/domain-adaptation-"
            "molecular-transformers`: `comparison/embed.py`, `da4mt/utils.py`, "
            "`da4mt/finetune/eval_cv.py`) is `RandomForestRegressor(random_state=42, "
            "n_jobs=-1)`, i.e. 100 trees with **`max_features=1.0`** (every descriptor tried "
            "at every split: bagged trees), on RDKit's `descList` without `Ipc` (the same 216 "
            "descriptors as sciml), z-scored, undefined values set to 0. sciml's study run "
            "used 100 trees with `max_features=1/3` and training-median imputation. The "
            "study's folds are its own (random folds of each endpoint's data set, drawn by "
            "`useful_rdkit_utils.cross_validate`), not these.",
            "",
            f"- **Imputation**: undefined descriptor values in this data set: {x_nan} "
            "(none to impute; the imputation rule cannot matter here).",
            "- **Descriptor set**: identical list (`descList` without `Ipc`); z-scoring does not "
            "change a forest.",
            "- **Forest settings** (mean R² over the 5 test folds; ± is the std over folds):",
            "",
        ]
        cols = ENDPOINTS
        lines += ["| forest | " + " | ".join(cols) + " | mean (6) |", "|---" * 8 + "|"]
        for m in rf_rows:
            cells = []
            for c in cols:
                v = mean.loc[m, c]
                cells.append("-" if pd.isna(v) else f"{v:.3f} ± {spread.loc[m, c]:.2f}")
            full = mean.loc[m, cols]
            cells.append(f"**{full.mean():.3f}**" if full.notna().all() else "-")
            lines.append(f"| {m.removeprefix('RF: ')} | " + " | ".join(cells) + " |")
        lines.append(
            "| study's RF-physchem (its folds) | "
            + " | ".join(f"{STUDY_RF[c]:.3f}" for c in cols)
            + f" | {np.mean(list(STUDY_RF.values())):.3f} |"
        )
        oob = runs[runs["method"].str.startswith("RF: ") & runs["endpoint"].isin(PPB)]
        oob_mean = oob.groupby(["method", "endpoint"])["oob_r2"].mean().unstack()
        lines += [
            "",
            "Out-of-bag R² on the training folds (what the choice sees; mean over folds):",
            "",
            "| forest | hPPB | rPPB |",
            "|---|---|---|",
        ]
        for m in [r for r in rf_rows if r in oob_mean.index]:
            lines.append(
                f"| {m.removeprefix('RF: ')} | {oob_mean.loc[m, 'hPPB']:.3f} | "
                f"{oob_mean.loc[m, 'rPPB']:.3f} |"
            )
        chosen = runs[runs["method"] == "RF-physchem, OOB choice"]
        picks = chosen.groupby("endpoint")["chosen"].agg(lambda s: ", ".join(s))
        lines += [
            "",
            "OOB choice per endpoint (folds 0-4): "
            + "; ".join(f"{e}: {picks[e]}" for e in ENDPOINTS if e in picks)
            + ".",
            "",
        ]
        ours, theirs = mean.loc["RF: sciml study run"], mean.loc["RF: study's RF"]
        for e in PPB:
            se = spread.loc["RF: study's RF", e] / np.sqrt(FOLDS)
            lines.append(
                f"- **{e}**: sciml's study run trails the study's published {STUDY_RF[e]:.3f} by "
                f"{STUDY_RF[e] - ours[e]:.3f}; the study's forest settings on these folds "
                f"recover {theirs[e] - ours[e]:.3f} of it ({theirs[e]:.3f}). The remaining "
                f"{STUDY_RF[e] - theirs[e]:.3f} is below the standard error of a 5-fold mean "
                f"here ({se:.3f} = fold std / sqrt 5): the study averaged other random folds of the "
                "same molecules, and that part is consistent with fold sampling alone."
            )
        lines.append("")
        goal = {e: mean.loc["RF-physchem, OOB choice", e] for e in PPB}
        lines.append(
            "Goal (issue 15) RF-physchem hPPB >= 0.49 / rPPB >= 0.43: OOB-chosen "
            f"forest {goal['hPPB']:.3f} / {goal['rPPB']:.3f} "
            f"({'met' if all(goal[e] >= GOAL_PPB[e] for e in PPB) else 'not met'})."
        )
        lines.append("")
    models = [
        m
        for m in mean.index
        if not m.startswith("RF: ") or m.removeprefix("RF: ") in ALL_ENDPOINT_SETTINGS
    ]
    models = sorted(models, key=lambda m: -mean.loc[m, ENDPOINTS].mean())
    lines += ["## 2. Every arm, mean R² over the 5 test folds", ""]
    lines += _table(mean, models, ENDPOINTS, True)
    lines += [
        "| study's RF-physchem (its own folds; its best row on 5 of 6 endpoints) | "
        + " | ".join(f"{STUDY_RF[e]:.3f}" for e in ENDPOINTS)
        + f" | {np.mean(list(STUDY_RF.values())):.3f} |",
        "",
    ]
    best = models[0]
    lines.append(
        f"Best arm: **{best}**, mean R² {mean.loc[best, ENDPOINTS].mean():.3f} "
        f"(issue 15's goal {GOAL_BEST}: "
        f"{'met' if mean.loc[best, ENDPOINTS].mean() >= GOAL_BEST else 'not met'}; "
        "the previous best, RF + GNN, 0.429 in `adme_domain_adaptation.md`). Ensembles "
        "average their members' out-of-fold predictions, which come from models fitted "
        "on the same training folds. The ensembles were declared before any was scored "
        "(`ENSEMBLES` in the script), but naming the best row picks it on the test "
        "folds: a margin over the runner-up of "
        f"{mean.loc[best, ENDPOINTS].mean() - mean.loc[models[1], ENDPOINTS].mean():.3f}"
        f" ({models[1]}) is no evidence that one is better."
    )
    missing = [part for part, method in PART_METHODS.items() if method not in mean.index]
    if missing:
        lines += [
            "",
            f"Parts not run for this file: {', '.join(missing)} (so the ensembles "
            "with their models are absent too).",
        ]
    lines += [
        "",
        "## Times (seconds per fold: fit + test prediction; tuning included)",
        "",
        "| arm | endpoints | mean s per fold | folds |",
        "|---|---|---|---|",
    ]
    timed = runs.copy()
    # The OOB choice costs every candidate forest of its fold.
    choice = timed["method"] == "RF-physchem, OOB choice"
    forests = timed[timed["method"].str.startswith("RF: ")].groupby("fold")["seconds"].sum()
    timed.loc[choice, "seconds"] = 0.0
    first = timed[choice].drop_duplicates("fold").index
    timed.loc[first, "seconds"] = timed.loc[first, "fold"].map(forests).to_numpy()
    for m, group in timed.groupby("method", sort=False):
        per_fold = group.groupby("fold")["seconds"].sum()
        n_endpoints = group["endpoint"].nunique() if "all" not in set(group["endpoint"]) else 6
        lines.append(f"| {m} | {n_endpoints} | {per_fold.mean():.1f} | {len(per_fold)} |")
    tuned_methods = [PART_METHODS["tuned"], PART_METHODS["tuned-full"]]
    for method in tuned_methods:
        tuned = runs[runs["method"] == method]
        if len(tuned):
            lines += ["", f"{method}: settings chosen per fold (inner-CV R²):", ""]
            lines += [
                f"- fold {int(r.fold)}: {r.chosen} (inner R² {r.inner_cv_r2:.3f}, "
                f"{r.tune_seconds:.0f} s tuning)"
                for r in tuned.itertuples()
            ]
    if runs["method"].isin(tuned_methods).any():
        lines += ["", TUNING_NOTE]
    lines += [
        "",
        "## Runs that produced these predictions",
        "",
        "| command | git commit | finished | load average at the end |",
        "|---|---|---|---|",
    ]
    for (cmd, git, date, load), _ in runs.groupby(
        ["command", "git", "date", "load_at_end"], sort=False
    ):
        lines.append(f"| `{cmd}` | {git} | {date} | {load} |")
    lines += [
        "",
        "Times are wall seconds on a 2-core machine shared with other jobs (see the "
        "load average above), one thread per model, so they are upper bounds.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts",
        default="rf,gbm,gnn,tuned",
        help="comma-separated parts to run: rf, gbm, gnn, tuned (300 rounds), "
        "tuned-full (the default 1000 rounds)",
    )
    parser.add_argument(
        "--tune-trials", type=int, default=3, help="Optuna trials per outer fold for the tuned GBM"
    )
    parser.add_argument(
        "--tune-folds",
        type=int,
        default=2,
        help="inner CV folds of each outer training fold for the tuned GBM",
    )
    parser.add_argument("--gnn-epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild the markdown from the stored predictions",
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    oof_path = RESULTS / f"{STEM}_oof.csv.gz"
    runs_path = RESULTS / f"{STEM}_runs.csv"
    data, folds = _data()
    oof = pd.read_csv(oof_path) if oof_path.exists() else pd.DataFrame(index=data.index)
    runs = pd.read_csv(runs_path) if runs_path.exists() else pd.DataFrame()
    if not args.report_only:
        from sciml.chem.models import GBMModel, GNNModel

        parts = [p.strip() for p in args.parts.split(",") if p.strip()]
        jobs = {
            "gbm": lambda: run_model("GBM", lambda: GBMModel(n_jobs=args.threads), data, folds),
            "gnn": lambda: run_model(
                "GNN",
                lambda: GNNModel(hidden=128, ffn_hidden=128, epochs=args.gnn_epochs, seed=0),
                data,
                folds,
            ),
            "tuned": lambda: run_model(
                "GBM tuned",
                GBMModel,
                data,
                folds,
                tune_trials=args.tune_trials,
                tune_folds=args.tune_folds,
            ),
            "tuned-full": lambda: run_model(
                "GBM tuned, 1000 rounds",
                GBMModel,
                data,
                folds,
                tune_trials=args.tune_trials,
                tune_folds=args.tune_folds,
                rounds=None,
            ),
            "rf": lambda: run_rf(data, folds, args.threads),
        }
        unknown = sorted(set(parts) - set(jobs))
        if unknown:
            raise SystemExit(f"unknown part(s) {unknown}; choose from {sorted(jobs)}")
        for part in parts:
            new_oof, new_runs = jobs[part]()
            new_runs = pd.DataFrame(new_runs).assign(
                command=command_line(),
                git=git_commit(),
                load_at_end=load_average(),
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            )
            # Read again before merging: parts may run in parallel processes.
            oof = pd.read_csv(oof_path) if oof_path.exists() else pd.DataFrame(index=data.index)
            runs = pd.read_csv(runs_path) if runs_path.exists() else pd.DataFrame()
            oof = pd.concat([oof.drop(columns=[c for c in new_oof if c in oof]), new_oof], axis=1)
            if len(runs):
                runs = runs[~runs["method"].isin(set(new_runs["method"]))]
            runs = pd.concat([runs, new_runs], ignore_index=True)
            oof.to_csv(oof_path, index=False, float_format="%.5g")
            runs.to_csv(runs_path, index=False, float_format="%.5g")
    command = (
        "python benchmarks/adme_study_protocol.py --report-only "
        f"(predictions from the runs in {runs_path.name})"
        if args.report_only
        else command_line()
    )
    text = report(data, folds, oof, runs, command)
    (RESULTS / f"{STEM}.md").write_text(text)
    print(text)
    _log(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
