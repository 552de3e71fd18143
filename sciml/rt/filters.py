"""Chemistry filters for generated molecules: no radicals, no unwanted groups.

A generated SMILES that RDKit cannot sanitize (valence, aromaticity) is already invalid;
:class:`MoleculeFilter` also refuses molecules that sanitize but carry radical electrons
(``C[CH]CC``: a masked language model can write a bracket atom with too few hydrogens) or
a substructure from a list of named SMARTS patterns.

The default groups (:data:`DEFAULT_EXCLUDE`) are reactive or unstable groups that occur in
none of 20,000 MOSES training molecules (MOSES was filtered with medicinal-chemistry rules,
so a model trained on it never learned them; counted with RDKit on the first 20,000 rows of
``moses/train.csv.gz``): peroxides (the RT demo wrote them), acyl halides, cumulenes
(allenes), azides, epoxides/aziridines (alkylating three-membered rings), and the ring
chemistry a masked fill writes when it closes a ring in the wrong place: rings of more than 8
atoms (``large_ring``) and a C=C double bond inside a 3- or 4-membered ring
(``strained_alkene``; cyclopropenes, cyclobutenes). Groups that
are rare but drug-like (oximes, hydrazines, disulfides, aldehydes) are not excluded by
default.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["DEFAULT_EXCLUDE", "RADICAL", "MoleculeFilter"]

#: Name of the radical check in the reasons :meth:`MoleculeFilter.reason` returns.
RADICAL = "radical"

#: Unwanted groups refused by default, name -> SMARTS.
DEFAULT_EXCLUDE: dict[str, str] = {
    "peroxide": "[OX2][OX2]",
    "acyl_halide": "[CX3](=[OX1])[F,Cl,Br,I]",
    "cumulene": "[#6]=[#6X2]=[#6]",
    "azide": "[#7]=[#7+]=[#7-]",
    "epoxide_aziridine": "[#6]1[#8,#7][#6]1",
    "large_ring": "[r{9-}]",
    "strained_alkene_3": "[#6]1=[#6]~*1",
    "strained_alkene_4": "[#6]1=[#6]~*~*1",
}


class MoleculeFilter:
    """Refuse molecules with radical electrons or any of the named SMARTS groups.

    Parameters
    ----------
    exclude : mapping of str to str, optional
        Unwanted groups, name -> SMARTS. None: :data:`DEFAULT_EXCLUDE` (and radicals);
        an empty mapping: no filter at all, radicals included.

    Raises
    ------
    ValueError
        A SMARTS RDKit cannot parse, naming the group.

    Examples
    --------
    >>> f = MoleculeFilter()
    >>> f.reason("CCOOC"), f.reason("C[CH]C"), f.reason("CCO") is None
    ('peroxide', 'radical', True)
    >>> MoleculeFilter({}).reason("CCOOC") is None
    True
    """

    def __init__(self, exclude: Mapping[str, str] | None = None):
        from rdkit import Chem

        groups = dict(DEFAULT_EXCLUDE if exclude is None else exclude)
        #: Whether molecules with radical electrons are refused (off only for ``exclude={}``).
        self.radicals = exclude is None or bool(exclude)
        self.groups = groups
        self._patterns = {}
        for name, smarts in groups.items():
            pattern = Chem.MolFromSmarts(smarts) if isinstance(smarts, str) else None
            if pattern is None:
                raise ValueError(f"unwanted group {name!r}: RDKit cannot parse SMARTS {smarts!r}")
            self._patterns[name] = pattern

    @property
    def names(self) -> list[str]:
        """Every reason this filter can give, radicals first."""
        return ([RADICAL] if self.radicals else []) + list(self.groups)

    def reason(self, smiles: str) -> str | None:
        """Why ``smiles`` is refused (``"radical"`` or a group name), or None if it passes."""
        if not self.radicals and not self._patterns:
            return None
        from rdkit import Chem, rdBase

        with rdBase.BlockLogs():
            mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise ValueError(f"not a valid SMILES: {smiles!r}")
        if self.radicals and any(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms()):
            return RADICAL
        for name, pattern in self._patterns.items():
            if mol.HasSubstructMatch(pattern):
                return name
        return None

    def __repr__(self) -> str:
        return f"MoleculeFilter(radicals={self.radicals}, groups={self.groups})"
