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


#: Estimated error above which ``sciml pde predict`` suggests ``--adapt-steps``.
ADAPT_HINT = 0.02


def permeability_arg(text: str) -> float | str:
    """A constant K (a number), or the path of a K field file (an argparse type)."""
    try:
        return float(text)
    except ValueError:
        from pathlib import Path

        if not Path(text).is_file():
            raise argparse.ArgumentTypeError(
                f"expected a number or a .npy / .nc file of K, got {text!r} (no such file)"
            ) from None
        return text


def _permeability(value: float | str):
    """``--permeability``: a number as it is; a file read as a K field on the grid."""
    if not isinstance(value, str):
        return value
    from pathlib import Path

    import numpy as np

    path = Path(value)
    if path.suffix.lower() == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix.lower() == ".nc":
        import xarray as xr

        with xr.open_dataset(path) as ds:
            names = [n for n in ("K", "permeability") if n in ds]
            if not names:
                raise ValueError(
                    f"{path}: no variable 'K' or 'permeability'; variables are "
                    f"{sorted(map(str, ds.data_vars))}"
                )
            field = ds[names[0]]
            if "sample" in field.dims:
                field = field.isel(sample=0)
            if {"x", "y"} <= set(field.dims):
                field = field.transpose("x", "y")
            return np.asarray(field.values, dtype=float)
    raise ValueError(f"{path}: --permeability reads .npy or .nc files, not {path.suffix!r}")


def non_negative_int(text: str) -> int:
    """A whole number >= 0 (an argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


def build_model(
    problem,
    data,
    *,
    multitask: bool = True,
    p: int | None = None,
    width: int = 128,
    activation: str = "tanh",
):
    """The default network of ``problem`` (a Problem or its name), sized from ``data``.

    Kept for existing code; it is :meth:`Problem.default_model
    <sciml.physics.problems.base.Problem.default_model>`.
    """
    from sciml.physics.problems import get_problem

    return get_problem(problem).default_model(
        data, multitask=multitask, p=p, width=width, activation=activation
    )


def _train(args: argparse.Namespace) -> int:
    from sciml._cli_compat import require

    require(args, data="--train")
    from sciml._resume_cli import checkpoints_from_args, default_checkpoint_dir
    from sciml.physics.data.storage import load_dataset
    from sciml.physics.operator.networks import MaskedFieldLoss
    from sciml.physics.predictor import OperatorPredictor
    from sciml.physics.problems import problem_of
    from sciml.train import StaticWeighting, TrainConfig, Trainer, seed_everything

    ds = load_dataset(args.data)
    problem = problem_of(ds)
    train_idx, val_idx = problem.split(ds, args.val_fraction, args.seed)
    data = problem.dataset(ds)
    checkpoints = checkpoints_from_args(args, default_checkpoint_dir(args.out))
    seed_everything(args.seed)  # the initial weights, not only the batch order
    try:
        model = _initial_model(args, problem, data)
    except ValueError as exc:
        print(f"sciml pde train: error: {exc}", file=sys.stderr)
        return 2
    hooks, weights = [], {}
    if args.physics:
        try:
            hooks = problem.physics_terms(ds, data)
        except NotImplementedError as exc:
            print(f"sciml pde train: --physics: {exc}", file=sys.stderr)
            return 2
        weights = {"pde": args.physics, "bc": args.physics, "ic": args.physics}
    weighting = None
    if args.weighting == "relobralo":
        from sciml.train import ReLoBRaLoWeighting

        # The balanced terms: the data loss and the physics terms (weights sum to m).
        names = [args.loss, *(weights or {})]
        weighting = ReLoBRaLoWeighting(names, alpha=args.relobralo_alpha)
    elif weights:
        weighting = StaticWeighting(weights)
    if args.init_from:
        from sciml.physics.operator.transfer import TRANSFER_LR

        lr = TRANSFER_LR if args.lr is None else args.lr
    else:
        lr = 1e-3 if args.lr is None else args.lr
    config = TrainConfig(
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        lr=lr,
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
        weighting=weighting,
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


def _network_options(args: argparse.Namespace, problem) -> dict:
    """Network options from the command line (only those given; the problem's otherwise)."""
    options: dict = {}
    if args.boundary is not None:
        options["boundary_factor"] = args.boundary == "distance"
    if args.physics and args.boundary is None:
        # PDE residuals differentiate the trunk in x: the learned boundary (the BC term).
        options["boundary_factor"] = False
    if args.wide_branch:
        if problem.branch_ndim != 2:
            raise ValueError(
                f"--wide-branch is the CNN branch on log K (darcy); {problem.name} has an MLP "
                "branch"
            )
        from sciml.physics.problems.darcy import WIDE_BRANCH

        options.update({k: v for k, v in WIDE_BRANCH.items() if k != "p"})
        if args.p is None:
            options["p"] = WIDE_BRANCH["p"]
    if args.fourier:
        options["fourier_features"] = args.fourier
        options["fourier_scale"] = args.fourier_scale
    if args.trunk == "pod":
        options.update(trunk="pod", pod_points=0, boundary_factor=False)
    return options


def _initial_model(args: argparse.Namespace, problem, data):
    """The network to train: the problem's default, or a source checkpoint (``--init``)."""
    if not args.init_from and args.freeze != "none":
        raise ValueError("--freeze applies to transfer: give the source model with --init-from")
    explicit = [
        flag
        for flag, given in (
            ("--boundary", args.boundary is not None),
            ("--wide-branch", args.wide_branch),
            ("--fourier", bool(args.fourier)),
            ("--trunk", args.trunk != "mlp"),
            ("--p", args.p is not None),
        )
        if given
    ]
    if args.init_from and explicit:
        raise ValueError(
            f"{', '.join(explicit)} cannot change a network loaded with --init-from {args.init_from}; "
            "its architecture comes from the checkpoint"
        )
    if not args.init_from:
        options = _network_options(args, problem)
        if options.get("trunk") == "pod":
            options["pod_points"] = len(data.coords)
        p = options.pop("p", args.p)
        return problem.default_model(
            data, multitask=not args.single_task, p=p, width=args.width, **options
        )
    from sciml.physics.operator.transfer import prepare_transfer
    from sciml.physics.predictor import OperatorPredictor

    source = OperatorPredictor.load(args.init_from)
    if source.problem.name != problem.name:
        raise ValueError(
            f"--init-from {args.init_from} is a {source.problem.name} model; the training data are "
            f"{problem.name} data"
        )
    expected = data.branch_in
    got = source.model.hparams["branch_in"]
    if (list(expected) if not isinstance(expected, int) else expected) != got:
        raise ValueError(
            f"--init-from {args.init_from} takes branch inputs {got}; the training data have {expected}"
        )
    return prepare_transfer(source.model.train(), args.freeze)


def _predict_any_shape(args: argparse.Namespace) -> int:
    """A shipped (or saved) any-shape Darcy model on one user geometry."""
    import warnings
    from pathlib import Path

    import numpy as np

    from sciml.physics.any_shape import SHIPPED_MODELS, AnyShapeDarcy
    from sciml.physics.data.storage import check_writable, save_dataset

    if args.data is not None:
        raise ValueError(
            "--input is for data-set models; an any-shape model takes --geometry-file (and "
            "--permeability)"
        )
    if args.geometry_file is None:
        raise ValueError(f"--model {args.model} needs --geometry-file (GeoJSON, CSV, PNG, npy, nc)")
    check_writable(args.out)
    permeability = _permeability(args.permeability)
    model = (
        AnyShapeDarcy.load_shipped(args.model)
        if args.model in SHIPPED_MODELS
        else AnyShapeDarcy.load(args.model)
    )
    shape = model.geometry(args.geometry_file)  # read and checked once, used by every step
    if args.adapt_steps:
        model, history = model.adapt(shape, permeability, steps=args.adapt_steps)
        print(
            f"adapted to {args.geometry_file} with the PDE residual only: {history[-1]['step']} "
            f"steps, {history[-1]['cpu_s']:.1f} CPU-s, estimated error "
            f"{100 * history[0]['estimated_rel_l2']:.2f}% -> "
            f"{100 * history[-1]['estimated_rel_l2']:.2f}%"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        field = model.predict(shape, permeability)
    for warning in caught:
        # sciml's own warnings (out of domain); dependencies' deprecation notes are noise here
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            print(f"sciml pde predict: warning: {warning.message}", file=sys.stderr)
    out = field.to_dataset(name="u")
    out["mask"] = (("x", "y"), np.isfinite(field.values))  # predict leaves NaN outside
    out["K"] = (("x", "y"), np.broadcast_to(np.asarray(permeability, float), out["mask"].shape))
    out.attrs.update(
        {
            "model": str(args.model),
            "geometry": str(Path(args.geometry_file)),
            "permeability": str(args.permeability),
            "in_domain": int(bool(field.in_domain)),
            "domain_reason": field.attrs["domain_reason"],
        }
    )
    estimate = model.estimate_error(shape, permeability)
    out.attrs["estimated_rel_l2"] = estimate
    out = out.drop_vars("in_domain")
    path = save_dataset(out, args.out)
    state = (
        "in domain" if bool(field.in_domain) else "OUT OF DOMAIN: " + field.attrs["domain_reason"]
    )
    print(
        f"wrote u {dict(field.sizes)} to {path}; {state}; estimated relative L2 error "
        f"{100 * estimate:.2f}% (from the PDE residual, no solver)"
    )
    if not args.adapt_steps and estimate > ADAPT_HINT:
        print(
            "to lower it, fine-tune on this shape with the PDE residual only: --adapt-steps "
            "1000 (about 20 CPU-s; see benchmarks/results/operators_any_shape.md)"
        )
    return 0


def _predict(args: argparse.Namespace) -> int:
    import warnings

    from sciml._cli_compat import require
    from sciml.physics.any_shape import SHIPPED_MODELS

    if args.model in SHIPPED_MODELS or args.geometry_file is not None:
        return _predict_any_shape(args)
    require(args, data="--input")

    from sciml.physics.data.storage import check_writable, load_dataset, save_dataset
    from sciml.physics.predictor import OperatorPredictor

    check_writable(args.out)
    predictor = OperatorPredictor.load(args.model)
    ds = load_dataset(args.data)
    if args.samples is not None:
        n = ds.sizes["sample"]
        bad = [i for i in args.samples if not 0 <= i < n]
        if bad:
            raise ValueError(
                f"--sample-index {bad[0]} is out of range: {args.data} holds {n} samples, "
                f"numbered 0 to {n - 1}"
            )
        ds = ds.isel(sample=args.samples)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        field = predictor.predict_dataset(ds, batch_size=args.batch_size)
    for warning in caught:
        print(f"sciml pde predict: warning: {warning.message}", file=sys.stderr)
    field = field.assign_coords(sample=ds["sample"].values)
    out = field.to_dataset(name=field.name)
    out.attrs.update({"model": str(args.model), "data": str(args.data)})
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
    from sciml._cli_compat import add_deprecated

    train.add_argument(
        "--train",
        dest="data",
        metavar="FILE.nc",
        help="training data set (.nc) from 'sciml pde generate'",
    )
    add_deprecated(train, "--data", "--train", "data")
    train.add_argument("--out", required=True, help="model checkpoint to write (.pt)")
    train.add_argument("--epochs", type=int, default=50, help="training epochs (default: 50)")
    train.add_argument("--batch-size", type=int, default=32, help="samples per batch (default: 32)")
    train.add_argument(
        "--lr",
        type=float,
        default=None,
        help="peak learning rate (default 1e-3; 3e-4 with --init-from)",
    )
    train.add_argument("--p", type=int, default=None, help="latent width (fisher 300, darcy 150)")
    train.add_argument("--width", type=int, default=128, help="hidden width of the networks")
    train.add_argument(
        "--loss",
        choices=("mse", "rel_l2"),
        default="mse",
        help="data loss on the masked field: mse (default) or relative L2",
    )
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
    net = train.add_argument_group("network options (default: the problem's network)")
    net.add_argument(
        "--boundary",
        choices=("distance", "mask"),
        default=None,
        help="distance: u = 0 on the boundary exactly (output times tanh(d/0.05), "
        "d a trunk input; darcy's default); mask: learned boundary, output times "
        "the 0/1 mask (the default with --physics)",
    )
    net.add_argument(
        "--wide-branch",
        action="store_true",
        help="darcy: wide CNN branch on log K (GELU, 32/64/128 filters, head 256, p = 200)",
    )
    net.add_argument(
        "--fourier",
        type=int,
        default=0,
        metavar="M",
        help="M random Fourier features of the trunk coordinates (default: none)",
    )
    net.add_argument(
        "--fourier-scale",
        type=float,
        default=1.0,
        help="standard deviation of the Fourier frequencies (default 1)",
    )
    net.add_argument(
        "--trunk",
        choices=("mlp", "pod"),
        default="mlp",
        help="pod: POD-DeepONet, the trunk is the POD basis of the training "
        "fields (predicts on the training grid only)",
    )
    net.add_argument(
        "--weighting",
        choices=("static", "relobralo"),
        default="static",
        help="weighting of the data and physics terms: static (--physics W) or "
        "relobralo (Bischof & Kraus 2021)",
    )
    net.add_argument(
        "--relobralo-alpha",
        type=float,
        default=0.999,
        help="ReLoBRaLo memory alpha (default 0.999, the paper's)",
    )
    net.add_argument(
        "--init-from",
        metavar="SOURCE.pt",
        default=None,
        help="transfer: start from this trained checkpoint of the same problem "
        "(fine-tunes every layer at lr 3e-4 unless --freeze partial)",
    )
    from sciml._cli_compat import add_deprecated

    add_deprecated(net, "--init", "--init-from", "init_from")
    net.add_argument(
        "--freeze",
        choices=("none", "partial"),
        default="none",
        help="with --init-from: none (default) trains every layer; partial trains "
        "the first and last branch layers, the last trunk layer and the bias",
    )
    train.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="share of the samples held out to pick the best epoch (default 0.1)",
    )
    train.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds the split, initialisation and batching (default: 0)",
    )
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    from sciml._resume_cli import add_resume_arguments, stops_on_budget

    add_resume_arguments(train, "OUT with the suffix .checkpoints, e.g. darcy.checkpoints")
    train.set_defaults(handler=stops_on_budget(_train))

    predict = pde_subparsers.add_parser(
        "predict",
        help="predict fields with a trained operator network",
        description="Predict every sample (or --sample-index) of a data set with a checkpoint from "
        "'sciml pde train'; or, with --model darcy-any-shape --geometry-file FILE, Darcy flow "
        "on a shape of your own (with an in-domain check). NaN outside each geometry; writes "
        "netCDF.",
    )
    predict.add_argument(
        "--model",
        required=True,
        help="checkpoint from 'sciml pde train', or a shipped model: darcy-any-shape (Darcy "
        "on any 2-D shape; give --geometry-file)",
    )
    predict.add_argument(
        "--geometry-file",
        default=None,
        metavar="FILE",
        help="any-shape models: the domain in [0, 1]^2 (GeoJSON/CSV polygon with holes, PNG, "
        "npy or netCDF mask)",
    )
    predict.add_argument(
        "--permeability",
        type=permeability_arg,
        default=1.0,
        metavar="K|FILE",
        help="any-shape models: a constant K > 0 (default 1), or a K field on the model's "
        "grid (64 x 64, K[i, j] at (x_i, y_j)) in a .npy file or a netCDF file's variable "
        "'K' or 'permeability'",
    )
    predict.add_argument(
        "--adapt-steps",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="any-shape models: first fine-tune N steps on the shape with the "
        "AMG-preconditioned PDE residual only (no solver data; about 0.02 CPU-s a step; "
        "the step count chosen on validation shapes is the default of AnyShapeDarcy.adapt, "
        "see benchmarks/results/operators_any_shape.md)",
    )
    predict.add_argument(
        "--input",
        dest="data",
        metavar="FILE.nc",
        help="inputs: a data set of the same problem (.nc)",
    )
    add_deprecated(predict, "--data", "--input", "data")
    predict.add_argument("--out", required=True, help="predictions to write (.nc)")
    predict.add_argument(
        "--sample-index",
        dest="samples",
        type=int,
        nargs="+",
        default=None,
        metavar="I",
        help="predict only these samples of --input (0-based)",
    )
    from sciml._cli_compat import add_deprecated

    add_deprecated(predict, "--samples", "--sample-index", "samples", type=int, nargs="+")
    predict.add_argument(
        "--batch-size", type=int, default=256, help="samples per forward pass (default: 256)"
    )
    predict.set_defaults(handler=_predict)
