"""Molecular property models sharing one interface: SMILES in, endpoints in physical units out.

Every model has ``fit(smiles, y, val_smiles=None, val_y=None, errors="raise")``,
``predict(smiles, errors="raise", targets=None, return_std=False) -> DataFrame``,
``save(directory)`` and the class method ``load(directory)``; :func:`load_model`
rebuilds whichever model a folder holds. :data:`MODELS` maps the CLI names to classes.

- :class:`RandomForestModel` (``"rf"``): RDKit descriptors, one forest per endpoint;
- :class:`GBMModel` (``"gbm"``): LightGBM on Morgan count fingerprints + RDKit descriptors;
- :class:`CatBoostModel` (``"catboost"``): CatBoost on the same features;
- :class:`KernelModel` (``"kernel"``): kernel ridge regression (the Gaussian-process mean)
  on a MinMax kernel of Morgan counts mixed with an RBF kernel of RDKit descriptors;
- :class:`GNNModel` (``"gnn"``): D-MPNN with optional descriptor concatenation and
  ensembling, trained by :class:`sciml.train.Trainer`;
- :class:`TransformerModel` (``"transformer"``): SMILES encoder from
  :mod:`sciml.chem.transformer`, domain-adapted, with a random-forest or fine-tuned head;
- :class:`EnsembleModel` (``"ensemble"``, Python API only: it is built from member
  objects): mean of several models, std across them;
- :class:`StackedModel` (``"stack"``, built from member objects; :func:`best_recipe` is
  ``sciml fit --model best``): members combined by weights fitted on inner CV folds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sciml.chem.models.base import MoleculeModel, NotFittedError, read_meta
from sciml.chem.models.catboost import CatBoostConfig, CatBoostModel
from sciml.chem.models.ensemble import EnsembleConfig, EnsembleModel
from sciml.chem.models.gbm import GBMConfig, GBMModel
from sciml.chem.models.gnn import GNNConfig, GNNModel
from sciml.chem.models.kernel import KernelConfig, KernelModel
from sciml.chem.models.rf import RandomForestConfig, RandomForestModel
from sciml.chem.models.stack import StackConfig, StackedModel, best_recipe
from sciml.chem.models.transformer import TransformerConfig, TransformerModel
from sciml.train.checkpoint import CheckpointError

__all__ = [
    "MODELS",
    "CatBoostConfig",
    "CatBoostModel",
    "EnsembleConfig",
    "EnsembleModel",
    "GBMConfig",
    "GBMModel",
    "GNNConfig",
    "GNNModel",
    "KernelConfig",
    "KernelModel",
    "MoleculeModel",
    "NotFittedError",
    "RandomForestConfig",
    "RandomForestModel",
    "StackConfig",
    "StackedModel",
    "TransformerConfig",
    "TransformerModel",
    "best_recipe",
    "SHIPPED_MODELS",
    "load_model",
    "shipped_model_path",
]

#: Model classes by the name used on the command line and in ``model.json``.
MODELS: dict[str, type[MoleculeModel]] = {
    "rf": RandomForestModel,
    "gbm": GBMModel,
    "catboost": CatBoostModel,
    "gnn": GNNModel,
    "kernel": KernelModel,
    "transformer": TransformerModel,
}
#: Kinds :func:`load_model` reads: the CLI's, plus those built from other models in Python.
_LOADABLE: dict[str, type[MoleculeModel]] = {
    **MODELS,
    "ensemble": EnsembleModel,
    "stack": StackedModel,
}


#: Trained models shipped in ``sciml/assets``, by the name ``load_model`` and
#: ``sciml predict --model NAME`` accept (provenance in each folder's ``provenance.json``).
SHIPPED_MODELS: dict[str, str] = {"biogen-adme": "biogen_adme"}


def shipped_model_path(name: str | os.PathLike) -> Path | None:
    """The folder of shipped model ``name`` (e.g. ``"biogen-adme"``), or None if not one.

    A local path that exists always wins over a shipped name.
    """
    if Path(name).exists() or str(name) not in SHIPPED_MODELS:
        return None
    from sciml import asset_path

    folder = asset_path(SHIPPED_MODELS[str(name)])
    return folder


def load_model(directory: str | os.PathLike, **inference_options: Any) -> MoleculeModel:
    """Load a saved model of any registered kind, or a shipped one by name.

    Parameters
    ----------
    directory : path or str
        Folder written by ``save``, or the name of a shipped model in
        :data:`SHIPPED_MODELS` (``"biogen-adme"``: the six Biogen ADME endpoints).
    **inference_options
        Fields of the model's :attr:`~MoleculeModel.inference_options` to change, e.g.
        ``precision="bf16"`` for a transformer.

    Raises
    ------
    FileNotFoundError
        ``directory`` is not a saved model.
    CheckpointError
        The folder is malformed or names a model kind not in :data:`MODELS`.
    ValueError
        An inference option the saved kind of model does not have.
    """
    directory = shipped_model_path(directory) or directory
    meta = read_meta(directory)
    kind = meta.get("model")
    if kind not in _LOADABLE:
        raise CheckpointError(
            f"{directory} holds a model of kind {kind!r}, which this sciml does "
            f"not know; known kinds: {', '.join(sorted(_LOADABLE))}"
        )
    cls = _LOADABLE[kind]
    unknown = sorted(set(inference_options) - set(cls.inference_options))
    if unknown:
        takers = sorted(k for k, c in _LOADABLE.items() if set(unknown) <= set(c.inference_options))
        raise ValueError(
            f"{', '.join(unknown)} applies to {', '.join(takers) or 'no'} models; "
            f"{directory} holds a {kind!r} model"
        )
    return cls.load(directory).set_inference_options(**inference_options)
