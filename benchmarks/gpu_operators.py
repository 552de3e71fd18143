"""Every operator benchmark at the papers' sizes on one large GPU, in about 10 minutes of training.

Runs ``benchmarks/operator_peers.py --paper`` (the FNO Darcy and Fisher-KPP peer tables) and
``benchmarks/mt_deeponet.py --paper`` (every MT-DeepONet section) with bf16 autocast, batches
``--batch-scale`` times larger (learning rates scaled by its square root) and one budget per
model in CPU minutes of the benchmark's process (``--cpu-budget-min``; on a GPU the host's
Python loop keeps about one core busy, so CPU minutes track its wall minutes, and unlike
them do not shrink when other jobs load the CPU), so that all models together train in
about ``--total-min`` minutes. The two
results are collected, with the GPU's name and the header of every results file, into
``benchmarks/results/gpu_operators.md``. A benchmark that overruns its share is stopped and
named in the file.

Paper-scale data are generated on the CPU cores the first time (the FNO Darcy set with all
cores; then cached under ``sciml.data.cache_dir()`` and ``benchmarks/.cache``), which comes
on top of the training time; a second run reuses them.

Run: ``python benchmarks/gpu_operators.py`` on a CUDA machine. Without a GPU it refuses; ``--dry-run``
runs the same plan on the CPU at the smoke-test size (``SCIML_FAST=1``, seconds per model)
to check the plumbing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import command_line, machine_info  # noqa: E402

RESULTS = ROOT / "results"

#: Models each benchmark trains at the paper scale (the per-model budget divides the total).
MODELS = {"operator_peers": 8, "mt_deeponet": 33}


class NoGPUError(SystemExit):
    """Raised (as a one-line exit) when no CUDA device is present and --dry-run is not given."""


def gpu_name() -> str | None:
    import torch

    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0)


def plan(args: argparse.Namespace, work: Path) -> list[tuple[str, list[str], Path, float]]:
    """``(name, argv, results file, timeout seconds)`` per benchmark."""
    total_models = sum(MODELS[name] for name in args.benchmarks)
    per_model = 0.9 * args.total_min / total_models
    if args.dry_run:
        common = ["--threads", "1", "--device", "cpu", "--cpu-budget-min", f"{per_model:.4g}"]
    else:
        common = [
            "--threads",
            str(os.cpu_count() or 1),
            "--device",
            "cuda",
            "--precision",
            "bf16",
            "--batch-scale",
            str(args.batch_scale),
            "--cpu-budget-min",
            f"{per_model:.4g}",
        ]
    paper = [] if args.dry_run else ["--paper"]
    slack = 120.0 if args.dry_run else 60.0  # data loading, evaluation, figures
    steps = []
    for name, extra, out in (
        ("operator_peers", ["--out", str(work / "operator_peers.md")], work / "operator_peers.md"),
        ("mt_deeponet", ["--out", str(work / "mt")], work / "mt" / "mt_deeponet.md"),
    ):
        if name not in args.benchmarks:
            continue
        timeout = 60.0 * per_model * MODELS[name] * 1.3 + slack + args.data_min * 60.0
        steps.append((name, [str(ROOT / f"{name}.py"), *paper, *common, *extra], out, timeout))
    return steps


def demote(markdown: str) -> str:
    """Push every heading two levels down, so a results file nests under a section."""
    return "\n".join(
        "##" + line if line.startswith("#") else line for line in markdown.splitlines()
    )


def run_step(name: str, argv: list[str], timeout: float, env: dict, log) -> tuple[int, float]:
    log(f"== {name}: python {' '.join(argv)} (limit {timeout / 60:.1f} min)")
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, *argv], cwd=ROOT.parent, env=env, timeout=timeout)
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = -1
    return code, time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--total-min",
        type=float,
        default=10.0,
        help="training minutes of all models together (default 10)",
    )
    parser.add_argument(
        "--batch-scale", type=int, default=4, help="batch size multiplier on the GPU (default 4)"
    )
    parser.add_argument(
        "--data-min",
        type=float,
        default=0.0,
        help="extra minutes allowed for generating paper-scale data the first time",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="CPU smoke run of the same plan at the SCIML_FAST size",
    )
    parser.add_argument(
        "--benchmarks",
        nargs="+",
        choices=list(MODELS),
        default=list(MODELS),
        help="which benchmarks to run (default: all)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu_operators.md")
    args = parser.parse_args(argv)
    name = gpu_name()
    if name is None and not args.dry_run:
        raise NoGPUError(
            "gpu_operators.py: error: no CUDA GPU found (torch.cuda.is_available() is False); "
            "this script trains the operator benchmarks at the papers' sizes on one GPU. "
            "Use --dry-run for a CPU smoke run of the same plan."
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT.parent), env.get("PYTHONPATH")]))
    if args.dry_run:
        env["SCIML_FAST"] = "1"
    else:
        env.pop("SCIML_FAST", None)
    start = time.perf_counter()
    sections, failed = [], []
    with tempfile.TemporaryDirectory(prefix="sciml-gpu-") as tmp:
        for step, step_argv, out, timeout in plan(args, Path(tmp)):
            code, seconds = run_step(step, step_argv, timeout, env, print)
            if code == 0 and out.exists():
                sections.append(f"## {step} ({seconds / 60:.1f} min)\n\n{demote(out.read_text())}")
            else:
                why = "timed out" if code == -1 else f"exit status {code}"
                failed.append(f"{step} ({why} after {seconds / 60:.1f} min)")
    total = (time.perf_counter() - start) / 60
    command = command_line([__file__, *(sys.argv[1:] if argv is None else argv)])
    head = [
        "# Operator benchmarks at the papers' sizes on one GPU\n",
        f"Generated by `{command}` on **{name or 'CPU (dry run)'}** in {total:.1f} min; "
        f"{args.total_min:g} min of training shared by "
        f"{sum(MODELS[b] for b in args.benchmarks)} models "
        f"(bf16 autocast, batches x{args.batch_scale}).\n",
        machine_info(("numpy", "scipy", "torch", "deepxde", "neuraloperator"), command=command),
    ]
    if failed:
        head.append("**Did not finish:** " + "; ".join(failed) + ".\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(head + sections) + "\n")
    print(f"wrote {args.out} in {total:.1f} min")
    if failed:
        raise SystemExit(f"gpu_operators.py: error: did not finish: {'; '.join(failed)}")


if __name__ == "__main__":
    main()
