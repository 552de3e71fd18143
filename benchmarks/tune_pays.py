"""Does ``sciml tune`` pay? Default against tuned models on held-out outer folds of Biogen ADME.

Issue 27, build item 5. Every search runs on an outer fold's **training** part only (its own
3-fold cross-validation, :func:`sciml.chem.tune.tune`); the outer test fold scores the
default and the tuned model once each (R² per endpoint, physical units).

Parts (``--parts``; each unit is stored in ``benchmarks/.cache/tune_pays/`` as it ends, so a
killed run resumes):

- ``small``: training subsets of 60, 150 and 300 molecules drawn from outer fold 0's training
  part (the four dense endpoints HLM, RLM, MDR1_ER, Sol; the PPB endpoints have ~3 labels
  in 60 molecules), scored on outer fold 0's test part. Arms: GBM defaults; GBM tuned in
  the **fixed** ranges ``tune`` had before (``min_child_samples`` up to 60, ``num_leaves``
  8-128); GBM tuned in the **scaled** space (bounds from the fold size, plus the feature-set
  choice). The fixed ranges reproduce the collapse (trials whose leaves need more molecules
  than a tuning fold has, scoring cross-validated R² ≈ 0).
- ``full``: outer folds 0-2 of ``kfold(3521, 5, seed=0)`` (all six endpoints): GBM
  defaults against GBM tuned in the scaled space.
- ``stack``: one 150-molecule subset: the best recipe without its GNN member (gbm +
  gbm_rich; the GNN costs ~0.11 CPU-s per molecule and epoch-trained members would not fit
  the budget) at its defaults against the stack tuned over its inner folds, weights vs best
  member, and the members' feature sets, learning rates and leaf sizes.

Budgets are trial counts (not wall time); one thread. Run::

    python benchmarks/tune_pays.py [--parts small full stack] [--report-only]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: one thread, as the budget says

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import command_line, git_commit, machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402

RESULTS = ROOT / "results"
CACHE = ROOT / ".cache" / "tune_pays"
STEM = "tune_pays"
ENDPOINTS = ["HLM", "RLM", "MDR1_ER", "Sol", "hPPB", "rPPB"]
DENSE = ["HLM", "RLM", "MDR1_ER", "Sol"]
SMALL_SIZES = (60, 150, 300)
SMALL_REPEATS = 2
FULL_FOLDS = (0, 1, 2)
STACK_SIZE = 150
#: Cross-validation folds of each search: 3 (``sciml tune``'s default) on the small sets; 2 on
#: all data, where one LightGBM fit costs 15-60 CPU-s (rich feature sets) and 3 folds would
#: leave room for too few trials in the budget.
TUNE_FOLDS = {"small": 3, "full": 2, "stack": 3}


def _old_gbm_space():
    """The fixed ranges of ``tune`` before they scaled with the data (no feature choice)."""
    from sciml.chem.tune import FloatRange, IntRange

    return {
        "learning_rate": FloatRange(0.01, 0.2, True),
        "num_leaves": IntRange(8, 128, True),
        "min_child_samples": IntRange(3, 60, True),
        "colsample_bytree": FloatRange(0.05, 0.8, True),
        "subsample": FloatRange(0.5, 1.0),
        "reg_lambda": FloatRange(1e-3, 30.0, True),
    }


def _data() -> pd.DataFrame:
    from sciml.chem.datasets import load_dataset

    return load_dataset("biogen_adme", drop_censored=True).reset_index(drop=True)


def _outer(n: int):
    from sciml.chem.splits import kfold

    return kfold(n, 5, seed=0)


def _test_r2(model, data: pd.DataFrame, rows: np.ndarray, endpoints: list[str]) -> dict:
    table = model.evaluate(data.smiles.iloc[rows].tolist(), data.iloc[rows][endpoints])
    return {str(e): float(table.loc[e, "r2"]) for e in endpoints}


def _fit_and_score(model, data, train, test, endpoints) -> dict:
    cpu, wall = time.process_time(), time.perf_counter()
    model.fit(data.smiles.iloc[train].tolist(), data.iloc[train][endpoints], transforms="auto")
    out = {"r2": _test_r2(model, data, test, endpoints)}
    out["cpu_s"] = time.process_time() - cpu
    out["wall_s"] = time.perf_counter() - wall
    return out


def _unsplittable(trials: pd.DataFrame, labels: np.ndarray, folds: int) -> int:
    """Trials whose ``min_child_samples`` leaves some endpoint of some tuning fold unsplit.

    A LightGBM split needs ``2 * min_child_samples`` labelled molecules; with fewer, that
    endpoint's booster predicts a constant (R² ≈ 0). The folds are :func:`tune`'s (seed 0).
    """
    if "min_child_samples" not in trials:
        return 0
    order = np.random.default_rng(0).permutation(len(labels))
    sparsest = min(
        int(np.delete(labels, order[k::folds], axis=0).sum(axis=0).min()) for k in range(folds)
    )
    return int((2 * trials["min_child_samples"] > sparsest).sum())


def _tuned(model: str, data, train, test, endpoints, trials, fixed, space=None, folds=3) -> dict:
    """Search on ``train`` only, refit the best on all of it, score it on ``test``."""
    from sciml.chem.tune import tune

    cpu, wall = time.process_time(), time.perf_counter()
    result = tune(
        data.smiles.iloc[train].tolist(),
        data.iloc[train][endpoints],
        model,
        trials=trials,
        folds=folds,
        seed=0,
        transforms="auto",
        fixed=fixed,
        progress=False,
        space=space,
    )
    search_cpu = time.process_time() - cpu
    scored = _fit_and_score(result.build(), data, train, test, endpoints)
    cv = result.trials["cv_r2"].to_numpy(dtype=float)
    return {
        **scored,
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.perf_counter() - wall,
        "search_cpu_s": search_cpu,
        "trials": int(len(cv)),
        "cv_default": float(cv[0]),
        "cv_best": float(result.best_score),
        "cv_min": float(np.nanmin(cv)),
        "cv_collapsed": int(np.sum(cv < 0.05)),
        "unsplittable": _unsplittable(
            result.trials, data.iloc[train][endpoints].notna().to_numpy(), folds
        ),
        "searched": result.best_params,
        "space": {k: repr(v) for k, v in result.space.items()},
    }


#: Called after each unit is stored (``main`` rewrites the results file: a run stopped at any
#: point leaves the table of what it finished).
AFTER_UNIT: list = []


def _unit(name: str, compute) -> dict:
    path = CACHE / f"{name}.json"
    if path.is_file():
        return json.loads(path.read_text())
    print(f"[tune_pays] {name} ...", flush=True)
    out = compute()
    CACHE.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as handle:
        json.dump(out, handle, indent=1, default=str)
    print(f"[tune_pays] {name}: {out.get('r2')} ({out.get('cpu_s', 0):.0f} CPU-s)", flush=True)
    for callback in AFTER_UNIT:
        callback()
    return out


def _subset(data, size: int, repeat: int) -> np.ndarray:
    """``size`` molecules drawn at random from outer fold 0's training part."""
    train, _ = _outer(len(data))[0]
    rng = np.random.default_rng(1000 * size + repeat)
    return np.sort(rng.choice(train, size, replace=False))


def part_small(data, trials: int) -> None:
    from sciml.chem.models import GBMModel

    _, test = _outer(len(data))[0]
    for size in SMALL_SIZES:
        for r in range(SMALL_REPEATS):
            train = _subset(data, size, r)
            key = f"small_{size}_{r}"
            _unit(
                f"{key}_default",
                lambda train=train: _fit_and_score(GBMModel(n_jobs=1), data, train, test, DENSE),
            )
            _unit(
                f"{key}_fixed_t{trials}",
                lambda train=train: _tuned(
                    "gbm",
                    data,
                    train,
                    test,
                    DENSE,
                    trials,
                    {"n_jobs": 1},
                    _old_gbm_space(),
                    folds=TUNE_FOLDS["small"],
                ),
            )
            _unit(
                f"{key}_scaled_t{trials}",
                lambda train=train: _tuned(
                    "gbm",
                    data,
                    train,
                    test,
                    DENSE,
                    trials,
                    {"n_jobs": 1},
                    folds=TUNE_FOLDS["small"],
                ),
            )


def part_full(data, trials: int) -> None:
    from sciml.chem.models import GBMModel

    folds = _outer(len(data))
    for k in FULL_FOLDS:
        train, test = folds[k]
        _unit(
            f"full_{k}_default",
            lambda train=train, test=test: _fit_and_score(
                GBMModel(n_jobs=1), data, train, test, ENDPOINTS
            ),
        )
        _unit(
            f"full_{k}_scaled_t{trials}",
            lambda train=train, test=test: _tuned(
                "gbm", data, train, test, ENDPOINTS, trials, {"n_jobs": 1}, folds=TUNE_FOLDS["full"]
            ),
        )


STACK_FIXED = {"threads": 1, "members": ["gbm", "gbm_rich"]}


def part_stack(data, trials: int) -> None:
    from sciml.chem.tune import best_from_options

    _, test = _outer(len(data))[0]
    train = _subset(data, STACK_SIZE, 0)
    _unit(
        "stack_default",
        lambda: _fit_and_score(best_from_options(STACK_FIXED), data, train, test, DENSE),
    )
    _unit(
        f"stack_tuned_t{trials}",
        lambda: _tuned("best", data, train, test, DENSE, trials, STACK_FIXED),
    )


def _load(name: str) -> dict | None:
    path = CACHE / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _md(frame: pd.DataFrame, index: bool = True) -> str:
    """Markdown table (pandas' to_markdown needs the optional tabulate package)."""
    frame = frame.reset_index() if index else frame

    def cell(v) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + " --- |" * len(frame.columns)]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


def _mean(r2: dict) -> float:
    return float(np.mean(list(r2.values())))


def _run_line() -> list[str]:
    """Which run computed the stored units (the header names the command that wrote the file)."""
    run = _load("run")
    if not run:
        return []
    return [
        f"Units computed by `{run['command']}` at commit {run['commit']}, started "
        f"{run['started']} UTC.",
        "",
    ]


def _verdict(trials: dict) -> list[str]:
    """The answer in numbers, from the stored units (parts not run are left out)."""
    out = []
    pairs = [
        (_load(f"full_{k}_default"), _load(f"full_{k}_scaled_t{trials['full']}"))
        for k in FULL_FOLDS
    ]
    pairs = [(d, t) for d, t in pairs if d and t]
    if pairs:
        diffs = [_mean(t["r2"]) - _mean(d["r2"]) for d, t in pairs]
        per_endpoint = {
            e: float(np.mean([t["r2"][e] - d["r2"][e] for d, t in pairs])) for e in ENDPOINTS
        }
        out.append(
            f"- **All data (GBM)**: mean test R² {np.mean([_mean(d['r2']) for d, _ in pairs]):.3f} "
            f"(defaults) → {np.mean([_mean(t['r2']) for _, t in pairs]):.3f} (tuned), "
            f"{np.mean(diffs):+.3f} on average over {len(pairs)} outer folds "
            f"(per fold {', '.join(f'{x:+.3f}' for x in diffs)}; better on "
            f"{sum(x > 0 for x in diffs)} of {len(diffs)}); better on "
            f"{sum(v > 0 for v in per_endpoint.values())} of {len(ENDPOINTS)} endpoints on "
            f"average. Search + refit cost {np.mean([t['cpu_s'] for _, t in pairs]):.0f} CPU-s "
            f"per fold against {np.mean([d['cpu_s'] for d, _ in pairs]):.0f} for the default fit."
        )
    small = []
    for size in SMALL_SIZES:
        for r in range(SMALL_REPEATS):
            key = f"small_{size}_{r}"
            units = [
                _load(f"{key}_default"),
                _load(f"{key}_fixed_t{trials['small']}"),
                _load(f"{key}_scaled_t{trials['small']}"),
            ]
            if all(units):
                small.append(units)
    if small:
        n_trials = sum(f["trials"] for _, f, _ in small)
        out.append(
            f"- **Small data ({len(small)} subsets of {', '.join(map(str, SMALL_SIZES))} "
            f"molecules)**: trials with an endpoint LightGBM cannot split: fixed ranges "
            f"{sum(f['unsplittable'] for _, f, _ in small)} of {n_trials}, scaled "
            f"{sum(s['unsplittable'] for _, _, s in small)} of "
            f"{sum(s['trials'] for _, _, s in small)}. Mean test R²: defaults "
            f"{np.mean([_mean(d['r2']) for d, _, _ in small]):.3f}, tuned in the fixed ranges "
            f"{np.mean([_mean(f['r2']) for _, f, _ in small]):.3f}, in the scaled space "
            f"{np.mean([_mean(s['r2']) for _, _, s in small]):.3f}; scaled beats the defaults "
            f"on {sum(_mean(s['r2']) > _mean(d['r2']) for d, _, s in small)} of {len(small)} "
            f"subsets and the fixed ranges on "
            f"{sum(_mean(s['r2']) > _mean(f['r2']) for _, f, s in small)}."
        )
    default, tuned = _load("stack_default"), _load(f"stack_tuned_t{trials['stack']}")
    if default and tuned:
        out.append(
            f"- **Stack (no GNN), 150 molecules**: mean test R² {_mean(default['r2']):.3f} → "
            f"{_mean(tuned['r2']):.3f}; the best of {tuned['trials']} trials on the inner folds "
            f"was trial 0 (the defaults, clipped)"
            if tuned["cv_best"] == tuned["cv_default"]
            else f"- **Stack (no GNN), 150 molecules**: mean test R² {_mean(default['r2']):.3f} "
            f"→ {_mean(tuned['r2']):.3f}."
        )
    return ["## Verdict", "", *out, ""] if out else []


def report(command: str, trials: dict) -> str:
    lines = [
        "# Does tuning pay? Defaults against `sciml tune` on held-out folds (Biogen ADME)",
        "",
        machine_info(("numpy", "lightgbm", "optuna", "rdkit"), command=command),
        "Every search ran on the training part only (K-fold CV inside it: "
        f"{TUNE_FOLDS}; trial 0 = the defaults); the outer test part scored each final model once. R² in physical units "
        "(the Biogen endpoints are log10 already; `--transform auto` keeps them). One thread. "
        f"Trials: small {trials['small']}, full {trials['full']}, stack {trials['stack']}.",
        "",
        *_run_line(),
        *_verdict(trials),
    ]
    # ---- small data
    rows = []
    for size in SMALL_SIZES:
        for r in range(SMALL_REPEATS):
            key = f"small_{size}_{r}"
            found = {
                "default": _load(f"{key}_default"),
                "fixed": _load(f"{key}_fixed_t{trials['small']}"),
                "scaled": _load(f"{key}_scaled_t{trials['small']}"),
            }
            if not all(found.values()):
                continue
            row = {"training molecules": size, "subset": r}
            for arm, res in found.items():
                row[f"{arm} test R²"] = _mean(res["r2"])
            for arm in ("fixed", "scaled"):
                res = found[arm]
                row[f"{arm}: trials with an unsplittable endpoint"] = (
                    f"{res['unsplittable']} of {res['trials']}"
                )
                row[f"{arm}: trials CV R² < 0.05"] = f"{res['cv_collapsed']} of {res['trials']}"
                row[f"{arm}: worst trial CV R²"] = res["cv_min"]
            row["CPU s (all arms)"] = sum(res["cpu_s"] for res in found.values())
            rows.append(row)
    lines += [
        "## Small data: the fixed ranges collapse, the scaled space does not",
        "",
        f"Training subsets of outer fold 0's training part; test: its test part "
        f"({len(_outer(3521)[0][1])} molecules); endpoints {', '.join(DENSE)} (mean test R²). "
        "*fixed*: the ranges `tune` had before (`min_child_samples` 3-60, `num_leaves` "
        "8-128); *scaled*: `search_space(model, n)` (leaf sizes ≤ n/4 of the sparsest "
        "endpoint, leaves ≤ n/8) plus the feature-set choice.",
        "",
    ]
    lines += [_md(pd.DataFrame(rows), index=False) if rows else "(not run)"]
    lines.append("")
    # ---- full data
    rows, per_endpoint = [], []
    for k in FULL_FOLDS:
        default, tuned = _load(f"full_{k}_default"), _load(f"full_{k}_scaled_t{trials['full']}")
        if not (default and tuned):
            continue
        rows.append(
            {
                "outer fold": k,
                "default test R²": _mean(default["r2"]),
                "tuned test R²": _mean(tuned["r2"]),
                "tuned − default": _mean(tuned["r2"]) - _mean(default["r2"]),
                "CV R² trial 0 (defaults)": tuned["cv_default"],
                "CV R² best trial": tuned["cv_best"],
                "chosen": ", ".join(
                    f"{k2}={v:.3g}" if isinstance(v, float) else f"{k2}={v}"
                    for k2, v in tuned["searched"].items()
                ),
                "CPU s default": default["cpu_s"],
                "CPU s tune + refit": tuned["cpu_s"],
                "wall s tune + refit": tuned["wall_s"],
            }
        )
        for e in ENDPOINTS:
            per_endpoint.append(
                {
                    "outer fold": k,
                    "endpoint": e,
                    "default": default["r2"][e],
                    "tuned": tuned["r2"][e],
                }
            )
    lines += [
        "## All data: GBM defaults against GBM tuned in the scaled space",
        "",
        "Outer folds of `kfold(3521, 5, seed=0)` (~2,817 training molecules each), six endpoints.",
        "",
        _md(pd.DataFrame(rows), index=False) if rows else "(not run)",
        "",
    ]
    if per_endpoint:
        frame = pd.DataFrame(per_endpoint).groupby("endpoint")[["default", "tuned"]].mean()
        frame = frame.loc[ENDPOINTS]
        frame["tuned − default"] = frame["tuned"] - frame["default"]
        lines += [
            f"Mean test R² per endpoint over the {len(rows)} outer fold(s):",
            "",
            _md(frame),
            "",
        ]
    # ---- stack
    default, tuned = _load("stack_default"), _load(f"stack_tuned_t{trials['stack']}")
    lines += ["## The stack (best recipe without its GNN), 150 training molecules", ""]
    if default and tuned:
        frame = pd.DataFrame({"default": default["r2"], "tuned": tuned["r2"]})
        frame.index.name = "endpoint"
        frame["tuned − default"] = frame["tuned"] - frame["default"]
        lines += [
            _md(frame),
            "",
            f"Mean: default {_mean(default['r2']):.3f}, tuned {_mean(tuned['r2']):.3f}; "
            f"CV R² of trial 0 (defaults) {tuned['cv_default']:.3f}, best trial "
            f"{tuned['cv_best']:.3f} of {tuned['trials']}. Chosen: `{tuned['searched']}`. "
            f"CPU s: default {default['cpu_s']:.0f}, tune + refit {tuned['cpu_s']:.0f} "
            f"(wall {tuned['wall_s']:.0f}).",
            "",
        ]
    else:
        lines += ["(not run)", ""]
    names = [
        f"full_{k}_{arm}" for k in FULL_FOLDS for arm in ("default", f"scaled_t{trials['full']}")
    ]
    names += [
        f"small_{size}_{r}_{arm}"
        for size in SMALL_SIZES
        for r in range(SMALL_REPEATS)
        for arm in ("default", f"fixed_t{trials['small']}", f"scaled_t{trials['small']}")
    ]
    names += ["stack_default", f"stack_tuned_t{trials['stack']}"]
    total = sum(unit["cpu_s"] for name in names if (unit := _load(name)))
    lines += [f"Total CPU seconds of the stored units: {total:.0f}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--parts", nargs="+", default=["full", "small", "stack"], choices=("small", "full", "stack")
    )
    parser.add_argument("--small-trials", type=int, default=12, help="trials per small search")
    parser.add_argument("--full-trials", type=int, default=8, help="trials per full-data search")
    parser.add_argument("--stack-trials", type=int, default=4, help="trials of the stack search")
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild the markdown from stored units"
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    command = command_line()
    trials = {"small": args.small_trials, "full": args.full_trials, "stack": args.stack_trials}

    def write() -> None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        with atomic_write(RESULTS / f"{STEM}.md", "w") as handle:
            handle.write(report(command, trials))

    if not args.report_only:
        import datetime

        CACHE.mkdir(parents=True, exist_ok=True)
        with atomic_write(CACHE / "run.json", "w") as handle:
            started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
            json.dump({"command": command, "commit": git_commit(), "started": started}, handle)
        AFTER_UNIT.append(write)
        data = _data()
        parts = {"small": part_small, "full": part_full, "stack": part_stack}
        for part in args.parts:
            parts[part](data, trials[part])
    write()
    print(f"wrote {RESULTS / f'{STEM}.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
