"""Train the shipped any-shape Darcy operator (issue 28): data, architecture choice, final model.

Steps, each cached in ``--workdir`` so an interrupted run resumes (``--resume`` is implied:
finished data sets and trained models are reused, an unfinished training resumes from its
per-epoch checkpoint):

1. **Data** with the project's cut-cell solver (:func:`sciml.physics.any_shape.generate_any_shape`,
   64 x 64 nodes, ``f = 1``, ``K = exp(GRF)``): training 700 random polygons (0-3 holes,
   seed 1000) x 2 ``K`` fields; validation 100 other random polygons (seed 2000) x 1 ``K``.
   No named shape family is used here: those are the test families of
   ``benchmarks/operator_any_shape.py``.
2. **Architecture screen on validation shapes** at equal CPU budget: U-Net vs
   neuraloperator's FNO, both on the first ``--screen-samples`` training samples for the
   epochs of ``SCREEN_EPOCHS`` (about 2.5 CPU-minutes each); the lower validation relative
   L2 wins (CPU seconds of each are recorded too).
3. **Final model**: the winner on the full training set for ``FINAL_EPOCHS`` epochs
   (best epoch on validation), written to ``--workdir/final.pt`` with a JSON summary.
   ``benchmarks/operator_any_shape.py ship`` turns it into ``sciml/assets/darcy_any_shape.pt``.

Budget in epochs (one thread); the CPU and wall seconds of every step go into the summary.
Run: ``/work/cpuslot python benchmarks/any_shape_train.py --workdir W`` (about 25 CPU-minutes);
``SCIML_FAST=1`` shrinks everything to a smoke test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from sciml._io import atomic_write  # noqa: E402
from sciml.physics.any_shape import (  # noqa: E402
    FitConfig,
    fit_grid_operator,
    generate_any_shape,
    training_arrays,
)
from sciml.physics.operator.grid import FNOOperator, UNetOperator  # noqa: E402

FAST = os.environ.get("SCIML_FAST", "0") not in ("", "0")

CANDIDATES = {
    "unet": (UNetOperator, {"widths": [16, 32, 48, 64]}),
    "fno": (FNOOperator, {"n_modes": [12, 12], "hidden_channels": 24, "n_layers": 4}),
}
# Epochs that cost each candidate about the same CPU time on one thread (measured: U-Net
# ~12 ms and FNO ~70 ms per 64 x 64 sample and step): screen ~2.5 CPU-min on 400 samples,
# final ~13 CPU-min on 1400, so the choice is the better model at equal CPU budget.
SCREEN_EPOCHS = {"unet": 30, "fno": 5}
FINAL_EPOCHS = {"unet": 45, "fno": 8}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def dataset(
    workdir: Path,
    name: str,
    n_geometries: int,
    k: int,
    seed: int,
    shapes: str,
    hole_radius: tuple[float, float] = (0.05, 0.2),
):
    from sciml.physics.data.storage import load_dataset, save_dataset

    path = workdir / f"{name}.nc"
    if path.is_file():
        log(f"reusing {path}")
        return load_dataset(path)
    cpu, wall = time.process_time(), time.perf_counter()
    ds = generate_any_shape(
        n_geometries, k, seed=seed, shapes=shapes, hole_radius=hole_radius, progress=True
    )
    ds.attrs["generation_cpu_s"] = round(time.process_time() - cpu, 1)
    ds.attrs["generation_wall_s"] = round(time.perf_counter() - wall, 1)
    save_dataset(ds, path)
    log(f"wrote {path}: {ds.sizes['sample']} samples in {ds.attrs['generation_cpu_s']} CPU-s")
    return ds


def _epochs(epochs: int, args) -> int:
    return max(1, round(epochs * args.epoch_scale))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--train-geometries", type=int, default=6 if FAST else 700)
    parser.add_argument("--val-geometries", type=int, default=4 if FAST else 100)
    parser.add_argument("--screen-samples", type=int, default=8 if FAST else 400)
    parser.add_argument(
        "--epoch-scale",
        type=float,
        default=0.05 if FAST else 1.0,
        help="multiply SCREEN_EPOCHS and FINAL_EPOCHS (smoke tests)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--shapes",
        choices=["polygons", "mixed", "channels"],
        default="polygons",
        help="training and validation shapes: star polygons; mixed: polygons, unions of "
        "rectangles and plates in turn (sciml.physics.data.geometry.random_shapes); "
        "channels: those and bent channels, four kinds in turn",
    )
    parser.add_argument(
        "--hole-radius",
        type=float,
        nargs=2,
        default=(0.05, 0.2),
        metavar=("LOW", "HIGH"),
        help="--shapes mixed or channels: range of the holes' size (default 0.05 0.2)",
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start the final model from this checkpoint (its architecture; no screen)",
    )
    parser.add_argument(
        "--final-epochs",
        type=int,
        default=None,
        help="epochs of the final model (default: FINAL_EPOCHS)",
    )
    parser.add_argument(
        "--lr", type=float, default=None, help="peak learning rate of the final model"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    args.workdir.mkdir(parents=True, exist_ok=True)
    summary_path = args.workdir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    summary["command"] = " ".join(["python", *sys.argv])

    radius = tuple(args.hole_radius)
    train_ds = dataset(args.workdir, "train", args.train_geometries, 2, 1000, args.shapes, radius)
    val_ds = dataset(args.workdir, "val", args.val_geometries, 1, 2000, args.shapes, radius)
    summary["shapes"] = args.shapes
    if args.shapes in ("mixed", "channels"):
        summary["hole_radius"] = list(radius)
    summary["data"] = {
        name: {
            "samples": int(ds.sizes["sample"]),
            "cpu_s": ds.attrs.get("generation_cpu_s"),
            "wall_s": ds.attrs.get("generation_wall_s"),
        }
        for name, ds in (("train", train_ds), ("val", val_ds))
    }
    train, val = training_arrays(train_ds), training_arrays(val_ds)
    screen = {k: v[: args.screen_samples] for k, v in train.items()}

    summary.setdefault("screen", {})
    if args.init_from is not None:
        return _final_from(args, summary, summary_path, train, val)
    for name, (cls, hparams) in CANDIDATES.items():
        if name in summary["screen"]:
            continue
        torch.manual_seed(args.seed)
        model = cls(**hparams)
        config = FitConfig(epochs=_epochs(SCREEN_EPOCHS[name], args), seed=args.seed)
        result = fit_grid_operator(
            model,
            screen,
            val,
            config,
            checkpoint=args.workdir / f"screen_{name}.ckpt",
            log=lambda m, n=name: log(f"screen {n}: {m}"),
        )
        summary["screen"][name] = {
            "hparams": hparams,
            "parameters": sum(p.numel() for p in model.parameters()),
            "val_rel_l2": result["best_val"],
            "best_epoch": result["best_epoch"],
            "cpu_s": round(result["cpu_s"], 1),
            "wall_s": round(result["wall_s"], 1),
        }
        with atomic_write(summary_path) as handle:
            json.dump(summary, handle, indent=1)
    winner = min(summary["screen"], key=lambda n: summary["screen"][n]["val_rel_l2"])
    summary["winner"] = winner
    log(f"architecture chosen on validation shapes: {winner} {summary['screen']}")

    cls, hparams = CANDIDATES[winner]
    torch.manual_seed(args.seed)
    model = cls(**hparams)
    config = FitConfig(epochs=_epochs(FINAL_EPOCHS[winner], args), seed=args.seed)
    return _train_final(args, summary, summary_path, model, winner, config, train, val, {})


def _final_from(args, summary: dict, summary_path: Path, train: dict, val: dict) -> int:
    """The final model started from ``--init-from`` (its registered architecture)."""
    from sciml.train import load_checkpoint, rebuild_model

    torch.manual_seed(args.seed)
    expected = tuple(cls for cls, _ in CANDIDATES.values())
    model = rebuild_model(load_checkpoint(args.init_from), expected=expected, source=args.init_from)
    name = next(n for n, (cls, _) in CANDIDATES.items() if isinstance(model, cls))
    config = FitConfig(
        epochs=_epochs(args.final_epochs or 40, args),
        seed=args.seed,
        lr=args.lr if args.lr is not None else FitConfig().lr,
    )
    extra = {"init_from": str(args.init_from)}
    return _train_final(args, summary, summary_path, model, name, config, train, val, extra)


def _train_final(args, summary, summary_path, model, name, config, train, val, extra) -> int:
    """Train the final model, save ``final.pt`` and record it in the summary."""
    from sciml.train import save_checkpoint
    from sciml.train.checkpoint import model_hparams

    result = fit_grid_operator(
        model,
        train,
        val,
        config,
        checkpoint=args.workdir / "final.ckpt",
        log=lambda m: log(f"final {name}: {m}"),
    )
    save_checkpoint(args.workdir / "final.pt", model)
    summary["final"] = {
        "architecture": name,
        "hparams": model_hparams(model),
        **extra,
        "config": config.__dict__,
        "val_rel_l2": result["best_val"],
        "best_epoch": result["best_epoch"],
        "epochs_run": result["epochs_run"],
        "cpu_s": round(result["cpu_s"], 1),
        "wall_s": round(result["wall_s"], 1),
        "history": result["history"],
    }
    with atomic_write(summary_path) as handle:
        json.dump(summary, handle, indent=1)
    log(f"final {name}: validation relative L2 {result['best_val']:.4f}; wrote final.pt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
