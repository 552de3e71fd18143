"""Why does the Regression Transformer's primer have little effect on what it generates?

Issue 16, item 3. For one checkpoint (``--model``) and seed molecules that are *not* the
test molecules of ``benchmarks/qed_rt_eval.py`` (MOSES test rows from ``--first-row``,
default 165000; that evaluation uses rows 150000 to about 153000), this measures:

(a) how much the first-pass fill distribution at masked positions changes between a low and
    a high QED primer (:func:`sciml.rt.generation.primer_influence`: mean total-variation
    distance, share of positions whose most likely token changes, peak probability);
(b) Spearman(primer, RDKit QED of the output) as a function of ``mask_fraction`` and of
    ``mask="spans"`` vs ``"atoms"``;
(c) greedy filling vs sampling (temperatures 0, 0.5, 1.0);
(d) ``best_of`` self-consistency reranking (1, 4, 8);
(e) 0-Var: the share of seeds whose outputs are the same set of molecules whatever the
    primer.

Every arm primes each seed with each of ``PRIMERS`` and asks ``generate(n=--n)`` with one
round (``max_rounds=1``: every arm gets the same candidates) and the default filters.
Spearman is reported pooled over seeds (the issue's number) and on the output QED minus
the seed's QED (removes the seed-to-seed spread, which the primer cannot change). Writes
``benchmarks/results/rt_primer_study.md`` (and ``.json``). Regenerate with (from the
repository root)::

    SCIML_DATA_DIR=../shared/data OMP_NUM_THREADS=1 python benchmarks/rt_primer_study.py \
        --model sciml/assets/demo_rt.pt --n-seeds 30
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import command_line, machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PRIMERS = (0.2, 0.4, 0.6, 0.8)

#: (arm name, generate() settings); the first arm is the reference the others vary.
_BASE = {"temperature": 1.0, "best_of": 1}
ARMS = [  # in order of importance: an interrupted run keeps the first ones
    # The generation defaults since issue 25 (scaffold-keeping masks, best_of 4 reranking).
    ("defaults (scaffold 0.25, best_of 4)", {"mask": "scaffold", "mask_fraction": 0.25}),
    ("scaffold 0.25", {**_BASE, "mask": "scaffold", "mask_fraction": 0.25}),
    ("scaffold 0.5", {**_BASE, "mask": "scaffold", "mask_fraction": 0.5}),
    ("spans 0.2", {**_BASE, "mask": "spans", "mask_fraction": 0.2}),
    ("spans 0.4", {**_BASE, "mask": "spans", "mask_fraction": 0.4}),
    ("spans 0.6", {**_BASE, "mask": "spans", "mask_fraction": 0.6}),
    ("atoms 0.4", {**_BASE, "mask": "atoms", "mask_fraction": 0.4}),
    ("spans 0.4, greedy", {**_BASE, "mask": "spans", "mask_fraction": 0.4, "temperature": 0.0}),
    ("spans 0.4, best_of 4", {**_BASE, "mask": "spans", "mask_fraction": 0.4, "best_of": 4}),
    ("atoms 0.2", {**_BASE, "mask": "atoms", "mask_fraction": 0.2}),
    ("atoms 0.6", {**_BASE, "mask": "atoms", "mask_fraction": 0.6}),
    ("atoms 0.4, best_of 4", {**_BASE, "mask": "atoms", "mask_fraction": 0.4, "best_of": 4}),
    ("spans 0.4, best_of 8", {**_BASE, "mask": "spans", "mask_fraction": 0.4, "best_of": 8}),
    ("spans 0.4, T=0.5", {**_BASE, "mask": "spans", "mask_fraction": 0.4, "temperature": 0.5}),
]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--model",
        default=str(ROOT / "sciml" / "assets" / "demo_rt.pt"),
        help="RT checkpoint with a 'qed' property (default: the shipped demo_rt.pt)",
    )
    p.add_argument("--n-seeds", type=int, default=30, help="seed molecules (default 30)")
    p.add_argument(
        "--first-row",
        type=int,
        default=165_000,
        help="first MOSES test row of the seeds (default 165000)",
    )
    p.add_argument("--n", type=int, default=4, help="candidates per seed and primer (default 4)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--arms", nargs="*", help="only these arm names (default: all)")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the markdown from the .json next to --out, running nothing",
    )
    p.add_argument(
        "--out",
        default=str(RESULTS / "rt_primer_study.md"),
        help="markdown report to write (a .json of the numbers goes next to it)",
    )
    return p.parse_args(argv)


def load_seeds(first_row: int, n: int) -> list[str]:
    """``n`` valid, distinct canonical MOSES test molecules from row ``first_row`` on."""
    from sciml.chem.smiles import canonicalize_batch
    from sciml.data import get_path

    frame = pd.read_csv(get_path("moses_test"), skiprows=range(1, first_row + 1), nrows=4 * n)
    canon = canonicalize_batch(frame.iloc[:, 0].tolist(), errors="skip").values
    return list(dict.fromkeys(canon))[:n]


def run_arm(rt, seeds: list[str], settings: dict, n: int) -> dict:
    """Generate under every primer and score how the outputs follow it."""
    from scipy import stats

    from sciml.rt.generation import true_property

    t0 = time.perf_counter()
    frames = []
    totals = {
        "n_generated": 0,
        "n_invalid": 0,
        "n_filtered": 0,
        "n_duplicates": 0,
        "n_unchanged": 0,
        "n_returned": 0,
    }
    import warnings

    for primer in PRIMERS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the shortfall is counted below
            frame = rt.generate(seeds, {"qed": primer}, n=n, max_rounds=1, seed=0, **settings)
        for key in totals:
            totals[key] += frame.attrs[key]
        frames.append(frame.assign(primer=primer))
    gen = pd.concat(frames, ignore_index=True)
    seed_qed = dict(zip(seeds, true_property("qed", seeds), strict=True))
    gen["delta"] = gen["true_qed"] - gen["seed"].map(seed_qed)
    pooled = stats.spearmanr(gen["primer"], gen["true_qed"]).statistic if len(gen) > 2 else np.nan
    delta = stats.spearmanr(gen["primer"], gen["delta"]).statistic if len(gen) > 2 else np.nan
    zero_var = sum(
        len(
            {
                frozenset(gen.loc[(gen["seed"] == s) & (gen["primer"] == p), "smiles"])
                for p in PRIMERS
            }
        )
        == 1
        for s in seeds
    )
    return {
        "spearman_pooled": float(pooled),
        "spearman_delta": float(delta),
        "zero_var_percent": 100 * zero_var / len(seeds),
        "valid_percent": 100 * (1 - totals["n_invalid"] / max(totals["n_generated"], 1)),
        "returned_percent": 100 * totals["n_returned"] / (n * len(seeds) * len(PRIMERS)),
        "unchanged_percent": 100 * totals["n_unchanged"] / max(totals["n_generated"], 1),
        "mean_qed_per_primer": {
            str(p): round(float(v), 4) for p, v in gen.groupby("primer")["true_qed"].mean().items()
        },
        "seconds": round(time.perf_counter() - t0, 1),
        **totals,
    }


def write_report(record: dict, path: Path) -> None:
    lines = [
        "# Why the Regression Transformer's primer has little effect (issue 16)",
        "",
        machine_info(("numpy", "torch", "rdkit"), command=record.get("command")),
        "",
        f"Model: `{record['model']}` ({record.get('language', 'smiles')}). Seeds: {record['n_seeds']} MOSES test molecules from row "
        f"{record['first_row']} (not the test molecules of `benchmarks/qed_rt_eval.py`); each "
        f"primed with QED {', '.join(map(str, PRIMERS))}; `generate(n={record['n']}, "
        "max_rounds=1, seed=0)` with the default chemistry filters.",
        "",
        "## (a) Does the primer move the fill distribution?",
        "",
        "First forward pass, the same mask under QED 0.2 and 0.8; total-variation distance "
        "of the distribution over the model's molecule tokens at each masked position.",
        "",
        "| mask | TV mean | TV median | argmax changed | peak probability | positions |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in record["influence"].items():
        lines.append(
            f"| {name} | {row['tv_mean']:.4f} | {row['tv_median']:.4f} | "
            f"{100 * row['argmax_changed']:.1f}% | {row['max_prob_mean']:.3f} | "
            f"{row['positions']} |"
        )
    lines += [
        "",
        "## (b)-(e) Does the output follow the primer?",
        "",
        "Spearman pooled: primer vs RDKit QED of the outputs, over all seeds (the issue's "
        "number). Spearman delta: primer vs (output QED - seed QED). 0-Var: seeds whose "
        "output set is the same for every primer. Valid: candidates with a valid, "
        "unfiltered fill after the retries. Unchanged: fills that gave the seed back.",
        "",
        "| arm | Spearman pooled | Spearman delta | 0-Var | valid | returned of asked | "
        "unchanged | mean QED at primer 0.2 / 0.8 | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in record["arms"].items():
        q = row["mean_qed_per_primer"]
        lines.append(
            f"| {name} | {row['spearman_pooled']:.3f} | {row['spearman_delta']:.3f} | "
            f"{row['zero_var_percent']:.0f}% | {row['valid_percent']:.0f}% | "
            f"{row['returned_percent']:.0f}% | {row['unchanged_percent']:.0f}% | "
            f"{q.get('0.2', float('nan')):.3f} / {q.get('0.8', float('nan')):.3f} | "
            f"{row['seconds']:.0f} |"
        )
    arms = {k: v for k, v in record["arms"].items() if np.isfinite(v["spearman_pooled"])}
    if arms:
        best = max(arms, key=lambda k: arms[k]["spearman_pooled"])
        lines += [
            "",
            f"Highest pooled Spearman: **{best}** ({arms[best]['spearman_pooled']:.3f}; "
            f"{arms[best]['valid_percent']:.0f}% valid, 0-Var "
            f"{arms[best]['zero_var_percent']:.0f}%).",
        ]
    skipped = record.get("skipped", [])
    if skipped:
        lines += [
            "",
            f"Left out: {'; '.join(skipped)} (atom masks refill SMILES atom tokens; this "
            f"model's language is {record.get('language', 'not SMILES')}).",
        ]
    missing = [name for name, _ in ARMS if name not in record["arms"] and name not in skipped]
    if missing:
        lines += ["", f"Not run (stopped early or left out with --arms): {'; '.join(missing)}."]
    if record.get("note"):
        lines += ["", "## Reading", "", record["note"]]
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report_only:
        out = Path(args.out)
        write_report(json.loads(out.with_suffix(".json").read_text()), out)
        return 0
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    from sciml.rt import RegressionTransformer
    from sciml.rt.generation import primer_influence

    torch.set_num_threads(args.threads)
    rt = RegressionTransformer.load(args.model, map_location="cpu")
    seeds = load_seeds(args.first_row, args.n_seeds)
    record = {
        "command": command_line(),
        "model": os.path.relpath(args.model, ROOT),
        "n_seeds": len(seeds),
        "first_row": args.first_row,
        "n": args.n,
        "influence": {},
        "arms": {},
    }
    out = Path(args.out)
    smiles_model = rt.language.smiles_syntax
    record["language"] = rt.language.name
    for mask, fraction in (
        ("scaffold", 0.25),
        ("spans", 0.2),
        ("spans", 0.4),
        ("spans", 0.6),
        ("atoms", 0.4),
    ):
        if mask == "atoms" and not smiles_model:
            continue  # atom masks need SMILES syntax
        name = f"{mask} {fraction}"
        record["influence"][name] = primer_influence(
            rt, seeds, {"qed": [0.2, 0.8]}, mask_fraction=fraction, mask=mask
        )
        print(name, record["influence"][name], flush=True)
    for name, settings in ARMS:
        if args.arms and name not in args.arms:
            continue
        if settings.get("mask") == "atoms" and not smiles_model:
            record.setdefault("skipped", []).append(name)
            continue
        record["arms"][name] = run_arm(rt, seeds, settings, args.n)
        print(name, record["arms"][name], flush=True)
        write_report(record, out)  # a partial report survives an interrupted run
    write_report(record, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
