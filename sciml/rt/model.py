"""The RT network, its objective and the self-consistency hook.

:class:`RegressionTransformerNet` composes the shared pre-LN encoder
(:class:`sciml.encoder.TransformerEncoder`) with fixed *numerical encodings* of the digit
tokens (added to their embeddings through the encoder's ``extra_embeddings`` hook) and a
weight-tied MLM head. It owns the vocabulary and the property specs (both in ``hparams``,
so a checkpoint rebuilds it) and reads property values from one pass's logits
(:data:`DECODINGS`): at each value slot, the argmax (``"greedy"``) or a sample over the
tokens allowed there (the ten digits of the slot's place, or the two signs), read back with
:meth:`PropertySpec.decode`; or the expectation of the value under those per-slot
distributions (``"expected"``). The decoding algorithms that run the network several times
live in :mod:`sciml.rt.decoding`: :func:`~sciml.rt.decoding.sequential_slot_ids` (one slot
at a time, ``"sequential"``) and :func:`~sciml.rt.decoding.iterative_unmask` (molecules).

Numerical encodings follow Born & Manica (2023), eq. 1 ("float encoding"): a digit token
with digit ``v`` at place ``p`` gets ``NE[j] = scale * (-1)^j * v * 10^p / (j + 1)`` in
dimension ``j``; every other token (``[MASK]`` included, so nothing leaks) gets zeros.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sciml.chem.tokenizer import SPECIAL_TOKENS
from sciml.encoder import ENCODER_SIZES, MaskedLMHead, TransformerEncoder
from sciml.rt.data import IGNORE_INDEX
from sciml.rt.numbers import (
    DECIMAL_POINT,
    MINUS,
    PLUS,
    SEPARATOR,
    DecodedNumber,
    NumberTokenizer,
    PropertySpec,
    parse_digit_token,
)
from sciml.train.checkpoint import register_model
from sciml.train.losses import Objective

__all__ = [
    "DECODINGS",
    "RTObjective",
    "RegressionTransformerNet",
    "SelfConsistency",
    "numerical_encodings",
]

#: How :meth:`RegressionTransformer.predict` reads property values from the digit slots.
DECODINGS = ("greedy", "expected", "sequential")


def check_decoding(decoding: str) -> str:
    """Return ``decoding`` if it is one of :data:`DECODINGS`, else raise listing them."""
    if decoding not in DECODINGS:
        raise ValueError(f"unknown decoding {decoding!r}; choose one of: {', '.join(DECODINGS)}")
    return decoding


def _is_number_token(token: str) -> bool:
    return (
        parse_digit_token(token) is not None
        or token in (DECIMAL_POINT, PLUS, MINUS, SEPARATOR)
        or (token.startswith("<") and token.endswith(">"))
    )


def numerical_encodings(vocab: Sequence[str], d_model: int, scale: float = 0.1) -> torch.Tensor:
    """Fixed float encodings ``(V, d)`` of the digit tokens (zero rows elsewhere)."""
    table = torch.zeros(len(vocab), d_model, dtype=torch.float64)
    j = torch.arange(d_model, dtype=torch.float64)
    pattern = (-1.0) ** j / (j + 1)
    for i, token in enumerate(vocab):
        parsed = parse_digit_token(token)
        if parsed is not None:
            digit, place = parsed
            table[i] = scale * digit * 10.0**place * pattern
    return table.float()


@register_model
class RegressionTransformerNet(nn.Module):
    """Encoder + numerical encodings + tied MLM head over RT sequences.

    Parameters
    ----------
    vocab : sequence of str
        Token of each id (a :class:`~sciml.chem.SmilesTokenizer` vocabulary holding the
        number tokens).
    specs : sequence of dict
        :meth:`PropertySpec.to_dict` of each property, in sequence order.
    size : {"tiny", "small", "base"}
        Named encoder size (:data:`sciml.encoder.ENCODER_SIZES`).
    encoder_overrides : dict, optional
        Replace fields of the named size (``d_model``, ``n_layers``, ``dropout``, ...).
    numerical_encoding : bool
        Add the fixed numerical encodings to digit-token embeddings.
    ne_scale : float
        Scale of the numerical encodings.

    Notes
    -----
    ``forward(batch)`` reads ``input_ids`` ``(B, L)``, optional ``attention_mask`` ``(B, L)``
    and optional ``soft_embeddings`` ``(B, L, d)`` (added to the token embeddings; used by
    :class:`SelfConsistency`), and returns ``{"logits": (B, L, V)}``.
    """

    def __init__(
        self,
        vocab: Sequence[str],
        specs: Sequence[Mapping[str, Any]],
        size: str = "small",
        encoder_overrides: Mapping[str, Any] | None = None,
        numerical_encoding: bool = True,
        ne_scale: float = 0.1,
    ):
        super().__init__()
        if size not in ENCODER_SIZES:
            raise ValueError(
                f"unknown encoder size {size!r}; choose one of: {', '.join(ENCODER_SIZES)}"
            )
        vocab = list(vocab)
        if tuple(vocab[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"vocabulary must start with {SPECIAL_TOKENS}")
        self.hparams: dict[str, Any] = {
            "vocab": vocab,
            "specs": [dict(s) for s in specs],
            "size": size,
            "encoder_overrides": dict(encoder_overrides or {}),
            "numerical_encoding": bool(numerical_encoding),
            "ne_scale": float(ne_scale),
        }
        self.vocab = vocab
        self.numbers = NumberTokenizer([PropertySpec(**s) for s in specs])
        ids = {t: i for i, t in enumerate(vocab)}
        missing = [t for t in self.numbers.vocabulary() if t not in ids]
        if missing:
            raise ValueError(
                f"the vocabulary lacks number tokens of these properties: {missing[:10]}"
            )
        self.encoder = TransformerEncoder.from_size(
            size, vocab_size=len(vocab), **dict(encoder_overrides or {})
        )
        d_model = self.encoder.d_model
        self.head = MaskedLMHead(d_model, len(vocab), tied_embedding=self.encoder.token_embedding)
        table = (
            numerical_encodings(vocab, d_model, ne_scale)
            if numerical_encoding
            else torch.zeros(len(vocab), d_model)
        )
        self.register_buffer("ne_table", table, persistent=False)
        self._register_slots(ids)
        self._register_token_kinds(ids)
        self.mask_id = SPECIAL_TOKENS.index("[MASK]")
        self.pad_id = SPECIAL_TOKENS.index("[PAD]")

    def _register_slots(self, ids: Mapping[str, int]) -> None:
        """Buffers of the value slots: positions, allowed tokens, owner, place value, sign."""
        vocab = self.vocab
        # Value slots: absolute positions (after [CLS]), the tokens allowed at each, and
        # which property each belongs to.
        positions, allowed, owner = [], [], []
        for t, (spec, offset) in enumerate(
            zip(self.numbers.specs, self.numbers.offsets().values(), strict=True)
        ):
            choices = spec.slot_choices()
            for slot in spec.value_slots():
                positions.append(1 + offset + slot)
                row = torch.zeros(len(vocab), dtype=torch.bool)
                row[[ids[c] for c in choices[slot]]] = True
                allowed.append(row)
                owner.append(t)
        self.register_buffer("value_positions", torch.tensor(positions), persistent=False)
        self.register_buffer("slot_allowed", torch.stack(allowed), persistent=False)
        self.register_buffer("slot_owner", torch.tensor(owner), persistent=False)
        # Place value 10**place of each slot (0 for sign slots) and whether it is a sign.
        place_value, is_sign = [], []
        for spec in self.numbers.specs:
            places = spec.places()
            for slot in spec.value_slots():
                sign = spec.signed and slot == 0
                is_sign.append(sign)
                place_value.append(0.0 if sign else 10.0 ** places[slot])
        self.register_buffer(
            "slot_place_value", torch.tensor(place_value, dtype=torch.float64), persistent=False
        )
        self.register_buffer("slot_is_sign", torch.tensor(is_sign), persistent=False)

    def _register_token_kinds(self, ids: Mapping[str, int]) -> None:
        """Buffers over the vocabulary: digit value, sign and whether a token is molecular."""
        vocab = self.vocab
        # Digit value of each id (-1 for non-digits), for the digit-distance term.
        digits = torch.full((len(vocab),), -1, dtype=torch.long)
        for i, token in enumerate(vocab):
            parsed = parse_digit_token(token)
            if parsed is not None:
                digits[i] = parsed[0]
        self.register_buffer("digit_of_id", digits, persistent=False)
        sign_of_id = torch.zeros(len(vocab), dtype=torch.float64)
        for token, sign in ((PLUS, 1.0), (MINUS, -1.0)):
            if token in ids:  # only vocabularies of signed properties hold the signs
                sign_of_id[ids[token]] = sign
        self.register_buffer("sign_of_id", sign_of_id, persistent=False)
        molecule = torch.tensor(
            [i >= len(SPECIAL_TOKENS) and not _is_number_token(t) for i, t in enumerate(vocab)]
        )
        self.register_buffer("molecule_tokens", molecule, persistent=False)

    @property
    def mol_start(self) -> int:
        """Position of the first molecule token."""
        return 1 + self.numbers.block_length

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        ids = batch["input_ids"]
        extra = self.ne_table[ids]
        if batch.get("soft_embeddings") is not None:
            extra = extra + batch["soft_embeddings"]
        hidden = self.encoder(ids, batch.get("attention_mask"), extra_embeddings=extra)
        return {"logits": self.head(hidden)}

    # ----------------------------------------------------------------- numbers
    def slot_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, S, V)`` at the ``S`` value slots, ``-inf`` on tokens not allowed there."""
        out = logits[:, self.value_positions, :].float()
        return out.masked_fill(~self.slot_allowed, float("-inf"))

    def decode_slots(self, slot_ids: torch.Tensor) -> tuple[np.ndarray, list[list[str]]]:
        """Token ids ``(B, S)`` at the value slots to values ``(B, T)`` and reasons.

        The decimal points (not masked, not predicted) are re-inserted from the specs;
        malformed runs become NaN with a reason, never an exception.
        """
        slot_ids = slot_ids.cpu().numpy()
        values = np.full((len(slot_ids), len(self.numbers.specs)), np.nan)
        reasons = [["" for _ in self.numbers.specs] for _ in slot_ids]
        start = 0
        for t, spec in enumerate(self.numbers.specs):
            slots = spec.value_slots()
            template = [c[0] for c in spec.slot_choices()]
            for b, row in enumerate(slot_ids[:, start : start + len(slots)]):
                tokens = list(template)
                for slot, token_id in zip(slots, row, strict=True):
                    tokens[slot] = self.vocab[int(token_id)]
                decoded: DecodedNumber = spec.decode(tokens)
                values[b, t] = decoded.value
                reasons[b][t] = decoded.reason
            start += len(slots)
        return values, reasons

    def expected_values(self, logits: torch.Tensor) -> tuple[np.ndarray, list[list[str]]]:
        """Expected property values ``(B, T)`` under the per-slot digit distributions, and reasons.

        Each value slot's softmax is restricted to the tokens allowed there, so the
        expectation of a digit slot is ``sum_k p_k k``; a value is the sum of its slots'
        expectations times their place values (times ``P(+) - P(-)`` for a signed
        property), i.e. the exact mean of the value when the slots are independent, as
        they are when every slot is masked. Unlike the argmax it is continuous: a model
        unsure between 4 and 6 in the second decimal gives 5 only if it is equally unsure.
        The result is clipped to the property's range; non-finite logits give NaN with a
        reason.

        Parameters
        ----------
        logits : Tensor ``(B, L, V)``
            Output of a property-mode forward pass.
        """
        probs = self.slot_logits(logits.detach()).double().softmax(-1)  # (B, S, V)
        digit_mean = (probs * self.digit_of_id.clamp_min(0).to(probs.dtype)).sum(-1)  # (B, S)
        sign_mean = (probs * self.sign_of_id).sum(-1)  # (B, S): P(+) - P(-) on sign slots
        contribution = (digit_mean * self.slot_place_value).cpu().numpy()
        sign = torch.where(self.slot_is_sign, sign_mean, torch.ones_like(sign_mean))
        sign = sign.cpu().numpy()
        owner = self.slot_owner.cpu().numpy()
        values = np.full((len(probs), len(self.numbers.specs)), np.nan)
        reasons = [["" for _ in self.numbers.specs] for _ in range(len(probs))]
        for t, spec in enumerate(self.numbers.specs):
            mine = owner == t
            value = contribution[:, mine].sum(1) * sign[:, mine].prod(1)
            ok = np.isfinite(value)
            values[ok, t] = np.clip(value[ok], spec.vmin, spec.vmax)
            for b in np.flatnonzero(~ok):
                reasons[b][t] = "non-finite digit probabilities"
        return values, reasons

    def decode_values(
        self,
        logits: torch.Tensor,
        n_samples: int = 0,
        generator: torch.Generator | None = None,
        decoding: str = "greedy",
    ) -> dict[str, np.ndarray]:
        """Property values from logits of a property-mode batch.

        Parameters
        ----------
        logits : Tensor ``(B, L, V)``
        n_samples : int
            With > 0, also ``"mean"`` and ``"std"`` ``(B, T)`` over that many sampled digit
            sequences.
        generator : torch.Generator, optional
            Random source of the samples.
        decoding : {"greedy", "expected"}
            ``"pred"`` from the per-slot argmax or from :meth:`expected_values`
            (``"sequential"`` needs further forward passes:
            :func:`~sciml.rt.decoding.sequential_slot_ids`).

        Returns
        -------
        dict
            ``{"pred": (B, T)}`` and, with samples, ``"mean"`` and ``"std"``.
        """
        if check_decoding(decoding) == "sequential":
            raise ValueError("sequential decoding needs the model: use sequential_slot_ids()")
        scores = self.slot_logits(logits)
        if decoding == "expected":
            pred, _ = self.expected_values(logits)
        else:
            pred, _ = self.decode_slots(scores.argmax(-1))
        out = {"pred": pred}
        if n_samples > 0:
            probs = scores.softmax(-1)
            b, s, v = probs.shape
            draws = torch.multinomial(
                probs.reshape(b * s, v), n_samples, replacement=True, generator=generator
            ).reshape(b, s, n_samples)
            samples = np.stack([self.decode_slots(draws[..., k])[0] for k in range(n_samples)])
            out["mean"] = np.nanmean(samples, axis=0)
            out["std"] = np.nanstd(samples, axis=0)
        return out


class RTObjective(Objective):
    """Cross-entropy on whichever labels the batch carries, plus an optional digit distance.

    Terms: ``"property"`` (CE on value tokens of property-mode batches), ``"generation"``
    (CE on masked molecule tokens of generation-mode batches) and, with
    ``digit_distance=True``, ``"digit_distance"``: the Number-Token-Loss-style
    Wasserstein-1 distance between the predicted distribution over the ten digits of a
    slot and the true digit, ``sum_k p_k |k - d|`` (Zausinger et al. 2024), which tells
    the model that 4 is closer to 5 than to 9. Weight it with
    :class:`~sciml.train.StaticWeighting`.

    :meth:`decode` decodes property-mode batches (``decoding``: ``"greedy"`` or
    ``"expected"``, the default of :meth:`RegressionTransformer.predict`), so the Trainer
    reports ``val_rmse``/``val_pearson`` in physical units.
    """

    def __init__(self, digit_distance: bool = True, decoding: str = "expected"):
        self.digit_distance = digit_distance
        self.decoding = check_decoding(decoding)

    @staticmethod
    def _ce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor | None:
        if not (labels != IGNORE_INDEX).any():
            return None
        return F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]),
            labels.reshape(-1),
            ignore_index=IGNORE_INDEX,
        )

    def terms(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor]:
        logits = outputs["logits"]
        terms = {}
        for name in ("property", "generation"):
            labels = batch.get(f"{name}_labels")
            if labels is not None:
                loss = self._ce(logits, labels)
                if loss is not None:
                    terms[name] = loss
        if self.digit_distance and "property_labels" in batch:
            loss = self._digit_distance(logits, batch["property_labels"], model)
            if loss is not None:
                terms["digit_distance"] = loss
        return terms

    @staticmethod
    def _digit_distance(logits, labels, model) -> torch.Tensor | None:
        pos = model.value_positions
        target = labels[:, pos]
        digit = model.digit_of_id[target.clamp_min(0)]
        valid = (target != IGNORE_INDEX) & (digit >= 0)
        if not valid.any():
            return None
        scores = model.slot_logits(logits)  # (B, S, V); digit slots allow exactly ten tokens
        probs = scores.softmax(-1)
        slot_digits = model.digit_of_id.clamp_min(0).to(probs.dtype)  # (V,)
        distance = (probs * (slot_digits - digit.unsqueeze(-1).to(probs.dtype)).abs()).sum(-1)
        return distance[valid].mean()

    def decode(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor] | None:
        if "property_labels" not in batch:
            return None
        pred = model.decode_values(outputs["logits"], decoding=self.decoding)["pred"]
        target = batch["y"].double().cpu()
        # A property with no labelled slot in a row (a given context value) is not scored.
        labelled = (batch["property_labels"][:, model.value_positions] != IGNORE_INDEX).cpu()
        owner = model.slot_owner.cpu()
        for t in range(target.shape[1]):
            target[~labelled[:, owner == t].any(dim=1), t] = float("nan")
        return {"pred": torch.as_tensor(pred), "target": target}


class SelfConsistency:
    """Extra-loss hook: a generation primed with another value should be predicted as that value.

    On a generation-mode batch the property primers are shuffled between rows; the model
    fills the masked molecule spans under the new primer; the filled-in tokens enter a
    second pass as *soft* embeddings (softmax over SMILES tokens times the embedding
    matrix, so gradients reach the generator); the second pass masks the value slots
    and is scored with cross-entropy against the new primer. Born & Manica (2023) use
    this term to make generations follow the primer.

    Parameters
    ----------
    temperature : float
        Softmax temperature of the soft tokens.
    """

    def __init__(self, temperature: float = 1.0):
        self.temperature = temperature

    def __call__(self, model: nn.Module, batch: dict, outputs) -> dict[str, torch.Tensor]:
        labels = batch.get("generation_labels")
        if labels is None or not (labels != IGNORE_INDEX).any():
            return {}
        net = getattr(model, "module", model)
        ids, attention = batch["input_ids"], batch.get("attention_mask")
        pos = net.value_positions
        perm = torch.randperm(ids.shape[0], device=ids.device)
        primed = ids.clone()
        primed[:, pos] = ids[perm][:, pos]
        logits = model({"input_ids": primed, "attention_mask": attention})["logits"]
        logits = logits.float().masked_fill(~net.molecule_tokens, float("-inf"))
        probs = (logits / self.temperature).softmax(-1)
        weight = net.encoder.token_embedding.weight
        soft = probs @ weight - weight[net.mask_id]
        filled = (labels != IGNORE_INDEX).unsqueeze(-1)
        soft = torch.where(filled, soft, torch.zeros_like(soft))
        query = primed.clone()
        query[:, pos] = net.mask_id
        scores = model({"input_ids": query, "attention_mask": attention, "soft_embeddings": soft})[
            "logits"
        ]
        target = primed[:, pos]
        target = torch.where(target == net.mask_id, IGNORE_INDEX, target)
        if not (target != IGNORE_INDEX).any():
            return {}
        slot = net.slot_logits(scores)
        return {
            "self_consistency": F.cross_entropy(
                slot.reshape(-1, slot.shape[-1]), target.reshape(-1), ignore_index=IGNORE_INDEX
            )
        }
