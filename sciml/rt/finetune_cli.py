"""``sciml rt finetune``: the fine-tuning recipe (:mod:`sciml.rt.finetune`) from the command line.

``sciml rt finetune --train data.csv --property logS --out logs_rt`` writes a folder that
``sciml rt predict --model logs_rt`` reads. Trained models are kept in
``<out>.checkpoints``: the same command run again after a kill resumes, and finished
models are not retrained.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_finetune", "predict_fine_tuned"]


def add_finetune(sub, errors_help: dict, smiles_col: dict) -> None:
    """Add ``sciml rt finetune`` to the ``sciml rt`` subcommands."""
    from sciml.rt.finetune import FineTuneRecipe

    d = FineTuneRecipe()
    p = sub.add_parser(
        "finetune",
        help="fine-tune the RT as a regressor of one property (the recipe of sciml.rt.finetune)",
        description="Fine-tune a pre-trained Regression Transformer (default: the shipped "
        "SELFIES QED RT) on one property column: target scaled into the digit range, "
        "regression-only objective, randomised-SMILES enumeration, best epoch and learning "
        "rate on validation molecules, an ensemble read with test-time augmentation. "
        "Writes a folder for 'sciml rt predict --model'.",
    )
    p.add_argument("--train", required=True, metavar="FILE.csv", help="training CSV")
    p.add_argument("--property", required=True, metavar="COL", help="the property column")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--smiles-col", **smiles_col)
    p.add_argument(
        "--init-from",
        metavar="FILE.pt",
        default=None,
        help="pre-trained RT checkpoint (default: sciml/assets/rt_qed_logp.pt, the QED + logP "
        "model, chosen on validation molecules)",
    )
    p.add_argument(
        "--scratch", action="store_true", help="start from random weights instead (for comparison)"
    )
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"epochs per model ({d.epochs})")
    p.add_argument(
        "--lr",
        type=float,
        nargs="+",
        default=list(d.lrs),
        help="peak learning rate(s); with several, one model each and the best on "
        f"validation is kept ({d.lrs[0]:g})",
    )
    p.add_argument("--models", type=int, default=d.n_models, help=f"ensemble size ({d.n_models})")
    p.add_argument(
        "--augment",
        type=int,
        default=d.augment,
        help=f"randomised SMILES per training molecule ({d.augment})",
    )
    p.add_argument(
        "--tta", type=int, default=d.tta, help=f"encodings averaged per prediction ({d.tta})"
    )
    p.add_argument(
        "--context",
        nargs="*",
        default=[],
        metavar="PROP",
        help="RDKit properties (qed, logp, tpsa) given to the model with every molecule",
    )
    p.add_argument(
        "--choose-context",
        action="store_true",
        help="train one model with and one without --context and keep the better on "
        "validation (the benchmark's setting)",
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help=f"training molecules held out for validation ({d.val_fraction})",
    )
    p.add_argument(
        "--batch-size", type=int, default=d.batch_size, help=f"sequences per batch ({d.batch_size})"
    )
    p.add_argument(
        "--precision", choices=("auto", "fp32", "bf16"), default=d.precision, help="autocast"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds the validation split, the enumeration and the first model (0)",
    )
    p.add_argument("--errors", **errors_help)
    p.set_defaults(handler=_cmd_finetune)


def _cmd_finetune(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from sciml._io import check_input_file, read_csv
    from sciml.rt.finetune import FineTuneRecipe, fine_tune, fine_tune_select
    from sciml.rt.predictor import RegressionTransformer

    check_input_file(args.train, "training data")
    if args.scratch and args.init_from:
        raise ValueError("give --init-from or --scratch, not both")
    if args.choose_context and not args.context:
        raise ValueError("--choose-context needs --context PROP ...")
    frame = read_csv(args.train, "training data")
    for col in (args.smiles_col, args.property):
        if col not in frame.columns:
            raise ValueError(
                f"{args.train} has no column {col!r}; columns: {', '.join(frame.columns)}"
            )
    recipe = FineTuneRecipe(
        epochs=args.epochs,
        lrs=tuple(args.lr),
        n_models=args.models,
        batch_size=args.batch_size,
        augment=args.augment,
        tta=args.tta,
        val_fraction=args.val_fraction,
        precision=args.precision,
        seed=args.seed,
        context=tuple(args.context),
    )
    if args.scratch:
        init = False
    elif args.init_from:
        check_input_file(args.init_from, "--init-from")
        init = RegressionTransformer.load(args.init_from)
    else:
        init = None
    out = Path(args.out)
    checkpoints = out.with_name(out.name + ".checkpoints")
    smiles = frame[args.smiles_col].astype(str).str.strip().tolist()
    y = frame[args.property].to_numpy(dtype=float)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.choose_context:
        model = fine_tune_select(
            smiles,
            y,
            args.property,
            [replace(recipe, context=()), recipe],
            init_from=init,
            checkpoint_dir=checkpoints,
            errors=args.errors,
            log=log,
        )
    else:
        model = fine_tune(
            smiles,
            y,
            args.property,
            init_from=init,
            recipe=recipe,
            checkpoint_dir=checkpoints,
            errors=args.errors,
            log=log,
        )
    model.save(out)
    sel = model.selection
    print(
        f"wrote {out}: {len(model.members)} models, learning rate {sel['lr']:g}, "
        f"validation RMSE {sel['val_rmse_ensemble']:.4f} ({sel['n_train']} training, "
        f"{sel['n_val']} validation molecules)"
    )
    return 0


def predict_fine_tuned(args: argparse.Namespace) -> int:
    """``sciml rt predict --model DIR`` for a folder written by ``sciml rt finetune``."""
    from sciml._io import check_input_file, check_output_file, read_csv
    from sciml.rt._cli_output import write_predictions
    from sciml.rt.finetune import FineTunedRT

    check_input_file(args.input, "input")
    check_output_file(args.out, "--out")
    if args.samples or args.decoding != "expected":
        raise ValueError(
            "--samples and --decoding apply to a single RT checkpoint, not to a fine-tuned "
            "ensemble (its spread is the <property>_std column)"
        )
    model = FineTunedRT.load(args.model)
    frame = read_csv(args.input, "input", dtype=str, keep_default_na=False)
    if args.smiles_col not in frame.columns:
        raise ValueError(
            f"{args.input} has no column {args.smiles_col!r}; columns: {', '.join(frame.columns)}"
        )
    preds = model.predict(
        frame[args.smiles_col].str.strip().tolist(), errors=args.errors, tta=args.tta
    ).drop(columns="smiles")
    write_predictions(frame, preds, args)
    return 0
