"""Issue 28, item 7: the standard FNO Darcy benchmark (421 -> 85) with the any-shape U-Net.

The lever measured here: the grid operator of the shipped any-shape model
(:class:`~sciml.physics.operator.grid.UNetOperator` on the channels of
:func:`~sciml.physics.operator.grid.shape_channels`: mask, distance to the boundary,
``d / d_max``, ``log K`` minus its mean; output ``g * d * d_max / K_level``, so ``u = 0`` on
the boundary and the level of ``K`` are exact), trained with
:func:`~sciml.physics.any_shape.fit_grid_operator` (relative L2, one-cycle AdamW, the 8
symmetries of the square as augmentation, which are exact for this PDE) on the FNO paper's
data: ``K`` in {3, 12}, ``f = 1``, solved on 421 x 421, every 5th node to 85 x 85, the same
cached file as ``mt_deeponet.py --only fno`` (seed 40).

Nothing is chosen on the test set: 100 of the 1000 training samples are held out for
validation (best epoch), the model trains on the other 900, and the 100 test samples are
scored once at the end. Budget in epochs and CPU seconds (``--epochs``, ``--cpu-minutes``,
default 30 CPU-minutes, the issue's budget), one thread; both the CPU and the wall seconds
are recorded.

    SCIML_DATA_DIR=../shared/data python benchmarks/fno_darcy_unet.py

Writes ``benchmarks/results/fno_darcy_unet.md`` and ``.json``; resumes from
``--workdir`` (``benchmarks/.cache/fno_darcy_unet``) after an interruption.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import command_line, git_commit, machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402

FAST = os.environ.get("SCIML_FAST", "0") not in ("", "0")
RESULTS = ROOT / "results"
GOAL = 0.02
#: The last recorded best sciml model on these data (mt_deeponet.md, POD-DeepONet).
BEFORE = ("sciml POD-DeepONet (wide CNN branch on log K), mt_deeponet.md", 0.0381)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def square_arrays(ds, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Grid-operator arrays of FNO Darcy samples: the square's distance is analytic.

    The nodes are cell centres, none on the boundary, so the distance to the boundary is
    ``min(x, 1 - x, y, 1 - y)`` (no node is zero) rather than the mask transform.
    """
    x = ds["x"].values
    y = ds["y"].values
    xx, yy = np.meshgrid(x, y, indexing="ij")
    distance = np.minimum.reduce([xx, 1 - xx, yy, 1 - yy])
    log_k = np.log(ds["K"].transpose("sample", "x", "y").values[rows])
    level = log_k.reshape(len(rows), -1).mean(1)
    n = len(rows)
    channels = np.stack(
        [
            np.ones_like(log_k),
            np.broadcast_to(distance, log_k.shape),
            np.broadcast_to(distance / distance.max(), log_k.shape),
            log_k - level[:, None, None],
        ],
        axis=1,
    ).astype(np.float32)
    u = ds["u"].transpose("sample", "x", "y").values[rows]
    return {
        "channels": channels,
        "target": (u * np.exp(level)[:, None, None]).astype(np.float32),
        "mask": np.ones((n, len(x), len(y)), dtype=bool),
        "level": level,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir", type=Path, default=ROOT / ".cache" / "fno_darcy_unet", help="resume folder"
    )
    parser.add_argument("--epochs", type=int, default=3 if FAST else 90, help="epoch budget")
    parser.add_argument(
        "--cpu-minutes",
        type=float,
        default=30.0,
        help="CPU budget: stop after the epoch that passes it (default 30)",
    )
    parser.add_argument(
        "--widths", default="16,32,48,64", help="U-Net channels per level, finest first"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "fno_darcy_unet.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    from sciml.physics.any_shape import FitConfig, evaluate_grid_operator, fit_grid_operator
    from sciml.physics.operator.grid import UNetOperator
    from sciml.physics.problems.darcy import DarcyFNOConfig, cached_darcy_fno

    sizes = (40, 10, 43, 1) if FAST else (1000, 100, 421, 5)
    n_train, n_test, res, sub = sizes
    cpu0, wall0 = time.process_time(), time.perf_counter()
    ds = cached_darcy_fno(
        n_train, n_test, DarcyFNOConfig(resolution=res, subsample=sub), seed=40, log=log
    )
    data_cpu = time.process_time() - cpu0
    split = ds["split"].values
    train_rows, test_rows = np.flatnonzero(split == "train"), np.flatnonzero(split == "test")
    n_val = max(2, len(train_rows) // 10)
    val_rows, fit_rows = train_rows[-n_val:], train_rows[:-n_val]
    train, val, test = (square_arrays(ds, r) for r in (fit_rows, val_rows, test_rows))
    widths = [int(w) for w in args.widths.split(",")]
    torch.manual_seed(0)
    model = UNetOperator(widths)
    config = FitConfig(epochs=args.epochs, seed=0, cpu_seconds=args.cpu_minutes * 60)
    args.workdir.mkdir(parents=True, exist_ok=True)
    result = fit_grid_operator(
        model, train, val, config, checkpoint=args.workdir / "unet.ckpt", log=log
    )
    scores = evaluate_grid_operator(model, test, per_sample=True)
    t0 = time.perf_counter()
    with torch.no_grad():
        model.eval()(torch.as_tensor(test["channels"][:1]))
    one_ms = (time.perf_counter() - t0) * 1e3
    record = {
        "command": command_line(),
        "git": git_commit(),
        "data": {
            "key": ds.attrs.get("cache_key"),
            "train": len(fit_rows),
            "val": n_val,
            "test": len(test_rows),
            "resolution": f"{res} -> {ds.sizes['x']}",
            "data_cpu_s": round(data_cpu, 1),
        },
        "widths": widths,
        "parameters": sum(p.numel() for p in model.parameters()),
        "config": config.__dict__,
        "epochs_run": result["epochs_run"],
        "best_epoch": result["best_epoch"],
        "val_rel_l2": result["best_val"],
        "test_rel_l2_mean": float(np.mean(scores)),
        "test_rel_l2_worst": float(np.max(scores)),
        "train_cpu_s": round(result["cpu_s"], 1),
        "train_wall_s": round(result["wall_s"], 1),
        "one_sample_ms": round(one_ms, 2),
        "total_wall_s": round(time.perf_counter() - wall0, 1),
        "history": result["history"],
    }
    with atomic_write(args.out.with_suffix(".json")) as handle:
        json.dump(record, handle, indent=1)
    write_markdown(record, args.out)
    log(f"test relative L2 {record['test_rel_l2_mean']:.4f}; wrote {args.out}")
    return 0


def write_markdown(r: dict, out: Path) -> None:
    mean = r["test_rel_l2_mean"]
    verdict = "met" if mean <= GOAL else f"missed by {mean / GOAL:.1f}x"
    lines = [
        "# FNO Darcy (421 -> 85) with the any-shape U-Net (issue 28, item 7)\n",
        "| goal | before | now | target | verdict |",
        "|---|---|---|---|---|",
        f"| FNO Darcy 421 -> 85, best sciml model at <= 30 CPU-min | {BEFORE[1]:.2%} "
        f"({BEFORE[0]}) | **{mean:.2%}** (U-Net, {r['train_cpu_s'] / 60:.1f} CPU-min) | "
        f"<= {GOAL:.0%} | {verdict} |\n",
        machine_info(("numpy", "scipy", "torch"), command=r["command"]),
        "",
        f"Data: the FNO paper's Darcy problem (K in {{3, 12}}, f = 1, u = 0 on the boundary), "
        f"solved on {r['data']['resolution']} by the project's solver (cached file "
        f"`{r['data']['key']}.nc`, seed 40). {r['data']['train']} training samples, "
        f"{r['data']['val']} validation samples (the last of the training samples; they "
        f"choose the best epoch), {r['data']['test']} test samples scored once.\n",
        f"Model: `UNetOperator(widths={r['widths']})`, {r['parameters']:,} parameters, the "
        "any-shape model's channels with the square's analytic distance to the boundary. "
        f"Training: {r['epochs_run']} epochs (budget {r['config']['epochs']} epochs or "
        f"{r['config']['cpu_seconds'] / 60:.0f} CPU-min, whichever first), best epoch "
        f"{r['best_epoch']}, {r['train_cpu_s']:.0f} CPU-s, {r['train_wall_s']:.0f} s wall, "
        "one thread; relative-L2 loss, AdamW one-cycle (peak lr "
        f"{r['config']['lr']:g}), batch {r['config']['batch_size']}, random flips and "
        "rotations of the square.\n",
        "| model | parameters | epochs | CPU-s | validation rel. L2 | test rel. L2 (mean) | "
        "worst test sample | one sample, ms |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
        f"| sciml U-Net grid operator | {r['parameters']:,} | {r['epochs_run']} | "
        f"{r['train_cpu_s']:.0f} | {r['val_rel_l2']:.2%} | **{mean:.2%}** | "
        f"{r['test_rel_l2_worst']:.2%} | {r['one_sample_ms']:.1f} |\n",
        f"FNO paper (Li et al. 2021): 1.08% at 85 x 85 after 500 epochs on a GPU. The earlier "
        f"best sciml model on the same data: {BEFORE[1]:.2%} ({BEFORE[0]}, 10 min).\n",
    ]
    text = "\n".join(lines) + "\n"
    with atomic_write(out) as handle:
        handle.write(text)


if __name__ == "__main__":
    raise SystemExit(main())
