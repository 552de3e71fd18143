"""``sciml fit`` and ``sciml predict``: molecular property models from CSV files.

::

    sciml fit --train train.csv --smiles-col SMILES --targets HLM,RLM --out runs/adme \
        [--model best|rf|gbm|gnn|transformer|ensemble] [--threads 1] [--transform auto] \
        [--set gnn.hidden=300 --set gbm.num_leaves=63] [--calibration 0.15] \
        [--epochs 50] [--seed 0] [--val-fraction 0.1] [--val val.csv] [--ensemble 3] \
        [--errors raise|skip] [--checkpoint-dir DIR] [--resume [DIR]] [--max-minutes M]
    sciml predict --model runs/adme --input new.csv --smiles-col SMILES --out preds.csv \
        [--errors raise|skip|nan] [--targets HLM] [--std] [--interval 0.9] [--chunk-size 10000]
    sciml predict --model biogen-adme --input my.csv --out preds.csv   # shipped, no training

The default model is ``best`` (:func:`sciml.chem.models.best_recipe`): LightGBM on two
feature sets and a D-MPNN, stacked per endpoint by weights fitted on inner CV folds of the
training data, with ``--transform auto``; with several endpoints, each is corrected by the
members' predictions of the others where nested CV on those folds says it helps
(``cross_endpoint``; ``--set cross_endpoint=false`` turns it off). It checkpoints every
member fit, so ``--resume`` continues a killed fit and ``--max-minutes`` (CPU minutes) stops
it cleanly.

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

__all__ = [
    "MODEL_OPTIONS",
    "add_fit_arguments",
    "add_predict_arguments",
    "model_options",
    "register",
]

#: ``argparse`` destinations forwarded to the model's configuration when given
#: (``--epochs`` is mapped to the model's :attr:`~MoleculeModel.epoch_fields`).
MODEL_OPTIONS: list[str] = ["seed", "val_fraction", "ensemble", "pretrained", "adapt", "head"]


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
    parser.add_argument(
        "--smiles-col",
        default="smiles",
        metavar="COL",
        help="column holding SMILES (default: smiles)",
    )
    parser.add_argument(
        "--targets",
        required=True,
        type=_split_names,
        metavar="A,B",
        help="comma-separated endpoint columns; empty cells are missing "
        "labels, any other non-number (n/a, NA, nan, inf) is an error. "
        "Each endpoint needs at least 3 labelled molecules (fewer than 20 "
        "warn) and must not be constant. Isotope labels in the SMILES "
        "are stripped",
    )
    parser.add_argument(
        "--model",
        default=None,
        metavar="NAME",
        help="model kind: best (default: two LightGBMs, a D-MPNN and a kernel "
        "ridge stacked by weights fitted on inner CV folds of the training "
        "data, with --transform auto), rf (random forest on RDKit "
        "descriptors), gbm (LightGBM on Morgan counts + descriptors), "
        "catboost (CatBoost on the same features), kernel (kernel ridge, the "
        "Gaussian-process mean, on Morgan-count and descriptor similarity), "
        "gnn (D-MPNN), "
        "transformer (SMILES encoder; see --pretrained, --adapt, --head) or "
        "ensemble (average of --members); or the model of "
        "--config. 'sciml fit --model NAME --help' lists NAME's options",
    )
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="threads of every model and member: LightGBM's num_threads, "
        "descriptor workers, forests' n_jobs and torch threads (default: "
        "the libraries' own; 1 on a busy machine)",
    )
    parser.add_argument(
        "--members",
        type=_split_names,
        metavar="A,B",
        help="--model ensemble: the kinds to average, e.g. rf,gbm,gnn "
        "(each with its default options and --seed); --model best: the "
        "labels of the stack's members (default gbm,gbm_rich,gnn,kernel; add "
        "catboost_rich for CatBoost on the rich features)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE.json",
        help="model kind, options and transforms from 'sciml tune' "
        "(best_config.json; for --model best, the stack's options and its members' "
        "under their labels); flags given here override it",
    )
    parser.add_argument(
        "--transform",
        action="append",
        metavar="KIND|NAME=KIND",
        help="target transform, fitted on the training data and undone at "
        "prediction: none, log10, log1p, logit (fractions or "
        "percentages) or auto (log10 for positive targets spanning two "
        "decades or right-skewed, e.g. half-lives and clearances); KIND for "
        "every endpoint or NAME=KIND for one (repeatable); default: auto "
        "for --model best, none otherwise",
    )
    parser.add_argument(
        "--calibration",
        type=float,
        metavar="FRACTION",
        help="hold out this fraction of the training molecules to calibrate "
        "conformal intervals ('sciml predict --interval 0.9'), e.g. 0.15; "
        "binary endpoints also get calibrated probabilities from it",
    )
    parser.add_argument(
        "--task",
        action="append",
        default=[],
        metavar="NAME=KIND",
        help="endpoint kind, binary or regression (repeatable); by default a "
        "column holding only 0 and 1 (or two words such as active/"
        "inactive) is binary and is trained as a classifier",
    )
    parser.add_argument(
        "--class-weight",
        choices=("none", "balanced"),
        default="none",
        help="binary endpoints: weight positive labels by n_negative/"
        "n_positive in training (balanced) for rare classes; calibrate "
        "(--calibration) when the probabilities matter (default none)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to save the model in")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a model already saved in --out (without it, a folder "
        "holding a model.json is an error)",
    )
    parser.add_argument(
        "--val",
        metavar="FILE.csv",
        help="validation CSV (same columns) for early stopping of neural models",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="training epochs of neural models: gnn's epochs; transformer's "
        "domain-adaptation and fine-tuning stages",
    )
    parser.add_argument("--seed", type=int, help="random seed")
    parser.add_argument(
        "--val-fraction",
        type=float,
        help="fraction of the training set held out to pick the best epoch "
        "when --val is not given (neural models)",
    )
    parser.add_argument("--ensemble", type=int, help="number of ensemble members (gnn)")
    parser.add_argument(
        "--pretrained",
        metavar="CKPT",
        help="transformer: the encoder to start from, a shipped name (e.g. "
        "moses_mlm_small.pt) or a 'sciml pretrain' checkpoint; 'none': "
        "a random encoder of --set size=... (default: "
        "moses_mlm_small.pt, pre-trained on 1M MOSES molecules)",
    )
    parser.add_argument(
        "--adapt",
        choices=("mtr", "mlm", "both", "none"),
        help="transformer: domain adaptation on the training molecules",
    )
    parser.add_argument(
        "--head",
        choices=("rf", "finetune"),
        help="transformer: frozen embeddings + random forest, or fine-tuning",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=_key_value,
        default=[],
        metavar="FIELD=VALUE",
        help="set any configuration field of the model (repeatable), e.g. "
        "--set hidden=300 --set descriptors=false; for best and ensemble "
        "address a member: --set gnn.hidden=300 --set gbm.num_leaves=63; best's own "
        "options are bare: --set cross_endpoint=false --set inner_folds=5",
    )
    parser.add_argument(
        "--errors",
        choices=("raise", "skip"),
        default="raise",
        help="invalid SMILES in the training data: stop with a list of them "
        "(raise, default) or drop those rows (skip)",
    )
    from sciml._resume_cli import add_resume_arguments

    add_resume_arguments(
        parser,
        "OUT/checkpoints; best, gnn and transformer models; "
        "for best, --max-minutes counts CPU minutes and is checked "
        "between member fits",
    )


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``sciml predict`` to ``parser``."""
    parser.add_argument(
        "--model",
        required=True,
        metavar="DIR|NAME",
        help="folder written by sciml fit, or a shipped model: biogen-adme "
        "(six Biogen ADME endpoints, log10 units, trained on 3521 "
        "molecules; gives 90%% intervals unless --interval says otherwise)",
    )
    parser.add_argument("--input", required=True, metavar="FILE.csv", help="CSV file with SMILES")
    parser.add_argument(
        "--smiles-col",
        default="smiles",
        metavar="COL",
        help="column holding SMILES (default: smiles)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE.csv",
        help="predictions CSV to write (the input's columns plus predictions)",
    )
    from sciml._cli_compat import add_deprecated

    add_deprecated(parser, "--output", "--out", "out")
    parser.add_argument(
        "--targets",
        type=_split_names,
        metavar="A,B",
        help="endpoints to predict (default: all the model knows)",
    )
    parser.add_argument(
        "--errors",
        choices=("raise", "skip", "nan"),
        default="raise",
        help="invalid SMILES (unparsable, non-ASCII characters): stop with a "
        "list of them (raise, default), leave their rows out (skip) or "
        "write empty predictions with the reason in the note column (nan). "
        "Isotope labels ([2H], [13C]) are stripped and noted: such a "
        "molecule is predicted as the unlabelled one",
    )
    parser.add_argument(
        "--std",
        action="store_true",
        help="add <endpoint>_std columns (spread over trees or ensemble members)",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=10_000,
        metavar="N",
        help="rows read, predicted and written at a time (default 10000); "
        "memory does not grow with the file",
    )
    parser.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16"),
        help="transformer models only: autocast of the encoder (auto: bf16 on "
        "CUDA, fp32 elsewhere; bf16 is faster on CPUs with AVX512-BF16)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        metavar="LEVEL",
        help="add <endpoint>_lower/_upper columns: a conformal interval of this "
        "coverage, e.g. 0.9 (needs a model fitted with --calibration); "
        "binary endpoints get a prediction set <endpoint>_set instead",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="P",
        help="binary endpoints: probability at or above which <endpoint>_class "
        "is the positive class (default 0.5)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --out file (without it, an existing file is an error)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a killed or interrupted run: the finished chunks are "
        "in OUT.partial (a valid CSV) with progress in OUT.partial.json; "
        "give the same options as the first run",
    )


def model_options(args: argparse.Namespace, model_cls: type) -> dict[str, Any]:
    """Collect the configuration fields of ``model_cls`` from parsed arguments.

    The options of ``--config`` come first, then the named flags in :data:`MODEL_OPTIONS`
    (when given), ``--epochs`` mapped to the model's ``epoch_fields``, and ``--set`` pairs.
    A flag or field the configuration lacks raises ``ValueError`` naming the valid fields.
    """
    from sciml.chem.models.options import option_sources

    fields = list(option_sources(model_cls.config_cls))
    options = dict(getattr(args, "config_options", {}))
    options.update(
        {
            dest: getattr(args, dest)
            for dest in MODEL_OPTIONS
            if getattr(args, dest, None) is not None
        }
    )
    if getattr(args, "epochs", None) is not None:
        epoch_fields = model_cls.epoch_fields
        if not epoch_fields:
            raise ValueError(
                f"model {args.model!r} is not trained in epochs; --epochs applies "
                "to gnn and transformer"
            )
        options.update(dict.fromkeys(epoch_fields, args.epochs))
    options.update(dict(args.overrides))
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ValueError(
            f"model {args.model!r} has no option(s) {', '.join(unknown)}; "
            f"its options are: {', '.join(fields)}"
        )
    return options


def _print_invalid(invalid: list, what: str, action: str, total: int | None = None) -> None:
    total = len(invalid) if total is None else total
    if not total:
        return
    print(f"{what}: {total} invalid SMILES {action}:", file=sys.stderr)
    for index, value, reason in invalid[:20]:
        print(f"  row {index}: {value!r}: {reason}", file=sys.stderr)
    if total > 20:
        print(f"  ... and {total - 20} more", file=sys.stderr)


def _save_or_rescue(model, out: str) -> Path:
    """Save ``model`` to ``out``; if that fails, save it to a temporary folder and say where."""
    import tempfile

    try:
        return model.save(out)
    except OSError as exc:
        rescue = Path(tempfile.mkdtemp(prefix="sciml-fit-"))
        model.save(rescue)
        raise ValueError(
            f"could not save the model to {out} ({exc.strerror or exc}); "
            f"the fitted model is saved in {rescue} instead"
        ) from exc


def _cmd_fit(args: argparse.Namespace) -> int:
    from sciml._io import check_input_file, check_output_dir
    from sciml.chem.datasets import load_csv
    from sciml.chem.models import MODELS
    from sciml.chem.transforms import parse_transform_options
    from sciml.cli import resolve

    transforms = _read_config(args)
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    if args.model not in ("ensemble", "best", None) and args.members:
        raise ValueError("--members applies to --model ensemble and --model best")
    if args.model == "ensemble":
        model = _ensemble(args)
        cls = type(model)
    elif args.model == "best":
        model = _best(args)
        cls = type(model)
        transforms = "auto" if transforms is None else transforms
    else:
        cls = resolve("model", args.model, MODELS)
        options = model_options(args, cls)
        if args.threads is not None and _threads_field(cls, args.model):
            options.setdefault(_threads_field(cls, args.model), args.threads)
        model = cls(**options)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    if args.transform:
        transforms = parse_transform_options(args.transform)
    check_input_file(args.train, "training data")
    if args.val:
        check_input_file(args.val, "validation data")
    # Before any work: an unwritable --out would otherwise lose the whole training run, and
    # an existing model there is only replaced when asked (a resumed run replaces nothing).
    from sciml.chem.models.base import META_FILE

    check_output_dir(
        args.out,
        "--out folder",
        marker=META_FILE,
        overwrite=args.overwrite or bool(args.resume is not None),
    )
    checkpoints = None
    if cls.trains_in_epochs:
        from pathlib import Path

        from sciml._resume_cli import checkpoints_from_args

        if args.model == "best":  # either budget: CPU minutes, checked between member fits
            cpu = getattr(args, "max_cpu_minutes", None)
            model.max_cpu_minutes = args.max_minutes if cpu is None else cpu
            args = argparse.Namespace(
                **{**vars(args), "max_minutes": None, "max_cpu_minutes": None}
            )
        checkpoints = checkpoints_from_args(args, Path(args.out) / "checkpoints")
        args.checkpoint_folder = Path(checkpoints.directory)  # named if interrupted
    elif (
        args.resume is not None
        or args.checkpoint_dir
        or args.max_minutes is not None
        or getattr(args, "max_cpu_minutes", None) is not None
    ):
        raise ValueError(
            f"--resume, --checkpoint-dir and --max-minutes (or --max-cpu-minutes) apply to models trained "
            f"in epochs and stacks (best, gnn, transformer), not {args.model!r}"
        )
    train = load_csv(args.train, args.smiles_col, args.targets)
    tasks = _fit_tasks(args, train)
    val_smiles = val_y = None
    if args.val:
        val = load_csv(args.val, args.smiles_col, args.targets)
        val_smiles, val_y = val["smiles"].tolist(), val[args.targets]
    start = time.perf_counter()
    model.fit(
        train["smiles"].tolist(),
        train[args.targets],
        val_smiles,
        val_y,
        errors=args.errors,
        checkpoints=checkpoints,
        transforms=transforms,
        calibration=args.calibration,
        tasks=tasks,
    )
    seconds = time.perf_counter() - start
    _print_invalid(model.fit_info.get("invalid", []), args.train, "skipped")
    out = _save_or_rescue(model, args.out)
    if checkpoints is not None:
        checkpoints.finish()
        if hasattr(model, "clear_checkpoints"):
            model.clear_checkpoints(checkpoints)
    extras = []
    if "auto" in model.transforms.requested.values():
        print(f"target transforms: {model.transforms.explain()}")
    elif not model.transforms.is_identity:
        extras.append(f"target transforms: {model.transforms.describe()}")
    if "weights" in model.fit_info:
        print(
            "stacking weights (fitted on inner folds of the training data): "
            + "; ".join(
                f"{t}: " + ", ".join(f"{k} {w:.2f}" for k, w in ws.items())
                for t, ws in model.fit_info["weights"].items()
            )
        )
    if model.fit_info.get("cross_endpoint"):
        print(
            "cross-endpoint correction (nested CV R² on inner folds, weights alone -> "
            "corrected; kept when it gains >= 0.005): "
            + "; ".join(
                f"{t}: {r['cv_r2_weights']:.3f} -> {r['cv_r2_cross']:.3f} "
                + ("kept" if r["kept"] else "not kept")
                for t, r in model.fit_info["cross_endpoint"].items()
            )
        )
    if "n_calibration" in model.fit_info:
        extras.append(
            f"{model.fit_info['n_calibration']} molecules held out to calibrate intervals"
        )
    elif model.conformal is not None:
        extras.append(f"intervals calibrated on {model.fit_info.get('conformal', 'held-out data')}")
    print(
        f"fitted {cls.__name__} on {model.fit_info['n_train']} molecules "
        f"({', '.join(model.targets)}) in {seconds:.1f} s; saved to {out}"
        + "".join(f"; {e}" for e in extras)
    )
    return 0


def _fit_tasks(args: argparse.Namespace, train):
    """Each endpoint's task: detected from its labels, ``--task`` overriding; says what it found."""
    import dataclasses

    import numpy as np

    from sciml.train.tasks import BinaryTask, Tasks, infer_tasks, parse_task_options

    kinds = parse_task_options(args.task)
    columns = {t: train[t].to_numpy(dtype=float) for t in args.targets}
    tasks = infer_tasks(columns, kinds, classes=train.attrs.get("classes", {}))
    if args.class_weight == "balanced":
        weighted = []
        for task in tasks:
            if isinstance(task, BinaryTask):
                labels = columns[task.name][~np.isnan(columns[task.name])]
                n_pos = max(int(labels.sum()), 1)
                task = dataclasses.replace(task, pos_weight=(labels.size - n_pos) / n_pos)
            weighted.append(task)
        tasks = Tasks(tuple(weighted))
    for task in tasks:
        if isinstance(task, BinaryTask):
            detected = (
                ""
                if task.name in kinds
                else (f" (detected; --task {task.name}=regression to train a regressor)")
            )
            print(
                f"{task.name}: binary endpoint, training a classifier{detected}; "
                f"0 = {task.classes[0]!r}, 1 = {task.classes[1]!r}",
                file=sys.stderr,
            )
    return tasks


def _read_config(args: argparse.Namespace):
    """Apply ``--config`` (a 'sciml tune' result): model kind, options, transforms."""
    args.config_options = {}
    if not args.config:
        args.model = args.model or "best"
        return None
    from sciml._io import check_input_file

    check_input_file(args.config, "--config")
    try:
        config = json.loads(Path(args.config).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"--config {args.config} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict) or not isinstance(config.get("options", {}), dict):
        raise ValueError(f"--config {args.config} is not a 'sciml tune' best_config.json")
    if args.model is not None and config.get("model") not in (None, args.model):
        raise ValueError(
            f"--config {args.config} is for model {config.get('model')!r}, "
            f"not --model {args.model!r}"
        )
    args.model = args.model or config.get("model") or "best"
    args.config_options = dict(config.get("options", {}))
    return config.get("transforms")


def _ensemble(args: argparse.Namespace):
    """``--model ensemble --members a,b``: an average of default models of those kinds."""
    from sciml.chem.models import MODELS, EnsembleModel
    from sciml.chem.models.options import option_sources
    from sciml.cli import resolve

    if not args.members or len(args.members) < 2:
        raise ValueError(
            "--model ensemble needs --members with at least two kinds, e.g. --members rf,gbm"
        )
    if args.config_options:
        raise ValueError("--config applies to single models, not to --model ensemble")
    per_member = _member_overrides(args.overrides, args.members, "ensemble")
    members = []
    for kind in args.members:
        cls = resolve("ensemble member", kind, MODELS)
        fields = set(option_sources(cls.config_cls))
        options = {}
        if args.seed is not None and "seed" in fields:
            options["seed"] = args.seed
        if args.epochs is not None:
            options.update(dict.fromkeys(cls.epoch_fields, args.epochs))
        if args.threads is not None and _threads_field(cls, kind):
            options[_threads_field(cls, kind)] = args.threads
        options.update(per_member.get(kind, {}))
        unknown = sorted(set(options) - fields)
        if unknown:
            raise ValueError(
                f"ensemble member {kind!r} has no option(s) {', '.join(unknown)}; "
                f"its options are: {', '.join(sorted(fields))}"
            )
        members.append(cls(**options))
    return EnsembleModel(members=members)


def _threads_field(cls: type, name: str) -> str | None:
    """The configuration field that sets a model's threads (``n_jobs``), if it has one."""
    from sciml.chem.models.options import option_sources

    return "n_jobs" if "n_jobs" in option_sources(cls.config_cls) else None


def _member_with(field: str, labels: list[str], what: str) -> str:
    """The first member label whose model has option ``field`` (else the first label)."""
    from sciml.chem.models import MODELS
    from sciml.chem.models.options import option_sources
    from sciml.chem.models.stack import BEST_MEMBERS

    for label in labels:
        kind = BEST_MEMBERS[label][0] if what == "best" and label in BEST_MEMBERS else label
        if kind in MODELS and field in option_sources(MODELS[kind].config_cls):
            return label
    return labels[0]


def _member_overrides(overrides: list, labels: list[str], what: str) -> dict[str, dict]:
    """``--set LABEL.FIELD=VALUE`` pairs -> {label: {field: value}}; bare fields refused."""
    out: dict[str, dict] = {}
    for key, value in overrides:
        label, dot, field = key.partition(".")
        if not dot or not field:
            raise ValueError(
                f"--model {what}: --set {key}=... must name a member, e.g. "
                f"--set {_member_with(key, labels, what)}.{key}=...; members: "
                f"{', '.join(labels)}"
                + (
                    f" (the stack's own options are bare: {', '.join(STACK_SET_FIELDS)})"
                    if what == "best"
                    else ""
                )
            )
        if label not in labels:
            raise ValueError(
                f"--model {what} has no member {label!r}; members: {', '.join(labels)}"
            )
        out.setdefault(label, {})[field] = value
    return out


#: Options of the best stack itself that ``--set KEY=VALUE`` takes without a member label.
STACK_SET_FIELDS = ("inner_folds", "select_best", "cross_endpoint")


def _best(args: argparse.Namespace):
    """``--model best``: :func:`~sciml.chem.models.best_recipe` with the flags' options."""
    from sciml.chem.models.stack import BEST_MEMBERS
    from sciml.chem.tune import best_from_options

    for flag in ("val_fraction", "ensemble", "pretrained", "adapt", "head"):
        if getattr(args, flag, None) is not None:
            raise ValueError(
                f"--{flag.replace('_', '-')} does not apply to --model best; "
                "set a member's option with --set gnn.FIELD=VALUE"
            )
    # Bare --set keys that are the stack's own options (inner_folds, select_best,
    # cross_endpoint); LABEL.FIELD keys reach a member.
    stack_sets = {k: v for k, v in args.overrides if k in STACK_SET_FIELDS}
    options = _member_overrides(
        [(k, v) for k, v in args.overrides if k not in STACK_SET_FIELDS], list(BEST_MEMBERS), "best"
    )
    if args.epochs is not None:
        options.setdefault("gnn", {}).setdefault("epochs", args.epochs)
    # A 'sciml tune --model best' result (stack options, members' options under their
    # label) first; the flags change it.
    config = dict(args.config_options)
    for label, fields in options.items():
        config[label] = {**dict(config.get(label, {})), **fields}
    if args.seed is not None:
        config["seed"] = args.seed
    if args.threads is not None:
        config["threads"] = args.threads
    if args.members:
        config["members"] = list(args.members)
    config.update(stack_sets)
    return best_from_options(config)


def _without_descriptor_cache(model) -> None:
    """Switch off the on-disk descriptor cache of ``model`` and its members.

    A prediction file's molecules are usually seen once; caching them would make the cache
    (and the memory its merges need) grow with the file.
    """
    from sciml.chem.models import MoleculeModel
    from sciml.chem.models.options import option_sources, with_options

    if "descriptor_cache" in option_sources(type(model.config)):
        model.config = with_options(model.config, descriptor_cache=False)

    # An ensemble's members are models; a GNN's are its networks, which have no cache.
    for member in getattr(model, "members", []):
        if isinstance(member, MoleculeModel):
            _without_descriptor_cache(member)


def _output_columns(preds_columns: list[str], input_columns: list[str]) -> dict[str, str]:
    """Names of the added columns: ``<name>_pred`` where the input already has ``<name>``."""
    return {c: f"{c}_pred" if c in input_columns else c for c in preds_columns}


def _partial_paths(out: str) -> tuple[Path, Path]:
    """``OUT.partial`` (the finished chunks, a valid CSV) and ``OUT.partial.json`` (progress)."""
    out_path = Path(out)
    return (
        out_path.with_name(out_path.name + ".partial"),
        out_path.with_name(out_path.name + ".partial.json"),
    )


def _predict_run_key(args: argparse.Namespace) -> dict[str, Any]:
    """What a resumed ``sciml predict`` must share with the run it continues."""
    source = Path(args.input).resolve()
    stat = source.stat()
    return {
        "input": str(source),
        "input_size": stat.st_size,
        "input_mtime_ns": stat.st_mtime_ns,
        "model": str(Path(args.model).resolve()),
        "smiles_col": args.smiles_col,
        "errors": args.errors,
        "targets": args.targets,
        "std": args.std,
        "interval": args.interval,
        "precision": args.precision,
        "threshold": getattr(args, "threshold", None),
    }


def _resume_state(args: argparse.Namespace, partial: Path, progress: Path) -> dict[str, Any]:
    """The progress of the run ``--resume`` continues, its partial file cut to whole chunks."""
    from sciml._io import FileCheckError

    if not (partial.is_file() and progress.is_file()):
        raise FileNotFoundError(
            f"nothing to resume: no {partial} and {progress.name} from an "
            "interrupted 'sciml predict' (run without --resume)"
        )
    try:
        state = json.loads(progress.read_text())
    except json.JSONDecodeError as exc:
        raise FileCheckError(
            f"{progress} is not valid JSON ({exc}); delete it and {partial.name} to start afresh"
        ) from exc
    key = _predict_run_key(args)
    differs = sorted(k for k in key if state.get("key", {}).get(k) != key[k])
    if differs:
        raise ValueError(
            f"--resume: {partial} was written by a run with other "
            f"{', '.join(differs)} (or the input changed since); give the same "
            f"options, or delete {partial} and {progress.name} to start afresh"
        )
    if partial.stat().st_size < state["bytes"]:
        raise FileCheckError(
            f"{partial} is shorter than its progress file says; delete it and "
            f"{progress.name} to start afresh"
        )
    with open(partial, "r+b") as handle:  # drop a chunk that was being written when killed
        handle.truncate(state["bytes"])
    return state


def _cmd_predict(args: argparse.Namespace) -> int:
    import os
    import warnings

    import pandas as pd

    from sciml._cli_compat import require
    from sciml._io import (
        FileCheckError,
        atomic_write,
        check_input_file,
        check_output_file,
        read_csv_chunks,
    )
    from sciml.chem.models import load_model
    from sciml.chem.models.base import DomainWarning
    from sciml.chem.predictor import predict_chunks
    from sciml.chem.smiles import InvalidSmiles

    require(args, out="--out")
    check_input_file(args.input, "input")
    partial, progress = _partial_paths(args.out)
    if args.resume:
        check_output_file(args.out, "--out")
        state = _resume_state(args, partial, progress)
    else:
        check_output_file(args.out, "--out", overwrite=args.overwrite)
        if partial.exists() and not args.overwrite:
            raise FileCheckError(
                f"{partial} holds the finished chunks of an interrupted "
                "'sciml predict': continue with --resume, or pass --overwrite "
                "to start afresh"
            )
        state = {"rows": 0, "bytes": 0, "written": 0, "outside": 0, "invalid": [], "n_invalid": 0}
    from sciml.chem.models import shipped_model_path

    model = load_model(
        args.model, **({} if args.precision is None else {"precision": args.precision})
    )
    if args.interval is None and shipped_model_path(args.model) is not None:
        args.interval = 0.9  # a shipped model comes calibrated: intervals by default
    if args.threshold is not None:
        if not 0.0 < args.threshold < 1.0:
            raise ValueError(f"--threshold must lie in (0, 1), got {args.threshold}")
        model.tasks = model.tasks.with_threshold(args.threshold)
    _without_descriptor_cache(model)
    if args.chunk_size < 1:
        raise ValueError(f"--chunk-size must be at least 1, got {args.chunk_size}")
    key = _predict_run_key(args)
    start = int(state["rows"])
    # Every cell read as text: ID columns keep leading zeros, and 'NA' stays 'NA'.
    chunks = read_csv_chunks(
        args.input,
        args.chunk_size,
        "input",
        dtype=str,
        keep_default_na=False,
        **({"skiprows": range(1, start + 1)} if start else {}),
    )
    invalid: list[InvalidSmiles] = [InvalidSmiles(*bad) for bad in state["invalid"]]
    n_invalid = int(state["n_invalid"])
    n_rows, n_written, n_outside = start, int(state["written"]), int(state["outside"])
    header_written = start > 0 and state["bytes"] > 0
    # The input chunk being predicted, with all its columns: predict_chunks yields a chunk's
    # predictions before it reads the next one.
    current: list[pd.DataFrame] = []

    def smiles_chunks():
        rows = start
        for chunk in chunks:
            if args.smiles_col not in chunk.columns:
                raise KeyError(
                    f"{args.input} has no column {args.smiles_col!r}; columns "
                    f"are {list(chunk.columns)}"
                )
            row_name = "row" if "row" not in chunk.columns else "row_pred"
            chunk.index = pd.RangeIndex(rows, rows + len(chunk), name=row_name)
            rows += len(chunk)
            current[:] = [chunk]
            yield chunk[args.smiles_col].str.strip()

    finished = keep = False
    try:
        with open(partial, "a" if start else "w", newline="") as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore", DomainWarning)  # one summary at the end
            for done in predict_chunks(
                model,
                smiles_chunks(),
                errors=args.errors,
                targets=args.targets,
                return_std=args.std,
                interval=args.interval,
                domain=True,
                start=start,
            ):
                chunk, preds = current[0], done.frame
                n_rows = done.start + done.size
                n_invalid += len(done.invalid)
                invalid = (invalid + done.invalid)[:20]  # the ones printed at the end
                n_outside += int((~preds["in_domain"].fillna(True)).sum())
                preds = preds.rename(
                    columns=_output_columns(list(preds.columns), list(chunk.columns))
                )
                preds.index.name = chunk.index.name
                out = chunk.loc[preds.index].join(preds)
                # One write per chunk, then the progress file: a run killed at any moment
                # leaves whole chunks in OUT.partial up to the byte count recorded.
                handle.write(out.to_csv(header=not header_written))
                handle.flush()
                os.fsync(handle.fileno())
                header_written = header_written or len(out.columns) > 0
                n_written += len(out)
                with atomic_write(progress) as state_file:
                    json.dump(
                        {
                            "key": key,
                            "rows": n_rows,
                            "bytes": handle.tell(),
                            "written": n_written,
                            "outside": n_outside,
                            "n_invalid": n_invalid,
                            "invalid": [[b.index, b.value, b.reason] for b in invalid],
                        },
                        state_file,
                    )
        if n_rows == 0:
            raise ValueError(f"input file {args.input} has a header but no rows")
        os.replace(partial, args.out)
        progress.unlink(missing_ok=True)
        finished = True
    except KeyboardInterrupt:
        if not (n_written and progress.exists()):
            raise
        keep = True
        print(
            f"sciml predict: interrupted after {n_written} rows; they are kept in "
            f"{partial}; continue with: {_command_line('--resume')}",
            file=sys.stderr,
        )
        return 130
    finally:
        # An error leaves nothing behind; an interruption keeps the finished chunks. (A run
        # killed outright keeps them too: this block does not run.)
        if not finished and not keep:
            partial.unlink(missing_ok=True)
            progress.unlink(missing_ok=True)
    _print_invalid(
        [(b.index, b.value, b.reason) for b in invalid],
        args.input,
        "left out of the output"
        if args.errors == "skip"
        else "kept as rows with empty predictions (the note column says why)",
        total=n_invalid,
    )
    names = model.targets if args.targets is None else args.targets
    print(f"wrote {n_written} predictions of {', '.join(names)} to {args.out}")
    if n_outside:
        print(
            f"sciml predict: warning: {n_outside} of {n_written} molecules are outside the "
            "model's applicability domain (in_domain=False; the note column says why); "
            "their predictions are extrapolations",
            file=sys.stderr,
        )
    return 0


def _command_line(extra: str) -> str:
    """The command being run, as typed, with ``extra`` appended (once)."""
    import shlex

    argv = (
        ["sciml", *sys.argv[1:]]
        if Path(sys.argv[0]).name in ("sciml", "__main__.py", "cli.py")
        else ["sciml", "..."]
    )
    if extra not in argv:
        argv.append(extra)
    return shlex.join(argv)


def _field_docs(config_cls: type) -> dict[str, str]:
    """Attribute descriptions from a numpy-style configuration docstring."""
    import inspect
    import re

    docs, current = {}, None
    for line in inspect.cleandoc(config_cls.__doc__ or "").splitlines():
        head = re.match(r"^([a-z_][a-z0-9_, ]*) : ", line)
        if head:
            current = [n.strip() for n in head[1].split(",")]
            for name in current:
                docs[name] = ""
        elif current and line.startswith("    "):
            for name in current:
                docs[name] = (docs[name] + " " + line.strip()).strip()
        else:
            current = None
    return docs


def model_help(name: str) -> str:
    """The options of model kind ``name`` with their defaults, for ``fit --model NAME --help``."""
    from sciml.chem.models import MODELS
    from sciml.chem.models.options import option_defaults, option_sources
    from sciml.cli import resolve

    if name == "ensemble":
        return (
            "\nensemble: the average of --members (e.g. rf,gbm,gnn), each with its defaults, "
            "--seed, --epochs, --threads and --set KIND.FIELD=VALUE; its spread is the std "
            "across members (--std)."
        )
    if name == "best":
        from sciml.chem.models.stack import BEST_MEMBERS

        return (
            "\nbest: members "
            + ", ".join(f"{k} ({kind} {v or 'defaults'})" for k, (kind, v) in BEST_MEMBERS.items())
            + " (catboost_rich only with --members gbm,gbm_rich,gnn,kernel,catboost_rich)"
            + " stacked per endpoint by non-negative weights fitted on 3 inner CV folds of "
            "the training data; --transform auto by default. Set a member's option with "
            "--set gnn.hidden=300 or --set gbm_rich.fingerprints='[\"avalon\"]' (see "
            "'sciml fit --model gnn --help'); --epochs sets "
            "gnn.epochs; --threads reaches every member. Its spread (--std) is the weighted "
            "std across members, and --calibration gives normalised conformal intervals "
            "that widen where the members disagree."
        )
    cls = resolve("model", name, MODELS)
    docs = _field_docs(cls.config_cls)
    lines = [
        f"\n{name} options ({cls.config_cls.__name__}; set with --set FIELD=VALUE"
        + (f", --epochs sets {', '.join(cls.epoch_fields)}" if cls.epoch_fields else "")
        + "):"
    ]
    defaults = option_defaults(cls.config_cls)
    for option, (owner, field_name) in option_sources(cls.config_cls).items():
        # A composed option (the GNN's epochs) is described where it is defined (TrainConfig),
        # unless the model's own configuration says more about it.
        text = docs.get(option) or _field_docs(owner).get(field_name, "")
        lines.append(f"  {option} = {defaults.get(option, '')!r}" + (f": {text}" if text else ""))
    return "\n".join(lines)


class _FitHelp(argparse.Action):
    """``-h/--help`` that also lists the options of the model named by an earlier ``--model``."""

    def __init__(
        self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None
    ):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.print_help()
        model = getattr(namespace, "model", None)
        print(
            model_help(model)
            if model
            else "\nEach model's own options: sciml fit --model NAME --help "
            "(NAME: best, rf, gbm, gnn, transformer, ensemble)"
        )
        parser.exit()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fit`` and ``predict`` to the ``sciml`` command line."""
    fit = subparsers.add_parser(
        "fit",
        help="fit a molecular property model on a CSV file",
        add_help=False,
        description="Fit a molecular property model (best, the default: LightGBMs, a "
        "D-MPNN and a kernel ridge stacked on inner CV folds; rf: random forest on RDKit "
        "descriptors; gbm: LightGBM; catboost: CatBoost; kernel: kernel ridge (GP mean); "
        "gnn: D-MPNN; transformer: SMILES encoder; ensemble: "
        "their average) on SMILES and endpoint columns of a CSV file, and save it.",
    )
    fit.add_argument(
        "-h",
        "--help",
        action=_FitHelp,
        help="show this help; after --model NAME, also NAME's options",
    )
    add_fit_arguments(fit)
    from sciml._resume_cli import stops_on_budget

    fit.set_defaults(handler=stops_on_budget(_cmd_fit))
    predict = subparsers.add_parser(
        "predict",
        help="predict endpoints for the SMILES in a CSV file",
        description="Predict endpoints (physical units) with a model saved by 'sciml fit'.",
    )
    add_predict_arguments(predict)
    predict.set_defaults(handler=_cmd_predict)
