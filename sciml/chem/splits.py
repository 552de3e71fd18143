"""Train/validation/test splits and k-fold cross-validation for molecules.

Three ways to group molecules, from optimistic to pessimistic:

- random: rows independently;
- Murcko scaffold (Bemis & Murcko 1996): molecules sharing a ring-system scaffold stay
  together, so the test set holds unseen chemotypes;
- Butina clustering (Butina 1999) on Tanimoto distance between Morgan fingerprints:
  near neighbours stay together.

Every function returns sorted int64 row positions and is deterministic given ``seed``.
Group-aware splits never cut a group: each scaffold or cluster lands in exactly one part.

Examples
--------
>>> train, test = random_split(10, sizes=(0.8, 0.2), seed=0)
>>> len(train), len(test)
(8, 2)
>>> murcko_scaffolds(["c1ccccc1CCO", "c1ccccc1N", "CCO"]).tolist()
['c1ccccc1', 'c1ccccc1', '']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit import DataStructs
from rdkit.Chem import rdFingerprintGenerator
from rdkit.Chem.Scaffolds import MurckoScaffold
from rdkit.ML.Cluster import Butina

from sciml.chem.smiles import mol_to_smiles, parse_batch

__all__ = [
    "butina_clusters",
    "butina_split",
    "group_kfold",
    "group_split",
    "kfold",
    "largest_first_group_split",
    "murcko_scaffolds",
    "random_split",
    "repeated_kfold",
    "scaffold_split",
]

Fold = tuple[np.ndarray, np.ndarray]

# Butina works on a dense (N, N) float64 distance matrix: 20,000 molecules need 3.2 GB.
_BUTINA_MAX = 20_000


def _n_rows(data: int | Sequence[object]) -> int:
    return data if isinstance(data, (int, np.integer)) else len(data)


def _check_sizes(sizes: Sequence[float]) -> np.ndarray:
    fractions = np.asarray(sizes, dtype=float)
    if fractions.ndim != 1 or len(fractions) < 2 or (fractions < 0).any():
        raise ValueError(f"sizes must be two or more non-negative fractions, got {sizes}")
    if not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"sizes must sum to 1, got {sizes} (sum {fractions.sum()})")
    return fractions


def _counts(n: int, fractions: np.ndarray) -> np.ndarray:
    """Integer part sizes summing to ``n`` (largest remainders get the leftover rows)."""
    exact = fractions * n
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def random_split(
    data: int | Sequence[object], sizes: Sequence[float] = (0.8, 0.1, 0.1), *, seed: int = 0
) -> tuple[np.ndarray, ...]:
    """Split rows at random.

    Parameters
    ----------
    data : int or sequence
        Number of rows, or the rows themselves (only the length is used).
    sizes : sequence of float
        Fractions of the parts, summing to 1 (e.g. ``(0.8, 0.1, 0.1)`` or ``(0.8, 0.2)``).
    seed : int
        Random seed.

    Returns
    -------
    tuple of numpy.ndarray
        One sorted int64 index array per part.
    """
    n = _n_rows(data)
    counts = _counts(n, _check_sizes(sizes))
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.cumsum(counts)[:-1]
    return tuple(np.sort(part).astype(np.int64) for part in np.split(order, bounds))


def group_split(
    groups: Sequence[object], sizes: Sequence[float] = (0.8, 0.1, 0.1), *, seed: int = 0
) -> tuple[np.ndarray, ...]:
    """Split rows so that every group lands in exactly one part.

    Groups larger than half the smallest non-first part go first (in random order), then
    the rest in random order, as chemprop's balanced scaffold split does: big groups end up
    in the first (training) part and the small parts stay close to their target sizes.
    Each group goes to the first part that still has room for it, else to the part with
    the most room left.

    Parameters
    ----------
    groups : sequence
        ``(N,)`` group label per row (any hashable).
    sizes : sequence of float
        Fractions of the parts, summing to 1.
    seed : int
        Random seed.

    Returns
    -------
    tuple of numpy.ndarray
        One sorted int64 index array per part.
    """
    fractions = _check_sizes(sizes)
    members = _group_members(groups)
    targets = _counts(len(groups), fractions)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(members))
    small_target = targets[1:][targets[1:] > 0].min(initial=len(groups))
    big = [g for g in order if len(members[g]) > small_target / 2]
    small = [g for g in order if len(members[g]) <= small_target / 2]
    filled = np.zeros(len(targets), dtype=int)
    parts: list[list[np.ndarray]] = [[] for _ in targets]
    for g in big + small:
        size = len(members[g])
        room = targets - filled
        fits = np.flatnonzero(room >= size)
        k = int(fits[0]) if len(fits) else int(np.argmax(room))
        parts[k].append(members[g])
        filled[k] += size
    return tuple(
        np.sort(np.concatenate(p)).astype(np.int64) if p else np.empty(0, np.int64) for p in parts
    )


def largest_first_group_split(
    groups: Sequence[object], sizes: Sequence[float] = (0.8, 0.1, 0.1)
) -> tuple[np.ndarray, ...]:
    """Deterministic group split: the largest groups fill the first part, then the next.

    Groups are sorted by size (largest first; ties by first appearance) and each goes to the
    first part whose cumulative size would not exceed its cumulative target, as DeepChem's
    ``ScaffoldSplitter`` and the Open Graph Benchmark's ``ogbg-mol*`` scaffold splits do:
    training holds the common scaffolds and the test part the rarest ones.

    Parameters
    ----------
    groups : sequence
        ``(N,)`` group label per row.
    sizes : sequence of float
        Fractions of the parts, summing to 1.

    Returns
    -------
    tuple of numpy.ndarray
        One sorted int64 index array per part.
    """
    fractions = _check_sizes(sizes)
    members = _group_members(groups)
    order = sorted(range(len(members)), key=lambda g: (-len(members[g]), members[g][0]))
    bounds = np.cumsum(fractions) * len(groups)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    filled = np.zeros(len(fractions), dtype=int)
    for g in order:
        size = len(members[g])
        # DeepChem's rule: the first part whose cumulative count stays within its bound
        # (a later, smaller group may still fit an earlier part).
        k = next(
            (k for k in range(len(bounds) - 1) if filled[: k + 1].sum() + size <= bounds[k]),
            len(bounds) - 1,
        )
        parts[k].append(members[g])
        filled[k] += size
    return tuple(
        np.sort(np.concatenate(p)).astype(np.int64) if p else np.empty(0, np.int64) for p in parts
    )


def _group_members(groups: Sequence[object]) -> list[np.ndarray]:
    """Row positions of each distinct group, groups in order of first appearance."""
    index: dict[object, list[int]] = {}
    for i, g in enumerate(groups):
        index.setdefault(g, []).append(i)
    return [np.asarray(rows, dtype=np.int64) for rows in index.values()]


def murcko_scaffolds(
    smiles: Sequence[object], *, generic: bool = False, include_chirality: bool = False
) -> np.ndarray:
    """Bemis-Murcko scaffold SMILES of each molecule.

    Parameters
    ----------
    smiles : sequence
        Input SMILES (all must be valid).
    generic : bool
        Use the generic framework (all atoms carbon, all bonds single).
    include_chirality : bool
        Keep stereo in the scaffold SMILES.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` object array of scaffold SMILES; ``""`` for acyclic molecules, which
        therefore form one group.

    Raises
    ------
    InvalidSmilesError
        Listing every invalid input.
    """
    mols = parse_batch(smiles, errors="raise").values
    out = np.empty(len(mols), dtype=object)
    for i, mol in enumerate(mols):
        core = MurckoScaffold.GetScaffoldForMol(mol)
        if generic and core.GetNumAtoms():
            core = MurckoScaffold.MakeScaffoldGeneric(core)
        out[i] = mol_to_smiles(core, isomeric=include_chirality) if core.GetNumAtoms() else ""
    return out


def scaffold_split(
    smiles: Sequence[object],
    sizes: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    seed: int = 0,
    generic: bool = False,
    largest_first: bool = False,
) -> tuple[np.ndarray, ...]:
    """Split so that each Murcko scaffold lands in one part.

    By default scaffolds are assigned in seeded random order, big ones first
    (:func:`group_split`, chemprop's balanced scaffold split); ``largest_first=True`` gives
    the deterministic split of DeepChem and the Open Graph Benchmark
    (:func:`largest_first_group_split`; ``seed`` is then unused).
    """
    scaffolds = murcko_scaffolds(smiles, generic=generic)
    if largest_first:
        return largest_first_group_split(scaffolds, sizes)
    return group_split(scaffolds, sizes, seed=seed)


def butina_clusters(
    smiles: Sequence[object],
    *,
    cutoff: float = 0.6,
    radius: int = 2,
    n_bits: int = 2048,
) -> np.ndarray:
    """Butina clusters on Tanimoto distance between Morgan fingerprints.

    Parameters
    ----------
    smiles : sequence
        Input SMILES (all must be valid).
    cutoff : float
        Distance threshold (1 - Tanimoto similarity): molecules within it of a cluster
        centroid join that cluster. 0.6 groups analogues (similarity >= 0.4).
    radius, n_bits : int
        Morgan fingerprint settings.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` int64 cluster label per molecule; 0 is the largest cluster.

    Raises
    ------
    InvalidSmilesError
        Listing every invalid input.
    ValueError
        More than 20,000 molecules (the distance matrix would not fit in memory).
    """
    mols = parse_batch(smiles, errors="raise").values
    n = len(mols)
    if n > _BUTINA_MAX:
        raise ValueError(
            f"Butina clustering of {n} molecules needs {n * (n - 1) // 2} "
            f"distances; use at most {_BUTINA_MAX} or a scaffold split"
        )
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    fps = [generator.GetFingerprint(mol) for mol in mols]
    distances = np.zeros((n, n))
    for i in range(1, n):
        distances[i, :i] = 1.0 - np.asarray(DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i]))
    distances += distances.T
    clusters = Butina.ClusterData(distances, n, cutoff, isDistData=True)
    labels = np.empty(n, dtype=np.int64)
    # RDKit returns clusters largest first; keep that order as the label.
    for label, members in enumerate(clusters):
        labels[list(members)] = label
    return labels


def butina_split(
    smiles: Sequence[object],
    sizes: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    seed: int = 0,
    cutoff: float = 0.6,
    radius: int = 2,
    n_bits: int = 2048,
) -> tuple[np.ndarray, ...]:
    """Split so that each Butina cluster lands in one part (see :func:`butina_clusters`)."""
    labels = butina_clusters(smiles, cutoff=cutoff, radius=radius, n_bits=n_bits)
    return group_split(labels, sizes, seed=seed)


def kfold(data: int | Sequence[object], n_splits: int = 5, *, seed: int = 0) -> list[Fold]:
    """Shuffled k-fold cross-validation.

    Parameters
    ----------
    data : int or sequence
        Number of rows, or the rows.
    n_splits : int
        Number of folds (at least 2, at most the number of rows).
    seed : int
        Random seed.

    Returns
    -------
    list of (train, test)
        ``n_splits`` pairs of sorted int64 index arrays; the test parts partition the rows.
    """
    n = _n_rows(data)
    _check_folds(n, n_splits)
    order = np.random.default_rng(seed).permutation(n)
    return _folds_from_parts(np.array_split(order, n_splits), n)


def group_kfold(groups: Sequence[object], n_splits: int = 5, *, seed: int = 0) -> list[Fold]:
    """k-fold cross-validation that keeps each group in one test fold.

    Groups are shuffled with ``seed``, sorted by size (largest first, ties in shuffled
    order) and each is given to the fold with the fewest rows so far, which balances fold
    sizes while never splitting a group.

    Parameters
    ----------
    groups : sequence
        ``(N,)`` group label per row (scaffold SMILES, cluster id, ...).
    n_splits : int
        Number of folds (at most the number of distinct groups).
    seed : int
        Random seed.

    Returns
    -------
    list of (train, test)
        ``n_splits`` pairs of sorted int64 index arrays.
    """
    members = _group_members(groups)
    if len(members) < n_splits:
        raise ValueError(f"{len(members)} groups cannot fill {n_splits} folds")
    _check_folds(len(groups), n_splits)
    order = np.random.default_rng(seed).permutation(len(members))
    order = sorted(order, key=lambda g: -len(members[g]))  # stable: ties stay shuffled
    parts: list[list[np.ndarray]] = [[] for _ in range(n_splits)]
    filled = np.zeros(n_splits, dtype=int)
    for g in order:
        k = int(np.argmin(filled))
        parts[k].append(members[g])
        filled[k] += len(members[g])
    return _folds_from_parts([np.concatenate(p) for p in parts], len(groups))


def repeated_kfold(
    data: int | Sequence[object],
    n_splits: int = 5,
    n_repeats: int = 3,
    *,
    seed: int = 0,
    groups: Sequence[object] | None = None,
) -> list[list[Fold]]:
    """k-fold repeated with different shuffles.

    Parameters
    ----------
    data : int or sequence
        Number of rows, or the rows.
    n_splits, n_repeats : int
        Folds per repeat, and repeats.
    seed : int
        Base seed; repeat ``r`` is drawn from ``(seed, r)``.
    groups : sequence, optional
        Group labels for a group-aware k-fold (:func:`group_kfold`).

    Returns
    -------
    list of list of (train, test)
        ``n_repeats`` lists of ``n_splits`` folds.
    """
    if groups is not None and len(groups) != _n_rows(data):
        raise ValueError(f"groups has {len(groups)} labels for {_n_rows(data)} rows")
    out = []
    for r in range(n_repeats):
        repeat_seed = int(np.random.SeedSequence([seed, r]).generate_state(1)[0])
        if groups is None:
            out.append(kfold(data, n_splits, seed=repeat_seed))
        else:
            out.append(group_kfold(groups, n_splits, seed=repeat_seed))
    return out


def _check_folds(n: int, n_splits: int) -> None:
    if not 2 <= n_splits <= n:
        raise ValueError(f"n_splits must be between 2 and the number of rows ({n}), got {n_splits}")


def _folds_from_parts(parts: list[np.ndarray], n: int) -> list[Fold]:
    folds = []
    for part in parts:
        test = np.sort(part).astype(np.int64)
        mask = np.ones(n, dtype=bool)
        mask[test] = False
        folds.append((np.flatnonzero(mask).astype(np.int64), test))
    return folds
