"""benchmarks/pretrain_moses_encoder.py: the MLM loss used to compare shipped encoders."""

import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

pytestmark = pytest.mark.usefixtures("one_thread")

SMILES = [
    "CCO",
    "CC(=O)Nc1ccc(O)cc1",
    "c1ccc2c(c1)[nH]c1ccccc12",
    "CCN(CC)CC",
    "O=C(O)c1ccccc1Cl",
    "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O",
] * 5


def test_mlm_loss_is_repeatable_and_below_chance():
    from pretrain_moses_encoder import mlm_loss

    from sciml import asset_path
    from sciml.chem.transformer import load_stage, pretrain

    toy = load_stage(asset_path("demo_encoder.pt"))
    loss = mlm_loss(toy, SMILES, batch_size=7)
    assert loss == mlm_loss(toy, SMILES, batch_size=7)  # masks drawn from seed 0
    assert 0 < loss < math.log(toy.tokenizer.vocab_size)
    untrained = pretrain([], size="tiny", n_molecules=0, tokenizer=toy.tokenizer, progress=False)
    assert mlm_loss(untrained, SMILES, batch_size=7) > loss + 0.5
