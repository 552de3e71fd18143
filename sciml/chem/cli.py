"""``sciml fit`` and ``sciml predict``: molecular property models from CSV files.

::

    sciml fit --train train.csv --smiles-col SMILES --targets HLM,RLM --model gnn --out runs/gnn \
        [--epochs 50] [--seed 0] [--val-fraction 0.1] [--val val.csv] [--ensemble 3] \
        [--errors raise|skip] [--set hidden=300 --set descriptors=false] \
        [--checkpoint-dir DIR] [--resume [DIR]] [--max-minutes M]
    sciml predict --model runs/gnn --input new.csv --smiles-col SMILES --output preds.csv \
        [--errors raise|skip|nan] [--targets HLM] [--std] [--chunk-size 10000]

``sciml predict`` streams: it reads, predicts and writes ``--chunk-size`` rows at a time,
so memory does not grow with the file. The output keeps every input column and the input
row order, adds a ``row`` column (the 0-based data row of the input) and, after the
predictions, ``max_tanimoto``, ``in_domain`` and ``note`` (applicability domain and
multi-fragment inputs, see :mod:`sciml.chem.domain`). An added column whose name the input
already uses gets the suffix ``_pred``. Both commands check their files (a directory, an
empty file, an unwritable output) before any work starts.

``--model`` names a class in :data:`sciml.chem.models.MODELS` (resolved by
:func:`sciml.cli.resolve`). Model options reach the model's configuration dataclass by
field name: the named flags in :data:`MODEL_OPTIONS` (passed only when given) and any
``--set FIELD=VALUE`` (VALUE read as JSON, else as a string). A model family that needs
more flags adds them with :func:`add_fit_arguments`-style ``argparse`` calls and lists
their ``dest`` in :data:`MODEL_OPTIONS`; new subcommands go into :func:`register`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["MODEL_OPTIONS", "add_fit_arguments", "add_predict_arguments", "model_options",
           "register"]

#: ``argparse`` destinations forwarded to the model's configuration when given.
MODEL_OPTIONS: list[str] = ["epochs", "seed", "val_fraction", "ensemble", "pretrained", "adapt",
                            "head"]


def _split_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated names, e.g. HLM,RLM")
    return names


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = {"none": None, "true": True, "false": False}.get(raw.lower(), raw)
    return key.strip(), value


def add_fit_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``sciml fit`` to ``parser``."""
    parser.add_argument("--train", required=True, metavar="FILE.csv", help="training CSV file")
    parser.add_argument("--smiles-col", default="smiles", metavar="COL",
                        help="column holding SMILES (default: smiles)")
    parser.add_argument("--targets", required=True, type=_split_names, metavar="A,B",
                        help="comma-separated endpoint columns; empty cells are missing "
                             "labels, any other non-number (n/a, NA, nan) is an error")
    parser.add_argument("--model", default="rf", metavar="NAME",
                        help="model kind: rf (random forest on RDKit descriptors), gnn "
                             "(D-MPNN) or transformer (SMILES encoder; see --pretrained, "
                             "--adapt, --head); default rf")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to save the model in")
    parser.add_argument("--val", metavar="FILE.csv",
                        help="validation CSV (same columns) for early stopping of neural models")
    parser.add_argument("--epochs", type=int, help="training epochs (neural models)")
    parser.add_argument("--seed", type=int, help="random seed")
    parser.add_argument("--val-fraction", type=float,
                        help="fraction of the training set held out to pick the best epoch "
                             "when --val is not given (neural models)")
    parser.add_argument("--ensemble", type=int, help="number of ensemble members (gnn)")
    parser.add_argument("--pretrained", metavar="CKPT",
                        help="transformer: checkpoint from 'sciml pretrain' (default: random init)")
    parser.add_argument("--adapt", choices=("mtr", "mlm", "both", "none"),
                        help="transformer: domain adaptation on the training molecules")
    parser.add_argument("--head", choices=("rf", "finetune"),
                        help="transformer: frozen embeddings + random forest, or fine-tuning")
    parser.add_argument("--set", dest="overrides", action="append", type=_key_value, default=[],
                        metavar="FIELD=VALUE",
                        help="set any configuration field of the model (repeatable), e.g. "
                             "--set hidden=300 --set descriptors=false")
    parser.add_argument("--errors", choices=("raise", "skip"), default="raise",
                        help="invalid SMILES in the training data: stop with a list of them "
                             "(raise, default) or drop those rows (skip)")
    from sciml._resume_cli import add_resume_arguments

    add_resume_arguments(parser, "OUT/checkpoints; neural models only")


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``sciml predict`` to ``parser``."""
    parser.add_argument("--model", required=True, metavar="DIR", help="folder written by sciml fit")
    parser.add_argument("--input", required=True, metavar="FILE.csv", help="CSV file with SMILES")
    parser.add_argument("--smiles-col", default="smiles", metavar="COL",
                        help="column holding SMILES (default: smiles)")
    parser.add_argument("--output", required=True, metavar="FILE.csv", help="predictions CSV")
    parser.add_argument("--targets", type=_split_names, metavar="A,B",
                        help="endpoints to predict (default: all the model knows)")
    parser.add_argument("--errors", choices=("raise", "skip", "nan"), default="raise",
                        help="invalid SMILES: stop with a list of them (raise, default), leave "
                             "their rows out (skip) or write empty predictions (nan)")
    parser.add_argument("--std", action="store_true",
                        help="add <endpoint>_std columns (spread over trees or ensemble members)")
    parser.add_argument("--chunk-size", type=int, default=10_000, metavar="N",
                        help="rows read, predicted and written at a time (default 10000); "
                             "memory does not grow with the file")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"),
                        help="transformer models only: autocast of the encoder (auto: bf16 on "
                             "CUDA, fp32 elsewhere; bf16 is faster on CPUs with AVX512-BF16)")


def model_options(args: argparse.Namespace, config_cls: type) -> dict[str, Any]:
    """Collect the configuration fields for ``config_cls`` from parsed arguments.

    Named flags in :data:`MODEL_OPTIONS` are passed when given; ``--set`` pairs always.
    A flag or field the configuration lacks raises ``ValueError`` naming the valid fields.
    """
    import dataclasses

    fields = [f.name for f in dataclasses.fields(config_cls)]
    options = {dest: getattr(args, dest) for dest in MODEL_OPTIONS
               if getattr(args, dest, None) is not None}
    options.update(dict(args.overrides))
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ValueError(f"model {args.model!r} has no option(s) {', '.join(unknown)}; "
                         f"its options are: {', '.join(fields)}")
    return options


def _print_invalid(invalid: list, what: str, action: str) -> None:
    if not invalid:
        return
    print(f"{what}: {len(invalid)} invalid SMILES {action}:", file=sys.stderr)
    for index, value, reason in invalid[:20]:
        print(f"  row {index}: {value!r}: {reason}", file=sys.stderr)
    if len(invalid) > 20:
        print(f"  ... and {len(invalid) - 20} more", file=sys.stderr)


def _save_or_rescue(model, out: str) -> Path:
    """Save ``model`` to ``out``; if that fails, save it to a temporary folder and say where."""
    import tempfile

    try:
        return model.save(out)
    except OSError as exc:
        rescue = Path(tempfile.mkdtemp(prefix="sciml-fit-"))
        model.save(rescue)
        raise ValueError(f"could not save the model to {out} ({exc.strerror or exc}); "
                         f"the fitted model is saved in {rescue} instead") from exc


def _cmd_fit(args: argparse.Namespace) -> int:
    from sciml._io import check_input_file, check_output_dir
    from sciml.chem.datasets import load_csv
    from sciml.chem.models import MODELS
    from sciml.cli import resolve

    cls = resolve("model", args.model, MODELS)
    model = cls(**model_options(args, cls.config_cls))
    check_input_file(args.train, "training data")
    if args.val:
        check_input_file(args.val, "validation data")
    # Before any work: an unwritable --out would otherwise lose the whole training run.
    check_output_dir(args.out, "--out folder")
    checkpoints = None
    if cls.trains_in_epochs:
        from pathlib import Path

        from sciml._resume_cli import checkpoints_from_args

        checkpoints = checkpoints_from_args(args, Path(args.out) / "checkpoints")
    elif args.resume is not None or args.checkpoint_dir or args.max_minutes is not None:
        raise ValueError(f"--resume, --checkpoint-dir and --max-minutes apply to models trained "
                         f"in epochs (gnn, transformer), not {args.model!r}")
    train = load_csv(args.train, args.smiles_col, args.targets)
    val_smiles = val_y = None
    if args.val:
        val = load_csv(args.val, args.smiles_col, args.targets)
        val_smiles, val_y = val["smiles"].tolist(), val[args.targets]
    start = time.perf_counter()
    model.fit(train["smiles"].tolist(), train[args.targets], val_smiles, val_y, errors=args.errors,
              checkpoints=checkpoints)
    seconds = time.perf_counter() - start
    _print_invalid(model.fit_info.get("invalid", []), args.train, "skipped")
    out = _save_or_rescue(model, args.out)
    if checkpoints is not None:
        checkpoints.finish()
    print(f"fitted {cls.__name__} on {model.fit_info['n_train']} molecules "
          f"({', '.join(model.targets)}) in {seconds:.1f} s; saved to {out}")
    return 0


def _without_descriptor_cache(model) -> None:
    """Switch off the on-disk descriptor cache of ``model`` and its members.

    A prediction file's molecules are usually seen once; caching them would make the cache
    (and the memory its merges need) grow with the file.
    """
    import dataclasses

    if "descriptor_cache" in {f.name for f in dataclasses.fields(model.config)}:
        model.config = dataclasses.replace(model.config, descriptor_cache=False)
    for member in getattr(model, "members", []):
        _without_descriptor_cache(member)


def _output_columns(preds_columns: list[str], input_columns: list[str]) -> dict[str, str]:
    """Names of the added columns: ``<name>_pred`` where the input already has ``<name>``."""
    return {c: f"{c}_pred" if c in input_columns else c for c in preds_columns}


def _cmd_predict(args: argparse.Namespace) -> int:
    import warnings

    import pandas as pd

    from sciml._io import atomic_write, check_input_file, check_output_file, read_csv_chunks
    from sciml.chem.models import load_model
    from sciml.chem.models.base import DomainWarning
    from sciml.chem.smiles import InvalidSmiles, InvalidSmilesError

    check_input_file(args.input, "input")
    check_output_file(args.output, "--output")
    if args.precision is None:
        model = load_model(args.model)
    else:
        from sciml.chem.transformer import MolecularPropertyPredictor

        model = MolecularPropertyPredictor.load(args.model, precision=args.precision).model
    _without_descriptor_cache(model)
    if args.chunk_size < 1:
        raise ValueError(f"--chunk-size must be at least 1, got {args.chunk_size}")
    # Every cell read as text: ID columns keep leading zeros, and 'NA' stays 'NA'.
    chunks = read_csv_chunks(args.input, args.chunk_size, "input", dtype=str,
                             keep_default_na=False)
    invalid: list[InvalidSmiles] = []
    n_rows = n_written = n_outside = 0
    header_written = False
    failing = False  # errors=raise and a bad row seen: only validate the rest, to list all
    with atomic_write(args.output, "w", newline="") as handle:
        for chunk in chunks:
            if args.smiles_col not in chunk.columns:
                raise KeyError(f"{args.input} has no column {args.smiles_col!r}; columns are "
                               f"{list(chunk.columns)}")
            row_name = "row" if "row" not in chunk.columns else "row_pred"
            chunk.index = pd.RangeIndex(n_rows, n_rows + len(chunk), name=row_name)
            smiles = chunk[args.smiles_col].str.strip()
            if failing:
                bad = model.check_inputs(smiles.tolist())[1]
                invalid += [InvalidSmiles(b.index + n_rows, b.value, b.reason) for b in bad]
                n_rows += len(chunk)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DomainWarning)  # one summary at the end
                preds = model.predict(smiles, errors="nan" if args.errors == "raise"
                                      else args.errors, targets=args.targets,
                                      return_std=args.std, domain=True)
            invalid += [InvalidSmiles(i + n_rows, v, r) for i, v, r in preds.attrs["invalid"]]
            n_rows += len(chunk)
            if invalid and args.errors == "raise":
                failing = True
                continue
            n_outside += int((~preds["in_domain"].fillna(True)).sum())
            preds = preds.rename(columns=_output_columns(list(preds.columns),
                                                         list(chunk.columns)))
            preds.index.name = row_name
            out = chunk.loc[preds.index].join(preds)
            out.to_csv(handle, header=not header_written)
            header_written = True
            n_written += len(out)
        if n_rows == 0:
            raise ValueError(f"input file {args.input} has a header but no rows")
        if failing:
            raise InvalidSmilesError(invalid, total=n_rows)
    _print_invalid([(b.index, b.value, b.reason) for b in invalid], args.input,
                   "left out of the output" if args.errors == "skip"
                   else "kept as rows with empty predictions")
    names = model.targets if args.targets is None else args.targets
    print(f"wrote {n_written} predictions of {', '.join(names)} to {args.output}")
    if n_outside:
        print(f"sciml predict: warning: {n_outside} of {n_written} molecules are outside the "
              "model's applicability domain (in_domain=False; the note column says why); "
              "their predictions are extrapolations", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fit`` and ``predict`` to the ``sciml`` command line."""
    fit = subparsers.add_parser(
        "fit", help="fit a molecular property model on a CSV file",
        description="Fit a molecular property model (rf: random forest on RDKit descriptors; "
                    "gnn: D-MPNN) on SMILES and endpoint columns of a CSV file, and save it.")
    add_fit_arguments(fit)
    from sciml._resume_cli import stops_on_budget

    fit.set_defaults(handler=stops_on_budget(_cmd_fit))
    predict = subparsers.add_parser(
        "predict", help="predict endpoints for the SMILES in a CSV file",
        description="Predict endpoints (physical units) with a model saved by 'sciml fit'.")
    add_predict_arguments(predict)
    predict.set_defaults(handler=_cmd_predict)
