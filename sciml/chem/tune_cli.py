"""``sciml tune``: search a molecular model's options with Optuna on training folds.

::

    sciml tune --train train.csv --smiles-col SMILES --targets HLM,RLM --model gbm \
        --trials 30 --folds 3 --out runs/tune-gbm [--storage sqlite:///tune.db] \
        [--study-name NAME] [--transform auto] [--set n_jobs=1] [--max-minutes 60]
    sciml tune --train train.csv --targets HLM,RLM --model best --members gbm,gbm_rich \
        --set threads=1 --set gnn.epochs=5 --trials 10 --out runs/tune-best

The search space scales with the training part of the folds (see
:func:`sciml.chem.tune.search_space`); the first trial is the model's defaults. Writes ``OUT/best_config.json`` (read by ``sciml fit --config``) and ``OUT/trials.csv``.
Several processes given the same ``--storage`` and ``--study-name`` work on one study in
parallel (SQLite on one machine; an RDB URL such as ``postgresql://...`` across machines).
"""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _cmd_tune(args: argparse.Namespace) -> int:

    from sciml._io import check_output_dir
    from sciml.chem.datasets import load_csv
    from sciml.chem.transforms import parse_transform_options
    from sciml.chem.tune import tune

    check_output_dir(args.out, "--out folder")  # before the search, not after it
    fixed = dict(args.overrides)
    if args.members is not None:
        if args.model != "best":
            raise ValueError(f"--members applies to --model best, not --model {args.model}")
        fixed["members"] = args.members
    train = load_csv(args.train, args.smiles_col, args.targets)
    result = tune(
        train["smiles"].tolist(),
        train[args.targets],
        args.model,
        trials=args.trials,
        folds=args.folds,
        seed=args.seed,
        # As 'sciml fit': --model best transforms targets by the auto rule unless told.
        transforms=parse_transform_options(args.transform)
        if args.transform
        else ("auto" if args.model == "best" else None),
        fixed=fixed,
        storage=args.storage,
        study_name=args.study_name,
        timeout=None if args.max_minutes is None else 60 * args.max_minutes,
        progress=not args.no_progress,
    )
    folder = result.save(args.out)
    print(
        f"best mean {args.folds}-fold R² {result.best_score:.3f} over "
        f"{len(result.trials)} trial(s) with {result.best_params}; wrote "
        f"{folder / 'best_config.json'} (use: sciml fit --config {folder / 'best_config.json'}"
        f" ...) and {folder / 'trials.csv'}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tune`` to the ``sciml`` command line."""
    from sciml.chem.cli import _key_value, _split_names

    p = subparsers.add_parser(
        "tune",
        help="search a molecular model's options with Optuna (training folds only)",
        description="Search the options of a molecular model (rf, gbm, gnn, kernel, or best: the "
        "stack of 'sciml fit') by K-fold cross-validation inside the training CSV (the "
        "test set is never used), starting from the model's defaults, with ranges scaled "
        "to the number of molecules, and write the best configuration for "
        "'sciml fit --config'.",
    )
    p.add_argument("--train", required=True, metavar="FILE.csv", help="training CSV file")
    p.add_argument(
        "--smiles-col",
        default="smiles",
        metavar="COL",
        help="column holding SMILES (default: smiles)",
    )
    p.add_argument(
        "--targets",
        required=True,
        type=_split_names,
        metavar="A,B",
        help="comma-separated endpoint columns; empty cells are missing labels",
    )
    p.add_argument(
        "--model",
        default="gbm",
        choices=("rf", "gbm", "gnn", "kernel", "best"),
        help="model kind to tune (default: gbm). gbm searches its feature set too; kernel "
        "its fingerprint/descriptor mix, RBF width and Morgan radius; best "
        "searches its members, inner folds (3 or 5), weights or best member per endpoint, "
        "its LightGBM members' feature sets, learning rates and leaf sizes, and the kernel "
        "member's mix and width",
    )
    p.add_argument(
        "--members",
        type=_split_names,
        metavar="A,B",
        help="--model best: the members to stack (from gbm, gbm_rich, gnn, kernel, "
        "catboost_rich), held fixed; "
        "default: which members is searched too",
    )
    p.add_argument(
        "--trials", type=int, default=20, help="trials run by this process (default: 20)"
    )
    p.add_argument(
        "--folds",
        type=int,
        default=3,
        help="cross-validation folds inside the training data (default: 3)",
    )
    p.add_argument(
        "--transform",
        action="append",
        metavar="KIND|NAME=KIND",
        help="target transform used in every fold (see 'sciml fit --help'; default: "
        "auto for best, as 'sciml fit' does, none otherwise)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=_key_value,
        default=[],
        metavar="FIELD=VALUE",
        help="hold a model option fixed during the search (repeatable), "
        "e.g. --set n_jobs=1 --set epochs=20; for best, stack options (threads, seed, "
        "inner_folds, select_best) or a member's as LABEL.FIELD, e.g. --set gnn.epochs=5",
    )
    p.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage shared by parallel workers, e.g. sqlite:///tune.db "
        "(default: in memory, this process only)",
    )
    p.add_argument(
        "--study-name",
        metavar="NAME",
        help="study name in --storage (default: sciml-MODEL); an existing study is continued",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the folds and the sampler")
    p.add_argument(
        "--max-minutes", type=float, metavar="M", help="start no new trial after M minutes"
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="folder for best_config.json and trials.csv"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    from sciml._cli_compat import add_deprecated_flag

    add_deprecated_flag(p, "--quiet", "--no-progress", "no_progress")
    p.set_defaults(handler=_cmd_tune)
