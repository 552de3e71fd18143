"""Whether a SMILES token sequence with holes can still become a parsable SMILES.

Used by :func:`sciml.rt.decoding.iterative_unmask` to reject a token that would make the
molecule unparsable whatever fills the remaining holes: unbalanced branches, an odd count
of a ring-bond label with no hole left to close it, and impossible neighbours (``()``,
``(1``, ``=)``, a molecule starting with ``(`` or ending with ``=``). Valence and
aromaticity are not checked here; RDKit checks them after decoding. The check is a
necessary condition: each hole is assumed free to be any token, so a row it accepts may
still fail, but a row it rejects can never parse.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["SmilesSyntax"]

_RING = re.compile(r"^(\d|%\d\d)$")
_BONDS = {"-", "=", "#", "$", ":", "/", "\\"}
# Kinds: a atom, o "(", c ")", r ring-bond label, b bond, d "." (disconnection), x other.
_NOT_AFTER = {
    "o": {"c", "r", "o", "d"},
    "b": {"c", "o", "b", "d"},
    "d": {"c", "r", "o", "b", "d"},
    "c": {"r"},
}


def _kind(token: str) -> str:
    if token == "(":
        return "o"
    if token == ")":
        return "c"
    if _RING.match(token):
        return "r"
    if token in _BONDS:
        return "b"
    if token == ".":
        return "d"
    return "a"


class SmilesSyntax:
    """Syntax feasibility over a vocabulary.

    Parameters
    ----------
    vocab : sequence of str
        Token of each id.

    Examples
    --------
    >>> syntax = SmilesSyntax(["C", "(", ")", "1", "="])
    >>> syntax.feasible([0, 1, None, 2])          # C ( ? ) : a hole can hold an atom
    True
    >>> syntax.feasible([0, 1, 2])                # C ( ) : empty branch
    False
    >>> syntax.feasible([0, 3, 0, 0])             # C 1 C C : ring 1 never closed
    False
    """

    def __init__(self, vocab: Sequence[str]):
        self.kinds = self.kinds_of(vocab)
        self.vocab = list(vocab)

    @staticmethod
    def kinds_of(tokens: Sequence[str]) -> list[str]:
        """Kind of each token: ``a`` atom, ``o`` "(", ``c`` ")", ``r`` ring label, ...

        (``b`` bond, ``d`` ".", ``x`` other.)
        """
        return [_kind(t) for t in tokens]

    def feasible(self, tokens: Sequence[int | None]) -> bool:
        """Whether ``tokens`` (ids; None = a hole) can still become a parsable SMILES."""
        kinds = [None if t is None else self.kinds[t] for t in tokens]
        if not kinds:
            return True
        if kinds[0] is not None and kinds[0] != "a":
            return False
        if kinds[-1] in ("o", "b", "d"):
            return False
        for i, (left, right) in enumerate(zip(kinds, kinds[1:], strict=False)):
            if left is None or right is None:
                continue
            if right in _NOT_AFTER.get(left, ()) or (
                left == right == "r" and tokens[i] == tokens[i + 1]
            ):
                return False
        # Branch depth: the interval of depths reachable with holes as "(", ")" or an atom.
        # A hole cannot open a branch that closes at once ("()"), nor close one just opened;
        # the first token is an atom.
        low = high = 0
        last = len(kinds) - 1
        for i, k in enumerate(kinds):
            if k == "o":
                low, high = low + 1, high + 1
            elif k == "c":
                low, high = max(low - 1, 0), high - 1
                if high < 0:
                    return False
            elif k is None and i > 0:
                can_open = i < last and kinds[i + 1] != "c"
                can_close = kinds[i - 1] != "o"
                low, high = max(low - can_close, 0), high + can_open
        if low > 0:
            return False
        # A ring-bond label follows an atom or a bond, never "(", ")" or ".".
        holes = sum(
            k is None and i > 0 and kinds[i - 1] not in ("o", "c", "d") for i, k in enumerate(kinds)
        )
        counts: dict[str, int] = {}
        for t, k in zip(tokens, kinds, strict=True):
            if k == "r":
                label = self.vocab[t]
                counts[label] = counts.get(label, 0) + 1
        open_rings = sum(c % 2 for c in counts.values())
        return open_rings <= holes
