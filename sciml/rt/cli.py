"""``sciml rt train|predict|generate``: the Regression Transformer from the command line.

``sciml rt predict`` keeps every input column and the input row order, and adds a ``row``
column (the 0-based data row of the input; with ``--errors skip`` the numbers of the
dropped rows are missing) and the applicability-domain columns ``max_tanimoto``,
``in_domain`` and ``note`` (:mod:`sciml.chem.domain`). Files are checked (a directory, an empty file, an unwritable
output) before any work starts.

Heavy imports (torch, RDKit) happen inside the handlers so ``sciml --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def _read_smiles_csv(path: str, column: str, what: str = "input", **kwargs):
    from sciml._io import read_csv

    frame = read_csv(path, what, **kwargs)
    if column not in frame.columns:
        raise ValueError(f"{path} has no column {column!r}; columns: {', '.join(frame.columns)}")
    return frame


def _cmd_train(args: argparse.Namespace) -> int:
    from sciml._io import check_input_file, check_output_file
    from sciml._resume_cli import checkpoints_from_args, default_checkpoint_dir
    from sciml.cli import resolve
    from sciml.encoder import ENCODER_SIZES
    from sciml.rt.predictor import RegressionTransformer, RTConfig
    from sciml.train import TrainConfig

    size = resolve("encoder size", args.size, {k: k for k in ENCODER_SIZES})
    check_input_file(args.data, "training data")
    if args.val:
        check_input_file(args.val, "validation data")
    check_output_file(args.output, "--output")  # before training, not after
    frame = _read_smiles_csv(args.data, args.smiles_column, "training data")
    missing = [p for p in args.properties if p not in frame.columns]
    if missing:
        raise ValueError(
            f"{args.data} has no column(s) {missing}; columns: {', '.join(frame.columns)}"
        )
    val = _read_smiles_csv(args.val, args.smiles_column, "validation data") if args.val else None
    config = RTConfig(size=size, precision=args.precision, self_consistency=args.self_consistency)
    train_config = TrainConfig(
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        progress=not args.quiet,
    )
    checkpoints = checkpoints_from_args(args, default_checkpoint_dir(args.output))
    train_config, resume = checkpoints.apply(train_config)
    rt = RegressionTransformer(args.properties, config).fit(
        frame[args.smiles_column].tolist(),
        frame[args.properties],
        val_smiles=None if val is None else val[args.smiles_column].tolist(),
        val_y=None if val is None else val[args.properties],
        train_config=train_config,
        errors=args.errors,
        resume=resume,
    )
    path = rt.save(args.output)
    checkpoints.finish()
    print(f"saved {rt!r} to {path}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    import warnings

    from sciml._io import atomic_write, check_input_file, check_output_file
    from sciml.chem.domain import DomainWarning
    from sciml.rt.predictor import RegressionTransformer

    check_input_file(args.model, "model")
    check_input_file(args.input, "input")
    check_output_file(args.output, "--output")
    rt = RegressionTransformer.load(args.model)
    # Every cell as text: ID columns come back exactly as given (leading zeros, 'NA').
    frame = _read_smiles_csv(args.input, args.smiles_column, dtype=str, keep_default_na=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)  # summarised below, once
        preds = rt.predict(
            frame[args.smiles_column].str.strip().tolist(),
            errors=args.errors,
            n_samples=args.samples,
            decoding=args.decoding,
            domain=True,
        ).drop(columns="smiles")
    row = "row" if "row" not in frame.columns else "row_pred"
    preds = preds.rename(columns={c: f"{c}_pred" for c in preds.columns if c in frame.columns})
    out = frame.loc[preds.index].join(preds)
    out.index.name = row
    with atomic_write(args.output, "w", newline="") as handle:
        out.to_csv(handle)
    invalid = preds.attrs.get("invalid", [])
    if invalid:
        action = "left out of the output" if args.errors == "skip" else "kept with empty values"
        print(f"{args.input}: {len(invalid)} invalid SMILES {action}:", file=sys.stderr)
        for bad in invalid[:20]:
            print(f"  row {bad.index}: {bad.value!r}: {bad.reason}", file=sys.stderr)
    print(f"wrote {len(out)} predictions to {args.output}")
    n_out = int((~preds["in_domain"].fillna(True)).sum()) if "in_domain" in preds else 0
    if n_out:
        print(
            f"sciml rt: warning: {n_out} of {len(out)} molecules are outside the model's "
            "applicability domain (in_domain=False; the note column says why)",
            file=sys.stderr,
        )
    return 0


def _parse_targets(items: list[str]) -> dict[str, list[float]]:
    targets: dict[str, list[float]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not values:
            raise ValueError(f"targets look like qed=0.8 or qed=0.2,0.5,0.8; got {item!r}")
        try:
            targets[name] = [float(v) for v in values.split(",")]
        except ValueError:
            raise ValueError(f"target values must be numbers, got {item!r}") from None
    return targets


def _cmd_generate(args: argparse.Namespace) -> int:
    from sciml._io import check_input_file, check_output_file
    from sciml.rt.predictor import RegressionTransformer

    check_input_file(args.model, "model")
    check_output_file(args.output, "--output")
    rt = RegressionTransformer.load(args.model)
    seeds = (
        _read_smiles_csv(args.seeds, args.smiles_column, "seeds")[args.smiles_column].tolist()
        if args.seeds.endswith(".csv")
        else [args.seeds]
    )
    out = rt.generate(
        seeds,
        _parse_targets(args.target),
        n=args.n,
        mask_fraction=args.mask_fraction,
        temperature=args.temperature,
        mask=args.mask,
        best_of=args.best_of,
        repair=args.repair,
        errors=args.errors,
        out_of_range=args.out_of_range,
        seed=args.seed,
    )
    out.to_csv(args.output, index=False)
    print(
        f"wrote {len(out)} molecules to {args.output} ({out.attrs['n_invalid']} of "
        f"{out.attrs['n_generated']} candidates invalid, {out.attrs['n_duplicates']} duplicates)"
    )
    return 0


def register(subparsers) -> None:
    """Add ``sciml rt`` with its ``train``, ``predict`` and ``generate`` subcommands."""
    rt = subparsers.add_parser(
        "rt", help="Regression Transformer: property prediction and property-primed generation"
    )
    sub = rt.add_subparsers(dest="rt_command", metavar="RT_COMMAND", required=True)
    errors = {
        "choices": ("raise", "skip", "nan"),
        "default": "raise",
        "help": "invalid SMILES: raise, skip or nan (default: raise)",
    }

    train = sub.add_parser("train", help="train on a CSV of SMILES and property columns")
    train.add_argument("data", help="CSV with a SMILES column and one column per property")
    train.add_argument("--properties", nargs="+", required=True, help="property columns")
    train.add_argument("--output", required=True, help="checkpoint file to write (.pt)")
    train.add_argument("--val", help="validation CSV with the same columns")
    train.add_argument("--smiles-column", default="smiles")
    train.add_argument("--size", default="small", help="encoder size: tiny, small or base")
    train.add_argument("--precision", type=int, default=4, help="decimals per property")
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--lr", type=float, default=5e-4)
    train.add_argument(
        "--self-consistency",
        type=float,
        default=0.0,
        help="weight of the self-consistency term (0: off)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--errors", **errors)
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    from sciml._resume_cli import add_resume_arguments, stops_on_budget

    add_resume_arguments(train, "OUTPUT with the suffix .checkpoints, e.g. rt.checkpoints")
    train.set_defaults(handler=stops_on_budget(_cmd_train))

    predict = sub.add_parser("predict", help="predict properties of the molecules in a CSV")
    predict.add_argument("model", help="checkpoint written by 'sciml rt train'")
    predict.add_argument("input", help="CSV with a SMILES column")
    predict.add_argument("--output", required=True, help="CSV to write")
    predict.add_argument("--smiles-column", default="smiles")
    predict.add_argument(
        "--samples",
        type=int,
        default=0,
        help="sampled digit sequences per molecule for an uncertainty (0: off)",
    )
    predict.add_argument(
        "--decoding",
        choices=("expected", "greedy", "sequential"),
        default="expected",
        help="how values are read from the digit tokens (see RegressionTransformer.predict)",
    )
    predict.add_argument("--errors", **errors)
    predict.set_defaults(handler=_cmd_predict)

    generate = sub.add_parser("generate", help="edit seed molecules towards target property values")
    generate.add_argument("model", help="checkpoint written by 'sciml rt train'")
    generate.add_argument("seeds", help="a seed SMILES, or a CSV with a SMILES column")
    generate.add_argument(
        "--target",
        nargs="+",
        required=True,
        metavar="NAME=V[,V...]",
        help="target values, e.g. qed=0.8 or qed=0.2,0.5,0.8",
    )
    generate.add_argument("--output", required=True, help="CSV to write")
    generate.add_argument("--n", type=int, default=10, help="candidates per seed and target")
    generate.add_argument("--mask-fraction", type=float, default=0.3)
    generate.add_argument("--temperature", type=float, default=1.0)
    generate.add_argument(
        "--mask",
        choices=("spans", "atoms"),
        default="spans",
        help="re-generate spans of any tokens, or atom tokens only (keeps the skeleton)",
    )
    generate.add_argument(
        "--best-of",
        type=int,
        default=1,
        help="fills per candidate; keep the one the model predicts closest to the target",
    )
    generate.add_argument(
        "--repair",
        action="store_true",
        help="swap generated atoms for other model candidates until the molecule sanitizes",
    )
    generate.add_argument(
        "--out-of-range",
        choices=("raise", "clip"),
        default="raise",
        help="targets beyond the trained range: refuse (default) or clip",
    )
    generate.add_argument("--smiles-column", default="smiles")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--errors", **errors)
    generate.set_defaults(handler=_cmd_generate)
