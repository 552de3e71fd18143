"""Small hand-made molecular regression data for the model tests (no shared data needed)."""

import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors

# 40 varied, valid molecules: alcohols, aromatics, heterocycles, acids, amines, halides.
SMILES = [
    "CCO",
    "CCCO",
    "CCCCO",
    "CCCCCO",
    "CCCCCCO",
    "CC(C)O",
    "CC(C)(C)O",
    "OCCO",
    "c1ccccc1",
    "Cc1ccccc1",
    "CCc1ccccc1",
    "Oc1ccccc1",
    "Nc1ccccc1",
    "Clc1ccccc1",
    "Brc1ccccc1",
    "c1ccc2ccccc2c1",
    "c1ccncc1",
    "c1ccoc1",
    "c1ccsc1",
    "c1cc[nH]c1",
    "CC(=O)O",
    "CCC(=O)O",
    "OC(=O)c1ccccc1",
    "CC(=O)Oc1ccccc1C(=O)O",
    "CN",
    "CCN",
    "CCCN",
    "CN(C)C",
    "C1CCCCC1",
    "C1CCNCC1",
    "C1CCOC1",
    "ClCCl",
    "ClC(Cl)Cl",
    "FC(F)(F)c1ccccc1",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "CN1CCC[C@H]1c1cccnc1",
    "O=C1NC(=O)c2ccccc21",
    "CCOC(=O)C",
    "CC#N",
    "C=CC=C",
]

# 16 small molecules (alcohols, aromatics, amines, an acid) for the quick model tests.
SMALL_SMILES = [
    "CCO",
    "CCCO",
    "CCCCO",
    "CCCCCO",
    "CCCCCCO",
    "c1ccccc1",
    "Cc1ccccc1",
    "CCc1ccccc1",
    "CC(C)O",
    "CC(C)CO",
    "OCCO",
    "CCN",
    "CCCN",
    "c1ccncc1",
    "Oc1ccccc1",
    "CC(=O)O",
]


def synthetic_targets(smiles=SMILES) -> pd.DataFrame:
    """Two endpoints computable from structure: Crippen logP and molecular weight / 100."""
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    return pd.DataFrame(
        {
            "logp": [Crippen.MolLogP(m) for m in mols],
            "mw": [Descriptors.MolWt(m) / 100 for m in mols],
        }
    )


def with_missing(y: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Hide a third of each column (never a whole row), like sparse ADME tables."""
    rng = np.random.default_rng(seed)
    y = y.copy()
    hide = rng.random(len(y)) < 0.33
    y.loc[hide, "logp"] = np.nan
    y.loc[~hide & (rng.random(len(y)) < 0.33), "mw"] = np.nan
    return y
