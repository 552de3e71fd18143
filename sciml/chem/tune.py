"""Hyper-parameter search for molecular models with Optuna, on validation folds only.

:func:`tune` scores each trial by K-fold cross-validation **inside the training data**
(mean over folds and endpoints of each endpoint's task score: R² in the model's training
units for regression, AUROC for binary endpoints), so the test set is never seen. Trials
run in an Optuna study that may live in shared storage: several processes (or machines,
with an RDB URL) started with the same ``storage`` and ``study_name`` work on one study in
parallel.

Search spaces scale with the data
---------------------------------
A fixed range that suits 3,000 molecules breaks on 60: with ``min_child_samples`` up to
60 and 40 molecules in a tuning fold, LightGBM cannot split at all and the trial predicts a
constant (R² ≈ 0). :func:`search_space` therefore takes the size of one fit's training
data and bounds the options that count molecules by it:

- ``num_leaves`` (gbm) in ``[4, min(128, n/8)]``;
- ``min_child_samples`` (gbm) in ``[2, min(60, n_sparsest/4)]`` and ``min_samples_leaf``
  (rf) in ``[1, min(8, n_sparsest/10)]``, where ``n_sparsest`` counts the labelled molecules
  of the sparsest endpoint (a leaf-size bound must leave every endpoint's booster room to
  split: Biogen's plasma-protein binding has 194 values beside 2,129 for HLM);
- rates, fractions, regularisation and the GNN's options do not depend on ``n``.

:func:`tune` computes ``n`` from its own folds (the smallest training part of a tuning
fold; for ``best``, the smallest training part of the stack's inner folds inside it).

Choices as well as ranges
-------------------------
GBM searches its **feature set** among :data:`GBM_FEATURE_SETS` (a categorical choice,
stored as the fields it sets, so ``sciml fit --config`` reproduces it). ``best``
(:func:`~sciml.chem.models.best_recipe`) searches which members it stacks, its inner folds
(3 or 5), weights versus "give each endpoint to its best member", the feature sets of its
two LightGBM members and their learning rates and leaf sizes; the GNN member's options are
held (``fixed``: ``{"gnn.epochs": 5}``).

The first trial of a new study is the model's defaults (clipped into the scaled ranges), so
the best trial is never worse on the inner folds than not tuning (up to the clipping).

The result is a :class:`TuneResult` whose :meth:`~TuneResult.config` is the JSON that
``sciml fit --config`` reads, and whose ``trials`` frame is the trials table.

Examples
--------
>>> space = search_space("gbm", 40)
>>> space["num_leaves"].high, space["min_child_samples"].high
(5, 10)
>>> sorted(search_space("rf", 1000))
['max_features', 'min_samples_leaf', 'n_estimators']
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sciml._io import atomic_write

__all__ = [
    "GBM_FEATURE_SETS",
    "TUNABLE",
    "Choice",
    "FloatRange",
    "IntRange",
    "TuneResult",
    "best_from_options",
    "search_space",
    "tune",
]


# ------------------------------------------------------------------ dimensions
@dataclass(frozen=True)
class IntRange:
    """An integer option searched in ``[low, high]`` (log-uniformly when ``log``)."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self):
        if self.low > self.high or (self.log and self.low < 1):
            raise ValueError(f"bad integer range [{self.low}, {self.high}] (log={self.log})")

    def suggest(self, trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def clip(self, value: Any) -> int:
        """``value`` moved into the range (used to enqueue the defaults)."""
        return int(min(max(int(value), self.low), self.high))

    def options(self, field: str, value: Any) -> dict[str, Any]:
        return {field: int(value)}


@dataclass(frozen=True)
class FloatRange:
    """A real option searched in ``[low, high]`` (log-uniformly when ``log``)."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self):
        if self.low > self.high or (self.log and self.low <= 0):
            raise ValueError(f"bad range [{self.low}, {self.high}] (log={self.log})")

    def suggest(self, trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def clip(self, value: Any) -> float:
        return float(min(max(float(value), self.low), self.high))

    def options(self, field: str, value: Any) -> dict[str, Any]:
        return {field: float(value)}


@dataclass(frozen=True)
class Choice:
    """A categorical option: each label stands for configuration fields.

    Attributes
    ----------
    choices : mapping
        Label (a str, int or bool Optuna can store) -> the configuration fields it sets.
    default : label
        The label the model's defaults correspond to (trial 0).
    """

    choices: Mapping[Any, Mapping[str, Any]]
    default: Any

    def __post_init__(self):
        if self.default not in self.choices:
            raise ValueError(f"default {self.default!r} is not one of {list(self.choices)}")

    def suggest(self, trial, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.choices))

    def clip(self, value: Any) -> Any:
        return value if value in self.choices else self.default

    def options(self, field: str, value: Any) -> dict[str, Any]:
        return dict(self.choices[value])

    def fields(self) -> set[str]:
        return {f for fields in self.choices.values() for f in fields}


Dimension = IntRange | FloatRange | Choice

#: Feature sets of :class:`~sciml.chem.models.GBMModel` that ``tune`` chooses among; each
#: sets every feature field, so a configuration states its features in full.
GBM_FEATURE_SETS: dict[str, dict[str, Any]] = {
    # Morgan counts (radius 2, 2048 bits) + RDKit descriptors: GBMConfig's defaults.
    "default": {"fingerprints": [], "radius": 2, "n_bits": 2048, "descriptors": True},
    # + Avalon counts, ErG and MACCS (the MapLight mix; best_recipe's gbm_rich member).
    "rich": {
        "fingerprints": ["avalon", "erg", "maccs"],
        "radius": 2,
        "n_bits": 2048,
        "descriptors": True,
    },
    # + Morgan counts at radius 3.
    "morgan3": {
        "fingerprints": ["morgan3_counts"],
        "radius": 2,
        "n_bits": 2048,
        "descriptors": True,
    },
    # + both of the above.
    "rich_morgan3": {
        "fingerprints": ["morgan3_counts", "avalon", "erg", "maccs"],
        "radius": 2,
        "n_bits": 2048,
        "descriptors": True,
    },
    # RDKit descriptors only.
    "descriptors": {"fingerprints": [], "radius": 2, "n_bits": 0, "descriptors": True},
}


def _features(labels: Sequence[str], default: str) -> Choice:
    return Choice({label: GBM_FEATURE_SETS[label] for label in labels}, default)


def _scaled_int(low: int, cap: int, n: int, per: int, log: bool = False) -> IntRange:
    """``[low, min(cap, n // per)]``, never below ``low``."""
    return IntRange(low, max(low, min(cap, n // per)), log)


def _gbm_ranges(n: int, n_sparsest: int) -> dict[str, Dimension]:
    return {
        "learning_rate": FloatRange(0.01, 0.2, True),
        "num_leaves": _scaled_int(4, 128, n, 8, True),
        "min_child_samples": _scaled_int(2, 60, n_sparsest, 4, True),
        "colsample_bytree": FloatRange(0.05, 0.8, True),
        "subsample": FloatRange(0.5, 1.0),
        "reg_lambda": FloatRange(1e-3, 30.0, True),
    }


def _rf_space(n: int, n_sparsest: int) -> dict[str, Dimension]:
    return {
        "n_estimators": IntRange(100, 600, True),
        "max_features": FloatRange(0.1, 0.7),
        "min_samples_leaf": _scaled_int(1, 8, n_sparsest, 10),
    }


def _gnn_space(n: int, n_sparsest: int) -> dict[str, Dimension]:
    # Widths and depths are not bounded by n: the GNN regularises by dropout and early
    # stopping, and its cost, not its fit, is what grows with width.
    return {
        "hidden": IntRange(100, 600, True),
        "depth": IntRange(2, 6),
        "dropout": FloatRange(0.0, 0.4),
        "ffn_layers": IntRange(1, 3),
        "lr": FloatRange(2e-4, 3e-3, True),
    }


def _kernel_space(n: int, n_sparsest: int) -> dict[str, Dimension]:
    # The ridge penalty is chosen per endpoint by leave-one-out inside the fit; what is
    # left is the kernel itself: the fingerprint/descriptor mix, the RBF width, the radius.
    return {
        "descriptor_weight": FloatRange(0.0, 1.0),
        "length_scale": FloatRange(0.3, 3.0, True),
        "radius": IntRange(1, 3),
    }


# ------------------------------------------------------------------ tunable models
class _SingleModel:
    """A registered model kind: its options are flat configuration fields."""

    def __init__(self, kind: str, space):
        self.kind, self._space = kind, space

    @property
    def cls(self):
        from sciml.chem.models import MODELS

        return MODELS[self.kind]

    def fit_size(self, n: int, n_sparsest: int) -> tuple[int, int]:
        """Molecules one member fit sees when the model is fitted on ``n``."""
        return n, n_sparsest

    def space(self, n: int, n_sparsest: int) -> dict[str, Dimension]:
        return self._space(n, n_sparsest)

    def defaults(self) -> dict[str, Any]:
        from sciml.chem.models.options import option_defaults

        return option_defaults(self.cls.config_cls)

    def check_fixed(self, fixed: Mapping[str, Any]) -> None:
        from sciml.chem.models.options import option_sources

        fields = set(option_sources(self.cls.config_cls))
        unknown = sorted(set(fixed) - fields)
        if unknown:
            raise ValueError(
                f"model {self.kind!r} has no option(s) {', '.join(unknown)}; "
                f"its options are: {', '.join(sorted(fields))}"
            )

    def options(self, fixed: Mapping[str, Any], searched: Mapping[str, Any]) -> dict[str, Any]:
        return {**fixed, **searched}

    def searched(self, space: dict[str, Dimension], fixed: Mapping[str, Any]) -> dict:
        """The dimensions left to search: those that set no fixed option."""
        return {n: d for n, d in space.items() if not _dimension_keys(n, d) & set(fixed)}

    def build(self, options: Mapping[str, Any]):
        return self.cls(**options)


class _BestRecipe:
    """``best`` (:func:`~sciml.chem.models.best_recipe`): stack options and members' options.

    Options are flat while searching (``inner_folds``, ``select_best``, ``members``,
    ``threads``, ``seed`` and ``LABEL.FIELD`` for a member's field) and nested in the
    configuration (``{"inner_folds": 3, ..., "gbm": {"learning_rate": 0.05}}``).
    """

    kind = "best"
    stack_fields = ("inner_folds", "select_best", "cross_endpoint", "members", "threads", "seed")

    def fit_size(self, n: int, n_sparsest: int) -> tuple[int, int]:
        # Members are fitted on the stack's inner folds: at most 3 (the fewest searched),
        # so they see (at least) 2/3 of the molecules.
        return n - math.ceil(n / 3), n_sparsest - math.ceil(n_sparsest / 3)

    def space(self, n: int, n_sparsest: int) -> dict[str, Dimension]:
        from sciml.chem.models.stack import DEFAULT_BEST_MEMBERS

        labels = list(DEFAULT_BEST_MEMBERS)
        subsets = [
            [label for label in labels if label != left_out] for left_out in labels
        ]  # the default members with one left out
        subsets.append([*labels, "catboost_rich"])  # and the default plus CatBoost
        space: dict[str, Dimension] = {
            "members": Choice(
                {"+".join(labels): {"members": labels}}
                | {"+".join(s): {"members": s} for s in subsets},
                "+".join(labels),
            ),
            "inner_folds": Choice({3: {"inner_folds": 3}, 5: {"inner_folds": 5}}, 3),
            "select_best": Choice(
                {False: {"select_best": False}, True: {"select_best": True}}, False
            ),
            "gbm.features": _features(["default", "morgan3", "descriptors"], "default"),
            "gbm_rich.features": _features(["rich", "rich_morgan3"], "rich"),
        }
        for label in ("gbm", "gbm_rich"):
            gbm = _gbm_ranges(n, n_sparsest)
            space[f"{label}.learning_rate"] = gbm["learning_rate"]
            space[f"{label}.min_child_samples"] = gbm["min_child_samples"]
        # the kernel's mix of fingerprint and descriptor similarity, and the RBF width
        kernel = _kernel_space(n, n_sparsest)
        for name in ("descriptor_weight", "length_scale"):
            space[f"kernel.{name}"] = kernel[name]
        return space

    def defaults(self) -> dict[str, Any]:
        from sciml.chem.models import MODELS
        from sciml.chem.models.options import option_defaults
        from sciml.chem.models.stack import BEST_MEMBERS

        out: dict[str, Any] = {"inner_folds": 3, "select_best": False}
        for label, (kind, given) in BEST_MEMBERS.items():
            defaults = option_defaults(MODELS[kind].config_cls)
            out.update({f"{label}.{name}": value for name, value in defaults.items()})
            out.update({f"{label}.{k}": v for k, v in given.items()})
        return out

    def check_fixed(self, fixed: Mapping[str, Any]) -> None:
        from sciml.chem.models import MODELS
        from sciml.chem.models.options import option_sources
        from sciml.chem.models.stack import BEST_MEMBERS

        if "members" in fixed:
            kept = _member_list(fixed["members"])
            bad = sorted(set(kept) - set(BEST_MEMBERS))
            if bad or len(kept) < 2 or len(set(kept)) != len(kept):
                raise ValueError(
                    f"members {kept}: give at least two distinct labels of "
                    f"{', '.join(BEST_MEMBERS)}"
                )
        for key in fixed:
            label, dot, field = key.partition(".")
            if not dot:
                if key not in self.stack_fields:
                    raise ValueError(
                        f"--model best has no option {key!r}: give a stack option "
                        f"({', '.join(self.stack_fields)}) or LABEL.FIELD for a member "
                        f"({', '.join(BEST_MEMBERS)})"
                    )
                continue
            if label not in BEST_MEMBERS:
                raise ValueError(
                    f"--model best has no member {label!r}; members: {', '.join(BEST_MEMBERS)}"
                )
            fields = set(option_sources(MODELS[BEST_MEMBERS[label][0]].config_cls))
            if field not in fields:
                raise ValueError(
                    f"member {label!r} has no option {field!r}; its options are: "
                    f"{', '.join(sorted(fields))}"
                )

    def options(self, fixed: Mapping[str, Any], searched: Mapping[str, Any]) -> dict[str, Any]:
        """Nested configuration: stack fields at the top, members' fields under their label."""
        out: dict[str, Any] = {}
        for key, value in {**fixed, **searched}.items():
            label, dot, field = key.partition(".")
            if dot:
                out.setdefault(label, {})[field] = value
            else:
                out[key] = value
        return out

    def build(self, options: Mapping[str, Any]):
        return best_from_options(options)

    def searched(self, space: dict[str, Dimension], fixed: Mapping[str, Any]) -> dict:
        """Dimensions that set no fixed option and belong to no member left out."""
        kept = fixed.get("members")
        return {
            n: d
            for n, d in space.items()
            if not _dimension_keys(n, d) & set(fixed)
            and (kept is None or "." not in n or n.partition(".")[0] in kept)
        }


def _member_list(value: Any) -> list[str]:
    """``"gbm,gnn"`` (from ``--set``) or a list -> a list of labels."""
    return value.split(",") if isinstance(value, str) else [str(v) for v in value]


def best_from_options(options: Mapping[str, Any]):
    """The stack a nested ``best`` configuration describes (``sciml fit --config``).

    Parameters
    ----------
    options : mapping
        Stack fields (``inner_folds``, ``select_best``, ``cross_endpoint``, ``members``,
        ``threads``, ``seed``)
        and, under a member's label, that member's fields.

    Returns
    -------
    StackedModel
    """
    from sciml.chem.models import best_recipe
    from sciml.chem.models.stack import BEST_MEMBERS

    options = dict(options)
    members = {label: dict(options.pop(label)) for label in BEST_MEMBERS if label in options}
    unknown = sorted(set(options) - set(_BestRecipe.stack_fields))
    if unknown:
        raise ValueError(
            f"best configuration has unknown option(s) {unknown}; stack options: "
            f"{', '.join(_BestRecipe.stack_fields)}, members: {', '.join(BEST_MEMBERS)}"
        )
    for key in ("select_best", "cross_endpoint"):
        if key in options and not isinstance(options[key], bool):
            raise ValueError(f"best option {key} must be true or false, got {options[key]!r}")
    if "inner_folds" in options and (
        isinstance(options["inner_folds"], bool) or not isinstance(options["inner_folds"], int)
    ):
        raise ValueError(
            f"best option inner_folds must be an integer, got {options['inner_folds']!r}"
        )
    kept = options.get("members")
    kept = None if kept is None else _member_list(kept)
    return best_recipe(
        seed=int(options.get("seed", 0)),
        threads=options.get("threads"),
        options=members,
        inner_folds=int(options.get("inner_folds", 3)),
        members=None if kept is None else tuple(kept),
        select_best=bool(options.get("select_best", False)),
        cross_endpoint=bool(options.get("cross_endpoint", True)),
    )


#: Tunable model kinds (the CLI's ``--model`` choices of ``sciml tune``).
TUNABLE: dict[str, Any] = {
    "rf": _SingleModel("rf", _rf_space),
    "gbm": _SingleModel(
        "gbm",
        lambda n, n_sparsest: {
            "features": _features(list(GBM_FEATURE_SETS), "default"),
            **_gbm_ranges(n, n_sparsest),
        },
    ),
    "gnn": _SingleModel("gnn", _gnn_space),
    "kernel": _SingleModel("kernel", _kernel_space),
    "best": _BestRecipe(),
}


def _resolve(model: str):
    if model not in TUNABLE:
        raise ValueError(
            f"no search space for model {model!r}; tunable models: {', '.join(sorted(TUNABLE))}"
        )
    return TUNABLE[model]


def search_space(
    model: str, n_molecules: int, n_sparsest: int | None = None
) -> dict[str, Dimension]:
    """The search space of a model kind for fits on ``n_molecules`` training molecules.

    Parameters
    ----------
    model : str
        A kind in :data:`TUNABLE`.
    n_molecules : int
        Training molecules of one fit (in :func:`tune`, the training part of a tuning fold).
        For ``best``, the stack's: its members are fitted on its inner folds, and the ranges
        of their options are scaled to 2/3 of it.
    n_sparsest : int, optional
        Labelled molecules of the sparsest endpoint in such a fit (default ``n_molecules``);
        it bounds the leaf-size options.

    Returns
    -------
    dict
        Option (``LABEL.FIELD`` for a member of ``best``) -> :class:`IntRange`,
        :class:`FloatRange` or :class:`Choice`.

    Raises
    ------
    ValueError
        An unknown kind (the message lists the tunable ones) or fewer than 1 molecule.
    """
    tunable = _resolve(model)
    n_sparsest = n_molecules if n_sparsest is None else n_sparsest
    if n_molecules < 1 or not 1 <= n_sparsest <= n_molecules:
        raise ValueError(
            f"need 1 <= n_sparsest <= n_molecules, got n_molecules={n_molecules}, "
            f"n_sparsest={n_sparsest}"
        )
    return tunable.space(*tunable.fit_size(n_molecules, n_sparsest))


def _keys(name: str, fields) -> set[str]:
    prefix = name.rpartition(".")[0]
    return {f"{prefix}.{f}" if prefix else f for f in fields}


def _dimension_keys(name: str, dim: Dimension) -> set[str]:
    """The option keys a searched dimension sets (a feature-set choice sets several)."""
    if isinstance(dim, Choice):
        return _keys(name, dim.fields())
    return {name}


def _decode(space: Mapping[str, Dimension], params: Mapping[str, Any]) -> dict[str, Any]:
    """Searched values -> option keys (a choice's label becomes the fields it stands for)."""
    out: dict[str, Any] = {}
    for name, dim in space.items():
        prefix, _, field = name.rpartition(".")
        for key, value in dim.options(field, params[name]).items():
            out[f"{prefix}.{key}" if prefix else key] = value
    return out


def _trial_zero(space: Mapping[str, Dimension], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults as searched values: a choice's default label, ranges' defaults clipped."""
    out = {}
    for name, dim in space.items():
        if isinstance(dim, Choice):
            out[name] = dim.default
        elif isinstance(defaults.get(name), int | float) and defaults[name] is not None:
            out[name] = dim.clip(defaults[name])
    return out


@dataclass
class TuneResult:
    """Outcome of :func:`tune`.

    Attributes
    ----------
    model : str
        Model kind.
    best_params : dict
        Searched values of the best trial (a feature set by its label).
    best_score : float
        Its mean cross-validated score.
    fixed : dict
        Options held fixed during the search (e.g. ``n_jobs``, ``gnn.epochs``).
    transforms : str or dict
        Target transforms used during the search.
    trials : pandas.DataFrame
        One row per trial: number, state, score (``cv_r2``, the mean over endpoints),
        each endpoint's score (``cv_<endpoint>``), duration and searched values.
    options : dict
        The best trial's model options, fixed ones included, as ``sciml fit --config``
        reads them (feature sets spelt out as fields; for ``best``, members' fields nested
        under their label).
    space : dict
        The searched dimensions, as scaled for this data.
    """

    model: str
    best_params: dict[str, Any]
    best_score: float
    fixed: dict[str, Any]
    transforms: Any
    trials: pd.DataFrame
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    space: dict[str, Dimension] = dataclasses.field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        """The JSON that ``sciml fit --config`` reads."""
        return {
            "model": self.model,
            "options": self.options,
            "searched": self.best_params,
            "transforms": self.transforms,
            "cv_r2": self.best_score,
        }

    def build(self):
        """An unfitted model with the best trial's options."""
        return _resolve(self.model).build(self.options)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``best_config.json`` and ``trials.csv`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_write(directory / "best_config.json", "w") as handle:
            json.dump(self.config(), handle, indent=2)
        with atomic_write(directory / "trials.csv", "w") as handle:
            self.trials.to_csv(handle, index=False)
        return directory


def _held_masks(n: int, folds: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    masks = []
    for k in range(folds):
        held = np.zeros(n, dtype=bool)
        held[order[k::folds]] = True
        masks.append(held)
    return masks


def _cv_score(
    factory, smiles: list[str], y: pd.DataFrame, held_masks, transforms: Any
) -> tuple[float, dict[str, float]]:
    """Mean over K folds and endpoints of each endpoint's task score, and each endpoint's mean.

    R² for regression endpoints (in the model's training units), AUROC for binary ones.
    """
    scores, per_endpoint = [], {}
    for held in held_masks:
        model = factory()
        model.fit(
            [s for s, h in zip(smiles, held, strict=True) if not h], y[~held], transforms=transforms
        )
        held_smiles = [s for s, h in zip(smiles, held, strict=True) if h]
        table = model.evaluate(held_smiles, y[held], transformed=True)
        scores.append(float(np.nanmean(table["score"].to_numpy(dtype=float))))
        for endpoint, score in table["score"].items():
            per_endpoint.setdefault(str(endpoint), []).append(float(score))
    return float(np.mean(scores)), {e: float(np.mean(v)) for e, v in per_endpoint.items()}


def tune(
    smiles: Sequence[str],
    y: pd.DataFrame,
    model: str = "gbm",
    *,
    trials: int = 20,
    folds: int = 3,
    seed: int = 0,
    transforms: Any = None,
    fixed: Mapping[str, Any] | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    timeout: float | None = None,
    progress: bool = True,
    space: Mapping[str, Dimension] | None = None,
) -> TuneResult:
    """Search a model's options by K-fold cross-validation on the training data.

    Parameters
    ----------
    smiles : sequence of str
        Training SMILES (canonicalised and validated by the models; invalid ones raise).
    y : DataFrame
        ``(N, T)`` targets, NaN where not measured.
    model : str
        A kind in :data:`TUNABLE` (``rf``, ``gbm``, ``gnn``, ``best``).
    trials : int
        Trials run by this call (a shared study accumulates the trials of every worker). The
        first trial of a new study evaluates the model's defaults (clipped into the space),
        so the best trial is never worse on the inner folds than the defaults.
    folds : int
        Cross-validation folds inside the training data. The search space is scaled to the
        training part of these folds (:func:`search_space`).
    seed : int
        Seeds the folds and the TPE sampler.
    transforms : str or dict, optional
        Target transforms applied in every fold (see :mod:`sciml.chem.transforms`).
    fixed : dict, optional
        Options held fixed, e.g. ``{"n_jobs": 1}``, or for ``best`` ``{"threads": 1,
        "gnn.epochs": 5, "members": ["gbm", "gbm_rich"]}``. A searched dimension that sets a
        fixed option (a feature set sets ``fingerprints``, ``radius``, ``n_bits`` and
        ``descriptors``) is left out of the search.
    storage : str, optional
        Optuna storage URL (``sqlite:///tune.db``, or an RDB URL shared by machines);
        None keeps the study in memory.
    study_name : str, optional
        Name of the study in ``storage`` (default ``"sciml-<model>"``); an existing study
        is continued.
    timeout : float, optional
        Stop starting new trials after this many seconds.
    progress : bool
        Show Optuna's progress bar.
    space : mapping, optional
        Dimensions to search instead of :func:`search_space` for these folds (e.g. fixed
        ranges, to compare with the scaled ones); names as :func:`search_space` gives them.

    Returns
    -------
    TuneResult

    Raises
    ------
    ValueError
        An unknown model or option, too few molecules for ``folds``, or mismatched inputs.
    """
    import optuna

    tunable = _resolve(model)
    if trials < 1 or folds < 2:
        raise ValueError(f"need trials >= 1 and folds >= 2, got trials={trials}, folds={folds}")
    smiles = list(smiles)
    if len(smiles) != len(y):
        raise ValueError(f"{len(smiles)} SMILES but {len(y)} rows of targets")
    if len(smiles) < 5 * folds:
        raise ValueError(f"{len(smiles)} molecules are too few for {folds}-fold tuning")
    fixed = dict(fixed or {})
    tunable.check_fixed(fixed)
    if "members" in fixed:
        fixed["members"] = _member_list(fixed["members"])
    y = y.reset_index(drop=True)
    masks = _held_masks(len(smiles), folds, seed)
    labelled = ~y.isna().to_numpy()
    n_fit = min(int((~held).sum()) for held in masks)
    n_sparsest = min(int(labelled[~held].sum(axis=0).min()) for held in masks)
    if space is None:
        space = search_space(model, n_fit, max(1, min(n_sparsest, n_fit)))
    space = tunable.searched(dict(space), fixed)

    def objective(trial) -> float:
        params = {name: dim.suggest(trial, name) for name, dim in space.items()}
        options = tunable.options(fixed, _decode(space, params))
        score, per_endpoint = _cv_score(
            lambda: tunable.build(options), smiles, y, masks, transforms
        )
        for endpoint, value in per_endpoint.items():  # the trials table's cv_<endpoint>
            trial.set_user_attr(f"cv_{endpoint}", value)
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name or f"sciml-{model}",
        storage=storage,
        load_if_exists=True,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
    )
    if not study.trials and space:
        # The first trial of a new study is the model's defaults (clipped into the space),
        # so the search never returns something worse on the inner folds than not tuning.
        study.enqueue_trial(_trial_zero(space, tunable.defaults()))
    study.optimize(objective, n_trials=trials, timeout=timeout, show_progress_bar=progress)
    frame = study.trials_dataframe(
        attrs=("number", "state", "value", "duration", "params", "user_attrs")
    )
    frame = frame.rename(columns={"value": "cv_r2"})
    frame.columns = [c.removeprefix("params_").removeprefix("user_attrs_") for c in frame.columns]
    if "duration" in frame:
        frame["duration_s"] = frame.pop("duration").dt.total_seconds()
    best = dict(study.best_params)
    return TuneResult(
        model,
        best,
        float(study.best_value),
        fixed,
        transforms,
        frame,
        tunable.options(fixed, _decode(space, best)),
        space,
    )
