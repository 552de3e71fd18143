"""Molecular property transformer with domain adaptation (Sultan et al., 2025).

Pipeline by stage:

- :mod:`~sciml.chem.transformer.data` -- token data sets, MLM masking, length-bucketed loaders;
- :mod:`~sciml.chem.transformer.model` -- :class:`MolecularTransformer` (encoder + MLM, MTR and
  endpoint heads) and the descriptor MTR objective;
- :mod:`~sciml.chem.transformer.stages` -- :func:`pretrain`, :func:`adapt`, :func:`embed` and
  stage checkpoints;
- :class:`~sciml.chem.models.TransformerModel` (the molecular models' ``fit``/``predict``/
  ``save``/``load`` interface) lives with the other models in :mod:`sciml.chem.models`, and
  the predictor for any saved model in :mod:`sciml.chem.predictor`; both names are still
  importable from here;
- :mod:`sciml.chem.transformer_cli` -- ``sciml pretrain`` and ``sciml adapt`` (kept outside
  this package so that ``sciml --help`` does not import torch).
"""

from sciml.chem.transformer.data import SmilesTokenDataset, encode_smiles, mask_tokens
from sciml.chem.transformer.model import DescriptorRegression, MolecularTransformer
from sciml.chem.transformer.stages import (
    OBJECTIVES,
    PRECISIONS,
    Stage,
    adapt,
    descriptor_targets,
    embed,
    load_stage,
    pretrain,
    run_batches,
    save_stage,
    select_corpus,
)

__all__ = [
    "HEADS",
    "OBJECTIVES",
    "PRECISIONS",
    "MolecularPropertyPredictor",
    "TransformerConfig",
    "TransformerModel",
    "DescriptorRegression",
    "MolecularTransformer",
    "SmilesTokenDataset",
    "Stage",
    "adapt",
    "descriptor_targets",
    "embed",
    "encode_smiles",
    "load_stage",
    "mask_tokens",
    "pretrain",
    "run_batches",
    "save_stage",
    "select_corpus",
]

#: Names that moved out of this package, importable from here as before: module by name.
_MOVED = {
    "HEADS": "sciml.chem.models.transformer",
    "TransformerConfig": "sciml.chem.models.transformer",
    "TransformerModel": "sciml.chem.models.transformer",
    "MolecularPropertyPredictor": "sciml.chem.predictor",
}


def __getattr__(name: str):
    # Imported on first use: sciml.chem.models imports this package, so importing it back
    # at load time would be a circle.
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
