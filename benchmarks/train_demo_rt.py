"""Train the demo Regression Transformer (QED) within a wall-time budget; save it as an asset.

Writes ``sciml/assets/demo_rt.pt`` (a small RT for ``sciml demo``: predict QED, generate
molecules primed to QED targets), ``benchmarks/results/demo_rt.json`` (training record) and
``benchmarks/results/demo_rt.md`` (held-out QED RMSE/Pearson, a generation check, machine).

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/train_demo_rt.py --budget-min 20

Without ``SCIML_DATA_DIR`` the molecules come from RDKit's bundled ``NCI/first_5K.smi``.
``--eval-only`` re-runs the held-out metrics and the generation check on the saved asset
(same split, same seeds), e.g. after a change to the generation code. ``SCIML_FAST=1``
shrinks everything to a smoke run.
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
from rdkit import Chem, RDConfig, rdBase
from rdkit.Chem import QED

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._machine import command_line, machine_info  # noqa: E402
from sciml import metrics  # noqa: E402
from sciml.rt import PropertySpec, RegressionTransformer  # noqa: E402
from sciml.rt.data import build_tokenizer  # noqa: E402
from sciml.rt.numbers import NumberTokenizer  # noqa: E402
from sciml.rt.predictor import RTConfig  # noqa: E402
from sciml.train import TrainConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ASSET = ROOT / "sciml" / "assets" / "demo_rt.pt"
#: Held-out test molecules of the asset's split, for `sciml demo` (molecules it never saw).
HELDOUT = ROOT / "sciml" / "assets" / "demo_rt_heldout.smi"
N_HELDOUT = 100
PRIMERS = (0.3, 0.8)
MAX_ASSET_BYTES = 5 * 1024 * 1024
QED_SPEC = PropertySpec("qed", 0.0, 1.0, 3)


def parse_args() -> argparse.Namespace:
    fast = os.environ.get("SCIML_FAST") == "1"
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--budget-min",
        type=float,
        default=1.0 if fast else 20.0,
        help="wall-time budget of the whole script, minutes",
    )
    p.add_argument(
        "--n-train",
        type=int,
        default=400 if fast else 12000,
        help="training molecules (fewer if the budget is short)",
    )
    p.add_argument("--n-val", type=int, default=50 if fast else 300)
    p.add_argument("--n-test", type=int, default=100 if fast else 1000)
    p.add_argument("--max-chars", type=int, default=80, help="drop longer SMILES (speed)")
    p.add_argument(
        "--min-epochs",
        type=int,
        default=2 if fast else 10,
        help="train fewer molecules rather than fewer epochs than this",
    )
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument(
        "--reveal-digits",
        type=float,
        default=0.0,
        help="fraction of property-mode rows that see the leading digits (RTConfig)",
    )
    p.add_argument("--n-gen-seeds", type=int, default=10 if fast else 50)
    p.add_argument("--n-per-seed", type=int, default=4)
    p.add_argument("--mask-fraction", type=float, default=0.3)
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: 2 if the machine is idle, else 1)",
    )
    p.add_argument("--eval-only", action="store_true", help="evaluate the saved asset only")
    p.add_argument("--heldout-only", action="store_true",
                   help=f"only write {HELDOUT.name} (the demo's held-out molecules)")
    p.add_argument("--out", type=Path, default=ASSET)
    return p.parse_args()


def load_molecules(max_chars: int) -> tuple[list[str], str]:
    """Canonical, de-duplicated SMILES (at most ``max_chars`` long) and their source."""
    if os.environ.get("SCIML_DATA_DIR"):
        from sciml.chem import load_dataset

        raw, source = load_dataset("chembl30_sample")["smiles"].tolist(), "chembl30_sample"
    else:
        path = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
        raw = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
        source = "RDKit NCI/first_5K.smi"
    out = []
    with rdBase.BlockLogs():
        for s in raw:
            mol = Chem.MolFromSmiles(s)
            if mol is not None:
                out.append(Chem.MolToSmiles(mol))
    out = sorted({s for s in out if len(s) <= max_chars})
    return out, source


def qed_of(smiles: list[str]) -> np.ndarray:
    with rdBase.BlockLogs():
        return np.array([QED.qed(Chem.MolFromSmiles(s)) for s in smiles])


def split(smiles: list[str], args) -> dict[str, list[str]]:
    """Random disjoint subsets (seed 0): the same in training and ``--eval-only`` runs."""
    order = np.random.default_rng(0).permutation(len(smiles))
    picked = [smiles[i] for i in order]
    test, val = picked[: args.n_test], picked[args.n_test : args.n_test + args.n_val]
    train = picked[args.n_test + args.n_val : args.n_test + args.n_val + args.n_train]
    return {"train": train, "val": val, "test": test}


def write_heldout(test: list[str]) -> None:
    """The first test molecules with fewer than 40 atoms (the demo's size limit), one per line."""
    with rdBase.BlockLogs():
        small = [s for s in test if Chem.MolFromSmiles(s).GetNumAtoms() < 40][:N_HELDOUT]
    HELDOUT.write_text(
        "# Held-out test molecules of sciml/assets/demo_rt.pt's split (never trained on);\n"
        "# written by benchmarks/train_demo_rt.py (chembl30_sample, CC BY-SA 3.0).\n"
        + "\n".join(small) + "\n")


def rt_config(args) -> RTConfig:
    return RTConfig(
        size="tiny",
        encoder_overrides={
            "d_model": args.d_model,
            "n_layers": args.layers,
            "n_heads": 4,
            "d_ff": 2 * args.d_model,
            "dropout": 0.1,
            "max_len": 128,
        },
        precision=QED_SPEC.precision,
        digit_distance=0.5,
        reveal_digits=args.reveal_digits,
    )


def train(args, parts, log, t_start: float) -> dict:
    load1 = os.getloadavg()[0]
    # Two threads only help when the other core is idle; on a loaded machine they thrash.
    threads = args.threads or (2 if load1 < 0.5 else 1)
    torch.set_num_threads(threads)
    log(f"load average {load1:.2f} -> {threads} torch thread(s)")
    numbers = NumberTokenizer([QED_SPEC])
    every = parts["train"] + parts["val"] + parts["test"]
    tokenizer = build_tokenizer(every, numbers)
    y_train = qed_of(parts["train"])
    y_val = qed_of(parts["val"])

    # Calibrate: the second of two short epochs measures seconds per molecule (both
    # objectives) without the one-off start-up cost.
    n_cal = min(512, len(parts["train"]))
    calibration = RegressionTransformer([QED_SPEC], rt_config(args), tokenizer).fit(
        parts["train"][:n_cal],
        {"qed": y_train[:n_cal]},
        train_config=TrainConfig(max_epochs=2, batch_size=args.batch_size, progress=False),
    )
    per_mol = float(calibration.history["seconds"].iloc[-1]) / n_cal
    budget_s = 60 * args.budget_min
    # Keep ~15% of the budget for validation passes, saving and the evaluation below.
    train_s = 0.85 * budget_s - (time.perf_counter() - t_start)
    passes = max(1.0, train_s / per_mol)
    n_train = len(parts["train"])
    epochs = int(passes // n_train)
    if epochs < args.min_epochs:  # a few epochs of many molecules learn less than more epochs
        epochs = args.min_epochs
        n_train = max(n_cal, min(n_train, int(passes // epochs)))
    log(
        f"{per_mol * 1e3:.1f} ms/molecule -> {n_train} molecules x {epochs} epochs "
        f"(training budget {train_s:.0f}s)"
    )

    t0 = time.perf_counter()
    rt = RegressionTransformer([QED_SPEC], rt_config(args), tokenizer).fit(
        parts["train"][:n_train],
        {"qed": y_train[:n_train]},
        val_smiles=parts["val"],
        val_y={"qed": y_val},
        train_config=TrainConfig(
            max_epochs=epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            warmup=0.05,
            monitor="val_rmse",
            progress=False,
            seed=0,
        ),
    )
    train_seconds = time.perf_counter() - t0
    hist = rt.history
    log(hist[["epoch", "train_loss", "val_rmse", "val_pearson"]].to_string(index=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rt.save(args.out)
    return {
        "n_train": n_train,
        "epochs": epochs,
        "threads": threads,
        "reveal_digits": args.reveal_digits,
        "train_seconds": round(train_seconds, 1),
        "ms_per_molecule_calibrated": round(per_mol * 1e3, 2),
        "best_epoch": int(hist["val_rmse"].idxmin()) + 1,
        "best_val_rmse": float(hist["val_rmse"].min()),
        "n_parameters": sum(p.numel() for p in rt.net.parameters()),
        "vocab_size": tokenizer.vocab_size,
    }


def evaluate(rt: RegressionTransformer, parts, args, log) -> dict:
    test = parts["test"]
    y = qed_of(test).reshape(-1, 1)
    train_mean = qed_of(parts["train"][:2000]).mean()
    scores = {}
    for decoding in ("expected", "greedy"):
        t0 = time.perf_counter()
        pred = rt.predict(test, errors="nan", decoding=decoding)["qed"].to_numpy().reshape(-1, 1)
        predict_s = time.perf_counter() - t0
        ok = np.isfinite(pred[:, 0])
        scores[decoding] = {
            "test_n": int(ok.sum()),
            "test_rmse": float(metrics.rmse(y[ok], pred[ok], reduce="mean")),
            "test_pearson": float(metrics.pearson(y[ok], pred[ok], reduce="mean")),
            "test_mae": float(metrics.mae(y[ok], pred[ok], reduce="mean")),
            "predict_per_s": len(test) / predict_s,
        }
        log(f"{decoding}: test RMSE {scores[decoding]['test_rmse']:.4f}")
    out = {
        **scores["expected"],
        "greedy": scores["greedy"],
        "mean_baseline_rmse": float(np.sqrt(np.mean((y - train_mean) ** 2))),
    }
    seeds = test[: args.n_gen_seeds]
    gen = {}
    for primer in PRIMERS:
        t0 = time.perf_counter()
        frame = rt.generate(
            seeds,
            {"qed": primer},
            n=args.n_per_seed,
            mask_fraction=args.mask_fraction,
            errors="skip",
            seed=0,
        )
        seconds = time.perf_counter() - t0
        n_gen, n_bad = frame.attrs["n_generated"], frame.attrs["n_invalid"]
        changed = frame[~frame["is_seed"]]
        gen[primer] = {
            "generated": n_gen,
            "valid %": 100 * (n_gen - n_bad) / n_gen,
            "distinct valid": len(frame),
            "changed (not the seed)": len(changed),
            "mean RDKit QED of outputs": float(frame["true_qed"].mean()),
            "mean RDKit QED of changed outputs": float(changed["true_qed"].mean()),
            "mean predicted QED of outputs": float(frame["predicted_qed"].mean()),
            "seconds": round(seconds, 1),
        }
        log(f"primer {primer}: {gen[primer]}")
    out["generation"] = gen
    out["seed_mean_qed"] = float(qed_of(seeds).mean())
    return out


def write_report(args, record: dict, source: str, sizes: dict) -> Path:
    ev = record["eval"]
    tr = record["train"]
    lines = [
        "# Demo Regression Transformer (`sciml/assets/demo_rt.pt`)",
        "",
        "Training command of the asset (`make assets ONLY=demo_rt`): `"
        + record.get("command", f"--budget-min {record['budget_min']:g}") + "`"
        + (f" ({record['command_note']})" if record.get("command_note") else "") + ".",
        "",
        "Evaluation (this file; `make bench ONLY=demo_rt`): `"
        + record.get("eval_command", record.get("command", "")) + "`.",
        "",
        "## Training",
        "",
        f"Molecules: {source}, canonical, at most {args.max_chars} characters; random disjoint "
        f"split (seed 0): {tr['n_train']} train, {sizes['val']} validation, {sizes['test']} test. "
        f"QED from RDKit, written as `<qed>` with 3 decimals in [0, 1].",
        f"Model: encoder d_model={args.d_model}, {args.layers} layers, 4 heads, "
        f"{tr['n_parameters'] / 1e6:.2f}M parameters, vocabulary {tr['vocab_size']}; both RT "
        "objectives alternating, digit-distance weight 0.5, no self-consistency term; "
        + (
            f"{tr['reveal_digits']:.0%} of property-mode rows see the leading digits of the "
            "value and predict the rest (`RTConfig.reveal_digits`)."
            if tr.get("reveal_digits")
            else "every digit masked in property mode (`reveal_digits=0`)."
        ),
        f"Budget {record['budget_min']:g} min for the whole script on a shared CPU; calibrated "
        f"{tr['ms_per_molecule_calibrated']} ms/molecule -> {tr['epochs']} epochs, "
        f"{tr['threads']} torch thread(s), training {tr['train_seconds'] / 60:.1f} min; best "
        f"epoch {tr['best_epoch']} by validation RMSE ({tr['best_val_rmse']:.4f}). "
        f"Asset size {record['asset_bytes'] / 1e6:.2f} MB.",
        "",
        "## Held-out QED prediction",
        "",
        "`predict` decodes the digit tokens by their expectation (the default) or greedily "
        "(`decoding='greedy'`, the likeliest digit per slot).",
        "",
        "| metric | expected (default) | greedy |",
        "|---|---|---|",
        f"| test molecules | {ev['test_n']} | {ev['greedy']['test_n']} |",
        f"| RMSE | {ev['test_rmse']:.4f} | {ev['greedy']['test_rmse']:.4f} |",
        f"| Pearson | {ev['test_pearson']:.4f} | {ev['greedy']['test_pearson']:.4f} |",
        f"| MAE | {ev['test_mae']:.4f} | {ev['greedy']['test_mae']:.4f} |",
        "| RMSE of predicting the mean QED of 2000 training molecules | "
        f"{ev['mean_baseline_rmse']:.4f} | |",
        f"| prediction speed | {ev['predict_per_s']:.0f} molecules/s | "
        f"{ev['greedy']['predict_per_s']:.0f} molecules/s |",
        "",
        "## Generation check",
        "",
        f"{args.n_gen_seeds} test molecules as seeds (mean RDKit QED {ev['seed_mean_qed']:.3f}), "
        f"{args.n_per_seed} candidates per seed and primer, {args.mask_fraction:.0%} of the "
        "molecule's tokens masked, `RegressionTransformer.generate` defaults otherwise "
        "(temperature 1, one token per unmasking pass, tokens that would make the SMILES "
        "unparsable rejected, an invalid candidate refilled up to 3 times). Validity counts "
        "candidates that RDKit parses after the refills; QED columns are over distinct valid "
        "outputs.",
        "",
        "| primer | " + " | ".join(next(iter(ev["generation"].values()))) + " |",
        "|---|" + "---|" * len(next(iter(ev["generation"].values()))),
    ]
    for primer, row in ev["generation"].items():
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append(f"| {primer} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "A demo-sized model: far smaller and less trained than the RT paper's, so these "
        "numbers are not the method's.",
        "",
        machine_info(("numpy", "torch", "rdkit")),
    ]
    path = RESULTS / "demo_rt.md"
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    args = parse_args()
    t_start = time.perf_counter()
    log = lambda msg: print(f"[{time.perf_counter() - t_start:7.1f}s] {msg}", flush=True)  # noqa: E731
    smiles, source = load_molecules(args.max_chars)
    parts = split(smiles, args)
    log(f"{len(smiles)} molecules from {source}")
    write_heldout(parts["test"])
    if args.heldout_only:
        log(f"wrote {HELDOUT}")
        return
    record_path = RESULTS / "demo_rt.json"
    if args.eval_only:
        torch.set_num_threads(args.threads or 1)
        record = json.loads(record_path.read_text())
        record["eval_command"] = command_line()
    else:
        record = {
            "budget_min": args.budget_min,
            # The exact command, as sys.argv gave it (the training options of the asset).
            "command": command_line(),
            "source": source,
            "train": train(args, parts, log, t_start),
        }
    rt = RegressionTransformer.load(args.out, map_location="cpu")
    record["asset_bytes"] = args.out.stat().st_size
    if record["asset_bytes"] > MAX_ASSET_BYTES:
        raise SystemExit(f"{args.out} is {record['asset_bytes']} bytes (> 5 MB)")
    record["eval"] = evaluate(rt, parts, args, log)
    record["eval"]["generation"] = {str(k): v for k, v in record["eval"]["generation"].items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=2))
    path = write_report(args, record, source, {k: len(v) for k, v in parts.items()})
    log(f"wrote {path} and {record_path}")


if __name__ == "__main__":
    main()
