"""``sciml pretrain`` and ``sciml adapt``: the transformer's training stages.

Examples
--------
::

    sciml pretrain --corpus chembl30_sample --n-molecules 30000 --size small --out pre.pt
    sciml adapt --init-from pre.pt --train train.csv --smiles-col SMILES --objective mtr \
        --out adapted.pt

``--corpus`` is a named data set (:func:`sciml.chem.datasets.dataset_names`) or a file
(CSV with ``--smiles-col``, or one SMILES per line). Torch is imported inside the handlers.
"""

from __future__ import annotations

import argparse

from sciml._resume_cli import stops_on_budget

__all__ = ["register"]


def _read_smiles(source: str, column: str, what: str) -> list[str]:
    from pathlib import Path

    from sciml._io import check_input_file, read_csv
    from sciml.chem.datasets import dataset_names, load_dataset, load_smiles_file

    if source in dataset_names():
        return load_dataset(source)["smiles"].tolist()
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(
            f"{source!r} is neither a data set ({', '.join(dataset_names())}) nor a file"
        )
    check_input_file(path, what)
    if path.name.lower().removesuffix(".gz").endswith(".csv"):
        frame = read_csv(path, what)
        if column not in frame:
            raise KeyError(f"{path} has no column {column!r}; columns: {list(frame.columns)}")
        return frame[column].astype(str).str.strip().tolist()
    return load_smiles_file(path)["smiles"].tolist()


def _size(text: str) -> int | float:
    value = float(text)
    return value if "." in text else int(value)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--smiles-col",
        default="smiles",
        metavar="COL",
        help="SMILES column of a CSV input (default: smiles)",
    )
    parser.add_argument(
        "--epochs", type=int, help="training epochs (default: pretrain 5, adapt 30)"
    )
    parser.add_argument(
        "--batch-size", type=int, help="molecules per batch (default: pretrain 128, adapt 64)"
    )
    parser.add_argument(
        "--lr", type=float, help="peak learning rate (default: pretrain 5e-4, adapt 1e-3)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", required=True, metavar="FILE.pt", help="checkpoint to write")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    from sciml._cli_compat import add_deprecated_flag

    add_deprecated_flag(parser, "--quiet", "--no-progress", "no_progress")
    parser.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16"),
        default="auto",
        help="training autocast: auto (bf16 on CUDA, fp32 elsewhere), fp32, or "
        "bf16 (also on CPUs with AVX-512 BF16/AMX; fp32 master weights)",
    )
    from sciml._resume_cli import add_resume_arguments

    add_resume_arguments(parser, "OUT with the suffix .checkpoints, e.g. pre.checkpoints")


def _options(args: argparse.Namespace) -> dict:
    from sciml._resume_cli import checkpoints_from_args, default_checkpoint_dir

    names = {"epochs": "epochs", "batch_size": "batch_size", "lr": "lr"}
    options = {
        key: getattr(args, attr) for attr, key in names.items() if getattr(args, attr) is not None
    }
    options["checkpoints"] = checkpoints_from_args(args, default_checkpoint_dir(args.out))
    options["precision"] = args.precision
    return options


def _report(stage) -> None:
    last = stage.info["stages"][-1]
    losses = {
        k: round(v, 4) for k, v in last["final"].items() if k.endswith(("loss", "mlm", "mtr"))
    }
    print(
        f"{last['stage']} ({last['objective']}) on {last['n_molecules']} molecules, "
        f"{last['epochs']} epochs: {losses}"
    )
    print(f"wrote {stage.path}")


#: ``--token-cache auto`` caches corpora from this size: below it tokenising takes seconds.
_TOKEN_CACHE_FROM = 100_000


def _use_token_cache(choice: str, n_molecules: int) -> bool:
    return choice == "on" or (choice == "auto" and n_molecules >= _TOKEN_CACHE_FROM)


def _cmd_pretrain(args: argparse.Namespace) -> int:
    from sciml._io import check_output_file
    from sciml.chem.transformer import pretrain

    check_output_file(args.out, "--out")
    corpus = _read_smiles(args.corpus, args.smiles_col, "corpus")
    vocab = (
        _read_smiles(args.vocab_from, args.smiles_col, "vocabulary SMILES")
        if args.vocab_from
        else None
    )
    options = _options(args)
    overrides = {} if args.dropout is None else {"dropout": args.dropout}
    stage = pretrain(
        corpus,
        size=args.size,
        objective=args.objective,
        n_molecules=args.n_molecules,
        seed=args.seed,
        output=args.out,
        progress=not args.no_progress,
        corpus_name=args.corpus,
        vocab_smiles=vocab,
        token_cache=_use_token_cache(args.token_cache, len(corpus)),
        epoch_size=args.epoch_size,
        val_fraction=args.val_fraction,
        encoder_overrides=overrides,
        **options,
    )
    options["checkpoints"].finish()
    _report(stage)
    return 0


def _cmd_adapt(args: argparse.Namespace) -> int:
    from sciml._cli_compat import require
    from sciml._io import check_input_file, check_output_file
    from sciml.chem.transformer import adapt

    require(args, init_from="--init-from")
    check_input_file(args.init_from, "--init-from checkpoint")
    check_output_file(args.out, "--out")
    smiles = _read_smiles(args.train, args.smiles_col, "training data")
    options = _options(args)
    stage = adapt(
        args.init_from,
        smiles,
        objective=args.objective,
        seed=args.seed,
        output=args.out,
        progress=not args.no_progress,
        **options,
    )
    options["checkpoints"].finish()
    _report(stage)
    return 0


# The names of sciml.encoder.ENCODER_SIZES, spelled out so that `sciml --help` needs no torch
# import; pretrain() validates the name against the real table.
_SIZES = ("tiny", "small", "base")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pretrain`` and ``adapt`` to the ``sciml`` command line."""
    p = subparsers.add_parser(
        "pretrain",
        help="pre-train a SMILES transformer (MLM/MTR)",
        description="Pre-train a SMILES transformer encoder on a corpus "
        "and write a self-describing checkpoint.",
    )
    p.add_argument(
        "--corpus",
        required=True,
        metavar="NAME|FILE",
        help="data set name (e.g. chembl30_sample, guacamol) or SMILES file",
    )
    p.add_argument(
        "--n-molecules",
        type=_size,
        metavar="N|FRACTION",
        help="molecules to use: a count (30000) or a fraction (0.3); default all",
    )
    p.add_argument("--size", default="small", choices=_SIZES, help="encoder size (default: small)")
    p.add_argument(
        "--objective",
        default="mlm",
        choices=("mlm", "mtr", "both"),
        help="pre-training objective (default: mlm)",
    )
    p.add_argument(
        "--vocab-from",
        metavar="NAME|FILE",
        help="more SMILES whose tokens join the corpus vocabulary, e.g. "
        "chembl30_sample next to MOSES (which has no charged atoms)",
    )
    p.add_argument(
        "--epoch-size",
        type=int,
        metavar="N",
        help="molecules per epoch (default: the whole corpus); epochs walk "
        "through shuffled passes, so checkpoints, validation and "
        "--max-minutes act every N molecules",
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.02,
        metavar="F",
        help="share of the corpus held out for the validation loss (default: 0.02)",
    )
    p.add_argument(
        "--dropout",
        type=float,
        metavar="P",
        help="encoder dropout (default: the size's, 0.1); 0 trains faster on a "
        "large corpus seen about once",
    )
    p.add_argument(
        "--token-cache",
        choices=("auto", "on", "off"),
        default="auto",
        help="MLM: read token ids memory-mapped from a cache on disk (built on the "
        "first run) instead of tokenising in memory; auto: for corpora of "
        f"{_TOKEN_CACHE_FROM:,} molecules or more (default: auto)",
    )
    _common(p)
    p.set_defaults(handler=stops_on_budget(_cmd_pretrain))

    a = subparsers.add_parser(
        "adapt",
        help="domain-adapt a pre-trained transformer",
        description="Continue training a checkpoint on a data set's "
        "training molecules (MTR on RDKit descriptors, "
        "MLM, or both).",
    )
    a.add_argument(
        "--init-from",
        metavar="FILE.pt",
        help="encoder to adapt: a checkpoint from 'sciml pretrain' or an earlier "
        "'sciml adapt' (required)",
    )
    from sciml._cli_compat import add_deprecated

    add_deprecated(a, "--checkpoint", "--init-from", "init_from")
    a.add_argument(
        "--train",
        required=True,
        metavar="NAME|FILE",
        help="training molecules: data set name or file (never the test set)",
    )
    a.add_argument(
        "--objective",
        default="mtr",
        choices=("mtr", "mlm", "both"),
        help="adaptation objective (default: mtr)",
    )
    _common(a)
    a.set_defaults(handler=stops_on_budget(_cmd_adapt))
