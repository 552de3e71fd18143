"""The evidence for the best stack's kernel member, on training folds only (issue 27).

Session 7 added ``kernel`` (:class:`sciml.chem.models.KernelModel`: kernel ridge, the
Gaussian-process mean, on a MinMax kernel of Morgan counts mixed with an RBF kernel of RDKit
descriptors) to :data:`sciml.chem.models.stack.DEFAULT_BEST_MEMBERS` after an exploratory
probe of this kind on the *training parts* of outer random folds 0-2 of the study protocol
(``kfold(3521, 5, seed=0)``); no test molecule of any outer fold is predicted. This script
is that probe, written with the package's own model and stacking functions, so the
decision's evidence can be rerun:

1. on each outer fold's training part, out-of-fold predictions of 3 inner folds
   (``kfold(n, 3, seed=0)``) from the members ``gbm``, ``gbm_rich`` (shared with
   ``adme_cross_probe.py``), ``gnn``, ``kernel`` and, as the alternative that was tried,
   ``kernel_morgan`` (the same model on the Morgan MinMax kernel alone,
   ``descriptor_weight=0``);
2. per endpoint, a 5-fold cross-validation over those predictions scores the stack without
   and with the kernel member: the simplex weights alone, the weights plus the cross-endpoint
   correction (``sciml.chem.models.stack.cross_cv_predictions``), and what the stack keeps
   (the correction only where it gains at least ``CROSS_MIN_GAIN``).

Declared rule (session 7, before any test fold was scored with the member): add the kernel
to the default members if, with the correction as the stack decides it, the mean over
endpoints gains at least 0.005 R² and no endpoint loses more than 0.005.

    SCIML_DATA_DIR=../shared/data python benchmarks/adme_kernel_probe.py

Resumable: out-of-fold predictions are stored in ``benchmarks/.cache/adme_kernel_probe``
(and ``adme_cross_probe`` for the two LightGBM members). Writes
``benchmarks/results/adme_kernel_probe.md`` and ``.json``; ``--report-only`` rebuilds the
markdown.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks import adme_best as base  # noqa: E402
from benchmarks import adme_cross_probe as cross  # noqa: E402
from benchmarks._machine import machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402

CACHE = ROOT / ".cache" / "adme_kernel_probe"
OUT = ROOT / "results" / "adme_kernel_probe.md"
ENDPOINTS = base.ENDPOINTS
BEFORE = ("gbm", "gbm_rich", "gnn")
#: Probed additions: label -> fields changed from the KernelModel defaults.
KERNELS = {"kernel": {}, "kernel_morgan": {"descriptor_weight": 0.0}}
#: The declared rule: mean gain and the largest loss allowed on one endpoint.
MIN_MEAN_GAIN, MAX_LOSS = 0.005, 0.005


def _member(label: str):
    from sciml.chem.models import KernelModel, best_recipe

    if label in KERNELS:
        return KernelModel(seed=0, n_jobs=1, **KERNELS[label])
    proto = best_recipe(seed=0, threads=1).members[label]
    return type(proto)(proto.config)


def member_oof(k: int, label: str) -> np.ndarray:
    """``(n, T)`` inner out-of-fold predictions of one member on outer fold ``k``'s training part."""
    from sciml.chem.splits import kfold

    if label in cross.MEMBERS:
        oof, _ = cross.out_of_fold(k)
        return oof[cross.MEMBERS.index(label)]
    path = CACHE / f"{label}_fold{k}.npy"
    if path.is_file():
        return np.load(path)
    data = base._data()
    train, _ = base._folds(data, "random")[k]
    smiles = [data["smiles"].tolist()[i] for i in train]
    y = data.iloc[train][ENDPOINTS].to_numpy(float)
    oof = np.full((len(train), len(ENDPOINTS)), np.nan)
    for a, b in kfold(len(train), cross.INNER, seed=0):
        model = _member(label)
        model.fit([smiles[i] for i in a], pd.DataFrame(y[a], columns=ENDPOINTS))
        oof[b] = model.predict([smiles[i] for i in b])[ENDPOINTS].to_numpy()
    CACHE.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:
        np.save(handle, oof)
    return oof


def fold_scores(k: int) -> list[dict]:
    """Per endpoint: members alone, and the nested-CV stack without and with each kernel."""
    from sciml.chem.models.stack import CROSS_MIN_GAIN, cross_cv_predictions, simplex_weights
    from sciml.metrics import r2

    _, y = cross.out_of_fold(k)
    preds = {label: member_oof(k, label) for label in (*BEFORE, *KERNELS)}
    stacks = {"without": BEFORE, **{f"with {lab}": (*BEFORE, lab) for lab in KERNELS}}
    rows = []
    for t, e in enumerate(ENDPOINTS):
        idx = np.flatnonzero(~np.isnan(y[:, t]))
        row = {"endpoint": e, "n": len(idx)}
        for label, p in preds.items():
            row[f"alone {label}"] = float(r2(y[idx, t], p[idx, t], reduce="mean"))
        for name, labels in stacks.items():
            oof = np.stack([preds[label] for label in labels])
            weights, corrected = cross_cv_predictions(
                oof, y, t, idx, lambda p, v: simplex_weights(p.T, v), seed=0
            )
            w = float(r2(y[idx, t], weights, reduce="mean"))
            c = float(r2(y[idx, t], corrected, reduce="mean"))
            row[f"{name} weights"], row[f"{name} corrected"] = w, c
            row[f"{name} kept"] = c if c - w >= CROSS_MIN_GAIN else w
        rows.append(row)
    return rows


def decide(table: pd.DataFrame, label: str = "kernel") -> tuple[bool, pd.Series]:
    """The declared rule on the mean over folds: gains per endpoint and whether it is met."""
    means = table.groupby("endpoint").mean(numeric_only=True).loc[ENDPOINTS]
    gain = means[f"with {label} kept"] - means["without kept"]
    return bool(gain.mean() >= MIN_MEAN_GAIN and gain.min() >= -MAX_LOSS), gain


def report(results: dict, command: str) -> str:
    table = pd.DataFrame(
        [{"fold": int(k), **r} for k, rows in results["folds"].items() for r in rows]
    )
    means = table.groupby("endpoint").mean(numeric_only=True).loc[ENDPOINTS]
    folds = ", ".join(str(k) for k in sorted(results["folds"], key=int))
    lines = [
        "# The kernel member of the best stack: evidence on training folds (issue 27)",
        "",
        machine_info(("numpy", "scikit-learn", "lightgbm", "torch", "rdkit"), command=command),
        "",
        f"Training parts of outer random folds {folds} of the study protocol; 3 inner folds; "
        "per endpoint a 5-fold CV over the out-of-fold predictions scores the stack of "
        f"{', '.join(BEFORE)} without and with a kernel member. 'kept' is what the stack "
        "would use: the cross-endpoint correction where its nested gain is at least 0.005, "
        "else the weights alone. No outer test molecule is predicted. Means over folds.",
        "",
        "Each member alone (R² of its inner out-of-fold predictions):",
        "",
        "| endpoint | labelled (per fold) | " + " | ".join((*BEFORE, *KERNELS)) + " |",
        "|---|---|" + "---|" * (len(BEFORE) + len(KERNELS)),
    ]
    for e in ENDPOINTS:
        lines.append(
            f"| {e} | {int(means.loc[e, 'n'])} | "
            + " | ".join(f"{means.loc[e, f'alone {m}']:.3f}" for m in (*BEFORE, *KERNELS))
            + " |"
        )
    stacks = ["without", *(f"with {lab}" for lab in KERNELS)]
    lines += [
        "",
        "The stack (nested-CV R²):",
        "",
        "| endpoint | "
        + " | ".join(f"{s}: weights | {s}: kept" for s in stacks)
        + " | gain of kernel (kept) |",
        "|---|" + "---|" * (2 * len(stacks) + 1),
    ]
    met, gain = decide(table)
    for e in ENDPOINTS:
        lines.append(
            f"| {e} | "
            + " | ".join(
                f"{means.loc[e, f'{s} weights']:.3f} | {means.loc[e, f'{s} kept']:.3f}"
                for s in stacks
            )
            + f" | {gain[e]:+.3f} |"
        )
    lines.append(
        "| **mean** | "
        + " | ".join(
            f"{means[f'{s} weights'].mean():.3f} | {means[f'{s} kept'].mean():.3f}" for s in stacks
        )
        + f" | **{gain.mean():+.3f}** |"
    )
    _, gain_morgan = decide(table, "kernel_morgan")
    lines += [
        "",
        f"Declared rule: add `kernel` if the mean gain (kept) is at least {MIN_MEAN_GAIN} and "
        f"no endpoint loses more than {MAX_LOSS}. Here: mean {gain.mean():+.4f}, worst endpoint "
        f"{gain.min():+.4f}: **{'met' if met else 'not met'}**. The Morgan-only kernel "
        f"(`kernel_morgan`) gains {gain_morgan.mean():+.4f} on the mean.",
        "",
        "Session 7 decided on an exploratory version of this probe (the same members, folds "
        "and nested CV, with the kernel written as a scratch function that scaled the "
        "descriptors over the whole training part), before any test fold was scored with the "
        "kernel member; this file reruns it with `sciml.chem.models.KernelModel`. The "
        "test-fold results are in `adme_best.md`.",
        "",
        f"Cost: {results['cpu_s']:.0f} CPU-s in this run (out-of-fold predictions stored by an "
        "earlier run of this command or of `adme_cross_probe.py` are read, not recomputed).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    cross.probe_main(argv, OUT, __doc__.splitlines()[0], fold_scores, report)


if __name__ == "__main__":
    main()
