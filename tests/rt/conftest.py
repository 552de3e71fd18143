"""A tiny Regression Transformer trained once per session on a handful of molecules."""

import pandas as pd
import pytest
import torch
from rdkit import Chem
from rdkit.Chem import QED

from sciml.rt import RegressionTransformer
from sciml.rt.predictor import RTConfig
from sciml.train import TrainConfig

MOLECULES = [
    "CCO",
    "c1ccccc1O",
    "CC(=O)Nc1ccc(O)cc1",
    "CCN(CC)CC",
    "CC(=O)Oc1ccccc1C(=O)O",
    "Clc1ccc(Cl)cc1",
    "CCCCCCCCCC",
    "NC(=O)c1ccccc1",
    "OC(=O)CCC(=O)O",
    "c1ccc2ccccc2c1",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "CN1CCC[C@H]1c1cccnc1",
]


@pytest.fixture(scope="session")
def molecules():
    return [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in MOLECULES]


@pytest.fixture(scope="session")
def qed_frame(molecules):
    return pd.DataFrame({"qed": [QED.qed(Chem.MolFromSmiles(s)) for s in molecules]})


@pytest.fixture(scope="session")
def trained_rt(molecules, qed_frame):
    """Overfits the 12 molecules (both objectives) in a few seconds."""
    # One thread: on a shared CPU, several threads for these tiny matrices thrash (~20x slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = RTConfig(size="tiny", precision=2)
        rt = RegressionTransformer(["qed"], config)
        return rt.fit(
            molecules,
            qed_frame,
            train_config=TrainConfig(
                max_epochs=150, batch_size=12, lr=3e-3, warmup=0.05, progress=False, seed=0
            ),
        )
    finally:
        torch.set_num_threads(threads)
