"""Ship the ``small`` encoder pre-trained on MOSES as ``sciml/assets/moses_mlm_small.pt``.

The pre-training itself is one resumable ``sciml pretrain`` run (issue 14)::

    OMP_NUM_THREADS=1 sciml pretrain --corpus moses --vocab-from chembl30_sample \
        --size small --precision bf16 --batch-size 256 --lr 1e-3 --dropout 0 \
        --epoch-size 100000 --epochs 14 --val-fraction 0.001 --max-minutes 100 \
        --out runs/moses_small_1p4m.pt

(``--resume`` continues it after ``--max-minutes``); ``--train`` runs exactly that command
here (resuming until it finishes) before the rest. This script then

1. takes that checkpoint (``--checkpoint``), or with ``--from-best`` the ``best.pt`` that a
   run stopped by its time budget left in its checkpoint folder, with the vocabulary
   rebuilt exactly as the CLI built it;
2. stores its weights in bf16 (half the file; loading casts them back to fp32);
3. compares it with the toy ``demo_encoder.pt`` on the same molecules: MLM loss (same
   masked positions, seed 0) on 2,000 MOSES *test* molecules and on the Biogen ADME
   molecules, and frozen [CLS] embeddings + random forests on Biogen (5-fold random CV,
   no domain adaptation);
4. counts the Biogen molecules that MOSES training holds (RDKit canonical SMILES).

Run: ``SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/pretrain_moses_encoder.py``.
Writes ``sciml/assets/moses_mlm_small.pt`` and ``benchmarks/results/moses_encoder.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from _machine import machine_info  # noqa: E402

ASSETS = ROOT.parent / "sciml" / "assets"
ENDPOINTS = ["HLM", "RLM", "MDR1_ER", "Sol", "hPPB", "rPPB"]


def _args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--train",
        action="store_true",
        help="run the pre-training command first (resumes until it finishes)",
    )
    p.add_argument(
        "--checkpoint",
        default="runs/moses_small_1p4m.pt",
        help="the finished 'sciml pretrain' checkpoint",
    )
    p.add_argument(
        "--from-best",
        metavar="BEST_PT",
        help="use this best.pt of a run stopped by its time budget instead",
    )
    p.add_argument(
        "--tokenizer",
        metavar="JSON",
        help="with --from-best: the run's vocabulary, saved (else rebuilt)",
    )
    p.add_argument("--asset", default=str(ASSETS / "moses_mlm_small.pt"))
    p.add_argument(
        "--folds",
        type=int,
        default=5,
        help="random CV folds of the downstream check; 1: only the first of 5",
    )
    p.add_argument(
        "--overlap-from-properties",
        action="store_true",
        help="count Biogen molecules in MOSES from the cached MOSES property table",
    )
    p.add_argument("--mlm-n", type=int, default=2_000, help="MOSES test molecules for the MLM loss")
    p.add_argument("--n-estimators", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--output", default=str(ROOT / "results" / "moses_encoder.md"))
    return p.parse_args(argv)


#: The pre-training command's arguments (``sciml pretrain ...``); one torch thread.
PRETRAIN_ARGS = [
    "--corpus",
    "moses",
    "--vocab-from",
    "chembl30_sample",
    "--size",
    "small",
    "--precision",
    "bf16",
    "--batch-size",
    "256",
    "--lr",
    "1e-3",
    "--dropout",
    "0",
    "--epoch-size",
    "100000",
    "--epochs",
    "14",
    "--val-fraction",
    "0.001",
    "--max-minutes",
    "100",
    "--out",
    "runs/moses_small_1p4m.pt",
]


def train() -> None:
    """Run :data:`PRETRAIN_ARGS`, resuming after each time-budget stop until it finishes."""
    from sciml.cli import main as cli

    status = cli(["pretrain", *PRETRAIN_ARGS, "--no-progress"])
    while status == 3:  # the time budget stopped it; its checkpoint resumes it
        status = cli(["pretrain", *PRETRAIN_ARGS, "--no-progress", "--resume"])
    if status:
        raise SystemExit(f"sciml pretrain failed with status {status}")


def moses_tokenizer():
    """The vocabulary ``sciml pretrain --corpus moses --vocab-from chembl30_sample`` builds."""
    from sciml.chem.datasets import load_dataset
    from sciml.chem.tokenizer import SmilesTokenizer

    moses = load_dataset("moses", split="train")["smiles"].tolist()
    chembl = load_dataset("chembl30_sample")["smiles"].tolist()
    return SmilesTokenizer.build_vocab([*moses, *chembl])


def stage_from_best(best: str, info: dict, tokenizer_file: str | None = None):
    """A stage from a budget-stopped run's ``best.pt`` (weights only) and the CLI vocabulary
    (rebuilt, or read from ``tokenizer_file`` written by :func:`moses_tokenizer`'s caller).

    The vocabulary must be the one the run's token cache was built with: its fingerprint
    is part of the cache folder's name (``tokens-moses-<fingerprint[:16]>-...``).
    """
    from sciml.chem.corpus import TokenCorpus, corpus_dir
    from sciml.chem.tokenizer import SmilesTokenizer
    from sciml.chem.transformer import Stage
    from sciml.chem.transformer.model import MolecularTransformer
    from sciml.train import load_checkpoint, rebuild_model

    model = rebuild_model(load_checkpoint(best), expected=MolecularTransformer, source=best)
    tokenizer = SmilesTokenizer.load(tokenizer_file) if tokenizer_file else moses_tokenizer()
    key = TokenCorpus.vocabulary_key(tokenizer)
    if not list(corpus_dir().glob(f"tokens-moses-{key}-*")):
        raise SystemExit(
            f"no MOSES token cache was built with vocabulary {key} under "
            f"{corpus_dir()}: this is not the run's vocabulary"
        )
    if model.hparams["encoder"]["vocab_size"] != tokenizer.vocab_size:
        raise SystemExit(
            f"{best}: {model.hparams['encoder']['vocab_size']} token embeddings, "
            f"but the rebuilt vocabulary has {tokenizer.vocab_size} tokens"
        )
    return Stage(model.eval(), tokenizer, info)


def budget_stop_info(best: str) -> dict:
    """Provenance of a budget-stopped run, from the ``last.pt`` next to its ``best.pt``."""
    from sciml.train import load_checkpoint

    state = load_checkpoint(Path(best).with_name("last.pt"))["training"]
    history, chosen = state["history"], state["best"]["epoch"]
    epoch_size = int(PRETRAIN_ARGS[PRETRAIN_ARGS.index("--epoch-size") + 1])
    planned = int(PRETRAIN_ARGS[PRETRAIN_ARGS.index("--epochs") + 1])
    return {
        "size": "small",
        "stages": [
            {
                "stage": "pretrain",
                "objective": "mlm",
                "corpus": "moses",
                "epochs": chosen + 1,
                "planned_epochs": planned,
                "epoch_size": epoch_size,
                "molecules_seen": epoch_size * (chosen + 1),
                "final": {k: float(v) for k, v in history[chosen].items()},
                "note": f"best.pt (epoch {chosen + 1} of the {len(history)} run before the run "
                f"stopped; {planned} planned, so the learning rate had not decayed fully)",
            }
        ],
    }


def mlm_loss(stage, smiles: list[str], batch_size: int = 256) -> float:
    """Mean MLM cross-entropy per masked token, masks drawn with seed 0 (same for any vocab
    whose special tokens come first, as they do in every sciml vocabulary)."""
    import torch

    from sciml.chem.tokenizer import pad_ids
    from sciml.chem.transformer import encode_smiles, mask_tokens

    ids, _, _ = encode_smiles(smiles, stage.tokenizer, stage.model.encoder.max_len, "skip")
    generator = torch.Generator().manual_seed(0)
    total, count = 0.0, 0
    model = stage.model.eval()
    with torch.no_grad():
        for start in range(0, len(ids), batch_size):
            input_ids, mask = pad_ids(ids[start : start + batch_size], stage.tokenizer.pad_id)
            masked, labels = mask_tokens(input_ids, mask, stage.tokenizer, generator=generator)
            logits = model({"input_ids": masked, "attention_mask": mask, "labels": labels})
            loss = torch.nn.functional.cross_entropy(
                logits["logits"].reshape(-1, logits["logits"].shape[-1]).float(),
                labels.reshape(-1),
                ignore_index=-100,
                reduction="sum",
            )
            total += float(loss)
            count += int((labels != -100).sum())
    return total / count


def frozen_rf(stage, data: pd.DataFrame, folds: int, n_estimators: int) -> pd.Series:
    """Mean R² per endpoint over ``folds`` random folds (``1``: the first of 5 only):
    [CLS] embeddings + forests."""
    from sklearn.ensemble import RandomForestRegressor

    from sciml.chem.splits import kfold
    from sciml.chem.transformer import embed
    from sciml.metrics import regression_report

    x = embed(stage, data["smiles"].tolist(), errors="nan", precision="fp32")
    scores = []
    splits = kfold(len(data), 5 if folds == 1 else folds, seed=0)
    for train, test in splits[:1] if folds == 1 else splits:
        pred = pd.DataFrame(np.nan, index=range(len(test)), columns=ENDPOINTS)
        for endpoint in ENDPOINTS:
            y = data[endpoint].to_numpy()
            rows = train[~np.isnan(y[train]) & ~np.isnan(x[train]).any(1)]
            forest = RandomForestRegressor(
                n_estimators=n_estimators, max_features=1 / 3, random_state=0, n_jobs=1
            ).fit(x[rows], y[rows])
            ok = ~np.isnan(x[test]).any(1)
            pred.loc[ok, endpoint] = forest.predict(x[test][ok])
        truth = data[ENDPOINTS].iloc[test].reset_index(drop=True)
        scores.append(regression_report(truth, pred)["r2"].drop("mean"))
    return pd.concat(scores, axis=1).mean(axis=1)


def biogen_in_moses(biogen: list[str], from_properties: bool) -> tuple[int, str]:
    """Biogen molecules whose RDKit canonical SMILES is in MOSES training, and how it was
    found: with ``from_properties``, from the ``canonical`` column of the MOSES property
    table that the Regression Transformer's training caches (computed if missing, which
    takes hours), else by :func:`~sciml.chem.corpus.canonical_overlap`."""
    from sciml.chem.corpus import canonical_overlap, compute_properties, property_table
    from sciml.chem.datasets import load_dataset
    from sciml.data import get_path

    if from_properties:
        table = property_table(get_path("moses_train"), ("qed", "logp"), progress=False)
        mine = set(compute_properties(biogen, ["qed"])["canonical"]) - {""}
        return (
            len(mine & set(table["canonical"])),
            "the canonical column of the cached MOSES property table (qed, logp)",
        )
    moses = load_dataset("moses", split="train")["smiles"].tolist()
    return len(canonical_overlap(biogen, moses)), "sciml.chem.corpus.canonical_overlap"


def main(argv=None) -> None:
    args = _args(argv)
    import torch

    from sciml.chem.datasets import load_dataset
    from sciml.chem.transformer import load_stage, save_stage

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    if args.train:
        train()
    if args.from_best:
        stage = stage_from_best(args.from_best, budget_stop_info(args.from_best), args.tokenizer)
    else:
        stage = load_stage(args.checkpoint)
    toy = load_stage(ASSETS / "demo_encoder.pt")
    stage.model = stage.model.to(torch.bfloat16)
    asset = save_stage(stage, args.asset)
    shipped = load_stage(asset)  # back in fp32: what users get
    moses_test = (
        load_dataset("moses", split="test")["smiles"].sample(args.mlm_n, random_state=0).tolist()
    )
    data = load_dataset("biogen_adme", drop_censored=True).reset_index(drop=True)
    biogen = data["smiles"].tolist()
    rows = []
    for name, candidate in (("demo_encoder.pt (toy)", toy), (Path(args.asset).name, shipped)):
        r2 = frozen_rf(candidate, data, args.folds, args.n_estimators)
        rows.append(
            {
                "encoder": name,
                "parameters (M)": round(
                    sum(p.numel() for p in candidate.model.encoder.parameters()) / 1e6, 2
                ),
                f"MLM loss, {args.mlm_n:,} MOSES test": round(mlm_loss(candidate, moses_test), 3),
                "MLM loss, Biogen": round(mlm_loss(candidate, biogen), 3),
                **{f"R² {e}": round(float(r2[e]), 3) for e in ENDPOINTS},
                "mean R²": round(float(r2.mean()), 3),
            }
        )
        print(rows[-1], flush=True)
    n_overlap, how = biogen_in_moses(biogen, args.overlap_from_properties)
    record = stage.info["stages"][-1]
    table = pd.DataFrame(rows)
    lines = [
        "# `small` encoder pre-trained on MOSES (issue 14)",
        "",
        machine_info(("torch", "numpy", "scikit-learn", "rdkit")),
        f"Pre-training command: `OMP_NUM_THREADS=1 sciml pretrain "
        f"{' '.join(PRETRAIN_ARGS)}`; a run stopped before its planned epochs (time budget "
        "or by hand, see the record's epochs and molecules seen) continues with `... --resume`.",
        "",
        f"Pre-training record: {json.dumps(record, default=str)}",
        "",
        f"Shipped as `sciml/assets/{Path(args.asset).name}` with bf16 weights "
        f"({Path(asset).stat().st_size / 1e6:.1f} MB; fp32 once loaded).",
        "",
        "Both encoders on the same molecules: MLM cross-entropy per masked token (15 %, "
        "80/10/10, masks drawn with seed 0) and frozen [CLS] embeddings + random forests "
        f"({args.n_estimators} trees, max_features 1/3) over "
        + ("the first of 5 random folds" if args.folds == 1 else f"{args.folds}-fold random CV")
        + " of Biogen ADME (censored HLM/RLM dropped), "
        "no domain adaptation:",
        "",
        "| " + " | ".join(table.columns) + " |",
        "|" + " --- |" * len(table.columns),
        *("| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)),
        "",
        f"Biogen molecules in the MOSES training set (same RDKit canonical SMILES; from "
        f"{how}): **{n_overlap} of {len(biogen)}**.",
        "",
        f"Wall time of this script: {(time.perf_counter() - start) / 60:.1f} min.",
        "",
    ]
    Path(args.output).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
