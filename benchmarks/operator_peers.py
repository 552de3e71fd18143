"""Operator peers at equal CPU time: sciml's DeepONet, neuraloperator's FNO, DeepXDE's DeepONet.

One table per task, every model with the same training budget (``--cpu-budget-min`` of CPU
time of this process per model on ``--threads`` threads, 30 CPU-min on 2 by default), the
same data and split. ``--epochs TASK.MODEL=N`` trains a model for exactly N epochs (DeepXDE:
N iterations) instead, whatever its budget: the manifest pins the epochs of the recorded
runs, so a rerun on a loaded machine trains the same models. Wall and CPU seconds are both
reported; wall time never stops a model.

- ``darcy_fno``: the standard FNO Darcy benchmark (Li et al. 2021): K in {3, 12}, solved on
  421 x 421 and subsampled to 85 x 85, 1000 training / 100 test samples, generated once and
  cached under ``sciml.data.cache_dir()/pde`` keyed by its settings
  (:func:`sciml.physics.problems.darcy.cached_darcy_fno`). Contenders: sciml's CNN-branch
  DeepONet and neuraloperator's FNO (:class:`sciml.physics.operator.peers.NeuralOperatorFNO`),
  both trained by ``sciml.train.Trainer`` with the relative-L2 loss, batch 20, AdamW at
  1e-3 with a cosine schedule sized to the budget; DeepXDE's ``DeepONetCartesianProd``
  (MLP branch on the flattened K) trained by DeepXDE's own ``Model.train`` (Adam 1e-3, MSE
  on standardised u) for the same CPU time.
- ``darcy_geometries``: Darcy with K = exp(GRF) on the square, circle and triangle, pooled:
  sciml's MT-DeepONet and the FNO, both with the geometry mask as an input channel; DeepXDE's
  DeepONet (no mask input) on the square alone.
- ``fisher``: Fisher-KPP, three reaction families pooled (u(x, t) from u0(x) and the
  reaction coefficients). sciml's MT-DeepONet vs DeepXDE's ``DeepONetCartesianProd`` on
  [u0, coefficients]. The FNO does not apply as is: its output lives on its input grid,
  and here a 1-D input maps to a 2-D space-time field.

Run: ``python benchmarks/operator_peers.py [--tasks darcy_fno darcy_geometries fisher]
[--cpu-budget-min 30] [--epochs fisher.sciml=258 fisher.deepxde=5513 ...] [--threads 2] [--n-train N] [--n-test N] [--background --log FILE]``; ``SCIML_FAST=1`` is a
smoke test (41^2 solve, tens of samples, seconds per model); ``--paper`` uses the papers'
sizes and no sample limit (for a GPU: ``--device cuda --precision bf16 --batch-scale 4``).
``--sciml-options '{"...": ...}'`` passes extra arguments to the sciml DeepONet (e.g. the
wider CNN branch or the distance-factor output once they exist). Writes
``benchmarks/results/operator_peers.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

import dataclasses  # noqa: E402

from benchmarks._budget import Budget, fit_within, run_detached, timed_rounds  # noqa: E402
from benchmarks._machine import machine_info  # noqa: E402

RESULTS = ROOT / "results"
TRAIN_FAMILIES = ("logistic", "newell_whitehead", "exponential")

SIZES = {
    # grid of the solve, subsample, train, test; Fisher samples per family (train, test)
    # Darcy on geometries: grid, samples per geometry (train, test)
    "fast": dict(
        fno_res=41,
        fno_sub=2,
        fno_train=40,
        fno_test=10,
        fisher=(12, 6),
        darcy_res=21,
        darcy=(12, 6),
    ),
    "default": dict(
        fno_res=421,
        fno_sub=5,
        fno_train=1000,
        fno_test=100,
        fisher=(200, 50),
        darcy_res=50,
        darcy=(250, 50),
    ),
    "paper": dict(
        fno_res=421,
        fno_sub=5,
        fno_train=1000,
        fno_test=100,
        fisher=(1000, 200),
        darcy_res=100,
        darcy=(1800, 200),
    ),
}


def log(msg: str) -> None:
    print(msg, flush=True)


def rel_l2(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-sample relative L2 error of fields ``(S, N[, K])``."""
    diff = (pred - target).reshape(len(target), -1)
    return np.linalg.norm(diff, axis=1) / np.linalg.norm(target.reshape(len(target), -1), axis=1)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@torch.inference_mode()
def predict_sciml(model, data, batch: int = 50) -> tuple[np.ndarray, float]:
    """Physical predictions ``(S, N, K)`` of a sciml/peer model and the ms per sample."""
    model = model.eval()
    device = next(model.parameters()).device
    outs = []
    start = time.perf_counter()
    for lo in range(0, len(data), batch):
        items = [data[i] for i in range(lo, min(len(data), lo + batch))]
        b = {k: v.to(device) for k, v in data.collate(items).items()}
        outs.append(model.to_physical(model(b).float(), b.get("mask")).cpu().numpy())
    ms = 1e3 * (time.perf_counter() - start) / len(data)
    return np.concatenate(outs), ms


def dde_deeponet(
    train,
    test,
    budget: Budget,
    cpu_seconds: float,
    branch_sizes,
    trunk_sizes,
    *,
    batch,
    lr=1e-3,
    label="deepxde",
    iterations: int | None = None,
):
    """DeepXDE's ``DeepONetCartesianProd`` trained by its ``Model.train``.

    For ``iterations`` when given (the pinned count of a recorded run), else for
    ``cpu_seconds`` of CPU time: the longest CPU time of the table's other models, capped at
    the budget (a model whose one epoch overran it gives DeepXDE no extra time), so every
    model of a table trains for about the same CPU time. Inputs and targets are standardised
    with training-set statistics (as the sciml models do internally); errors are computed in
    physical units.
    """
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    with contextlib.redirect_stdout(io.StringIO()):
        import deepxde as dde

    def branch_of(data):
        b = data.arrays["branch"].numpy().reshape(len(data), -1)
        if "coefficients" in data.arrays:
            b = np.concatenate([b, data.arrays["coefficients"].numpy()], axis=1)
        return b

    b_tr, b_te = branch_of(train), branch_of(test)
    mean, std = b_tr.mean(0), b_tr.std(0) + 1e-8
    y_tr, y_te = train.arrays["y"].numpy()[..., 0], test.arrays["y"].numpy()[..., 0]
    y_mean, y_std = float(y_tr.mean()), float(y_tr.std())
    coords = train.coords.numpy()
    scaled = (coords - coords.min(0)) / (coords.max(0) - coords.min(0)) * 2 - 1
    f32 = np.float32
    data = dde.data.TripleCartesianProd(
        X_train=(((b_tr - mean) / std).astype(f32), scaled.astype(f32)),
        y_train=((y_tr - y_mean) / y_std).astype(f32),
        X_test=(((b_te - mean) / std).astype(f32), scaled.astype(f32)),
        y_test=((y_te - y_mean) / y_std).astype(f32),
    )
    dde.config.set_random_seed(0)
    net = dde.nn.DeepONetCartesianProd(
        [b_tr.shape[1], *branch_sizes], [coords.shape[1], *trunk_sizes], "relu", "Glorot normal"
    )
    model = dde.Model(data, net)
    with contextlib.redirect_stdout(io.StringIO()):
        model.compile("adam", lr=lr * np.sqrt(budget.batch_scale))

    batch = min(batch * budget.batch_scale, len(train))  # DeepXDE refuses a larger batch

    def train_round(k: int) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            model.train(iterations=k, batch_size=batch, verbose=0, display_every=max(k, 1))

    if iterations is None and budget.cpu_seconds is not None:
        cpu_seconds = min(cpu_seconds, budget.cpu_seconds)
    iterations, seconds, cpu = timed_rounds(
        train_round,
        None if iterations is not None else cpu_seconds,
        iterations=iterations,
        log=log,
        label=label,
    )
    start = time.perf_counter()
    pred = model.predict(data.test_x) * y_std + y_mean
    ms = 1e3 * (time.perf_counter() - start) / len(y_te)
    err = rel_l2(pred, y_te)
    epochs = iterations * batch / len(train)
    return {
        "err": err,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "steps": f"{iterations} iterations ({epochs:.0f} epochs)" + undertrained(epochs),
        "params": n_params(net),
        "ms": ms,
    }


def row(name: str, trainer: str, result: dict) -> str:
    err = result["err"]
    return (
        f"| {name} | {trainer} | {result['params']:,} | {result['steps']} | "
        f"{result['cpu_seconds']:.0f} / {result['seconds']:.0f} | "
        f"**{100 * float(np.mean(err)):.2f}%** | "
        f"{100 * float(np.max(err)):.2f}% | {result['ms']:.2f} |"
    )


TABLE_HEAD = (
    "| model | trained by | parameters | epochs | train CPU-s / wall s | test rel. L2 (mean) "
    "| worst sample "
    "| inference ms / sample |\n|---|---|---:|---|---:|---:|---:|---:|"
)


#: Fewer epochs than this in the budget: the row says more about the machine than the model.
MIN_EPOCHS = 10
UNDERTRAINED_NOTE = (
    "Rows marked *undertrained* ran fewer than {n} epochs in their budget on this machine: "
    "their errors say more about its load than about the architecture; rerun with a larger "
    "`--cpu-budget-min` or more `--epochs` (or on a GPU) before comparing them.\n"
)


def undertrained(epochs: float) -> str:
    return " *undertrained*" if epochs < MIN_EPOCHS else ""


def close_table(md: list[str], start: int) -> None:
    """End a table; add the undertrained note when a row since ``start`` carries the mark."""
    if any("*undertrained*" in line for line in md[start:]):
        md.append("\n" + UNDERTRAINED_NOTE.format(n=MIN_EPOCHS))
    md.append("")


def sciml_result(fit, test) -> dict:
    pred, ms = predict_sciml(fit.model, test)
    return {
        "err": rel_l2(pred, test.arrays["y"].numpy()),
        "seconds": fit.seconds,
        "cpu_seconds": fit.cpu_seconds,
        "steps": f"{fit.epochs}"
        + (" (stopped at the budget)" if fit.stopped_by_budget else "")
        + undertrained(fit.epochs),
        "params": n_params(fit.model),
        "ms": ms,
    }


def pinned_note(epochs: dict | None) -> str:
    """``; pinned: sciml 157 epochs, ...`` for a table's text (empty when nothing is)."""
    if not epochs:
        return ""
    unit = {"deepxde": "iterations"}
    return "; pinned (the epochs of the recorded run, whatever the budget): " + ", ".join(
        f"{k} {v} {unit.get(k, 'epochs')}" for k, v in epochs.items()
    )


def pinned(budget: Budget, epochs: dict | None, model: str, max_epochs):
    """The budget and epoch count of ``model``: its pinned epochs (no time budget), if any."""
    if epochs and model in epochs:
        return dataclasses.replace(budget, cpu_minutes=None), int(epochs[model])
    return budget, max_epochs


# ---------------------------------------------------------------------------------- Darcy FNO
def darcy_fno_data(sizes: dict, n_train: int | None, n_test: int | None, partial: bool = False):
    """Train and test sets of the FNO Darcy data, and a note on what was used.

    ``partial``: use the samples an unfinished generation has written so far; when no test
    sample exists yet, the last ``n_test`` (default 50) of them are held out as the test set.
    """
    from sciml.physics.problems.darcy import DarcyFNOConfig, DarcyProblem, cached_darcy_fno

    cfg = DarcyFNOConfig(resolution=sizes["fno_res"], subsample=sizes["fno_sub"])
    start = time.perf_counter()
    ds = cached_darcy_fno(
        sizes["fno_train"], sizes["fno_test"], cfg, seed=40, log=log, partial=partial
    )
    log(f"darcy_fno data {ds.attrs['cache_key']} ready in {time.perf_counter() - start:.0f} s")
    data = DarcyProblem().dataset(ds)
    split = ds["split"].values
    train_idx, test_idx = np.flatnonzero(split == "train"), np.flatnonzero(split == "test")
    note = ""
    if not ds.attrs.get("complete", 1):
        note = (
            f" **Partial data:** only the first {len(split)} of the "
            f"{sizes['fno_train'] + sizes['fno_test']} samples had been generated when this "
            "ran"
        )
        if len(test_idx) == 0:
            k = n_test or 50
            train_idx, test_idx = train_idx[:-k], train_idx[-k:]
            note += f"; the test set is the last {k} of them, never trained on"
        note += "."
    train_idx, test_idx = train_idx[:n_train], test_idx[:n_test]
    return data.subset(train_idx), data.subset(test_idx), cfg, ds.attrs["cache_key"], note


def sciml_darcy_fno_model(data, options: dict):
    from sciml.physics.operator.networks import MTDeepONet

    kwargs = dict(
        p=150,
        branch="cnn",
        branch_hidden=(128,),
        mask_channel=False,
        mask_output=False,
        layer_norm=False,
        coord_lower=(float(data.coords.min()),) * 2,
        coord_upper=(float(data.coords.max()),) * 2,
    )
    kwargs.update(options)
    if kwargs.get("trunk") == "pod":  # the basis lives on the training grid
        kwargs.setdefault("pod_points", len(data.coords))
        kwargs["p"] = min(kwargs["p"], len(data))
    return MTDeepONet(data.branch_in, 2, **kwargs)


def bench_darcy_fno(
    sizes: dict,
    budget: Budget,
    md: list[str],
    *,
    n_train=None,
    n_test=None,
    options=None,
    max_epochs=None,
    partial=False,
    sciml_label="sciml DeepONet (CNN branch)",
    epochs: dict | None = None,
) -> dict:
    """The FNO Darcy table: sciml DeepONet, neuraloperator FNO, DeepXDE DeepONet.

    ``epochs`` pins models (``"sciml"``, ``"fno"``: epochs, ``"deepxde"``: iterations).
    """
    from sciml.physics.operator.networks import MaskedFieldLoss
    from sciml.physics.operator.peers import NeuralOperatorFNO

    train, test, cfg, key, note = darcy_fno_data(sizes, n_train, n_test, partial)
    side = cfg.output_resolution
    results = {}
    torch.manual_seed(0)
    fit = fit_within(
        sciml_darcy_fno_model(train, options or {}),
        MaskedFieldLoss("rel_l2"),
        train,
        pinned(budget, epochs, "sciml", max_epochs)[0],
        batch=20,
        label="sciml DeepONet",
        log=log,
        max_epochs=pinned(budget, epochs, "sciml", max_epochs)[1],
    )
    results[sciml_label] = ("sciml Trainer", sciml_result(fit, test))
    torch.manual_seed(0)
    modes = min(12, side // 2)
    fno = NeuralOperatorFNO(train.branch_in, n_modes=(modes, modes), hidden_channels=32, n_layers=4)
    fit = fit_within(
        fno,
        MaskedFieldLoss("rel_l2"),
        train,
        pinned(budget, epochs, "fno", max_epochs)[0],
        batch=20,
        label="neuraloperator FNO",
        log=log,
        max_epochs=pinned(budget, epochs, "fno", max_epochs)[1],
    )
    results[f"neuraloperator FNO ({modes} modes, width 32, 4 layers)"] = (
        "sciml Trainer",
        sciml_result(fit, test),
    )
    longest = max(r["cpu_seconds"] for _, r in results.values())
    results["DeepXDE DeepONetCartesianProd (MLP branch)"] = (
        "DeepXDE Model.train",
        dde_deeponet(
            train,
            test,
            budget,
            longest,
            [128, 128, 128],
            [128, 128, 128],
            batch=20,
            label="DeepXDE DeepONet",
            iterations=(epochs or {}).get("deepxde"),
        ),
    )
    full = len(train) == sizes["fno_train"] and len(test) == sizes["fno_test"]
    md.append("## Standard FNO Darcy: peers at equal CPU time or pinned epochs\n")
    md.append(
        f"K in {{3, 12}} (the FNO paper's data), solved on {cfg.resolution} x {cfg.resolution}, "
        f"subsampled every {cfg.subsample} to {side} x {side}; **{len(train)} training / "
        f"{len(test)} test samples**"
        + ("" if full else f" (a subset of the cached {sizes['fno_train']}/{sizes['fno_test']})")
        + f"; data file `{key}.nc`.{note} Budget: {budget.describe()}"
        + pinned_note(epochs)
        + "; DeepXDE trains as much CPU time as the longest of the other two unless pinned. "
        "Relative-L2 loss for the Trainer models (batch 20, AdamW 1e-3, cosine schedule "
        "over the epochs trained); DeepXDE "
        "trains with its own loop (Adam 1e-3, MSE on standardised u, batch 20). FNO paper: "
        "1.08% at 85 x 85 after 500 epochs; goal for the best sciml model: 2%.\n"
    )
    start = len(md)
    md.append(TABLE_HEAD)
    for name, (how, result) in results.items():
        md.append(row(name, how, result))
    close_table(md, start)
    return results


# ------------------------------------------------------------------------------------- Fisher
def bench_fisher(
    sizes: dict, budget: Budget, md: list[str], *, max_epochs=None, epochs: dict | None = None
) -> dict:
    """The Fisher-KPP table: sciml MT-DeepONet vs DeepXDE DeepONet, per family."""
    from sciml.physics.operator.networks import MaskedFieldLoss
    from sciml.physics.problems.fisher import FisherConfig, FisherProblem, generate_fisher

    n_tr, n_te = sizes["fisher"]
    start = time.perf_counter()
    pool = generate_fisher(3 * (n_tr + n_te), FisherConfig(families=TRAIN_FAMILIES), seed=1)
    log(f"fisher data: {3 * (n_tr + n_te)} samples in {time.perf_counter() - start:.0f} s")
    data = FisherProblem().dataset(pool)
    train, test = data.subset(np.arange(3 * n_tr)), data.subset(np.arange(3 * n_tr, len(data)))
    torch.manual_seed(0)
    # mt_deeponet.py's Fisher design (chosen in operator_design.py): POD trunk, 256-wide branch.
    model = FisherProblem().default_model(
        train, trunk="pod", p=min(64, len(train)), pod_points=len(data.coords), width=256
    )
    fit = fit_within(
        model,
        MaskedFieldLoss("mse"),
        train,
        pinned(budget, epochs, "sciml", max_epochs)[0],
        batch=32,
        label="sciml MT-DeepONet",
        log=log,
        max_epochs=pinned(budget, epochs, "sciml", max_epochs)[1],
    )
    ours = sciml_result(fit, test)
    theirs = dde_deeponet(
        train,
        test,
        budget,
        ours["cpu_seconds"],
        [128, 128, 300],
        [128, 128, 128, 300],
        batch=32,
        label="DeepXDE DeepONet",
        iterations=(epochs or {}).get("deepxde"),
    )
    md.append("## Fisher-KPP: peers at equal CPU time or pinned epochs (three families pooled)\n")
    md.append(
        f"{n_tr} training and {n_te} test samples per family (64 x-points x 20 times); budget "
        f"{budget.describe()}{pinned_note(epochs)}; DeepXDE as much CPU time as sciml unless "
        "pinned. sciml: MT POD-DeepONet (branch MLP "
        "[256,256]+LayerNorm on u0 and the reaction coefficients, trunk = 64 POD modes of the "
        "training fields and their mean, MSE, batch 32; `mt_deeponet.py`'s design). DeepXDE: "
        "DeepONetCartesianProd with branch [128,128,300] on [u0, coefficients] and trunk "
        "[128,128,128,300], ReLU, trained by its own loop (Adam 1e-3, batch 32). The FNO "
        "does not apply as is (a 1-D input to a 2-D space-time output).\n"
    )
    start = len(md)
    md.append(TABLE_HEAD)
    md.append(row("sciml MT-DeepONet", "sciml Trainer", ours))
    md.append(row("DeepXDE DeepONetCartesianProd", "DeepXDE Model.train", theirs))
    labels = test.labels
    md.append("\n| family | sciml MT-DeepONet | DeepXDE DeepONet |\n|---|---:|---:|")
    for fam in TRAIN_FAMILIES:
        sel = labels == fam
        md.append(
            f"| {fam} | {100 * ours['err'][sel].mean():.2f}% | "
            f"{100 * theirs['err'][sel].mean():.2f}% |"
        )
    close_table(md, start)
    return {"sciml": ours, "deepxde": theirs}


# ------------------------------------------------------------------------ Darcy, 3 geometries
GEOMETRIES = ("square", "circle", "triangle")


def bench_darcy_geometries(
    sizes: dict,
    budget: Budget,
    md: list[str],
    *,
    options=None,
    max_epochs=None,
    epochs: dict | None = None,
) -> dict:
    """Darcy on three geometries pooled: sciml MT-DeepONet vs the FNO with a mask channel.

    DeepXDE's DeepONet has no geometry mask, so it applies to one geometry: it trains on the
    square's samples only (the same CPU time, or its pinned iterations) and is scored on the
    square.
    """
    from sciml.physics.data.geometry import SHAPES
    from sciml.physics.operator.data import OperatorDataset
    from sciml.physics.operator.networks import MaskedFieldLoss, MTDeepONet
    from sciml.physics.operator.peers import NeuralOperatorFNO
    from sciml.physics.problems.darcy import DarcyConfig, DarcyProblem, generate_darcy

    res, (n, nt) = sizes["darcy_res"], sizes["darcy"]
    trains, tests = {}, {}
    start = time.perf_counter()
    for i, g in enumerate(GEOMETRIES):  # the seeds of mt_deeponet.py's Darcy section
        ds = generate_darcy(n + nt, {g: SHAPES[g]()}, DarcyConfig(resolution=res), seed=10 + i)
        data = DarcyProblem().dataset(ds)
        trains[g], tests[g] = data.subset(np.arange(n)), data.subset(np.arange(n, n + nt))
    log(f"darcy geometries: {3 * (n + nt)} solves in {time.perf_counter() - start:.0f} s")
    pooled = OperatorDataset.concat([trains[g] for g in GEOMETRIES])
    torch.manual_seed(0)
    kwargs = dict(
        p=150,
        branch="cnn",
        branch_hidden=(128,),
        trunk_hidden=(128, 128, 128),
        mask_channel=True,
        layer_norm=False,
    )
    kwargs.update(options or {})
    fits = {
        "sciml MT-DeepONet (CNN branch, mask channel)": fit_within(
            MTDeepONet(pooled.branch_in, 2, **kwargs),
            MaskedFieldLoss("mse"),
            pooled,
            pinned(budget, epochs, "sciml", max_epochs)[0],
            batch=32,
            label="sciml MT-DeepONet",
            log=log,
            max_epochs=pinned(budget, epochs, "sciml", max_epochs)[1],
        ),
    }
    torch.manual_seed(0)
    modes = min(12, res // 2)
    fits[f"neuraloperator FNO ({modes} modes, width 32, mask channel)"] = fit_within(
        NeuralOperatorFNO(
            pooled.branch_in,
            n_modes=(modes, modes),
            hidden_channels=32,
            n_layers=4,
            mask_channel=True,
            mask_output=True,
        ),
        MaskedFieldLoss("mse"),
        pooled,
        pinned(budget, epochs, "fno", max_epochs)[0],
        batch=32,
        label="neuraloperator FNO",
        log=log,
        max_epochs=pinned(budget, epochs, "fno", max_epochs)[1],
    )
    rows = {name: {g: sciml_result(f, tests[g]) for g in GEOMETRIES} for name, f in fits.items()}
    longest = max(f.cpu_seconds for f in fits.values())
    square = dde_deeponet(
        trains["square"],
        tests["square"],
        budget,
        longest,
        [128, 128, 128],
        [128, 128, 128],
        batch=32,
        label="DeepXDE DeepONet (square)",
        iterations=(epochs or {}).get("deepxde"),
    )
    md.append("## Darcy on three geometries: peers at equal CPU time or pinned epochs\n")
    md.append(
        f"{res} x {res} grid, K = exp(GRF), f = 1, u = 0 on the boundary; {n} training and "
        f"{nt} test samples per geometry, pooled; budget {budget.describe()}"
        f"{pinned_note(epochs)}; DeepXDE as much CPU time as the longest of the other two "
        "unless pinned. sciml MT-DeepONet and the FNO see K and the "
        "geometry mask (MSE inside the mask, batch 32); DeepXDE's DeepONet has no mask input, "
        "so it trains on the square's samples only and is scored there (MLP branch on the "
        "flattened K, Adam 1e-3).\n"
    )
    start = len(md)
    md.append(
        "| model | parameters | epochs | train CPU-s / wall s | "
        + " | ".join(f"{g} rel. L2" for g in GEOMETRIES)
        + " | inference ms / sample |\n|---|---:|---|---:|"
        + "---:|" * len(GEOMETRIES)
        + "---:|"
    )
    for name, per in rows.items():
        first = per[GEOMETRIES[0]]
        cells = " | ".join(f"{100 * float(np.mean(per[g]['err'])):.2f}%" for g in GEOMETRIES)
        md.append(
            f"| {name} | {first['params']:,} | {first['steps']} | "
            f"{first['cpu_seconds']:.0f} / {first['seconds']:.0f} | {cells} | {first['ms']:.2f} |"
        )
    md.append(
        f"| DeepXDE DeepONetCartesianProd (square only) | {square['params']:,} | "
        f"{square['steps']} | {square['cpu_seconds']:.0f} / {square['seconds']:.0f} | "
        f"{100 * float(np.mean(square['err'])):.2f}% | - | - | {square['ms']:.2f} |"
    )
    close_table(md, start)
    return {"rows": rows, "deepxde_square": square}


TASKS = {
    "darcy_fno": bench_darcy_fno,
    "darcy_geometries": bench_darcy_geometries,
    "fisher": bench_fisher,
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument(
        "--cpu-budget-min",
        type=float,
        default=30.0,
        help="CPU-time budget per model in CPU minutes of this process (default 30)",
    )
    parser.add_argument(
        "--epochs",
        nargs="+",
        default=[],
        metavar="TASK.MODEL=N",
        help="train MODEL (sciml, fno; deepxde: iterations) of TASK for exactly N epochs "
        "whatever the budget, e.g. fisher.sciml=258 fisher.deepxde=5513",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument(
        "--n-train",
        type=int,
        default=None,
        help="use only the first N training samples of the FNO Darcy data",
    )
    parser.add_argument(
        "--n-test",
        type=int,
        default=None,
        help="use only the first N test samples of the FNO Darcy data",
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="FNO Darcy: use the samples generated so far (a generation still "
        "running elsewhere); labelled in the results",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="cap on epochs of models not pinned by --epochs (default: as many as fit the budget)",
    )
    parser.add_argument("--paper", action="store_true", help="the papers' sizes (a GPU)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA if present)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument(
        "--batch-scale",
        type=int,
        default=1,
        help="multiply every batch size (larger batches on a GPU)",
    )
    parser.add_argument(
        "--sciml-options",
        default="{}",
        help="JSON of extra arguments of the sciml DeepONets (Darcy tasks)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "operator_peers.md")
    parser.add_argument(
        "--background",
        action="store_true",
        help="rerun this command in the background (nice) and return",
    )
    parser.add_argument(
        "--log",
        type=Path,
        default=None,
        help="log file of a --background run (default: benchmarks/.cache/operator_peers.log)",
    )
    return parser.parse_args(argv)


def parse_epochs(items: list[str]) -> dict[str, dict[str, int]]:
    """``["fisher.sciml=258", ...]`` to ``{"fisher": {"sciml": 258}}``.

    Raises
    ------
    SystemExit
        An item that is not ``TASK.MODEL=N`` with a known task and model and N >= 1.
    """
    pins: dict[str, dict[str, int]] = {}
    for item in items:
        key, _, value = item.partition("=")
        task, _, model = key.partition(".")
        if task not in TASKS or model not in ("sciml", "fno", "deepxde") or not value.isdigit():
            raise SystemExit(
                f"operator_peers.py: error: --epochs {item!r}: expected TASK.MODEL=N with TASK "
                f"in {sorted(TASKS)}, MODEL in sciml, fno, deepxde and N a positive integer"
            )
        if int(value) < 1:
            raise SystemExit(f"operator_peers.py: error: --epochs {item!r}: N must be >= 1")
        pins.setdefault(task, {})[model] = int(value)
    return pins


def main(argv=None) -> None:
    args = parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    if args.background:
        log_path = args.log or ROOT / ".cache" / "operator_peers.log"
        rest = [a for a in argv if a != "--background"]
        pid = run_detached([str(Path(__file__).resolve()), *rest], log_path)
        print(f"started in the background: pid {pid}, log {log_path}")
        return
    try:
        options = json.loads(args.sciml_options)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"operator_peers.py: error: --sciml-options is not JSON: {exc}") from None
    scale = (
        "paper" if args.paper else ("fast" if os.environ.get("SCIML_FAST") == "1" else "default")
    )
    sizes = SIZES[scale]
    pins = parse_epochs(args.epochs)
    budget = Budget(
        args.cpu_budget_min, args.threads, args.device, args.precision, args.batch_scale
    )
    torch.set_num_threads(budget.threads)
    start, start_cpu = time.perf_counter(), time.process_time()
    md: list[str] = []
    for task in args.tasks:
        t0 = time.perf_counter()
        log(f"task {task}: {budget.describe()}")
        if task == "darcy_fno":
            bench_darcy_fno(
                sizes,
                budget,
                md,
                n_train=args.n_train,
                n_test=args.n_test,
                options=options,
                max_epochs=args.max_epochs,
                partial=args.partial,
                epochs=pins.get(task),
            )
        elif task == "darcy_geometries":
            bench_darcy_geometries(
                sizes,
                budget,
                md,
                options=options,
                max_epochs=args.max_epochs,
                epochs=pins.get(task),
            )
        else:
            TASKS[task](sizes, budget, md, max_epochs=args.max_epochs, epochs=pins.get(task))
        log(f"task {task}: {time.perf_counter() - t0:.0f} s\n" + "\n".join(md[-12:]))
    from benchmarks._machine import command_line

    command = command_line([__file__, *argv])
    head = [
        "# Operator peers at equal CPU time: sciml, neuraloperator, DeepXDE\n",
        f"Generated by `{command}` at the **{scale}** scale in "
        f"{(time.perf_counter() - start) / 60:.1f} min wall, "
        f"{(time.process_time() - start_cpu) / 60:.1f} CPU-min. Every model of a table trains "
        "for the same CPU time of this process on the same data, or for the epochs pinned by "
        "`--epochs` (those of a recorded run), so the load of the machine changes the wall "
        "time, not the model; the tables give CPU and wall seconds.\n",
        machine_info(("numpy", "scipy", "torch", "neuraloperator", "deepxde"), command=command),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from sciml._io import atomic_write

    with atomic_write(args.out) as handle:
        handle.write("\n".join(head + md) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
