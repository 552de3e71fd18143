"""Evaluate and ship the QED + logP Regression Transformer (issue 25, build item 4).

The model is trained by ``[assets.demo_rt]``'s last run (``train_qed_rt.py --corpus drug
--language selfies --properties qed logp``, started from the session-4 QED SELFIES RT). This
script measures it on the held-out parts of the drug-like corpus (``benchmarks/rt_corpus.py``:
1000 random ChEMBL 30 test molecules and 2000 random MOSES test molecules, disjoint from the
training molecules by canonical SMILES): RMSE and Pearson of both properties, and primed
generation from 12 ChEMBL test seeds with every pair of a low and a high primer of QED and
logP (Spearman of each primer with the RDKit value of the outputs). It then writes the model,
in bf16 with that record in its provenance, to ``sciml/assets/rt_qed_logp.pt``.

    SCIML_DATA_DIR=../shared/data python benchmarks/ship_rt_qed_logp.py

Writes ``benchmarks/results/rt_qed_logp.md`` / ``.json`` and ``sciml/assets/rt_qed_logp.pt``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._machine import command_line, git_commit, machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "rt_qed_logp.json"
ASSET = ROOT / "sciml" / "assets" / "rt_qed_logp.pt"
KEY = "_qed_logp_drug_selfies"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--model",
        type=Path,
        default=ROOT / ".checkpoints" / "rt_drug_selfies_qed_logp.pt",
        help="the trained checkpoint (default: .checkpoints/rt_drug_selfies_qed_logp.pt)",
    )
    p.add_argument(
        "--record",
        type=Path,
        default=ROOT / ".checkpoints" / "rt_drug_selfies_qed_logp.json",
        help="its training record (default: beside the checkpoint)",
    )
    p.add_argument("--n-gen-seeds", type=int, default=12, help="generation seeds (default 12)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--workers", type=int, default=1, help="RDKit processes (default 1)")
    return p.parse_args(argv)


def report(record: dict) -> str:
    from benchmarks.qed_rt_eval import _run_sections

    ev = record["eval" + KEY]
    lines = [
        "# The QED + logP Regression Transformer (issue 25, shipped as `rt_qed_logp.pt`)",
        "",
        "One SELFIES RT that predicts QED and Crippen logP and generates molecules primed on "
        "both, trained on the drug-like corpus of the shipped QED model (`rt_corpus.py`: "
        "MOSES + ChEMBL 30 balanced over QED; molecules with logP outside the digit range "
        "[-6, 9] left out) and started from the session-4 QED model. Test molecules are "
        "random draws of the corpus's held-out parts, never seen in training.",
        "",
        "| held-out set | property | RMSE | Pearson |",
        "|---|---|---|---|",
    ]
    for name, sc in ev["scores_chembl"].items():
        lines.append(f"| 1000 ChEMBL 30 | {name} | {sc['rmse']:.3f} | {sc['pearson']:.3f} |")
    for name, sc in ev["scores_moses"].items():
        lines.append(f"| 2000 MOSES | {name} | {sc['rmse']:.3f} | {sc['pearson']:.3f} |")
    lines.append("")
    lines += _run_sections(record, KEY, "QED + logP model")
    lines += [
        f"Shipped: `sciml/assets/rt_qed_logp.pt` (bf16, {record['asset_bytes'] / 1e6:.2f} MB) "
        f"by `{record['command']}` at {record['git_commit']}; {record['cpu_seconds']:.0f} "
        "CPU-s for this evaluation.",
        "",
        record["machine"],
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    from benchmarks import qed_rt_eval, train_qed_rt
    from sciml.rt import RegressionTransformer

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    train_record = json.loads(args.record.read_text())
    trained = train_record.get("train" + KEY)
    if trained is None:
        raise SystemExit(f"{args.record} holds no training record 'train{KEY}'")
    t0, cpu0 = time.perf_counter(), time.process_time()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f}s] {message}", flush=True)

    corpus_args = argparse.Namespace(workers=args.workers, n_gen_seeds=args.n_gen_seeds)
    parts = train_qed_rt.drug_corpus(corpus_args, log)
    rt = RegressionTransformer.load(args.model, map_location="cpu")
    ev = qed_rt_eval.evaluate(rt, {"test": parts["chembl_test"]}, corpus_args, log)
    ev["scores_chembl"] = ev["expected"]["scores"]
    ev["scores_moses"] = qed_rt_eval.prediction_scores(rt, parts["moses_test"], rt.property_names)
    ev["command"] = command_line(argv)
    record = {
        "train" + KEY: trained,
        "eval" + KEY: ev,
        "command": command_line(argv),
        "git_commit": git_commit(),
        "cpu_seconds": time.process_time() - cpu0,
        "machine": machine_info(("numpy", "torch", "rdkit", "selfies")),
    }
    provenance = {
        **(rt.provenance or {}),
        "shipped_by": record["command"],
        "evaluation": {
            "chembl_test": ev["scores_chembl"],
            "moses_test": ev["scores_moses"],
            "generation_spearman": ev["generation"]["spearman"],
        },
    }
    rt.save(ASSET, provenance=provenance, dtype=torch.bfloat16)
    record["asset_bytes"] = ASSET.stat().st_size
    with atomic_write(RESULTS) as handle:
        handle.write(json.dumps(record, indent=1, default=float))
    with atomic_write(RESULTS.with_suffix(".md")) as handle:
        handle.write(report(record))
    log(f"wrote {ASSET}, {RESULTS} and its markdown")


if __name__ == "__main__":
    main()
