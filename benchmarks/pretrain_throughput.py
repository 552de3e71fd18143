"""Pre-training throughput of the SMILES encoder on MOSES batches, lever by lever.

End to end through ``sciml.chem.transformer.pretrain`` (data set, length-bucketed batches,
MLM masking, the Trainer, AdamW), one epoch of MLM on ``--n`` MOSES training molecules per
arm, all arms in one run so that the machine's load affects them alike. The arms add one
lever at a time:

1. ``before``: SMILES tokenised in memory on every run, fp32, batch 128, dropout 0.1 (the
   path before issue 14);
2. ``+ token cache``: ids read memory-mapped from a :class:`~sciml.chem.corpus.TokenCorpus`
   (its one-off build is timed separately);
3. ``+ bf16``: bf16 autocast with fp32 master weights;
4. ``+ batch 256``;
5. ``+ dropout 0``: no dropout (a corpus seen about once needs none), so no random masks;
   training attention on a CPU is the written-out math kernel either way;
6. ``+ torch.compile`` (with ``--compile``): every encoder layer compiled (dynamic shapes),
   two epochs: the first pays for compiling, the second shows the steady state.

Molecules per second = molecules / wall time of the whole ``pretrain`` call; tokens per
second counts real (non-pad) tokens; "last epoch" is the rate of the last epoch alone (the
Trainer's epoch time: no data set construction, no compiling after the first epoch). On a shared machine wall time depends on what else
runs, so the table also gives molecules per CPU-second of this process (``process_time``),
which the other jobs disturb much less. Regenerate with (from the repository root)::

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/pretrain_throughput.py \
        [--n 8000] [--size small] [--threads 2] [--compile]

Writes ``benchmarks/results/pretrain_throughput.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import machine_info  # noqa: E402

RESULTS = ROOT / "results"
MOSES_TRAIN = 1_584_663

#: Cumulative levers: (name, token cache, precision, batch, dropout, compile).
ARMS = (
    ("before", False, "fp32", 128, 0.1, False),
    ("+ token cache", True, "fp32", 128, 0.1, False),
    ("+ bf16", True, "bf16", 128, 0.1, False),
    ("+ batch 256", True, "bf16", 256, 0.1, False),
    ("+ dropout 0", True, "bf16", 256, 0.0, False),
    ("+ torch.compile", True, "bf16", 256, 0.0, True),
)


def _compiled_layers():
    """Compile :class:`~sciml.encoder.EncoderLayer` forward passes for one arm (restored)."""
    import contextlib

    import torch

    from sciml.encoder import EncoderLayer

    @contextlib.contextmanager
    def patch():
        original = EncoderLayer.forward
        EncoderLayer.forward = torch.compile(original, dynamic=True)
        try:
            yield
        finally:
            EncoderLayer.forward = original

    return patch()


def run_arm(smiles, tokenizer, *, size, cache, precision, batch, dropout, compiled, seed=0):
    """One epoch of MLM through :func:`pretrain`; wall and CPU seconds and the last loss."""
    import contextlib

    from sciml.chem.transformer import pretrain

    context = _compiled_layers() if compiled else contextlib.nullcontext()
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    with context:
        stage = pretrain(
            smiles,
            size=size,
            objective="mlm",
            tokenizer=tokenizer,
            epochs=2 if compiled else 1,
            batch_size=batch,
            val_fraction=0.0,
            progress=False,
            precision=precision,
            token_cache=cache,
            corpus_name="throughput",
            encoder_overrides={"dropout": dropout},
            seed=seed,
        )
    return {
        "seconds": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "epochs": len(stage.history),
        "last_epoch": float(stage.history["seconds"].iloc[-1]),
        "loss": float(stage.history["train_loss"].iloc[-1]),
        "load": load,
        "params": sum(p.numel() for p in stage.model.encoder.parameters()),
    }


def time_data_path(n: int) -> dict:
    """Seconds to make a training data set of ``n`` MOSES molecules: tokenising in memory
    (every run before issue 14) versus opening a token cache built once (its build timed too).
    """
    from sciml.chem.corpus import TokenCorpus
    from sciml.chem.datasets import load_dataset
    from sciml.chem.tokenizer import SmilesTokenizer
    from sciml.chem.transformer.data import CorpusTokenDataset, SmilesTokenDataset

    smiles = load_dataset("moses", split="train")["smiles"].iloc[:n].tolist()
    tokenizer = SmilesTokenizer.build_vocab(smiles)
    start = time.perf_counter()
    SmilesTokenDataset(smiles, tokenizer, 256, mlm=True, errors="skip")
    in_memory = time.perf_counter() - start
    start = time.perf_counter()
    TokenCorpus.cached(smiles, tokenizer, "throughput-scale", progress=False)
    build = time.perf_counter() - start
    start = time.perf_counter()
    CorpusTokenDataset(
        TokenCorpus.cached(smiles, tokenizer, "throughput-scale", progress=False), tokenizer, 256
    )
    return {"n": n, "in_memory": in_memory, "build": build, "cached": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=8_000, help="MOSES molecules per arm")
    parser.add_argument("--size", default="small", help="encoder size")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--compile", action="store_true", help="add the torch.compile arm")
    parser.add_argument(
        "--scale-n",
        type=int,
        default=200_000,
        help="molecules for the data-path timing (in-memory tokenising vs opening the token cache)",
    )
    parser.add_argument(
        "--out", default=str(RESULTS / "pretrain_throughput.md"), help="results file"
    )
    args = parser.parse_args()
    import numpy as np
    import torch

    from sciml.chem.corpus import TokenCorpus
    from sciml.chem.datasets import load_dataset
    from sciml.chem.tokenizer import SmilesTokenizer
    from sciml.encoder import ENCODER_SIZES

    torch.set_num_threads(args.threads)
    # A private cache: the token-cache arms must not find a corpus from another run.
    os.environ["SCIML_CACHE_DIR"] = tempfile.mkdtemp(prefix="sciml-throughput-")
    smiles = load_dataset("moses", split="train")["smiles"].sample(args.n, random_state=0).tolist()
    tokenizer = SmilesTokenizer.build_vocab(smiles)
    n_tokens = int(sum(len(tokenizer.encode(s)) for s in smiles))
    start = time.perf_counter()
    TokenCorpus.cached(smiles, tokenizer, "throughput", progress=False)
    build = time.perf_counter() - start
    data_path = time_data_path(args.scale_n)
    arms = [a for a in ARMS if args.compile or not a[5]]
    # Untimed warm-up of both precisions: the first call in a process pays for lazy imports
    # and kernel initialisation, which would otherwise be charged to the first arm.
    for precision in ("fp32", "bf16"):
        run_arm(
            smiles[:256],
            tokenizer,
            size=args.size,
            cache=False,
            precision=precision,
            batch=128,
            dropout=0.1,
            compiled=False,
        )
    rows = []
    for name, cache, precision, batch, dropout, compiled in arms:
        result = run_arm(
            smiles,
            tokenizer,
            size=args.size,
            cache=cache,
            precision=precision,
            batch=batch,
            dropout=dropout,
            compiled=compiled,
        )
        rows.append(
            {
                "arm": name,
                "precision": precision,
                "batch": batch,
                "dropout": dropout,
                **result,
                "mol_s": args.n * result["epochs"] / result["seconds"],
                "mol_cpu_s": args.n * result["epochs"] / result["cpu"],
                "tok_s": n_tokens * result["epochs"] / result["seconds"],
                "last_s": args.n / result["last_epoch"],
            }
        )
        print(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in rows[-1].items()}, flush=True
        )
    best = max(rows, key=lambda r: r["mol_s"])
    lines = [
        f"# Pre-training throughput: `{args.size}` encoder, MLM on MOSES",
        "",
        machine_info(("torch", "numpy", "rdkit")),
        f"Encoder `{args.size}` ({rows[0]['params'] / 1e6:.2f}M parameters, "
        f"{ENCODER_SIZES[args.size]}); {args.n} random MOSES training molecules "
        f"({n_tokens / args.n:.1f} tokens each on average), one epoch per arm, "
        f"{args.threads} torch thread(s), length-bucketed batches, end to end (data set, "
        "masking, batching, Trainer, AdamW). Each arm adds one lever to the one above it; "
        "arms run one after the other in this process. Building the token cache of these "
        f"molecules took {build:.1f} s once (not in the arms' times; for all of MOSES it is "
        "a one-off of about a minute).",
        "",
        "| arm | precision | batch | dropout | epochs | wall (s) | molecules/s | tokens/s | "
        "molecules/s, last epoch | molecules per CPU-s | loss | 1-min load at start |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['arm']} | {r['precision']} | {r['batch']} | {r['dropout']:g} | "
            f"{r['epochs']} | {r['seconds']:.1f} | {r['mol_s']:.0f} | "
            f"{r['tok_s']:.0f} | {r['last_s']:.0f} | {r['mol_cpu_s']:.0f} | "
            f"{r['loss']:.3f} | {r['load']:.1f} |"
        )
    lines += [
        "",
        f"Best arm: {best['arm']}: **{best['mol_s']:.0f} molecules/s** "
        f"({best['mol_s'] / rows[0]['mol_s']:.2f}x `before`); one MOSES epoch "
        f"({MOSES_TRAIN:,} molecules) would take {MOSES_TRAIN / best['mol_s'] / 3600:.2f} h "
        "at that rate. Issue 14's goals: at least 500 molecules/s on 2 threads, and one "
        "MOSES epoch in at most 1 hour.",
        "",
        f"Mean loss check (arms should be close; bigger batches take fewer steps): "
        f"{np.mean([r['loss'] for r in rows]):.3f}.",
        "",
        f"**Data path at corpus scale** ({data_path['n']:,} MOSES molecules): tokenising "
        f"into an in-memory data set took {data_path['in_memory']:.1f} s (every run, "
        f"{MOSES_TRAIN / data_path['n'] * data_path['in_memory']:.0f} s for all of MOSES "
        f"at that rate); building the token cache took {data_path['build']:.1f} s once, "
        f"and opening it as a data set (hashing the SMILES to find it, memory-mapping "
        f"the ids) {data_path['cached']:.1f} s on every later run.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
