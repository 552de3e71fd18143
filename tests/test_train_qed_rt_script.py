"""benchmarks/train_qed_rt.py: SMILES enumeration rows and the test-time augmentation rule."""

import sys
from pathlib import Path

import pandas as pd
import pytest
from rdkit import Chem

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def test_augmented_appends_randomised_writings_of_the_same_molecules():
    from benchmarks.train_qed_rt import augmented

    train = pd.DataFrame(
        {
            "canonical": ["CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC", "O=C(O)c1ccccc1Cl"],
            "qed": [0.6, 0.5, 0.7],
            "source": ["chembl", "moses", "moses"],
        }
    )
    out = augmented(train, 2, log=lambda m: None)
    assert len(out) == 9 and out["variant"].tolist() == [0] * 3 + [1] * 3 + [2] * 3
    pd.testing.assert_frame_equal(
        out.iloc[:3].drop(columns="variant"), train, check_index_type=False
    )
    for j in (1, 2):
        part = out[out["variant"] == j].reset_index(drop=True)
        assert part["qed"].tolist() == train["qed"].tolist()
        assert part["source"].tolist() == train["source"].tolist()
        canon = [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in part["canonical"]]
        assert canon == train["canonical"].tolist()  # the same molecules
    assert (out["canonical"].iloc[3:6].to_numpy() != train["canonical"].to_numpy()).any()
    again = augmented(train, 2, log=lambda m: None)
    assert again["canonical"].tolist() == out["canonical"].tolist()  # seeded


@pytest.mark.parametrize(
    ("rmse", "chosen"),
    [
        ({1: 0.070, 2: 0.066, 4: 0.065, 8: 0.0648, 16: 0.0647}, 4),
        ({1: 0.059, 2: 0.065, 4: 0.070, 8: 0.071, 16: 0.072}, 1),  # a canonical-only model
        ({1: 0.060, 2: 0.0595, 4: 0.0590}, 4),  # 4 is >= 1% below 1, though 2 is not
        ({1: 0.060, 2: 0.0596, 4: 0.0600}, 1),  # less than 1% better: the cheaper one stays
    ],
)
def test_choose_tta_asks_one_percent_for_each_step_up(rmse, chosen):
    from benchmarks.train_qed_rt import choose_tta

    assert choose_tta(rmse) == chosen
