"""Peak memory and speed of ``sciml predict`` on large files (issue 17, section 5).

Distinct SMILES from MOSES (``$SCIML_DATA_DIR/moses/train.csv.gz``) are written, with an ID
column, to input files of each size; a random forest and a transformer (the shipped tiny
``demo_encoder.pt`` with a random-forest head, no adaptation) are fitted on 2,000 other
MOSES molecules with Crippen logP as target; each model then predicts each file through the
``sciml predict`` command line in a child process. A thread polls the child's resident set
size (RSS) every 0.1 s with :mod:`psutil`; the peak over the child and any processes it
starts is reported with the wall time and molecules per second.

Usage::

    SCIML_DATA_DIR=../shared/data python benchmarks/predict_memory.py \
        --sizes 100000 1000000 --models rf transformer

Each finished run is appended to ``benchmarks/results/predict_memory.md`` (the table is
rewritten from ``benchmarks/results/predict_memory.json`` so runs made at different times
can be combined).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import resource
import subprocess
import sys
import threading
import time
from importlib.resources import files
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import git_commit, machine_info  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def _moses_smiles(n: int) -> list[str]:
    data = Path(os.environ.get("SCIML_DATA_DIR", ROOT.parent / "shared" / "data"))
    out, seen = [], set()
    with gzip.open(data / "moses" / "train.csv.gz", "rt") as handle:
        next(handle)
        for line in handle:
            smi = line.strip()
            if smi and smi not in seen:
                seen.add(smi)
                out.append(smi)
                if len(out) == n:
                    break
    if len(out) < n:
        raise SystemExit(f"MOSES has only {len(out)} distinct SMILES, asked for {n}")
    return out


def _write_inputs(work: Path, sizes: list[int], n_train: int) -> tuple[Path, dict[int, Path]]:
    from rdkit import Chem
    from rdkit.Chem import Crippen

    smiles = _moses_smiles(max(sizes) + n_train)
    train, query = smiles[:n_train], smiles[n_train:]
    train_csv = work / "train.csv"
    with open(train_csv, "w") as handle:
        handle.write("smiles,logp\n")
        for smi in train:
            handle.write(f"{smi},{Crippen.MolLogP(Chem.MolFromSmiles(smi)):.4f}\n")
    inputs = {}
    for size in sizes:
        path = work / f"query_{size}.csv"
        if not path.exists():
            with open(path, "w") as handle:
                handle.write("compound_id,smiles\n")
                for i, smi in enumerate(query[:size]):
                    handle.write(f"MOSES-{i:07d},{smi}\n")
        inputs[size] = path
    return train_csv, inputs


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def _sciml(*argv: str) -> list[str]:
    return [sys.executable, "-m", "sciml.cli", *argv]


def _fit(work: Path, train_csv: Path, kind: str) -> Path:
    out = work / f"model_{kind}"
    if (out / "model.json").exists():
        return out
    common = [
        "fit",
        "--train",
        str(train_csv),
        "--targets",
        "logp",
        "--out",
        str(out),
        "--set",
        "n_jobs=1",
        "--set",
        "n_estimators=100",
    ]
    if kind == "rf":
        cmd = _sciml(*common, "--model", "rf", "--set", "descriptor_cache=false")
    else:
        encoder = str(files("sciml.assets") / "demo_encoder.pt")
        cmd = _sciml(
            *common,
            "--model",
            "transformer",
            "--pretrained",
            encoder,
            "--adapt",
            "none",
            "--head",
            "rf",
        )
    subprocess.run(cmd, check=True, env=_env())
    return out


def _measure(cmd: list[str], log: Path) -> dict[str, float]:
    """Run ``cmd``; return wall and CPU seconds and peak RSS (MiB) of it and its children."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log, "w") as handle:
        child = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=_env())
    proc = psutil.Process(child.pid)
    peak = {"main": 0, "tree": 0}

    def poll() -> None:
        while child.poll() is None:
            try:
                main = proc.memory_info().rss
                tree = main + sum(c.memory_info().rss for c in proc.children(recursive=True))
            except psutil.Error:
                continue
            peak["main"] = max(peak["main"], main)
            peak["tree"] = max(peak["tree"], tree)
            time.sleep(0.1)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    code = child.wait()
    thread.join()
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}); see {log}")
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_mib": peak["main"] / 2**20,
        "peak_rss_tree_mib": peak["tree"] / 2**20,
    }


def _arguments(runs: list[dict], model: str) -> str:
    """The arguments that rerun every row of ``model``."""
    sizes = sorted({int(r["n"]) for r in runs if r["model"] == model})
    return f"--sizes {' '.join(str(n) for n in sizes)} --models {model}"


def _write_report(runs: list[dict], pending: str) -> None:
    lines = [
        "# Peak memory of `sciml predict` on large files",
        "",
        "Made by `SCIML_DATA_DIR=../shared/data python benchmarks/predict_memory.py "
        "--sizes N [N ...] --models rf|transformer`; each row below lists its own "
        "`sciml predict` command line, git commit, date and the load average when it started.",
        "The rows regenerate with: "
        + "; ".join(
            f"`{_arguments(runs, model)}`"
            for model in sorted({r["model"] for r in runs}, reverse=True)
        )
        + ".",
        "",
        "Input: distinct SMILES from MOSES `train.csv.gz` with an ID column; models fitted on "
        "2,000 other MOSES molecules (Crippen logP): `rf` (100 trees on RDKit descriptors) and "
        "`transformer` (shipped tiny `demo_encoder.pt`, no adaptation, 100-tree forest head). "
        "`sciml predict --std --errors nan --chunk-size 10000`, one thread "
        "(`OMP_NUM_THREADS=1`, `n_jobs=1`). The output carries every input column plus "
        "predictions, std, `max_tanimoto`, `in_domain` and `note`. Peak RSS polled every "
        "0.1 s with psutil (child process; 'tree' adds any processes it started).",
        "",
        "Goals: peak RSS <= 1 GB and independent of the input size (issue 17); with the "
        "default model (`rf`), 200,000 unique MOSES SMILES at peak RSS <= 1 GB and >= 150 "
        "molecules per CPU-second (issue 30). CPU seconds are the user + system time of the "
        "`sciml predict` process (start-up and model loading included); rows measured before "
        "that column existed show '-'. Wall time depends on the load of the shared 2-core "
        "machine; CPU time much less.",
        "",
        "| model | molecules | wall (s) | molecules/s | CPU (s) | molecules per CPU-s "
        "| peak RSS (MiB) | peak RSS tree (MiB) | commit | date (UTC) | load avg at start |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in runs:
        cpu = r.get("cpu_seconds")
        cpu_cols = f"{cpu:.0f} | {r['n'] / cpu:.0f}" if cpu else "- | -"
        lines.append(
            f"| {r['model']} | {r['n']:,} | {r['seconds']:.0f} | "
            f"{r['n'] / r['seconds']:.0f} | {cpu_cols} | {r['peak_rss_mib']:.0f} | "
            f"{r['peak_rss_tree_mib']:.0f} | {r['commit']} | {r['date']} | "
            f"{r['load']} |"
        )
    lines += ["", "Commands:", ""]
    lines += [f"- {r['model']} {r['n']:,}: `{r['command']}`" for r in runs]
    if pending:
        lines += ["", pending]
    lines += ["", machine_info(("numpy", "pandas", "torch", "rdkit", "scikit-learn"))]
    from sciml._io import atomic_write

    with atomic_write(RESULTS / "predict_memory.md") as handle:
        handle.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--models", nargs="+", default=["rf", "transformer"], choices=("rf", "transformer")
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/sciml_predict_memory"))
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument(
        "--note", default="", help="text appended to the report (e.g. which runs did not finish)"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the markdown from the stored runs, run nothing",
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    store = RESULTS / "predict_memory.json"
    if args.report_only:
        _write_report(json.loads(store.read_text()), args.note)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    # The commit the runs execute: taken now, before the checkout can change under a long run.
    commit = git_commit()
    train_csv, inputs = _write_inputs(args.work, sorted(args.sizes), args.n_train)
    for kind in args.models:
        model = _fit(args.work, train_csv, kind)
        for size in sorted(args.sizes):
            output = args.work / f"pred_{kind}_{size}.csv"
            output.unlink(
                missing_ok=True
            )  # a result of an earlier run; predict refuses to overwrite
            argv = [
                "predict",
                "--model",
                str(model),
                "--input",
                str(inputs[size]),
                "--out",
                str(output),
                "--std",
                "--errors",
                "nan",
                "--chunk-size",
                "10000",
            ]
            load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
            date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
            print(f"{kind} {size}: running", flush=True)
            result = _measure(_sciml(*argv), args.work / f"log_{kind}_{size}.txt")
            with open(output) as handle:
                n_out = sum(1 for _ in handle) - 1
            if n_out != size:
                raise SystemExit(f"{output} has {n_out} rows, expected {size}")
            # Re-read: runs of another model may have been recorded by a parallel invocation.
            runs = json.loads(store.read_text()) if store.exists() else []
            runs = [r for r in runs if (r["model"], r["n"]) != (kind, size)]
            runs.append(
                {
                    "model": kind,
                    "n": size,
                    **result,
                    "commit": commit,
                    "date": date,
                    "load": load,
                    "command": "sciml " + " ".join(argv),
                }
            )
            runs.sort(key=lambda r: (r["model"], r["n"]))
            from sciml._io import atomic_write

            with atomic_write(store) as handle:
                handle.write(json.dumps(runs, indent=1))
            _write_report(runs, args.note)
            print(f"{kind} {size}: {result}", flush=True)


if __name__ == "__main__":
    main()
