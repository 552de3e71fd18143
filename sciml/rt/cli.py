"""``sciml rt train|predict|generate|finetune``: the Regression Transformer from the command line.

``sciml rt finetune`` (:mod:`sciml.rt.finetune_cli`) runs the fine-tuning recipe of
:mod:`sciml.rt.finetune`; ``sciml rt predict --model`` reads the folder it writes.

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


def _legacy(
    args: argparse.Namespace, command: str, positionals: dict[str, str], **required: str
) -> None:
    from sciml._cli_compat import apply_legacy_positionals, require

    apply_legacy_positionals(args, command, positionals)
    require(args, **required)


def _cmd_train(args: argparse.Namespace) -> int:
    _legacy(args, "rt train", {"train": "--train"}, train="--train", out="--out")
    _resolve_precision(args)
    from dataclasses import replace

    from sciml._io import check_input_file, check_output_file
    from sciml._resume_cli import checkpoints_from_args, default_checkpoint_dir
    from sciml.cli import resolve
    from sciml.encoder import ENCODER_SIZES
    from sciml.rt.predictor import RegressionTransformer, RTConfig
    from sciml.train import TrainConfig

    size = resolve("encoder size", args.size, {k: k for k in ENCODER_SIZES})
    check_input_file(args.train, "training data")
    if args.val:
        check_input_file(args.val, "validation data")
    check_output_file(args.out, "--out")  # before training, not after
    frame = _read_smiles_csv(args.train, args.smiles_col, "training data")
    missing = [p for p in args.properties if p not in frame.columns]
    if missing:
        raise ValueError(
            f"{args.train} has no column(s) {missing}; columns: {', '.join(frame.columns)}"
        )
    if args.epoch_size is not None and args.epoch_size < 1:
        raise ValueError(f"--epoch-size must be >= 1, got {args.epoch_size}")
    frame, val = _validation_part(args, frame)
    init = None
    if args.init_from:
        check_input_file(args.init_from, "--init-from checkpoint")
        init = RegressionTransformer.load(args.init_from)
        # The pre-trained model's architecture; the new properties' digits from --decimals.
        config = replace(
            init.config,
            precision=args.decimals,
            self_consistency=args.self_consistency,
            language=args.language or init.config.language,
        )
    else:
        config = RTConfig(
            size=size,
            precision=args.decimals,
            self_consistency=args.self_consistency,
            language=args.language or "smiles",
        )
    train_config = TrainConfig(
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        progress=not args.no_progress,
        precision=args.precision,
    )
    checkpoints = checkpoints_from_args(args, default_checkpoint_dir(args.out))
    train_config, resume = checkpoints.apply(train_config)
    rt = RegressionTransformer(args.properties, config).fit(
        frame[args.smiles_col].tolist(),
        frame[args.properties],
        val_smiles=None if val is None else val[args.smiles_col].tolist(),
        val_y=None if val is None else val[args.properties],
        train_config=train_config,
        errors=args.errors,
        resume=resume,
        epoch_size=args.epoch_size,
        init_from=init,
    )
    path = rt.save(args.out)
    checkpoints.finish()
    print(f"saved {rt!r} to {path}")
    return 0


def _resolve_precision(args: argparse.Namespace) -> None:
    """``--precision``: fp32/bf16/auto; the deprecated digit count moves to ``--decimals``."""
    if args.precision.isdigit():  # the old meaning: digits per property
        print(
            f"sciml rt train: warning: --precision {args.precision} (digits) is deprecated "
            f"and will be removed in the next release; use --decimals {args.precision} "
            "(--precision now means fp32/bf16, as everywhere else)",
            file=sys.stderr,
        )
        args.decimals, args.precision = int(args.precision), "auto"
    elif args.precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"--precision must be auto, fp32 or bf16, got {args.precision!r}")


def _validation_part(args: argparse.Namespace, frame):
    """The training rows and the validation rows: ``--val``, or ``--val-fraction`` held out."""
    if args.val and args.val_fraction:
        raise ValueError("give --val or --val-fraction, not both")
    val = _read_smiles_csv(args.val, args.smiles_col, "validation data") if args.val else None
    fraction = args.val_fraction
    if fraction is None:
        fraction = 0.1 if val is None and len(frame) >= 50 else 0.0
    if not 0 <= fraction < 1:
        raise ValueError(f"--val-fraction must be in [0, 1), got {fraction}")
    if fraction > 0:
        frame, val = _hold_out(frame, args.smiles_col, fraction, args.seed)
        print(
            f"sciml rt train: validating on {len(val)} held-out molecules "
            f"({fraction:.0%}; --val-fraction 0 turns this off)",
            file=sys.stderr,
        )
    return frame, val


def _hold_out(frame, smiles_col: str, fraction: float, seed: int):
    """Split rows into training and validation, keeping equal canonical SMILES together."""
    import numpy as np

    from sciml.chem.smiles import canonicalize_batch

    canon = canonicalize_batch(frame[smiles_col].tolist(), errors="nan").values
    keys = [c if c is not None else f"invalid:{i}" for i, c in enumerate(canon)]
    groups = sorted(set(keys))
    rng = np.random.default_rng(seed)
    n_val = max(1, round(fraction * len(groups)))
    held = set(rng.choice(len(groups), n_val, replace=False).tolist())
    held_keys = {groups[i] for i in held}
    is_val = np.array([k in held_keys for k in keys])
    if is_val.all() or not is_val.any():
        raise ValueError(f"--val-fraction {fraction} leaves no training or no validation rows")
    return frame[~is_val].reset_index(drop=True), frame[is_val].reset_index(drop=True)


def _cmd_predict(args: argparse.Namespace) -> int:
    _legacy(
        args,
        "rt predict",
        {"model": "--model", "input": "--input"},
        model="--model",
        input="--input",
        out="--out",
    )
    import warnings

    from sciml._io import check_input_file, check_output_file
    from sciml.chem.domain import DomainWarning
    from sciml.rt._cli_output import write_predictions
    from sciml.rt.finetune import FineTunedRT
    from sciml.rt.predictor import RegressionTransformer

    if FineTunedRT.is_saved(args.model):  # a folder written by 'sciml rt finetune'
        from sciml.rt.finetune_cli import predict_fine_tuned

        return predict_fine_tuned(args)
    check_input_file(args.model, "model")
    check_input_file(args.input, "input")
    check_output_file(args.out, "--out")
    rt = RegressionTransformer.load(args.model)
    # Every cell as text: ID columns come back exactly as given (leading zeros, 'NA').
    frame = _read_smiles_csv(args.input, args.smiles_col, dtype=str, keep_default_na=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)  # summarised below, once
        preds = rt.predict(
            frame[args.smiles_col].str.strip().tolist(),
            errors=args.errors,
            n_samples=args.samples,
            decoding=args.decoding,
            domain=True,
            tta=args.tta,
        ).drop(columns="smiles")
    out = write_predictions(frame, preds, args)
    n_out = int((~preds["in_domain"].fillna(True)).sum()) if "in_domain" in preds else 0
    if n_out:
        print(
            f"sciml rt predict: warning: {n_out} of {len(out)} molecules are outside the model's "
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


def _parse_exclude(items: list[str] | None, no_filters: bool) -> dict[str, str] | None:
    """``--exclude NAME=SMARTS ...`` / ``--no-filters`` as the ``exclude`` of ``generate``."""
    if no_filters:
        if items:
            raise ValueError("--no-filters and --exclude contradict each other; give one")
        return {}
    if not items:
        return None
    groups = {}
    for item in items:
        name, sep, smarts = item.partition("=")
        if not sep or not name or not smarts:
            raise ValueError(f"--exclude takes NAME=SMARTS, e.g. peroxide=[OX2][OX2]; got {item!r}")
        groups[name] = smarts
    return groups


def _cmd_generate(args: argparse.Namespace) -> int:
    _legacy(
        args,
        "rt generate",
        {"model": "--model", "seeds": "--seeds"},
        model="--model",
        seeds="--seeds",
        out="--out",
    )
    from sciml._io import check_input_file, check_output_file
    from sciml.rt.predictor import RegressionTransformer

    check_input_file(args.model, "model")
    check_output_file(args.out, "--out")
    exclude = _parse_exclude(args.exclude, args.no_filters)
    rt = RegressionTransformer.load(args.model)
    seeds = (
        _read_smiles_csv(args.seeds, args.smiles_col, "seeds")[args.smiles_col].tolist()
        if args.seeds.endswith(".csv")
        else [args.seeds]
    )
    options = dict(
        n=args.n,
        progress=False if args.no_progress else "auto",
        repair=args.repair,
        span_slack=args.span_slack,
        exclude=exclude,
        max_rounds=args.max_rounds,
        errors=args.errors,
        out_of_range=args.out_of_range,
        seed=args.seed,
    )
    # Unset options keep GenerationConfig's defaults (one place for them).
    options.update(
        {
            k: v
            for k, v in (
                ("mask_fraction", args.mask_fraction),
                ("temperature", args.temperature),
                ("best_of", args.best_of),
                ("similarity", args.similarity),
                ("min_similarity", args.min_similarity),
                ("pool", args.pool),
                ("n_steps", args.n_steps),
                ("mask", args.mask),
            )
            if v is not None
        }
    )
    out = rt.generate(seeds, _parse_targets(args.target), **options)
    out.to_csv(args.out, index=False)
    a = out.attrs
    filtered = ", ".join(f"{k} {v}" for k, v in a["filtered_by"].items() if v)
    print(
        f"wrote {len(out)} of {a['n_asked']} molecules asked to {args.out} ({a['n_generated']} "
        f"candidates in {a['n_rounds']} round(s): {a['n_invalid']} invalid, {a['n_filtered']} "
        f"filtered{f' ({filtered})' if filtered else ''}, {a['n_duplicates']} duplicates, "
        f"{a['n_unchanged']} the seed unchanged)"
    )
    return 0


_ERRORS = {
    "choices": ("raise", "skip", "nan"),
    "default": "raise",
    "help": "invalid SMILES (unparsable, too long, or holding a token outside the model's "
    "vocabulary, named): stop with a list of them (raise, default), leave their rows "
    "out (skip) or keep them with empty values (nan)",
}
_SMILES_COL = {
    "default": "smiles",
    "metavar": "COL",
    "help": "column holding SMILES (default: smiles)",
}


def _legacy_out(parser, out_help: str) -> None:
    """``--out`` and ``--smiles-col`` with their deprecated spellings."""
    from sciml._cli_compat import add_deprecated

    add_deprecated(parser, "--output", "--out", "out")
    add_deprecated(parser, "--smiles-column", "--smiles-col", "smiles_col")
    parser.add_argument("--out", metavar="FILE", help=out_help)
    parser.add_argument("--smiles-col", **_SMILES_COL)


def register(subparsers) -> None:
    """Add ``sciml rt`` with its ``train``, ``predict`` and ``generate`` subcommands."""
    rt = subparsers.add_parser(
        "rt", help="Regression Transformer: property prediction and property-primed generation"
    )
    sub = rt.add_subparsers(dest="rt_command", metavar="RT_COMMAND", required=True)
    _add_train(sub)
    _add_predict(sub)
    _add_generate(sub)
    from sciml.rt.finetune_cli import add_finetune

    add_finetune(sub, _ERRORS, _SMILES_COL)


def _add_train(sub) -> None:
    from sciml._cli_compat import add_legacy_positionals
    from sciml._resume_cli import add_resume_arguments, stops_on_budget

    train = sub.add_parser(
        "train",
        help="train on a CSV of SMILES and property columns",
        description="Train a Regression Transformer on SMILES and property "
        "columns of a CSV file and write a checkpoint.",
    )
    add_legacy_positionals(train, "train")
    train.add_argument(
        "--train",
        metavar="FILE.csv",
        help="training CSV with a SMILES column and one column per property",
    )
    train.add_argument(
        "--properties",
        nargs="+",
        required=True,
        metavar="COL",
        help="property columns to learn (one or more)",
    )
    _legacy_out(train, "checkpoint file to write (.pt)")
    train.add_argument(
        "--val", metavar="FILE.csv", help="validation CSV with the same columns (best epoch)"
    )
    train.add_argument(
        "--val-fraction",
        type=float,
        default=None,
        metavar="F",
        help="without --val: hold out this fraction of the training molecules "
        "for validation, molecules with the same canonical SMILES on one "
        "side (default: 0.1 with at least 50 molecules, else none; 0: none)",
    )
    train.add_argument(
        "--epoch-size",
        type=int,
        default=None,
        metavar="N",
        help="molecules per epoch for large sets: a checkpoint, a validation "
        "pass and the time-budget check every N molecules; every molecule "
        "is still seen once per pass (default: the whole set)",
    )
    _add_train_model(train)
    train.add_argument("--errors", **_ERRORS)
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    from sciml._cli_compat import add_deprecated_flag

    add_deprecated_flag(train, "--quiet", "--no-progress", "no_progress")
    add_resume_arguments(train, "OUT with the suffix .checkpoints, e.g. rt.checkpoints")
    train.set_defaults(handler=stops_on_budget(_cmd_train))


def _add_train_model(train) -> None:
    """The model and optimisation options of ``sciml rt train``."""
    train.add_argument(
        "--size", default="small", help="encoder size: tiny, small or base (default: small)"
    )
    train.add_argument(
        "--init-from",
        metavar="FILE.pt",
        help="fine-tune this RT checkpoint (e.g. sciml/assets/demo_rt.pt, the "
        "QED model trained on 1.6M MOSES molecules) instead of starting "
        "from random weights; its size and settings are kept and its "
        "vocabulary grows by the new tokens",
    )
    train.add_argument(
        "--decimals",
        type=int,
        default=4,
        metavar="N",
        help="digits after the decimal point written per property value (default: 4)",
    )
    train.add_argument(
        "--precision",
        default="auto",
        metavar="auto|fp32|bf16",
        help="training autocast: auto (bf16 on CUDA, fp32 elsewhere), fp32 or "
        "bf16 (also on CPUs with AVX-512 BF16; fp32 master weights). A "
        "number is the deprecated spelling of --decimals",
    )
    train.add_argument("--epochs", type=int, default=20, help="training epochs (default: 20)")
    train.add_argument(
        "--batch-size", type=int, default=64, help="molecules per batch (default: 64)"
    )
    train.add_argument("--lr", type=float, default=5e-4, help="peak learning rate (default 5e-4)")
    train.add_argument(
        "--self-consistency",
        type=float,
        default=0.0,
        help="weight of the self-consistency term (0: off)",
    )
    train.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds initialisation, batching and masking (default: 0)",
    )
    train.add_argument(
        "--language",
        choices=("smiles", "selfies"),
        default=None,
        help="molecule language the model reads and writes: smiles or selfies "
        "(every generated SELFIES is a molecule); default smiles, or the "
        "--init-from model's",
    )


def _add_predict(sub) -> None:
    from sciml._cli_compat import add_legacy_positionals

    predict = sub.add_parser(
        "predict",
        help="predict properties of the molecules in a CSV",
        description="Predict properties with a Regression Transformer "
        "checkpoint; the output keeps every input column.",
    )
    add_legacy_positionals(predict, "model", "input")
    predict.add_argument(
        "--model",
        metavar="FILE.pt",
        help="checkpoint written by 'sciml rt train', or folder written by 'sciml rt finetune'",
    )
    predict.add_argument("--input", metavar="FILE.csv", help="CSV with a SMILES column")
    _legacy_out(predict, "CSV to write")
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
    predict.add_argument(
        "--tta",
        type=int,
        default=None,
        metavar="K",
        help="test-time augmentation: average the values read from K encodings of each "
        "molecule, its canonical SMILES and K-1 randomised ones (default: the model's own "
        "setting, RTConfig.tta; a fine-tuned folder: its recipe's tta)",
    )
    predict.add_argument("--errors", **_ERRORS)
    predict.set_defaults(handler=_cmd_predict)


def _add_generate(sub) -> None:
    from sciml._cli_compat import add_legacy_positionals

    generate = sub.add_parser(
        "generate",
        help="edit seed molecules towards target property values",
        description="Generate molecules from seed molecules, primed with target property values.",
    )
    add_legacy_positionals(generate, "model", "seeds")
    generate.add_argument(
        "--model",
        metavar="FILE.pt",
        help="checkpoint written by 'sciml rt train', or folder written by 'sciml rt finetune'",
    )
    generate.add_argument(
        "--seeds", metavar="SMILES|FILE.csv", help="a seed SMILES, or a CSV with a SMILES column"
    )
    generate.add_argument(
        "--target",
        nargs="+",
        required=True,
        metavar="NAME=V[,V...]",
        help="target values, e.g. qed=0.8 or qed=0.2,0.5,0.8",
    )
    _legacy_out(generate, "CSV to write")
    generate.add_argument(
        "--n",
        type=int,
        default=10,
        help="distinct molecules wanted per seed and target (default: 10)",
    )
    _add_generate_knobs(generate)
    generate.add_argument(
        "--repair",
        action="store_true",
        help="swap generated atoms for other model candidates until the molecule sanitizes",
    )
    generate.add_argument(
        "--exclude",
        nargs="+",
        metavar="NAME=SMARTS",
        help="unwanted groups, e.g. peroxide=[OX2][OX2]; replaces the default list (peroxide, "
        "acyl_halide, cumulene, azide, epoxide_aziridine, large_ring, strained_alkene_3/4; "
        "see sciml.rt.filters). Molecules "
        "with radicals are always refused, unless --no-filters",
    )
    generate.add_argument(
        "--no-filters",
        action="store_true",
        help="keep every valid molecule: no group filter, radicals allowed",
    )
    generate.add_argument(
        "--span-slack",
        type=float,
        default=None,
        metavar="F",
        help="extra [MASK] slots (up to F x span length) after each masked span, so molecules "
        "can grow or shrink (default: the model's trained value; 0 for older models)",
    )
    generate.add_argument(
        "--max-rounds",
        type=int,
        default=4,
        help="rounds of new candidates while fewer than --n molecules were made (default: 4)",
    )
    generate.add_argument(
        "--out-of-range",
        choices=("raise", "clip"),
        default="raise",
        help="targets beyond the trained range: refuse (default) or clip",
    )
    generate.add_argument("--seed", type=int, default=0, help="seeds the sampling (default: 0)")
    generate.add_argument("--errors", **_ERRORS)
    generate.add_argument(
        "--no-progress",
        action="store_true",
        help="hide the progress bar (shown by default for rounds of many fills)",
    )
    generate.set_defaults(handler=_cmd_generate)


def _add_generate_knobs(generate) -> None:
    """The options of ``sciml rt generate`` that default to :class:`GenerationConfig`'s."""
    chosen = "see sciml.rt.generation.GenerationConfig"
    generate.add_argument(
        "--mask-fraction",
        type=float,
        default=None,
        help="share of the seed's tokens re-generated: the locality knob, "
        "small = local edits, large = more property change (default: auto, 0.2 for SELFIES "
        f"models and 0.25 for SMILES ones; {chosen})",
    )
    generate.add_argument(
        "--temperature",
        type=float,
        default=None,
        help=f"sampling temperature of the fills, 0 = greedy (default: 1.0, {chosen})",
    )
    generate.add_argument(
        "--mask",
        choices=("scaffold", "spans", "atoms"),
        default=None,
        help="scaffold (default): spans in the side chains, keeping the seed's Murcko "
        "scaffold; spans: spans anywhere; atoms: atom tokens only (SMILES models)",
    )
    generate.add_argument(
        "--best-of",
        type=int,
        default=None,
        help="fills per candidate; keep the one the model predicts closest to the target "
        f"(default: auto, 4 for SELFIES models and SMILES ones; {chosen})",
    )
    generate.add_argument(
        "--similarity",
        type=float,
        default=None,
        help="weight of the Tanimoto similarity to the seed when the best of the fills is "
        "kept: the second locality knob, 0 = the predicted property alone, larger = outputs "
        f"nearer their seeds (default: auto, 0.5 for SELFIES models and 0 for SMILES ones; "
        f"{chosen})",
    )
    generate.add_argument(
        "--min-similarity",
        type=float,
        default=None,
        help="refuse fills whose Tanimoto similarity (Morgan r=2) to their seed is below "
        "this, in [0, 1): a hard locality bound, e.g. 0.4 (default: auto, "
        f"{chosen})",
    )
    generate.add_argument(
        "--pool",
        type=int,
        default=None,
        help="candidates (each with its own mask) per molecule asked for; the N that score "
        "best are kept, so the primer also chooses where the seed is edited, at POOL times "
        f"the cost (default: auto, 16 for SELFIES models and 1 for SMILES ones; {chosen})",
    )
    generate.add_argument(
        "--n-steps",
        type=int,
        default=None,
        help="unmasking passes per fill (default: auto, one pass for SELFIES models and one "
        f"token per pass for SMILES ones; {chosen})",
    )
