"""Filling masked id rows and decoding them: the body of :meth:`RegressionTransformer.fill`.

Kept out of :mod:`sciml.rt.predictor` so that the model file stays about the model; it reads
only the model's public attributes (``net``, ``tokenizer``, ``language``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from sciml.chem.tokenizer import pad_ids
from sciml.rt._repair import chemistry_problems, repair
from sciml.rt._syntax import SmilesSyntax
from sciml.rt.decoding import iterative_unmask

__all__ = ["REPAIR_CANDIDATES", "atom_class_table", "fill_rows", "is_aromatic_atom"]

#: Candidate tokens per generated position that a repair may swap in.
REPAIR_CANDIDATES = 5


def is_aromatic_atom(token: str) -> bool:
    """Whether a SMILES atom token is aromatic (lower-case element: ``c``, ``[nH]``, ``[se]``)."""
    letters = [ch for ch in token.strip("[]") if ch.isalpha()]
    return bool(letters) and letters[0].islower()


def atom_class_table(net) -> tuple[np.ndarray, torch.Tensor]:
    """Atom class of each id and the ids a position of each class may take.

    Returns the class per id ``(V,)`` (1 aromatic atom, 0 aliphatic atom, -1 not an atom)
    and, indexed by class + 1, the allowed ids ``(3, V)`` bool.
    """
    is_atom = np.array([k == "a" for k in SmilesSyntax(net.vocab).kinds])
    is_atom &= net.molecule_tokens.cpu().numpy()
    aromatic = np.array([is_aromatic_atom(t) for t in net.vocab]) & is_atom
    classes = np.where(is_atom, aromatic.astype(int), -1)
    atom, arom = torch.from_numpy(is_atom), torch.from_numpy(aromatic)
    table = torch.stack([torch.ones_like(atom), atom & ~arom, atom & arom])
    return classes, table


def _allowed(table: torch.Tensor, classes: Sequence[np.ndarray], width: int) -> torch.Tensor:
    padded = np.stack([np.pad(c, (0, width - len(c)), constant_values=-1) for c in classes])
    return table[torch.as_tensor(padded + 1)]


@torch.no_grad()
def fill_rows(
    rt,
    rows,
    *,
    temperature,
    generator,
    n_steps=None,
    batch_size=256,
    pad=False,
    allowed=None,
    repair=False,
) -> tuple[list[str | None], int]:
    """See :meth:`sciml.rt.RegressionTransformer.fill`."""
    net = rt.net
    device = next(net.parameters()).device
    mol_start = net.mol_start
    table = atom_class_table(net)[1] if allowed is not None else None
    molecule = net.molecule_tokens.cpu()
    texts: list[str | None] = [None] * len(rows)
    n_repaired = 0
    order = np.argsort([len(r) for r in rows], kind="stable")
    for start in range(0, len(rows), batch_size):
        idx = order[start : start + batch_size]
        ids, attention = pad_ids([rows[i] for i in idx], rt.tokenizer.pad_id)
        filled = iterative_unmask(
            net,
            ids.to(device),
            attention.to(device),
            n_steps=n_steps,
            temperature=temperature,
            generator=generator,
            syntax=rt.language.smiles_syntax,
            alternatives=REPAIR_CANDIDATES if repair else 0,
            pad=pad,
            allowed=None
            if table is None
            else _allowed(table, [allowed[i] for i in idx], ids.shape[1]).to(device),
        )
        filled, alt = (filled[0].cpu(), filled[1].cpu()) if repair else (filled.cpu(), None)
        for j, i in enumerate(idx):
            # Molecule tokens only: no [SEP], no padding.
            keep = attention[j, mol_start:] & molecule[filled[j, mol_start:]]
            row = filled[j, mol_start:][keep]
            text = rt.tokenizer.decode(row)
            if repair and chemistry_problems(text):
                fixed = _repair_row(rt, row, alt[j, mol_start:][keep])
                if fixed is not None:
                    text, n_repaired = fixed, n_repaired + 1
            texts[i] = rt.language.decode(text)
    return texts, n_repaired


def _repair_row(rt, row: torch.Tensor, alt: torch.Tensor) -> str | None:
    """Repaired SMILES of a filled molecule ``(n,)`` with candidates ``(n, k)``, or None."""
    net = rt.net
    tokens = rt.tokenizer.convert_ids_to_tokens(row.tolist())
    alternatives = {
        p: [net.vocab[t] for t in alt[p].tolist() if t >= 0 and net.molecule_tokens[t]]
        for p in range(len(tokens))
        if alt[p, 0] >= 0
    }
    fixed = repair(tokens, alternatives)
    return None if fixed is None else rt.tokenizer.detokenize(fixed)
