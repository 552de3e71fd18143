"""RDKit physicochemical descriptors and Morgan fingerprints.

:func:`compute_descriptors` computes every descriptor in RDKit's ``Descriptors.descList``
except ``Ipc`` (whose values overflow to ~1e30 and above for ordinary drug-like
molecules), in parallel over processes, with an on-disk cache keyed by canonical SMILES and
RDKit version (see :mod:`sciml.chem._descriptor_cache`). These are both the random forest's
features and the domain-adaptation targets. No scaling happens here: z-scoring is fitted on
the training split downstream.

Cost per molecule is bounded: ``AvgIpc`` grows about with the cube of the atom count (2-6 CPU-s
for a 500-atom molecule, more than the other 215 descriptors together), so it is computed
only for molecules of at most :data:`AVGIPC_MAX_ATOMS` heavy atoms and is NaN above (models
impute NaN descriptors with the training median). No molecule of the Biogen ADME or ESOL
sets is above the cap, so their descriptors are unchanged; ``benchmarks/descriptor_cap.py``
measures the cost and the accuracy effect. The EState and Crippen descriptors share one
computation per molecule (RDKit's own functions recompute it for each), with identical values.

Examples
--------
>>> df = compute_descriptors(["CCO", "c1ccccc1"], cache=False)
>>> df.shape[0], round(float(df.loc[0, "MolWt"]), 2)
(2, 46.07)
>>> morgan_fingerprints(["CCO"], n_bits=64).shape
(1, 64)
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import rdkit
from rdkit import Chem, rdBase
from rdkit.Chem import Descriptors, GraphDescriptors, rdFingerprintGenerator, rdMolDescriptors
from rdkit.Chem.EState import EState

from sciml.chem._descriptor_cache import DescriptorCache
from sciml.chem.smiles import Errors, canonicalize_batch, check_errors_arg, parse_batch

__all__ = [
    "AVGIPC_MAX_ATOMS",
    "EXCLUDED_DESCRIPTORS",
    "compute_descriptors",
    "descriptor_names",
    "morgan_fingerprints",
]

#: Descriptors left out of :func:`compute_descriptors`, with the reason.
EXCLUDED_DESCRIPTORS = {"Ipc": "values overflow float ranges useful for learning (~1e30+)"}

#: Heavy atoms above which ``AvgIpc`` is NaN instead of computed (the largest molecule of the
#: Biogen ADME set has 78, of ESOL 55; a 500-atom molecule would cost 2-6 CPU-s for it alone).
AVGIPC_MAX_ATOMS = 100


def _avg_ipc_capped(mol: Chem.Mol) -> float:
    if mol.GetNumAtoms() > AVGIPC_MAX_ATOMS:
        return math.nan
    return GraphDescriptors.AvgIpc(mol)


def _estate(mol: Chem.Mol):
    # force=False reuses the indices RDKit stores on the molecule after the first call.
    return EState.EStateIndices(mol, force=False)


def _crippen(mol: Chem.Mol) -> tuple[float, float]:
    cached = getattr(mol, "_sciml_crippen", None)
    if cached is None:
        cached = rdMolDescriptors.CalcCrippenDescriptors(mol)
        mol._sciml_crippen = cached
    return cached


# Same values as RDKit's functions of these names, computed from one shared result per molecule.
_SHARED = {
    "AvgIpc": _avg_ipc_capped,
    "MaxEStateIndex": lambda mol: max(_estate(mol)),
    "MinEStateIndex": lambda mol: min(_estate(mol)),
    "MaxAbsEStateIndex": lambda mol: max(abs(x) for x in _estate(mol)),
    "MinAbsEStateIndex": lambda mol: min(abs(x) for x in _estate(mol)),
    "MolLogP": lambda mol: _crippen(mol)[0],
    "MolMR": lambda mol: _crippen(mol)[1],
}
_FUNCTIONS = [
    (name, _SHARED.get(name, fn))
    for name, fn in Descriptors.descList
    if name not in EXCLUDED_DESCRIPTORS
]
# Part of the descriptor cache's key: cached rows from before the AvgIpc cap are not reused.
_SCHEME = f"avgipc-cap{AVGIPC_MAX_ATOMS}"
# Below this many uncached molecules a process pool costs more than it saves.
_MIN_PARALLEL = 256
# Above this many uncached molecules a progress bar is shown by default.
_PROGRESS_FROM = 2000


def descriptor_names() -> list[str]:
    """Return the descriptor column names, in the order of ``Descriptors.descList``.

    216 names with RDKit 2026.09 (``descList`` has 217, minus ``Ipc``).
    """
    return [name for name, _ in _FUNCTIONS]


def _descriptor_row(mol: Chem.Mol) -> np.ndarray:
    row = np.empty(len(_FUNCTIONS), dtype=np.float64)
    for j, (_, fn) in enumerate(_FUNCTIONS):
        try:
            value = float(fn(mol))
        except Exception:  # a few descriptors raise on exotic valences or elements
            value = math.nan
        row[j] = value if math.isfinite(value) else math.nan
    return row


def _descriptor_chunk(canonical: Sequence[str]) -> np.ndarray:
    """``(len(canonical), D)`` descriptors; runs in worker processes, so module level."""
    out = np.empty((len(canonical), len(_FUNCTIONS)), dtype=np.float64)
    with rdBase.BlockLogs():
        for i, smiles in enumerate(canonical):
            out[i] = _descriptor_row(Chem.MolFromSmiles(smiles))
    return out


def _resolve_jobs(n_jobs: int | None) -> int:
    available = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    if n_jobs is None or n_jobs == -1:
        return available
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive int, -1 or None, got {n_jobs}")
    return n_jobs


def _compute(canonical: list[str], n_jobs: int, chunk_size: int, progress: bool) -> np.ndarray:
    chunks = [canonical[i : i + chunk_size] for i in range(0, len(canonical), chunk_size)]
    from tqdm.auto import tqdm

    bar = tqdm(total=len(canonical), desc="RDKit descriptors", unit="mol", disable=not progress)
    parts: list[np.ndarray] = []
    with bar:
        if n_jobs == 1 or len(canonical) < _MIN_PARALLEL:
            for chunk in chunks:
                parts.append(_descriptor_chunk(chunk))
                bar.update(len(chunk))
        else:
            with ProcessPoolExecutor(max_workers=n_jobs) as pool:
                for chunk, part in zip(chunks, pool.map(_descriptor_chunk, chunks), strict=True):
                    parts.append(part)
                    bar.update(len(chunk))
    return np.concatenate(parts) if parts else np.empty((0, len(_FUNCTIONS)))


def compute_descriptors(
    smiles: Iterable[object],
    *,
    n_jobs: int | None = None,
    cache: bool | str | os.PathLike = True,
    errors: Errors = "raise",
    standardize: bool = False,
    chunk_size: int = 128,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Compute RDKit descriptors for many molecules.

    Parameters
    ----------
    smiles : iterable
        Input SMILES.
    n_jobs : int, optional
        Worker processes; ``None`` or ``-1`` uses every available core. Fewer than
        256 uncached molecules are computed in this process.
    cache : bool or path
        ``True`` reads and writes ``sciml.data.cache_dir()/descriptors`` (set
        ``SCIML_CACHE_DIR`` to move it); a path uses that folder; ``False`` disables it.
    errors : {"raise", "skip", "nan"}
        Invalid SMILES: raise :class:`~sciml.chem.smiles.InvalidSmilesError` listing all,
        drop their rows, or keep all-NaN rows.
    standardize : bool
        Standardise molecules (largest fragment, neutralise) before computing.
    chunk_size : int
        Molecules per task sent to a worker.
    progress : bool, optional
        Show a tqdm bar; by default only above 2000 uncached molecules.

    Returns
    -------
    pandas.DataFrame
        ``(N, D)`` float64, columns :func:`descriptor_names`, NaN where a descriptor is
        undefined or infinite. The index holds the input positions, so with
        ``errors="skip"`` the missing positions are the dropped rows; ``attrs["invalid"]``
        lists ``(index, value, reason)`` for every invalid input and
        ``attrs["rdkit_version"]`` the RDKit version.
    """
    check_errors_arg(errors)
    batch = canonicalize_batch(smiles, errors=errors, standardize=standardize)
    unique = list(dict.fromkeys(s for s in batch.values if s is not None))
    names = descriptor_names()

    store = None
    if cache is not False:
        root = None if cache is True else Path(cache)
        store = DescriptorCache(names, f"{rdkit.__version__}+{_SCHEME}", root=root)
    found = store.get(unique) if store is not None else {}
    todo = [s for s in unique if s not in found]
    if todo:
        show = len(todo) >= _PROGRESS_FROM if progress is None else progress
        values = _compute(todo, _resolve_jobs(n_jobs), chunk_size, show)
        found.update(zip(todo, values, strict=True))
        if store is not None:
            store.put(todo, values)

    table = np.full((len(batch.values), len(names)), np.nan)
    for i, key in enumerate(batch.values):
        if key is not None:
            table[i] = found[key]
    frame = pd.DataFrame(table, index=pd.Index(batch.index, name="row"), columns=names)
    frame.attrs["invalid"] = [(bad.index, bad.value, bad.reason) for bad in batch.invalid]
    frame.attrs["rdkit_version"] = rdkit.__version__
    return frame


def morgan_fingerprints(
    smiles: Iterable[object],
    *,
    radius: int = 2,
    n_bits: int = 2048,
    counts: bool = False,
    chirality: bool = False,
    errors: Errors = "raise",
    return_index: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Morgan (ECFP-like) fingerprints from :mod:`rdkit.Chem.rdFingerprintGenerator`.

    Parameters
    ----------
    smiles : iterable
        Input SMILES.
    radius : int
        Morgan radius (2 ~ ECFP4).
    n_bits : int
        Fingerprint length.
    counts : bool
        Count fingerprint (uint32) instead of bits (uint8).
    chirality : bool
        Include chirality in the atom invariants.
    errors : {"raise", "skip", "nan"}
        Invalid SMILES: raise, drop the row, or return a float32 array with a NaN row.
    return_index : bool
        Also return the ``(N,)`` input positions of the returned rows.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
        ``(N, n_bits)`` uint8 bits or uint32 counts (float32 if ``errors="nan"`` found an
        invalid row), and the row positions if ``return_index``.
    """
    check_errors_arg(errors)
    batch = parse_batch(smiles, errors=errors)
    generator = rdFingerprintGenerator.GetMorganGenerator(
        radius=radius, fpSize=n_bits, includeChirality=chirality
    )
    as_numpy = generator.GetCountFingerprintAsNumPy if counts else generator.GetFingerprintAsNumPy
    dtype = np.uint32 if counts else np.uint8
    if batch.invalid and errors == "nan":
        dtype = np.float32
    out = np.zeros((len(batch.values), n_bits), dtype=dtype)
    for i, mol in enumerate(batch.values):
        if mol is None:
            out[i] = np.nan
        else:
            out[i] = as_numpy(mol)
    return (out, batch.index) if return_index else out
