"""The RT's generation settings, measured on validation seeds only: how much the primer steers.

For the shipped SELFIES QED RT (``--model``), ``--n-seeds`` random seeds from each validation
part of the corpus of :mod:`benchmarks.rt_corpus` (``moses_val``, ``chembl_val``; never the
test parts that ``rt_goals.py`` scores), primers 0.3/0.5/0.7/0.9, 2 molecules per seed and
primer, and for every setting in :data:`CONFIGS`: Spearman(primer, RDKit QED of the output)
with its p value, mean RDKit QED per primer, mean Tanimoto (Morgan r=2) of output to seed,
single-fill validity and CPU seconds per 200 molecules (the measures of ``rt_goals.py``).

The rule that picks ``GenerationConfig.similarity`` (:func:`choose_similarity`, written down
in session 5 before any setting with a similarity weight was measured): among the settings
of :data:`SIMILARITY_SWEEP` (one pass, 32 fills, similarity 0 / 0.1 / 0.3 / 1), those whose
mean Tanimoto to the seed reaches 0.5 (the issue's locality goal) on both validation seed
sets and whose min(Spearman MOSES, Spearman ChEMBL) is at least 0.3 qualify, and the one
with the highest min Spearman wins; if none qualifies, the one with the highest min
Tanimoto among those whose min Spearman is at least 0.9 times that of similarity 0 (a
locality gain that costs little steering). Added after five of the eight
measurements of that sweep and before the rest (Tanimoto 0.22-0.31 so far): if no setting
of the sweep reaches Tanimoto 0.5, :data:`LOCAL_SWEEP` (mask fraction 0.1 or 0.15 with
similarity 1 or 3; the mask fraction then becomes part of the default) joins the candidates
and the same rule picks from the union.

The rule that picks ``GenerationConfig.min_similarity`` (:func:`choose_min_similarity`,
written down in session 6 before any setting with a bound was measured): the settings of
:data:`BOUND_SWEEP` (a hard bound of 0.4 or 0.5 on the Tanimoto similarity of every fill to
its seed, 32 or 64 fills, mask fraction 0.25) and the current default (``steps1_best32_sim1``)
qualify when, on both validation seed sets, their mean Tanimoto to the seed is at least 0.5,
their Spearman at least 0.3, their cost at most 60 CPU-s per 200 molecules (the issue's cost
goal) and they return at least 90% of the molecules asked; the one with the highest
min(Spearman MOSES, Spearman ChEMBL) wins. If none qualifies the default stays as it is.

The rule that picks ``GenerationConfig.pool`` (:func:`choose_pool`, written down in session 9
before any setting with a pool was measured): the settings of :data:`POOL_SWEEP` (2, 4 or 8
candidates per molecule asked, 64 fills per molecule asked in all, similarity 0.3 or 1, mask
fraction 0.25 or 0.15) and the incumbent default (``steps1_best32_sim1``, pool 1, measured
again in the same run) qualify when, on both validation seed sets, they cost at most 60 CPU-s
per 200 molecules (the issue's cost goal) and return at least 90% of the molecules asked.
The winner has the highest *goal score*: the smallest of Spearman / 0.5 and mean Tanimoto /
0.5 over both seed sets (the issue asks for Spearman >= 0.5 and Tanimoto >= 0.5, from MOSES
and from drug-like seeds, so a score of 1 meets all four); scores within 0.01 of the best go
to the cheapest. The winner's pool, fills, similarity weight and mask fraction become the
SELFIES defaults (``AUTO_SETTINGS["selfies"]``). That sweep chose ``pool8_best8_sim03_mf015``
(goal score 0.96; 8 candidates of 8 fills, similarity 0.3, mask fraction 0.15: Spearman 0.719
/ 0.481, Tanimoto 0.55 / 0.55). Added after it and before any of them was measured:
:data:`POOL_SWEEP2` (the same 64 fills per molecule asked, as 8 x 8 or 16 x 4, similarity 0.1
to 0.5, mask fraction 0.15 or 0.2, around that choice) joins the candidates and the same rule
picks from the union.

The rule that picks ``sciml.rt.generation.AUTO_SETTINGS["selfies"]`` (:func:`choose`, written
down before the last three settings were measured): the mask fraction stays at its default
0.25; among those settings, the highest min(Spearman on MOSES seeds, Spearman on ChEMBL seeds)
whose cost is at most 40 CPU-s per 200 molecules on both seed sets.

    SCIML_DATA_DIR=../shared/data python benchmarks/rt_generation_settings.py
    python benchmarks/rt_generation_settings.py --report-only   # rewrite the markdown
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._machine import command_line, git_commit, machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "rt_generation_settings.json"


def _pooled(pool: int, best_of: int, similarity: float, mask_fraction: float | None = None):
    """A one-pass setting with ``pool`` candidates per molecule asked (session 9's sweeps)."""
    out = dict(n_steps=1, best_of=best_of, similarity=similarity, pool=pool)
    return out if mask_fraction is None else {**out, "mask_fraction": mask_fraction}


#: Settings measured (GenerationConfig fields); "default" is the setting before this study
#: (token-by-token fills, 4 fills per candidate).
CONFIGS = {
    "default": dict(n_steps=None, best_of=4),
    "steps2_best16": dict(n_steps=2, best_of=16),
    "steps1_best16": dict(n_steps=1, best_of=16),
    "steps2_best32": dict(n_steps=2, best_of=32),
    "steps2_best16_mf015": dict(n_steps=2, best_of=16, mask_fraction=0.15),
    "steps2_best16_mf04": dict(n_steps=2, best_of=16, mask_fraction=0.4),
    "steps1_best32": dict(n_steps=1, best_of=32),
    "steps1_best64": dict(n_steps=1, best_of=64),
    "steps1_best64_mf015": dict(n_steps=1, best_of=64, mask_fraction=0.15),
    # Session 5: similarity to the seed in the reranking (GenerationConfig.similarity).
    "steps1_best32_sim01": dict(n_steps=1, best_of=32, similarity=0.1),
    "steps1_best32_sim03": dict(n_steps=1, best_of=32, similarity=0.3),
    "steps1_best32_sim1": dict(n_steps=1, best_of=32, similarity=1.0),
    "steps1_best32_sim1_mf015": dict(n_steps=1, best_of=32, similarity=1.0, mask_fraction=0.15),
    "steps1_best32_sim3_mf015": dict(n_steps=1, best_of=32, similarity=3.0, mask_fraction=0.15),
    "steps1_best32_sim1_mf01": dict(n_steps=1, best_of=32, similarity=1.0, mask_fraction=0.1),
    "steps1_best32_sim3_mf01": dict(n_steps=1, best_of=32, similarity=3.0, mask_fraction=0.1),
    # Session 6: a hard similarity bound (GenerationConfig.min_similarity).
    "steps1_best32_min04": dict(n_steps=1, best_of=32, similarity=0.0, min_similarity=0.4),
    "steps1_best32_min05": dict(n_steps=1, best_of=32, similarity=0.0, min_similarity=0.5),
    "steps1_best64_min04": dict(n_steps=1, best_of=64, similarity=0.0, min_similarity=0.4),
    "steps1_best64_min05": dict(n_steps=1, best_of=64, similarity=0.0, min_similarity=0.5),
    "steps1_best64_sim1_min04": dict(n_steps=1, best_of=64, similarity=1.0, min_similarity=0.4),
    # Session 9: several masks per molecule asked, the best kept (GenerationConfig.pool).
    "pool2_best32_sim1": _pooled(2, 32, 1.0),
    "pool4_best16_sim1": _pooled(4, 16, 1.0),
    "pool4_best16_sim03": _pooled(4, 16, 0.3),
    "pool8_best8_sim1": _pooled(8, 8, 1.0),
    "pool4_best16_sim1_mf015": _pooled(4, 16, 1.0, 0.15),
    "pool4_best16_sim03_mf015": _pooled(4, 16, 0.3, 0.15),
    "pool8_best8_sim03_mf015": _pooled(8, 8, 0.3, 0.15),
    "pool16_best4_sim03_mf015": _pooled(16, 4, 0.3, 0.15),
    "pool8_best8_sim01_mf015": _pooled(8, 8, 0.1, 0.15),
    "pool16_best4_sim01_mf015": _pooled(16, 4, 0.1, 0.15),
    "pool8_best8_sim05_mf015": _pooled(8, 8, 0.5, 0.15),
    "pool8_best8_sim03_mf02": _pooled(8, 8, 0.3, 0.2),
    "pool16_best4_sim05_mf02": _pooled(16, 4, 0.5, 0.2),
}
#: The settings whose ``similarity`` :func:`choose_similarity` compares (0 first).
SIMILARITY_SWEEP = (
    "steps1_best32",
    "steps1_best32_sim01",
    "steps1_best32_sim03",
    "steps1_best32_sim1",
)
#: Joins the candidates of :func:`choose_similarity` when no setting above reaches the goal.
LOCAL_SWEEP = (
    "steps1_best32_sim1_mf015",
    "steps1_best32_sim3_mf015",
    "steps1_best32_sim1_mf01",
    "steps1_best32_sim3_mf01",
)
#: The settings with a hard similarity bound that :func:`choose_min_similarity` compares.
BOUND_SWEEP = (
    "steps1_best32_min04",
    "steps1_best32_min05",
    "steps1_best64_min04",
    "steps1_best64_min05",
    "steps1_best64_sim1_min04",
)
#: The settings with several candidates per molecule asked that :func:`choose_pool` compares.
POOL_SWEEP = (
    "pool2_best32_sim1",
    "pool4_best16_sim1",
    "pool4_best16_sim03",
    "pool8_best8_sim1",
    "pool4_best16_sim1_mf015",
    "pool4_best16_sim03_mf015",
    "pool8_best8_sim03_mf015",
)
#: Joins :data:`POOL_SWEEP` in :func:`choose_pool` (added after it, before being measured).
POOL_SWEEP2 = (
    "pool16_best4_sim03_mf015",
    "pool8_best8_sim01_mf015",
    "pool16_best4_sim01_mf015",
    "pool8_best8_sim05_mf015",
    "pool8_best8_sim03_mf02",
    "pool16_best4_sim05_mf02",
)
SCORE_TIE = 0.01  # goal scores this close count as equal (the cheaper wins)
#: The default before the bound (session 5's choice), the bound sweep's incumbent.
BOUND_INCUMBENT = "steps1_best32_sim1"
BOUND_MAX_COST = 60.0  # CPU-s per 200 molecules: the issue's generation cost goal
MIN_RETURNED = 0.9  # share of the molecules asked
LOCALITY_GOAL = 0.5  # mean Tanimoto to seed, issue 25
SPEARMAN_FLOOR = 0.3
SEED_SETS = ("moses_val", "chembl_val")
#: Why the default differs from this record's choice (session 4).
DEFAULT_NOTE = (
    "chosen by the same rule (written after the first six settings had been measured and "
    "before the last three) in a first run of this study on the RT shipped before the current "
    "one, with this script's first version, where steps1_best32 led (Spearman 0.673 / 0.494). "
    "This record is the rerun on the current RT, where the rule prefers steps2_best32 (0.413 "
    "against 0.359 as the worse of the two seed sets, 20 seeds each). The default was not "
    "switched: with steps2_best32 a rerun of `rt_goals.py` chose another model to ship by its "
    "validation rule (the 8-epoch SELFIES RT), so the shipped model and its default generation "
    "settings have to be settled together in a later run; `rt_goals.md` measures the shipped "
    "RT with steps1_best32."
)
MAX_COST = 40.0  # CPU-s per 200 molecules, on each seed set


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--model",
        type=Path,
        default=ROOT / "sciml" / "assets" / "demo_rt.pt",
        help="RT checkpoint (default: the shipped demo_rt.pt)",
    )
    p.add_argument("--n-seeds", type=int, default=20, help="seeds per validation set (default 20)")
    p.add_argument(
        "--configs",
        nargs="+",
        choices=list(CONFIGS),
        default=list(CONFIGS),
        help="settings to measure (default: all); others keep their stored results",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--report-only", action="store_true", help="rewrite the markdown from the JSON only"
    )
    p.add_argument("--out", type=Path, default=RESULTS, help="JSON to write (markdown beside)")
    return p.parse_args(argv)


def measure(args) -> dict:
    import torch

    from benchmarks import rt_goals
    from sciml.rt import RegressionTransformer

    torch.set_num_threads(args.threads)
    rt = RegressionTransformer.load(args.model, map_location="cpu")
    parts, _ = rt_goals.corpus()
    rng = np.random.default_rng(123)
    seeds = {
        name: parts[name]["canonical"]
        .to_numpy()[rng.choice(len(parts[name]), args.n_seeds, replace=False)]
        .tolist()
        for name in SEED_SETS
    }
    record = json.loads(args.out.read_text()) if args.out.is_file() else {"results": {}}
    for name in args.configs:
        for set_name, set_seeds in seeds.items():
            r = rt_goals.generation(rt, set_seeds, 2, **CONFIGS[name])
            record["results"][f"{name}/{set_name}"] = r
            print(
                f"[{time.strftime('%H:%M:%S')}] {name} {set_name}: Spearman "
                f"{r['spearman']:.3f}, Tanimoto {r['tanimoto_mean']:.2f}, "
                f"{r['cpu_seconds_per_200']:.1f} CPU-s per 200",
                flush=True,
            )
    record.update(
        command=command_line(),
        git_commit=git_commit(),
        model=str(args.model),
        n_seeds=args.n_seeds,
        machine=machine_info(("numpy", "torch", "rdkit", "selfies")),
    )
    with atomic_write(args.out) as handle:
        handle.write(json.dumps(record, indent=1, default=float))
    return record


def choose(results: dict) -> str | None:
    """The rule of the module docstring: default mask fraction, cost cap, best worst-set rho."""
    best, best_score = None, -np.inf
    for name, config in CONFIGS.items():
        rows = [results.get(f"{name}/{s}") for s in SEED_SETS]
        if (
            "mask_fraction" in config
            or "similarity" in config
            or "min_similarity" in config
            or any(r is None for r in rows)
        ):
            continue
        if max(r["cpu_seconds_per_200"] for r in rows) > MAX_COST:
            continue
        score = min(r["spearman"] for r in rows)
        if score > best_score:
            best, best_score = name, score
    return best


def choose_similarity(results: dict) -> str | None:
    """The similarity rule of the module docstring; None until the sweep it needs is measured."""

    def rows(names):
        return {n: [results.get(f"{n}/{s}") for s in SEED_SETS] for n in names}

    def measured(table):
        return all(r is not None for v in table.values() for r in v)

    table = rows(SIMILARITY_SWEEP)
    if not measured(table):
        return None
    tani = {n: min(r["tanimoto_mean"] for r in v) for n, v in table.items()}
    if max(tani.values()) < LOCALITY_GOAL:
        table.update(rows(LOCAL_SWEEP))
        if not measured(table):
            return None
    rho = {n: min(r["spearman"] for r in v) for n, v in table.items()}
    tani = {n: min(r["tanimoto_mean"] for r in v) for n, v in table.items()}
    qualified = [n for n in table if tani[n] >= LOCALITY_GOAL and rho[n] >= SPEARMAN_FLOOR]
    if qualified:
        return max(qualified, key=lambda n: rho[n])
    cheap = [n for n in table if rho[n] >= 0.9 * rho[SIMILARITY_SWEEP[0]]]
    return max(cheap, key=lambda n: tani[n])


def choose_min_similarity(results: dict) -> str | None:
    """The bound rule of the module docstring; None until its sweep is measured."""
    names = (BOUND_INCUMBENT, *BOUND_SWEEP)
    table = {n: [results.get(f"{n}/{s}") for s in SEED_SETS] for n in names}
    if any(r is None for v in table.values() for r in v):
        return None

    def ok(r):
        return (
            r["tanimoto_mean"] >= LOCALITY_GOAL
            and r["spearman"] >= SPEARMAN_FLOOR
            and r["cpu_seconds_per_200"] <= BOUND_MAX_COST
            and r["n_returned"] >= MIN_RETURNED * r["n_asked"]
        )

    qualified = [n for n, v in table.items() if all(ok(r) for r in v)]
    if not qualified:
        return BOUND_INCUMBENT
    return max(qualified, key=lambda n: min(r["spearman"] for r in table[n]))


def goal_score(rows: list[dict]) -> float:
    """The smallest of Spearman / 0.5 and Tanimoto / 0.5 over ``rows`` (1: both goals met)."""
    return min(
        min(r["spearman"], r["tanimoto_mean"]) / LOCALITY_GOAL
        if np.isfinite(r["spearman"])
        else -np.inf
        for r in rows
    )


def choose_pool(results: dict) -> str | None:
    """The pool rule of the module docstring; None until its sweep is measured."""
    names = (BOUND_INCUMBENT, *POOL_SWEEP, *POOL_SWEEP2)
    table = {n: [results.get(f"{n}/{s}") for s in SEED_SETS] for n in names}
    if any(r is None for v in table.values() for r in v):
        return None
    qualified = [
        n
        for n, rows in table.items()
        if all(
            r["cpu_seconds_per_200"] <= BOUND_MAX_COST
            and r["n_returned"] >= MIN_RETURNED * r["n_asked"]
            for r in rows
        )
    ]
    if not qualified:
        return BOUND_INCUMBENT
    score = {n: goal_score(table[n]) for n in qualified}
    best = max(score.values())
    tied = [n for n in qualified if score[n] >= best - SCORE_TIE]
    return min(tied, key=lambda n: max(r["cpu_seconds_per_200"] for r in table[n]))


def _pool_line(results: dict) -> str:
    from sciml.rt.generation import AUTO_SETTINGS

    chosen = choose_pool(results)
    if chosen is None:
        return "The pool sweep (`GenerationConfig.pool`) has not been measured."
    config = {"pool": 1, "mask_fraction": 0.25, **CONFIGS[chosen]}
    auto = AUTO_SETTINGS["selfies"]
    same = all(auto[k] == config[k] for k in ("pool", "best_of", "similarity", "mask_fraction"))
    scores = ", ".join(
        f"{n} {goal_score([results[f'{n}/{s}'] for s in SEED_SETS]):.2f}"
        for n in (BOUND_INCUMBENT, *POOL_SWEEP, *POOL_SWEEP2)
    )
    return (
        f"**Several candidates per molecule asked** (`GenerationConfig.pool`; rule in the "
        f"script's docstring, written before any pool was measured: at most "
        f"{BOUND_MAX_COST:.0f} CPU-s per 200 molecules and at least {MIN_RETURNED:.0%} of the "
        f"molecules asked on both seed sets; the highest goal score, min(Spearman, Tanimoto) "
        f"/ {LOCALITY_GOAL} over both seed sets, 1 meeting both goals; goal scores: {scores}): "
        f"**{chosen}**. The defaults for a SELFIES model (pool, best_of, similarity, mask "
        f"fraction) are **{auto['pool']}, {auto['best_of']}, {auto['similarity']:g}, "
        f"{auto['mask_fraction']:g}**" + (" (the same)." if same else " (not the rule's choice).")
    )


def _bound_line(results: dict) -> str:
    from sciml.rt.generation import AUTO_SETTINGS

    chosen = choose_min_similarity(results)
    if chosen is None:
        return "The bound sweep (`GenerationConfig.min_similarity`) has not been measured."
    auto = AUTO_SETTINGS["selfies"]
    config = {"similarity": 0.0, "min_similarity": 0.0, **CONFIGS[chosen]}
    same = all(auto[k] == config[k] for k in ("best_of", "similarity", "min_similarity"))
    return (
        f"**A hard similarity bound** (rule in the script's docstring, written before the "
        f"bound was measured: mean Tanimoto >= {LOCALITY_GOAL}, Spearman >= {SPEARMAN_FLOOR}, "
        f"at most {BOUND_MAX_COST:.0f} CPU-s per 200 molecules and at least "
        f"{MIN_RETURNED:.0%} of the molecules asked, on both seed sets; the highest min "
        f"Spearman; none qualifying: `{BOUND_INCUMBENT}` stays): **{chosen}**. The defaults "
        f"for a SELFIES model (`AUTO_SETTINGS['selfies']` best_of, similarity, "
        f"min_similarity) are **{auto['best_of']}, {auto['similarity']:g}, "
        f"{auto['min_similarity']:g}**" + (" (the same)." if same else " (not the rule's choice).")
    )


def _similarity_line(results: dict) -> str:
    from sciml.rt.generation import AUTO_SETTINGS

    chosen = choose_similarity(results)
    if chosen is None:
        return "The similarity sweep (`GenerationConfig.similarity`) has not been measured."
    value = CONFIGS[chosen].get("similarity", 0.0)
    fraction = CONFIGS[chosen].get("mask_fraction", 0.25)
    default = AUTO_SETTINGS["selfies"]["similarity"]
    default_fraction = AUTO_SETTINGS["selfies"]["mask_fraction"]
    same = value == default and fraction == default_fraction
    return (
        f"**Similarity to the seed in the reranking** (rule in the script's docstring: "
        f"Tanimoto >= {LOCALITY_GOAL} on both seed sets with min Spearman >= {SPEARMAN_FLOOR}, "
        f"the highest min Spearman; else the most local setting that keeps 90% of the "
        f"steering of similarity 0): **{chosen}** (similarity {value:g}, mask fraction "
        f"{fraction:g}). The defaults for a SELFIES model (`AUTO_SETTINGS['selfies']` "
        f"similarity, mask_fraction) are "
        f"**{default:g}**, **{default_fraction:g}**"
        + (" (the same)." if same else " (not the rule's choice).")
    )


def report(record: dict) -> str:
    from sciml.rt.generation import AUTO_SETTINGS

    results = record["results"]
    chosen = choose(results)
    auto = AUTO_SETTINGS["selfies"]
    default = next(
        (n for n, c in CONFIGS.items() if c == {k: auto[k] for k in ("n_steps", "best_of")}),
        f"n_steps {auto['n_steps']}, best_of {auto['best_of']}",
    )
    lines = [
        "# RT generation settings on validation seeds (issue 25)\n",
        f"Model `{Path(record['model']).name}`; {record['n_seeds']} random seeds from each "
        "validation part of the corpus (`moses_val`, `chembl_val`; the test parts are "
        "`rt_goals.py`'s); primers 0.3/0.5/0.7/0.9, 2 molecules per seed and primer. "
        "`n_steps`: fill passes (None: one token per pass); `best_of`: fills per candidate, "
        "the one the model predicts closest to the primer kept.\n",
        "| setting | seeds | Spearman (p) | mean RDKit QED at 0.3 / 0.5 / 0.7 / 0.9 | "
        "Tanimoto to seed | single-fill validity | CPU-s per 200 | returned / asked |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, config in CONFIGS.items():
        for set_name in SEED_SETS:
            r = results.get(f"{name}/{set_name}")
            if r is None:
                continue
            by = " / ".join(
                f"{r['mean_qed_by_primer'][k]:.2f}" for k in ("0.3", "0.5", "0.7", "0.9")
            )
            mark = " **(chosen)**" if name == chosen else ""
            lines.append(
                f"| {name}{mark} `{config}` | {set_name} | {r['spearman']:.3f} "
                f"({r['spearman_p']:.1g}) | {by} | {r['tanimoto_mean']:.2f} | "
                f"{r['single_fill_validity']:.2f} | {r['cpu_seconds_per_200']:.1f} | "
                f"{r['n_returned']} / {r['n_asked']} |"
            )
    lines += [
        "",
        f"**Chosen by the rule** (default mask fraction 0.25; cost at most {MAX_COST:.0f} CPU-s "
        "per 200 molecules on both seed sets; the highest min(Spearman MOSES, Spearman "
        f"ChEMBL)): **{chosen}**. The default for a SELFIES model "
        f"(`AUTO_SETTINGS['selfies']` in `sciml.rt.generation`) is **{default}**"
        + (" (the same)." if chosen == default else f": {DEFAULT_NOTE}")
        + " Settings over the cost cap steer more but are not eligible. A smaller mask "
        "fraction (the locality knob) keeps outputs nearer their seeds and steers less.",
        "",
        _similarity_line(results),
        "",
        _bound_line(results),
        "",
        _pool_line(results),
        "",
        f"Command: `{record['command']}` at {record['git_commit']}.",
        "",
        record["machine"],
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    args = parse_args(argv)
    record = json.loads(args.out.read_text()) if args.report_only else measure(args)
    with atomic_write(args.out.with_suffix(".md")) as handle:
        handle.write(report(record))
    print(f"wrote {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
