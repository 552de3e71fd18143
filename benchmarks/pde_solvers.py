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

matplotlib.use("Agg")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_info  # noqa: E402

from sciml.physics.darcy import (  # noqa: E402
    DarcyConfig,
    DarcyFNOConfig,
    generate_darcy,
    generate_darcy_fno,
)
from sciml.physics.fisher import FisherConfig, generate_fisher  # noqa: E402
from sciml.physics.geometry import SHAPES, square  # noqa: E402
from sciml.physics.heat import HeatConfig, generate_heat  # noqa: E402
from sciml.physics.plot import plot_sample  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FAST = os.environ.get("SCIML_FAST") == "1"


def _fisher(resolution_factor: int) -> Callable:
    config = FisherConfig(nx=64 * resolution_factor)
    return lambda n, workers: generate_fisher(n, config, seed=1, workers=workers)


def _darcy(resolution_factor: int) -> Callable:
    config = DarcyConfig(resolution=100 * resolution_factor)
    geometries = {"square": square()}
    return lambda n, workers: generate_darcy(n, geometries, config, seed=1, workers=workers)


def _darcy_fno(resolution_factor: int) -> Callable:
    # Twice the 421-point solver grid is 841 points; subsample 10 keeps the 85 x 85 output.
    config = DarcyFNOConfig(resolution=420 * resolution_factor + 1, subsample=5 * resolution_factor)
    return lambda n, workers: generate_darcy_fno(n, 0, config, seed=1, workers=workers)


def _heat(resolution_factor: int) -> Callable:
    config = HeatConfig(shape=(32 * resolution_factor, 32 * resolution_factor, 8 * resolution_factor))
    return lambda n, workers: generate_heat(n, config, seed=1, workers=workers)


# name, default-resolution label, 2x label, factory, samples for timing, samples for throughput
CASES = [
    ("fisher", "64 x 20", "128 x 20", _fisher, 40, 64),
    ("darcy (square)", "100 x 100", "200 x 200", _darcy, 20, 48),
    ("darcy_fno", "421 x 421 -> 85", "841 x 841 -> 85", _darcy_fno, 4, 8),
    ("heat", "32 x 32 x 8", "64 x 64 x 16", _heat, 20, 48),
]


def _seconds_per_sample(run: Callable, n: int) -> float:
    run(1, 1)  # warm-up: imports, rasterisation, caches
    start = time.perf_counter()
    run(n, 1)
    return (time.perf_counter() - start) / n


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
    rows = []
    for name, label1, label2, factory, n_time, n_throughput in CASES:
        if FAST:
            n_time, n_throughput = 2, 4
        per_sample_1 = _seconds_per_sample(factory(1), n_time)
        per_sample_2 = _seconds_per_sample(factory(2), max(2, n_time // 4))
        rate_1 = _throughput(factory(1), n_throughput, 1)
        rate_2 = _throughput(factory(1), n_throughput, 2)
        rows.append(
            f"| {name} | {label1} | {per_sample_1:.4f} | {label2} | {per_sample_2:.4f} | "
            f"{n_throughput} | {rate_1:.2f} | {rate_2:.2f} | {rate_2 / rate_1:.2f} |"
        )
        print(rows[-1], flush=True)
    figure = RESULTS / "pde_solvers_samples.png"
    _example_figure(figure)
    text = "\n".join(
        [
            "# PDE reference solver speed",
            "",
            "Generated by `python benchmarks/pde_solvers.py`"
            + (" with `SCIML_FAST=1` (few samples)" if FAST else "")
            + ". Seconds per sample: one process, after a warm-up sample. Throughput: "
            "samples per second end to end, including process start-up, at the default "
            "resolution. Solvers: Fisher-KPP by method of lines + BDF (sparse Jacobian); "
            "Darcy by 5-point finite volumes + SuperLU; heat by 7-point finite volumes + "
            "Jacobi-preconditioned CG.",
            "",
            machine_info(("numpy", "scipy", "xarray", "deepxde")),
            "| generator | default grid | s / sample | 2x grid | s / sample | "
            "n | samples/s, 1 proc | samples/s, 2 procs | speed-up |",
            "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            f"Example samples: `{figure.name}` (Darcy on the six named geometries, Fisher-KPP "
            "for the three training families, the heat plate's middle layer, and an FNO "
            "benchmark sample with its coefficient).",
            "",
        ]
    )
    (RESULTS / "pde_solvers.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
