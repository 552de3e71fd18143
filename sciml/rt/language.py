"""Molecule languages of the Regression Transformer: what the model reads and writes.

A :class:`MoleculeLanguage` turns a canonical SMILES into the text the model is trained on
and a generated text back into a SMILES. Two are shipped:

- :data:`SMILES` -- the canonical SMILES itself (atom-level tokens);
- :data:`SELFIES` -- SELFIES strings (Krenn et al. 2020, the ``selfies`` package), as in the
  RT paper's generation experiments: every token string decodes to a molecule, so a filled
  mask can never be a syntax or valence error.

Both tokenise with the same regular expression (a SELFIES token ``[=C]`` is a bracket
token), so one :class:`~sciml.chem.tokenizer.SmilesTokenizer` class, the same digit tokens
for numbers and the same decodings serve both. The name is stored in
:class:`~sciml.rt.predictor.RTConfig` and resolved once by :func:`resolve_language`.

Examples
--------
>>> SMILES.encode("CCO"), SMILES.decode("CCO")
('CCO', 'CCO')
>>> SELFIES.encode("CCO")                                   # doctest: +SKIP
'[C][C][O]'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["LANGUAGES", "SELFIES", "SMILES", "MoleculeLanguage", "resolve_language"]


class MoleculeLanguage:
    """SMILES in, model text out, and back (the SMILES language: the identity).

    Attributes
    ----------
    name : str
        The name stored in checkpoints.
    smiles_syntax : bool
        Whether filled masks must respect SMILES syntax (branches, ring-bond labels);
        :func:`sciml.rt.decoding.iterative_unmask` checks it only then.
    """

    name = "smiles"
    smiles_syntax = True

    def encode(self, smiles: str) -> str:
        """The model text of a canonical SMILES.

        Raises
        ------
        ValueError
            The molecule cannot be written in this language (naming it).
        """
        return smiles

    def decode(self, text: str) -> str | None:
        """A SMILES of a generated text (not canonical), or None if it is no molecule."""
        return text

    def token_atoms(self, smiles: str, tokens: Sequence[str]) -> np.ndarray:
        """Atom index (in ``Chem.MolFromSmiles(smiles)``) each token of ``encode(smiles)`` writes.

        SMILES: bonds and branch openings are given the atom that follows them, ring-bond
        labels and branch closings the atom before (so that a token belongs to the part of
        the molecule it sits in). SELFIES: branch and ring tokens with their length tokens
        are ``-1`` (they place atoms rather than write one; generation never edits them under
        ``mask="scaffold"``).
        """
        from sciml.rt._syntax import SmilesSyntax

        kinds = SmilesSyntax.kinds_of(tokens)
        atoms = np.full(len(tokens), -1)
        n = 0
        for i, kind in enumerate(kinds):
            if kind == "a":
                atoms[i] = n
                n += 1
        last = -1
        for i, kind in enumerate(kinds):  # ring labels, ")" : the atom before
            if kind == "a":
                last = atoms[i]
            elif kind in ("r", "c"):
                atoms[i] = last
        following = -1
        for i in range(len(kinds) - 1, -1, -1):  # bonds, "(" : the atom after
            if kinds[i] == "a":
                following = atoms[i]
            elif kinds[i] in ("b", "o"):
                atoms[i] = following
        return atoms

    def __repr__(self) -> str:
        return f"MoleculeLanguage({self.name!r})"


class SelfiesLanguage(MoleculeLanguage):
    """SELFIES strings (needs the ``selfies`` package)."""

    name = "selfies"
    smiles_syntax = False

    @staticmethod
    def _selfies():
        try:
            import selfies
        except ImportError as err:  # pragma: no cover - a declared dependency
            raise ImportError(
                "language='selfies' needs the selfies package: pip install selfies"
            ) from err
        return selfies

    def encode(self, smiles: str) -> str:
        sf = self._selfies()
        try:
            return sf.encoder(smiles)
        except sf.EncoderError as err:
            raise ValueError(f"cannot write {smiles!r} as SELFIES: {err}") from None

    def decode(self, text: str) -> str | None:
        sf = self._selfies()
        try:
            smiles = sf.decoder(text)
        except sf.DecoderError:
            return None
        return smiles or None

    def token_atoms(self, smiles: str, tokens: Sequence[str]) -> np.ndarray:
        from rdkit import Chem

        structural = _structural_groups(tokens)
        in_group = np.zeros(len(tokens), dtype=bool)
        for start, stop, _ in structural:
            in_group[start:stop] = True
        # Every other token derives one atom, in the order of the decoded SMILES; a
        # substructure match maps those atoms onto the atoms of ``smiles``.
        decoded = Chem.MolFromSmiles(self.decode("".join(tokens)) or "")
        seed = Chem.MolFromSmiles(smiles)
        atom_tokens = np.flatnonzero(~in_group)
        match = seed.GetSubstructMatch(decoded) if decoded is not None and seed is not None else ()
        if len(match) != len(atom_tokens):
            raise ValueError(f"cannot map the SELFIES tokens of {smiles!r} onto its atoms")
        atoms = np.full(len(tokens), -1)
        atoms[atom_tokens] = match
        # Branch and ring tokens and their length tokens stay -1: they write where atoms
        # attach (a branch's length, a ring's partner), so a side-chain edit that rewrote them
        # would move atoms in or out of the scaffold's rings.
        return atoms


_STRUCTURAL = re.compile(r"^\[[=#/\\]?(Branch|Ring)([123])\]$")


def _structural_groups(tokens: Sequence[str]) -> list[tuple[int, int, bool]]:
    """``(start, stop, is_ring)`` of each SELFIES branch or ring token with its length tokens."""
    groups, i = [], 0
    while i < len(tokens):
        match = _STRUCTURAL.match(tokens[i])
        if match:
            stop = min(len(tokens), i + 1 + int(match.group(2)))
            groups.append((i, stop, match.group(1) == "Ring"))
            i = stop
        else:
            i += 1
    return groups


SMILES = MoleculeLanguage()
SELFIES = SelfiesLanguage()
#: Languages by the name stored in a checkpoint.
LANGUAGES: dict[str, MoleculeLanguage] = {SMILES.name: SMILES, SELFIES.name: SELFIES}


def resolve_language(name: str | MoleculeLanguage) -> MoleculeLanguage:
    """The language called ``name`` (a :class:`MoleculeLanguage` is returned as is).

    Raises
    ------
    ValueError
        An unknown name, listing the known ones.
    """
    if isinstance(name, MoleculeLanguage):
        return name
    if name not in LANGUAGES:
        raise ValueError(f"unknown molecule language {name!r}; known: {', '.join(LANGUAGES)}")
    return LANGUAGES[name]
