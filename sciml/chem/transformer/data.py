"""Token data sets and collators: MLM masking, descriptor targets, endpoint labels.

One :class:`SmilesTokenDataset` serves every stage. Each sample is a dict
``{"input_ids": (L,), ["descriptors": (D,)], ["y": (T,)]}``; :meth:`SmilesTokenDataset.collate`
pads a batch to its longest sequence and, for MLM, masks tokens (BERT's 15 %, of which
80 % become ``[MASK]``, 10 % a random token, 10 % stay). Descriptors are raw RDKit values
(NaN allowed); the model's ``descriptor_scaler`` z-scores them, fitted on the training split
by :class:`~sciml.chem.transformer.model.DescriptorRegression`.

Batches: ``input_ids`` ``(B, L)`` int64, ``attention_mask`` ``(B, L)`` bool, ``labels``
``(B, L)`` int64 with ``-100`` where no MLM label, ``descriptors`` ``(B, D)``, ``y`` ``(B, T)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from sciml.chem.smiles import InvalidSmiles, InvalidSmilesError
from sciml.chem.tokenizer import SPECIAL_TOKENS, SmilesTokenizer, TokenizationError, pad_ids
from sciml.encoder import LengthBucketBatchSampler

__all__ = [
    "IGNORE_INDEX",
    "CorpusTokenDataset",
    "SmilesTokenDataset",
    "encode_smiles",
    "make_loader",
    "mask_tokens",
]

#: Label value of positions without an MLM target (``TokenCrossEntropy``'s default).
IGNORE_INDEX = -100


def encode_smiles(
    smiles: Sequence[object],
    tokenizer: SmilesTokenizer,
    max_len: int,
    errors: str = "raise",
) -> tuple[list[np.ndarray], np.ndarray, list[InvalidSmiles]]:
    """Encode strings to ``[CLS] ... [SEP]`` id arrays, applying an ``errors`` policy.

    A row is invalid when it is not a string, holds characters no token covers, or is
    longer than ``max_len`` tokens (cutting a SMILES would describe another molecule).
    Chemistry is not checked here; :func:`sciml.chem.smiles.parse_batch` does that upstream.

    Returns
    -------
    ids : list of int64 arrays
        Encoded valid rows (every row for ``errors="nan"``, empty arrays where invalid).
    index : int64 array
        Input positions of ``ids``.
    invalid : list of InvalidSmiles
        Rejected rows with the reason.

    Raises
    ------
    InvalidSmilesError
        With ``errors="raise"``, listing every bad row.
    """
    ids, index, invalid = [], [], []
    empty = np.zeros(0, dtype=np.int64)
    for i, value in enumerate(smiles):
        reason = None
        try:
            row = np.asarray(tokenizer.encode(value), dtype=np.int64)
            if len(row) > max_len:
                reason = f"{len(row)} tokens, longer than the model's maximum of {max_len} tokens"
        except TokenizationError as exc:
            reason = str(exc)
        if reason is None:
            ids.append(row)
            index.append(i)
            continue
        invalid.append(InvalidSmiles(i, value, reason))
        if errors == "nan":
            ids.append(empty)
            index.append(i)
    if invalid and errors == "raise":
        raise InvalidSmilesError(invalid, total=len(smiles))
    return ids, np.asarray(index, dtype=np.int64), invalid


def mask_tokens(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    tokenizer: SmilesTokenizer,
    mask_prob: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: choose ``mask_prob`` of the real, non-special tokens; 80/10/10.

    Parameters
    ----------
    input_ids, attention_mask : ``(B, L)``
        Padded batch.
    tokenizer : SmilesTokenizer
        Supplies the ``[MASK]`` id and the range of ordinary tokens.
    mask_prob : float
        Fraction of tokens that get a label.
    generator : torch.Generator, optional
        Random source (the global one by default, which the Trainer seeds).

    Returns
    -------
    masked_ids, labels : ``(B, L)``
        Corrupted input and labels (``IGNORE_INDEX`` where unlabelled). Every sequence with
        at least one ordinary token gets at least one label.
    """
    n_special = len(SPECIAL_TOKENS)
    candidates = attention_mask & (input_ids >= n_special)
    draw = torch.rand(input_ids.shape, generator=generator)
    chosen = candidates & (draw < mask_prob)
    # Short molecules would often get no label at all; label one random candidate instead.
    none = ~chosen.any(1) & candidates.any(1)
    if none.any():
        scores = torch.where(candidates, draw, torch.full_like(draw, 2.0))
        chosen[none, scores[none].argmin(1)] = True
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    action = torch.rand(input_ids.shape, generator=generator)
    masked = input_ids.clone()
    masked[chosen & (action < 0.8)] = tokenizer.mask_id
    swap = chosen & (action >= 0.8) & (action < 0.9)
    if swap.any():
        masked[swap] = torch.randint(
            n_special, tokenizer.vocab_size, (int(swap.sum()),), generator=generator
        )
    return masked, labels


class SmilesTokenDataset(Dataset):
    """Encoded SMILES with optional descriptor and endpoint targets.

    Parameters
    ----------
    smiles : sequence of str
        Molecules; rows failing :func:`encode_smiles` follow ``errors``.
    tokenizer : SmilesTokenizer
        Vocabulary of the model.
    max_len : int
        Longest sequence the encoder takes.
    descriptors : array ``(N, D)``, optional
        Raw descriptor values (NaN allowed), aligned with ``smiles``.
    targets : array ``(N, T)``, optional
        Endpoint values in physical units (NaN = missing), aligned with ``smiles``.
    mlm : bool
        Mask tokens in :meth:`collate` and add ``labels``.
    mask_prob : float
        MLM masking fraction.
    errors : {"raise", "skip"}
        What to do with rows that cannot be encoded (training cannot keep them).
    """

    def __init__(
        self,
        smiles: Sequence[str],
        tokenizer: SmilesTokenizer,
        max_len: int,
        *,
        descriptors: np.ndarray | None = None,
        targets: np.ndarray | None = None,
        mlm: bool = False,
        mask_prob: float = 0.15,
        errors: str = "raise",
    ):
        if errors not in ("raise", "skip"):
            raise ValueError(f"errors must be 'raise' or 'skip' for training data, got {errors!r}")
        self.tokenizer, self.mlm, self.mask_prob = tokenizer, mlm, mask_prob
        self.ids, self.index, self.invalid = encode_smiles(smiles, tokenizer, max_len, errors)
        self.descriptors = self._rows(descriptors, len(smiles), "descriptors")
        self.targets = self._rows(targets, len(smiles), "targets")

    def _rows(self, values: np.ndarray | None, n: int, what: str) -> torch.Tensor | None:
        if values is None:
            return None
        values = np.asarray(values, dtype=np.float32)
        if values.ndim == 1:
            values = values[:, None]
        if len(values) != n:
            raise ValueError(f"{what} has {len(values)} rows but there are {n} SMILES")
        return torch.from_numpy(values[self.index])

    @property
    def lengths(self) -> np.ndarray:
        """``(N,)`` number of tokens of each kept row (for length bucketing)."""
        return np.fromiter((len(r) for r in self.ids), dtype=np.int64, count=len(self.ids))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        sample = {"input_ids": torch.from_numpy(self.ids[i])}
        if self.descriptors is not None:
            sample["descriptors"] = self.descriptors[i]
        if self.targets is not None:
            sample["y"] = self.targets[i]
        return sample

    def collate(self, samples: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Pad to the longest sequence; stack targets; mask tokens for MLM."""
        input_ids, attention_mask = pad_ids(
            [s["input_ids"] for s in samples], self.tokenizer.pad_id
        )
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        for key in ("descriptors", "y"):
            if key in samples[0]:
                batch[key] = torch.stack([s[key] for s in samples])
        if self.mlm:
            batch["input_ids"], batch["labels"] = mask_tokens(
                input_ids, attention_mask, self.tokenizer, self.mask_prob
            )
        return batch


class CorpusTokenDataset(Dataset):
    """MLM samples read from a memory-mapped :class:`~sciml.chem.corpus.TokenCorpus`.

    The pre-training counterpart of :class:`SmilesTokenDataset` for million-molecule
    corpora: nothing is tokenised here (the corpus cache did that once), and an epoch
    touches only the pages of the token ids it reads. Rows the tokenizer could not encode,
    or longer than ``max_len`` with ``[CLS]``/``[SEP]``, are left out.

    Parameters
    ----------
    corpus : TokenCorpus
        Token ids without special tokens, built with ``tokenizer``.
    tokenizer : SmilesTokenizer
        Supplies the special ids and the masking vocabulary; its fingerprint must be the
        corpus's.
    max_len : int
        Longest sequence the encoder takes.
    mask_prob : float
        MLM masking fraction.
    """

    def __init__(self, corpus, tokenizer: SmilesTokenizer, max_len: int, mask_prob: float = 0.15):
        if corpus.meta["vocabulary"] != corpus.vocabulary_key(tokenizer):
            raise ValueError(
                f"{corpus.folder} was tokenised with another vocabulary "
                f"({corpus.meta['vocabulary']}) than the model's "
                f"({corpus.vocabulary_key(tokenizer)})"
            )
        self.corpus, self.tokenizer, self.mask_prob = corpus, tokenizer, mask_prob
        raw = corpus.lengths()
        #: Corpus rows in this data set, ``(N,)``.
        self.index = np.flatnonzero((raw > 0) & (raw + 2 <= max_len))
        self._lengths = raw[self.index] + 2
        self._head = np.array([tokenizer.cls_id], dtype=np.int64)
        self._tail = np.array([tokenizer.sep_id], dtype=np.int64)

    @property
    def lengths(self) -> np.ndarray:
        """``(N,)`` tokens of each sample, special tokens included."""
        return self._lengths

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        ids = np.concatenate([self._head, self.corpus[int(self.index[i])], self._tail])
        return {"input_ids": torch.from_numpy(ids)}

    def collate(self, samples: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Pad to the longest sequence and mask tokens (``input_ids``, ``labels``)."""
        input_ids, attention_mask = pad_ids(
            [s["input_ids"] for s in samples], self.tokenizer.pad_id
        )
        masked, labels = mask_tokens(input_ids, attention_mask, self.tokenizer, self.mask_prob)
        return {"input_ids": masked, "attention_mask": attention_mask, "labels": labels}


def make_loader(
    dataset: SmilesTokenDataset, batch_size: int, *, shuffle: bool, seed: int = 0
) -> DataLoader:
    """A DataLoader over length buckets (the Trainer calls its ``set_epoch``)."""
    sampler = LengthBucketBatchSampler(dataset.lengths, batch_size, shuffle=shuffle, seed=seed)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=dataset.collate)
