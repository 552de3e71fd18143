"""Valence- and aromaticity-aware repair of a generated molecule from the model's own candidates.

:func:`iterative_unmask` picks each generated token from the model's distribution at that
position; RDKit checks valence and aromaticity only once the whole molecule exists. When
the result does not sanitize, :func:`repair` walks the generated positions and swaps one
token at a time for another of the model's top candidates there (recorded when the
position was filled), keeping the swap that leaves the fewest RDKit chemistry problems,
until none is left or no swap helps. Only generated positions change, and only to tokens
the model proposed, so the repair stays a decoding rule (constrained search), not an
edit the model did not suggest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rdkit import Chem, rdBase

__all__ = ["chemistry_problems", "repair"]

#: Problem count given to a string RDKit cannot even parse (worse than any chemistry problem).
UNPARSABLE = 1000


def chemistry_problems(smiles: str) -> int:
    """Number of RDKit sanitisation problems of ``smiles`` (0 = valid; unparsable: 1000)."""
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
        if mol is None:
            return UNPARSABLE
        return len(Chem.DetectChemistryProblems(mol))


def repair(
    tokens: Sequence[str], alternatives: Mapping[int, Sequence[str]], max_swaps: int = 3
) -> list[str] | None:
    """Swap generated tokens for other model candidates until the molecule sanitizes.

    Parameters
    ----------
    tokens : sequence of str
        The molecule's tokens.
    alternatives : mapping
        Position -> candidate tokens there, most likely first (the generated positions).
    max_swaps : int
        Greedy rounds; each keeps the single swap that lowers the problem count most
        (ties: the earlier position, then the likelier token).

    Returns
    -------
    list of str or None
        Repaired tokens (``tokens`` itself when already valid), or None when no sequence
        of at most ``max_swaps`` improving swaps reaches a valid molecule.
    """
    current = list(tokens)
    score = chemistry_problems("".join(current))
    for _ in range(max_swaps):
        if score == 0:
            break
        best = None
        for pos, candidates in alternatives.items():
            original = current[pos]
            for token in candidates:
                if token == original:
                    continue
                current[pos] = token
                trial = chemistry_problems("".join(current))
                if trial < score and (best is None or trial < best[0]):
                    best = (trial, pos, token)
            current[pos] = original
            if best is not None and best[0] == 0:
                break
        if best is None:
            return None
        score, pos, token = best
        current[pos] = token
    return current if score == 0 else None
