"""Gradient-boosted trees (LightGBM) on Morgan count fingerprints plus RDKit descriptors.

The strongest public ADMET models are boosted trees on fingerprints and descriptors.
LightGBM is used because it handles missing descriptor values natively (no imputation),
trains fast on sparse count features with histogram binning, and writes its boosters as
plain text (``Booster.model_to_string``), so a saved model loads without unpickling.

One booster per endpoint, each fitted on the molecules that have that endpoint, with the
objective its task asks for (regression, or binary log-loss giving probabilities). With
validation data, each booster stops early on it; without, it trains ``n_estimators``
rounds.

Examples
--------
>>> import pandas as pd
>>> smiles = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "Cc1ccccc1"] * 3
>>> y = pd.DataFrame({"logp": [-0.3, 0.1, 0.9, 1.4, 2.1, 2.7] * 3})
>>> model = GBMModel(n_estimators=20, min_child_samples=2, n_jobs=1).fit(smiles, y)
>>> model.predict(["CCCCCCO"]).columns.tolist()
['logp']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sciml.chem.descriptors import descriptor_names
from sciml.chem.models.base import LabelledSet, MoleculeModel, file_inside
from sciml.chem.models.rf import checked_descriptor_names, physchem_features
from sciml.train.checkpoint import CheckpointError

__all__ = ["GBMConfig", "GBMModel", "morgan_counts"]


def morgan_counts(smiles: list[str], radius: int = 2, n_bits: int = 2048) -> np.ndarray:
    """``(n, n_bits)`` float32 Morgan (ECFP-like) count fingerprints of canonical SMILES."""
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    out = np.zeros((len(smiles), n_bits), dtype=np.float32)
    for i, text in enumerate(smiles):
        mol = Chem.MolFromSmiles(text)
        if mol is not None:
            out[i] = generator.GetCountFingerprintAsNumPy(mol)
    return out


@dataclass(frozen=True)
class GBMConfig:
    """Hyper-parameters of :class:`GBMModel`.

    Attributes
    ----------
    n_estimators : int
        Boosting rounds (the maximum, with early stopping on validation data).
    learning_rate : float
        Shrinkage per round.
    num_leaves : int
        Leaves per tree.
    min_child_samples : int
        Minimum molecules per leaf.
    subsample : float
        Fraction of molecules per round (bagging).
    colsample_bytree : float
        Fraction of features per tree.
    reg_lambda : float
        L2 regularisation of leaf values.
    radius, n_bits : int
        Morgan count fingerprint settings (``n_bits=0``: descriptors only).
    descriptors : bool
        Add the RDKit descriptors of :func:`~sciml.chem.descriptors.compute_descriptors`.
    early_stopping : int
        Rounds without validation improvement before stopping (used only with validation data).
    seed : int
        Random seed.
    n_jobs : int or None
        Threads (None: LightGBM's default, all cores).
    descriptor_cache : bool
        Use the on-disk descriptor cache.
    fingerprints : tuple of str
        Further named fingerprint sets of :mod:`sciml.chem.fingerprints` (``morgan3_counts``,
        ``avalon``, ``erg``, ``maccs``, ``atompair_counts``) added to the features.
    """

    n_estimators: int = 1000
    learning_rate: float = 0.03
    num_leaves: int = 31
    min_child_samples: int = 10
    subsample: float = 0.8
    colsample_bytree: float = 0.3
    reg_lambda: float = 1.0
    radius: int = 2
    n_bits: int = 2048
    descriptors: bool = True
    early_stopping: int = 50
    seed: int = 0
    n_jobs: int | None = None
    descriptor_cache: bool = True
    fingerprints: tuple[str, ...] = ()

    def __post_init__(self):
        from sciml.chem.fingerprints import check_fingerprint_names

        # JSON and --set give a list; a tuple keeps the configuration hashable.
        object.__setattr__(
            self, "fingerprints", check_fingerprint_names(self.fingerprints, "GBM fingerprints")
        )


class GBMModel(MoleculeModel):
    """LightGBM regression on fingerprints + descriptors, one booster per endpoint.

    Parameters
    ----------
    config : GBMConfig, optional
        Hyper-parameters.
    **overrides
        Fields of :class:`GBMConfig` to change.
    """

    name = "gbm"
    config_cls = GBMConfig

    def __init__(self, config: GBMConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.boosters: dict[str, Any] = {}
        self.descriptor_names: list[str] = []

    def _features(self, smiles: list[str]) -> np.ndarray:
        """``(n, F)`` float32 features; undefined descriptors stay NaN (LightGBM's missing)."""
        parts = []
        if self.config.n_bits:
            parts.append(morgan_counts(smiles, self.config.radius, self.config.n_bits))
        if self.config.fingerprints:
            from sciml.chem.fingerprints import fingerprint_matrix

            parts.append(fingerprint_matrix(smiles, self.config.fingerprints))
        if self.config.descriptors:
            values = physchem_features(
                smiles, n_jobs=self.config.n_jobs, cache=self.config.descriptor_cache
            )
            values = np.where(np.isfinite(values), values, np.nan)
            # float32 overflows for a few unbounded descriptors (e.g. Ipc); clip, keep NaN.
            limit = np.finfo(np.float32).max / 10
            parts.append(np.clip(values, -limit, limit).astype(np.float32))
        if not parts:
            raise ValueError("GBMModel needs n_bits > 0, fingerprints or descriptors=True")
        return np.hstack(parts)

    def _params(self) -> dict[str, Any]:
        c = self.config
        return {
            "learning_rate": c.learning_rate,
            "num_leaves": c.num_leaves,
            "min_child_samples": c.min_child_samples,
            "bagging_fraction": c.subsample,
            "bagging_freq": 1 if c.subsample < 1 else 0,
            "feature_fraction": c.colsample_bytree,
            "lambda_l2": c.reg_lambda,
            "seed": c.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 0 if c.n_jobs is None else c.n_jobs,
            "verbosity": -1,
        }

    def _fit(self, train: LabelledSet, val: LabelledSet | None, checkpoints=None) -> None:
        import lightgbm as lgb

        self.descriptor_names = descriptor_names() if self.config.descriptors else []
        x = self._features(train.smiles)
        x_val = self._features(val.smiles) if val is not None else None
        self.boosters = {}
        best_rounds = {}
        for t, target in enumerate(self.targets):
            labelled = ~np.isnan(train.y[:, t])
            data = lgb.Dataset(x[labelled], train.y[labelled, t], free_raw_data=True)
            callbacks, valid_sets = [], []
            if x_val is not None and (~np.isnan(val.y[:, t])).sum() >= 5:
                keep = ~np.isnan(val.y[:, t])
                valid_sets = [lgb.Dataset(x_val[keep], val.y[keep, t], reference=data)]
                callbacks = [lgb.early_stopping(self.config.early_stopping, verbose=False)]
            params = {**self._params(), **self.tasks[t].lightgbm_params()}
            booster = lgb.train(
                params,
                data,
                num_boost_round=self.config.n_estimators,
                valid_sets=valid_sets,
                callbacks=callbacks,
            )
            self.boosters[target] = booster
            best_rounds[target] = int(booster.best_iteration or booster.current_iteration())
        self.fit_info["best_rounds"] = best_rounds

    def _predict(self, smiles: list[str], return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if return_std:
            raise ValueError(
                "a single gradient-boosted model gives no spread; use an ensemble "
                "(e.g. --model ensemble --members rf,gbm) for a standard deviation"
            )
        x = self._features(smiles)
        mean = np.empty((len(smiles), len(self.targets)))
        for t, target in enumerate(self.targets):
            booster = self.boosters[target]
            mean[:, t] = booster.predict(x, num_iteration=booster.best_iteration or None)
        return mean, None

    def _save(self, directory: Path) -> dict[str, Any]:
        files = []
        for t, target in enumerate(self.targets):
            name = f"booster_{t}.txt"
            booster = self.boosters[target]
            text = booster.model_to_string(num_iteration=booster.best_iteration or None)
            (directory / name).write_text(text)
            files.append(name)
        return {"boosters": files, "descriptor_names": self.descriptor_names}

    def _check_descriptor_names(self, directory: Path, extra: dict[str, Any]) -> None:
        """Refuse a model fitted on other RDKit descriptors than this RDKit computes."""
        self.descriptor_names = (
            checked_descriptor_names(directory, extra)
            if self.config.descriptors
            else list(extra.get("descriptor_names", []))
        )

    def _booster_bytes(self, directory: Path, extra: dict[str, Any], library: str):
        """``(target, path, bytes)`` of each endpoint's saved booster (gunzipped if ``.gz``)."""
        import gzip

        self._check_descriptor_names(directory, extra)
        files = extra.get("boosters")
        if not isinstance(files, list) or len(files) != len(self.targets):
            raise CheckpointError(f"{directory}: model.json lists no {library} model per endpoint")
        for target, name in zip(self.targets, files, strict=True):
            path = file_inside(directory, name, f"{library} model")
            try:
                data = path.read_bytes()
                # shipped models store their boosters gzipped
                yield target, path, gzip.decompress(data) if path.suffix == ".gz" else data
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise CheckpointError(f"{path} is not a {library} model: {exc}") from exc

    def _load(self, directory: Path, extra: dict[str, Any]) -> None:
        import lightgbm as lgb

        self.boosters = {}
        for target, path, data in self._booster_bytes(directory, extra, "LightGBM"):
            try:
                self.boosters[target] = lgb.Booster(model_str=data.decode())
            except (lgb.basic.LightGBMError, UnicodeDecodeError) as exc:
                raise CheckpointError(f"{path} is not a LightGBM model: {exc}") from exc
