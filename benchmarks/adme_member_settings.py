"""LightGBM settings of the stack's ``gbm_rich`` member, chosen on inner folds only (issue 27).

``sciml tune --model gbm`` picked the same configuration on the tuning folds of three outer
folds (``tune_pays.md``: rich features, 27 leaves, ``min_child_samples`` 4,
``colsample_bytree`` 0.77, ``subsample`` 0.55). This script asks whether those settings, or a
cheaper half-way point, should become the settings of the ``gbm_rich`` member of
``--model best`` (the member with the largest stacking weight), measured where the stack
itself measures its members: the out-of-fold predictions of 3 inner folds of a training fold
of the study protocol (random 5-fold, ``kfold(3521, 5, seed=0)``). No test molecule of any
outer fold is predicted.

**Decision rule, fixed before any run:** a candidate replaces the member's settings if its
mean inner-fold R² over the six endpoints beats the current settings by at least 0.005 in
every outer fold run; among the candidates that qualify, the one with the highest mean wins.
Otherwise the member keeps its settings.

    SCIML_DATA_DIR=../shared/data python benchmarks/adme_member_settings.py --folds 0 1

Resumable: each inner fit is stored in ``benchmarks/.cache/adme_member_settings``.
``--report-only`` rebuilds ``benchmarks/results/adme_member_settings.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks import adme_best as base  # noqa: E402
from benchmarks._machine import command_line, machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402

CACHE = ROOT / ".cache" / "adme_member_settings"
OUT = ROOT / "results" / "adme_member_settings.md"
ENDPOINTS = base.ENDPOINTS
INNER = 3
MARGIN = 0.005
#: The candidates; ``current`` is the member as shipped (``BEST_MEMBERS["gbm_rich"]``).
CANDIDATES: dict[str, dict] = {
    "current": {},
    "tuned": {
        "num_leaves": 27,
        "min_child_samples": 4,
        "colsample_bytree": 0.77,
        "subsample": 0.55,
    },
    "half": {"min_child_samples": 4, "subsample": 0.55},
}


def _member(settings: dict):
    from sciml.chem.models import GBMModel
    from sciml.chem.models.stack import BEST_MEMBERS

    _, defaults = BEST_MEMBERS["gbm_rich"]
    return GBMModel(**{**defaults, "seed": 0, "n_jobs": 1, **settings})


def run_unit(data, outer: int, name: str, inner: int) -> dict:
    """Fit one candidate on one inner training part; score it on the inner test part."""
    from sciml.chem.splits import kfold
    from sciml.metrics import r2

    path = CACHE / f"fold{outer}_{name}_inner{inner}.json"
    if path.is_file():
        return json.loads(path.read_text())
    train, _ = base._folds(data, "random")[outer]
    fit_rows, val_rows = kfold(len(train), INNER, seed=0)[inner]
    fit_rows, val_rows = train[fit_rows], train[val_rows]
    smiles = data["smiles"].tolist()
    cpu0 = time.process_time()
    model = _member(CANDIDATES[name]).fit(
        [smiles[i] for i in fit_rows], data.iloc[fit_rows][ENDPOINTS], transforms="auto"
    )
    pred = model.predict([smiles[i] for i in val_rows])[ENDPOINTS].to_numpy()
    truth = data.iloc[val_rows][ENDPOINTS].to_numpy()
    scores = {}
    for t, endpoint in enumerate(ENDPOINTS):
        keep = ~np.isnan(truth[:, t])
        scores[endpoint] = float(r2(truth[keep, t], pred[keep, t], reduce="mean"))
    unit = {"r2": scores, "cpu_s": time.process_time() - cpu0, "n_fit": len(fit_rows)}
    CACHE.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as handle:
        json.dump(unit, handle)
    base._log(f"fold {outer} {name} inner {inner}: {np.mean(list(scores.values())):.3f}")
    return unit


def _units(folds: list[int]) -> dict:
    out = {}
    for outer in folds:
        for name in CANDIDATES:
            paths = [CACHE / f"fold{outer}_{name}_inner{i}.json" for i in range(INNER)]
            if all(p.is_file() for p in paths):
                out[(outer, name)] = [json.loads(p.read_text()) for p in paths]
    return out


def decide(table: dict[tuple[int, str], float], folds: list[int]) -> tuple[str, list[str]]:
    """The rule of the docstring on ``{(outer fold, candidate): mean inner R²}``."""
    qualified = [
        name
        for name in CANDIDATES
        if name != "current"
        and all(table[(k, name)] - table[(k, "current")] >= MARGIN for k in folds)
    ]
    if not qualified:
        return "current", []
    best = max(qualified, key=lambda n: np.mean([table[(k, n)] for k in folds]))
    return best, qualified


def report(folds: list[int], command: str) -> str:
    units = _units(folds)
    done = sorted({k for k, _ in units if all((k, n) in units for n in CANDIDATES)})
    lines = [
        "# The `gbm_rich` member's LightGBM settings, chosen on inner folds (issue 27)\n",
        machine_info(("numpy", "scikit-learn", "lightgbm", "rdkit"), command=command),
        "",
        f"Rule (fixed before the run, in the script's docstring): a candidate replaces the "
        f"member's settings if its mean inner-fold R² over the six endpoints beats `current` "
        f"by at least {MARGIN} in every outer fold run. Inner folds: {INNER} folds of each "
        f"outer training fold of the study protocol (random 5-fold, seed 0); no outer test "
        f"molecule is predicted. One thread.\n",
        "| candidate | settings |",
        "|---|---|",
    ]
    for name, settings in CANDIDATES.items():
        shown = ", ".join(f"{k}={v}" for k, v in settings.items()) or "as shipped"
        lines.append(f"| {name} | {shown} |")
    lines += [
        "",
        "| outer fold | candidate | " + " | ".join(ENDPOINTS) + " | mean | CPU-s per fit |",
        "|---|---|" + "---|" * (len(ENDPOINTS) + 2),
    ]
    table = {}
    for k in done:
        for name in CANDIDATES:
            runs = units[(k, name)]
            per = [np.mean([u["r2"][e] for u in runs]) for e in ENDPOINTS]
            table[(k, name)] = float(np.mean(per))
            cpu = np.mean([u["cpu_s"] for u in runs])
            lines.append(
                f"| {k} | {name} | "
                + " | ".join(f"{v:.3f}" for v in per)
                + f" | **{table[(k, name)]:.3f}** | {cpu:.0f} |"
            )
    if not done:
        lines.append("\nNo outer fold is complete yet.")
        return "\n".join(lines) + "\n"
    choice, qualified = decide(table, done)
    gains = ", ".join(
        f"{n}: " + ", ".join(f"{table[(k, n)] - table[(k, 'current')]:+.3f}" for k in done)
        for n in CANDIDATES
        if n != "current"
    )
    lines += [
        "",
        f"Gain over `current` per outer fold ({', '.join(map(str, done))}): {gains}.",
        "",
        f"**Decision: `{choice}`**"
        + (
            f" (qualified: {', '.join(qualified)})."
            if qualified
            else " (no candidate gains the margin in every fold; the member keeps its settings)."
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--folds", type=int, nargs="+", default=[0, 1], help="outer random folds (default 0 1)"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild the report from the stored fits"
    )
    args = parser.parse_args(argv)
    command = command_line(argv)
    if not args.report_only:
        data = base._data()
        for outer in args.folds:
            for name in CANDIDATES:
                for inner in range(INNER):
                    run_unit(data, outer, name, inner)
    text = report(args.folds, command)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(OUT, "w") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
