"""Pre-training throughput of the SMILES encoder on MOSES batches, lever by lever.

End to end through ``sciml.chem.transformer.pretrain`` (tokenisation, length-bucketed
batches, the Trainer, AdamW), one epoch of MLM on ``--n`` MOSES training molecules, for
each arm in one run so that the machine's load affects all of them alike:

- fp32 vs bf16 autocast (``precision="bf16"``: fp32 master weights);
- batch 128 vs 256.

Molecules per second = molecules / wall time of the whole call (tokenisation included);
tokens per second counts real (non-pad) tokens. The projection to one MOSES epoch uses the
best arm. Regenerate with (from the repository root)::

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/pretrain_throughput.py \
        [--n 20000] [--size small] [--threads 2]

Writes ``benchmarks/results/pretrain_throughput.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import machine_info  # noqa: E402

RESULTS = ROOT / "results"
MOSES_TRAIN = 1_584_663


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="MOSES molecules per arm")
    parser.add_argument("--size", default="small", help="encoder size")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--arms", default="fp32:128,bf16:128,bf16:256",
                        help="comma-separated PRECISION:BATCH arms")
    parser.add_argument("--out", default=str(RESULTS / "pretrain_throughput.md"),
                        help="results file")
    args = parser.parse_args()
    import numpy as np
    import torch

    from sciml.chem.datasets import load_dataset
    from sciml.chem.tokenizer import SmilesTokenizer
    from sciml.chem.transformer import pretrain
    from sciml.encoder import ENCODER_SIZES

    torch.set_num_threads(args.threads)
    smiles = load_dataset("moses", split="train")["smiles"].sample(
        args.n, random_state=0).tolist()
    tokenizer = SmilesTokenizer.build_vocab(smiles)
    n_tokens = int(sum(len(tokenizer.encode(s)) for s in smiles))
    rows = []
    for arm in args.arms.split(","):
        precision, batch = arm.split(":")
        load = os.getloadavg()[0]
        start = time.perf_counter()
        stage = pretrain(smiles, size=args.size, objective="mlm", tokenizer=tokenizer,
                         epochs=1, batch_size=int(batch), val_fraction=0.0, progress=False,
                         precision=precision)
        seconds = time.perf_counter() - start
        loss = float(stage.history["train_loss"].iloc[-1])
        rows.append({"precision": precision, "batch": int(batch), "seconds": seconds,
                     "mol_s": args.n / seconds, "tok_s": n_tokens / seconds, "loss": loss,
                     "load": load})
        print(rows[-1], flush=True)
    best = max(rows, key=lambda r: r["mol_s"])
    params = sum(p.numel() for p in stage.model.encoder.parameters())
    lines = [
        f"# Pre-training throughput: `{args.size}` encoder, MLM on MOSES", "",
        machine_info(("torch", "numpy", "rdkit")),
        f"Encoder `{args.size}` ({params / 1e6:.2f}M parameters, "
        f"{ENCODER_SIZES[args.size]}); {args.n} random MOSES training molecules "
        f"({n_tokens / args.n:.1f} tokens each on average), one epoch, {args.threads} torch "
        "thread(s), length-bucketed batches, end to end (tokenisation, batching, Trainer, "
        "AdamW). Arms run one after the other in this process.", "",
        "| precision | batch | wall (s) | molecules/s | tokens/s | loss after 1 epoch | "
        "1-min load at start |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['precision']} | {r['batch']} | {r['seconds']:.1f} | "
                     f"{r['mol_s']:.0f} | {r['tok_s']:.0f} | {r['loss']:.3f} | {r['load']:.1f} |")
    fp32 = [r for r in rows if r["precision"] == "fp32"]
    lines += ["", f"Best arm: {best['precision']}, batch {best['batch']}: "
              f"**{best['mol_s']:.0f} molecules/s**"
              + (f" ({best['mol_s'] / fp32[0]['mol_s']:.2f}x the fp32 arm)" if fp32 else "")
              + f"; one MOSES epoch ({MOSES_TRAIN:,} molecules) would take "
              f"{MOSES_TRAIN / best['mol_s'] / 3600:.2f} h at that rate. Issue 14's goals: "
              "at least 500 molecules/s on 2 threads, and one MOSES epoch in at most 1 hour.",
              "", f"Mean loss check (all arms should be close): "
              f"{np.mean([r['loss'] for r in rows]):.3f}.", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
