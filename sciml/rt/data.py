"""Sequences, vocabulary and the dataset whose collator alternates the two RT objectives.

A sequence is ``[CLS] <p1> n n n ... <p2> n n ... | molecule tokens [SEP]``: the property
block (:class:`~sciml.rt.numbers.NumberTokenizer`) has a fixed length, so every property
token sits at the same position in every sequence. A missing property (NaN) is written as
``[MASK]`` tokens in its value slots and never gets a label.

The two objectives differ only in what the collator masks:

- ``"property"`` (regression): every value token (sign and digits) is replaced by ``[MASK]``
  and labelled in ``batch["property_labels"]``; the molecule stays visible. With
  ``reveal_digits > 0`` that fraction of rows keeps the leading ``k`` value tokens of a
  property visible (``k`` drawn uniformly from 1 to its number of value tokens minus one)
  and is labelled on the rest only, so the model also learns to predict a digit given the
  more significant ones: the context that left-to-right ("sequential") decoding shows it,
  and the one XLNet's permutation objective gives the original RT;
- ``"generation"`` (conditional generation): the properties stay visible and one or two
  contiguous spans of the molecule, ``mask_fraction`` of its tokens in all, are masked and
  labelled in ``batch["generation_labels"]``.

With ``mode="alternate"`` the collator switches objective on every batch, so the common
Trainer alternates them without a loop of its own: each batch carries the label key of its
objective, and :class:`~sciml.train.TokenCrossEntropy` terms read only their own key.

Examples
--------
>>> from sciml.rt.numbers import NumberTokenizer, PropertySpec
>>> numbers = NumberTokenizer([PropertySpec("qed", 0, 1, 4)])
>>> sequence_text({"qed": 0.39364}, "CBr", numbers)
'<qed>0.3936|CBr'
>>> sequence_tokens({"qed": 0.3936}, "CBr", numbers)[:3]
['<qed>', '_0_0_', '_._']
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from sciml.chem.tokenizer import SmilesTokenizer, TokenizationError, pad_ids
from sciml.rt.numbers import SEPARATOR, NumberTokenizer

__all__ = [
    "IGNORE_INDEX",
    "MODES",
    "RTDataset",
    "build_tokenizer",
    "encode_sequence",
    "mask_molecule_spans",
    "sequence_text",
    "sequence_tokens",
]

IGNORE_INDEX = -100
MODES = ("property", "generation")


def build_tokenizer(
    smiles: Sequence[str], numbers: NumberTokenizer | Sequence[NumberTokenizer], min_freq: int = 1
) -> SmilesTokenizer:
    """Vocabulary of SMILES tokens of ``smiles`` plus every number token of ``numbers``.

    Pass several number tokenizers to share one vocabulary between models of different
    properties (e.g. pre-train on QED, fine-tune on solubility).
    """
    tokenizers = [numbers] if isinstance(numbers, NumberTokenizer) else list(numbers)
    extra = list(dict.fromkeys(t for n in tokenizers for t in n.vocabulary()))
    return SmilesTokenizer.build_vocab(smiles, min_freq=min_freq, extra_tokens=extra)


def sequence_text(values: Mapping[str, float], smiles: str, numbers: NumberTokenizer) -> str:
    """The human-readable sequence, e.g. ``<qed>0.3936|CBr`` (values rounded as encoded)."""
    numbers.check_names(values)
    parts = []
    for spec in numbers.specs:
        value = values.get(spec.name, math.nan)
        text = (
            "?" if value is None or math.isnan(value) else f"{spec.round(value):.{spec.precision}f}"
        )
        parts.append(f"{spec.tag}{text}")
    return "".join(parts) + SEPARATOR + smiles


def sequence_tokens(
    values: Mapping[str, float],
    smiles: str,
    numbers: NumberTokenizer,
    tokenizer: SmilesTokenizer | None = None,
    out_of_range: str = "raise",
) -> list[str]:
    """Property block tokens followed by the molecule's tokens (no ``[CLS]``/``[SEP]``)."""
    from sciml.chem.tokenizer import tokenize_smiles

    mol = tokenizer.tokenize(smiles) if tokenizer is not None else tokenize_smiles(smiles)
    return numbers.encode(values, out_of_range=out_of_range) + mol


def encode_sequence(
    values: Mapping[str, float],
    smiles: str,
    numbers: NumberTokenizer,
    tokenizer: SmilesTokenizer,
    out_of_range: str = "raise",
) -> list[int]:
    """Ids of ``[CLS] block molecule [SEP]``."""
    tokens = sequence_tokens(values, smiles, numbers, tokenizer, out_of_range)
    return [tokenizer.cls_id, *tokenizer.convert_tokens_to_ids(tokens), tokenizer.sep_id]


def mask_molecule_spans(
    n_tokens: int, fraction: float, rng: np.random.Generator, max_spans: int = 2
) -> np.ndarray:
    """Choose ``round(fraction * n_tokens)`` (at least 1) positions in 1..max_spans spans.

    Returns
    -------
    numpy.ndarray
        ``(n_tokens,)`` bool, True where masked.
    """
    mask = np.zeros(n_tokens, dtype=bool)
    if n_tokens == 0:
        return mask
    k = int(min(n_tokens, max(1, round(fraction * n_tokens))))
    n_spans = int(rng.integers(1, max_spans + 1)) if k > 1 else 1
    cuts = (
        np.sort(rng.choice(np.arange(1, k), size=n_spans - 1, replace=False)) if n_spans > 1 else []
    )
    lengths = np.diff(np.concatenate([[0], cuts, [k]])).astype(int)
    for length in lengths:
        free = n_tokens - length
        start = int(rng.integers(0, free + 1))
        mask[start : start + length] = True
    # Overlapping spans mask fewer than k; top up from the unmasked positions next to them.
    while mask.sum() < k:
        edges = np.flatnonzero(~mask & (np.roll(mask, 1) | np.roll(mask, -1)))
        mask[edges[0] if len(edges) else np.flatnonzero(~mask)[0]] = True
    return mask


class RTDataset(Dataset):
    """Molecules with property values, collated for the RT objectives.

    Parameters
    ----------
    smiles : sequence of str
        Molecules (tokenised with ``tokenizer``; rows that cannot be tokenised raise,
        listing them).
    values : array-like ``(N, T)``
        Property values in the order of ``numbers.specs``; NaN = missing.
    numbers : NumberTokenizer
        The property notation.
    tokenizer : SmilesTokenizer
        Vocabulary holding SMILES and number tokens (:func:`build_tokenizer`).
    mode : {"alternate", "property", "generation"}
        Which objective each batch trains; ``"alternate"`` switches every batch, starting
        with ``"property"`` in every epoch (:meth:`set_epoch`), so a resumed run sees the
        same sequence as an uninterrupted one.
    mask_fraction : (float, float)
        Generation mode masks a fraction of each molecule drawn uniformly from this range.
    out_of_range : {"raise", "clip"}
        Values outside a property's range (e.g. a test label beyond the training range).
    reveal_digits : float
        Property mode: probability, per row and property, of leaving the leading value
        tokens visible (see the module docstring); 0 masks every value token.
    span_slack : float
        Generation mode: each masked span of ``k`` tokens gets between 0 and
        ``ceil(span_slack * k)`` extra ``[MASK]`` slots after it, labelled ``[PAD]``. The
        model learns that a span may hold fewer tokens than it has slots, so generation
        can grow a molecule (more slots than the tokens it replaces) or shrink it (slots
        filled with ``[PAD]`` are dropped). 0 keeps every span its original length.
    max_length : int, optional
        Longest sequence the model takes: extra slots never make a row longer.
    mol_ids : sequence of int arrays, optional
        Token ids of each molecule, already computed with ``tokenizer`` (e.g. a
        :class:`~sciml.chem.corpus.TokenCorpus`, memory-mapped); then ``smiles`` are not
        tokenised again and sequences are assembled per item, so a corpus of millions
        costs no more memory than its ids.
    given : sequence of int
        Indices (in ``numbers.specs``) of context properties: their values stay visible in
        property-mode batches and are never labelled, so the model learns to predict the
        other properties *given* them (e.g. an RDKit logP given with every molecule,
        :class:`~sciml.rt.RTConfig` ``context``).
    """

    def __init__(
        self,
        smiles: Sequence[str],
        values,
        numbers: NumberTokenizer,
        tokenizer: SmilesTokenizer,
        mode: Literal["alternate", "property", "generation"] = "alternate",
        mask_fraction: tuple[float, float] = (0.1, 0.6),
        out_of_range: Literal["raise", "clip"] = "raise",
        reveal_digits: float = 0.0,
        span_slack: float = 0.0,
        mol_ids: Sequence[np.ndarray] | None = None,
        max_length: int | None = None,
        given: Sequence[int] = (),
    ) -> None:
        if mode not in ("alternate", *MODES):
            raise ValueError(f"mode must be 'alternate', 'property' or 'generation', got {mode!r}")
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.shape != (len(smiles), len(numbers.specs)):
            raise ValueError(
                f"values have shape {values.shape}; expected ({len(smiles)}, "
                f"{len(numbers.specs)}) for properties {numbers.names}"
            )
        lo, hi = mask_fraction
        if not 0 < lo <= hi <= 1:
            raise ValueError(
                f"mask_fraction must satisfy 0 < low <= high <= 1, got {mask_fraction}"
            )
        if not 0 <= reveal_digits <= 1:
            raise ValueError(f"reveal_digits must be in [0, 1], got {reveal_digits}")
        if not 0 <= span_slack <= 4:
            raise ValueError(f"span_slack must be in [0, 4], got {span_slack}")
        self.reveal_digits = float(reveal_digits)
        self.span_slack = float(span_slack)
        self.max_length = max_length
        self.numbers, self.tokenizer, self.mode = numbers, tokenizer, mode
        self.mask_fraction = (float(lo), float(hi))
        self.values = values
        self.smiles = list(smiles)
        self.out_of_range = out_of_range
        self.ids: list[np.ndarray] | None = None
        self.mol_ids = mol_ids
        bad = self._encode_rows() if mol_ids is None else self._check_mol_ids()
        if bad:
            raise ValueError(f"{len(bad)} rows cannot be encoded:\n" + "\n".join(bad[:20]))
        self._set_positions(given)
        self.mol_start = 1 + numbers.block_length
        self._modes = itertools.cycle(MODES)

    def _encode_rows(self) -> list[str]:
        """Token ids of every row (``self.ids``); the rows that cannot be encoded, named."""
        numbers, tokenizer, values = self.numbers, self.tokenizer, self.values
        bad = []
        self.ids = []
        for i, s in enumerate(self.smiles):
            row = dict(zip(numbers.names, values[i], strict=True))
            try:
                self.ids.append(
                    np.asarray(encode_sequence(row, s, numbers, tokenizer, self.out_of_range))
                )
            except (TokenizationError, ValueError) as exc:
                bad.append(f"  [{i}] {s!r}: {exc}")
        return bad

    def _check_mol_ids(self) -> list[str]:
        """Lengths of the given molecule ids; rows without ids or with values out of range."""
        mol_ids, numbers, values = self.mol_ids, self.numbers, self.values
        if len(mol_ids) != len(self.smiles):
            raise ValueError(f"mol_ids has {len(mol_ids)} rows for {len(self.smiles)} SMILES")
        self._mol_lengths = (
            np.fromiter(
                (len(mol_ids[i]) for i in range(len(mol_ids))),
                dtype=np.int64,
                count=len(mol_ids),
            )
            if not hasattr(mol_ids, "lengths")
            else np.asarray(mol_ids.lengths())
        )
        bad = [
            f"  [{i}] {self.smiles[i]!r}: no token ids (not encodable)"
            for i in np.flatnonzero(self._mol_lengths == 0)[:20]
        ]
        # Values out of range surface here, before training, not in the middle of it.
        for i in range(len(self.smiles)):
            try:
                numbers.encode(
                    dict(zip(numbers.names, values[i], strict=True)),
                    out_of_range=self.out_of_range,
                )
            except ValueError as exc:
                bad.append(f"  [{i}] {self.smiles[i]!r}: {exc}")
                if len(bad) >= 20:
                    break
        return bad

    def _set_positions(self, given: Sequence[int]) -> None:
        """Value-token positions: all, per property, and the labelled ones (not ``given``)."""
        numbers = self.numbers
        # Absolute positions of the value tokens: after [CLS], at each spec's offset + slot.
        self.value_positions = np.asarray(
            [
                1 + off + slot
                for spec, off in zip(numbers.specs, numbers.offsets().values(), strict=True)
                for slot in spec.value_slots()
            ],
            dtype=np.int64,
        )
        # Value positions of each property, most significant first.
        self.property_positions = []
        start = 0
        for spec in numbers.specs:
            n_slots = len(spec.value_slots())
            self.property_positions.append(self.value_positions[start : start + n_slots])
            start += n_slots
        given = sorted({int(g) for g in given})
        if any(not 0 <= g < len(numbers.specs) for g in given) or len(given) == len(numbers.specs):
            raise ValueError(
                f"given must index some but not all of {len(numbers.specs)} properties, got {given}"
            )
        self.given = given
        #: Value positions masked and labelled in property mode (all but the given ones).
        self.target_positions = np.concatenate(
            [p for t, p in enumerate(self.property_positions) if t not in given]
        ).astype(np.int64)

    def __len__(self) -> int:
        return len(self.smiles)

    def lengths(self) -> list[int] | np.ndarray:
        """Token count of every sequence (for length-bucketed batching)."""
        if self.ids is None:
            return self._mol_lengths + self.mol_start + 1
        return [len(x) for x in self.ids]

    def _sequence(self, i: int) -> np.ndarray:
        if self.ids is not None:
            return self.ids[i]
        tok = self.tokenizer
        row = dict(zip(self.numbers.names, self.values[i], strict=True))
        block = tok.convert_tokens_to_ids(self.numbers.encode(row, out_of_range=self.out_of_range))
        return np.concatenate(
            [[tok.cls_id], block, np.asarray(self.mol_ids[i], dtype=np.int64), [tok.sep_id]]
        ).astype(np.int64)

    def __getitem__(self, i: int) -> dict:
        return {"ids": self._sequence(i), "y": self.values[i]}

    def set_epoch(self, epoch: int) -> None:
        """Start the alternation afresh (the Trainer calls this before every epoch)."""
        self._modes = itertools.cycle(MODES)

    def next_mode(self) -> str:
        """The objective of the next batch."""
        return next(self._modes) if self.mode == "alternate" else self.mode

    def collate(self, samples: Sequence[dict]) -> dict:
        """Pad, mask for this batch's objective and label the masked positions.

        Returns
        -------
        dict
            ``input_ids`` ``(B, L)``, ``attention_mask`` ``(B, L)``, ``y`` ``(B, T)`` and either
            ``property_labels`` or ``generation_labels`` ``(B, L)`` (``-100`` = no label).
        """
        mode = self.next_mode()
        tok = self.tokenizer
        ids, attention = pad_ids([s["ids"] for s in samples], tok.pad_id)
        labels = torch.full_like(ids, IGNORE_INDEX)
        if mode == "property":
            pos = torch.as_tensor(self.target_positions)
            original = ids[:, pos]
            # Missing properties are already [MASK] in the input and stay unlabelled.
            labels[:, pos] = torch.where(original == tok.mask_id, IGNORE_INDEX, original)
            ids[:, pos] = tok.mask_id
            if self.reveal_digits > 0:
                self._reveal_leading(ids, labels)
        else:
            # torch's RNG drives the masks, so the Trainer's seed makes them reproducible.
            rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))
            lo, hi = self.mask_fraction
            if self.span_slack > 0:
                rows = [self._slack_row(s["ids"], rng.uniform(lo, hi), rng) for s in samples]
                ids, attention = pad_ids([r[0] for r in rows], tok.pad_id)
                labels, _ = pad_ids([r[1] for r in rows], IGNORE_INDEX)
            else:
                for i, s in enumerate(samples):
                    n_mol = len(s["ids"]) - self.mol_start - 1
                    spans = mask_molecule_spans(n_mol, rng.uniform(lo, hi), rng)
                    pos = torch.as_tensor(self.mol_start + np.flatnonzero(spans))
                    labels[i, pos] = ids[i, pos]
                    ids[i, pos] = tok.mask_id
        y = torch.as_tensor(np.stack([s["y"] for s in samples]), dtype=torch.float32)
        return {"input_ids": ids, "attention_mask": attention, "y": y, f"{mode}_labels": labels}

    def _slack_row(self, seq: np.ndarray, fraction: float, rng: np.random.Generator):
        """Inputs and labels of one generation row whose masked spans have extra slots."""
        tok = self.tokenizer
        start, stop = self.mol_start, len(seq) - 1
        spans = mask_molecule_spans(stop - start, fraction, rng)
        inputs, labels = [seq[:start]], [np.full(start, IGNORE_INDEX)]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], spans.astype(int), [0]])))
        cursor = 0
        room = len(seq) if self.max_length is None else self.max_length - len(seq)
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            inputs.append(seq[start + cursor : start + a])
            labels.append(np.full(a - cursor, IGNORE_INDEX))
            extra = int(rng.integers(0, math.ceil(self.span_slack * (b - a)) + 1))
            extra = max(0, min(extra, room))
            room -= extra
            inputs.append(np.full(b - a + extra, tok.mask_id))
            labels.append(np.concatenate([seq[start + a : start + b], np.full(extra, tok.pad_id)]))
            cursor = b
        inputs.append(seq[start + cursor :])
        labels.append(np.full(len(seq) - start - cursor, IGNORE_INDEX))
        return (np.concatenate(inputs).astype(np.int64), np.concatenate(labels).astype(np.int64))

    def _reveal_leading(self, ids: torch.Tensor, labels: torch.Tensor) -> None:
        """Unmask, in place, the leading value tokens of some rows (``reveal_digits``)."""
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))
        for t, positions in enumerate(self.property_positions):
            if len(positions) < 2 or t in self.given:
                continue
            for i in np.flatnonzero(rng.random(len(ids)) < self.reveal_digits):
                shown = torch.as_tensor(positions[: rng.integers(1, len(positions))])
                known = labels[i, shown] != IGNORE_INDEX  # missing values stay masked
                ids[i, shown[known]] = labels[i, shown[known]]
                labels[i, shown] = IGNORE_INDEX
