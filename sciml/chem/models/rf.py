"""Random forest on RDKit physicochemical descriptors, the baseline chemists compare against.

Binary endpoints use the same regression forest on their 0/1 labels: a variance split of
0/1 labels is a Gini split and a leaf's mean is its fraction of class 1, so the forest's
mean is exactly scikit-learn's ``RandomForestClassifier.predict_proba`` for that class.

One forest per endpoint, each fitted on the molecules that have that endpoint, so
sparse multi-endpoint tables need no imputation of labels. Descriptors
(:func:`sciml.chem.descriptors.compute_descriptors`) that are undefined for a molecule
are imputed with the training median. After fitting, the forests are copied into plain
arrays (:class:`~sciml.chem.models._trees.ForestArrays`), which is what predicts and
what :meth:`save` writes, so saved and in-memory models predict identically and a
saved model is loaded without unpickling.

Examples
--------
>>> import pandas as pd
>>> smiles = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "Cc1ccccc1"]
>>> y = pd.DataFrame({"logp": [-0.3, 0.1, 0.9, 1.4, 2.1, 2.7]})
>>> model = RandomForestModel(n_estimators=20, n_jobs=1).fit(smiles, y)
>>> model.predict(["CCCCCCO"]).columns.tolist()
['logp']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sciml.chem.descriptors import compute_descriptors, descriptor_names
from sciml.chem.models._trees import ForestArrays
from sciml.chem.models.base import LabelledSet, MoleculeModel, file_inside
from sciml.train.checkpoint import CheckpointError

__all__ = [
    "RandomForestConfig",
    "RandomForestModel",
    "checked_descriptor_names",
    "physchem_features",
    "training_medians",
]

_WEIGHTS = "forests.npz"


def physchem_features(
    smiles: list[str],
    medians: np.ndarray | None = None,
    *,
    n_jobs: int | None = None,
    cache: bool = True,
) -> np.ndarray:
    """``(n, D)`` RDKit descriptors; undefined values set to ``medians`` when given."""
    x = compute_descriptors(smiles, n_jobs=n_jobs, cache=cache).to_numpy(dtype=np.float64)
    if medians is not None and medians.size:
        x = np.where(np.isnan(x), medians, x)
    return x


def checked_descriptor_names(directory: Path, extra: dict[str, Any]) -> list[str]:
    """The RDKit descriptor names a saved model lists in ``model.json``'s extras.

    Raises
    ------
    CheckpointError
        They differ from the descriptors this RDKit computes (the model must be refitted).
    """
    names = list(extra.get("descriptor_names", []))
    if names != descriptor_names():
        raise CheckpointError(
            f"{directory} was fitted on {len(names)} RDKit descriptors that differ from this "
            f"RDKit's {len(descriptor_names())}; refit the model with this RDKit version"
        )
    return names


def training_medians(x: np.ndarray) -> np.ndarray:
    """``(D,)`` NaN-aware column medians of the training descriptors ``x`` ``(n, D)``."""
    # A descriptor undefined for every training molecule carries no information; 0 is
    # as good a constant as any.
    with np.errstate(all="ignore"):
        return np.nanmedian(np.where(np.isnan(x).all(0), 0.0, x), axis=0)


@dataclass(frozen=True)
class RandomForestConfig:
    """Hyper-parameters of :class:`RandomForestModel`.

    Attributes
    ----------
    n_estimators : int
        Trees per endpoint.
    max_features : float or tuple of float
        Fraction of descriptors tried at each split (1/3 is the usual regression choice;
        1.0, bagged trees, is scikit-learn's default). A tuple of fractions: each endpoint
        gets the one whose forest has the best out-of-bag R² on its training molecules
        (one forest fitted per candidate; ``fit_info["max_features"]`` records the choice).
    min_samples_leaf : int
        Minimum training molecules per leaf.
    max_depth : int or None
        Depth limit (None grows trees fully).
    seed : int
        Random seed of every forest.
    n_jobs : int or None
        Processes for descriptors and threads for tree building (None: all cores).
    descriptor_cache : bool
        Use the on-disk descriptor cache (:func:`~sciml.chem.descriptors.compute_descriptors`).
    """

    n_estimators: int = 300
    max_features: float | tuple[float, ...] = 1 / 3
    min_samples_leaf: int = 1
    max_depth: int | None = None
    seed: int = 0
    n_jobs: int | None = None
    descriptor_cache: bool = True

    def __post_init__(self):
        if isinstance(self.max_features, (list, tuple)):
            # model.json and --set store a list; the frozen config keeps a tuple.
            object.__setattr__(self, "max_features", tuple(self.max_features))
        bad = [
            f
            for f in self.candidate_max_features
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1
        ]
        if bad or not self.candidate_max_features:
            raise ValueError(
                f"max_features must be a fraction in (0, 1] or a non-empty tuple "
                f"of them, got {self.max_features!r}"
            )

    @property
    def candidate_max_features(self) -> tuple[float, ...]:
        """The ``max_features`` values to try (one unless a tuple was given)."""
        if isinstance(self.max_features, tuple):
            return self.max_features
        return (self.max_features,)


class RandomForestModel(MoleculeModel):
    """Random forest regression on RDKit descriptors, one forest per endpoint.

    Parameters
    ----------
    config : RandomForestConfig, optional
        Hyper-parameters.
    **overrides
        Fields of :class:`RandomForestConfig` to change.
    """

    name = "rf"
    config_cls = RandomForestConfig

    def __init__(self, config: RandomForestConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.forests: dict[str, ForestArrays] = {}
        self.medians = np.empty(0)
        self.descriptor_names: list[str] = []

    def _features(self, smiles: list[str]) -> np.ndarray:
        """``(n, D)`` descriptors with undefined values set to the training medians."""
        return physchem_features(
            smiles, self.medians, n_jobs=self.config.n_jobs, cache=self.config.descriptor_cache
        )

    def _fit(self, train: LabelledSet, val: LabelledSet | None, checkpoints=None) -> None:
        from sklearn.ensemble import RandomForestRegressor

        self.descriptor_names = descriptor_names()
        self.medians = np.empty(0)
        x = self._features(train.smiles)
        self.medians = training_medians(x)
        x = np.where(np.isnan(x), self.medians, x)
        self.forests = {}
        candidates = self.config.candidate_max_features
        chosen, oob = {}, {}
        for t, target in enumerate(self.targets):
            labelled = ~np.isnan(train.y[:, t])
            best = None
            for fraction in candidates:
                forest = RandomForestRegressor(
                    n_estimators=self.config.n_estimators,
                    max_features=float(fraction),
                    min_samples_leaf=self.config.min_samples_leaf,
                    max_depth=self.config.max_depth,
                    random_state=self.config.seed,
                    n_jobs=-1 if self.config.n_jobs is None else self.config.n_jobs,
                    oob_score=len(candidates) > 1,
                )
                forest.fit(
                    x[labelled],
                    train.y[labelled, t],
                    sample_weight=self.tasks[t].sample_weight(train.y[labelled, t]),
                )
                if len(candidates) == 1:
                    best = forest
                elif best is None or forest.oob_score_ > oob[target]:
                    best, chosen[target], oob[target] = forest, float(fraction), forest.oob_score_
            self.forests[target] = ForestArrays.from_sklearn(best)
        if len(candidates) > 1:
            self.fit_info["max_features"] = chosen
            self.fit_info["oob_r2"] = {k: float(v) for k, v in oob.items()}

    def _predict(self, smiles: list[str], return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        x = self._features(smiles)
        mean = np.empty((len(smiles), len(self.targets)))
        std = np.empty_like(mean)
        for t, target in enumerate(self.targets):
            mean[:, t], std[:, t] = self.forests[target].predict(x)
        return mean, std if return_std else None

    def _save(self, directory: Path) -> dict[str, Any]:
        arrays = {"medians": self.medians}
        for t, target in enumerate(self.targets):
            arrays.update(self.forests[target].to_dict(f"t{t}_"))
        np.savez_compressed(directory / _WEIGHTS, **arrays)
        extra = {"weights": _WEIGHTS, "descriptor_names": self.descriptor_names}
        if "max_features" in self.fit_info:
            extra["chosen"] = {key: self.fit_info[key] for key in ("max_features", "oob_r2")}
        return extra

    def _load(self, directory: Path, extra: dict[str, Any]) -> None:
        self.descriptor_names = checked_descriptor_names(directory, extra)
        self.fit_info.update(extra.get("chosen", {}))
        with np.load(
            file_inside(directory, extra.get("weights"), "weights"), allow_pickle=False
        ) as arrays:
            self.medians = np.asarray(arrays["medians"])
            self.forests = {
                target: ForestArrays.from_dict(arrays, f"t{t}_")
                for t, target in enumerate(self.targets)
            }
