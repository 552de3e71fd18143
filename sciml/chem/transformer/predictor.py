"""Former home of :class:`TransformerModel` and :class:`MolecularPropertyPredictor`.

They moved to :mod:`sciml.chem.models.transformer` and :mod:`sciml.chem.predictor`, so that
this package (the network and its training stages) no longer imports the model registry
that imports it. This module keeps the old import path working.
"""

from sciml.chem.models.transformer import (
    FEATURES,
    HEADS,
    TransformerConfig,
    TransformerModel,
)
from sciml.chem.predictor import MolecularPropertyPredictor

__all__ = [
    "FEATURES",
    "HEADS",
    "MolecularPropertyPredictor",
    "TransformerConfig",
    "TransformerModel",
]
