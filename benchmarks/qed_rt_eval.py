"""Evaluation and report of the shipped QED Regression Transformer (``train_qed_rt.py``).

- Held-out QED prediction: RMSE, Pearson, MAE of the expected and greedy decodings on the
  test molecules (MOSES test file, disjoint from training by canonical SMILES).
- Primed generation: every seed molecule is primed with each primer; Spearman correlation
  between the primer and RDKit's QED of the output (pooled over seeds), validity, share
  of seeds whose outputs do not change with the primer ("0-Var", the RT paper's measure),
  radicals among outputs, and whether ``generate(n)`` returned ``n`` molecules.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from sciml import metrics

PRIMERS = (0.2, 0.4, 0.6, 0.8)
BEFORE = {  # the model this one replaces: benchmarks/results/demo_rt.md at commit bc8559e
    "source": "24K ChEMBL molecules, 0.57M parameters, 48 CPU-minutes "
              "(benchmarks/results/demo_rt.md at commit bc8559e)",
    "test_rmse": 0.0986, "test_pearson": 0.8720,
}


def _radicals(smiles: str) -> bool:
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    return mol is not None and any(a.GetNumRadicalElectrons() for a in mol.GetAtoms())


def evaluate(rt, parts, args, log) -> dict:
    """Prediction and generation metrics of ``rt`` on ``parts["test"]``."""
    from rdkit import Chem, rdBase
    from rdkit.Chem import QED
    from scipy import stats

    test = parts["test"]
    names = [n for n in rt.property_names if n in test.columns]
    out: dict = {"n_test": len(test)}
    for decoding in ("expected", "greedy"):
        t0 = time.perf_counter()
        pred = rt.predict(test["canonical"].tolist(), errors="nan", decoding=decoding)
        seconds = time.perf_counter() - t0
        scores = {}
        for name in names:
            y, p = test[name].to_numpy(), pred[name].to_numpy()
            ok = np.isfinite(p)
            y, p = y[ok].reshape(-1, 1), p[ok].reshape(-1, 1)
            scores[name] = {
                "n": int(ok.sum()),
                "rmse": float(metrics.rmse(y, p, reduce="mean")),
                "pearson": float(metrics.pearson(y, p, reduce="mean")),
                "mae": float(metrics.mae(y, p, reduce="mean")),
            }
        out[decoding] = {"scores": scores, "molecules_per_s": len(test) / seconds}
        log(f"{decoding}: {scores}")
    if "qed" not in rt.property_names:
        return out
    seeds = test["canonical"].tolist()[: args.n_gen_seeds]
    rows = []
    t0 = time.perf_counter()
    n_asked = 0
    for primer in PRIMERS:
        frame = rt.generate(seeds, {"qed": primer}, n=4, errors="skip", seed=0)
        n_asked += 4 * len(seeds)
        frame["primer"] = primer
        rows.append(frame)
        log(f"primer {primer}: {len(frame)} rows, mean RDKit QED "
            f"{frame['true_qed'].mean() if 'true_qed' in frame else float('nan'):.3f}")
    seconds = time.perf_counter() - t0
    gen = pd.concat(rows, ignore_index=True)
    with rdBase.BlockLogs():
        gen["rdkit_qed"] = [QED.qed(Chem.MolFromSmiles(s)) for s in gen["smiles"]]
    rho = stats.spearmanr(gen["primer"], gen["rdkit_qed"]).statistic
    # 0-Var: seeds whose outputs are the same set of molecules whatever the primer.
    zero_var = 0
    for seed in seeds:
        sets = [frozenset(gen.loc[(gen["seed"] == seed) & (gen["primer"] == p), "smiles"])
                for p in PRIMERS]
        zero_var += len(set(sets)) == 1
    out["generation"] = {
        "seeds": len(seeds), "primers": list(PRIMERS), "asked": n_asked, "returned": len(gen),
        "spearman_primer_vs_rdkit_qed": float(rho),
        "zero_var_percent": 100 * zero_var / len(seeds),
        "radicals": int(sum(_radicals(s) for s in gen["smiles"])),
        "mean_qed_per_primer": gen.groupby("primer")["rdkit_qed"].mean().round(4).to_dict(),
        "seconds": round(seconds, 1),
        "attrs": {k: v for k, v in rows[-1].attrs.items() if isinstance(v, (int, float, str))},
    }
    log(f"generation: {out['generation']}")
    return out


def _fmt(value, digits=4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _rates(history: dict, n: int, epoch_size: int) -> tuple[float, int]:
    """Median molecules/s over epochs and molecules seen, from the per-epoch history.

    Epochs are slices of ``epoch_size`` molecules; the last slice of a pass is shorter.
    """
    size = min(epoch_size, n)
    per_pass = -(-n // size)
    counts = np.array([min(size, n - (int(e) % per_pass) * size) for e in history["epoch"]])
    return float(np.median(counts / np.asarray(history["seconds"]))), int(counts.sum())


def write_report(record: dict, path: Path) -> None:
    """``benchmarks/results/qed_rt.md`` from the JSON record of every stage run so far."""
    lines = ["# QED Regression Transformer at MOSES scale (`sciml/assets/demo_rt.pt`)", ""]
    if "levers" in record:
        lev = record["levers"]
        base = next(iter(lev["rows"].values()))["molecules_per_s"]
        lines += [
            "## Training throughput", "",
            f"Command: `{lev['command']}` (commit {lev['git_commit']}). One epoch over the same "
            f"{lev['molecules']} MOSES molecules after a warm-up epoch, {lev['threads']} "
            "thread(s), end to end (batching, masking, forward, backward, AdamW). Goal: "
            ">= 1000 molecules/s on 2 threads at 128x4.", "",
            "| lever | molecules/s | tokens/s | vs. the first row |", "|---|---|---|---|",
        ]
        for label, row in lev["rows"].items():
            lines.append(f"| {label} | {row['molecules_per_s']:.0f} | {row['tokens_per_s']:.0f}"
                         f" | {row['molecules_per_s'] / base:.2f}x |")
        lines.append("")
    if "select" in record:
        sel = record["select"]
        lines += [
            "## Model size", "",
            f"Command: `{sel['command']}` (commit {sel['git_commit']}). Each size trained with "
            f"a {sel['minutes_each']:g}-minute budget on the same {sel['pool']} molecules (a pool "
            "disjoint from the validation and test molecules), epochs of "
            f"{sel['epoch_size']} molecules, bf16, same validation molecules. The budget is "
            "checked at the end of an epoch, so the slower size trained longer than the budget "
            "(minutes column): compare validation RMSE per molecule seen and per minute.", "",
            "| size (d_model x layers) | parameters | molecules/s (end to end) | "
            "molecules seen | minutes trained | best validation QED RMSE |",
            "|---|---|---|---|---|---|",
        ]
        for size, row in sel["sizes"].items():
            rate, seen = _rates(row["history"], sel["pool"], sel["epoch_size"])
            lines.append(f"| {size} | {row['n_parameters'] / 1e6:.2f}M | "
                         f"{rate:.0f} | {seen} | {sum(row['history']['seconds']) / 60:.1f} | "
                         f"{row['best_val_rmse']:.4f} |")
        lines.append("")
    if "train" in record:
        tr = record["train"]
        lines += [
            "## Training", "",
            f"Command: `{tr['command']}` (commit {tr['git_commit']}).", "",
            f"- {tr['n_train']} canonical MOSES training molecules (RDKit "
            f"{'+'.join(tr['properties'])}); held-out molecules from the MOSES test file, "
            f"disjoint by canonical SMILES ({tr['dropped_test_overlap']} test molecules that "
            "are also training molecules were dropped).",
            f"- Size {tr['size']}, {tr['n_parameters'] / 1e6:.2f}M parameters, {tr['precision']},"
            f" batch {tr['batch_size']}, peak LR {tr['lr']:g}, {tr['threads']} thread(s).",
            f"- {tr['epochs_trained']} of {tr['epochs_planned']} planned epochs "
            f"({tr['molecules_seen']} molecules seen"
            + (", stopped by the time budget" if tr["stopped_by_budget"] else "")
            + f"), {tr['seconds_total'] / 60:.1f} min, {tr['molecules_per_s']:.0f} molecules/s "
            "end to end (median epoch, validation included).",
            f"- Best validation QED RMSE {tr['best_val_rmse']:.4f} (epoch {tr['best_epoch']}).",
            f"- Asset size {tr['asset_bytes'] / 1e6:.2f} MB.", "",
        ]
    if "eval" in record:
        ev = record["eval"]
        exp, gr = ev["expected"]["scores"], ev["greedy"]["scores"]
        lines += [
            "## Held-out prediction", "",
            f"Command: `{ev['command']}`; {ev['n_test']} test molecules.", "",
            "| property | decoding | RMSE | Pearson | MAE |", "|---|---|---|---|---|",
        ]
        for name in exp:
            for label, scores in (("expected", exp), ("greedy", gr)):
                s = scores[name]
                lines.append(f"| {name} | {label} | {s['rmse']:.4f} | {s['pearson']:.4f} | "
                             f"{s['mae']:.4f} |")
        lines += ["", f"Before (the model this one replaces, {BEFORE['source']}): QED RMSE "
                  f"{BEFORE['test_rmse']}, Pearson {BEFORE['test_pearson']}.", ""]
        if "generation" in ev:
            g = ev["generation"]
            lines += [
                "## Primed generation", "",
                f"{g['seeds']} test molecules as seeds, primers {g['primers']}, `generate(n=4)`"
                " per seed and primer.", "",
                "| measure | value |", "|---|---|",
                f"| Spearman(primer, RDKit QED of output) | {g['spearman_primer_vs_rdkit_qed']:.3f} |",
                f"| 0-Var (seeds whose outputs ignore the primer) | {g['zero_var_percent']:.1f}% |",
                f"| molecules returned / asked | {g['returned']} / {g['asked']} |",
                f"| radicals among outputs | {g['radicals']} |",
                f"| mean RDKit QED per primer | {g['mean_qed_per_primer']} |",
                f"| seconds | {g['seconds']} |", "",
            ]
    lines += [record.get("machine", ""), ""]
    path.write_text("\n".join(lines))
