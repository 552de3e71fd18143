"""Pre-train the ``base`` encoder on MOSES on one large GPU, then run the ADME study with it.

Issue 14, item 6: the study's encoder size (BERT-base dimensions, ~86M parameters) on a
GuacaMol-scale corpus (MOSES, 1.58M training molecules), within a wall-time budget of
``--minutes`` (10 by default) for pre-training:

1. vocabulary from MOSES plus ``chembl30_sample`` (so drug-like charged atoms stay
   encodable), token ids cached on disk (:class:`sciml.chem.corpus.TokenCorpus`);
2. a short probe times pre-training on this GPU (bf16 autocast), and the run is planned
   to fill the budget: ``epochs * --epoch-size`` molecules, a whole cosine schedule; a
   time budget on the checkpoints stops it anyway if the plan was too optimistic;
3. the study protocol of ``benchmarks/adme_domain_adaptation.py --arms moses`` (random and
   scaffold 5-fold CV on Biogen: frozen embeddings with and without MTR-DA, embedding +
   physchem, full fine-tuning, ensembles, RM-ANOVA + Tukey) with the new encoder.

It refuses to run without a CUDA GPU: on a CPU the same plan would take days. ``--dry-run``
checks the whole pipeline on a CPU in about a minute (``tiny`` encoder, 2,000 molecules, 60
Biogen molecules, 2 folds, one epoch per stage) and writes into ``--results`` only.

Run (from the repository root, on the GPU machine)::

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/gpu_pretrain.py

Writes ``benchmarks/results/gpu_pretrain.md`` and, under ``benchmarks/results/gpu_base/``,
the study's report, per-fold CSV and figures; the checkpoint goes to ``--checkpoint``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

from _machine import machine_info  # noqa: E402

RESULTS = ROOT / "results"
PROBE_BATCHES = 30


def _args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--minutes",
        type=float,
        default=10.0,
        help="wall-time budget of pre-training, probe and caches included",
    )
    p.add_argument("--size", default="base", help="encoder size (default: base)")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--lr", type=float, default=5e-4, help="peak learning rate")
    p.add_argument(
        "--epoch-size",
        type=int,
        default=100_000,
        help="molecules per epoch (checkpoint, validation and budget grain)",
    )
    p.add_argument("--checkpoint", default="runs/gpu/moses_mlm_base.pt")
    p.add_argument(
        "--results",
        default=str(RESULTS),
        help="folder of gpu_pretrain.md; the study goes into its gpu_base/",
    )
    p.add_argument("--skip-study", action="store_true", help="pre-train only")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="tiny CPU check of the whole pipeline (tiny encoder, little data)",
    )
    args = p.parse_args(argv)
    if args.dry_run:
        args.size, args.batch_size, args.epoch_size, args.minutes = "tiny", 64, 500, 2.0
    return args


def _check_device(args) -> str:
    import torch

    if args.dry_run:
        return "cpu"
    if not torch.cuda.is_available():
        raise SystemExit(
            "gpu_pretrain.py: error: no CUDA GPU is visible to torch; this "
            f"script pre-trains `{args.size}` on 1.58M MOSES molecules in "
            f"{args.minutes:g} minutes, which needs one large GPU (a CPU would "
            "take days). Use --dry-run for a tiny CPU check of the pipeline."
        )
    return "cuda"


def _corpus(args) -> tuple[list[str], list[str]]:
    from sciml.chem.datasets import load_dataset

    moses = load_dataset("moses", split="train")["smiles"].tolist()
    chembl = load_dataset("chembl30_sample")["smiles"].tolist()
    if args.dry_run:
        moses = moses[:2_000]
    return moses, chembl


def _plan(rate: float, seconds_left: float, args) -> int:
    """Epochs of ``--epoch-size`` molecules that fit ``seconds_left`` at ``rate`` (90 %)."""
    return max(1, int(0.9 * rate * seconds_left // args.epoch_size))


def main(argv=None) -> None:
    args = _args(argv)
    device = _check_device(args)
    import torch

    from sciml.chem.tokenizer import SmilesTokenizer
    from sciml.chem.transformer import pretrain
    from sciml.train import Checkpoints, TimeBudgetReached

    wall = time.perf_counter()
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    moses, chembl = _corpus(args)
    tokenizer = SmilesTokenizer.build_vocab([*moses, *chembl])
    common = dict(
        size=args.size,
        tokenizer=tokenizer,
        batch_size=args.batch_size,
        lr=args.lr,
        precision="auto",
        encoder_overrides={"dropout": 0.0},
        progress=False,
        corpus_name="moses_gpu" if not args.dry_run else "moses_dry_run",
    )
    # The probe: a few hundred batches' worth tells the plan how fast this GPU trains.
    probe_n = min(len(moses), PROBE_BATCHES * args.batch_size)
    start = time.perf_counter()
    pretrain(moses[:probe_n], epochs=1, val_fraction=0.0, **common)
    rate = probe_n / (time.perf_counter() - start)
    seconds_left = 60 * args.minutes - (time.perf_counter() - wall)
    epochs = (
        min(_plan(rate, seconds_left, args), 2) if args.dry_run else _plan(rate, seconds_left, args)
    )
    checkpoint = Path(args.checkpoint)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    # A hard stop at 1.5x the plan, in case the probe was too optimistic.
    budget = Checkpoints.with_budget(
        checkpoint.with_suffix(".checkpoints"), max_minutes=1.5 * seconds_left / 60
    )
    start = time.perf_counter()
    try:
        stage = pretrain(
            moses,
            epochs=epochs,
            epoch_size=args.epoch_size,
            token_cache=True,
            val_fraction=0.002,
            output=checkpoint,
            checkpoints=budget,
            **common,
        )
    except TimeBudgetReached as stop:
        raise SystemExit(
            f"gpu_pretrain.py: error: pre-training ran past 1.5x its plan of "
            f"{epochs} epochs ({stop}); lower --epoch-size or raise --minutes"
        ) from None
    budget.finish()
    pre_seconds = time.perf_counter() - start
    record = stage.info["stages"][-1]
    lines = [
        f"# `{args.size}` encoder pre-trained on MOSES on one GPU (issue 14, item 6)",
        "",
        machine_info(("torch", "numpy", "scikit-learn", "rdkit")),
        f"Device: {torch.cuda.get_device_name() if device == 'cuda' else 'CPU (dry run)'}. "
        f"Encoder `{args.size}`, MLM (15 %, 80/10/10), dropout 0, batch {args.batch_size}, "
        f"peak learning rate {args.lr:g} with 5 % warm-up and cosine decay, bf16 autocast on "
        f"CUDA; vocabulary of {tokenizer.vocab_size} tokens from MOSES + chembl30_sample.",
        "",
        "| step | value |",
        "| --- | --- |",
        f"| probe throughput ({probe_n} molecules, 1 epoch) | {rate:.0f} molecules/s |",
        f"| plan | {epochs} epochs x {args.epoch_size:,} molecules |",
        f"| molecules seen | {record['molecules_seen']:,} of {len(moses):,} |",
        f"| pre-training wall time | {pre_seconds / 60:.1f} min ({record['molecules_seen'] / pre_seconds:.0f} molecules/s) |",  # noqa: E501
        f"| whole budget used (load, vocabulary, cache, probe, training) | "
        f"{(time.perf_counter() - wall) / 60:.1f} min of {args.minutes:g} |",
        f"| final validation MLM loss (0.2 % of MOSES held out) | "
        f"{record['final'].get('val_mlm', float('nan')):.3f} |",
        "",
    ]
    if not args.skip_study:
        import adme_domain_adaptation as study

        study_dir = results / f"gpu_{args.size}"
        study_args = [
            "--arms",
            "moses",
            "--encoders",
            f"MLM-MOSES={checkpoint}",
            "--output",
            str(study_dir / "adme_domain_adaptation.md"),
            "--threads",
            str(max(1, torch.get_num_threads())),
        ]
        if args.dry_run:
            study_args += [
                "--limit",
                "60",
                "--folds",
                "2",
                "--adapt-epochs",
                "1",
                "--finetune-epochs",
                "1",
                "--n-estimators",
                "5",
            ]
        else:
            study_args += ["--split", "both"]
        start = time.perf_counter()
        study.main(study_args)
        lines.append(
            f"Study protocol with this encoder ({(time.perf_counter() - start) / 60:.1f}"
            f" min): [{study_dir.name}/adme_domain_adaptation.md]"
            f"({study_dir.name}/adme_domain_adaptation.md)."
        )
    (results / "gpu_pretrain.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
