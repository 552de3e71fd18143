"""Darcy on any shape (issue 28): the shipped model zero-shot, physics-only adaptation, OOD flags.

Subcommands:

- ``train --workdir W``: ``benchmarks/any_shape_train.py --workdir W/polygons`` (data,
  architecture screen, final model on star polygons; resumable), then a second run from its
  weights on mixed shapes (``--shapes mixed``, :data:`MIXED_RUN`, in ``W/mixed``), a third
  from those with larger holes (:data:`LARGE_HOLE_RUN`, ``W/large_holes``), then ``ship``;
- ``ship --workdir W``: turn the final model of ``benchmarks/any_shape_train.py`` into
  ``sciml/assets/darcy_any_shape.pt``: the network, its training-shape descriptor (fitted on
  the training masks, IoU threshold calibrated on the validation shapes), the training range
  of the ``K`` contrast and the provenance (command, data, budget, validation scores).
  Seconds of CPU; no training.
- ``evaluate``: the results file ``benchmarks/results/operators_any_shape.md`` with the
  issue's goals table, from the shipped model only:

  * zero-shot relative L2 error against the project's cut-cell solver (64 x 64, second
    order) on shape families never used in training or model choice: circle, annulus, L,
    square with a cross, pentagon with a hole, star with a hole (5 ``K = exp(GRF)`` fields
    each) and 10 new random polygons (seed 3000, 1 ``K`` each);
  * physics-only adaptation on each family's first sample: :meth:`AnyShapeDarcy.adapt`
    (the Shortley--Weller residual, no solver solution), a fixed number of Adam steps
    within 2 CPU-minutes; error before and after;
  * the out-of-domain flag: a descriptor fitted on disks only, asked about the square with
    a cross; and the shipped model's own flag on every test family and on held-out random
    polygons.

Run: ``python benchmarks/operator_any_shape.py evaluate`` (about 5 CPU-minutes, one thread;
``SCIML_FAST=1``: fewer samples and steps).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from _machine import machine_info  # noqa: E402

from sciml._io import atomic_write  # noqa: E402
from sciml.physics.any_shape import (  # noqa: E402
    AnyShapeDarcy,
    ShapeDescriptor,
    amg_preconditioner,
    training_arrays,
)
from sciml.physics.data.geometry import (  # noqa: E402
    SHAPES,
    Disk,
    Grid,
    Polygon,
    difference,
    random_polygons,
    rasterize,
)
from sciml.physics.data.geometry_io import polygon_with_holes  # noqa: E402
from sciml.physics.data.grf import gaussian_random_field_on  # noqa: E402
from sciml.physics.problems.darcy import DarcyProblem  # noqa: E402

FAST = os.environ.get("SCIML_FAST", "0") not in ("", "0")
ASSET = Path(
    os.environ.get("SCIML_ANY_SHAPE_ASSET", ROOT.parent / "sciml" / "assets" / "darcy_any_shape.pt")
)
RESULTS = ROOT / "results" / "operators_any_shape.md"
K_PER_SHAPE = 2 if FAST else 5
N_RANDOM = 3 if FAST else 10
ADAPT_MAX_STEPS = 25 if FAST else 1000
ADAPT_STEP_CHOICES = (
    (25,) if FAST else (100, 300, 1000)
)  # multiples of 25: adapt logs every 25 steps
ADAPT_CPU = 120.0
ADAPT_SETTINGS = {
    "all weights, multilevel-L2 loss, lr 3e-5": dict(
        parameters="all", loss_kind="multilevel-l2", lr=3e-5
    ),
    "all weights, multilevel-L2 loss, lr 1e-4": dict(
        parameters="all", loss_kind="multilevel-l2", lr=1e-4
    ),
    "head only, multilevel-L2 loss, lr 1e-3": dict(
        parameters="head", loss_kind="multilevel-l2", lr=1e-3
    ),
    # Session 3: a trust region around the zero-shot prediction (AnyShapeDarcy.adapt(anchor=)).
    "all weights, multilevel-L2 loss + anchor 1, lr 3e-5": dict(
        parameters="all", loss_kind="multilevel-l2", lr=3e-5, anchor=1.0
    ),
    "all weights, multilevel-L2 loss + anchor 1, lr 1e-4": dict(
        parameters="all", loss_kind="multilevel-l2", lr=1e-4, anchor=1.0
    ),
    # Session 4: the residual preconditioned by one AMG V-cycle (pyamg), whose norm tracks the
    # L2 norm of the error (AnyShapeDarcy.adapt(loss_kind="amg")).
    "all weights, AMG-preconditioned loss, lr 3e-5": dict(
        parameters="all", loss_kind="amg", lr=3e-5
    ),
    "all weights, AMG-preconditioned loss, lr 1e-4": dict(
        parameters="all", loss_kind="amg", lr=1e-4
    ),
    "all weights, AMG-preconditioned loss, lr 3e-4": dict(
        parameters="all", loss_kind="amg", lr=3e-4
    ),
}
N_ADAPT_VAL = 2 if FAST else 3
#: The zero-shot record of the model shipped before run 4 (kept: run 4 replaced it).
EARLIER_ZERO_SHOT = """
Before run 4 the shipped model was run 3 (session 3; commit 09bdf08 of this file): mean
relative L2 circle 1.42%, annulus 4.99%, L-shape 2.41%, square with cross 2.25%, pentagon with
hole 2.98%, star with hole 4.09% (flagged out of domain), 10 new random polygons 2.46%. Run 4
(bent channels added to the training shapes) was shipped by the rule fixed before it ran:
lower mean validation error over every run's validation set (3.51% vs 3.73%). On the test
families above it is better on 3 of 7 and worse on 4, most on the annulus (4.99% -> 7.63%);
the test families played no part in the choice. Adaptation (below) takes every family under 1%.
"""

#: The record of the run before the AMG loss existed (kept: the AMG settings were added after it).
EARLIER_ADAPTATION = """
The AMG-preconditioned settings were added (session 4) **after** the session-3 run of this
command had shown the test families above with the multilevel loss; the setting and the step
count are still chosen on the validation shapes alone. That earlier run (commit e5af596, the
same shipped model; chosen then: multilevel-L2 loss, lr 3e-5, 300 steps) gave, before -> after:
circle 1.04% -> 2.11%, annulus 4.67% -> 3.20%, L-shape 2.26% -> 1.36%, square with cross
2.40% -> 4.51%, pentagon with hole 3.01% -> 3.76%, star with hole 4.00% -> 3.34%, 10 new random
polygons 2.42% -> 1.39% (worst 4.51%, worse on 3 of 7), while its loss fell 100-1000x.

On this 64 x 64 problem the solver itself takes under 0.1 s, so adaptation is not a way to save
time over the solver: it is how far the PDE residual alone, without a solution, takes the
shipped network on a new shape. The last column shows that the adapted network is closer to the
solution than the V-cycle inside its loss on every family.
"""


def pentagon_with_hole():
    """The transfer target of ``mt_deeponet.py``: a pentagon minus an off-centre disk."""
    angles = np.pi / 2 + 2 * np.pi * np.arange(5) / 5
    vertices = np.c_[0.5 + 0.45 * np.cos(angles), 0.47 + 0.45 * np.sin(angles)]
    return difference(Polygon(vertices.tolist()), Disk([0.55, 0.45], 0.14))


def star_with_hole():
    """A five-pointed star (radii 0.45 / 0.22) with an off-centre disk hole."""
    angles = np.arange(10) * np.pi / 5 + 0.3
    radii = np.where(np.arange(10) % 2 == 0, 0.45, 0.22)
    ring = np.c_[0.5 + radii * np.cos(angles), 0.5 + radii * np.sin(angles)]
    return difference(polygon_with_holes(ring), Disk([0.55, 0.47], 0.08))


def test_families() -> dict[str, list]:
    families = {
        "circle": [SHAPES["circle"]()],
        "annulus": [SHAPES["annulus"]()],
        "L-shape": [SHAPES["l_shape"]()],
        "square with cross": [SHAPES["square_with_cross"]()],
        "pentagon with hole": [pentagon_with_hole()],
        "star with hole": [star_with_hole()],
        "10 new random polygons": list(
            random_polygons(N_RANDOM, seed=3000, resolution=64).values()
        ),
    }
    return families


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- ship


SHAPE_WORDS = {
    "polygons": "random star polygons (sciml.physics.data.geometry.random_polygons)",
    "mixed": "random shapes (sciml.physics.data.geometry.random_shapes: star polygons, "
    "unions of 2-4 rectangles and chamfered plates in turn, holes: disks, star polygons, "
    "slots)",
    "channels": "random shapes (sciml.physics.data.geometry.random_shapes: star polygons, "
    "unions of 2-4 rectangles, chamfered plates and bent channels in turn, holes: disks, "
    "star polygons, slots)",
}


def _stage(folder: Path, summary: dict) -> dict:
    """One training run of the shipped model, as its summary.json recorded it."""
    shapes = SHAPE_WORDS[summary.get("shapes", "polygons")]
    if "hole_radius" in summary:
        shapes += f" of size {summary['hole_radius'][0]:g}-{summary['hole_radius'][1]:g}"
    data = summary["data"]
    final = summary["final"]
    return {
        "command": summary["command"],
        "data": {
            "train": {
                "description": f"{shapes}, seed 1000, 0-3 holes, x 2 K = exp(GRF) fields "
                "(alpha 2, tau 3), 64 x 64 nodes, f = 1, Shortley-Weller cut-cell solver",
                **data["train"],
            },
            "val": {"description": f"other {shapes}, seed 2000, x 1 K", **data["val"]},
        },
        "screen": summary.get("screen", {}),
        "init_from": final.get("init_from"),
        "epochs_run": final["epochs_run"],
        "best_epoch": final["best_epoch"],
        "val_rel_l2": final["val_rel_l2"],
        "cpu_s": final["cpu_s"],
        "wall_s": final["wall_s"],
        "lr": final["config"]["lr"],
    }


#: The third run (the shipped weights), from the second's: holes up to 0.4 in size. Started
#: after the second run's annulus result; shipped because it was better on all three
#: validation sets (``decision.json`` in its work folder, kept in the asset's info).
LARGE_HOLE_RUN = [
    "--shapes",
    "mixed",
    "--hole-radius",
    "0.05",
    "0.4",
    "--train-geometries",
    "1000",
    "--val-geometries",
    "150",
    "--final-epochs",
    "40",
    "--lr",
    "1e-3",
]

#: The fourth run, from the third's: bent channels (U, L, Z, S) join the shapes. Started
#: (session 4) after a review found a U-shaped channel at 10.2% zero-shot; settings and the
#: rule (ship if better on the mean over every run's validation set) fixed before it ran.
CHANNEL_RUN = [
    "--shapes",
    "channels",
    "--hole-radius",
    "0.05",
    "0.4",
    "--train-geometries",
    "1000",
    "--val-geometries",
    "160",
    "--final-epochs",
    "40",
    "--lr",
    "1e-3",
]

#: The second training run of the shipped model (``train``): settings fixed before it ran.
MIXED_RUN = [
    "--shapes",
    "mixed",
    "--train-geometries",
    "1000",
    "--val-geometries",
    "150",
    "--final-epochs",
    "60",
    "--lr",
    "1e-3",
]


def _runs(workdir: Path) -> list[tuple[Path, dict]]:
    """``(folder, summary)`` of every training run behind ``workdir``, first to last.

    A run started ``--init-from`` another run's ``final.pt`` follows that run.
    """
    runs, folder = [], workdir
    while True:
        summary = json.loads((folder / "summary.json").read_text())
        runs.insert(0, (folder, summary))
        start = summary["final"].get("init_from")
        if not start:
            return runs
        folder = Path(start).parent


def decide(workdir: Path) -> dict:
    """This run's final model against the run it started from, on every run's validation set.

    Written to ``workdir/decision.json`` (and kept in the shipped asset's info): the mean
    relative L2 over the validation sets of the whole chain of runs, nothing else.
    """
    from sciml.physics.any_shape import evaluate_grid_operator
    from sciml.physics.data.storage import load_dataset
    from sciml.physics.operator.grid import FNOOperator, UNetOperator
    from sciml.train import load_checkpoint, rebuild_model

    runs = _runs(workdir)
    start = Path(runs[-1][1]["final"]["init_from"])
    sets = {str(f): training_arrays(load_dataset(f / "val.nc")) for f, _ in runs}
    out = {}
    for name, path in (("previous run", start), ("this run", workdir / "final.pt")):
        model = rebuild_model(load_checkpoint(path), expected=(UNetOperator, FNOOperator))
        scores = {k: evaluate_grid_operator(model, v) for k, v in sets.items()}
        out[name] = {**scores, "mean": float(np.mean(list(scores.values())))}
    out["shipped"] = (
        "this run" if out["this run"]["mean"] < out["previous run"]["mean"] else ("previous run")
    )
    with atomic_write(workdir / "decision.json") as handle:
        json.dump(out, handle, indent=1)
    log(f"validation, previous run vs this run: {out}")
    return out


def ship(workdir: Path, out: Path) -> None:
    from sciml.physics.data.storage import load_dataset
    from sciml.physics.operator.grid import FNOOperator, UNetOperator
    from sciml.train import load_checkpoint, rebuild_model

    summary = json.loads((workdir / "summary.json").read_text())
    payload = load_checkpoint(workdir / "final.pt")
    model = rebuild_model(payload, expected=(UNetOperator, FNOOperator), source=workdir)
    train = training_arrays(load_dataset(workdir / "train.nc"))
    val = training_arrays(load_dataset(workdir / "val.nc"))
    spacing = 1.0 / (train["mask"].shape[-1] - 1)
    descriptor = ShapeDescriptor.fit(train["mask"], spacing).calibrate(val["mask"])
    contrast = train["channels"][:, 3][train["mask"]]
    stages = [_stage(folder, stage) for folder, stage in _runs(workdir)]
    final = summary["final"]
    info = {
        "made_by": "python benchmarks/any_shape_train.py --workdir W [--init-from W0/final.pt "
        "--shapes mixed ...] && python benchmarks/operator_any_shape.py ship --workdir W",
        "train_command": summary["command"],
        "data": stages[-1]["data"],
        "stages": stages,
        "architecture_screen": stages[0]["screen"],
        "architecture": final["architecture"],
        "hparams": final["hparams"],
        "training": {
            k: final[k] for k in ("config", "epochs_run", "best_epoch", "cpu_s", "wall_s")
        },
        "training_cpu_s_all_stages": round(sum(st["cpu_s"] for st in stages), 1),
        "validation_rel_l2": final["val_rel_l2"],
        "descriptor_min_iou": descriptor.min_iou,
    }
    decision = workdir / "decision.json"  # this run against the one before, validation only
    if decision.is_file():
        info["validation_against_previous_run"] = json.loads(decision.read_text())
    AnyShapeDarcy(
        model,
        train["mask"].shape[-1],
        descriptor,
        (float(contrast.min()), float(contrast.max())),
        info,
    ).save(out)
    size = out.stat().st_size / 1e6
    log(f"wrote {out} ({size:.2f} MB); validation rel. L2 {final['val_rel_l2']:.4f}")


# --------------------------------------------------------------------------- evaluate


def permeabilities(n: int, seed: int, resolution: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, resolution)
    return [np.exp(gaussian_random_field_on([x, x], rng, alpha=2.0, tau=3.0)) for _ in range(n)]


def rel_l2(pred: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> float:
    return float(np.linalg.norm((pred - ref)[mask]) / np.linalg.norm(ref[mask]))


def validation_shapes() -> dict:
    """Shapes for choosing the adaptation: none is a test family or a training shape.

    Adaptation is for shapes unlike the training set, so besides random polygons of the
    validation set it is scored on three other families: an ellipse, a rectangle with an
    off-centre rectangular hole and a T.
    """
    from deepxde.geometry import Ellipse

    from sciml.physics.data.geometry import Rectangle

    polygons = random_polygons(N_ADAPT_VAL, seed=2000, resolution=64)
    return {
        **{f"validation polygon {i}": g for i, g in enumerate(polygons.values())},
        "ellipse": Ellipse([0.5, 0.5], 0.45, 0.25),
        "rectangle with rectangular hole": difference(
            Rectangle([0.05, 0.15], [0.95, 0.85]), Rectangle([0.25, 0.3], [0.5, 0.55])
        ),
        "T-shape": Polygon(
            [
                [0.35, 0.05],
                [0.65, 0.05],
                [0.65, 0.65],
                [0.95, 0.65],
                [0.95, 0.95],
                [0.05, 0.95],
                [0.05, 0.65],
                [0.35, 0.65],
            ]
        ),
    }


def choose_adaptation(model: AnyShapeDarcy) -> tuple[str, int, dict]:
    """Adaptation setting and step count with the lowest mean error on validation shapes."""
    problem = DarcyProblem()
    shapes = validation_shapes()
    scores = {}
    for name, setting in ADAPT_SETTINGS.items():
        curves = []
        for i, shape in enumerate(shapes.values()):
            k = permeabilities(1, 9000 + i, model.resolution)[0]
            ref = problem.solve(shape, permeability=k, resolution=model.resolution)["u"].values[0]
            _, history = model.adapt(
                shape, k, steps=ADAPT_MAX_STEPS, cpu_seconds=ADAPT_CPU, reference=ref, **setting
            )
            curves.append({h["step"]: h["rel_l2"] for h in history})
        scores[name] = {
            "before": [c[0] for c in curves],
            **{steps: [c.get(steps, np.nan) for c in curves] for steps in ADAPT_STEP_CHOICES},
        }
        log(
            f"validation adaptation {name}: "
            + ", ".join(f"{key}: {100 * np.mean(v):.2f}%" for key, v in scores[name].items())
        )
    best = min(
        ((name, steps) for name in scores for steps in ADAPT_STEP_CHOICES),
        key=lambda c: np.mean(scores[c[0]][c[1]]),
    )
    return best[0], best[1], {"shapes": list(shapes), "scores": scores}


#: Item 7's levers measured by their own scripts: goal, results stem, model, limit, before.
LEVERS = (
    ("3-D heat, unseen designs", "heat_unet", "SuperpositionUNet", 0.05, 0.2501),
    (
        "FNO Darcy 421 -> 85, best sciml model at <= 30 CPU-min",
        "fno_darcy_unet",
        "U-Net grid operator",
        0.02,
        0.0381,
    ),
)


def refresh_levers(out: Path) -> None:
    """Rewrite only the goal rows of :data:`LEVERS` in an existing results file."""
    lines = out.read_text().splitlines()
    for lever in LEVERS:
        row = _lever_row(*lever)
        lines = [row if line.startswith(f"| {lever[0]} |") else line for line in lines]
    with atomic_write(out) as handle:
        handle.write("\n".join(lines) + "\n")
    log(f"rewrote the rows of {', '.join(lever[1] for lever in LEVERS)} in {out}")


def pct(v: float) -> str:
    return f"{100 * v:.2f}%"


def _lever_row(goal: str, stem: str, model_name: str, limit: float, before: float) -> str:
    """A goal row read from an item-7 lever's results file (``mt_deeponet.md`` if not run)."""
    path = RESULTS.parent / f"{stem}.json"
    if not path.is_file():
        return f"| {goal} | {pct(before)} (`mt_deeponet.md`) | <= {limit:.0%} | missed |"
    r = json.loads(path.read_text())
    now = r["test_rel_l2_mean"]
    return (
        f"| {goal} | {pct(now)} ({model_name}, {r['train_cpu_s'] / 60:.1f} CPU-min, "
        f"`{stem}.md`; before {pct(before)}) | <= {limit:.0%} | "
        f"{'met' if now <= limit else 'missed'} |"
    )


def vcycle_error(model: AnyShapeDarcy, shape, k: np.ndarray, u_ref: np.ndarray) -> float:
    """Relative L2 error of one AMG V-cycle applied to f alone (no network)."""
    matrix, unknown, _, level, _ = model.residual_operator(shape, k)
    guess = amg_preconditioner(matrix) @ np.ones(matrix.shape[0])
    exact = u_ref[unknown] * np.exp(level)
    return float(np.linalg.norm(guess - exact) / np.linalg.norm(exact))


def evaluate(out: Path) -> None:
    torch.set_num_threads(1)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    model = AnyShapeDarcy.load(ASSET)
    problem = DarcyProblem()
    res = model.resolution
    chosen, adapt_steps, adapt_scores = choose_adaptation(model)
    setting = ADAPT_SETTINGS[chosen]
    rows, adapt_rows, flags = [], [], {}
    solver_s, predict_s = [], []
    for f_index, (family, shapes) in enumerate(test_families().items()):
        errors = []
        ks_per_shape = 1 if len(shapes) > 1 else K_PER_SHAPE
        first = None
        for s_index, shape in enumerate(shapes):
            for k in permeabilities(ks_per_shape, 100 * f_index + s_index, res):
                t = time.process_time()
                ref = problem.solve(shape, permeability=k, resolution=res)
                solver_s.append(time.process_time() - t)
                u_ref, mask = ref["u"].values[0], ref["mask"].values[0]
                t = time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    pred = model.predict(shape, permeability=k)
                predict_s.append(time.process_time() - t)
                errors.append(rel_l2(np.nan_to_num(pred.values), u_ref, mask))
                flags.setdefault(family, []).append(
                    (bool(pred.in_domain), pred.attrs["domain_reason"])
                )
                if first is None:
                    first = (shape, k, u_ref, mask, errors[-1])
        rows.append((family, float(np.mean(errors)), float(np.max(errors)), len(errors)))
        log(f"{family}: zero-shot mean {100 * rows[-1][1]:.2f}% max {100 * rows[-1][2]:.2f}%")
        shape, k, u_ref, mask, before = first
        adapted, history = model.adapt(
            shape,
            permeability=k,
            steps=adapt_steps,
            cpu_seconds=ADAPT_CPU,
            reference=u_ref,
            **setting,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            after = rel_l2(
                np.nan_to_num(adapted.predict(shape, permeability=k).values), u_ref, mask
            )
        adapt_rows.append((family, before, after, history, vcycle_error(model, shape, k, u_ref)))
        log(
            f"{family}: adaptation {100 * before:.2f}% -> {100 * after:.2f}% "
            f"({history[-1]['step']} steps, {history[-1]['cpu_s']:.0f} CPU-s, residual "
            f"{history[0]['loss']:.3g} -> {history[-1]['loss']:.3g})"
        )

    # Out-of-domain flag: a descriptor of disks only, asked about the square with a cross.
    grid = Grid.uniform((res, res))
    rng = np.random.default_rng(7)
    disks = np.stack(
        [
            rasterize(Disk(list(rng.uniform(0.35, 0.65, 2)), float(rng.uniform(0.2, 0.34))), grid)
            for _ in range(40)
        ]
    )
    held_disks = np.stack(
        [
            rasterize(Disk(list(rng.uniform(0.35, 0.65, 2)), float(rng.uniform(0.2, 0.34))), grid)
            for _ in range(40)
        ]
    )
    disk_descriptor = ShapeDescriptor.fit(disks, 1.0 / (res - 1)).calibrate(held_disks)
    cross_ok, cross_reasons = disk_descriptor.check(rasterize(SHAPES["square_with_cross"](), grid))
    disk_ok, _ = disk_descriptor.check(rasterize(Disk([0.5, 0.5], 0.3), grid))
    from sciml.physics.data.geometry import random_shapes

    stages = model.info.get("stages") or [{}]
    mixed = "random_shapes" in str(stages[-1].get("data", {}).get("train", {}))
    draw = random_shapes if mixed else random_polygons
    val_polys = draw(20 if not FAST else 4, seed=4000, resolution=res)
    val_flagged = sum(not model.descriptor.check(rasterize(g, grid))[0] for g in val_polys.values())
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    write(
        out,
        model,
        rows,
        adapt_rows,
        flags,
        cross_ok,
        cross_reasons,
        disk_ok,
        val_flagged,
        len(val_polys),
        solver_s,
        predict_s,
        cpu,
        wall,
        chosen,
        adapt_steps,
        adapt_scores,
    )


def write(
    out,
    model,
    rows,
    adapt_rows,
    flags,
    cross_ok,
    cross_reasons,
    disk_ok,
    val_flagged,
    n_val,
    solver_s,
    predict_s,
    cpu,
    wall,
    chosen,
    adapt_steps,
    adapt_scores,
) -> None:
    info = model.info
    worst = max(rows, key=lambda r: r[1])
    after = [r[2] for r in adapt_rows]
    worst_after = max(adapt_rows, key=lambda r: r[2])
    helped = sum(r[2] < r[1] for r in adapt_rows)
    verdict = lambda ok: "met" if ok else "missed"  # noqa: E731
    md = ["# Darcy on any shape: the shipped model, physics-only adaptation, OOD flags\n"]
    md.append("## Goals (issue 28)\n")
    md.append("| goal | now | target | verdict |\n|---|---|---|---|")
    md.append(
        f"| shipped any-shape model, zero-shot, unseen families, worst family (mean over its "
        f"samples) | {pct(worst[1])} ({worst[0]}) | <= 8% | {verdict(worst[1] <= 0.08)} |"
    )
    md.append(
        f"| after physics-only adaptation (<= 2 CPU-min, no solver data), worst family | "
        f"{pct(max(after))} ({worst_after[0]}); improved {helped} of {len(adapt_rows)} | <= 4% "
        f"on every family | {verdict(max(after) <= 0.04)} |"
    )
    md.append(
        f"| OOD flag: square with a cross for a descriptor of disks | "
        f"{'flagged' if not cross_ok else 'not flagged'}: {'; '.join(cross_reasons)} | flagged, "
        f"with the reason | {verdict(not cross_ok)} |"
    )
    md.extend(_lever_row(*lever) for lever in LEVERS)
    md.append(
        "| one sample at 99^2 vs the solver | 10.2x (`mt_deeponet.md` speed section; the "
        f"any-shape model at 64^2: {np.median(solver_s) / np.median(predict_s):.1f}x the "
        "solver, below) | >= 10x | met |\n"
    )
    md.append(machine_info(("numpy", "scipy", "torch", "neuraloperator")))
    md.append(
        f"Evaluation: {cpu:.0f} CPU-s, {wall:.0f} s wall on one thread. Every number below "
        "comes from this command and the shipped asset `sciml/assets/darcy_any_shape.pt`.\n"
    )
    md.append("## The shipped model\n")
    screen = info.get("architecture_screen", {})
    md.append(
        f"Architecture **{info.get('architecture')}** {info.get('hparams')}, chosen on "
        "**validation shapes** (the first run's validation set) at equal CPU budget; the test "
        "families below played no part in any choice (but the second run's unions of 2-4 "
        "rectangles include L-like shapes, so the L-shape family is nearer its training "
        "data than the first run's).\n"
    )
    md.append(
        "| candidate | parameters | validation rel. L2 | epochs | CPU s | wall s |\n"
        "|---|---|---|---|---|---|"
    )
    for name, r in screen.items():
        md.append(
            f"| {name} {r['hparams']} | {r['parameters']} | {pct(r['val_rel_l2'])} | "
            f"{r['best_epoch']} | {r['cpu_s']} | {r['wall_s']} |"
        )
    stages = info.get("stages") or []
    md.append(
        "\nTraining runs (each `python benchmarks/any_shape_train.py`; a later run starts from "
        "the weights of the one before; budgets in epochs; best epoch on its validation set):\n"
    )
    md.append(
        "| run | training data | validation data | epochs (best) | peak lr | CPU s | wall s | "
        "validation rel. L2 |\n|---|---|---|---|---|---|---|---|"
    )
    for i, st in enumerate(stages, 1):
        d = st["data"]
        md.append(
            f"| {i} | {d['train']['description']} ({d['train']['samples']} samples, "
            f"{d['train']['cpu_s']} CPU-s to solve) | {d['val']['description']} "
            f"({d['val']['samples']} samples) | {st['epochs_run']} ({st['best_epoch']}) | "
            f"{st['lr']:g} | {st['cpu_s']:.0f} | {st['wall_s']:.0f} | {pct(st['val_rel_l2'])} |"
        )
    md.append(
        f"\nTraining CPU over all runs: {info.get('training_cpu_s_all_stages', 0):.0f} CPU-s "
        "(one thread). Inputs: mask, distance to the boundary d, d / max d, log K minus its "
        "mean; output u = g * d * max d / K_level (u = 0 on the boundary exact; the level of "
        "K exact). Loss: relative L2 inside the domain; random flips and rotations of the "
        "grid.\n"
    )
    md.append("## Zero-shot on unseen shape families\n")
    md.append(
        f"64 x 64 nodes, f = 1, K = exp(GRF) (alpha 2, tau 3), {K_PER_SHAPE} K fields per "
        f"named shape, {N_RANDOM} new random polygons (seed 3000) with 1 K each; reference: "
        "the cut-cell solver (Shortley-Weller, second order) on the same grid. Relative L2 "
        "inside the domain.\n"
    )
    md.append(
        "| family | mean | worst sample | samples | in domain (shipped descriptor) |\n"
        "|---|---|---|---|---|"
    )
    for family, mean, mx, n in rows:
        f = flags[family]
        inside = sum(ok for ok, _ in f)
        reason = next((r for ok, r in f if not ok), "")
        md.append(
            f"| {family} | {pct(mean)} | {pct(mx)} | {n} | {inside} of {len(f)}"
            + (f" (e.g. {reason})" if reason else "")
            + " |"
        )
    md.append(EARLIER_ZERO_SHOT.rstrip("\n"))
    md.append(
        f"\nSpeed at 64 x 64 (one sample, one thread): solver {1000 * np.median(solver_s):.0f} ms "
        f"(median), model {1000 * np.median(predict_s):.0f} ms including rasterising the shape "
        "and the descriptor check.\n"
    )
    md.append("## Physics-only adaptation\n")
    md.append(
        "Loss: the residual r = A u - f of the Shortley-Weller equations on the shape, in one "
        "of two norms. **Multilevel** (session 3): each row divided by its weight relative to "
        "an ordinary row, then h^2 sum_l w^l |S_l r|^2 (S_l: sums over 2^l x 2^l blocks; w = 4 "
        "meant to approximate the L2 norm of the error), normalised so that 1.1 x the solution "
        "scores 0.01. **AMG-preconditioned** (session 4): |B r|^2 / |B f|^2 with B one "
        "smoothed-aggregation V-cycle of pyamg (`sciml.physics.any_shape.amg_preconditioner`), "
        "so the loss is about the squared relative L2 error itself (in the table of test "
        "families below, the square root of the loss before adaptation is within 10% of the "
        "error before). The multilevel loss fell 100-1000x in session 3 "
        "while the error rose on 3 of 7 families: it does not track the error; the AMG one "
        "does. Both are zero at the solver's solution; the boundary condition is exact by "
        "construction. No solution of A u = f is computed: the reference is used only to "
        "report the error, and B applied to f alone (one V-cycle, what the loss knows of the "
        "solution without the network) is reported beside the result.\n"
    )
    md.append(
        f"**Setting and step count chosen on validation shapes** ({', '.join(adapt_scores['shapes'])}"
        f"; one K each; none is a test family): mean relative L2 after the given number of "
        f"Adam steps (the curve of one run of {ADAPT_MAX_STEPS} steps):\n"
    )
    md.append(
        "| setting | before | "
        + " | ".join(f"{n} steps" for n in ADAPT_STEP_CHOICES)
        + " |\n|---|---|"
        + "---|" * len(ADAPT_STEP_CHOICES)
    )
    for name, sc in adapt_scores["scores"].items():
        cells = []
        for n in ADAPT_STEP_CHOICES:
            mark = " (chosen)" if (name == chosen and n == adapt_steps) else ""
            cells.append(f"{pct(np.mean(sc[n]))}{mark}")
        md.append(f"| {name} | {pct(np.mean(sc['before']))} | " + " | ".join(cells) + " |")
    first = next(iter(adapt_scores["scores"].values()))
    md.append(
        "\nPer validation shape, before: "
        + ", ".join(
            f"{s} {pct(v)}" for s, v in zip(adapt_scores["shapes"], first["before"], strict=True)
        )
        + "; after the chosen setting: "
        + ", ".join(
            f"{s} {pct(v)}"
            for s, v in zip(
                adapt_scores["shapes"], adapt_scores["scores"][chosen][adapt_steps], strict=True
            )
        )
        + ".\n"
    )
    md.append(
        f"\nTest families, from the shipped model on each family's first sample, "
        f"{adapt_steps} steps (or {ADAPT_CPU:.0f} CPU-s) with the chosen setting:\n"
    )
    md.append(
        "| family | before | after | steps | CPU s | loss before -> after | one V-cycle on f "
        "alone |\n|---|---|---|---|---|---|---|"
    )
    for family, before, after_, history, vcycle in adapt_rows:
        md.append(
            f"| {family} | {pct(before)} | {pct(after_)} | {history[-1]['step']} | "
            f"{history[-1]['cpu_s']:.0f} | {history[0]['loss']:.3g} -> "
            f"{history[-1]['loss']:.3g} | {pct(vcycle)} |"
        )
    md.append(EARLIER_ADAPTATION)
    md.append("## Out-of-domain flag\n")
    md.append(
        f"A descriptor fitted on 40 disks (IoU threshold calibrated on 40 other disks) flags "
        f"the square with a cross: **{not cross_ok}** ({'; '.join(cross_reasons)}); a disk: "
        f"{not disk_ok}. The shipped model's descriptor flags {val_flagged} of {n_val} new "
        f"random shapes of its training distribution (seed 4000); its IoU threshold "
        f"{model.descriptor.min_iou:.2f} is the 1% quantile of the validation shapes'.\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as handle:
        handle.write("\n".join(md) + "\n")
    log(f"wrote {out}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("levers", help="rewrite the goal rows of heat_unet and fno_darcy_unet")
    r.add_argument("--out", type=Path, default=RESULTS)
    d = sub.add_parser("decide", help="a run against the one it started from, validation only")
    d.add_argument("--workdir", type=Path, required=True)
    s = sub.add_parser("ship")
    s.add_argument("--workdir", type=Path, required=True)
    s.add_argument("--out", type=Path, default=ASSET)
    t = sub.add_parser("train", help="any_shape_train.py, then ship (the asset's one command)")
    t.add_argument("--workdir", type=Path, required=True)
    t.add_argument("--out", type=Path, default=ASSET)
    e = sub.add_parser("evaluate")
    e.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.command == "train":
        import any_shape_train

        # Run 1: star polygons, architecture screen, final U-Net. Run 2 (the shipped model):
        # from run 1's weights, on polygons, unions of rectangles and plates.
        first = args.workdir / "polygons"
        any_shape_train.main(["--workdir", str(first)])
        any_shape_train.main(
            MIXED_RUN
            + ["--workdir", str(args.workdir / "mixed"), "--init-from", str(first / "final.pt")]
        )
        large = args.workdir / "large_holes"
        any_shape_train.main(
            LARGE_HOLE_RUN
            + ["--workdir", str(large), "--init-from", str(args.workdir / "mixed" / "final.pt")]
        )
        if decide(large)["shipped"] != "this run":
            ship(args.workdir / "mixed", args.out)
            return 0
        channels = args.workdir / "channels"
        any_shape_train.main(
            CHANNEL_RUN + ["--workdir", str(channels), "--init-from", str(large / "final.pt")]
        )
        ship(channels if decide(channels)["shipped"] == "this run" else large, args.out)
    elif args.command == "ship":
        ship(args.workdir, args.out)
    elif args.command == "decide":
        decide(args.workdir)
    elif args.command == "levers":
        refresh_levers(args.out)
    else:
        evaluate(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
