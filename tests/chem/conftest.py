"""Fixtures for sciml.chem tests: a private cache folder, real molecules, the shared data."""

import os
from pathlib import Path

import pytest
from rdkit import RDConfig

# 4999 NCI molecules shipped inside RDKit: real, varied SMILES without the shared data.
NCI_SMI = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Send every cache write (descriptors, downloads) to a per-test folder."""
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def data_dir():
    """The reference data folder; skip when SCIML_DATA_DIR is unset."""
    path = os.environ.get("SCIML_DATA_DIR")
    if not path or not os.path.isdir(path):
        pytest.skip("SCIML_DATA_DIR is not set to the reference data folder")
    return Path(path)


@pytest.fixture(scope="session")
def nci_smiles():
    """SMILES of RDKit's bundled NCI sample, as written in the file."""
    return [line.split()[0] for line in NCI_SMI.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def drug_smiles():
    """A few drug-like molecules with stereo, charges, halogens and bracket atoms."""
    return [
        "CC(=O)Oc1ccccc1C(=O)O",
        "CN1CCC[C@H]1c1cccnc1",
        "C[C@@H](N)C(=O)O",
        "O=C(O)c1ccc(Cl)cc1Br",
        "C[N+](C)(C)CC(=O)[O-]",
        "F/C=C/F",
        "c1ccc2[nH]ccc2c1",
        "[2H]C([2H])([2H])Oc1ccccc1",
        "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O",
        "OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O",
        "CCN(CC)CCNC(=O)c1ccc(N)cc1",
        "Clc1ccc2c(c1)C(c1ccccc1)=NCC(=O)N2",
    ]
