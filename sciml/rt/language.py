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

        ``-1`` for tokens that write no atom of their own; bonds and branch openings are
        given the atom that follows them, ring-bond labels and branch closings the atom
        before (so that a token belongs to the part of the molecule it sits in).
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
        from sciml.chem.tokenizer import tokenize_smiles

        sf = self._selfies()
        text, attribution = sf.encoder(smiles, attribute=True)
        smiles_tokens = tokenize_smiles(smiles)
        atom_of = MoleculeLanguage.token_atoms(self, smiles, smiles_tokens)
        atoms = np.full(len(tokens), -1)
        for entry in attribution:
            i = entry.index
            if entry.attribution and i < len(atoms) and tokens[i] == entry.token:
                atoms[i] = atom_of[entry.attribution[0].index]
        # Branch and ring tokens carry no attribution: they belong with the atom after
        # them (a branch opens before its first atom), or the last atom at the end.
        following = -1
        for i in range(len(atoms) - 1, -1, -1):
            if atoms[i] >= 0:
                following = atoms[i]
            else:
                atoms[i] = following
        previous = -1
        for i in range(len(atoms)):
            if atoms[i] >= 0:
                previous = atoms[i]
            else:
                atoms[i] = previous
        return atoms


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
