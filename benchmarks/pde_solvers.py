"""Speed of the reference PDE solvers: the baseline for the operator-learning speed-up.

Reports, for each data-set generator,

- seconds per sample at the default resolution and at twice it (one process, after a
  warm-up sample so imports and geometry rasterisation are not counted);
- generation throughput (samples per second, end to end including process start-up) with
  1 and 2 local processes at the default resolution;

and draws example samples. Writes ``benchmarks/results/pde_solvers.md`` and
``benchmarks/results/pde_solvers_samples.png``.

Run: ``python benchmarks/pde_solvers.py`` (``SCIML_FAST=1`` for a quick smoke run with
few samples; its numbers are noisier).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_info  # noqa: E402

from sciml.physics.data._parallel import sample_seeds  # noqa: E402
from sciml.physics.data.geometry import SHAPES, Grid, interior_mask, rasterize, square  # noqa: E402
from sciml.physics.plot import plot_sample  # noqa: E402
from sciml.physics.problems.darcy import (  # noqa: E402
    DarcyConfig,
    DarcyFNOConfig,
    generate_darcy,
    generate_darcy_fno,
    sample_darcy,
    sample_darcy_fno,
)
from sciml.physics.problems.fisher import FisherConfig, generate_fisher, sample_fisher  # noqa: E402
from sciml.physics.problems.heat import HeatConfig, generate_heat, sample_heat  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FAST = os.environ.get("SCIML_FAST") == "1"


def _fisher(factor: int) -> tuple[Callable, Callable]:
    config = FisherConfig(nx=64 * factor)
    seeds = sample_seeds(1, 64)
    return (
        lambda i: sample_fisher(i, seeds[i], config),
        lambda n, workers: generate_fisher(n, config, seed=1, workers=workers),
    )


def _darcy(factor: int) -> tuple[Callable, Callable]:
    config = DarcyConfig(resolution=100 * factor)
    geometry = square()
    grid = Grid.uniform((config.resolution, config.resolution))
    masks = (("square", rasterize(geometry, grid), interior_mask(geometry, grid)),)
    seeds = sample_seeds(1, 64)
    return (
        lambda i: sample_darcy(i, seeds[i], config, masks),
        lambda n, workers: generate_darcy(n, {"square": geometry}, config, seed=1, workers=workers),
    )


def _darcy_fno(factor: int) -> tuple[Callable, Callable]:
    # Twice the 421-point solver grid is 841 points; subsample 10 keeps the 85 x 85 output.
    config = DarcyFNOConfig(resolution=420 * factor + 1, subsample=5 * factor)
    seeds = sample_seeds(1, 64)
    return (
        lambda i: sample_darcy_fno(i, seeds[i], config),
        lambda n, workers: generate_darcy_fno(n, 0, config, seed=1, workers=workers),
    )


def _heat(factor: int) -> tuple[Callable, Callable]:
    config = HeatConfig(shape=(32 * factor, 32 * factor, 8 * factor))
    seeds = sample_seeds(1, 64)
    return (
        lambda i: sample_heat(i, seeds[i], config),
        lambda n, workers: generate_heat(n, config, seed=1, workers=workers),
    )


# name, default grid, 2x grid, factory, samples timed one by one, samples for throughput
CASES = [
    ("fisher", "64 x 20", "128 x 20", _fisher, 30, 64),
    ("darcy (square)", "100 x 100", "200 x 200", _darcy, 20, 48),
    ("darcy_fno", "421 x 421 -> 85", "841 x 841 -> 85", _darcy_fno, 4, 8),
    ("heat", "32 x 32 x 8", "64 x 64 x 16", _heat, 20, 48),
]


def _seconds_per_sample(sample: Callable, n: int) -> tuple[float, float]:
    """Median and minimum wall time of single samples, after one warm-up sample."""
    sample(0)
    times = []
    for i in range(1, n + 1):
        start = time.perf_counter()
        sample(i)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), float(np.min(times))


def _throughput(run: Callable, n: int, workers: int) -> float:
    start = time.perf_counter()
    run(n, workers)
    return n / (time.perf_counter() - start)


def _example_figure(path: Path) -> None:
    from matplotlib.figure import Figure

    darcy = generate_darcy(
        6, {name: make() for name, make in SHAPES.items()}, DarcyConfig(), seed=0
    )
    fisher = generate_fisher(3, FisherConfig(t_final=5.0), seed=0)
    heat = generate_heat(1, seed=0)
    fno = generate_darcy_fno(1, 0, seed=0)
    fig = Figure(figsize=(16, 10), layout="constrained")
    axes = fig.subplots(3, 4)
    for i in range(6):
        plot_sample(darcy, i, ax=axes.flat[i])
    for i in range(3):
        plot_sample(fisher, i, ax=axes.flat[6 + i])
    plot_sample(heat, 0, ax=axes.flat[9])
    plot_sample(fno, 0, ax=axes.flat[10])
    fno_k = axes.flat[11]
    mesh = fno_k.pcolormesh(fno["x"], fno["y"], fno["K"][0].T, shading="nearest", cmap="coolwarm")
    fig.colorbar(mesh, ax=fno_k, label="K")
    fno_k.set_title("darcy_fno sample 0: K")
    fno_k.set_aspect("equal")
    fig.savefig(path, dpi=80)


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    machine = machine_info(("numpy", "scipy", "xarray", "deepxde"))
    rows = []
    for name, label1, label2, factory, n_time, n_throughput in CASES:
        if FAST:
            n_time, n_throughput = 2, 4
        sample_1, run_1 = factory(1)
        sample_2, _ = factory(2)
        median_1, min_1 = _seconds_per_sample(sample_1, n_time)
        median_2, min_2 = _seconds_per_sample(sample_2, max(2, n_time // 4))
        rate_1 = _throughput(run_1, n_throughput, 1)
        rate_2 = _throughput(run_1, n_throughput, 2)
        rows.append(
            f"| {name} | {label1} | {median_1:.4f} | {min_1:.4f} | {label2} | {median_2:.4f} | "
            f"{min_2:.4f} | {n_throughput} | {rate_1:.2f} | {rate_2:.2f} | {rate_2 / rate_1:.2f} |"
        )
        print(rows[-1], flush=True)
    load_after = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    figure = RESULTS / "pde_solvers_samples.png"
    _example_figure(figure)
    text = "\n".join(
        [
            "# PDE reference solver speed",
            "",
            "Generated by `python benchmarks/pde_solvers.py`"
            + (" with `SCIML_FAST=1` (few samples)" if FAST else "")
            + ". Seconds per sample: single samples in one process after a warm-up sample "
            "(median and minimum; the minimum is closest to the uncontended cost on a shared "
            "machine). Throughput: samples per second end to end (including worker start-up "
            "and assembling the data set) at the default resolution. Solvers: Fisher-KPP by "
            "method of lines + BDF with a sparse Jacobian; Darcy by 5-point finite volumes + "
            "SuperLU; heat by 7-point finite volumes + Jacobi-preconditioned CG.",
            "",
            machine,
            f"Load average at the end of the run: {load_after}. A load above the number of "
            "cores means other jobs shared the CPUs, which inflates the medians and caps the "
            "2-process speed-up.",
            "",
            "| generator | default grid | s/sample median | min | 2x grid | s/sample median "
            "| min | n | samples/s, 1 proc | samples/s, 2 procs | speed-up |",
            "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            f"Example samples: `{figure.name}` (Darcy on the six named geometries, Fisher-KPP "
            "for the three training families with T = 5 for visibility, the heat plate's "
            "middle layer, and an FNO benchmark sample with its coefficient).",
            "",
        ]
    )
    (RESULTS / "pde_solvers.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
