import gzip

import numpy as np
import pandas as pd
import pytest

from sciml.chem.datasets import (
    DatasetInfo,
    dataset_info,
    dataset_names,
    load_csv,
    load_dataset,
    load_fang_split,
    load_smiles_file,
)
from sciml.data import DataUnavailableError, UnknownDatasetError

ENDPOINTS = ["HLM", "RLM", "MDR1_ER", "Sol", "hPPB", "rPPB"]


def test_names_and_unknown_name_lists_them():
    assert dataset_names() == [
        "bace",
        "biogen_adme",
        "biogen_adme_fang",
        "chembl30_sample",
        "clintox",
        "esol",
        "guacamol",
        "hiv",
        "moses",
        "sider",
        "tox21",
    ]
    with pytest.raises(UnknownDatasetError) as info:
        load_dataset("tox22")
    for name in dataset_names():
        assert name in str(info.value)
    with pytest.raises(UnknownDatasetError):
        dataset_info("tox22")


def test_classification_sets_load_with_binary_labels(data_dir):
    tox = load_dataset("tox21")
    assert tox.shape == (7831, 13) and len(tox.attrs["targets"]) == 12
    values = tox[list(tox.attrs["targets"])].stack().dropna()
    assert set(values.unique()) == {0.0, 1.0} and tox["NR-AR"].isna().any()
    bace = load_dataset("bace")
    assert list(bace.columns) == ["smiles", "Class"] and len(bace) == 1513
    assert dataset_info("hiv").n_rows == 41127


def test_info_is_available_without_files(monkeypatch):
    monkeypatch.delenv("SCIML_DATA_DIR", raising=False)
    info = dataset_info("biogen_adme")
    assert isinstance(info, DatasetInfo)
    assert info.targets == tuple(ENDPOINTS)
    assert info.units["HLM"] == "mL/min/kg" and info.units["Sol"] == "ug/mL"
    assert all(e.log_base == 10 for e in info.endpoints)
    assert set(info.censor_floors) == {"HLM", "RLM"}
    assert 10 ** info.censor_floors["HLM"] == pytest.approx(4.74, abs=0.01)
    assert "Fang" in info.citation and info.licence == "MIT"
    esol_target = "measured log solubility in mols per litre"
    assert dataset_info("esol").endpoint(esol_target).unit == "mol/L"
    with pytest.raises(KeyError, match="endpoints"):
        info.endpoint("logD")


def test_biogen_adme(data_dir):
    df = load_dataset("biogen_adme")
    assert len(df) == 3521 and df.index.is_unique and df.index.name == "id"
    assert df.columns.tolist() == ["smiles", *ENDPOINTS, "HLM_censored", "RLM_censored"]
    assert df[ENDPOINTS].notna().sum().tolist() == [3087, 3054, 2642, 2173, 194, 168]
    assert df["HLM_censored"].sum() == 958 and df["RLM_censored"].sum() == 346
    assert not (df["HLM_censored"] & df["HLM"].isna()).any()
    assert df.attrs["targets"] == ENDPOINTS
    assert df.attrs["info"] is dataset_info("biogen_adme")
    # The value in the first row: log10 HLM CLint at the floor, flagged.
    assert df.loc["Mol1", "HLM"] == pytest.approx(0.675686709)
    assert bool(df.loc["Mol1", "HLM_censored"])


def test_biogen_adme_drop_censored_reproduces_the_study(data_dir):
    df = load_dataset("biogen_adme", drop_censored=True)
    assert df["HLM"].notna().sum() == 2129
    assert df["RLM"].notna().sum() == 2708
    # The other endpoints are untouched and the flags still say what was removed.
    assert df[ENDPOINTS[2:]].notna().sum().tolist() == [2642, 2173, 194, 168]
    assert df["HLM_censored"].sum() == 958
    assert df.loc[df["HLM_censored"], "HLM"].isna().all()
    floor = dataset_info("biogen_adme").censor_floors["HLM"]
    assert (df["HLM"].dropna() > floor).all()


def test_fang_split(data_dir):
    train, test = load_fang_split("HLM")
    assert (len(train), len(test)) == (2469, 618)
    assert train.columns.tolist() == ["smiles", "HLM", "HLM_censored"]
    assert train["HLM"].notna().all()
    assert train["HLM_censored"].sum() == 786  # 783 at the floor plus three 0.0 values
    sol_train, sol_test = load_fang_split("Sol")
    assert sol_train.columns.tolist() == ["smiles", "Sol"]
    assert (len(sol_train), len(sol_test)) == (1738, 435)
    assert sol_train.attrs["targets"] == ["Sol"]
    dropped, _ = load_fang_split("RLM", drop_censored=True)
    assert dropped["RLM"].isna().sum() == dropped["RLM_censored"].sum() > 0
    with pytest.raises(KeyError, match="endpoints"):
        load_fang_split("logD")


def test_fang_stacked(data_dir):
    df = load_dataset("biogen_adme_fang")
    assert df.columns.tolist() == ["smiles", *ENDPOINTS, "HLM_censored", "RLM_censored", "split"]
    assert (df[ENDPOINTS].notna().sum(axis=1) == 1).all()
    assert df["split"].value_counts().to_dict() == {"train": 10917, "test": 2732}
    assert df["HLM_censored"].dtype == bool
    hlm = load_dataset("biogen_adme_fang", endpoint="HLM")
    assert hlm.columns.tolist() == ["smiles", "HLM", "HLM_censored", "split"]
    assert len(hlm) == 3087 and hlm.attrs["targets"] == ["HLM"]


def test_esol(data_dir):
    df = load_dataset("esol")
    target = "measured log solubility in mols per litre"
    assert df.shape == (1128, 2) and df.columns.tolist() == ["smiles", target]
    assert not df["smiles"].str.contains(r"\s").any()
    raw = pd.read_csv(data_dir / "esol" / "delaney-processed.csv")
    assert (raw["smiles"] != raw["smiles"].str.strip()).sum() > 0  # the fix is needed
    assert df.loc["Amigdalin", target] == pytest.approx(-0.77)


def test_chembl30_sample(data_dir):
    df = load_dataset("chembl30_sample")
    assert len(df) == 90599 and df.columns.tolist() == ["smiles"]
    assert df.index.name == "chembl_id" and df.attrs["targets"] == []
    assert len(load_dataset("chembl30_sample", part="valid")) == 45299
    with pytest.raises(ValueError, match="part"):
        load_dataset("chembl30_sample", part="train")


def test_moses(data_dir):
    df = load_dataset("moses", split="test")
    assert len(df) == 176074 and df.columns.tolist() == ["smiles"]
    assert df.smiles.iloc[0] == "CC1C2CCC(C2)C1CN(CCO)C(=O)c1ccc(Cl)cc1"
    assert df.attrs["info"].licence == "MIT"
    with pytest.raises(ValueError, match="split"):
        load_dataset("moses", split="valid")


def test_guacamol_reads_the_cached_file(tmp_path, monkeypatch):
    # Same format and place as the real download, without the network.
    monkeypatch.setenv("SCIML_DATA_DIR", str(tmp_path))
    folder = tmp_path / "guacamol"
    folder.mkdir()
    (folder / "guacamol_v1_train.smiles").write_text("CCO\nc1ccccc1\n\nCC(=O)O\n")
    df = load_dataset("guacamol")
    assert df["smiles"].tolist() == ["CCO", "c1ccccc1", "CC(=O)O"]
    assert "1,273,104" in df.attrs["info"].description
    with pytest.raises(DataUnavailableError):
        load_dataset("guacamol", split="valid", download=False)
    with pytest.raises(ValueError, match="split"):
        load_dataset("guacamol", split="dev")


def test_load_smiles_file(tmp_path):
    plain = tmp_path / "a.smi"
    plain.write_text("CCO ethanol\n  \nc1ccccc1\tbenzene ring\nN\n")
    df = load_smiles_file(plain)
    assert df["smiles"].tolist() == ["CCO", "c1ccccc1", "N"]
    assert df["name"].tolist()[:2] == ["ethanol", "benzene ring"]
    assert df["name"].isna().tolist() == [False, False, True]
    packed = tmp_path / "b.smiles.gz"
    with gzip.open(packed, "wt") as handle:
        handle.write("CCO\nCCN\n")
    df = load_smiles_file(packed)
    assert df.columns.tolist() == ["smiles"] and df["smiles"].tolist() == ["CCO", "CCN"]


def test_load_csv(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "id,SMILES,logD,pIC50,note\na, CCO ,1.5,,x\nb,c1ccccc1,2.0,6.1,y\nc,CCN,,7.0,z\n"
    )
    df = load_csv(path, smiles_col="SMILES", target_cols=["logD", "pIC50"])
    assert df.columns.tolist() == ["smiles", "logD", "pIC50"]
    assert df["smiles"].tolist() == ["CCO", "c1ccccc1", "CCN"]
    np.testing.assert_array_equal(df["logD"].to_numpy(), [1.5, 2.0, np.nan])
    assert df["pIC50"].dtype == np.float64 and np.isnan(df.loc[0, "pIC50"])
    assert df.attrs["targets"] == ["logD", "pIC50"]
    assert load_csv(path, "SMILES", "logD").columns.tolist() == ["smiles", "logD"]
    assert load_csv(path, "SMILES").columns.tolist() == ["smiles"]


def test_load_csv_errors(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("smiles,y\nCCO,1\nCCN,high\nCCC,n/a?\n")
    with pytest.raises(KeyError, match=r"columns are \['smiles', 'y'\]"):
        load_csv(path, "SMILES", ["y"])
    with pytest.raises(ValueError, match=r"2 non-numeric values \(row 1: 'high', row 2"):
        load_csv(path, "smiles", ["y"])
    with pytest.raises(ValueError, match="cannot also be a target"):
        load_csv(path, "smiles", ["smiles"])
