import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml.chem.smiles import InvalidSmilesError
from sciml.chem.splits import (
    butina_clusters,
    butina_split,
    group_kfold,
    group_split,
    kfold,
    murcko_scaffolds,
    random_split,
    repeated_kfold,
    scaffold_split,
)


@pytest.fixture(scope="module")
def molecules(nci_smiles):
    from rdkit import Chem

    valid = [s for s in nci_smiles[:800] if Chem.MolFromSmiles(s) is not None]
    return valid[:600]


def _assert_partition(parts, n):
    together = np.concatenate(parts)
    assert len(together) == n, "every row is used exactly once"
    assert np.array_equal(np.sort(together), np.arange(n))
    for part in parts:
        assert part.dtype == np.int64 and np.array_equal(part, np.sort(part))


def _assert_groups_whole(parts, groups):
    groups = np.asarray(groups, dtype=object)
    owner = {}
    for k, part in enumerate(parts):
        for g in set(groups[part]):
            assert owner.setdefault(g, k) == k, f"group {g!r} split across parts"


def test_random_split_sizes_and_determinism():
    parts = random_split(101, sizes=(0.8, 0.1, 0.1), seed=3)
    _assert_partition(parts, 101)
    assert [len(p) for p in parts] == [81, 10, 10]
    again = random_split(list(range(101)), sizes=(0.8, 0.1, 0.1), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    other = random_split(101, seed=4)
    assert not np.array_equal(parts[0], other[0])


@pytest.mark.parametrize("sizes", [(0.5, 0.6), (1.0,), (1.2, -0.2)])
def test_bad_sizes(sizes):
    with pytest.raises(ValueError, match="sizes"):
        random_split(10, sizes=sizes)


def test_murcko_scaffolds():
    scaffolds = murcko_scaffolds(
        ["c1ccccc1CCO", "Oc1ccccc1", "CCO", "C1CCNCC1C(=O)O", "c1ccc2ccccc2c1C"]
    )
    assert scaffolds.tolist() == ["c1ccccc1", "c1ccccc1", "", "C1CCNCC1", "c1ccc2ccccc2c1"]
    generic = murcko_scaffolds(["c1ccncc1C", "C1CCCCC1"], generic=True)
    assert generic[0] == generic[1] == "C1CCCCC1"
    with pytest.raises(InvalidSmilesError):
        murcko_scaffolds(["CCO", "C1CC"])


def test_scaffold_split_keeps_scaffolds_whole(molecules):
    parts = scaffold_split(molecules, sizes=(0.8, 0.1, 0.1), seed=0)
    _assert_partition(parts, len(molecules))
    _assert_groups_whole(parts, murcko_scaffolds(molecules))
    sizes = [len(p) / len(molecules) for p in parts]
    assert sizes[0] == pytest.approx(0.8, abs=0.05)
    assert sizes[1] == pytest.approx(0.1, abs=0.05)
    again = scaffold_split(molecules, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    assert not np.array_equal(parts[1], scaffold_split(molecules, seed=1)[1])


def test_group_split_puts_big_groups_first():
    groups = ["big"] * 50 + [f"g{i}" for i in range(50)]
    train, valid, test = group_split(groups, sizes=(0.8, 0.1, 0.1), seed=0)
    assert set(range(50)) <= set(train.tolist())
    assert len(valid) == 10 and len(test) == 10


def test_butina_clusters_respect_similarity():
    from rdkit import DataStructs
    from rdkit.Chem import AllChem, rdFingerprintGenerator

    smiles = [
        "CCCCCCCCO",
        "CCCCCCCCCO",
        "CCCCCCCCCCO",
        "c1ccc2ccccc2c1",
        "Cc1ccc2ccccc2c1",
        "c1ccc2cc3ccccc3cc2c1",
        "O=C(O)C(F)(F)F",
    ]
    labels = butina_clusters(smiles, cutoff=0.6)
    assert labels.shape == (7,) and labels.dtype == np.int64
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4]
    assert labels[0] != labels[3] and labels[6] not in labels[:6]
    # Butina puts every member within the cutoff of its centroid, so each member of a
    # multi-member cluster has a neighbour in it with similarity >= 1 - cutoff.
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [generator.GetFingerprint(AllChem.MolFromSmiles(s)) for s in smiles]
    for label in set(labels.tolist()):
        members = np.flatnonzero(labels == label)
        if len(members) > 1:
            best = [
                max(DataStructs.TanimotoSimilarity(fps[i], fps[j]) for j in members if j != i)
                for i in members
            ]
            assert min(best) >= 0.4
    # Tighter cutoff, more clusters.
    assert butina_clusters(smiles, cutoff=0.1).max() > labels.max()


def test_butina_split_keeps_clusters_whole(molecules):
    labels = butina_clusters(molecules, cutoff=0.6)
    parts = butina_split(molecules, sizes=(0.8, 0.2), seed=0, cutoff=0.6)
    _assert_partition(parts, len(molecules))
    _assert_groups_whole(parts, labels)
    assert len(parts[1]) / len(molecules) == pytest.approx(0.2, abs=0.05)


def test_kfold_partitions_and_is_deterministic():
    folds = kfold(23, n_splits=5, seed=1)
    assert len(folds) == 5
    _assert_partition([test for _, test in folds], 23)
    for train, test in folds:
        assert not set(train) & set(test)
        assert len(train) + len(test) == 23
    assert sorted(len(t) for _, t in folds) == [4, 4, 5, 5, 5]
    again = kfold(23, n_splits=5, seed=1)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    with pytest.raises(ValueError, match="n_splits"):
        kfold(3, n_splits=5)


def test_group_kfold_keeps_groups_whole(molecules):
    scaffolds = murcko_scaffolds(molecules)
    folds = group_kfold(scaffolds, n_splits=5, seed=0)
    tests = [t for _, t in folds]
    _assert_partition(tests, len(molecules))
    _assert_groups_whole(tests, scaffolds)
    sizes = [len(t) for t in tests]
    assert max(sizes) - min(sizes) <= max(np.unique(scaffolds, return_counts=True)[1])
    with pytest.raises(ValueError, match="groups cannot fill"):
        group_kfold(["a", "a", "b"], n_splits=3)


def test_repeated_kfold_differs_between_repeats_and_is_reproducible(molecules):
    reps = repeated_kfold(50, n_splits=5, n_repeats=3, seed=0)
    assert len(reps) == 3 and all(len(r) == 5 for r in reps)
    for folds in reps:
        _assert_partition([t for _, t in folds], 50)
    assert not np.array_equal(reps[0][0][1], reps[1][0][1])
    again = repeated_kfold(50, n_splits=5, n_repeats=3, seed=0)
    assert all(
        np.array_equal(a[1], b[1])
        for r1, r2 in zip(reps, again, strict=True)
        for a, b in zip(r1, r2, strict=True)
    )
    labels = butina_clusters(molecules[:200])
    grouped = repeated_kfold(200, n_splits=4, n_repeats=2, seed=0, groups=labels)
    for folds in grouped:
        tests = [t for _, t in folds]
        _assert_partition(tests, 200)
        _assert_groups_whole(tests, labels)
    with pytest.raises(ValueError, match="labels"):
        repeated_kfold(10, groups=[0] * 9)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 12), min_size=4, max_size=60),
    st.integers(0, 2**32 - 1),
    st.integers(2, 4),
)
def test_group_kfold_property(groups, seed, n_splits):
    if len(set(groups)) < n_splits:
        return
    tests = [t for _, t in group_kfold(groups, n_splits=n_splits, seed=seed)]
    _assert_partition(tests, len(groups))
    _assert_groups_whole(tests, groups)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=60), st.integers(0, 2**32 - 1))
def test_group_split_property(groups, seed):
    parts = group_split(groups, sizes=(0.7, 0.2, 0.1), seed=seed)
    _assert_partition(parts, len(groups))
    _assert_groups_whole(parts, groups)


def test_biogen_scaffold_split(data_dir):
    from sciml.chem import load_dataset

    smiles = load_dataset("biogen_adme")["smiles"].tolist()
    scaffolds = murcko_scaffolds(smiles)
    parts = scaffold_split(smiles, seed=0)
    _assert_partition(parts, 3521)
    _assert_groups_whole(parts, scaffolds)
