"""sciml's D-MPNN against chemprop v2, same data, same settings, same run.

For each Fang-split endpoint both are trained from their command lines on the authors'
training set (no descriptors, one model, the same epochs, batch size, hidden size and
depth, 10% of the training set held out for the best epoch) and scored on the test set.
The two runs of an endpoint are interleaved, so a machine shared with other jobs slows both
alike; the ratio of their times is the figure to read.

Throughput = training molecules x epochs / wall time of the whole command (imports,
featurisation, training and saving included: what a user waits for).

chemprop is not a sciml dependency, and it pins an older RDKit than sciml's, so it lives in
its own environment next to ``.venv``::

    python3 -m venv .venv-chemprop && .venv-chemprop/bin/pip install -c constraints.txt chemprop

Regenerate with (from the repository root)::

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/gnn_vs_chemprop.py [--epochs 30]

Writes ``benchmarks/results/gnn_vs_chemprop.md`` and ``gnn_vs_chemprop.csv``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import machine_info  # noqa: E402
from sciml.chem import load_fang_split  # noqa: E402
from sciml.data import FANG_ENDPOINTS  # noqa: E402
from sciml.metrics import pearson, rmse  # noqa: E402

RESULTS = ROOT / "results"
BIN = Path(sys.executable).parent
CHEMPROP_BIN = ROOT.parent / ".venv-chemprop" / "bin"


def _run(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def run_sciml(train: Path, test: Path, target: str, work: Path, args) -> tuple[float, np.ndarray]:
    model = work / "sciml_model"
    seconds = _run(
        [
            str(BIN / "sciml"),
            "fit",
            "--train",
            str(train),
            "--targets",
            target,
            "--model",
            "gnn",
            "--out",
            str(model),
            "--epochs",
            str(args.epochs),
            "--val-fraction",
            "0.1",
            "--seed",
            "0",
            "--set",
            "descriptors=false",
            "--set",
            f"batch_size={args.batch_size}",
            "--set",
            f"hidden={args.hidden}",
            "--set",
            f"ffn_hidden={args.hidden}",
            "--set",
            f"depth={args.depth}",
            "--set",
            "progress=false",
        ]
    )
    out = work / "sciml_pred.csv"
    _run(
        [
            str(BIN / "sciml"),
            "predict",
            "--model",
            str(model),
            "--input",
            str(test),
            "--out",
            str(out),
        ]
    )
    # The output keeps the input's columns (the measured target among them); the
    # prediction of a column the input already has is named <target>_pred.
    return seconds, pd.read_csv(out)[f"{target}_pred"].to_numpy()


def run_chemprop(
    train: Path, test: Path, target: str, work: Path, args
) -> tuple[float, np.ndarray]:
    out_dir = work / "chemprop_model"
    seconds = _run(
        [
            str(CHEMPROP_BIN / "chemprop"),
            "train",
            "--data-path",
            str(train),
            "-s",
            "smiles",
            "--target-columns",
            target,
            "--task-type",
            "regression",
            "--output-dir",
            str(out_dir),
            "--epochs",
            str(args.epochs),
            "--batch-size",
            str(args.batch_size),
            "--message-hidden-dim",
            str(args.hidden),
            "--ffn-hidden-dim",
            str(args.hidden),
            "--depth",
            str(args.depth),
            "--split-sizes",
            "0.9",
            "0.1",
            "0.0",
            "--num-workers",
            "0",
            "--accelerator",
            "cpu",
            "--devices",
            "1",
            "--data-seed",
            "0",
            "--pytorch-seed",
            "0",
        ]
    )
    model = next(out_dir.rglob("best*.pt"))
    preds = work / "chemprop_pred.csv"
    _run(
        [
            str(CHEMPROP_BIN / "chemprop"),
            "predict",
            "--test-path",
            str(test),
            "-s",
            "smiles",
            "--model-paths",
            str(model),
            "--preds-path",
            str(preds),
            "--num-workers",
            "0",
            "--accelerator",
            "cpu",
            "--devices",
            "1",
        ]
    )
    return seconds, pd.read_csv(preds)[target].to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (both)")
    parser.add_argument("--batch-size", type=int, default=64, help="molecules per batch (both)")
    parser.add_argument("--hidden", type=int, default=300, help="hidden width (both)")
    parser.add_argument("--depth", type=int, default=3, help="message-passing steps (both)")
    parser.add_argument(
        "--endpoints", default=",".join(FANG_ENDPOINTS), help="comma-separated Fang endpoints"
    )
    parser.add_argument(
        "--out",
        default=str(RESULTS / "gnn_vs_chemprop"),
        help="results stem (writes STEM.md and STEM.csv)",
    )
    args = parser.parse_args()
    if shutil.which("chemprop", path=str(CHEMPROP_BIN)) is None:
        sys.exit(
            f"chemprop is not installed in {CHEMPROP_BIN.parent}: python3 -m venv "
            ".venv-chemprop && .venv-chemprop/bin/pip install -c constraints.txt chemprop"
        )
    rows = []
    for endpoint in args.endpoints.split(","):
        split = load_fang_split(endpoint)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            train, test = work / "train.csv", work / "test.csv"
            split.train[["smiles", endpoint]].to_csv(train, index=False)
            split.test[["smiles", endpoint]].to_csv(test, index=False)
            truth = split.test[endpoint].to_numpy()
            for name, runner in (("sciml gnn", run_sciml), ("chemprop", run_chemprop)):
                load = os.getloadavg()[0]
                seconds, pred = runner(train, test, endpoint, work, args)
                rows.append(
                    {
                        "endpoint": endpoint,
                        "model": name,
                        "n_train": len(split.train),
                        "train_s": seconds,
                        "mol_epochs_per_s": len(split.train) * args.epochs / seconds,
                        "pearson": float(pearson(truth, pred, reduce="mean")),
                        "rmse": float(rmse(truth, pred, reduce="mean")),
                        "load_1min": load,
                    }
                )
                print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    stem = Path(args.out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(stem.with_suffix(".csv"), index=False)
    wide = frame.pivot(
        index="endpoint", columns="model", values=["pearson", "train_s", "mol_epochs_per_s"]
    )
    lines = [
        "# sciml D-MPNN vs chemprop v2 (same data, settings and run)",
        "",
        f"Settings: {args.epochs} epochs, batch {args.batch_size}, hidden {args.hidden}, "
        f"depth {args.depth}, no descriptors, one model, 10% of training held out for the "
        "best epoch. Times are whole commands (import, featurisation, training, saving).",
        "",
        machine_info(("torch", "rdkit")) + f"\nchemprop: {_chemprop_version()} (own venv)\n",
        "| endpoint | n train | sciml Pearson | chemprop Pearson | sciml s | chemprop s | "
        "speed ratio (chemprop s / sciml s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for endpoint in wide.index:
        p_s, p_c = (
            wide.loc[endpoint, ("pearson", "sciml gnn")],
            wide.loc[endpoint, ("pearson", "chemprop")],
        )
        t_s, t_c = (
            wide.loc[endpoint, ("train_s", "sciml gnn")],
            wide.loc[endpoint, ("train_s", "chemprop")],
        )
        n = int(frame[frame.endpoint == endpoint].n_train.iloc[0])
        lines.append(
            f"| {endpoint} | {n} | {p_s:.3f} | {p_c:.3f} | {t_s:.0f} | {t_c:.0f} | "
            f"{t_c / t_s:.2f} |"
        )
    sums = frame.groupby("model")["train_s"].sum()
    better = int((wide[("pearson", "sciml gnn")] >= wide[("pearson", "chemprop")]).sum())
    lines += [
        "",
        f"Total training time: sciml {sums['sciml gnn']:.0f} s, chemprop "
        f"{sums['chemprop']:.0f} s (ratio {sums['chemprop'] / sums['sciml gnn']:.2f}). "
        f"sciml's Pearson is at least chemprop's on {better} of {len(wide)} endpoints.",
        "",
    ]
    stem.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


def _chemprop_version() -> str:
    done = subprocess.run(
        [
            str(CHEMPROP_BIN / "python"),
            "-c",
            "import chemprop, rdkit; print(chemprop.__version__, 'with rdkit', rdkit.__version__)",
        ],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or "unknown"


if __name__ == "__main__":
    main()
