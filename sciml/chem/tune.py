"""Hyper-parameter search for molecular models with Optuna, on validation folds only.

:func:`tune` scores each trial by K-fold cross-validation **inside the training data**
(mean over folds and endpoints of each endpoint's task score: R² in the model's training
units for regression, AUROC for binary endpoints), so the test set is never seen. Trials run in an Optuna study that may live in shared storage: several
processes (or machines, with an RDB URL) started with the same ``storage`` and
``study_name`` work on one study in parallel.

The result is a :class:`TuneResult` whose :meth:`~TuneResult.config` is the JSON that
``sciml fit --config`` reads, and whose ``trials`` frame is the trials table.

Examples
--------
>>> space = search_space("rf")
>>> sorted(space)
['max_features', 'min_samples_leaf', 'n_estimators']
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sciml._io import atomic_write

__all__ = ["SEARCH_SPACES", "TuneResult", "search_space", "tune"]

#: Per model kind: option -> (type, low, high, log scale). Ranges follow common practice
#: for each method on a few hundred to a few thousand molecules.
SEARCH_SPACES: dict[str, dict[str, tuple[str, float, float, bool]]] = {
    "rf": {
        "n_estimators": ("int", 100, 600, True),
        "max_features": ("float", 0.1, 0.7, False),
        "min_samples_leaf": ("int", 1, 8, False),
    },
    "gbm": {
        "learning_rate": ("float", 0.01, 0.2, True),
        "num_leaves": ("int", 8, 128, True),
        "min_child_samples": ("int", 3, 60, True),
        "colsample_bytree": ("float", 0.05, 0.8, True),
        "subsample": ("float", 0.5, 1.0, False),
        "reg_lambda": ("float", 1e-3, 30.0, True),
    },
    "gnn": {
        "hidden": ("int", 100, 600, True),
        "depth": ("int", 2, 6, False),
        "dropout": ("float", 0.0, 0.4, False),
        "ffn_layers": ("int", 1, 3, False),
        "lr": ("float", 2e-4, 3e-3, True),
    },
}


def search_space(model: str) -> dict[str, tuple[str, float, float, bool]]:
    """The search space of a model kind, or a ValueError listing the tunable kinds."""
    if model not in SEARCH_SPACES:
        raise ValueError(
            f"no search space for model {model!r}; tunable models: "
            f"{', '.join(sorted(SEARCH_SPACES))}"
        )
    return SEARCH_SPACES[model]


def _suggest(trial, space: Mapping[str, tuple[str, float, float, bool]]) -> dict[str, Any]:
    params = {}
    for name, (kind, low, high, log) in space.items():
        if kind == "int":
            params[name] = trial.suggest_int(name, int(low), int(high), log=log)
        else:
            params[name] = trial.suggest_float(name, float(low), float(high), log=log)
    return params


@dataclass
class TuneResult:
    """Outcome of :func:`tune`.

    Attributes
    ----------
    model : str
        Model kind.
    best_params : dict
        Options of the best trial.
    best_score : float
        Its mean cross-validated R².
    fixed : dict
        Options held fixed during the search (e.g. ``n_jobs``, ``epochs``).
    transforms : str or dict
        Target transforms used during the search.
    trials : pandas.DataFrame
        One row per trial: number, state, score, duration and options.
    """

    model: str
    best_params: dict[str, Any]
    best_score: float
    fixed: dict[str, Any]
    transforms: Any
    trials: pd.DataFrame

    def config(self) -> dict[str, Any]:
        """The JSON that ``sciml fit --config`` reads."""
        return {
            "model": self.model,
            "options": {**self.fixed, **self.best_params},
            "transforms": self.transforms,
            "cv_r2": self.best_score,
        }

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``best_config.json`` and ``trials.csv`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_write(directory / "best_config.json", "w") as handle:
            json.dump(self.config(), handle, indent=2)
        with atomic_write(directory / "trials.csv", "w") as handle:
            self.trials.to_csv(handle, index=False)
        return directory


def _cv_score(
    factory: Callable[[], Any],
    smiles: list[str],
    y: pd.DataFrame,
    folds: int,
    seed: int,
    transforms: Any,
) -> float:
    """Mean over K folds and endpoints of each endpoint's task score.

    R² for regression endpoints (in the model's training units), AUROC for binary ones.
    """
    order = np.random.default_rng(seed).permutation(len(smiles))
    scores = []
    for k in range(folds):
        held = np.zeros(len(smiles), dtype=bool)
        held[order[k::folds]] = True
        model = factory()
        model.fit(
            [s for s, h in zip(smiles, held, strict=True) if not h], y[~held], transforms=transforms
        )
        held_smiles = [s for s, h in zip(smiles, held, strict=True) if h]
        table = model.evaluate(held_smiles, y[held], transformed=True)
        scores.append(float(np.nanmean(table["score"].to_numpy(dtype=float))))
    return float(np.mean(scores))


def _defaults_in_space(
    cls, space: Mapping[str, tuple[str, float, float, bool]], fixed: Mapping[str, Any]
) -> dict[str, Any]:
    """The model's default value of each searched option, where it lies inside the range."""
    from sciml.chem.models.options import option_defaults

    defaults = option_defaults(cls.config_cls)
    out = {}
    for name, (_, low, high, _) in space.items():
        value = defaults.get(name)
        if name not in fixed and isinstance(value, int | float) and low <= value <= high:
            out[name] = value
    return out


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
) -> TuneResult:
    """Search a model's options by K-fold cross-validation on the training data.

    Parameters
    ----------
    smiles : sequence of str
        Training SMILES (canonicalised and validated by the models; invalid ones raise).
    y : DataFrame
        ``(N, T)`` targets, NaN where not measured.
    model : str
        A kind in :data:`SEARCH_SPACES`.
    trials : int
        Trials run by this call (a shared study accumulates the trials of every worker). The
        first trial of a new study evaluates the model's defaults (those inside the search
        space), so the best trial is never worse on the inner folds than the defaults.
    folds : int
        Cross-validation folds inside the training data.
    seed : int
        Seeds the folds and the TPE sampler.
    transforms : str or dict, optional
        Target transforms applied in every fold (see :mod:`sciml.chem.transforms`).
    fixed : dict, optional
        Options held fixed, e.g. ``{"n_jobs": 1}`` or ``{"epochs": 20}``.
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

    Returns
    -------
    TuneResult
    """
    import optuna

    from sciml.chem.models import MODELS

    space = search_space(model)
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}")
    if trials < 1 or folds < 2:
        raise ValueError(f"need trials >= 1 and folds >= 2, got trials={trials}, folds={folds}")
    smiles = list(smiles)
    if len(smiles) != len(y):
        raise ValueError(f"{len(smiles)} SMILES but {len(y)} rows of targets")
    if len(smiles) < 5 * folds:
        raise ValueError(f"{len(smiles)} molecules are too few for {folds}-fold tuning")
    fixed = dict(fixed or {})
    clash = sorted(set(fixed) & set(space))
    if clash:
        raise ValueError(f"option(s) {clash} are both fixed and searched")
    cls = MODELS[model]
    y = y.reset_index(drop=True)

    def objective(trial) -> float:
        params = _suggest(trial, space)
        return _cv_score(lambda: cls(**fixed, **params), smiles, y, folds, seed, transforms)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name or f"sciml-{model}",
        storage=storage,
        load_if_exists=True,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
    )
    if not study.trials:
        # The first trial of a new study is the model's defaults (inside the space), so the
        # search never returns something worse on the inner folds than not tuning at all.
        defaults = _defaults_in_space(cls, space, fixed)
        if defaults:
            study.enqueue_trial(defaults)
    study.optimize(objective, n_trials=trials, timeout=timeout, show_progress_bar=progress)
    frame = study.trials_dataframe(attrs=("number", "state", "value", "duration", "params"))
    frame = frame.rename(columns={"value": "cv_r2"})
    frame.columns = [c.removeprefix("params_") for c in frame.columns]
    if "duration" in frame:
        frame["duration_s"] = frame.pop("duration").dt.total_seconds()
    return TuneResult(
        model, dict(study.best_params), float(study.best_value), fixed, transforms, frame
    )
