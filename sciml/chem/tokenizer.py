r"""Atom-level regex SMILES tokenizer with a JSON vocabulary.

The regular expression is the one of Schwaller et al. (Molecular Transformer, ACS Cent. Sci.
2019): bracket atoms (``[C@@H]``, ``[nH+]``, ``[2H]``) are single tokens, ``Br`` and ``Cl``
are single tokens, ring closures ``%NN`` are single tokens, and every other character
(bonds, branches, digits, stereo ``/`` ``\``) is its own token. RDKit's ``%(NNN)`` ring
closures are added as one more alternative.

Tokenising never drops a character: text the expression cannot cover raises
:class:`TokenizationError`, so ``detokenize(tokenize(s)) == s`` for every accepted ``s``.

Examples
--------
>>> tok = SmilesTokenizer.build_vocab(["CC(=O)Oc1ccccc1C(=O)O", "C[C@@H](N)Cl"])
>>> tok.tokenize("C[C@@H](N)Cl")
['C', '[C@@H]', '(', 'N', ')', 'Cl']
>>> ids = tok.encode("CCO")
>>> tok.decode(ids)
'CCO'
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sciml._io import atomic_write

__all__ = [
    "SMILES_REGEX",
    "SPECIAL_TOKENS",
    "EncodedBatch",
    "SmilesTokenizer",
    "TokenizationError",
    "VocabularyMismatchError",
    "pad_ids",
    "tokenize_smiles",
]

#: Schwaller et al.'s atom-level SMILES pattern, plus ``%(NNN)`` ring closures.
SMILES_REGEX = (
    r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$"
    r"|%\([0-9]+\)|%[0-9]{2}|[0-9])"
)

#: Control tokens, always the first ids in this order: PAD=0, UNK=1, CLS=2, SEP=3, MASK=4.
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

_FORMAT = "sciml.chem.SmilesTokenizer"
_FORMAT_VERSION = 1
_SMILES_PATTERN = re.compile(SMILES_REGEX)


class TokenizationError(ValueError):
    """Raised when a string holds characters the tokenizer's expression cannot cover."""


class VocabularyMismatchError(ValueError):
    """Raised when a vocabulary fingerprint does not match the expected one."""


def _tokenize_with(pattern: re.Pattern[str], text: str) -> list[str]:
    tokens = pattern.findall(text)
    # findall silently skips what it cannot match; comparing the join catches that cheaply.
    if "".join(tokens) != text:
        raise TokenizationError(_uncovered_message(pattern, text))
    return tokens


def _uncovered_message(pattern: re.Pattern[str], text: object) -> str:
    if not isinstance(text, str):
        return f"cannot tokenize {type(text).__name__} {text!r}: expected a SMILES string"
    bad, pos = [], 0
    for match in pattern.finditer(text):
        if match.start() > pos:
            bad.append((pos, text[pos : match.start()]))
        pos = match.end()
    if pos < len(text):
        bad.append((pos, text[pos:]))
    where = ", ".join(f"{chunk!r} at {start}" for start, chunk in bad)
    return f"cannot tokenize {text!r}: no token covers {where}"


def tokenize_smiles(smiles: str) -> list[str]:
    """Split one SMILES string into atom-level tokens (no vocabulary needed).

    Raises
    ------
    TokenizationError
        Part of the string matches no token.
    """
    if not isinstance(smiles, str):
        raise TokenizationError(_uncovered_message(_SMILES_PATTERN, smiles))
    return _tokenize_with(_SMILES_PATTERN, smiles)


def pad_ids(rows, pad_id: int, width: int | None = None, *, as_tensor: bool = True):
    """Right-pad token-id sequences into one ``(B, width)`` batch and its attention mask.

    The one padding routine of the package: the encoder's collators, its embedding pass,
    the tokenizer's batch encoding and the Regression Transformer all batch through it.

    Parameters
    ----------
    rows : sequence of sequences of int
        Token ids per sequence (lists, numpy arrays or tensors).
    pad_id : int
        Id written after each sequence's end.
    width : int, optional
        Batch width; default the longest row. A row longer than ``width`` raises.
    as_tensor : bool
        Return ``torch.long`` / ``torch.bool`` tensors (default) or numpy arrays.

    Returns
    -------
    ids, attention_mask
        ``(B, width)``; the mask is True on each row's own tokens (by length, so a pad id
        inside a sequence stays attended).

    Examples
    --------
    >>> ids, mask = pad_ids([[5, 6, 7], [8]], pad_id=0)
    >>> ids.tolist(), mask.sum(1).tolist()
    ([[5, 6, 7], [8, 0, 0]], [3, 1])
    """
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    longest = int(lengths.max(initial=0))
    width = longest if width is None else int(width)
    if longest > width:
        raise ValueError(f"a sequence of {longest} tokens does not fit the width {width}")
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : lengths[i]] = np.asarray(row)
    mask = np.arange(width)[None, :] < lengths[:, None]
    if not as_tensor:
        return ids, mask
    import torch

    return torch.from_numpy(ids), torch.from_numpy(mask)


@dataclass(frozen=True)
class EncodedBatch:
    """A padded batch of token ids.

    Attributes
    ----------
    input_ids : numpy.ndarray or torch.Tensor
        ``(B, L)`` int64 token ids, right-padded with ``[PAD]``.
    attention_mask : numpy.ndarray or torch.Tensor
        ``(B, L)`` bool, True on real tokens (including ``[CLS]``/``[SEP]``).
    """

    input_ids: Any
    attention_mask: Any


class SmilesTokenizer:
    """Regex SMILES tokenizer with a fixed vocabulary.

    Ids ``0..4`` are :data:`SPECIAL_TOKENS`; then the extra tokens (:meth:`add_tokens`,
    e.g. the Regression Transformer's ``<qed>`` or ``_0_-1_``), then SMILES tokens by
    decreasing corpus frequency. Extra tokens are matched as whole units by
    :meth:`tokenize` before the SMILES expression, so ``"<qed>CCO"`` becomes
    ``["<qed>", "C", "C", "O"]``.

    Parameters
    ----------
    vocab : sequence of str
        Tokens in id order. Must start with :data:`SPECIAL_TOKENS`.
    extra_tokens : sequence of str
        Tokens in ``vocab`` that :meth:`tokenize` should match whole (must be in ``vocab``).
    """

    def __init__(self, vocab: Sequence[str], extra_tokens: Sequence[str] = ()) -> None:
        vocab = list(vocab)
        if tuple(vocab[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"vocabulary must start with the special tokens {SPECIAL_TOKENS}")
        if len(set(vocab)) != len(vocab):
            duplicates = sorted(t for t, c in Counter(vocab).items() if c > 1)
            raise ValueError(f"duplicate tokens in vocabulary: {duplicates}")
        missing = [t for t in extra_tokens if t not in vocab]
        if missing:
            raise ValueError(f"extra tokens not in the vocabulary: {missing}")
        self._vocab = vocab
        self._extra = list(extra_tokens)
        self._ids = {token: i for i, token in enumerate(vocab)}
        self._pattern = self._compile()

    def _compile(self) -> re.Pattern[str]:
        if not self._extra:
            return _SMILES_PATTERN
        # Longest first so that a longer extra token wins over its own prefix.
        extras = "|".join(re.escape(t) for t in sorted(self._extra, key=len, reverse=True))
        return re.compile(f"({extras}|{SMILES_REGEX[1:-1]})")

    # ----------------------------------------------------------------- construction
    @classmethod
    def build_vocab(
        cls,
        corpus: Iterable[str],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        extra_tokens: Sequence[str] = (),
    ) -> SmilesTokenizer:
        """Build a tokenizer from the tokens of a SMILES corpus.

        Parameters
        ----------
        corpus : iterable of str
            SMILES strings.
        min_freq : int
            Drop tokens seen fewer times (they will encode as ``[UNK]``).
        max_size : int, optional
            Cap on the total vocabulary size, special and extra tokens included.
        extra_tokens : sequence of str
            Tokens to add after the special tokens (see :meth:`add_tokens`).

        Returns
        -------
        SmilesTokenizer

        Raises
        ------
        TokenizationError
            A corpus string holds characters no token covers (the message names its row).
        """
        counts: Counter[str] = Counter()
        for i, smiles in enumerate(corpus):
            try:
                counts.update(tokenize_smiles(smiles))
            except TokenizationError as exc:
                raise TokenizationError(f"corpus row {i}: {exc}") from None
        head = list(SPECIAL_TOKENS) + [
            t for t in dict.fromkeys(extra_tokens) if t not in SPECIAL_TOKENS
        ]
        # Frequency, then the token itself, so equal corpora give identical vocabularies
        # (and fingerprints) whatever their order.
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in head),
            key=lambda t: (-counts[t], t),
        )
        vocab = head + ranked
        if max_size is not None:
            if max_size < len(head):
                raise ValueError(
                    f"max_size={max_size} is smaller than the {len(head)} special and extra tokens"
                )
            vocab = vocab[:max_size]
        return cls(vocab, extra_tokens=head[len(SPECIAL_TOKENS) :])

    def add_tokens(self, tokens: Iterable[str]) -> int:
        """Add extra tokens (appended at the end; existing ids do not change).

        Extra tokens are matched whole by :meth:`tokenize`. Adding tokens changes
        :attr:`fingerprint`.

        Parameters
        ----------
        tokens : iterable of str
            New tokens; ones already in the vocabulary become extra tokens without a new id.

        Returns
        -------
        int
            Number of new ids.
        """
        added = 0
        for token in tokens:
            if not isinstance(token, str) or not token:
                raise ValueError(f"tokens must be non-empty strings, got {token!r}")
            if token in SPECIAL_TOKENS or token in self._extra:
                continue
            if token not in self._ids:
                self._ids[token] = len(self._vocab)
                self._vocab.append(token)
                added += 1
            self._extra.append(token)
        self._pattern = self._compile()
        return added

    # ----------------------------------------------------------------- properties
    @property
    def vocab(self) -> list[str]:
        """Tokens in id order (a copy)."""
        return list(self._vocab)

    @property
    def extra_tokens(self) -> list[str]:
        """Tokens added with :meth:`add_tokens` or ``extra_tokens=`` (a copy)."""
        return list(self._extra)

    @property
    def token_to_id(self) -> Mapping[str, int]:
        """Read-only view of the token -> id map."""
        return dict(self._ids)

    def __len__(self) -> int:
        return len(self._vocab)

    @property
    def vocab_size(self) -> int:
        """Number of ids."""
        return len(self._vocab)

    pad_id, unk_id, cls_id, sep_id, mask_id = range(len(SPECIAL_TOKENS))

    @property
    def fingerprint(self) -> str:
        """sha256 (hex) of the vocabulary, the extra tokens and the expression.

        A model stores it and refuses a tokenizer whose fingerprint differs, because the
        same id would mean a different token.
        """
        payload = json.dumps(
            {"vocab": self._vocab, "extra": sorted(self._extra), "regex": SMILES_REGEX},
            ensure_ascii=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def check_fingerprint(self, expected: str) -> None:
        """Raise :class:`VocabularyMismatchError` unless :attr:`fingerprint` equals ``expected``."""
        if expected != self.fingerprint:
            raise VocabularyMismatchError(
                f"tokenizer vocabulary {self.fingerprint[:12]} does not match the expected "
                f"{expected[:12]}; load the tokenizer saved with the model"
            )

    # ----------------------------------------------------------------- tokens
    def tokenize(self, smiles: str) -> list[str]:
        """Split a string into tokens (extra tokens first, then the SMILES expression).

        Raises
        ------
        TokenizationError
            Part of the string matches no token.
        """
        if not isinstance(smiles, str):
            raise TokenizationError(_uncovered_message(self._pattern, smiles))
        return _tokenize_with(self._pattern, smiles)

    @staticmethod
    def detokenize(tokens: Iterable[str]) -> str:
        """Join tokens back into the string (exact inverse of :meth:`tokenize`)."""
        return "".join(tokens)

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        """Map tokens to ids; unknown tokens become ``[UNK]``."""
        ids, unk = self._ids, self.unk_id
        return [ids.get(t, unk) for t in tokens]

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        """Map ids to tokens.

        Raises
        ------
        IndexError
            An id is outside ``[0, vocab_size)``.
        """
        vocab, n = self._vocab, len(self._vocab)
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < n:
                raise IndexError(f"token id {i} outside the vocabulary of size {n}")
            out.append(vocab[i])
        return out

    # ----------------------------------------------------------------- encode / decode
    def encode(self, smiles: str, *, add_special_tokens: bool = True) -> list[int]:
        """Encode one string to ids, as ``[CLS] tokens [SEP]`` by default."""
        ids = self.convert_tokens_to_ids(self.tokenize(smiles))
        return [self.cls_id, *ids, self.sep_id] if add_special_tokens else ids

    def encode_batch(
        self,
        smiles: Sequence[str],
        *,
        add_special_tokens: bool = True,
        max_length: int | None = None,
        padding: Literal["longest", "max_length"] = "longest",
        truncation: bool = False,
        return_tensors: Literal["np", "pt"] = "np",
    ) -> EncodedBatch:
        """Encode strings to a right-padded ``(B, L)`` id array and attention mask.

        Parameters
        ----------
        smiles : sequence of str
            The batch.
        add_special_tokens : bool
            Wrap each sequence as ``[CLS] ... [SEP]``.
        max_length : int, optional
            Longest allowed sequence (special tokens included).
        padding : {"longest", "max_length"}
            Pad to the longest sequence in the batch, or to ``max_length``.
        truncation : bool
            Cut sequences longer than ``max_length`` (keeping ``[SEP]`` last). Without it,
            such sequences raise ``ValueError`` listing them.
        return_tensors : {"np", "pt"}
            NumPy arrays or torch tensors.

        Returns
        -------
        EncodedBatch
            ``input_ids`` ``(B, L)`` int64 and ``attention_mask`` ``(B, L)`` bool.

        Raises
        ------
        TokenizationError
            Listing every row that cannot be tokenised.
        ValueError
            Bad arguments, or sequences too long without ``truncation``.
        """
        if padding not in ("longest", "max_length"):
            raise ValueError(f"padding must be 'longest' or 'max_length', got {padding!r}")
        if padding == "max_length" and max_length is None:
            raise ValueError("padding='max_length' needs max_length")
        if return_tensors not in ("np", "pt"):
            raise ValueError(f"return_tensors must be 'np' or 'pt', got {return_tensors!r}")
        rows, bad = [], []
        for i, s in enumerate(smiles):
            try:
                rows.append(self.encode(s, add_special_tokens=add_special_tokens))
            except TokenizationError as exc:
                bad.append(f"  [{i}] {exc}")
        if bad:
            raise TokenizationError(f"{len(bad)} rows cannot be tokenized:\n" + "\n".join(bad))
        if max_length is not None:
            too_long = [i for i, r in enumerate(rows) if len(r) > max_length]
            if too_long and not truncation:
                raise ValueError(
                    f"{len(too_long)} sequences exceed max_length={max_length} "
                    f"(rows {too_long[:20]}); pass truncation=True to cut them"
                )
            for i in too_long:
                tail = [self.sep_id] if add_special_tokens and max_length > 1 else []
                rows[i] = rows[i][: max_length - len(tail)] + tail
        width = max_length if padding == "max_length" else None
        input_ids, attention_mask = pad_ids(rows, self.pad_id, width, as_tensor=False)
        if return_tensors == "pt":
            import torch

            return EncodedBatch(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        return EncodedBatch(input_ids, attention_mask)

    def decode(self, ids: Iterable[int], *, skip_special_tokens: bool = True) -> str:
        """Turn ids back into a string.

        Parameters
        ----------
        ids : iterable of int
            Token ids (a list, 1-D array or tensor).
        skip_special_tokens : bool
            Drop ``[PAD]``, ``[CLS]``, ``[SEP]``, ``[MASK]`` and ``[UNK]`` (extra tokens are
            kept: they carry meaning).
        """
        ids = [int(i) for i in (ids.tolist() if hasattr(ids, "tolist") else ids)]
        if skip_special_tokens:
            ids = [i for i in ids if i >= len(SPECIAL_TOKENS)]
        return self.detokenize(self.convert_ids_to_tokens(ids))

    def decode_batch(self, input_ids: Any, *, skip_special_tokens: bool = True) -> list[str]:
        """Decode a ``(B, L)`` id array or tensor row by row."""
        rows = input_ids.tolist() if hasattr(input_ids, "tolist") else input_ids
        return [self.decode(row, skip_special_tokens=skip_special_tokens) for row in rows]

    # ----------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-serialisable state (what :meth:`save` writes)."""
        return {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "regex": SMILES_REGEX,
            "special_tokens": list(SPECIAL_TOKENS),
            "extra_tokens": list(self._extra),
            "vocab": list(self._vocab),
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> SmilesTokenizer:
        """Rebuild a tokenizer from :meth:`to_dict` output, checking format and fingerprint."""
        if state.get("format") != _FORMAT:
            raise ValueError(f"not a saved SmilesTokenizer (format={state.get('format')!r})")
        if state.get("format_version") != _FORMAT_VERSION:
            raise ValueError(f"unsupported tokenizer format_version {state.get('format_version')}")
        if state.get("regex") != SMILES_REGEX:
            raise ValueError("saved tokenizer used a different SMILES expression")
        tokenizer = cls(state["vocab"], extra_tokens=state.get("extra_tokens", ()))
        if "fingerprint" in state:
            tokenizer.check_fingerprint(state["fingerprint"])
        return tokenizer

    def save(self, path: str | os.PathLike) -> Path:
        """Write the vocabulary as JSON, atomically. Returns the path."""
        path = Path(path)
        with atomic_write(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=1, ensure_ascii=False)
            handle.write("\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> SmilesTokenizer:
        """Read a tokenizer written by :meth:`save`."""
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SmilesTokenizer) and self.fingerprint == other.fingerprint

    __hash__ = None  # mutable through add_tokens

    def __repr__(self) -> str:
        return (
            f"SmilesTokenizer(vocab_size={self.vocab_size}, "
            f"extra_tokens={len(self._extra)}, fingerprint={self.fingerprint[:12]})"
        )
