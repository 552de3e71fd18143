"""Parse, sanitise, canonicalise and standardise SMILES, one by one or in batches.

Every batch function takes ``errors``:

- ``"raise"`` (default): raise :class:`InvalidSmilesError` listing *every* bad row;
- ``"skip"``: drop bad rows; :attr:`SmilesBatch.index` says which input rows survive;
- ``"nan"``: keep the input length, with ``None`` in place of each bad row.

In every mode :attr:`SmilesBatch.invalid` lists the bad rows with the reason RDKit gave, so
a bad molecule is reported where it enters the pipeline instead of crashing inside a model.
Leading and trailing whitespace is ignored; whitespace *inside* a SMILES makes it invalid
(RDKit would silently read ``"CC O"`` as ethane named ``O``), and so does a non-ASCII
character (RDKit stops at it: ``"CCＯ"`` with a fullwidth O would be ethane); the reason
names the character and its position (:func:`sciml.hygiene.smiles_text_problem`).
``isotopes="strip"`` removes isotope labels and records a note per row in
:attr:`SmilesBatch.notes` (the choice sciml's models make, :data:`sciml.hygiene.ISOTOPES`).
RDKit's own stderr logging is silenced while parsing; its messages become those reasons.

Examples
--------
>>> canonicalize("OCC")
'CCO'
>>> batch = canonicalize_batch(["OCC", "C1CC", None], errors="skip")
>>> batch.values, batch.index.tolist()
(['CCO'], [0])
>>> [(bad.index, bad.value) for bad in batch.invalid]
[(1, 'C1CC'), (2, None)]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem.MolStandardize import rdMolStandardize

from sciml.hygiene import smiles_text_problem, strip_isotopes

__all__ = [
    "Errors",
    "InvalidSmiles",
    "InvalidSmilesError",
    "SmilesBatch",
    "canonicalize",
    "canonicalize_batch",
    "check_errors_arg",
    "mol_to_smiles",
    "parse_batch",
    "parse_smiles",
    "randomized_smiles",
    "standardize_mol",
]

Errors = Literal["raise", "skip", "nan"]
_ERRORS = ("raise", "skip", "nan")
_T = TypeVar("_T")

# RDKit prefixes each log line with a "[hh:mm:ss] " time stamp; the reason reads better without.
_TIMESTAMP = re.compile(r"^\[\d{2}:\d{2}:\d{2}\]\s*", re.MULTILINE)


@dataclass(frozen=True)
class InvalidSmiles:
    """One rejected input row.

    Attributes
    ----------
    index : int
        Position in the input sequence.
    value : object
        The input as given (may be ``None`` or a non-string).
    reason : str
        Why it was rejected (RDKit's message for unparsable or unsanitisable SMILES).
    """

    index: int
    value: object
    reason: str


class InvalidSmilesError(ValueError):
    """Raised when one or more inputs are not valid SMILES.

    The message lists every bad row; :attr:`invalid` holds them as :class:`InvalidSmiles`.
    """

    def __init__(self, invalid: Sequence[InvalidSmiles], total: int | None = None) -> None:
        self.invalid = list(invalid)
        self.total = total
        head = f"{len(self.invalid)} invalid SMILES" + (f" of {total}" if total else "")
        lines = [f"  [{bad.index}] {bad.value!r}: {bad.reason}" for bad in self.invalid]
        super().__init__(head + ":\n" + "\n".join(lines))

    def __reduce__(self) -> tuple:
        # Process pools pickle exceptions back to the parent; the default would call
        # __init__ with the message string instead of the list.
        return (type(self), (self.invalid, self.total))


@dataclass
class SmilesBatch(Generic[_T]):
    """Result of a batch function.

    Attributes
    ----------
    values : list
        One entry per kept row: all rows for ``errors="nan"`` (``None`` where invalid),
        only the valid rows for ``errors="skip"``.
    index : numpy.ndarray
        ``(len(values),)`` int64 positions in the input that ``values`` correspond to.
    invalid : list of InvalidSmiles
        Every rejected row, in input order.
    n_input : int
        Length of the input.
    notes : dict of int to str
        By input position: what was changed in a valid row (``isotopes="strip"``).
    """

    values: list[_T | None]
    index: np.ndarray
    invalid: list[InvalidSmiles] = field(default_factory=list)
    n_input: int = 0
    notes: dict[int, str] = field(default_factory=dict)

    @property
    def valid_mask(self) -> np.ndarray:
        """``(n_input,)`` bool, True for the rows that were valid."""
        mask = np.ones(self.n_input, dtype=bool)
        mask[[bad.index for bad in self.invalid]] = False
        return mask

    def __len__(self) -> int:
        return len(self.values)


def check_errors_arg(errors: str) -> None:
    """Raise ``ValueError`` unless ``errors`` is one of ``"raise"``, ``"skip"``, ``"nan"``."""
    if errors not in _ERRORS:
        raise ValueError(f"errors must be one of {', '.join(map(repr, _ERRORS))}, got {errors!r}")


def standardize_mol(
    mol: Chem.Mol, *, largest_fragment: bool = True, neutralize: bool = True
) -> Chem.Mol:
    """Standardise a molecule with :mod:`rdkit.Chem.MolStandardize`.

    Parameters
    ----------
    mol : rdkit.Chem.Mol
        A sanitised molecule; it is not modified.
    largest_fragment : bool
        Keep only the largest organic fragment (strips salts and solvents).
    neutralize : bool
        Neutralise charges where a neutral form exists (``Uncharger``); zwitterions
        and quaternary ammonium stay charged.

    Returns
    -------
    rdkit.Chem.Mol
        A new molecule.

    Examples
    --------
    >>> Chem.MolToSmiles(standardize_mol(Chem.MolFromSmiles("CC(=O)[O-].[Na+]")))
    'CC(=O)O'
    """
    out = Chem.Mol(mol)
    if largest_fragment:
        out = rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(out)
    if neutralize:
        out = rdMolStandardize.Uncharger().uncharge(out)
    return out


def _reject_reason(value: object) -> str | None:
    if value is None:
        return "None is not a SMILES string"
    if isinstance(value, float) and value != value:
        return "missing value (NaN)"
    if not isinstance(value, str):
        return f"not a string (type {type(value).__name__})"
    text = value.strip()
    if not text:
        return "empty string"
    space = next((i for i, ch in enumerate(text) if ch.isspace()), None)
    if space is not None:
        # RDKit would read the text after the space as the molecule's name: 'CC O' -> ethane.
        return f"contains whitespace at position {space}; a SMILES has no spaces inside"
    return smiles_text_problem(text)


def _parse_one(value: object, sanitize: bool, standardize: bool) -> tuple[Chem.Mol | None, str]:
    """Parse one value; return ``(mol, "")`` or ``(None, reason)``. Never raises.

    Every SMILES sciml reads passes here, so the text checks of :mod:`sciml.hygiene` apply
    to the command line and the Python API alike.
    """
    reason = _reject_reason(value)
    if reason is not None:
        return None, reason
    with rdBase.CaptureErrorLog() as capture:
        mol = Chem.MolFromSmiles(value.strip(), sanitize=sanitize)
    if mol is None:
        # RDKit sometimes logs the same line twice (e.g. kekulisation); keep each once.
        lines = _TIMESTAMP.sub("", capture.messages).strip().splitlines()
        message = "; ".join(dict.fromkeys(line.strip() for line in lines if line.strip()))
        return None, message or "RDKit could not parse the SMILES"
    if mol.GetNumAtoms() == 0:
        return None, "no atoms"
    if standardize:
        try:
            with rdBase.CaptureErrorLog():
                mol = standardize_mol(mol)
        except Exception as exc:  # RDKit raises assorted C++ errors from the standardiser
            return None, f"standardisation failed: {exc}"
    return mol, ""


def parse_smiles(smiles: str, *, sanitize: bool = True, standardize: bool = False) -> Chem.Mol:
    """Parse one SMILES string into an RDKit molecule.

    Parameters
    ----------
    smiles : str
        The SMILES; leading and trailing whitespace is ignored, whitespace inside is invalid.
    sanitize : bool
        Run RDKit sanitisation (valence, aromaticity, kekulisation checks).
    standardize : bool
        Apply :func:`standardize_mol` (largest fragment, neutralise) after parsing.

    Returns
    -------
    rdkit.Chem.Mol

    Raises
    ------
    InvalidSmilesError
        The input is not a string, is empty, or RDKit rejects it.
    """
    with rdBase.BlockLogs():
        mol, reason = _parse_one(smiles, sanitize, standardize)
    if mol is None:
        raise InvalidSmilesError([InvalidSmiles(0, smiles, reason)])
    return mol


def mol_to_smiles(mol: Chem.Mol, *, isomeric: bool = True) -> str:
    """Return RDKit's canonical SMILES of ``mol`` (stereo and isotopes kept if ``isomeric``)."""
    return Chem.MolToSmiles(mol, isomericSmiles=isomeric, canonical=True)


def canonicalize(smiles: str, *, isomeric: bool = True, standardize: bool = False) -> str:
    """Return the canonical SMILES of one input.

    Parameters
    ----------
    smiles : str
        Input SMILES.
    isomeric : bool
        Keep stereochemistry and isotopes.
    standardize : bool
        Apply :func:`standardize_mol` first.

    Returns
    -------
    str

    Raises
    ------
    InvalidSmilesError
        The input is not valid.
    """
    return mol_to_smiles(parse_smiles(smiles, standardize=standardize), isomeric=isomeric)


def _check_isotopes_arg(isotopes: str) -> None:
    if isotopes not in ("keep", "strip"):
        raise ValueError(f"isotopes must be 'keep' or 'strip', got {isotopes!r}")


def _map_batch(
    smiles: Iterable[object],
    convert: Callable[[Chem.Mol], _T],
    *,
    errors: str,
    sanitize: bool,
    standardize: bool,
    isotopes: str = "keep",
) -> SmilesBatch[_T]:
    check_errors_arg(errors)
    _check_isotopes_arg(isotopes)
    inputs = list(smiles)
    values: list[_T | None] = []
    kept: list[int] = []
    invalid: list[InvalidSmiles] = []
    notes: dict[int, str] = {}
    # One BlockLogs for the batch silences RDKit warnings; CaptureErrorLog per molecule
    # (inside _parse_one) still records each error message as the rejection reason.
    with rdBase.BlockLogs():
        for i, value in enumerate(inputs):
            mol, reason = _parse_one(value, sanitize, standardize)
            if mol is None:
                invalid.append(InvalidSmiles(i, value, reason))
                if errors == "nan":
                    values.append(None)
                    kept.append(i)
                continue
            if isotopes == "strip":
                mol, note = strip_isotopes(value, mol)
                if note:
                    notes[i] = note
            values.append(convert(mol))
            kept.append(i)
    if invalid and errors == "raise":
        raise InvalidSmilesError(invalid, total=len(inputs))
    return SmilesBatch(values, np.asarray(kept, dtype=np.int64), invalid, len(inputs), notes)


def parse_batch(
    smiles: Iterable[object],
    *,
    errors: Errors = "raise",
    sanitize: bool = True,
    standardize: bool = False,
) -> SmilesBatch[Chem.Mol]:
    """Parse many SMILES.

    Parameters
    ----------
    smiles : iterable
        Inputs; anything that is not a non-empty string is invalid.
    errors : {"raise", "skip", "nan"}
        What to do with invalid rows (see the module docstring).
    sanitize, standardize : bool
        As in :func:`parse_smiles`.

    Returns
    -------
    SmilesBatch
        ``values`` are :class:`rdkit.Chem.Mol` (``None`` for bad rows when ``errors="nan"``).

    Raises
    ------
    InvalidSmilesError
        With ``errors="raise"``, listing every bad row.
    """
    return _map_batch(
        smiles, lambda mol: mol, errors=errors, sanitize=sanitize, standardize=standardize
    )


def canonicalize_batch(
    smiles: Iterable[object],
    *,
    errors: Errors = "raise",
    isomeric: bool = True,
    standardize: bool = False,
    isotopes: str = "keep",
) -> SmilesBatch[str]:
    """Canonicalise many SMILES.

    Parameters
    ----------
    smiles : iterable
        Inputs.
    errors : {"raise", "skip", "nan"}
        What to do with invalid rows.
    isomeric, standardize : bool
        As in :func:`canonicalize`.
    isotopes : {"keep", "strip"}
        ``"strip"`` removes isotope labels (``[2H]`` becomes an implicit H, ``[14cH]`` a
        plain ``c``) and notes each changed row in :attr:`SmilesBatch.notes`; sciml's models
        use it (:data:`sciml.hygiene.ISOTOPES`).

    Returns
    -------
    SmilesBatch
        ``values`` are canonical SMILES strings.

    Raises
    ------
    InvalidSmilesError
        With ``errors="raise"``, listing every bad row.
    """
    return _map_batch(
        smiles,
        lambda mol: mol_to_smiles(mol, isomeric=isomeric),
        errors=errors,
        sanitize=True,
        standardize=standardize,
        isotopes=isotopes,
    )


def randomized_smiles(smiles: Sequence[str], k: int, seed: int = 0) -> list[list[str]]:
    """``k`` encodings of each molecule: its canonical SMILES, then ``k - 1`` randomised ones.

    Parameters
    ----------
    smiles : sequence of str
        Valid SMILES (e.g. canonical ones); an unparsable one raises ``ValueError``
        naming it.
    k : int
        Encodings per molecule (>= 1). A molecule with fewer distinct SMILES (e.g.
        ``C``) repeats them.
    seed : int
        Seed of RDKit's random atom orders (row ``i`` uses ``seed + i + 1``: RDKit reads 0 as
        unseeded).

    Returns
    -------
    list of list of str
        ``N`` rows of ``k`` SMILES each, the canonical SMILES first.

    Examples
    --------
    >>> rows = randomized_smiles(["CCO", "c1ccccc1O"], 3)
    >>> [len(r) for r in rows], rows[0][0], rows[1][0]
    ([3, 3], 'CCO', 'Oc1ccccc1')
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    out = []
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            raise ValueError(f"[{i}] {smi!r} is not a valid SMILES")
        canon = Chem.MolToSmiles(mol)
        variants = [canon]
        if k > 1:
            # RDKit reads randomSeed=0 as "unseeded": shift by one.
            drawn = list(Chem.MolToRandomSmilesVect(mol, 2 * k, randomSeed=seed + i + 1))
            fresh = [s for s in dict.fromkeys(drawn) if s != canon]
            variants += (fresh or [canon]) * k
        out.append(variants[:k])
    return out
