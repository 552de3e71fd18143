"""The kernel model beside the trees and the default stack on a data set it was not chosen on.

``KernelModel`` (kernel ridge, the Gaussian-process mean, on Morgan-count MinMax and
descriptor RBF similarity) joined the default ``best`` stack on evidence from the Biogen
training folds (``adme_kernel_probe.py``). This benchmark checks it on ESOL aqueous
solubility (Delaney 2004; 1,128 molecules, log10 mol/L), which played no part in that choice:

- ``random``: ``kfold(1128, 5, seed=0)``;
- ``scaffold``: Murcko-scaffold folds (``group_kfold(murcko_scaffolds, 5, seed=0)``);
- ``small``: the random folds, but each model sees only 100 molecules drawn at random
  (seed = fold) from the training fold: the size of many project data sets.

Models, all at their defaults with one thread: ``rf`` (random forest on RDKit descriptors),
``gbm`` (LightGBM on Morgan counts + descriptors), ``kernel`` (``KernelModel``) and ``best``
(``sciml fit``'s default stack, which includes the kernel). Test R² and RMSE per fold;
CPU seconds per fit. Nothing is tuned.

    SCIML_DATA_DIR=../shared/data python benchmarks/kernel_regression.py

Resumable (finished folds are stored in ``benchmarks/.cache/kernel_regression``). Writes
``benchmarks/results/kernel_regression.md``, ``.json`` and ``.png``; ``--report-only``
rebuilds them from the stored folds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import command_line, machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402

CACHE = ROOT / ".cache" / "kernel_regression"
OUT = ROOT / "results" / "kernel_regression.md"
ARMS = ("random", "scaffold", "small")
MODELS = ("rf", "gbm", "kernel", "best")
FOLDS = 5
SMALL = 100


def _data() -> pd.DataFrame:
    from sciml.chem.datasets import load_dataset

    data = load_dataset("esol")
    return data.rename(columns={data.columns[1]: "logS"})[["smiles", "logS"]]


def _model(name: str):
    from sciml.chem.models import MODELS as KINDS
    from sciml.chem.models import best_recipe

    if name == "best":
        return best_recipe(seed=0, threads=1)
    return KINDS[name](seed=0, n_jobs=1)


def run_fold(data: pd.DataFrame, arm: str, k: int) -> dict:
    """Fit every model on one training fold and score it on the test fold (stored)."""
    from sciml.chem.splits import group_kfold, kfold, murcko_scaffolds
    from sciml.metrics import r2, rmse

    path = CACHE / f"{arm}_fold{k}.json"
    if path.is_file():
        return json.loads(path.read_text())
    smiles = data["smiles"].tolist()
    if arm == "scaffold":
        folds = group_kfold(murcko_scaffolds(smiles), FOLDS, seed=0)
    else:
        folds = kfold(len(data), FOLDS, seed=0)
    train, test = folds[k]
    if arm == "small":
        train = np.sort(np.random.default_rng(k).choice(train, SMALL, replace=False))
    y_test = data["logS"].to_numpy()[test]
    record = {"arm": arm, "fold": k, "n_train": len(train), "n_test": len(test), "models": {}}
    for name in MODELS:
        model = _model(name)
        cpu0 = time.process_time()
        model.fit([smiles[i] for i in train], data.iloc[train][["logS"]])
        fit_cpu = time.process_time() - cpu0
        pred = model.predict([smiles[i] for i in test])["logS"].to_numpy()
        record["models"][name] = {
            "r2": float(r2(y_test, pred, reduce="mean")),
            "rmse": float(rmse(y_test, pred, reduce="mean")),
            "fit_cpu_s": fit_cpu,
        }
        print(f"{arm} fold {k} {name}: R² {record['models'][name]['r2']:.3f}", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as handle:
        json.dump(record, handle, indent=1)
    return record


def _table(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"arm": r["arm"], "fold": r["fold"], "model": m, **v}
            for r in records
            for m, v in r["models"].items()
        ]
    )


def _paired(wide: pd.DataFrame, a: str, b: str) -> str:
    """Mean R² difference of two models over folds, and the paired t-test's p."""
    from scipy import stats

    d = wide[a] - wide[b]
    p = stats.ttest_rel(wide[a], wide[b]).pvalue if len(d) > 1 else float("nan")
    return f"{d.mean():+.3f} ({p:.2f})"


def report(records: list[dict], command: str) -> str:
    table = _table(records)
    lines = [
        "# The kernel model on ESOL, beside the trees and the default stack (issue 27)",
        "",
        machine_info(("numpy", "scikit-learn", "lightgbm", "torch", "rdkit"), command=command),
        "",
        "ESOL aqueous solubility (1,128 molecules, log10 mol/L), not used to choose the "
        "kernel or the stack. Every model at its defaults, one thread; mean over "
        f"{FOLDS} test folds (the `small` arm trains on {SMALL} molecules of each random "
        "training fold). The paired test is a t-test over the folds' R² differences.",
        "",
        "| arm | "
        + " | ".join(f"{m} R²" for m in MODELS)
        + " | "
        + " | ".join(f"{m} RMSE" for m in MODELS)
        + " | kernel - gbm R² (p) | best - gbm R² (p) |",
        "|---" * (2 * len(MODELS) + 3) + "|",
    ]
    for arm in ARMS:
        part = table[table["arm"] == arm]
        if part.empty:
            continue
        wide = part.pivot(index="fold", columns="model", values="r2")
        err = part.pivot(index="fold", columns="model", values="rmse")

        lines.append(
            f"| {arm} ({len(wide)} folds) | "
            + " | ".join(f"{wide[m].mean():.3f}" for m in MODELS)
            + " | "
            + " | ".join(f"{err[m].mean():.3f}" for m in MODELS)
            + f" | {_paired(wide, 'kernel', 'gbm')} | {_paired(wide, 'best', 'gbm')} |"
        )
    cpu = table.groupby(["arm", "model"])["fit_cpu_s"].mean().unstack()[list(MODELS)]
    lines += [
        "",
        "CPU seconds per fit (mean over folds):",
        "",
        "| arm | " + " | ".join(MODELS) + " |",
        "|---" * (len(MODELS) + 1) + "|",
    ]
    for arm in [a for a in ARMS if a in cpu.index]:
        lines.append(f"| {arm} | " + " | ".join(f"{cpu.loc[arm, m]:.1f}" for m in MODELS) + " |")
    lines += ["", "![mean test R² per arm and model](kernel_regression.png)", ""]
    return "\n".join(lines)


def plot(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = _table(records)
    arms = [a for a in ARMS if a in set(table["arm"])]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(MODELS)
    low = 1.0
    for j, m in enumerate(MODELS):
        sub = table[table["model"] == m].groupby("arm")["r2"]
        mean, sd = sub.mean().reindex(arms), sub.std().reindex(arms).fillna(0)
        ax.bar(np.arange(len(arms)) + j * width, mean, width, yerr=sd, label=m, capsize=2)
        low = min(low, float((mean - sd).min()))
    ax.set_ylim(max(0.0, low - 0.05), 1.0)  # the differences, not the bars' common base
    ax.set_xticks(np.arange(len(arms)) + width * (len(MODELS) - 1) / 2, arms)
    ax.set_ylabel("test R² (mean ± sd over folds)")
    ax.set_title("ESOL: kernel ridge beside the trees and the default stack")
    ax.legend(ncol=len(MODELS), fontsize=8, loc="upper right")
    fig.tight_layout()
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS, help="arms to run")
    p.add_argument(
        "--report-only", action="store_true", help="rebuild the outputs from the stored folds"
    )
    args = p.parse_args(argv)
    record = OUT.with_suffix(".json")
    if args.report_only:
        stored = json.loads(record.read_text())
    else:
        import torch

        torch.set_num_threads(1)
        data = _data()
        folds = [run_fold(data, arm, k) for arm in args.arms for k in range(FOLDS)]
        stored = {"folds": folds, "command": command_line()}
        with atomic_write(record, "w") as handle:
            json.dump(stored, handle, indent=1)
    plot(stored["folds"], OUT.with_suffix(".png"))
    with atomic_write(OUT, "w") as handle:
        handle.write(report(stored["folds"], stored["command"]))
    print(OUT.read_text())


if __name__ == "__main__":
    main()
