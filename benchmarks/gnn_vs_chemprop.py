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

Each endpoint runs ``--repeats`` times per tool (3 by default), interleaved and with the
order reversed every other repeat; the report gives medians, ranges and the ratio of the
medians, in wall seconds and in CPU seconds (user + sys of the command and its children).
Both tools get ``--threads`` threads (1 by default). Every finished run is stored in the
CSV at once, so a killed run resumes where it stopped.

Regenerate with (from the repository root; about 45 minutes on one core)::

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/gnn_vs_chemprop.py [--repeats 3]

Writes ``benchmarks/results/gnn_vs_chemprop.md`` and ``gnn_vs_chemprop.csv``.
"""

from __future__ import annotations

import argparse
import os
import resource
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

from benchmarks._machine import git_commit, machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402
from sciml.chem import load_fang_split  # noqa: E402
from sciml.data import FANG_ENDPOINTS  # noqa: E402
from sciml.metrics import pearson, rmse  # noqa: E402

RESULTS = ROOT / "results"
BIN = Path(sys.executable).parent
CHEMPROP_BIN = ROOT.parent / ".venv-chemprop" / "bin"
# Both tools get the same thread count (set in main); torch reads it at start.
_ENV = dict(os.environ)


def _run(argv: list[str]) -> tuple[float, float]:
    """Run one command; its wall seconds and CPU seconds (user + sys of it and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=_ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run_sciml(
    train: Path, test: Path, target: str, work: Path, args
) -> tuple[tuple[float, float], np.ndarray]:
    model = work / "sciml_model"
    if model.exists():
        shutil.rmtree(model)
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
) -> tuple[tuple[float, float], np.ndarray]:
    out_dir = work / "chemprop_model"
    if out_dir.exists():
        shutil.rmtree(out_dir)
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


def _row(endpoint, name, n_train, rep, order, timed, pred, truth, epochs) -> dict:
    (wall, cpu), load = timed
    return {
        "endpoint": endpoint,
        "model": name,
        "repeat": rep,
        "order": order,
        "n_train": n_train,
        "train_s": wall,
        "train_cpu_s": cpu,
        "mol_epochs_per_s": n_train * epochs / wall,
        "pearson": float(pearson(truth, pred, reduce="mean")),
        "rmse": float(rmse(truth, pred, reduce="mean")),
        "load_1min": load,
        "git": git_commit(),
    }


def run_all(args, done: pd.DataFrame, csv: Path) -> pd.DataFrame:
    """Every (repeat, endpoint) pair not in ``done``; each row is saved as it ends (resume)."""
    rows = done.to_dict("records")
    runners = (("sciml gnn", run_sciml), ("chemprop", run_chemprop))
    for rep in range(args.repeats):
        for endpoint in args.endpoints.split(","):
            have = {(r["model"]) for r in rows if r["repeat"] == rep and r["endpoint"] == endpoint}
            # Interleaved, and the order alternates between repeats so that neither tool
            # always runs first (a warm file cache or a load spike favours one order).
            order = runners if rep % 2 == 0 else runners[::-1]
            if all(name in have for name, _ in order):
                continue
            split = load_fang_split(endpoint)
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                train, test = work / "train.csv", work / "test.csv"
                split.train[["smiles", endpoint]].to_csv(train, index=False)
                split.test[["smiles", endpoint]].to_csv(test, index=False)
                truth = split.test[endpoint].to_numpy()
                for position, (name, runner) in enumerate(order):
                    if name in have:
                        continue
                    load = os.getloadavg()[0]
                    times, pred = runner(train, test, endpoint, work, args)
                    rows.append(
                        _row(
                            endpoint,
                            name,
                            len(split.train),
                            rep,
                            position,
                            (times, load),
                            pred,
                            truth,
                            args.epochs,
                        )
                    )
                    print(rows[-1], flush=True)
                    with atomic_write(csv, "w") as handle:
                        pd.DataFrame(rows).to_csv(handle, index=False)
    return pd.DataFrame(rows)


def _spread(values: pd.Series) -> str:
    return f"{values.median():.0f} ({values.min():.0f}-{values.max():.0f})"


def report(frame: pd.DataFrame, args, command: str | None = None) -> str:
    """Medians over repeats, with the range, and the ratio chemprop / sciml of the medians."""
    reps = int(frame["repeat"].nunique())
    lines = [
        "# sciml D-MPNN vs chemprop v2 (same data, settings and run)",
        "",
        f"Settings: {args.epochs} epochs, batch {args.batch_size}, hidden {args.hidden}, "
        f"depth {args.depth}, no descriptors, one model, 10% of training held out for the "
        f"best epoch, {args.threads} thread(s) for both (`OMP_NUM_THREADS`). Times are whole "
        "training commands (import, featurisation, training, saving): wall seconds, and CPU "
        "seconds (user + sys of the command and its children, which a shared machine "
        "disturbs less). Each endpoint ran "
        f"{reps} time(s) per tool, interleaved (sciml then chemprop, then the reverse order "
        "in the next repeat); cells give the median and, in brackets, the range.",
        "",
        machine_info(("torch", "rdkit"), command=command)
        + (
            f"\nThe runs ran at commit(s) {', '.join(sorted(set(frame['git'].astype(str))))}.\n"
            if "git" in frame
            else ""
        )
        + f"\nchemprop: {_chemprop_version()} (own venv)\n",
        "| endpoint | n train | sciml Pearson | chemprop Pearson | sciml wall s | chemprop "
        "wall s | wall ratio (chemprop / sciml) | sciml CPU s | chemprop CPU s | CPU ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for endpoint, part in frame.groupby("endpoint", sort=False):
        s, c = part[part.model == "sciml gnn"], part[part.model == "chemprop"]
        wall = c.train_s.median() / s.train_s.median()
        cpu = c.train_cpu_s.median() / s.train_cpu_s.median()
        ratios.append((endpoint, wall, cpu))
        lines.append(
            f"| {endpoint} | {int(part.n_train.iloc[0])} | {s.pearson.median():.3f} | "
            f"{c.pearson.median():.3f} | {_spread(s.train_s)} | {_spread(c.train_s)} | "
            f"{wall:.2f} | {_spread(s.train_cpu_s)} | {_spread(c.train_cpu_s)} | {cpu:.2f} |"
        )
    totals = frame.groupby(["model", "repeat"])[["train_s", "train_cpu_s"]].sum()
    per_rep = {m: totals.loc[m] for m in ("sciml gnn", "chemprop")}
    wall_ratios = per_rep["chemprop"].train_s / per_rep["sciml gnn"].train_s
    cpu_ratios = per_rep["chemprop"].train_cpu_s / per_rep["sciml gnn"].train_cpu_s
    med = frame.groupby(["endpoint", "model"]).pearson.median().unstack()
    better = int((med["sciml gnn"] >= med["chemprop"]).sum())
    spread = frame.groupby(["endpoint", "model"]).pearson.agg(lambda v: v.max() - v.min())
    same = bool((spread < 1e-9).all())
    faster = sum(1 for _, w, c in ratios if w > 1 and c > 1)
    lines += [
        "",
        f"Total training time per repeat (all endpoints), median (range) over {reps} repeat(s): "
        f"sciml {_spread(per_rep['sciml gnn'].train_s)} s wall, "
        f"{_spread(per_rep['sciml gnn'].train_cpu_s)} CPU-s; chemprop "
        f"{_spread(per_rep['chemprop'].train_s)} s wall, "
        f"{_spread(per_rep['chemprop'].train_cpu_s)} CPU-s.",
        "",
        f"Ratio chemprop / sciml of the totals: wall {wall_ratios.median():.2f} (range "
        f"{wall_ratios.min():.2f}-{wall_ratios.max():.2f}), CPU {cpu_ratios.median():.2f} "
        f"(range {cpu_ratios.min():.2f}-{cpu_ratios.max():.2f}). sciml is faster by both "
        f"measures on {faster} of {len(ratios)} endpoints; its median Pearson is at least "
        f"chemprop's on {better} of {len(med)} endpoints ("
        + (
            "every repeat gave the same Pearson: both train with fixed seeds, so repeats "
            "differ in time only)."
            if same
            else "Pearson varied between repeats: the medians are given)."
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (both)")
    parser.add_argument("--batch-size", type=int, default=64, help="molecules per batch (both)")
    parser.add_argument("--hidden", type=int, default=300, help="hidden width (both)")
    parser.add_argument("--depth", type=int, default=3, help="message-passing steps (both)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs of each tool per endpoint (interleaved)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads for both tools")
    parser.add_argument(
        "--endpoints", default=",".join(FANG_ENDPOINTS), help="comma-separated Fang endpoints"
    )
    parser.add_argument(
        "--out",
        default=str(RESULTS / "gnn_vs_chemprop"),
        help="results stem (writes STEM.md and STEM.csv)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild STEM.md from STEM.csv (no training)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="ignore the runs already stored in STEM.csv"
    )
    args = parser.parse_args()
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be at least 1")
    stem = Path(args.out)
    csv = stem.with_suffix(".csv")
    stem.parent.mkdir(parents=True, exist_ok=True)
    done = pd.DataFrame()
    if csv.is_file() and not args.fresh:
        done = pd.read_csv(csv)
        if "repeat" not in done.columns:  # a single-run file of the earlier script
            done = pd.DataFrame()
    if args.report_only:
        if done.empty:
            sys.exit(f"{csv} holds no repeated runs: run without --report-only first")
        frame = done
    else:
        if shutil.which("chemprop", path=str(CHEMPROP_BIN)) is None:
            sys.exit(
                f"chemprop is not installed in {CHEMPROP_BIN.parent}: python3 -m venv "
                ".venv-chemprop && .venv-chemprop/bin/pip install -c constraints.txt chemprop"
            )
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            _ENV[var] = str(args.threads)
        frame = run_all(args, done, csv)
    command = (
        "python benchmarks/gnn_vs_chemprop.py (report rebuilt by --report-only from STEM.csv)"
        if args.report_only
        else None
    )
    text = report(frame, args, command)
    with atomic_write(stem.with_suffix(".md"), "w") as handle:
        handle.write(text)
    print(text)


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
