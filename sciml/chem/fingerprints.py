"""Named fingerprint sets for tree models: the features of the strongest public ADMET models.

Boosted trees on several fingerprints plus RDKit descriptors lead the public ADMET boards
(MapLight: ECFP counts, Avalon and ErG fingerprints and ~200 descriptors). Each set here
maps canonical SMILES to a float32 ``(n, D)`` array; :class:`~sciml.chem.models.GBMModel`
adds the sets named in its ``fingerprints`` option to its Morgan counts and descriptors.

- ``morgan3_counts``: Morgan (ECFP6-like) count fingerprint, radius 3, 2048 bits;
- ``avalon``: Avalon count fingerprint, 1024 bits;
- ``erg``: extended reduced graph (ErG) pharmacophore-pair fingerprint, 315 values;
- ``maccs``: the 167 MACCS structural keys;
- ``atompair_counts``: hashed atom-pair count fingerprint, 2048 bits.

Examples
--------
>>> fingerprint_matrix(["CCO", "c1ccccc1O"], ("erg", "maccs")).shape
(2, 482)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["FINGERPRINTS", "check_fingerprint_names", "fingerprint_matrix"]


def _mols(smiles: Sequence[str]):
    from rdkit import Chem

    return [Chem.MolFromSmiles(s) for s in smiles]


def _generator_counts(make, n_bits: int) -> Callable[[Sequence[str]], np.ndarray]:
    def compute(smiles: Sequence[str]) -> np.ndarray:
        generator = make(n_bits)
        out = np.zeros((len(smiles), n_bits), dtype=np.float32)
        for i, mol in enumerate(_mols(smiles)):
            if mol is not None:
                out[i] = generator.GetCountFingerprintAsNumPy(mol)
        return out

    return compute


def _morgan3(n_bits: int):
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=n_bits)


def _atompair(n_bits: int):
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetAtomPairGenerator(fpSize=n_bits)


def avalon_counts(smiles: Sequence[str], n_bits: int = 1024) -> np.ndarray:
    """``(n, n_bits)`` float32 Avalon count fingerprints."""
    from rdkit.Avalon import pyAvalonTools

    out = np.zeros((len(smiles), n_bits), dtype=np.float32)
    for i, mol in enumerate(_mols(smiles)):
        if mol is not None:
            for bit, count in (
                pyAvalonTools.GetAvalonCountFP(mol, nBits=n_bits).GetNonzeroElements().items()
            ):
                out[i, bit] = count
    return out


def erg(smiles: Sequence[str]) -> np.ndarray:
    """``(n, 315)`` float32 ErG fingerprints."""
    from rdkit.Chem import rdReducedGraphs

    out = np.zeros((len(smiles), 315), dtype=np.float32)
    for i, mol in enumerate(_mols(smiles)):
        if mol is not None:
            out[i] = rdReducedGraphs.GetErGFingerprint(mol)
    return out


def maccs(smiles: Sequence[str]) -> np.ndarray:
    """``(n, 167)`` float32 MACCS keys."""
    from rdkit.Chem import MACCSkeys

    out = np.zeros((len(smiles), 167), dtype=np.float32)
    for i, mol in enumerate(_mols(smiles)):
        if mol is not None:
            out[i, list(MACCSkeys.GenMACCSKeys(mol).GetOnBits())] = 1.0
    return out


#: Fingerprint sets by the name used in configurations (``--set gbm.fingerprints=[...]``).
FINGERPRINTS: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
    "morgan3_counts": _generator_counts(_morgan3, 2048),
    "avalon": avalon_counts,
    "erg": erg,
    "maccs": maccs,
    "atompair_counts": _generator_counts(_atompair, 2048),
}


def check_fingerprint_names(names: Sequence[str], where: str = "fingerprints") -> tuple[str, ...]:
    """``names`` as a tuple, or a ValueError naming the unknown ones and the valid ones."""
    if isinstance(names, str):
        raise ValueError(
            f'{where} must be a list of names, e.g. ["avalon", "erg"], got the string {names!r}'
        )
    names = tuple(str(n) for n in names)
    unknown = [n for n in names if n not in FINGERPRINTS]
    if unknown:
        raise ValueError(
            f"{where}: unknown fingerprint set(s) {unknown}; choose from {', '.join(FINGERPRINTS)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: {list(names)} names a set twice")
    return names


def fingerprint_matrix(smiles: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """``(n, D)`` float32: the named sets side by side, in the order given."""
    names = check_fingerprint_names(names)
    if not names:
        return np.zeros((len(smiles), 0), dtype=np.float32)
    return np.hstack([FINGERPRINTS[n](list(smiles)) for n in names])
