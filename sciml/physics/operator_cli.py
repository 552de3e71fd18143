"""``sciml pde train`` and ``sciml pde predict``: operator learning from the command line.

:func:`register_operator_commands` adds both to the ``sciml pde`` subparsers; heavy imports
happen inside the handlers so ``sciml --help`` stays fast.

Examples
--------
``sciml pde generate darcy --n 300 --geometry square circle triangle --resolution 40 --out d.nc``
``sciml pde train --data d.nc --out darcy.pt --epochs 30``
``sciml pde predict --model darcy.pt --data d.nc --out pred.nc``
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register_operator_commands", "build_model"]


def build_model(
    problem: str,
    data,
    *,
    multitask: bool = True,
    p: int | None = None,
    width: int = 128,
    activation: str = "tanh",
):
    """The default network for ``problem`` sized from an :class:`OperatorDataset`.

    Fisher: MLP branch on ``u0`` plus the coefficients (paper: [128, 128] with LayerNorm,
    ``p = 300``). Darcy: CNN branch (16/32/64/64 filters) on the permeability with the mask
    channel, ``p = 150``. Heat: MLP branch on the design vector, masked output.
    """
    from sciml.physics.deeponet import DeepONet, MTDeepONet

    cls = MTDeepONet if multitask else DeepONet
    coords = data.coords.numpy()
    bounds = {"coord_lower": coords.min(0).tolist(), "coord_upper": coords.max(0).tolist()}
    common = {"activation": activation, "trunk_hidden": (width,) * 3, **bounds}
    if problem == "fisher":
        return cls(
            data.branch_in,
            2,
            p=p or 300,
            branch_hidden=(width, width),
            layer_norm=True,
            n_coefficients=data.n_coefficients,
            **common,
        )
    if problem == "darcy":
        return cls(
            data.branch_in,
            2,
            p=p or 150,
            branch="cnn",
            branch_hidden=(width,),
            mask_channel=multitask,
            mask_output=True,
            **common,
        )
    if problem == "heat":
        return cls(
            data.branch_in,
            3,
            p=p or 128,
            branch_hidden=(width, width),
            mask_output=True,
            output_names=("T",),
            **common,
        )
    raise ValueError(f"unknown problem {problem!r}; choose fisher, darcy or heat")


def _train(args: argparse.Namespace) -> int:
    import numpy as np

    from sciml._resume_cli import checkpoints_from_args, default_checkpoint_dir
    from sciml.physics import operator_data
    from sciml.physics.deeponet import MaskedFieldLoss
    from sciml.physics.predictor import OperatorPredictor
    from sciml.physics.storage import load_dataset
    from sciml.train import StaticWeighting, TrainConfig, Trainer, seed_everything

    ds = load_dataset(args.data)
    pde = ds.attrs.get("pde", "")
    builders = {
        "fisher_kpp": ("fisher", operator_data.fisher_dataset),
        "darcy": ("darcy", operator_data.darcy_dataset),
        "darcy_fno": ("darcy", operator_data.darcy_dataset),
        "heat": ("heat", operator_data.heat_dataset),
    }
    if pde not in builders:
        print(
            f"sciml pde train: {args.data} has pde={pde!r}; expected one of {', '.join(builders)}",
            file=sys.stderr,
        )
        return 2
    problem, build = builders[pde]
    if pde == "darcy_fno":
        train_idx = np.flatnonzero(ds["split"].values == "train")
        val_idx = np.flatnonzero(ds["split"].values == "test")
    else:
        order = np.random.default_rng(args.seed).permutation(ds.sizes["sample"])
        n_val = max(1, int(round(args.val_fraction * len(order))))
        train_idx, val_idx = np.sort(order[n_val:]), np.sort(order[:n_val])
    data = build(ds)
    checkpoints = checkpoints_from_args(args, default_checkpoint_dir(args.out))
    seed_everything(args.seed)  # the initial weights, not only the batch order
    model = build_model(problem, data, multitask=not args.single_task, p=args.p, width=args.width)
    hooks, weights = [], {}
    if args.physics:
        from sciml.physics import pinn

        if problem == "fisher":
            params = __import__("json").loads(ds.attrs["parameters"])
            hooks.append(pinn.FisherResidual(params["diffusivity"], params["t_final"]))
        elif problem == "darcy":
            x = ds["x"].values
            hooks.append(
                pinn.DarcyResidual(data.grid_shape, (x[1] - x[0],) * 2, float(ds.attrs["source"]))
            )
        else:
            print("sciml pde train: --physics supports fisher and darcy", file=sys.stderr)
            return 2
        weights = {"pde": args.physics, "bc": args.physics, "ic": args.physics}
    config = TrainConfig(
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=0.0,
        seed=args.seed,
        progress=not args.no_progress,
        monitor="val_rel_l2",
    )
    config, resume = checkpoints.apply(config)
    trainer = Trainer(
        model,
        MaskedFieldLoss(args.loss),
        config,
        weighting=StaticWeighting(weights) if weights else None,
        extra_losses=hooks,
    )
    trainer.fit(data.subset(train_idx), data.subset(val_idx), resume=resume)
    metrics = trainer.evaluate(data.subset(val_idx))
    path = OperatorPredictor.from_dataset(model, ds).save(args.out)
    checkpoints.finish()
    print(
        f"trained {type(model).__name__} on {len(train_idx)} samples; validation relative L2 "
        f"{metrics['rel_l2']:.4f} on {len(val_idx)}; wrote {path}"
    )
    return 0


def _predict(args: argparse.Namespace) -> int:
    from sciml.physics.predictor import OperatorPredictor
    from sciml.physics.storage import load_dataset

    predictor = OperatorPredictor.load(args.model)
    ds = load_dataset(args.data)
    if args.samples:
        ds = ds.isel(sample=args.samples)
    try:
        field = predictor.predict_dataset(ds, batch_size=args.batch_size)
    except ValueError as exc:
        print(f"sciml pde predict: {exc}", file=sys.stderr)
        return 2
    field = field.assign_coords(sample=ds["sample"].values)
    out = field.to_dataset(name=field.name)
    out.attrs.update({"model": str(args.model), "data": str(args.data)})
    from sciml.physics.storage import save_dataset

    path = save_dataset(out, args.out)
    print(f"wrote {field.name} {dict(field.sizes)} to {path}")
    return 0


def register_operator_commands(pde_subparsers: argparse._SubParsersAction) -> None:
    """Add ``train`` and ``predict`` to the ``sciml pde`` subcommands."""
    train = pde_subparsers.add_parser(
        "train",
        help="train a (multi-task) DeepONet on a generated data set",
        description="Train an MT-DeepONet (or single-task DeepONet) with the common Trainer on a "
        "netCDF data set from 'sciml pde generate' (problem read from the file); writes a "
        "checkpoint usable by 'sciml pde predict'.",
    )
    train.add_argument("--data", required=True, help="data set (.nc) from 'sciml pde generate'")
    train.add_argument("--out", required=True, help="model checkpoint to write (.pt)")
    train.add_argument("--epochs", type=int, default=50)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--p", type=int, default=None, help="latent width (fisher 300, darcy 150)")
    train.add_argument("--width", type=int, default=128, help="hidden width of the networks")
    train.add_argument("--loss", choices=("mse", "rel_l2"), default="mse")
    train.add_argument(
        "--physics",
        type=float,
        default=0.0,
        metavar="W",
        help="add PDE residual/BC/IC losses with weight W (fisher, darcy)",
    )
    train.add_argument(
        "--single-task",
        action="store_true",
        help="plain DeepONet (no mask channel/mask-multiplied output)",
    )
    train.add_argument("--val-fraction", type=float, default=0.1)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--no-progress", action="store_true")
    from sciml._resume_cli import add_resume_arguments, stops_on_budget

    add_resume_arguments(train, "OUT with the suffix .checkpoints, e.g. darcy.checkpoints")
    train.set_defaults(handler=stops_on_budget(_train))

    predict = pde_subparsers.add_parser(
        "predict",
        help="predict fields with a trained operator network",
        description="Predict every sample (or --samples) of a data set with a checkpoint from "
        "'sciml pde train'; NaN outside each geometry; writes netCDF.",
    )
    predict.add_argument("--model", required=True, help="checkpoint from 'sciml pde train'")
    predict.add_argument(
        "--data", required=True, help="inputs: a data set of the same problem (.nc)"
    )
    predict.add_argument("--out", required=True, help="predictions to write (.nc)")
    predict.add_argument("--samples", type=int, nargs="+", default=None, help="sample indices")
    predict.add_argument("--batch-size", type=int, default=256)
    predict.set_defaults(handler=_predict)
