"""Molecular property transformer with domain adaptation (Sultan et al., 2025).

Pipeline by stage:

- :mod:`~sciml.chem.transformer.data` -- token data sets, MLM masking, length-bucketed loaders;
- :mod:`~sciml.chem.transformer.model` -- :class:`MolecularTransformer` (encoder + MLM, MTR and
  endpoint heads) and the descriptor MTR objective;
- :mod:`~sciml.chem.transformer.stages` -- :func:`pretrain`, :func:`adapt`, :func:`embed` and
  stage checkpoints;
- :mod:`~sciml.chem.transformer.predictor` -- :class:`TransformerModel` (the baselines'
  ``fit``/``predict``/``save``/``load`` interface) and :class:`MolecularPropertyPredictor`;
- :mod:`sciml.chem.transformer_cli` -- ``sciml pretrain`` and ``sciml adapt`` (kept outside
  this package so that ``sciml --help`` does not import torch).
"""

# TransformerModel is registered in sciml.chem.models.MODELS, whose package imports the
# predictor module; loading that package first keeps the import order acyclic.
import sciml.chem.models  # noqa: F401
from sciml.chem.transformer.data import SmilesTokenDataset, encode_smiles, mask_tokens
from sciml.chem.transformer.model import DescriptorRegression, MolecularTransformer
from sciml.chem.transformer.predictor import (
    HEADS,
    MolecularPropertyPredictor,
    TransformerConfig,
    TransformerModel,
)
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
