"""Pre-LN transformer encoder over token ids, an MLM head and a length-bucketed batch sampler.

Shared by the molecular property transformer (:mod:`sciml.chem.transformer`) and the
Regression Transformer (:mod:`sciml.rt`), which adds numerical encodings through
``extra_embeddings``.

Shapes: ``B`` batch, ``L`` sequence length, ``d`` model width, ``V`` vocabulary size.

Examples
--------
>>> import torch
>>> enc = TransformerEncoder.from_size("tiny", vocab_size=40)
>>> ids = torch.tensor([[2, 7, 8, 3, 0], [2, 9, 3, 0, 0]])
>>> hidden = enc(ids, ids != 0)
>>> tuple(hidden.shape)
(2, 5, 64)
>>> head = MaskedLMHead(64, 40, tied_embedding=enc.token_embedding)
>>> tuple(head(hidden).shape)
(2, 5, 40)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Sampler

__all__ = [
    "ENCODER_SIZES",
    "EncoderLayer",
    "LengthBucketBatchSampler",
    "MaskedLMHead",
    "TransformerEncoder",
    "count_parameters",
    "pool",
]

#: Attention when training on a CPU: ``"math"`` (written out, :func:`_attention_math`) or
#: ``"sdpa"`` (torch's kernel). A switch for measuring that lever
#: (``benchmarks/train_qed_rt.py --levers``), not a setting.
CPU_TRAINING_ATTENTION = "math"

#: Named encoder sizes. ``tiny`` is for tests (~0.1M parameters with a SMILES vocabulary),
#: ``small`` trains on a CPU (~2.2M), ``base`` has BERT-base dimensions (~86M) for GPUs.
ENCODER_SIZES: dict[str, dict[str, int]] = {
    "tiny": {"d_model": 64, "n_layers": 2, "n_heads": 4, "d_ff": 128, "max_len": 256},
    "small": {"d_model": 256, "n_layers": 4, "n_heads": 4, "d_ff": 512, "max_len": 256},
    "base": {"d_model": 768, "n_layers": 12, "n_heads": 12, "d_ff": 3072, "max_len": 512},
}


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Count the (distinct) parameters of ``module``; tied weights count once."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


class EncoderLayer(nn.Module):
    """One pre-LN block: ``x + MHA(LN(x))`` then ``x + FFN(LN(x))`` with a GELU FFN.

    Parameters
    ----------
    d_model, n_heads, d_ff : int
        Width, attention heads (must divide ``d_model``), FFN hidden width.
    dropout : float
        Dropout on attention weights and on both residual branches.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.1):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.dropout = dropout
        self.ln_attn = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.ln_ffn = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, attn_mask: torch.Tensor | None, queries: int | None = None
    ) -> torch.Tensor:
        """``x`` ``(B, L, d)``; ``attn_mask`` ``(B, 1, 1, L)`` bool, True on keys to attend.

        ``queries=n`` computes only the first ``n`` output positions ``(B, n, d)`` (every
        position is still attended to): the last layer of a [CLS]-pooled encoder needs one.
        """
        b, length, d = x.shape
        q, k, v = (
            self.qkv(self.ln_attn(x))
            .view(b, length, 3, self.n_heads, d // self.n_heads)
            .permute(2, 0, 3, 1, 4)
        )
        if queries is not None:
            x, q = x[:, :queries], q[:, :, :queries]
        dropout = self.dropout if self.training else 0.0
        if x.device.type == "cpu" and torch.is_grad_enabled() and CPU_TRAINING_ATTENTION == "math":
            attn = _attention_math(q, k, v, attn_mask, dropout)
        else:
            attn = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout)
        x = x + self.drop(self.out(attn.transpose(1, 2).reshape(b, q.shape[2], d)))
        return x + self.drop(self.ffn(self.ln_ffn(x)))


class TransformerEncoder(nn.Module):
    """Pre-LN transformer encoder: token + learned positional embeddings, final LayerNorm.

    Parameters
    ----------
    vocab_size : int
        Number of token ids ``V``.
    d_model, n_layers, n_heads, d_ff : int
        Width, depth, attention heads and FFN width.
    max_len : int
        Longest sequence (number of positional embeddings).
    dropout : float
        Dropout on embeddings, attention and residual branches.
    pad_id : int
        Padding id (its embedding stays zero and gets no gradient).

    Notes
    -----
    ``self.hparams`` holds the constructor arguments, so :func:`sciml.train.save_checkpoint`
    can rebuild the encoder (or a model composing it).
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 256,
        n_layers: int = 4,
        n_heads: int = 8,
        d_ff: int = 768,
        max_len: int = 256,
        dropout: float = 0.1,
        pad_id: int = 0,
    ):
        super().__init__()
        self.hparams: dict[str, Any] = {
            "vocab_size": vocab_size,
            "d_model": d_model,
            "n_layers": n_layers,
            "n_heads": n_heads,
            "d_ff": d_ff,
            "max_len": max_len,
            "dropout": dropout,
            "pad_id": pad_id,
        }
        self.d_model, self.max_len, self.pad_id = d_model, max_len, pad_id
        self.token_embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        self.position_embedding = nn.Embedding(max_len, d_model)
        self.embedding_dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, n_heads, d_ff, dropout) for _ in range(n_layers)
        )
        self.final_norm = nn.LayerNorm(d_model)
        self.apply(_init_weights)
        # Residual projections scaled by depth (GPT-2), which keeps pre-LN training stable.
        for layer in self.layers:
            for proj in (layer.out, layer.ffn[2]):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * n_layers))

    @classmethod
    def from_size(cls, size: str, vocab_size: int, **overrides: Any) -> TransformerEncoder:
        """Build a named size from :data:`ENCODER_SIZES` (``overrides`` replace any field)."""
        if size not in ENCODER_SIZES:
            raise ValueError(
                f"unknown encoder size {size!r}; choose one of: {', '.join(ENCODER_SIZES)}"
            )
        return cls(vocab_size=vocab_size, **{**ENCODER_SIZES[size], **overrides})

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        extra_embeddings: torch.Tensor | None = None,
        first_only: bool = False,
    ) -> torch.Tensor:
        """Encode a batch.

        Parameters
        ----------
        input_ids : LongTensor ``(B, L)``
            Token ids, right-padded.
        attention_mask : BoolTensor ``(B, L)``, optional
            True on real tokens. Padded keys are masked out of attention, so the outputs
            at real positions do not depend on how much padding follows them. Defaults to
            ``input_ids != pad_id``.
        extra_embeddings : Tensor ``(B, L, d)``, optional
            Added to the token embeddings before the positional ones (e.g. the
            Regression Transformer's numerical encodings).
        first_only : bool
            Return only position 0 ``(B, 1, d)``; the last layer then computes one query
            per sequence, which saves ``1 / n_layers`` of the work for [CLS] pooling.

        Returns
        -------
        Tensor ``(B, L, d)``
            Final-LayerNorm hidden states (padded positions hold unspecified values).
        """
        b, length = input_ids.shape
        if length > self.max_len:
            raise ValueError(
                f"sequence length {length} exceeds the encoder's max_len={self.max_len}"
            )
        if attention_mask is None:
            attention_mask = input_ids != self.pad_id
        x = self.token_embedding(input_ids)
        if extra_embeddings is not None:
            if extra_embeddings.shape != x.shape:
                raise ValueError(
                    f"extra_embeddings has shape {tuple(extra_embeddings.shape)}; "
                    f"expected {tuple(x.shape)} (B, L, d)"
                )
            x = x + extra_embeddings.to(x.dtype)
        x = x + self.position_embedding(torch.arange(length, device=input_ids.device))
        x = self.embedding_dropout(x)
        # A batch without padding needs no mask, which lets SDPA pick its fastest kernel.
        mask = None if bool(attention_mask.all()) else attention_mask.bool()[:, None, None, :]
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, queries=1 if first_only and i == last else None)
        return self.final_norm(x)


class MaskedLMHead(nn.Module):
    """BERT's MLM head: dense, GELU, LayerNorm, then a projection to the vocabulary.

    Parameters
    ----------
    d_model, vocab_size : int
        Input width and number of output classes.
    tied_embedding : nn.Embedding, optional
        Share the output projection with this token embedding (weight tying). Not part of
        ``hparams``: the composing model decides and re-ties when it is rebuilt.
    """

    def __init__(self, d_model: int, vocab_size: int, tied_embedding: nn.Embedding | None = None):
        super().__init__()
        self.dense = nn.Linear(d_model, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.decoder = nn.Linear(d_model, vocab_size)
        self.apply(_init_weights)
        if tied_embedding is not None:
            if tied_embedding.weight.shape != self.decoder.weight.shape:
                raise ValueError("tied embedding shape does not match (vocab_size, d_model)")
            self.decoder.weight = tied_embedding.weight

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(..., d)`` hidden states to ``(..., V)`` logits."""
        return self.decoder(self.norm(F.gelu(self.dense(hidden))))


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, how: str = "cls") -> torch.Tensor:
    """Sequence embedding ``(B, d)`` from hidden states ``(B, L, d)``.

    ``"cls"`` takes position 0; ``"mean"`` averages real tokens (``attention_mask`` True).
    """
    if how == "cls":
        return hidden[:, 0]
    if how == "mean":
        weights = attention_mask.to(hidden.dtype).unsqueeze(-1)
        return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1)
    raise ValueError(f"unknown pooling {how!r}; choose 'cls' or 'mean'")


def _attention_math(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    attn_mask: torch.Tensor | None,
    dropout: float,
) -> torch.Tensor:
    """``softmax(q k^T / sqrt(h) + mask) v`` written out, ``(B, H, L, h)``.

    What SDPA's math kernel computes. Training on a CPU uses it because SDPA picks its
    flash kernel there once dropout is off, and that kernel's backward pass is about 4x
    slower than this for SMILES-length sequences (torch 2.13, ``small``, 40 tokens).
    """
    scores = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    probs = F.dropout(scores.softmax(-1), dropout) if dropout else scores.softmax(-1)
    return probs.to(v.dtype) @ v


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
        if module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()


class LengthBucketBatchSampler(Sampler[list[int]]):
    """Batches of similar-length sequences, so little compute goes to padding.

    With ``shuffle``, each epoch shuffles the indices, cuts them into pools of
    ``batch_size * pool_batches``, sorts each pool by length, cuts batches and shuffles the
    batch order; :meth:`set_epoch` (called by the Trainer) changes the permutation
    deterministically. Without ``shuffle`` (inference), all indices are sorted by length
    once, so padding is minimal; callers restore the original order from the indices.

    Parameters
    ----------
    lengths : sequence of int
        Length of every item (e.g. number of tokens).
    batch_size : int
        Items per batch.
    shuffle : bool
        Randomise pools and batch order each epoch.
    pool_batches : int
        Batches per sorted pool (larger: less padding, less randomness).
    seed : int
        Base seed of the permutation.
    drop_last : bool
        Drop a final short batch of each pool.
    max_tokens : int, optional
        Also cap ``batch_size * longest length`` per batch (splits long-sequence batches).
    epoch_size : int, optional
        With ``shuffle``: items per epoch, for corpora too large for one epoch between
        checkpoints. Each pass over the data is one permutation cut into consecutive
        slices of ``epoch_size``; epoch ``e`` trains slice ``e mod K`` of pass ``e // K``
        (``K`` slices per pass), so every item is seen once per pass and a resumed run
        sees the same items as an uninterrupted one.

    Examples
    --------
    >>> sampler = LengthBucketBatchSampler([5, 1, 4, 2], batch_size=2, shuffle=False)
    >>> list(sampler)
    [[1, 3], [2, 0]]
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        pool_batches: int = 50,
        seed: int = 0,
        drop_last: bool = False,
        max_tokens: int | None = None,
        epoch_size: int | None = None,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if epoch_size is not None and not 1 <= epoch_size:
            raise ValueError(f"epoch_size must be >= 1, got {epoch_size}")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size, self.shuffle, self.pool_batches = batch_size, shuffle, pool_batches
        self.seed, self.drop_last, self.max_tokens = seed, drop_last, max_tokens
        self.epoch_size = (
            None if epoch_size is None or epoch_size >= len(self.lengths) else int(epoch_size)
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``epoch`` on the next iteration."""
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        n = len(self.lengths)
        if self.shuffle and self.epoch_size is not None:
            per_pass = -(-n // self.epoch_size)
            passes, part = divmod(self.epoch, per_pass)
            order = np.random.default_rng((self.seed, passes)).permutation(n)
            order = order[part * self.epoch_size : (part + 1) * self.epoch_size]
            rng = np.random.default_rng((self.seed, self.epoch))
            pool = self.batch_size * self.pool_batches
            pools = [order[i : i + pool] for i in range(0, len(order), pool)]
        elif self.shuffle:
            rng = np.random.default_rng((self.seed, self.epoch))
            order = rng.permutation(n)
            pool = self.batch_size * self.pool_batches
            pools = [order[i : i + pool] for i in range(0, len(order), pool)]
        else:
            rng, pools = None, [np.arange(n)]
        batches: list[list[int]] = []
        for members in pools:
            members = members[np.argsort(self.lengths[members], kind="stable")]
            batches.extend(self._cut(members))
        if rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def _cut(self, members: np.ndarray) -> list[list[int]]:
        out, start = [], 0
        while start < len(members):
            stop = min(start + self.batch_size, len(members))
            if self.max_tokens is not None:
                # Sorted ascending, so the last member is the longest of the batch.
                while (
                    stop - start > 1
                    and (stop - start) * self.lengths[members[stop - 1]] > self.max_tokens
                ):
                    stop -= 1
            batch = members[start:stop].tolist()
            if not (self.drop_last and len(batch) < self.batch_size and self.max_tokens is None):
                out.append(batch)
            start = stop
        return out

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __len__(self) -> int:
        if self.max_tokens is None and not self.shuffle:
            full, rest = divmod(len(self.lengths), self.batch_size)
            return full + (rest > 0 and not self.drop_last)
        return len(self._batches())
