import math
import os

import numpy as np
import pytest
import rdkit
from rdkit import Chem
from rdkit.Chem import Descriptors, rdFingerprintGenerator

from sciml.chem import descriptors as desc_module
from sciml.chem._descriptor_cache import DescriptorCache
from sciml.chem.descriptors import compute_descriptors, descriptor_names, morgan_fingerprints
from sciml.chem.smiles import InvalidSmilesError


def _cache_parts():
    root = os.path.join(os.environ["SCIML_CACHE_DIR"], "descriptors")
    return sorted(
        p
        for d, _, files in os.walk(root)
        for p in (os.path.join(d, f) for f in files)
        if p.endswith(".npz")
    )


def test_columns_are_desclist_without_ipc():
    names = descriptor_names()
    expected = [name for name, _ in Descriptors.descList if name != "Ipc"]
    assert names == expected
    assert "Ipc" not in names and "MolWt" in names and "TPSA" in names
    assert len(names) == len(Descriptors.descList) - 1


def test_values_match_rdkit(drug_smiles):
    frame = compute_descriptors(drug_smiles, cache=False)
    assert frame.shape == (len(drug_smiles), len(descriptor_names()))
    assert frame.dtypes.unique().tolist() == [np.dtype("float64")]
    assert frame.index.tolist() == list(range(len(drug_smiles)))
    for i, smiles in enumerate(drug_smiles):
        mol = Chem.MolFromSmiles(smiles)
        assert frame.loc[i, "MolWt"] == pytest.approx(Descriptors.MolWt(mol))
        assert frame.loc[i, "TPSA"] == pytest.approx(Descriptors.TPSA(mol))
        assert frame.loc[i, "NumHDonors"] == Descriptors.NumHDonors(mol)
    assert frame.attrs["rdkit_version"] == rdkit.__version__
    assert np.isfinite(frame.to_numpy()).all()


def test_undefined_values_become_nan():
    # RDKit returns NaN BCUT2D descriptors for platinum, which lacks the atomic parameters.
    frame = compute_descriptors(["[Pt]", "CCO"], cache=False)
    assert math.isnan(frame.loc[0, "BCUT2D_MWHI"])
    assert not frame.loc[1].isna().any()
    assert not np.isinf(frame.to_numpy()).any()


def test_infinite_and_raising_descriptors_become_nan(monkeypatch):
    def boom(mol):
        raise ValueError("descriptor failed")

    monkeypatch.setattr(
        desc_module,
        "_FUNCTIONS",
        [("inf", lambda m: float("inf")), ("boom", boom), ("atoms", lambda m: m.GetNumAtoms())],
    )
    frame = compute_descriptors(["CCO"], cache=False)
    assert frame.columns.tolist() == ["inf", "boom", "atoms"]
    assert np.isnan(frame.loc[0, "inf"]) and np.isnan(frame.loc[0, "boom"])
    assert frame.loc[0, "atoms"] == 3


def test_errors_modes_report_dropped_rows():
    inputs = ["CCO", "C1CC", "c1ccccc1", None]
    with pytest.raises(InvalidSmilesError) as info:
        compute_descriptors(inputs, cache=False)
    assert [b.index for b in info.value.invalid] == [1, 3]
    skipped = compute_descriptors(inputs, errors="skip", cache=False)
    assert skipped.index.tolist() == [0, 2]
    assert [row[0] for row in skipped.attrs["invalid"]] == [1, 3]
    kept = compute_descriptors(inputs, errors="nan", cache=False)
    assert kept.index.tolist() == [0, 1, 2, 3]
    assert kept.loc[[1, 3]].isna().all().all() and not kept.loc[[0, 2]].isna().any().any()
    assert kept.loc[2, "MolWt"] == skipped.loc[2, "MolWt"]


def test_cache_is_written_reused_and_keyed_by_canonical_smiles(monkeypatch):
    first = compute_descriptors(["OCC", "c1ccccc1O"])
    parts = _cache_parts()
    assert len(parts) == 1
    assert f"rdkit-{rdkit.__version__}+avgipc-cap100-" in parts[0]
    with np.load(parts[0], allow_pickle=False) as data:  # a plain array store, no pickle
        keys = data["keys"].tobytes().decode().split("\n")
        assert sorted(keys) == ["CCO", "Oc1ccccc1"]
        assert data["values"].shape == (2, len(descriptor_names()))

    def no_compute(*args, **kwargs):
        raise AssertionError("should have been served from the cache")

    monkeypatch.setattr(desc_module, "_compute", no_compute)
    # Different spellings of the same molecules hit the same entries.
    again = compute_descriptors(["C(C)O", "Oc1ccccc1"])
    np.testing.assert_array_equal(again.to_numpy(), first.to_numpy())
    assert len(_cache_parts()) == 1


def test_cache_false_writes_nothing():
    compute_descriptors(["CCO"], cache=False)
    assert _cache_parts() == []


def test_cache_path_argument(tmp_path):
    compute_descriptors(["CCO"], cache=tmp_path / "mine")
    assert list((tmp_path / "mine").glob("rdkit-*/part-*.npz"))
    assert _cache_parts() == []


def test_cache_only_computes_new_molecules(monkeypatch):
    compute_descriptors(["CCO", "CCN"])
    seen = []
    real = desc_module._compute

    def spy(canonical, *args):
        seen.extend(canonical)
        return real(canonical, *args)

    monkeypatch.setattr(desc_module, "_compute", spy)
    frame = compute_descriptors(["CCN", "CCC", "CCO", "CCC"])
    assert seen == ["CCC"]
    assert frame.loc[1, "MolWt"] == frame.loc[3, "MolWt"]
    assert len(_cache_parts()) == 2


def test_cache_depends_on_rdkit_version_and_merges_parts(tmp_path):
    names = ["a", "b"]
    store = DescriptorCache(names, "2000.01.1", root=tmp_path)
    for i in range(20):
        store.put([f"C{i}"], np.array([[i, -i]], dtype=float))
    assert len(list(store.folder.glob("part-*.npz"))) <= 16
    found = store.get([f"C{i}" for i in range(20)] + ["missing"])
    assert sorted(found) == sorted(f"C{i}" for i in range(20))
    assert found["C7"].tolist() == [7.0, -7.0]
    assert DescriptorCache(names, "2001.01.1", root=tmp_path).get(["C1"]) == {}
    assert DescriptorCache(["a", "c"], "2000.01.1", root=tmp_path).get(["C1"]) == {}
    with pytest.raises(ValueError, match="shape"):
        store.put(["X"], np.zeros((1, 3)))


def test_parallel_matches_serial(monkeypatch, nci_smiles):
    monkeypatch.setattr(desc_module, "_MIN_PARALLEL", 0)
    smiles = nci_smiles[:40]
    serial = compute_descriptors(smiles, n_jobs=1, cache=False, errors="nan")
    parallel = compute_descriptors(smiles, n_jobs=2, chunk_size=7, cache=False, errors="nan")
    np.testing.assert_array_equal(serial.to_numpy(), parallel.to_numpy())


def test_progress_bar(capsys):
    compute_descriptors(["CCO"], cache=False, progress=True)
    assert "RDKit descriptors" in capsys.readouterr().err


def test_bad_n_jobs():
    with pytest.raises(ValueError, match="n_jobs"):
        compute_descriptors(["CCO"], cache=False, n_jobs=0)


def test_morgan_bits_and_counts_match_rdkit(drug_smiles):
    bits = morgan_fingerprints(drug_smiles, radius=2, n_bits=1024)
    counts = morgan_fingerprints(drug_smiles, radius=2, n_bits=1024, counts=True)
    assert bits.shape == counts.shape == (len(drug_smiles), 1024)
    assert bits.dtype == np.uint8 and counts.dtype == np.uint32
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    for i, smiles in enumerate(drug_smiles):
        expected = generator.GetFingerprintAsNumPy(Chem.MolFromSmiles(smiles))
        np.testing.assert_array_equal(bits[i], expected)
    np.testing.assert_array_equal(bits, (counts > 0).astype(np.uint8))
    assert (counts.sum(axis=1) >= bits.sum(axis=1)).all()
    assert not np.array_equal(bits, morgan_fingerprints(drug_smiles, radius=3, n_bits=1024))


def test_morgan_chirality_option():
    a = morgan_fingerprints(["C[C@@H](N)O", "C[C@H](N)O"], chirality=True)
    b = morgan_fingerprints(["C[C@@H](N)O", "C[C@H](N)O"])
    assert not np.array_equal(a[0], a[1])
    np.testing.assert_array_equal(b[0], b[1])


def test_morgan_error_modes():
    fps = morgan_fingerprints(["CCO", "C1CC", "CCN"], errors="nan", n_bits=64)
    assert fps.dtype == np.float32 and np.isnan(fps[1]).all() and not np.isnan(fps[[0, 2]]).any()
    fps, index = morgan_fingerprints(
        ["CCO", "C1CC", "CCN"], errors="skip", n_bits=64, return_index=True
    )
    assert fps.shape == (2, 64) and index.tolist() == [0, 2]
    with pytest.raises(InvalidSmilesError):
        morgan_fingerprints(["CCO", ""])


@pytest.mark.slow
def test_esol_descriptors_in_parallel(data_dir):
    from sciml.chem import load_dataset

    smiles = load_dataset("esol")["smiles"].tolist()
    frame = compute_descriptors(smiles, n_jobs=2)
    assert frame.shape == (1128, len(descriptor_names()))
    assert frame.notna().all().all()


def test_shared_descriptors_equal_rdkit_and_avgipc_is_capped():
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    from sciml.chem.descriptors import AVGIPC_MAX_ATOMS, _descriptor_row, descriptor_names

    reference = dict(Descriptors.descList)
    names = descriptor_names()
    for smi in ["CC(=O)Nc1ccc(O)cc1", "c1ccc2[nH]ccc2c1", "OC(=O)CCl"]:
        mol = Chem.MolFromSmiles(smi)
        expected = [float(reference[n](Chem.MolFromSmiles(smi))) for n in names]
        np.testing.assert_array_equal(_descriptor_row(mol), expected)
    big = Chem.MolFromSmiles("C" * (AVGIPC_MAX_ATOMS + 1))
    row = _descriptor_row(big)
    assert np.isnan(row[names.index("AvgIpc")])
    assert np.isfinite(row[names.index("MolWt")])
    small = Chem.MolFromSmiles("C" * AVGIPC_MAX_ATOMS)
    assert np.isfinite(_descriptor_row(small)[names.index("AvgIpc")])
