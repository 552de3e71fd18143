"""How the designs of ``mt_deeponet.py`` were chosen: validation data only (issue 13).

Every arm trains on data generated with other seeds than the benchmark's and is scored on a
validation split of those data, never on ``mt_deeponet.py``'s test sets. Within a section
the arms train for the stated epochs on one thread, and their wall time is shown, so that
arms can be compared at equal time as well as at equal epochs.

- **Fisher-KPP** (600 training / 150 validation samples, three families pooled): MLP trunk
  (p = 300) vs POD trunk (p = 64, 128) vs 16 Fourier trunk features vs a 256-wide branch,
  and the POD model at the epochs the MLP arms take in the same time;
- **Darcy** (circle, triangle, annulus; 100 training / 30 validation samples each, 40 x 40,
  the data of ``operator_levers.py``): POD-DeepONet with the default or the wide CNN branch,
  p = 64 or 128, and the distance-factor network with 16 Fourier features, default or wide
  branch;
- **3-D heat** (24 or 200 training designs, 40 validation designs): MLP trunk with and
  without 16 Fourier features.

Run: ``python benchmarks/operator_design.py`` (about 15 CPU-minutes; ``SCIML_FAST=1``: a smoke
test). Writes ``benchmarks/results/operator_design.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from _machine import command_line, machine_info  # noqa: E402
from operator_levers import cached, darcy_sets, errors, fit, pct  # noqa: E402

from sciml._io import atomic_write  # noqa: E402
from sciml.physics.operator.data import OperatorDataset  # noqa: E402
from sciml.physics.problems.darcy import WIDE_BRANCH, DarcyProblem  # noqa: E402
from sciml.physics.problems.fisher import FisherConfig, FisherProblem, generate_fisher  # noqa: E402
from sciml.physics.problems.heat import HeatConfig, HeatProblem, generate_heat  # noqa: E402

SCALES = {
    "fast": dict(
        fisher=(24, 12),
        fisher_epochs=2,
        darcy_epochs=2,
        heat=(8, (6, 8), 4),
        heat_epochs=2,
        levers=dict(res=24, n=12, test=6, held_test=4),
    ),
    "default": dict(
        fisher=(600, 150),
        fisher_epochs=100,
        darcy_epochs=100,
        heat=(240, (24, 200), 40),
        heat_epochs=4000,
        levers=dict(res=40, n=100, test=30, held_test=30),
    ),
}
FAMILIES = ("logistic", "newell_whitehead", "exponential")
SHAPES_TRAIN = ("circle", "triangle", "annulus")


def bench_fisher(s, md):
    n, nv = s["fisher"]
    ds = cached(
        f"design_fisher_{n + nv}",
        lambda: generate_fisher(n + nv, FisherConfig(families=FAMILIES), seed=501),
    )
    data = FisherProblem().dataset(ds)
    train, val = data.subset(np.arange(n)), data.subset(np.arange(n, n + nv))
    pod = dict(trunk="pod", pod_points=len(data.coords))
    e = s["fisher_epochs"]
    arms = [
        ("MLP trunk [128,128,128], p = 300", {}, e),
        ("POD trunk, p = 64", dict(pod, p=min(64, n)), e),
        ("POD trunk, p = 128", dict(pod, p=min(128, n)), e),
        ("MLP trunk + 16 Fourier features", dict(fourier_features=16), e),
        ("POD trunk, p = 64, at the MLP arms' time", dict(pod, p=min(64, n)), 5 * e),
        ("POD trunk, p = 64, branch [256,256]", dict(pod, p=min(64, n), width=256), 5 * e // 2),
    ]
    md.append("## Fisher-KPP: trunk designs\n")
    md.append(
        f"{n} training / {nv} validation samples (seed 501), three families pooled; MT-"
        "DeepONet, branch MLP [128,128]+LayerNorm unless stated, MSE, batch 32, lr 1e-3.\n"
    )
    md.append("| arm | epochs | validation rel. L2 | time |\n|---|---|---|---|")
    problem = FisherProblem()
    for name, options, epochs in arms:
        torch.manual_seed(0)
        tr, seconds = fit(problem.default_model(train, **options), train, epochs)
        md.append(f"| {name} | {epochs} | {pct(errors(tr, val))} | {seconds:.0f} s |")
        print(md[-1], flush=True)
    md.append("")


def bench_darcy(s, md):
    lev = s["levers"]
    sets = darcy_sets(lev)  # operator_levers.py's data (seeds 100+)
    n = lev["n"]
    train = OperatorDataset.concat([sets[g].subset(np.arange(n)) for g in SHAPES_TRAIN])
    vals = {g: sets[g].subset(np.arange(n, len(sets[g]))) for g in SHAPES_TRAIN}
    wide = {k: v for k, v in WIDE_BRANCH.items() if k != "p"}
    e = s["darcy_epochs"]
    p64, p128 = min(64, len(train)), min(128, len(train))
    arms = [
        ("POD, p = 64, default branch", dict(trunk="pod", p=p64), e),
        ("POD, p = 128, wide branch on log K", dict(trunk="pod", p=p128, **wide), e),
        ("POD, p = 64, wide branch on log K", dict(trunk="pod", p=p64, **wide), e),
        ("distance + 16 Fourier, default branch", dict(fourier_features=16), max(1, 3 * e // 5)),
        (
            "distance + 16 Fourier, wide branch (p = 200)",
            dict(fourier_features=16, **WIDE_BRANCH),
            max(1, 3 * e // 5),
        ),
    ]
    md.append("## Darcy: POD-DeepONet and distance-factor designs\n")
    md.append(
        f"{lev['res']} x {lev['res']} grid, {n} training / {lev['test']} validation "
        f"samples per shape ({', '.join(SHAPES_TRAIN)}; `operator_levers.py`'s data); one "
        "MT-DeepONet on the pooled shapes, MSE inside the mask, batch 32, lr 1e-3. Wide "
        "branch: GELU, 32/64/128 channels, head 256, on log K.\n"
    )
    md.append("| arm | epochs | " + " | ".join(SHAPES_TRAIN) + " | mean | time |")
    md.append("|---|---" + "|---" * len(SHAPES_TRAIN) + "|---|---|")
    problem = DarcyProblem()
    for name, options, epochs in arms:
        options = dict(options)
        p = options.pop("p", None)
        torch.manual_seed(0)
        tr, seconds = fit(problem.default_model(train, p=p, **options), train, epochs)
        errs = [float(np.mean(errors(tr, vals[g]))) for g in SHAPES_TRAIN]
        md.append(
            f"| {name} | {epochs} | "
            + " | ".join(f"{100 * x:.2f}%" for x in errs)
            + f" | **{100 * np.mean(errs):.2f}%** | {seconds:.0f} s |"
        )
        print(md[-1], flush=True)
    md.append("")


def bench_heat(s, md):
    total, sizes, nv = s["heat"]
    shape = (32, 32, 8) if total > 100 else (24, 24, 4)
    ds = cached(
        f"design_heat_{'x'.join(map(str, shape))}_{total}",
        lambda: generate_heat(total, HeatConfig(shape=shape, n_holes=(2, 6)), seed=501),
    )
    data = HeatProblem().dataset(ds)
    val = data.subset(np.arange(total - nv, total))
    problem = HeatProblem()
    md.append("## 3-D heat: training designs and trunk features\n")
    md.append(
        f"Plate {shape} voxels, 2-6 holes (seed 501); the last {nv} designs validate; "
        f"MT-DeepONet (branch MLP [128,128] on the design vector, trunk [128,128,128], "
        f"p = 128), batch 8, lr 1e-3, {s['heat_epochs']} / (training designs) epochs.\n"
    )
    md.append(
        "| training designs | arm | epochs | validation rel. L2 | time |\n|---|---|---|---|---|"
    )
    for n in sizes:
        train = data.subset(np.arange(n))
        epochs = max(2, s["heat_epochs"] // n)
        for name, options in (
            ("MLP trunk", {}),
            ("MLP trunk + 16 Fourier features", dict(fourier_features=16)),
        ):
            torch.manual_seed(0)
            tr, seconds = fit(problem.default_model(train, **options), train, epochs, batch=8)
            md.append(f"| {n} | {name} | {epochs} | {pct(errors(tr, val))} | {seconds:.0f} s |")
            print(md[-1], flush=True)
    md.append("")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("fisher", "darcy", "heat"),
        help="sections to run (default: all)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "results" / "operator_design.md",
        help="results file (default: benchmarks/results/operator_design.md)",
    )
    args = parser.parse_args(argv)
    s = SCALES["fast" if os.environ.get("SCIML_FAST") == "1" else "default"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    start = time.perf_counter()
    md: list[str] = []
    for name, fn in (("fisher", bench_fisher), ("darcy", bench_darcy), ("heat", bench_heat)):
        if args.only is None or name in args.only:
            fn(s, md)
    head = [
        "# Operator designs chosen on validation data (issue 13)\n",
        machine_info(("numpy", "scipy", "torch"), command=command_line()),
        "The designs of `mt_deeponet.py` were chosen here, on data generated with other seeds "
        "than the benchmark's, scored on their own validation split. One thread per arm; "
        "times are wall clock on the shared machine (see the load).\n",
    ]
    total = f"\nTotal wall time {time.perf_counter() - start:.0f} s.\n"
    with atomic_write(args.out) as handle:
        handle.write("\n".join(head + md) + total)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
