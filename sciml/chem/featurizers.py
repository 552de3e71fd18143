"""Atom and bond features and molecular graphs for message-passing networks.

Features follow chemprop's defaults (one-hot element, degree, formal charge, chirality,
hydrogen count, hybridisation, aromaticity, scaled mass for atoms; bond order,
conjugation, ring membership and stereo for bonds), each one-hot with an "other" slot so
unusual atoms still featurise. Graphs are plain NumPy arrays; torch tensors are made when
batches are collated (:mod:`sciml.chem.models._graph`).

Directed edges come in pairs: edge ``2k`` runs ``u -> v`` and edge ``2k + 1`` runs
``v -> u`` for the ``k``-th bond, so the reverse of edge ``e`` is ``e ^ 1``. The D-MPNN
uses this to exclude the reverse message.

Examples
--------
>>> from rdkit import Chem
>>> graph = mol_to_graph(Chem.MolFromSmiles("CCO"))
>>> graph.atom_features.shape, graph.edge_index.shape, graph.bond_features.shape
((3, 87), (2, 4), (4, 14))
>>> graph.edge_index[:, 0].tolist(), graph.edge_index[:, 1].tolist()
([0, 1], [1, 0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rdkit import Chem

__all__ = [
    "ATOM_FDIM",
    "BOND_FDIM",
    "MolGraph",
    "atom_features",
    "bond_features",
    "mol_to_graph",
]

# Elements H..I as in chemprop (atomic numbers 1-53); anything heavier goes to "other".
_ELEMENTS = list(range(1, 54))
_DEGREES = [0, 1, 2, 3, 4, 5]
_CHARGES = [-2, -1, 0, 1, 2]
_CHIRAL = [
    Chem.ChiralType.CHI_UNSPECIFIED,
    Chem.ChiralType.CHI_TETRAHEDRAL_CW,
    Chem.ChiralType.CHI_TETRAHEDRAL_CCW,
    Chem.ChiralType.CHI_OTHER,
]
_NUM_HS = [0, 1, 2, 3, 4]
_HYBRIDISATION = [
    Chem.HybridizationType.S,
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
]
_BOND_TYPES = [
    Chem.BondType.SINGLE,
    Chem.BondType.DOUBLE,
    Chem.BondType.TRIPLE,
    Chem.BondType.AROMATIC,
]
_STEREO = [
    Chem.BondStereo.STEREONONE,
    Chem.BondStereo.STEREOANY,
    Chem.BondStereo.STEREOZ,
    Chem.BondStereo.STEREOE,
    Chem.BondStereo.STEREOCIS,
    Chem.BondStereo.STEREOTRANS,
]

_ATOM_CHOICES = (_ELEMENTS, _DEGREES, _CHARGES, _CHIRAL, _NUM_HS, _HYBRIDISATION)
#: Length of an atom feature vector: one-hots with an "other" slot, aromatic flag, mass / 100.
ATOM_FDIM = sum(len(c) + 1 for c in _ATOM_CHOICES) + 2
#: Length of a bond feature vector: bond type, conjugated, in ring, stereo (+ "other").
BOND_FDIM = len(_BOND_TYPES) + 2 + len(_STEREO) + 2


def _one_hot(value: object, choices: list) -> list[float]:
    """One-hot of ``value`` over ``choices`` plus a final "other" slot."""
    out = [0.0] * (len(choices) + 1)
    out[choices.index(value) if value in choices else -1] = 1.0
    return out


def atom_features(atom: Chem.Atom) -> np.ndarray:
    """Feature vector of one atom.

    Parameters
    ----------
    atom : rdkit.Chem.Atom

    Returns
    -------
    numpy.ndarray
        ``(ATOM_FDIM,)`` float32: one-hot atomic number (1-53), degree, formal charge,
        chiral tag, total hydrogen count and hybridisation (each with an "other" slot),
        then an aromaticity flag and the atomic mass in units of 100 Da.
    """
    values = [
        atom.GetAtomicNum(),
        atom.GetTotalDegree(),
        atom.GetFormalCharge(),
        atom.GetChiralTag(),
        atom.GetTotalNumHs(),
        atom.GetHybridization(),
    ]
    features: list[float] = []
    for value, choices in zip(values, _ATOM_CHOICES, strict=True):
        features += _one_hot(value, choices)
    features += [float(atom.GetIsAromatic()), atom.GetMass() * 0.01]
    return np.asarray(features, dtype=np.float32)


def bond_features(bond: Chem.Bond) -> np.ndarray:
    """Feature vector of one bond.

    Returns
    -------
    numpy.ndarray
        ``(BOND_FDIM,)`` float32: one-hot bond type (single, double, triple, aromatic,
        other), conjugated flag, ring flag, one-hot stereo (with "other").
    """
    features = _one_hot(bond.GetBondType(), _BOND_TYPES)
    features += [float(bond.GetIsConjugated()), float(bond.IsInRing())]
    features += _one_hot(bond.GetStereo(), _STEREO)
    return np.asarray(features, dtype=np.float32)


@dataclass(frozen=True)
class MolGraph:
    """A molecule as arrays.

    Attributes
    ----------
    atom_features : numpy.ndarray
        ``(N, ATOM_FDIM)`` float32, one row per heavy atom (hydrogens are implicit).
    edge_index : numpy.ndarray
        ``(2, E)`` int64 source and destination atoms of the ``E = 2 * bonds`` directed
        edges; edges ``2k`` and ``2k + 1`` are the two directions of bond ``k``.
    bond_features : numpy.ndarray
        ``(E, BOND_FDIM)`` float32, the bond's features for both directions.
    """

    atom_features: np.ndarray
    edge_index: np.ndarray
    bond_features: np.ndarray

    @property
    def n_atoms(self) -> int:
        """Number of atoms ``N``."""
        return len(self.atom_features)

    @property
    def n_edges(self) -> int:
        """Number of directed edges ``E``."""
        return self.edge_index.shape[1]


def mol_to_graph(mol: Chem.Mol) -> MolGraph:
    """Featurise a sanitised RDKit molecule.

    Parameters
    ----------
    mol : rdkit.Chem.Mol
        A parsed molecule (validate SMILES first, e.g. with
        :func:`sciml.chem.smiles.parse_batch`, so bad input is reported at the boundary).

    Returns
    -------
    MolGraph
    """
    atoms = np.stack([atom_features(a) for a in mol.GetAtoms()])
    n_bonds = mol.GetNumBonds()
    edge_index = np.empty((2, 2 * n_bonds), dtype=np.int64)
    bonds = np.empty((2 * n_bonds, BOND_FDIM), dtype=np.float32)
    for k, bond in enumerate(mol.GetBonds()):
        u, v = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        edge_index[:, 2 * k] = (u, v)
        edge_index[:, 2 * k + 1] = (v, u)
        bonds[2 * k] = bonds[2 * k + 1] = bond_features(bond)
    return MolGraph(atoms, edge_index, bonds)
