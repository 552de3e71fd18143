"""Train the shipped QED Regression Transformer on a million MOSES molecules, resumably.

The RT paper's own QED task at its own scale: RDKit QED (and logP) of every MOSES training
molecule, computed once and cached (:func:`sciml.chem.corpus.property_table`), token ids
cached on disk (:class:`sciml.chem.corpus.TokenCorpus`), bf16 autocast, length-bucketed
batches, an "epoch" of ``--epoch-size`` molecules so that a checkpoint, a validation pass
and the time budget come every few minutes.

Stages (each records into ``benchmarks/results/qed_rt.json``; the markdown report
``benchmarks/results/qed_rt.md`` is rewritten from it after every stage):

``--select``
    Model size: every size in ``--sizes`` trains for ``--select-minutes`` on the same
    molecules (a pool disjoint from the final validation and test molecules) and is scored
    on the same validation molecules; throughput (molecules/s, end to end) and validation
    RMSE side by side.
``--levers``
    Training throughput (molecules/s and tokens/s, end to end) of the speed levers on the
    same molecules, side by side: fp32 at batch 64 (the old default), bf16, larger
    batches, and both model sizes.
``--train`` (default)
    The shipped model: ``--size`` on the training corpus for ``--max-minutes``, resumable
    (``--resume``), saved to ``--out`` (``sciml/assets/demo_rt.pt`` by default).
``--eval-only``
    Held-out QED prediction and primed generation of the saved model.
``--choose-tta``
    The saved model's default test-time augmentation (:attr:`sciml.rt.predictor.RTConfig.tta`),
    chosen on the validation molecules by :func:`choose_tta`'s rule; the model is saved again
    in place with the choice and its table in the provenance.

Held-out molecules come from the MOSES *test* file, checked disjoint from every training
molecule by canonical SMILES.

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/train_qed_rt.py \\
        --max-minutes 60 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._machine import command_line, git_commit, machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402
from sciml.rt import PropertySpec, RegressionTransformer  # noqa: E402
from sciml.rt.data import build_tokenizer  # noqa: E402
from sciml.rt.numbers import NumberTokenizer  # noqa: E402
from sciml.rt.predictor import RTConfig  # noqa: E402
from sciml.train import TrainConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RECORD = RESULTS / "qed_rt.json"
ASSET = ROOT / "sciml" / "assets" / "demo_rt.pt"
HELDOUT = ROOT / "sciml" / "assets" / "demo_rt_heldout.smi"
SPECS = {"qed": PropertySpec("qed", 0.0, 1.0, 3), "logp": PropertySpec("logp", -6.0, 9.0, 2)}
#: Rows of the MOSES test file used for size selection; final val/test come after them.
SELECT_POOL = 150_000


def parse_args(argv=None) -> argparse.Namespace:
    fast = os.environ.get("SCIML_FAST") == "1"
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    stage = p.add_mutually_exclusive_group()
    stage.add_argument("--select", action="store_true", help="compare model sizes (see above)")
    stage.add_argument(
        "--levers",
        action="store_true",
        help="training throughput of each speed lever, side by side",
    )
    stage.add_argument("--eval-only", action="store_true", help="evaluate the saved model only")
    stage.add_argument(
        "--choose-tta",
        action="store_true",
        help="set the saved model's default test-time augmentation (RTConfig.tta) from the "
        "validation molecules (see choose_tta) and save it again in place",
    )
    p.add_argument(
        "--properties",
        nargs="+",
        default=["qed"],
        choices=sorted(SPECS),
        help="properties of the RT (default: qed)",
    )
    p.add_argument(
        "--size",
        default="128x4",
        metavar="DxL",
        help="d_model x layers of the trained model (default 128x4)",
    )
    p.add_argument(
        "--sizes",
        default="128x4,256x4",
        metavar="DxL,...",
        help="sizes compared by --select (default 128x4,256x4)",
    )
    p.add_argument(
        "--select-minutes",
        type=float,
        default=0.5 if fast else 6.0,
        help="training minutes per size in --select (default 6)",
    )
    p.add_argument(
        "--n-train",
        type=int,
        default=3000 if fast else 1_584_663,
        help="MOSES training molecules, a prefix of the file (default: all)",
    )
    p.add_argument(
        "--n-val",
        type=int,
        default=200 if fast else 2000,
        help="validation molecules (default 2000)",
    )
    p.add_argument(
        "--n-test", type=int, default=200 if fast else 1000, help="test molecules (default 1000)"
    )
    p.add_argument(
        "--epoch-size",
        type=int,
        default=1000 if fast else 100_000,
        help="molecules per epoch: checkpoint, validation, budget check (default 1e5)",
    )
    p.add_argument(
        "--passes",
        type=float,
        default=1.0,
        help="passes over the training molecules; sets the LR schedule (default 1)",
    )
    p.add_argument("--batch-size", type=int, default=128, help="molecules per batch (default 128)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default 1e-3)")
    p.add_argument(
        "--precision",
        default="bf16",
        choices=["fp32", "bf16"],
        help="training precision (default bf16)",
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        default=1.0 if fast else 60.0,
        help="training time budget; the best weights so far are saved (default 60)",
    )
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=ROOT / ".checkpoints" / "qed_rt",
        help="per-epoch checkpoints (default .checkpoints/qed_rt)",
    )
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes computing RDKit properties on first use (default 1)",
    )
    p.add_argument(
        "--n-gen-seeds",
        type=int,
        default=8 if fast else 40,
        help="seed molecules of the generation check (default 40)",
    )
    p.add_argument("--out", type=Path, default=ASSET, help=f"model path (default {ASSET})")
    p.add_argument(
        "--corpus",
        choices=["drug", "moses"],
        default="moses",
        help="moses: the MOSES training file (default; the previous model); drug: "
        "MOSES + ChEMBL 30 balanced over QED (benchmarks/rt_corpus.py, the "
        "shipped model of issue 25)",
    )
    p.add_argument(
        "--language",
        choices=["smiles", "selfies"],
        default="smiles",
        help="molecule language of the trained model (default smiles)",
    )
    p.add_argument(
        "--init-from",
        default=None,
        metavar="PATH|git:REV:PATH",
        help="start from this saved RT's weights (a git:REV:PATH is read from the "
        "repository's history, e.g. the previous demo_rt.pt)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="training epochs of --epoch-size molecules: the budget in molecules "
        "(default: from --passes)",
    )
    p.add_argument(
        "--augment",
        type=int,
        default=0,
        help="randomised SMILES per training molecule added as extra training rows, "
        "written in the model's language (SMILES enumeration; default 0: canonical only)",
    )
    p.add_argument(
        "--record",
        type=Path,
        default=RECORD,
        help="JSON record of every stage; the markdown report goes next to it "
        "(default benchmarks/results/qed_rt.json)",
    )
    return p.parse_args(argv)


def _suffix(args) -> str:
    """Record key suffix of a model: '' for the QED model, '_qed_logp' for qed and logp."""
    return "" if args.properties == ["qed"] else "_" + "_".join(args.properties)


def parse_size(text: str) -> tuple[int, int]:
    try:
        d, layers = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"train_qed_rt: error: size {text!r} is not DxL, e.g. 128x4") from None
    return d, layers


def rt_config(size: str) -> RTConfig:
    d, layers = parse_size(size)
    return RTConfig(
        size="tiny",
        encoder_overrides={
            "d_model": d,
            "n_layers": layers,
            "n_heads": 4,
            "d_ff": 4 * d,
            "dropout": 0.0,
            "max_len": 128,
        },
        digit_distance=0.5,
        span_slack=0.5,
    )


def load_record(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def save_record(record: dict, path: Path) -> None:
    with atomic_write(path) as handle:
        handle.write(json.dumps(record, indent=1, default=float))


def drug_corpus(args, log) -> dict:
    """The balanced MOSES + ChEMBL corpus (:mod:`benchmarks.rt_corpus`) in this script's parts."""
    from benchmarks.rt_corpus import CorpusSpec, build

    spec = CorpusSpec.fast() if os.environ.get("SCIML_FAST") == "1" else CorpusSpec()
    parts = build(spec, workers=args.workers, log=log)
    import pandas as pd

    parts["val"] = pd.concat([parts["chembl_val"], parts["moses_val"]], ignore_index=True)
    parts["test"] = parts["chembl_test"]
    parts["select"] = parts["train"].iloc[:0]
    parts["dropped_test_overlap"] = 0
    parts["corpus_spec"] = spec
    return parts


def init_model(source: str | None):
    """The RT to start from: a path, or ``git:REV:PATH`` read from the repository's history."""
    if source is None:
        return None
    path = Path(source)
    if source.startswith("git:"):
        import subprocess

        _, rev, inner = source.split(":", 2)
        path = ROOT / ".checkpoints" / f"init-{rev}-{Path(inner).name}"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            blob = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{rev}:{inner}"], check=True, capture_output=True
            ).stdout
            path.write_bytes(blob)
    return RegressionTransformer.load(path, map_location="cpu")


def corpus(args, log) -> dict:
    """Canonical SMILES and properties: training molecules and disjoint held-out pools."""
    from sciml.chem.corpus import property_table
    from sciml.data import get_path

    props = ["qed", "logp"]  # one cache for every run: qed and logp together
    train = property_table(get_path("moses_train"), props, limit=args.n_train, workers=args.workers)
    # Smoke runs read a prefix of the test file: no half-hour of RDKit on an empty cache.
    test_limit = 6000 if os.environ.get("SCIML_FAST") == "1" else None
    test = property_table(get_path("moses_test"), props, limit=test_limit, workers=args.workers)
    train = train[(train["canonical"] != "") & train[props].notna().all(axis=1)]
    train = train.drop_duplicates("canonical")
    seen = set(train["canonical"])
    test = test[(test["canonical"] != "") & test[props].notna().all(axis=1)]
    test = test.drop_duplicates("canonical")
    overlap = int(test["canonical"].isin(seen).sum())
    test = test[~test["canonical"].isin(seen)]
    pool, rest = test.iloc[:SELECT_POOL], test.iloc[SELECT_POOL:]
    if len(rest) < args.n_val + args.n_test:  # small (fast) runs
        pool, rest = test.iloc[: len(test) // 2], test.iloc[len(test) // 2 :]
    rest = rest.sample(frac=1.0, random_state=0)
    parts = {
        "train": train,
        "select": pool,
        "val": rest.iloc[: args.n_val],
        "test": rest.iloc[args.n_val : args.n_val + args.n_test],
    }
    for a in parts:
        for b in parts:
            if a < b and a != "select" and b != "select":
                shared = set(parts[a]["canonical"]) & set(parts[b]["canonical"])
                if shared:
                    raise RuntimeError(f"{a} and {b} share {len(shared)} molecules")
    log(
        f"molecules: train {len(train)}, selection pool {len(pool)}, val {args.n_val}, "
        f"test {args.n_test}; {overlap} MOSES test molecules dropped (also in train)"
    )
    parts["dropped_test_overlap"] = overlap
    return parts


def fit(
    rt: RegressionTransformer,
    train,
    val,
    args,
    minutes: float,
    checkpoint_dir: Path,
    resume: bool,
    epochs: int,
    init_from=None,
) -> dict:
    names = list(args.properties)
    last = checkpoint_dir / "last.pt"
    config = TrainConfig(
        max_epochs=epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup=0.02,
        precision=args.precision,
        monitor="val_rmse",
        seed=0,
        checkpoint_dir=str(checkpoint_dir),
        history_csv=str(checkpoint_dir / "history.csv"),
        max_minutes=minutes,
        on_budget="stop",
        progress=sys.stderr.isatty() or os.environ.get("SCIML_PROGRESS") == "1",
    )
    t0, cpu0 = time.perf_counter(), time.process_time()
    rt.fit(
        train["canonical"].tolist(),
        train[names],
        val_smiles=val["canonical"].tolist(),
        val_y=val[names],
        train_config=config,
        canonical=True,
        cache_tokens=True,
        epoch_size=args.epoch_size,
        resume=last if resume and last.is_file() else None,
        init_from=init_from,
        errors="skip",
    )
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - cpu0
    hist = rt.history
    trained = hist["epoch"].max() + 1
    from benchmarks.qed_rt_eval import rates

    rate, seen = rates(hist.to_dict("list"), len(train), args.epoch_size)
    return {
        "epochs_trained": int(trained),
        "epochs_planned": int(epochs),
        "molecules_seen": seen,
        "stopped_by_budget": bool(rt.stopped_by_budget),
        "seconds_this_call": round(seconds, 1),
        "cpu_seconds_this_call": round(cpu_seconds, 1),
        "seconds_total": round(float(hist["seconds"].sum()), 1),
        "molecules_per_s": rate,
        "best_val_rmse": float(hist["val_rmse"].min()),
        "best_epoch": int(hist["val_rmse"].idxmin()),
        "n_parameters": sum(p.numel() for p in rt.net.parameters()),
        "history": hist[
            [
                c
                for c in hist.columns
                if c in ("epoch", "train_loss", "val_rmse", "val_pearson", "seconds")
            ]
        ]
        .round(5)
        .to_dict("list"),
    }


_TOKENIZERS: dict = {}


def build(args, parts, size: str) -> RegressionTransformer:
    if args.corpus == "drug":  # the vocabulary comes from the training molecules (fit)
        return RegressionTransformer(
            [SPECS[p] for p in args.properties], rt_config(size), language=args.language
        )
    numbers = NumberTokenizer([SPECS[p] for p in args.properties])
    key = tuple(args.properties)
    if key not in _TOKENIZERS:  # one vocabulary per run: building it reads every molecule
        every = [
            *parts["train"]["canonical"],
            *parts["select"]["canonical"],
            *parts["val"]["canonical"],
            *parts["test"]["canonical"],
        ]
        _TOKENIZERS[key] = build_tokenizer(every, numbers)
    tokenizer = _TOKENIZERS[key]
    return RegressionTransformer([SPECS[p] for p in args.properties], rt_config(size), tokenizer)


def write_heldout(test: list[str], n: int = 100) -> None:
    """The demo's held-out molecules: the first ``n`` test molecules under 40 atoms."""
    from rdkit import Chem

    small = [s for s in test if Chem.MolFromSmiles(s).GetNumAtoms() < 40][:n]
    with atomic_write(HELDOUT) as handle:
        handle.write(
            "# Held-out test molecules of sciml/assets/demo_rt.pt (MOSES test file, "
            "disjoint from its training\n# molecules by canonical SMILES); written by "
            "benchmarks/train_qed_rt.py (MOSES, MIT licence).\n" + "\n".join(small) + "\n"
        )


def stage_select(args, parts, record, log) -> None:
    rows = {}
    pool = parts["select"]
    for size in args.sizes.split(","):
        folder = args.checkpoint_dir.with_name(args.checkpoint_dir.name + f"-select-{size}")
        rt = build(args, parts, size)
        log(f"size {size}: training {args.select_minutes:g} min on {len(pool)} molecules")
        # The LR schedule spans what the budget allows at this size: measured, not guessed.
        rows[size] = fit(
            rt, pool, parts["val"], args, args.select_minutes, folder, resume=False, epochs=1000
        )
        log(
            f"size {size}: {rows[size]['molecules_per_s']:.0f} mol/s, best val RMSE "
            f"{rows[size]['best_val_rmse']:.4f}"
        )
    record["select"] = {
        "command": command_line(),
        "git_commit": git_commit(),
        "sizes": rows,
        "minutes_each": args.select_minutes,
        "pool": len(pool),
        "epoch_size": args.epoch_size,
    }


LEVERS = (  # label, size, precision, batch size, dropout, CPU training attention
    ("before: fp32, batch 64, dropout 0.1, SDPA attention", "128x4", "fp32", 64, 0.1, "sdpa"),
    ("bf16, batch 64, dropout 0.1, SDPA attention", "128x4", "bf16", 64, 0.1, "sdpa"),
    ("bf16, batch 64, dropout 0.1, written-out attention", "128x4", "bf16", 64, 0.1, "math"),
    ("bf16, batch 64, dropout 0", "128x4", "bf16", 64, 0.0, "math"),
    ("bf16, batch 128, dropout 0", "128x4", "bf16", 128, 0.0, "math"),
    ("bf16, batch 256, dropout 0", "128x4", "bf16", 256, 0.0, "math"),
    ("fp32, batch 128, dropout 0, 256x4", "256x4", "fp32", 128, 0.0, "math"),
    ("bf16, batch 128, dropout 0, 256x4", "256x4", "bf16", 128, 0.0, "math"),
)


def stage_levers(args, parts, record, log) -> None:
    """Seconds per epoch of ``n`` molecules for each lever (the second epoch: warm)."""
    import sciml.encoder

    pool = parts["select"].iloc[: 1000 if os.environ.get("SCIML_FAST") == "1" else 6000]
    tokens = None
    rows = {}
    for label, size, precision, batch, dropout, attention in LEVERS:
        rt = build(args, parts, size)
        rt.config.encoder_overrides["dropout"] = dropout
        sciml.encoder.CPU_TRAINING_ATTENTION = attention
        if tokens is None:
            tokens = int(sum(len(rt.tokenizer.tokenize(s)) for s in pool["canonical"]))
        config = TrainConfig(
            max_epochs=2, batch_size=batch, lr=args.lr, precision=precision, seed=0, progress=False
        )
        rt.fit(
            pool["canonical"].tolist(),
            pool[list(args.properties)],
            train_config=config,
            canonical=True,
            cache_tokens=True,
        )
        seconds = float(rt.history["seconds"].iloc[-1])
        rows[label] = {
            "size": size,
            "precision": precision,
            "batch_size": batch,
            "dropout": dropout,
            "molecules_per_s": len(pool) / seconds,
            "tokens_per_s": tokens / seconds,
        }
        log(f"{label}: {rows[label]['molecules_per_s']:.0f} mol/s")
    sciml.encoder.CPU_TRAINING_ATTENTION = "math"
    record["levers"] = {
        "command": command_line(),
        "git_commit": git_commit(),
        "rows": rows,
        "molecules": len(pool),
        "threads": args.threads,
    }


def stage_train(args, parts, record, log) -> None:
    from sciml._io import check_output_file

    check_output_file(args.out, "--out")
    parts = dict(parts)
    for name in ("train", "val"):
        frame = parts[name]
        inside = np.ones(len(frame), bool)
        for p in args.properties:
            inside &= frame[p].between(SPECS[p].vmin, SPECS[p].vmax).to_numpy()
        if not inside.all():
            # ChEMBL holds molecules beyond the digit range of a property (logP > 9): they
            # cannot be written in the property block, so they leave the corpus, counted.
            log(f"{name}: {int((~inside).sum())} molecules outside the properties' ranges left out")
            record.setdefault("left_out_of_range", {})[name] = int((~inside).sum())
            parts[name] = frame[inside].reset_index(drop=True)
    if args.augment > 0:
        parts["train"] = augmented(parts["train"], args.augment, log)
    rt = build(args, parts, args.size)
    per_pass = -(-len(parts["train"]) // args.epoch_size)
    epochs = args.epochs or max(1, round(args.passes * per_pass))
    log(
        f"training {args.size} ({args.language}) on {len(parts['train'])} molecules: {epochs} "
        f"epochs of {args.epoch_size}, cap {args.max_minutes:g} min"
    )
    result = fit(
        rt,
        parts["train"],
        parts["val"],
        args,
        args.max_minutes,
        args.checkpoint_dir,
        args.resume,
        epochs,
        init_from=init_model(args.init_from),
    )
    provenance = {
        "corpus": _corpus_description(args, parts),
        "language": args.language,
        "init_from": args.init_from,
        "molecules_seen": result["molecules_seen"],
        "command": command_line(),
        "git_commit": git_commit(),
        "training": {
            k: result[k]
            for k in (
                "epochs_trained",
                "seconds_total",
                "cpu_seconds_this_call",
                "best_val_rmse",
                "best_epoch",
                "history",
            )
        },
    }
    rt.save(args.out, provenance=provenance)
    if args.out == ASSET:
        write_heldout(parts["test"]["canonical"].tolist())
    log(f"saved {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): {result['best_val_rmse']}")
    key = "train" + _suffix(args) + ("" if args.corpus == "moses" else f"_drug_{args.language}")
    record[key] = {
        **result,
        "command": command_line(),
        "git_commit": git_commit(),
        "size": args.size,
        "properties": args.properties,
        "n_train": len(parts["train"]),
        "dropped_test_overlap": parts["dropped_test_overlap"],
        "threads": args.threads,
        "precision": args.precision,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "asset_bytes": args.out.stat().st_size,
        "language": args.language,
        "corpus": args.corpus,
        "init_from": args.init_from,
    }


#: Encodings averaged at prediction that --choose-tta compares (RTConfig.tta).
TTA_CHOICES = (1, 2, 4, 8, 16)


def choose_tta(rmse: dict[int, float]) -> int:
    """The default ``tta`` from validation RMSE per ``tta``: written before any model was scored.

    Start at 1; a larger ``tta`` (in increasing order) replaces the current choice only if its
    RMSE is at least 1% lower than the current choice's (each doubling doubles the cost of a
    prediction).

    >>> choose_tta({1: 0.070, 2: 0.066, 4: 0.065, 8: 0.0648, 16: 0.0647})
    4
    >>> choose_tta({1: 0.060, 2: 0.061, 4: 0.0605})
    1
    """
    chosen = 1
    for k in sorted(rmse):
        if k > chosen and rmse[k] <= 0.99 * rmse[chosen]:
            chosen = k
    return chosen


def stage_choose_tta(args, parts, record, log) -> None:
    """Score ``--out`` on the validation molecules at every ``tta`` and save the choice in it.

    The score is the RMSE of each property in units of its range, averaged over the
    properties (for the QED model: the QED RMSE itself).
    """
    from dataclasses import replace

    from sciml.metrics import rmse

    rt = RegressionTransformer.load(args.out, map_location="cpu")
    val, names = parts["val"], rt.property_names
    ranges = np.array([rt.numbers.spec(n).vmax - rt.numbers.spec(n).vmin for n in names])
    table = {}
    for k in TTA_CHOICES:
        pred = rt.predict(val["canonical"].tolist(), errors="nan", tta=k)[names]
        # In units of each property's range (QED: its own), averaged over the properties.
        table[k] = float(np.mean(rmse(val[names].to_numpy(), pred.to_numpy()) / ranges))
        log(f"tta {k}: validation RMSE {table[k]:.4f} (of each property's range, mean)")
    chosen = choose_tta(table)
    rt.config = replace(rt.config, tta=chosen)
    provenance = dict(rt.provenance or {})
    provenance["tta"] = {
        "chosen": chosen,
        "validation_rmse": {str(k): round(v, 5) for k, v in table.items()},
        "rule": "benchmarks/train_qed_rt.py choose_tta: a larger tta must lower the "
        "validation RMSE by at least 1%",
        "command": command_line(),
    }
    rt.save(args.out, provenance=provenance)
    record["choose_tta_" + args.out.stem] = provenance["tta"]
    log(f"tta {chosen} chosen and saved in {args.out}")


def augmented(train, k: int, log):
    """``train`` with ``k`` randomised SMILES of each molecule appended as rows (same values).

    The ``canonical`` column then holds the text written for the model (RDKit random atom
    orders, seeded per molecule by :func:`sciml.rt.finetune.randomized_smiles`); the
    canonical rows come first, and ``variant`` counts 0 (canonical) to ``k``.
    """
    import pandas as pd

    from sciml.rt.finetune import randomized_smiles

    t0 = time.perf_counter()
    rows = randomized_smiles(train["canonical"].tolist(), k + 1, seed=0)
    frames = []
    for j in range(k + 1):
        frame = train.copy()
        frame["canonical"] = [r[j] for r in rows]
        frame["variant"] = j
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    log(f"augmented: {len(train)} molecules x {k + 1} encodings ({time.perf_counter() - t0:.0f} s)")
    return out


def _corpus_description(args, parts) -> str:
    if args.corpus == "moses":
        return f"MOSES training file, {len(parts['train'])} molecules"
    spec = parts["corpus_spec"]
    train = parts["train"]
    if "variant" in train:
        train = train[train["variant"] == 0]
    counts = train["source"].value_counts().to_dict()
    extra = (
        f", each also written as {args.augment} randomised SMILES (--augment)"
        if args.augment
        else ""
    )
    return (
        f"benchmarks/rt_corpus.py {spec}: MOSES training prefix + ChEMBL 30 drug-like, "
        f"balanced over QED bins; {len(train)} molecules {counts}{extra}"
    )


def main(argv=None) -> None:
    args = parse_args(argv)
    if _suffix(args):  # another property set: never overwrite the shipped QED model
        if args.out == ASSET:
            args.out = ROOT / ".checkpoints" / f"rt{_suffix(args)}.pt"
        if args.checkpoint_dir == ROOT / ".checkpoints" / "qed_rt":
            args.checkpoint_dir = ROOT / ".checkpoints" / f"rt{_suffix(args)}"
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - t_start:7.1f}s] {message}", flush=True)

    record = load_record(args.record)
    parts = drug_corpus(args, log) if args.corpus == "drug" else corpus(args, log)
    if args.select:
        stage_select(args, parts, record, log)
    elif args.levers:
        stage_levers(args, parts, record, log)
    elif args.choose_tta:
        stage_choose_tta(args, parts, record, log)
    elif args.eval_only:
        from benchmarks.qed_rt_eval import evaluate

        key = "eval" + _suffix(args) + ("" if args.corpus == "moses" else f"_drug_{args.language}")
        record[key] = evaluate(RegressionTransformer.load(args.out), parts, args, log)
        record[key]["command"] = command_line()
    else:
        stage_train(args, parts, record, log)
    record["machine"] = machine_info(("numpy", "torch", "rdkit"))
    save_record(record, args.record)
    from benchmarks.qed_rt_eval import write_report

    report = args.record.with_suffix(".md")
    write_report(record, report)
    log(f"wrote {args.record} and {report}")


if __name__ == "__main__":
    main()
