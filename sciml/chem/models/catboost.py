"""CatBoost on the same features as :class:`~sciml.chem.models.GBMModel`.

CatBoost grows symmetric (oblivious) trees with ordered boosting, which overfits small
data sets less than leaf-wise LightGBM; MapLight, a leading ADMET model on public boards,
is CatBoost on fingerprints and RDKit descriptors. The features are the GBM model's
(Morgan counts, optional named fingerprint sets, RDKit descriptors with NaN for undefined
values, which CatBoost treats as missing).

One model per endpoint, with the loss its task asks for (RMSE, or log-loss whose raw
output the task decodes to a probability). Saved in CatBoost's own ``.cbm`` format, a
flat buffer that loads without unpickling. With validation data each model stops early on
it; without, it trains ``iterations`` rounds.

Examples
--------
>>> import pandas as pd
>>> smiles = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "Cc1ccccc1"] * 3
>>> y = pd.DataFrame({"logp": [-0.3, 0.1, 0.9, 1.4, 2.1, 2.7] * 3})
>>> model = CatBoostModel(iterations=30, n_jobs=1, descriptors=False).fit(smiles, y)
>>> model.predict(["CCCCCCO"]).columns.tolist()
['logp']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sciml.chem.models.base import LabelledSet
from sciml.chem.models.gbm import GBMModel
from sciml.train.checkpoint import CheckpointError

__all__ = ["CatBoostConfig", "CatBoostModel"]


@dataclass(frozen=True)
class CatBoostConfig:
    """Hyper-parameters of :class:`CatBoostModel`.

    Attributes
    ----------
    iterations : int
        Boosting rounds (the maximum, with early stopping on validation data).
    learning_rate : float
        Shrinkage per round.
    depth : int
        Depth of each symmetric tree.
    l2_leaf_reg : float
        L2 regularisation of leaf values.
    rsm : float
        Fraction of features considered per split (random subspace; faster on wide data).
    border_count : int
        Histogram bins per numeric feature.
    radius, n_bits : int
        Morgan count fingerprint settings (``n_bits=0``: none).
    descriptors : bool
        Add the RDKit descriptors of :func:`~sciml.chem.descriptors.compute_descriptors`.
    fingerprints : tuple of str
        Further named fingerprint sets of :mod:`sciml.chem.fingerprints`.
    early_stopping : int
        Rounds without validation improvement before stopping (only with validation data).
    seed : int
        Random seed.
    n_jobs : int or None
        Threads (None: all cores).
    descriptor_cache : bool
        Use the on-disk descriptor cache.
    """

    iterations: int = 1000
    learning_rate: float = 0.05
    depth: int = 6
    l2_leaf_reg: float = 3.0
    rsm: float = 0.1
    border_count: int = 64
    radius: int = 2
    n_bits: int = 2048
    descriptors: bool = True
    fingerprints: tuple[str, ...] = ()
    early_stopping: int = 50
    seed: int = 0
    n_jobs: int | None = None
    descriptor_cache: bool = True

    def __post_init__(self):
        from sciml.chem.fingerprints import check_fingerprint_names

        object.__setattr__(
            self,
            "fingerprints",
            check_fingerprint_names(self.fingerprints, "CatBoost fingerprints"),
        )
        if not 0 < self.rsm <= 1:
            raise ValueError(f"CatBoost rsm must be in (0, 1], got {self.rsm}")
        if not 1 <= self.depth <= 16:
            raise ValueError(f"CatBoost depth must be 1 to 16, got {self.depth}")


class CatBoostModel(GBMModel):
    """CatBoost on fingerprints + descriptors, one model per endpoint.

    Parameters
    ----------
    config : CatBoostConfig, optional
        Hyper-parameters.
    **overrides
        Fields of :class:`CatBoostConfig` to change.
    """

    name = "catboost"
    config_cls = CatBoostConfig

    def _params(self) -> dict[str, Any]:
        c = self.config
        return {
            "iterations": c.iterations,
            "learning_rate": c.learning_rate,
            "depth": c.depth,
            "l2_leaf_reg": c.l2_leaf_reg,
            "rsm": c.rsm,
            "border_count": c.border_count,
            "random_seed": c.seed,
            "thread_count": -1 if c.n_jobs is None else c.n_jobs,
            "allow_writing_files": False,
            "verbose": False,
        }

    def _fit(self, train: LabelledSet, val: LabelledSet | None, checkpoints=None) -> None:
        import catboost

        from sciml.chem.descriptors import descriptor_names

        self.descriptor_names = descriptor_names() if self.config.descriptors else []
        x = self._features(train.smiles)
        x_val = self._features(val.smiles) if val is not None else None
        self.boosters = {}
        best_rounds = {}
        for t, target in enumerate(self.targets):
            labelled = ~np.isnan(train.y[:, t])
            params = {**self._params(), **self.tasks[t].catboost_params()}
            pool = catboost.Pool(x[labelled], train.y[labelled, t])
            eval_set = None
            if x_val is not None and (~np.isnan(val.y[:, t])).sum() >= 5:
                keep = ~np.isnan(val.y[:, t])
                eval_set = catboost.Pool(x_val[keep], val.y[keep, t])
                params["od_type"], params["od_wait"] = "Iter", self.config.early_stopping
                params["use_best_model"] = True
            booster = catboost.CatBoost(params)
            booster.fit(pool, eval_set=eval_set)
            self.boosters[target] = booster
            best_rounds[target] = int(booster.tree_count_)
        self.fit_info["best_rounds"] = best_rounds

    def _predict(self, smiles: list[str], return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if return_std:
            raise ValueError(
                "a single CatBoost model gives no spread; use an ensemble "
                "(e.g. --model ensemble --members rf,catboost) for a standard deviation"
            )
        x = self._features(smiles)
        mean = np.empty((len(smiles), len(self.targets)))
        for t, target in enumerate(self.targets):
            raw = self.boosters[target].predict(x, prediction_type="RawFormulaVal")
            mean[:, t] = self.tasks[t].decode_output(torch.as_tensor(raw)).numpy()
        return mean, None

    def _save(self, directory: Path) -> dict[str, Any]:
        files = []
        for t, target in enumerate(self.targets):
            name = f"catboost_{t}.cbm"
            self.boosters[target].save_model(str(directory / name), format="cbm")
            files.append(name)
        return {"boosters": files, "descriptor_names": self.descriptor_names}

    def _load(self, directory: Path, extra: dict[str, Any]) -> None:
        import catboost

        self.boosters = {}
        for target, path, data in self._booster_bytes(directory, extra, "CatBoost"):
            booster = catboost.CatBoost()
            try:
                booster.load_model(blob=data)
            except catboost.CatBoostError as exc:
                raise CheckpointError(f"{path} is not a CatBoost model: {exc}") from exc
            self.boosters[target] = booster
