"""CatBoost beside LightGBM in the default ADME stack (issue 27, item 3), decided on inner folds.

The variant: :func:`sciml.chem.models.best_recipe` with ``members=("gbm", "gbm_rich", "gnn",
"catboost_rich")`` -- the declared recipe plus CatBoost on ``gbm_rich``'s features
(:class:`sciml.chem.models.CatBoostModel` defaults: 1000 rounds, lr 0.05, depth 6, rsm 0.1),
fitted on the same folds as ``adme_best.py`` (study protocol, random 5-fold) and the same
Fang training sets, one thread.

**Decision rule, fixed before any run** (and overruled after the runs; the report says why):
CatBoost joins the default recipe if the stack with it has the higher *inner-fold* R² (the out-of-fold predictions of the 3 inner folds of each
training fold, on which the weights are fitted; no test molecule) on at least 4 of the 6
endpoints, averaged over the folds run. Test-fold R² and Fang test Pearson are reported for
both recipes but play no part in the decision.

    SCIML_DATA_DIR=../shared/data python benchmarks/adme_catboost.py --parts random fang

Resumable: each finished fold or endpoint is stored in ``benchmarks/.cache/adme_catboost``;
the declared recipe's folds are read from ``benchmarks/.cache/adme_best`` (run
``adme_best.py`` first). ``--report-only`` rebuilds ``benchmarks/results/adme_catboost.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks import adme_best as base  # noqa: E402
from benchmarks._machine import command_line, machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402

CACHE = ROOT / ".cache" / "adme_catboost"
MEMBERS = ("gbm", "gbm_rich", "gnn", "catboost_rich")
ENDPOINTS = base.ENDPOINTS
OUT = ROOT / "results" / "adme_catboost.md"


def _load(folder: Path, pattern: str) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob(pattern))}


def random_rows(data: pd.DataFrame) -> tuple[list[str], dict]:
    """The random-fold comparison: inner-fold and test R² per endpoint, both recipes."""
    ours, theirs = _load(CACHE, "random_fold*.json"), _load(base.CACHE, "random_fold*.json")
    common = sorted(set(ours) & set(theirs))
    if not common:
        return ["No random fold has been run with CatBoost yet.\n"], {}
    truth = data[ENDPOINTS].to_numpy()

    def test_r2(fold: dict, pred) -> list[float]:
        y, p = truth[fold["rows"]], np.asarray(pred, float)
        return [base._r2(y[:, j], p[:, j]) for j in range(len(ENDPOINTS))]

    inner = {
        "declared": np.mean(
            [[theirs[f]["inner_r2"][e]["stack"] for e in ENDPOINTS] for f in common], 0
        ),
        "with CatBoost": np.mean(
            [[ours[f]["inner_r2"][e]["stack"] for e in ENDPOINTS] for f in common], 0
        ),
    }
    inner_cat = np.mean(
        [[ours[f]["inner_r2"][e]["catboost_rich"] for e in ENDPOINTS] for f in common], 0
    )
    inner_lgbm = np.mean(
        [[ours[f]["inner_r2"][e]["gbm_rich"] for e in ENDPOINTS] for f in common], 0
    )
    test = {
        "declared": np.mean([test_r2(theirs[f], theirs[f]["pred"]) for f in common], 0),
        "with CatBoost": np.mean([test_r2(ours[f], ours[f]["pred"]) for f in common], 0),
        "catboost_rich alone": np.mean(
            [test_r2(ours[f], ours[f]["members"]["catboost_rich"]) for f in common], 0
        ),
        "gbm_rich alone": np.mean(
            [test_r2(ours[f], ours[f]["members"]["gbm_rich"]) for f in common], 0
        ),
    }
    member_r2 = {
        label: np.mean([test_r2(ours[f], ours[f]["members"][label]) for f in common], 0)
        for label in MEMBERS
    }
    best_member = np.max(np.stack(list(member_r2.values())), axis=0)
    gap = best_member - test["with CatBoost"]  # > 0: the stack below its best member
    weights = np.mean(
        [[ours[f]["weights"][e]["catboost_rich"] for e in ENDPOINTS] for f in common], 0
    )
    wins = int((inner["with CatBoost"] > inner["declared"]).sum())
    member_wins = int((inner_cat > inner_lgbm + 5e-4).sum())
    cpu = {
        "declared": np.mean([theirs[f]["cpu_s"] for f in common]),
        "with CatBoost": np.mean([ours[f]["cpu_s"] for f in common]),
    }
    head = "| | " + " | ".join(ENDPOINTS) + " | mean |\n|---|" + "---|" * (len(ENDPOINTS) + 1)

    def line(name, values, fmt="{:.3f}"):
        return (
            f"| {name} | "
            + " | ".join(fmt.format(v) for v in values)
            + f" | {fmt.format(np.mean(values))} |"
        )

    md = [
        f"## Study protocol, random folds ({len(common)} of 5: {', '.join(common)})\n",
        "**Inner-fold R² (what decides):** the stack's R² on the out-of-fold predictions of "
        "the 3 inner folds of each training fold, mean over folds; and the two tree members "
        "alone on the same inner folds.\n",
        head,
        line("stack, declared recipe", inner["declared"]),
        line("stack, with CatBoost", inner["with CatBoost"]),
        line("member gbm_rich (LightGBM)", inner_lgbm),
        line("member catboost_rich (CatBoost)", inner_cat),
        line("CatBoost's stacking weight", weights, "{:.2f}"),
        "",
        f"The stack with CatBoost is higher on inner folds on **{wins} of 6** endpoints "
        f"(the rule fixed before the runs: at least 4 -> "
        f"{'join' if wins >= 4 else 'do not join'}).\n",
        "Caveat on that rule: the stack's weights are fitted on the same inner-fold predictions "
        "it is scored on, so adding a member cannot lower that score (the weights may set it to "
        "0); it cannot say no. The issue's own criterion -- CatBoost beside LightGBM *if it "
        "wins on validation folds* -- compares the two tree members on the same inner folds: "
        f"CatBoost is better than LightGBM on gbm_rich's features on **{member_wins} of 6** "
        f"endpoints (mean {inner_cat.mean():.3f} vs {inner_lgbm.mean():.3f}).\n",
        "**Decision: the default keeps the 3-member stack; CatBoost is opt-in** (`sciml fit "
        "--members gbm,gbm_rich,gnn,catboost_rich`, `best_recipe(members=...)`). This goes "
        "against the rule fixed before the runs, and it was made after the test folds below "
        "had been seen (no gain at twice the cost), so it is not a clean validation-only "
        "choice; the validation-only reason is the issue's criterion above. Both verdicts and "
        "every number stay in this file.\n",
        "**Test folds (reported, not used to decide):** mean R² over the same folds.\n",
        head,
        *(line(name, v) for name, v in test.items()),
        "",
        "`--model best` against its best member on the test folds (goal: at most 0.005 "
        "below it on every endpoint): shortfall per endpoint "
        + ", ".join(f"{e} {g:+.3f}" for e, g in zip(ENDPOINTS, gap, strict=True))
        + f" (largest {gap.max():+.3f}; negative: the stack is above every member).\n",
        f"Cost per fold (3 inner fits + 1 full fit of each member, one thread): declared "
        f"{cpu['declared']:.0f} CPU-s, with CatBoost {cpu['with CatBoost']:.0f} CPU-s "
        f"({cpu['with CatBoost'] / cpu['declared']:.2f}x).\n",
    ]
    summary = {
        "wins": wins,
        "member_wins": member_wins,
        "folds": len(common),
        "inner": inner,
        "test": test,
    }
    summary["member_gap"] = {e: float(g) for e, g in zip(ENDPOINTS, gap, strict=True)}
    return md, summary


def fang_rows(summary: dict | None = None) -> list[str]:
    ours, theirs = _load(CACHE, "fang_*.json"), _load(base.CACHE, "fang_*.json")
    common = [f"fang_{e}" for e in ENDPOINTS if f"fang_{e}" in ours and f"fang_{e}" in theirs]
    if not common:
        return ["No Fang endpoint has been run with CatBoost yet.\n"]
    if summary is not None:
        summary["fang"] = {
            c.removeprefix("fang_"): {
                "declared": base._pearson(theirs[c]["truth"], theirs[c]["pred"]),
                "with CatBoost": base._pearson(ours[c]["truth"], ours[c]["pred"]),
            }
            for c in common
        }
    names = [c.removeprefix("fang_") for c in common]
    md = [
        "## Fang split: test Pearson per endpoint (reported, not used to decide)\n",
        "| | " + " | ".join(names) + " | mean |\n|---|" + "---|" * (len(names) + 1),
    ]
    for label, store, key in (
        ("declared recipe", theirs, None),
        ("with CatBoost", ours, None),
        ("catboost_rich alone", ours, "catboost_rich"),
    ):
        values = [
            base._pearson(
                store[c]["truth"], store[c]["pred"] if key is None else store[c]["members"][key]
            )
            for c in common
        ]
        md.append(
            f"| {label} | " + " | ".join(f"{v:.3f}" for v in values) + f" | {np.mean(values):.3f} |"
        )
    inner = [(ours[c]["inner_r2"]["stack"], theirs[c]["inner_r2"]["stack"]) for c in common]
    md.append(
        "\nInner-fold R² of the stack (Fang training sets), with / without CatBoost: "
        + ", ".join(f"{n} {a:.3f} / {b:.3f}" for n, (a, b) in zip(names, inner, strict=True))
        + ".\n"
    )
    return md


def report(data: pd.DataFrame) -> None:
    random_md, summary = random_rows(data)
    stored = list(_load(CACHE, "*.json").values())
    md = [
        "# CatBoost in the default ADME stack (issue 27, item 3)\n",
        "Variant: `best_recipe(members=('gbm', 'gbm_rich', 'gnn', 'catboost_rich'))` -- the "
        "declared recipe plus `CatBoostModel` (defaults: 1000 rounds, lr 0.05, depth 6, "
        "rsm 0.1, 64 borders) on `gbm_rich`'s features (Morgan counts r=2 + RDKit "
        "descriptors + Avalon, ErG, MACCS), same folds and seeds as `adme_best.py`, one "
        "thread. **Rule fixed before running:** CatBoost joins the default if the stack with "
        "it has the higher inner-fold R² on at least 4 of 6 endpoints; test numbers are "
        "reported only. The decision below overrules it, and says why.\n",
        machine_info(("numpy", "scikit-learn", "lightgbm", "catboost", "torch", "rdkit")),
        "",
        "Stored runs made by: "
        + ", ".join(f"`{c}`" for c in sorted({r.get("command", "?") for r in stored}))
        + f" (commit(s) {', '.join(sorted({r.get('git', '?') for r in stored}))}).\n",
        *random_md,
        *fang_rows(summary),
    ]
    with atomic_write(OUT) as handle:
        handle.write("\n".join(md) + "\n")
    with atomic_write(OUT.with_suffix(".json")) as handle:
        json.dump(
            {
                "command": command_line(),
                "wins": summary.get("wins"),
                "member_wins": summary.get("member_wins"),
                "folds": summary.get("folds"),
                "fang_pearson": summary.get("fang", {}),
                "member_gap": summary.get("member_gap", {}),
                **{
                    f"{kind}_{name}": [float(v) for v in values]
                    for kind in ("inner", "test")
                    for name, values in summary.get(kind, {}).items()
                },
            },
            handle,
            indent=1,
        )
    print(f"wrote {OUT}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=("random", "fang"),
        default=["random", "fang"],
        help="what to run (default both)",
    )
    parser.add_argument("--folds", default="0,1,2,3,4", help="random folds to run (e.g. 0,1)")
    parser.add_argument("--threads", type=int, default=1, help="threads per model (default 1)")
    parser.add_argument("--report-only", action="store_true", help="rebuild the report only")
    args = parser.parse_args(argv)
    data = base._data()
    if not args.report_only:
        if "random" in args.parts:
            for k in (int(f) for f in args.folds.split(",")):
                base.run_fold(data, "random", k, args.threads, members=MEMBERS, cache=CACHE)
                report(data)
        if "fang" in args.parts:
            for endpoint in ENDPOINTS:
                base.run_fang(endpoint, args.threads, members=MEMBERS, cache=CACHE)
                report(data)
    report(data)


if __name__ == "__main__":
    main()
