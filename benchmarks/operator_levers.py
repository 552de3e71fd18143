"""Operator-network levers of issue 13, each measured alone at a small, equal CPU budget.

Sections (within a section every arm trains for the same number of epochs on one thread,
and its wall time is reported: on the shared machine a time budget would measure the load):

- **Darcy**, one MT-DeepONet on pooled named shapes: baseline (learned boundary, output times
  the 0/1 mask) vs the exact-Dirichlet distance factor vs distance + wide GELU branch on
  log K vs distance + Fourier trunk features vs POD-DeepONet;
- **Fisher-KPP physics-informed**, one sample size: static weights vs ReLoBRaLo;
- **zero-shot geometry**: an MT-DeepONet trained on seeded random polygons with 0-3 holes,
  evaluated on held-out named shape families it never saw (and on new random polygons).

These are lever measurements at a small budget, not the issue's final goals (those are in
``benchmarks/results/mt_deeponet.md``). Run: ``python benchmarks/operator_levers.py``
(about 20 CPU-minutes; ``SCIML_FAST=1``: a smoke test). Data are cached in
``benchmarks/.cache/``. Writes ``benchmarks/results/operator_levers.md``.
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
RESULTS = ROOT / "results"

from _machine import machine_info  # noqa: E402

from benchmarks._budget import cached_dataset as cached  # noqa: E402
from sciml.metrics import relative_l2  # noqa: E402
from sciml.physics.data.geometry import SHAPES, random_polygons  # noqa: E402
from sciml.physics.operator.data import OperatorDataset  # noqa: E402
from sciml.physics.operator.networks import MaskedFieldLoss  # noqa: E402
from sciml.physics.operator.residuals import FisherResidual  # noqa: E402
from sciml.physics.problems.darcy import (  # noqa: E402
    WIDE_BRANCH,
    DarcyConfig,
    DarcyProblem,
    generate_darcy,
)
from sciml.physics.problems.fisher import FisherConfig, FisherProblem, generate_fisher  # noqa: E402
from sciml.train import ReLoBRaLoWeighting, StaticWeighting, TrainConfig, Trainer  # noqa: E402

SCALES = {
    "fast": dict(
        res=24,
        n=12,
        test=6,
        epochs=2,
        fisher_n=12,
        fisher_test=6,
        fisher_epochs=2,
        polygons=6,
        per_polygon=3,
        held_test=4,
        zero_epochs=2,
    ),
    "default": dict(
        res=40,
        n=100,
        test=30,
        epochs=20,
        fisher_n=100,
        fisher_test=60,
        fisher_epochs=60,
        polygons=60,
        per_polygon=4,
        held_test=30,
        zero_epochs=20,
    ),
}
SHAPES_TRAIN = ("circle", "triangle", "annulus")
HELD_OUT = ("l_shape", "square_with_cross")


def fit(model, train, epochs, *, loss="mse", hooks=(), weighting=None, batch=32, lr=1e-3):
    """Train ``model`` for ``epochs``; return the trainer and the wall time."""
    cfg = TrainConfig(
        max_epochs=epochs,
        batch_size=batch,
        lr=lr,
        weight_decay=0.0,
        progress=False,
        seed=0,
        warmup=0.02,
        monitor=None,
    )
    trainer = Trainer(
        model, MaskedFieldLoss(loss), cfg, extra_losses=list(hooks), weighting=weighting
    )
    start = time.perf_counter()
    trainer.fit(train)
    return trainer, time.perf_counter() - start


def errors(trainer, data) -> np.ndarray:
    out = trainer.predict(data)
    return relative_l2(out["target"], out["pred"], reduce="none")


def pct(v) -> str:
    return f"{100 * float(np.mean(v)):.2f}%"


# ------------------------------------------------------------------------------------- Darcy
def darcy_sets(s):
    config = DarcyConfig(resolution=s["res"])
    problem = DarcyProblem()
    sets = {}
    for i, g in enumerate((*SHAPES_TRAIN, *HELD_OUT)):
        n = s["n"] + s["test"] if g in SHAPES_TRAIN else s["held_test"]
        ds = cached(
            f"levers_darcy_{g}_{s['res']}_{n}",
            lambda g=g, n=n, i=i: generate_darcy(n, {g: SHAPES[g]()}, config, seed=100 + i),
        )
        sets[g] = problem.dataset(ds)
    return sets


def bench_darcy(s, md):
    sets = darcy_sets(s)
    n = s["n"]
    train = OperatorDataset.concat([sets[g].subset(np.arange(n)) for g in SHAPES_TRAIN])
    tests = {g: sets[g].subset(np.arange(n, len(sets[g]))) for g in SHAPES_TRAIN}
    problem = DarcyProblem()
    arms = {
        "baseline: learned boundary (output x 0/1 mask)": dict(boundary_factor=False),
        "distance factor tanh(d/0.05), d a trunk input": {},
        "distance + wide GELU branch on log K (p = 200)": dict(WIDE_BRANCH),
        "distance + 16 Fourier trunk features": dict(fourier_features=16),
        f"POD-DeepONet (p = {min(64, len(train))} modes)": dict(trunk="pod", p=min(64, len(train))),
    }
    md.append("## Darcy: one MT-DeepONet on pooled named shapes\n")
    md.append(
        f"{s['res']} x {s['res']} grid, K = exp(GRF), f = 1, second-order (Shortley-Weller) "
        f"reference; {n} training and {s['test']} test samples per shape "
        f"({', '.join(SHAPES_TRAIN)}); CNN branch on (K, mask) with p = 150 unless stated, "
        f"trunk [128,128,128], MSE inside the mask, batch 32, lr 1e-3; **{s['epochs']} epochs "
        "per arm** on one thread (time: wall clock on the shared machine).\n"
    )
    md.append("| arm | " + " | ".join(SHAPES_TRAIN) + " | mean | time |")
    md.append("|---" * (len(SHAPES_TRAIN) + 3) + "|")
    models = {}
    for name, options in arms.items():
        options = dict(options)
        p = options.pop("p", None)
        torch.manual_seed(0)
        model = problem.default_model(train, p=p, **options)
        tr, seconds = fit(model, train, s["epochs"])
        errs = {g: errors(tr, tests[g]) for g in SHAPES_TRAIN}
        mean = np.mean([np.mean(e) for e in errs.values()])
        md.append(
            f"| {name} | "
            + " | ".join(pct(e) for e in errs.values())
            + f" | **{100 * mean:.2f}%** | {seconds:.0f} s |"
        )
        print(md[-1], flush=True)
        models[name] = tr
    md.append("")
    return models, sets


# ------------------------------------------------------------------------------------ Fisher
def bench_fisher(s, md):
    n, nt = s["fisher_n"], s["fisher_test"]
    ds = cached(f"levers_fisher_{n}_{nt}", lambda: generate_fisher(n + nt, FisherConfig(), seed=7))
    data = FisherProblem().dataset(ds)
    train, test = data.subset(np.arange(n)), data.subset(np.arange(n, n + nt))
    problem = FisherProblem()
    arms = {
        "static (pde 1, bc 0.1, ic 1)": StaticWeighting({"pde": 1.0, "bc": 0.1, "ic": 1.0}),
        "ReLoBRaLo (alpha 0.99, T 0.1, E[rho] 0.999)": ReLoBRaLoWeighting(
            ["mse", "pde", "bc", "ic"], alpha=0.99
        ),
    }
    md.append("## Fisher-KPP physics-informed: static weights vs ReLoBRaLo\n")
    md.append(
        f"{n} training samples (three training families pooled), {nt} test samples; the "
        "default MT-DeepONet (MLP branch [128,128]+LayerNorm, trunk [128,128,128], p = 300); "
        "data MSE plus the batched residual on 256 collocation points, zero-flux BC and IC; "
        f"**{s['fisher_epochs']} epochs per arm**. ReLoBRaLo's alpha is 0.99 rather than the paper's 0.999 "
        "because these runs last hundreds, not tens of thousands, of steps.\n"
    )
    md.append("| weighting | test rel. L2 | final weights | time |\n|---|---|---|---|")
    for name, weighting in arms.items():
        torch.manual_seed(0)
        model = problem.default_model(train)
        tr, seconds = fit(
            model,
            train,
            s["fisher_epochs"],
            hooks=[FisherResidual(n_collocation=256)],
            weighting=weighting,
        )
        final = tr.weighting.weights(["mse", "pde", "bc", "ic"])
        shown = ", ".join(f"{k} {v:.2f}" for k, v in final.items())
        md.append(f"| {name} | {pct(errors(tr, test))} | {shown} | {seconds:.0f} s |")
        print(md[-1], flush=True)
    md.append("")


# --------------------------------------------------------------------------------- zero-shot
def bench_zero_shot(s, md, darcy_models, sets):
    res = s["res"]
    shapes = random_polygons(s["polygons"] + 10, seed=3, resolution=res)
    names = list(shapes)
    train_shapes = {k: shapes[k] for k in names[: s["polygons"]]}
    new_shapes = {k: shapes[k] for k in names[s["polygons"] :]}
    config = DarcyConfig(resolution=res)
    problem = DarcyProblem()
    n_train = s["polygons"] * s["per_polygon"]
    train = problem.dataset(
        cached(
            f"levers_polygons_{res}_{s['polygons']}_{n_train}",
            lambda: generate_darcy(n_train, train_shapes, config, seed=200),
        )
    )
    fresh = problem.dataset(
        cached(
            f"levers_polygons_new_{res}_{2 * len(new_shapes)}",
            lambda: generate_darcy(2 * len(new_shapes), new_shapes, config, seed=201),
        )
    )
    torch.manual_seed(0)
    model = problem.default_model(train)
    epochs = s["zero_epochs"]
    tr, seconds = fit(model, train, epochs)
    named = darcy_models["distance factor tanh(d/0.05), d a trunk input"]
    md.append("## Zero-shot geometry: trained on random polygons, tested on held-out shapes\n")
    md.append(
        f"{s['polygons']} seeded random polygons with 0-3 holes "
        f"(`sciml.physics.data.geometry.random_polygons(seed=3)`), {s['per_polygon']} samples "
        f"each ({n_train} in all), {res} x {res}; the default Darcy MT-DeepONet (distance "
        f"factor), {seconds:.0f} s ({epochs} epochs). Test shapes never seen in training; "
        "for reference, the distance-factor model of the Darcy table (trained on "
        f"{', '.join(SHAPES_TRAIN)}) on the same test sets.\n"
    )
    md.append("| test set | polygon-trained, zero-shot | named-shape-trained |\n|---|---|---|")
    for g in HELD_OUT:
        md.append(
            f"| {g} ({len(sets[g])} samples) | {pct(errors(tr, sets[g]))} | "
            f"{pct(errors(named, sets[g]))} |"
        )
    md.append(
        f"| {len(new_shapes)} new random polygons ({len(fresh)} samples) | "
        f"{pct(errors(tr, fresh))} | {pct(errors(named, fresh))} |"
    )
    md.append("")
    print("\n".join(md[-5:]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, help="sections: darcy fisher zero_shot")
    args = parser.parse_args()
    s = SCALES["fast" if os.environ.get("SCIML_FAST") == "1" else "default"]
    torch.set_num_threads(1)
    wanted = set(args.only or ["darcy", "fisher", "zero_shot"])
    start = time.perf_counter()
    md = [
        "# Operator levers (issue 13): each lever alone at a small equal budget\n",
        machine_info(),
        "Relative L2 = mean over test samples of ||u_pred - u|| / ||u|| inside the domain. "
        "Within a section every arm trains for the same number of epochs on one thread; the "
        "wall times show what each costs (on a shared, loaded machine, see the load above). "
        "Small-budget lever measurements, not the issue's goals.\n",
    ]
    darcy = None
    if "darcy" in wanted or "zero_shot" in wanted:
        darcy = bench_darcy(s, md)
    if "fisher" in wanted:
        bench_fisher(s, md)
    if "zero_shot" in wanted:
        bench_zero_shot(s, md, *darcy)
    md.append(f"Total wall time {time.perf_counter() - start:.0f} s.\n")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "operator_levers.md"
    out.write_text("\n".join(md))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
