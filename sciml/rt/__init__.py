"""The Regression Transformer: property prediction and property-primed generation in one model.

Born & Manica, "Regression Transformer enables concurrent sequence regression and
generation for molecular language modelling", Nat. Mach. Intell. 5, 432-444 (2023).

Properties are written into the sequence as tokens, ``<qed>0.3936|CBr`` becoming
``<qed> _0_0_ _._ _3_-1_ _9_-2_ _3_-3_ _6_-4_ | C Br``, and one model is trained on two
alternating masked objectives: predict all digit tokens from the molecule (regression),
and fill masked spans of the molecule given the property (conditional generation).

Backbone choice
---------------
The original uses XLNet (permutation language modelling). Here the backbone is the shared
bidirectional masked-LM encoder (:mod:`sciml.encoder`) and generation is *iterative
unmasking*: molecule spans are masked and filled over a few passes, the most confident
positions first. Reasons: (1) the same encoder, tokenizer and Trainer serve every sciml
model family, so the RT adds only its number tokens, numerical encodings and collators;
(2) both RT tasks are infilling tasks (digits given the molecule; molecule spans given the
digits), which a masked LM does natively, while XLNet's permutation objective is needed
mainly for left-to-right generation of unbounded length; (3) on a CPU budget an encoder
of a few million parameters trains in minutes. The cost: a masked span has a fixed number
of slots; models trained with ``RTConfig(span_slack > 0)`` get extra slots after each
masked span that they may fill with ``[PAD]`` ("no token"), so a generated molecule can
grow or shrink (XLNet does this natively).

Laid out by pipeline stage:

- :mod:`sciml.rt.numbers` -- values <-> digit-place tokens (:class:`PropertySpec`);
- :mod:`sciml.rt.data` -- sequences, the vocabulary, the dataset whose collator alternates
  the two objectives batch by batch;
- :mod:`sciml.rt.model` -- :class:`RegressionTransformerNet` (encoder + numerical encodings
  + MLM head), the objective and the self-consistency hook;
- :mod:`sciml.rt.decoding` -- the multi-pass decoding algorithms (iterative unmasking of
  molecules, slot-by-slot decoding of values);
- :mod:`sciml.rt.generation` -- primed generation: masking, filling, repair, reranking;
- :mod:`sciml.rt.filters` -- chemistry filters of generated molecules (radicals, groups);
- :mod:`sciml.rt.predictor` -- the user-facing :class:`RegressionTransformer`
  (``fit``, ``predict``, ``generate``, ``save``, ``load``);
- :mod:`sciml.rt.finetune` -- the recipe that fine-tunes an RT into a regressor of one
  property (:func:`fine_tune`, :class:`FineTuneRecipe`, :class:`FineTunedRT`): target
  scaling, regression-only objective, SMILES enumeration, test-time augmentation, an
  ensemble, choices on validation molecules;
- :mod:`sciml.rt.cli` -- ``sciml rt train|predict|generate|finetune``.

Only :mod:`sciml.rt.numbers` is imported eagerly; the torch parts load on first use.
"""

from sciml.rt.numbers import (
    DecodedNumber,
    NumberTokenizer,
    PropertySpec,
    UnknownPropertyError,
    decode_number,
)

__all__ = [
    "DecodedNumber",
    "FineTuneRecipe",
    "FineTunedRT",
    "NumberTokenizer",
    "PropertySpec",
    "RTConfig",
    "RegressionTransformer",
    "RegressionTransformerNet",
    "UnknownPropertyError",
    "decode_number",
    "fine_tune",
]

_LAZY = {
    "FineTuneRecipe": "sciml.rt.finetune",
    "FineTunedRT": "sciml.rt.finetune",
    "fine_tune": "sciml.rt.finetune",
    "RTConfig": "sciml.rt.predictor",
    "RegressionTransformer": "sciml.rt.predictor",
    "RegressionTransformerNet": "sciml.rt.model",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sciml.rt' has no attribute {name!r}")
