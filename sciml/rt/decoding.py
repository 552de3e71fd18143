"""Decoding algorithms of the Regression Transformer: how its outputs become tokens.

These run the network (:class:`~sciml.rt.model.RegressionTransformerNet`) several times and
write its choices back into the input; the network itself only maps ids to logits and
reads value slots (:meth:`~sciml.rt.model.RegressionTransformerNet.decode_values`).

- :func:`iterative_unmask` fills ``[MASK]`` positions of the molecule over a few passes,
  the most confident positions first, keeping SMILES syntax
  (:class:`sciml.rt._syntax.SmilesSyntax`);
- :func:`sequential_slot_ids` decodes property values left to right, one value slot per
  pass, each conditioned on the digits fixed before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from sciml.rt._syntax import SmilesSyntax

if TYPE_CHECKING:
    from sciml.rt.model import RegressionTransformerNet

__all__ = ["iterative_unmask", "sequential_slot_ids"]


@torch.no_grad()
def sequential_slot_ids(
    net: RegressionTransformerNet,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    logits: torch.Tensor | None = None,
) -> torch.Tensor:
    """Value-slot token ids ``(B, S)`` decoded left to right, one slot per forward pass.

    The masked-LM counterpart of the RT's autoregressive number decoding: the most
    significant masked slot is set to its argmax, written into the input, and the model
    is run again for the next slot, so every digit is predicted knowing the ones before it
    (``S`` forward passes instead of one). Slots that are not ``[MASK]`` in the input keep
    their token. A model trained with every value token masked never saw such partial
    contexts; ``RTConfig(reveal_digits=...)`` trains them.

    Parameters
    ----------
    net : RegressionTransformerNet
    input_ids, attention_mask : Tensor ``(B, L)``
        Property-mode sequences (value slots masked).
    logits : Tensor ``(B, L, V)``, optional
        The model's output for ``input_ids`` if already computed (saves one pass).

    Returns
    -------
    Tensor ``(B, S)``
        Token ids at :attr:`RegressionTransformerNet.value_positions`; read them with
        :meth:`RegressionTransformerNet.decode_slots`.
    """
    ids = input_ids.clone()
    positions = net.value_positions.tolist()
    for s, pos in enumerate(positions):
        masked = ids[:, pos] == net.mask_id
        if not masked.any():
            continue
        if logits is None:
            logits = net({"input_ids": ids, "attention_mask": attention_mask})["logits"]
        choice = net.slot_logits(logits)[:, s].argmax(-1)
        ids[:, pos] = torch.where(masked, choice, ids[:, pos])
        logits = None
    return ids[:, net.value_positions]


@torch.no_grad()
def iterative_unmask(
    net: RegressionTransformerNet,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    n_steps: int | None = None,
    temperature: float = 0.0,
    generator: torch.Generator | None = None,
    syntax: bool = True,
    alternatives: int = 0,
    allowed: torch.Tensor | None = None,
    pad: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Fill every ``[MASK]`` after the property block with SMILES tokens.

    Each pass predicts all masked molecule positions, then fixes the ``ceil(remaining /
    passes left)`` most confident of them (confidence = probability of the chosen token);
    later passes see the tokens fixed before. By default there are as many passes as the
    row with most masks has masks, so every pass fixes one token per row: tokens fixed in
    the same pass are chosen independently of each other, which with few passes breaks
    SMILES syntax (two ring-bond digits for one ring, a ``(`` whose ``)`` never comes).

    Parameters
    ----------
    net : RegressionTransformerNet
    input_ids, attention_mask : Tensor ``(B, L)``
        Sequences with ``[MASK]`` in the molecule part (value slots are left as given).
    n_steps : int, optional
        Number of passes (fewer passes are faster; default: one token per pass).
    temperature : float
        0 picks the most likely token; > 0 samples from the tempered distribution.
    generator : torch.Generator, optional
        Random source for sampling.
    syntax : bool
        Reject a chosen token that would leave the molecule unparsable whatever fills
        the remaining masks (:class:`sciml.rt._syntax.SmilesSyntax`: branches, ring-bond
        labels, impossible neighbours) and take the most likely token that does not.
    alternatives : int
        With ``k > 0``, also return the ``k`` likeliest tokens of each filled position
        at the pass that fixed it (for :func:`sciml.rt._repair.repair`).
    allowed : Tensor ``(B, L, V)`` bool, optional
        Tokens allowed at each position (on top of "SMILES tokens only"), e.g. only
        aromatic atoms where an aromatic atom was masked.
    pad : bool
        Also allow ``[PAD]`` ("no token here") at masked positions, for a model trained
        with ``RTConfig(span_slack > 0)`` whose masked spans carry extra slots: the
        molecule then grows or shrinks. A position filled with ``[PAD]`` is hidden from
        the attention of later passes (as padding is in training) and is empty for the
        syntax check; the caller drops it when decoding.

    Returns
    -------
    Tensor ``(B, L)``
        The filled ids; with ``alternatives=k``, also a Tensor ``(B, L, k)`` of candidate
        ids, ``-1`` at positions that were not filled.
    """
    ids = input_ids.clone()
    start = net.mol_start
    region = torch.zeros_like(ids, dtype=torch.bool)
    region[:, start:] = True
    if syntax:
        checker = SmilesSyntax(net.vocab)
    if n_steps is None:
        n_steps = max(1, int(((ids == net.mask_id) & region & attention_mask).sum(1).max()))
    alt = torch.full((*ids.shape, max(alternatives, 1)), -1, dtype=torch.long, device=ids.device)
    choosable = net.molecule_tokens.clone()
    if pad:
        choosable[net.pad_id] = True
    for step in range(n_steps):
        masked = (ids == net.mask_id) & region & attention_mask
        remaining = masked.sum(1)
        if not remaining.any():
            break
        logits = net({"input_ids": ids, "attention_mask": attention_mask})["logits"].float()
        logits = logits.masked_fill(~choosable, float("-inf"))
        if allowed is not None:
            logits = logits.masked_fill(~allowed, float("-inf"))
        if temperature > 0:
            probs = (logits / temperature).softmax(-1)
            b, length, v = probs.shape
            choice = torch.multinomial(probs.reshape(-1, v), 1, generator=generator).reshape(
                b, length
            )
        else:
            probs = logits.softmax(-1)
            choice = probs.argmax(-1)
        confidence = probs.gather(-1, choice.unsqueeze(-1)).squeeze(-1)
        confidence = confidence.masked_fill(~masked, -1.0)
        k = torch.ceil(remaining.float() / (n_steps - step)).long()
        order = confidence.argsort(dim=1, descending=True)
        rank = torch.empty_like(order)
        rank.scatter_(1, order, torch.arange(ids.shape[1], device=ids.device).expand_as(order))
        fix = masked & (rank < k.unsqueeze(1))
        if syntax:
            _repair_syntax(
                checker,
                net.mask_id,
                ids,
                attention_mask,
                fix,
                choice,
                probs,
                confidence,
                start,
                net.pad_id if pad else None,
            )
        ids = torch.where(fix, choice, ids)
        if pad:
            attention_mask = attention_mask & ~(fix & (ids == net.pad_id))
        if alternatives:
            top = probs.topk(alternatives, dim=-1)
            # Tokens the constraints ruled out (probability 0) are no candidates.
            top_ids = torch.where(top.values > 0, top.indices, -1)
            alt = torch.where(fix.unsqueeze(-1), top_ids, alt)
    return (ids, alt) if alternatives else ids


def _repair_syntax(
    checker, mask_id, ids, attention_mask, fix, choice, probs, confidence, start, pad_id
) -> None:
    """Replace, in place in ``choice``, fixed tokens that break SMILES syntax (``[PAD]`` = empty)."""

    def feasible(tokens: list[int | None]) -> bool:
        # A hole (None) stays a hole; [PAD] is no token at all.
        return checker.feasible(tokens if pad_id is None else [t for t in tokens if t != pad_id])

    for b in fix.any(1).nonzero().flatten().tolist():
        end = int(attention_mask[b].nonzero().max())  # the [SEP]
        row = ids[b, start:end].tolist()
        tokens = [None if t == mask_id else t for t in row]
        positions = fix[b].nonzero().flatten()
        positions = positions[confidence[b, positions].argsort(descending=True)].tolist()
        for pos in positions:
            first = int(choice[b, pos])
            candidates = [first] + [
                t for t in probs[b, pos].argsort(descending=True).tolist() if t != first
            ]
            for token in candidates:
                if probs[b, pos, token] <= 0:
                    break
                tokens[pos - start] = token
                if feasible(tokens):
                    choice[b, pos] = token
                    break
            else:
                tokens[pos - start] = first
            if not feasible(tokens):
                tokens[pos - start] = first
                choice[b, pos] = first
