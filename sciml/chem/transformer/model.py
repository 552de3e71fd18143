"""The molecular transformer: encoder + MLM head + descriptor (MTR) head + endpoint head.

Heads are optional and composed, not subclassed: a pre-trained MLM model gains a descriptor
head for domain adaptation and an endpoint head for fine-tuning through
:meth:`MolecularTransformer.with_heads`, which keeps every weight the new model shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from sciml.encoder import MaskedLMHead, TransformerEncoder, pool
from sciml.nn import MLP
from sciml.train import MultiTaskRegression, Standardizer, register_model

__all__ = ["DescriptorRegression", "MolecularTransformer"]


@register_model
class MolecularTransformer(nn.Module):
    """SMILES encoder with an MLM head and optional [CLS] regression heads.

    Parameters
    ----------
    encoder : dict
        :class:`~sciml.encoder.TransformerEncoder` constructor arguments (its ``hparams``).
    descriptor_names : sequence of str
        Descriptor (MTR) targets; a linear head on the pooled embedding predicts them in
        z-scored units and ``descriptor_scaler`` holds the training-split statistics.
    endpoint_names : sequence of str
        Downstream endpoints; an MLP head predicts them standardised and ``target_scaler``
        maps back to physical units.
    tie_mlm : bool
        Tie the MLM output projection to the token embedding.
    head_dropout : float
        Dropout in the endpoint head (also what MC-dropout uncertainty samples).
    pooling : {"cls", "mean"}
        Molecule embedding: the [CLS] state or the mean over tokens.

    Notes
    -----
    ``forward(batch)`` returns a dict: ``"embedding"`` ``(B, d)``; ``"logits"`` ``(B, L, V)``
    only when the batch carries MLM ``labels`` (so MTR and fine-tuning skip the vocabulary
    projection); ``"descriptors"`` ``(B, D)`` and ``"endpoints"`` ``(B, T)`` when those heads
    exist.
    """

    def __init__(
        self,
        encoder: dict[str, Any],
        descriptor_names: Sequence[str] = (),
        endpoint_names: Sequence[str] = (),
        tie_mlm: bool = True,
        head_dropout: float = 0.1,
        pooling: str = "cls",
    ):
        super().__init__()
        self.hparams = {
            "encoder": dict(encoder),
            "descriptor_names": list(descriptor_names),
            "endpoint_names": list(endpoint_names),
            "tie_mlm": tie_mlm,
            "head_dropout": head_dropout,
            "pooling": pooling,
        }
        self.encoder = TransformerEncoder(**encoder)
        d, vocab = self.encoder.d_model, encoder["vocab_size"]
        self.mlm_head = MaskedLMHead(d, vocab, self.encoder.token_embedding if tie_mlm else None)
        self.descriptor_names = list(descriptor_names)
        self.endpoint_names = list(endpoint_names)
        self.pooling = pooling
        if self.descriptor_names:
            self.descriptor_head = nn.Linear(d, len(self.descriptor_names))
            self.descriptor_scaler = Standardizer(len(self.descriptor_names))
        if self.endpoint_names:
            self.endpoint_head = MLP(
                d, len(self.endpoint_names), hidden=(d,), activation="gelu", dropout=head_dropout
            )
            self.target_scaler = Standardizer(len(self.endpoint_names))

    @property
    def d_model(self) -> int:
        """Embedding width ``d``."""
        return self.encoder.d_model

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Pooled molecule embeddings ``(B, d)`` from ids and mask ``(B, L)``."""
        first_only = self.pooling == "cls"
        hidden = self.encoder(input_ids, attention_mask, first_only=first_only)
        return pool(hidden, attention_mask, self.pooling)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run the encoder once and every head the batch needs (see the class notes)."""
        # Without MLM labels only the pooled state is used: [CLS] needs one query at the top.
        first_only = self.pooling == "cls" and "labels" not in batch
        hidden = self.encoder(batch["input_ids"], batch["attention_mask"], first_only=first_only)
        embedding = pool(hidden, batch["attention_mask"], self.pooling)
        out = {"embedding": embedding}
        if "labels" in batch:
            out["logits"] = self.mlm_head(hidden)
        if self.descriptor_names:
            out["descriptors"] = self.descriptor_head(embedding)
        if self.endpoint_names:
            out["endpoints"] = self.endpoint_head(embedding)
        return out

    def with_heads(
        self,
        *,
        descriptor_names: Sequence[str] | None = None,
        endpoint_names: Sequence[str] | None = None,
    ) -> MolecularTransformer:
        """A new model with these heads, sharing copies of every weight that still fits.

        ``None`` keeps the current names. A head whose names change starts fresh, with an
        unfitted scaler; encoder and MLM head weights are always kept.
        """
        hparams = dict(self.hparams)
        if descriptor_names is not None:
            hparams["descriptor_names"] = list(descriptor_names)
        if endpoint_names is not None:
            hparams["endpoint_names"] = list(endpoint_names)
        model = MolecularTransformer(**hparams)
        keep = []
        if hparams["descriptor_names"] == self.descriptor_names:
            keep.append("descriptor_")
        if hparams["endpoint_names"] == self.endpoint_names:
            keep += ["endpoint_head", "target_scaler"]
        state = {
            k: v
            for k, v in self.state_dict().items()
            if k.startswith(("encoder.", "mlm_head.", *keep))
        }
        missing, unexpected = model.load_state_dict(state, strict=False)
        assert not unexpected, unexpected
        return model


class DescriptorRegression(MultiTaskRegression):
    """MTR on RDKit descriptors, reported as one ``name`` term (mean over descriptors).

    Same masked loss path as :class:`~sciml.train.MultiTaskRegression` (NaN descriptors are
    skipped), but scaled by ``model.descriptor_scaler`` so that a model can regress
    descriptors and endpoints at once. Huber loss by default, because a few descriptors
    have heavy tails even after z-scoring.
    """

    def __init__(self, descriptor_names: Sequence[str], loss: str = "huber", name: str = "mtr"):
        super().__init__(
            descriptor_names, loss=loss, output_key="descriptors", target_key="descriptors"
        )
        self.name = name

    @staticmethod
    def _scaler(model: nn.Module) -> Standardizer:
        scaler = getattr(model, "descriptor_scaler", None)
        if scaler is None:
            raise AttributeError(
                "the model has no descriptor head (descriptor_scaler); build it "
                "with descriptor_names=..."
            )
        return scaler

    def terms(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor]:
        per_task = super().terms(outputs, batch, model)
        return {self.name: torch.stack(list(per_task.values())).mean()} if per_task else {}

    def decode(self, outputs, batch: dict, model: nn.Module) -> None:
        # Descriptors are an auxiliary target; reporting their RMSE would drown the endpoints.
        return None
