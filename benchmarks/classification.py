"""Binary endpoints: sciml's models against chemprop v2's classification mode, same splits.

Issue 26's benchmark. For each MoleculeNet classification set every model is trained on the
same training part, picks its best epoch / round on the same validation part and is scored
on the same test part:

- Tox21 (12 sparse assays): random 80/10/10, split seeds 0, 1, 2, mean AUROC over assays;
- HIV: the deterministic largest-first Bemis-Murcko scaffold split 80/10/10 of DeepChem
  and the Open Graph Benchmark (ogbg-molhiv), AUROC and AUPRC;
- ClinTox and BACE: chemprop's balanced scaffold split 80/10/10, split seeds 0, 1, 2 (the
  largest-first split leaves only inactive molecules in BACE's test part, where AUROC is
  undefined).

Models: ``rf`` (random forest on RDKit descriptors), ``gbm`` (LightGBM on Morgan counts +
descriptors, early stopping on validation), ``gnn`` (sciml's D-MPNN with chemprop's default
sizes, no descriptors, multi-task), ``gbm+gnn`` (mean of the two probabilities) and
``chemprop`` (``chemprop train --task-type classification`` with the same epochs, batch size,
sizes and the same train/validation rows). Settings are fixed before any test score is
seen; nothing is tuned.

Calibration: each sciml model is then calibrated on the validation part
(:meth:`MoleculeModel.calibrate`: isotonic on one half, conformal scores on the other) and
its test-set ECE and the coverage of its 90% conformal prediction sets are reported per
task (tasks with at least 100 test labels).

Two side studies: the mixed model (one GNN on Tox21's 12 assays plus ESOL's solubility,
disjoint molecules, against a GNN on each alone, same epochs, split seed 0) and the speed of
binary against regression fits of rf and gbm on the same molecules (BACE's labels fitted as
``--task Class=binary`` and as ``regression``, three interleaved repeats, CPU seconds).

Every finished (set, split, model) keeps its test predictions in
``benchmarks/.cache/classification/`` so a killed run resumes and ``--report-only``
rebuilds the report without training. Budgets are epochs and rounds, never wall time.

Run from the repository root::

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/classification.py [--report-only]

Writes ``benchmarks/results/classification.md``, ``classification.csv`` and
``classification.json`` (the headline numbers, by set and model).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import command_line, machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402
from sciml.chem.datasets import load_dataset  # noqa: E402
from sciml.chem.models import GBMModel, GNNModel, RandomForestModel  # noqa: E402
from sciml.chem.smiles import canonicalize_batch  # noqa: E402
from sciml.chem.splits import random_split, scaffold_split  # noqa: E402
from sciml.metrics import auprc, auroc, ece  # noqa: E402
from sciml.train import BinaryTask  # noqa: E402

RESULTS = ROOT / "results"
CACHE = ROOT / ".cache" / "classification"
CHEMPROP_BIN = ROOT.parent / ".venv-chemprop" / "bin"
SETS = {"tox21": "random", "hiv": "scaffold-ogb", "clintox": "scaffold", "bace": "scaffold"}
SEEDS = {"random": (0, 1, 2), "scaffold-ogb": (0,), "scaffold": (0, 1, 2)}
MODELS = ("rf", "gbm", "gnn", "chemprop")
LEVEL = 0.9
#: OGB paper (Hu et al. 2020), GIN-virtual on ogbg-molhiv, test ROC-AUC.
OGB_GIN_VIRTUAL_HIV = 0.771


def _cpu() -> float:
    """CPU seconds of this process and its finished children (user + system)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def load_set(name: str) -> tuple[list[str], pd.DataFrame, int]:
    """Canonical valid SMILES, their labels, and how many rows RDKit could not read."""
    frame = load_dataset(name)
    batch = canonicalize_batch(frame["smiles"].tolist(), errors="skip")
    labels = frame[list(frame.attrs["targets"])].iloc[batch.index].reset_index(drop=True)
    return list(batch.values), labels, len(batch.invalid)


def split_rows(name: str, smiles: list[str], seed: int) -> tuple[np.ndarray, ...]:
    if SETS[name] == "random":
        return random_split(len(smiles), (0.8, 0.1, 0.1), seed=seed)
    return scaffold_split(
        smiles, (0.8, 0.1, 0.1), seed=seed, largest_first=SETS[name] == "scaffold-ogb"
    )


def _sciml_model(kind: str, args):
    if kind == "rf":
        return RandomForestModel(n_jobs=args.threads)
    if kind == "gbm":
        return GBMModel(n_jobs=args.threads)
    return GNNModel(
        epochs=args.epochs,
        batch_size=args.batch_size,
        hidden=300,
        ffn_hidden=300,
        depth=3,
        descriptors=False,
        val_fraction=0.0,
        seed=0,
    )


def run_sciml(kind: str, smiles, labels, parts, args) -> dict:
    train, val, test = parts

    def pick(rows):
        return [smiles[i] for i in rows]

    model = _sciml_model(kind, args)
    tasks = {t: "binary" for t in labels.columns}
    start_cpu, start = _cpu(), time.perf_counter()
    model.fit(pick(train), labels.iloc[train], pick(val), labels.iloc[val], tasks=tasks)
    fit_cpu, fit_wall = _cpu() - start_cpu, time.perf_counter() - start
    raw = _probs(model, pick(test), labels.columns)
    model.calibrate(pick(val), labels.iloc[val])
    pred = model.predict(pick(test), interval=LEVEL)
    calibrated = pred[[f"{t}_prob" for t in labels.columns]].to_numpy(dtype=float)
    sets = pred[[f"{t}_set" for t in labels.columns]].astype(str).to_numpy()
    return {
        "prob": raw.tolist(),
        "prob_calibrated": calibrated.tolist(),
        "sets": sets.tolist(),
        "fit_cpu_s": fit_cpu,
        "fit_wall_s": fit_wall,
    }


def _probs(model, smiles, columns) -> np.ndarray:
    return model.predict(smiles)[[f"{t}_prob" for t in columns]].to_numpy(dtype=float)


def run_chemprop(smiles, labels, parts, args) -> dict:
    train, val, test = parts
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = labels.iloc[np.r_[train, val]].copy()
        data.insert(0, "smiles", [smiles[i] for i in np.r_[train, val]])
        data["split"] = ["train"] * len(train) + ["val"] * len(val)
        data.to_csv(work / "data.csv", index=False)
        pd.DataFrame({"smiles": [smiles[i] for i in test]}).to_csv(work / "test.csv", index=False)
        start_cpu, start = _cpu(), time.perf_counter()
        _run(
            [
                str(CHEMPROP_BIN / "chemprop"),
                "train",
                "--data-path",
                str(work / "data.csv"),
                "-s",
                "smiles",
                "--target-columns",
                *labels.columns,
                "--splits-column",
                "split",
                "--task-type",
                "classification",
                "--output-dir",
                str(work / "model"),
                "--epochs",
                str(args.epochs),
                "--batch-size",
                str(args.batch_size),
                "--message-hidden-dim",
                "300",
                "--ffn-hidden-dim",
                "300",
                "--depth",
                "3",
                "--num-workers",
                "0",
                "--accelerator",
                "cpu",
                "--devices",
                "1",
                "--data-seed",
                "0",
                "--pytorch-seed",
                "0",
            ]
        )
        fit_cpu, fit_wall = _cpu() - start_cpu, time.perf_counter() - start
        model = next((work / "model").rglob("best*.pt"))
        _run(
            [
                str(CHEMPROP_BIN / "chemprop"),
                "predict",
                "--test-path",
                str(work / "test.csv"),
                "-s",
                "smiles",
                "--model-paths",
                str(model),
                "--preds-path",
                str(work / "preds.csv"),
                "--num-workers",
                "0",
                "--accelerator",
                "cpu",
                "--devices",
                "1",
            ]
        )
        preds = pd.read_csv(work / "preds.csv")
    return {
        "prob": preds[list(labels.columns)].to_numpy(dtype=float).tolist(),
        "fit_cpu_s": fit_cpu,
        "fit_wall_s": fit_wall,
    }


def _run(argv: list[str]) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed:\n{done.stderr[-3000:]}")


def _cached(key: str, make) -> dict:
    path = CACHE / f"{key}.json"
    if path.is_file():
        return json.loads(path.read_text())
    result = make()
    CACHE.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as handle:
        json.dump(result, handle)
    return result


def _score_rows(name, seed, kind, result, truth: np.ndarray, columns) -> list[dict]:
    prob = np.asarray(result["prob"], dtype=float)
    rows = []
    for j, task in enumerate(columns):
        y, p = truth[:, j], prob[:, j]
        keep = ~np.isnan(y) & ~np.isnan(p)
        row = {
            "set": name,
            "seed": seed,
            "model": kind,
            "task": task,
            "n_test": int(keep.sum()),
            "n_pos": int(y[keep].sum()),
            "auroc": float(auroc(y[keep], p[keep])[0]),
            "auprc": float(auprc(y[keep], p[keep])[0]),
            "ece_raw": float(ece(y[keep], p[keep])[0]),
            "fit_cpu_s": result.get("fit_cpu_s", np.nan),
        }
        if "prob_calibrated" in result:
            pc = np.asarray(result["prob_calibrated"], dtype=float)[:, j]
            ok = keep & ~np.isnan(pc)
            row["ece_calibrated"] = float(ece(y[ok], pc[ok])[0])
            binary = BinaryTask(task)
            sets = np.asarray(result["sets"], dtype=object)[:, j]
            covered = [
                binary.classes[int(v)] in str(s).strip("{}").split(", ")
                for v, s, k in zip(y, sets, keep, strict=True)
                if k
            ]
            row["set_coverage"] = float(np.mean(covered))
            row["set_size"] = float(
                np.mean(
                    [
                        len([c for c in str(s).strip("{}").split(", ") if c])
                        for s, k in zip(sets, keep, strict=True)
                        if k
                    ]
                )
            )
        rows.append(row)
    return rows


def benchmark(args) -> pd.DataFrame:
    rows = []
    for name in args.sets:
        smiles, labels, n_bad = load_set(name)
        print(
            f"{name}: {len(smiles)} molecules ({n_bad} unreadable by RDKit left out), "
            f"{labels.shape[1]} tasks",
            flush=True,
        )
        for seed in SEEDS[SETS[name]]:
            parts = split_rows(name, smiles, seed)
            truth = labels.iloc[parts[2]].to_numpy(dtype=float)
            results = {}
            for kind in args.models:
                if kind == "chemprop" and name == "hiv" and not args.hiv_neural:
                    continue
                if kind == "gnn" and name == "hiv" and not args.hiv_neural:
                    continue
                key = f"{name}_{SETS[name]}{seed}_{kind}_e{args.epochs}"
                if args.report_only and not (CACHE / f"{key}.json").is_file():
                    continue

                def make(kind=kind, key=key, smiles=smiles, labels=labels, parts=parts):
                    print(f"  {key} ...", flush=True)
                    if kind == "chemprop":
                        return run_chemprop(smiles, labels, parts, args)
                    return run_sciml(kind, smiles, labels, parts, args)

                results[kind] = _cached(key, make)
                rows += _score_rows(name, seed, kind, results[kind], truth, labels.columns)
            if "gbm" in results and "gnn" in results:
                mean = (np.asarray(results["gbm"]["prob"]) + np.asarray(results["gnn"]["prob"])) / 2
                both = {
                    "prob": mean.tolist(),
                    "fit_cpu_s": results["gbm"]["fit_cpu_s"] + results["gnn"]["fit_cpu_s"],
                }
                rows += _score_rows(name, seed, "gbm+gnn", both, truth, labels.columns)
    return pd.DataFrame(rows)


def mixed_study(args) -> dict | None:
    """One GNN on Tox21 + ESOL (disjoint molecules) against a GNN on each alone."""
    key = f"mixed_e{args.epochs}"
    if args.report_only and not (CACHE / f"{key}.json").is_file():
        return None

    def make():
        tox_smiles, tox, _ = load_set("tox21")
        esol = load_dataset("esol")
        target = esol.attrs["targets"][0]
        batch = canonicalize_batch(esol["smiles"].tolist(), errors="skip")
        esol_smiles = list(batch.values)
        esol_y = esol[target].to_numpy()[batch.index]
        tox_parts = random_split(len(tox_smiles), (0.8, 0.1, 0.1), seed=0)
        esol_parts = random_split(len(esol_smiles), (0.8, 0.1, 0.1), seed=0)
        columns = [*tox.columns, "logS"]
        tasks = {**{t: "binary" for t in tox.columns}, "logS": "regression"}

        def part(k, with_tox=True, with_esol=True):
            smi, frames = [], []
            if with_tox:
                smi += [tox_smiles[i] for i in tox_parts[k]]
                frames.append(tox.iloc[tox_parts[k]].assign(logS=np.nan))
            if with_esol:
                smi += [esol_smiles[i] for i in esol_parts[k]]
                frames.append(pd.DataFrame({"logS": esol_y[esol_parts[k]]}))
            frame = pd.concat(frames, ignore_index=True).reindex(columns=columns)
            keep = [c for c in columns if frame[c].notna().any()]
            return smi, frame[keep]

        out = {}
        for label, flags in (
            ("mixed", (True, True)),
            ("tox21 only", (True, False)),
            ("esol only", (False, True)),
        ):
            train_s, train_y = part(0, *flags)
            val_s, val_y = part(1, *flags)
            model = _sciml_model("gnn", args)
            start = _cpu()
            model.fit(train_s, train_y, val_s, val_y, tasks={t: tasks[t] for t in train_y.columns})
            scores = {"fit_cpu_s": _cpu() - start}
            if flags[0]:
                test_s, test_y = part(2, True, False)
                table = model.evaluate(test_s, test_y[[c for c in test_y if c != "logS"]])
                scores["tox21_mean_auroc"] = float(table["auroc"].mean())
            if flags[1]:
                test_s, test_y = part(2, False, True)
                table = model.evaluate(test_s, test_y[["logS"]])
                scores["esol_rmse"] = float(table.loc["logS", "rmse"])
                scores["esol_r2"] = float(table.loc["logS", "r2"])
            out[label] = scores
            print(f"  mixed study: {label}: {scores}", flush=True)
        return out

    return _cached(key, make)


def speed_study(args) -> dict | None:
    """CPU seconds of binary against regression fits of rf and gbm on the same molecules."""
    key = "speed"
    if args.report_only and not (CACHE / f"{key}.json").is_file():
        return None

    def make():
        smiles, labels, _ = load_set("bace")
        RandomForestModel(n_jobs=1).fit(smiles[:20], labels.iloc[:20])  # descriptor cache warm
        RandomForestModel(n_jobs=1, n_estimators=5).fit(smiles, labels)
        out = {}
        for kind in ("rf", "gbm"):
            times = {"binary": [], "regression": []}
            for _ in range(3):
                for task in ("binary", "regression"):
                    model = _sciml_model(kind, argparse.Namespace(threads=1))
                    start = _cpu()
                    model.fit(smiles, labels, tasks={"Class": task})
                    times[task].append(_cpu() - start)
            out[kind] = times
        return out

    return _cached(key, make)


def _commands() -> list[str]:
    """Every command that trained into the cache, in order, this one included."""
    path = CACHE / "commands.json"
    seen = json.loads(path.read_text()) if path.is_file() else []
    if command_line() not in seen:
        seen.append(command_line())
        CACHE.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "w") as handle:
            json.dump(seen, handle, indent=1)
    return seen


def report(frame: pd.DataFrame, mixed: dict | None, speed: dict | None, args) -> str:
    mean = frame.groupby(["set", "seed", "model"])[["auroc", "auprc"]].mean().reset_index()
    per_set = mean.groupby(["set", "model"])[["auroc", "auprc"]].agg(["mean", "std"])
    sci = [m for m in ("rf", "gbm", "gnn", "gbm+gnn") if m in set(frame.model)]

    def score(name, model, metric="auroc"):
        try:
            return float(per_set.loc[(name, model), (metric, "mean")])
        except KeyError:
            return np.nan

    def best(name, metric="auroc"):
        values = {m: score(name, m, metric) for m in sci}
        values = {m: v for m, v in values.items() if not np.isnan(v)}
        return max(values.items(), key=lambda kv: kv[1]) if values else ("-", np.nan)

    def verdict(ok):
        return "not run" if ok is None else ("met" if ok else "missed")

    tox_best, tox_cp = best("tox21"), score("tox21", "chemprop")
    hiv_best, hiv_cp = best("hiv"), score("hiv", "chemprop")
    lines = ["# Binary endpoints: sciml against chemprop v2 (issue 26)", ""]
    lines += ["## Goals", "", "| goal | target | measured | verdict |", "|---|---|---|---|"]
    ok = None if np.isnan(tox_cp) or np.isnan(tox_best[1]) else tox_best[1] >= tox_cp + 0.01
    lines.append(
        f"| Tox21, best sciml model, mean AUROC (random, 3 seeds) | >= chemprop + 0.01 "
        f"| {tox_best[0]} {tox_best[1]:.3f} vs chemprop {tox_cp:.3f} | {verdict(ok)} |"
    )
    ok = (
        None
        if np.isnan(hiv_best[1])
        else bool(hiv_best[1] >= 0.82 and (np.isnan(hiv_cp) or hiv_best[1] >= hiv_cp))
    )
    hiv_cp_text = "chemprop not run" if np.isnan(hiv_cp) else f"chemprop {hiv_cp:.3f}"
    lines.append(
        f"| HIV, scaffold, best sciml model, AUROC | >= 0.82 and >= chemprop | "
        f"{hiv_best[0]} {hiv_best[1]:.3f} ({hiv_cp_text}; OGB GIN-virtual "
        f"{OGB_GIN_VIRTUAL_HIV}) | {verdict(ok)}"
        + (" (chemprop part not run)" if np.isnan(hiv_cp) else "")
        + " |"
    )
    if mixed:
        m, t, e = mixed["mixed"], mixed["tox21 only"], mixed["esol only"]
        ok = (
            m["tox21_mean_auroc"] >= t["tox21_mean_auroc"] - 0.005
            and m["esol_rmse"] <= e["esol_rmse"] * 1.02
        )
        lines.append(
            f"| mixed regression + binary GNN no worse than single-kind GNNs | "
            f"both kinds | Tox21 AUROC {m['tox21_mean_auroc']:.3f} vs "
            f"{t['tox21_mean_auroc']:.3f}; ESOL RMSE {m['esol_rmse']:.3f} vs "
            f"{e['esol_rmse']:.3f} | {verdict(ok)} (tolerance: 0.005 AUROC, 2% RMSE) |"
        )
    else:
        lines.append("| mixed regression + binary | no worse than single-kind | - | not run |")
    tox = frame[
        (frame.set == "tox21") & frame.model.isin(sci) & frame.ece_calibrated.notna()
        if "ece_calibrated" in frame
        else frame.set == "__none__"
    ]
    if len(tox):
        # the best single model that was calibrated (an average of two is not calibrated)
        calibrated = sorted(set(tox.model), key=lambda m: -score("tox21", m))
        model = calibrated[0]
        sub = tox[tox.model == model]
        worst_ece = sub.groupby("task").ece_calibrated.mean().max()
        mean_ece = sub.ece_calibrated.mean()
        lines.append(
            f"| calibration, Tox21 test ECE after calibration ({model}) | <= 0.05 | "
            f"mean {mean_ece:.3f}, worst task {worst_ece:.3f} (before: "
            f"{sub.ece_raw.mean():.3f}) | {verdict(mean_ece <= 0.05)} (mean over tasks) |"
        )
        big = sub[sub.n_test >= 100]
        cover = big.groupby("task").set_coverage.mean()
        ok = bool(((cover >= 0.87) & (cover <= 0.93)).all())
        lines.append(
            f"| conformal sets at 90%, coverage per Tox21 task with >= 100 test labels "
            f"({model}) | 87-93% | {cover.min():.3f}-{cover.max():.3f} "
            f"({int(((cover >= 0.87) & (cover <= 0.93)).sum())} of {len(cover)} in "
            f"range) | {verdict(ok)} |"
        )
    if speed:
        parts = []
        ok = True
        for kind, times in speed.items():
            ratio = np.median(times["binary"]) / np.median(times["regression"])
            ok &= ratio <= 1.2
            parts.append(
                f"{kind} {ratio:.2f}x ({np.median(times['binary']):.1f} vs "
                f"{np.median(times['regression']):.1f} CPU-s)"
            )
        lines.append(
            f"| speed: binary fit / regression fit, same molecules (BACE, median of 3) "
            f"| <= 1.2x | {'; '.join(parts)} | {verdict(bool(ok))} |"
        )
    lines += [
        "",
        f"Settings fixed before scoring: GNN and chemprop {args.epochs} epochs, batch "
        f"{args.batch_size}, hidden 300, depth 3, no descriptors, best epoch on the "
        "validation part; rf and gbm with their defaults (gbm stops early on "
        "validation). Unreadable SMILES (RDKit) are left out for every model alike. "
        "Calibration uses the validation part (also used for early stopping), so the "
        "calibrated figures are on the test part only.",
        "",
    ]
    lines += [
        "## Mean AUROC / AUPRC per set (mean over tasks; +- std over split seeds)",
        "",
        "| set | split | model | AUROC | AUPRC | fit CPU-s |",
        "|---|---|---|---|---|---|",
    ]
    cpu = frame.groupby(["set", "model"]).fit_cpu_s.mean()
    for (name, model), row in per_set.iterrows():
        std = row[("auroc", "std")]
        lines.append(
            f"| {name} | {SETS[name]} | {model} | {row[('auroc', 'mean')]:.3f}"
            + ("" if np.isnan(std) else f" +- {std:.3f}")
            + f" | {row[('auprc', 'mean')]:.3f} | {cpu.get((name, model), np.nan):.0f} |"
        )
    if mixed:
        lines += [
            "",
            "## Mixed regression + binary model (GNN, split seed 0)",
            "",
            "| model | Tox21 mean AUROC | ESOL RMSE | ESOL R2 | fit CPU-s |",
            "|---|---|---|---|---|",
        ]
        for label, s in mixed.items():
            lines.append(
                f"| {label} | {s.get('tox21_mean_auroc', np.nan):.3f} | "
                f"{s.get('esol_rmse', np.nan):.3f} | {s.get('esol_r2', np.nan):.3f} | "
                f"{s['fit_cpu_s']:.0f} |"
            )
    lines += [
        "",
        "Commands that made the cached predictions (each keeps its results; the last "
        "one wrote this file):",
        "",
    ]
    lines += [f"- `{c}`" for c in _commands()]
    lines += ["", machine_info(("torch", "rdkit", "lightgbm", "scikit-learn")), ""]
    return "\n".join(lines)


def summary(frame: pd.DataFrame, mixed: dict | None) -> dict:
    """Machine-readable headline numbers (the README cites these keys)."""
    mean = frame.groupby(["set", "seed", "model"])[["auroc", "auprc"]].mean().reset_index()
    per_set = mean.groupby(["set", "model"])[["auroc", "auprc"]].mean()
    out: dict = {
        "auroc": {},
        "auprc": {},
        "references": {"ogb_gin_virtual_hiv_auroc": OGB_GIN_VIRTUAL_HIV},
    }
    for (name, model), row in per_set.iterrows():
        out["auroc"].setdefault(name, {})[model] = round(float(row["auroc"]), 4)
        out["auprc"].setdefault(name, {})[model] = round(float(row["auprc"]), 4)
    if mixed:
        out["mixed"] = {k: {m: round(float(v), 4) for m, v in d.items()} for k, d in mixed.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated sets")
    parser.add_argument(
        "--models", default=",".join(MODELS), help=f"comma-separated models of {MODELS}"
    )
    parser.add_argument("--epochs", type=int, default=30, help="GNN and chemprop epochs")
    parser.add_argument("--batch-size", type=int, default=64, help="GNN and chemprop batch size")
    parser.add_argument("--threads", type=int, default=1, help="threads of rf and gbm")
    parser.add_argument(
        "--hiv-neural",
        action="store_true",
        help="also train the GNN and chemprop on HIV (33K molecules)",
    )
    parser.add_argument(
        "--studies",
        default="mixed,speed",
        help="side studies to run: mixed, speed (comma-separated; '' for none)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild the report from cached predictions without training",
    )
    args = parser.parse_args()
    args.sets = [s for s in args.sets.split(",") if s]
    args.models = [m for m in args.models.split(",") if m]
    unknown = sorted(set(args.sets) - set(SETS)) + sorted(set(args.models) - set(MODELS))
    if unknown:
        sys.exit(f"unknown set(s) or model(s): {unknown}")
    import torch

    torch.set_num_threads(args.threads)
    frame = benchmark(args)
    studies = {s for s in args.studies.split(",") if s}
    mixed = mixed_study(args) if "mixed" in studies else None
    speed = speed_study(args) if "speed" in studies else None
    RESULTS.mkdir(parents=True, exist_ok=True)
    with atomic_write(RESULTS / "classification.csv", "w") as handle:
        frame.to_csv(handle, index=False)
    text = report(frame, mixed, speed, args)
    with atomic_write(RESULTS / "classification.md", "w") as handle:
        handle.write(text)
    with atomic_write(RESULTS / "classification.json", "w") as handle:
        json.dump(summary(frame, mixed), handle, indent=1)
    print(text)


if __name__ == "__main__":
    main()
