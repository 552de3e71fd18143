"""Molecule languages (SMILES, SELFIES), tokens outside the vocabulary, reproducible generation."""

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from sciml.chem.smiles import InvalidSmilesError
from sciml.chem.tokenizer import tokenize_smiles
from sciml.rt import RegressionTransformer
from sciml.rt.generation import GenerationConfig, scaffold_atoms
from sciml.rt.language import SELFIES, SMILES, resolve_language
from sciml.rt.predictor import RTConfig
from sciml.train import TrainConfig

pytest.importorskip("selfies")

# Stereo, cis/trans bonds, charges, B, Si, Se, I: the ChEMBL chemistry the old vocabulary lacked.
CHEMBL_LIKE = [
    "C[C@@H](N)C(=O)O",
    "F/C=C/Cl",
    "C[N+](C)(C)CC(=O)[O-]",
    "OB(O)c1ccccc1",
    "C[Si](C)(C)OC",
    "c1ccc2[se]ccc2c1",
    "Ic1ccc(cc1)C(=O)N",
    "O=[N+]([O-])c1ccc(Br)cc1",
]


@pytest.mark.parametrize("smiles", CHEMBL_LIKE)
def test_selfies_round_trip_gives_the_same_molecule(smiles):
    canonical = Chem.CanonSmiles(smiles)
    text = SELFIES.encode(canonical)
    assert text.startswith("[") and "".join(tokenize_smiles(text)) == text
    assert Chem.CanonSmiles(SELFIES.decode(text)) == canonical
    assert SMILES.decode(SMILES.encode(canonical)) == canonical


def test_selfies_decodes_any_token_string_and_unknown_languages_are_named():
    assert Chem.MolFromSmiles(SELFIES.decode("[C][=Branch1][O][N][Ring1][C][F]")) is not None
    with pytest.raises(ValueError, match="unknown molecule language 'inchi'.*smiles, selfies"):
        resolve_language("inchi")


def test_token_atoms_follow_the_atoms_and_the_scaffold():
    smi = "CC(=O)Nc1ccc(O)cc1"
    tokens = tokenize_smiles(smi)
    atoms = SMILES.token_atoms(smi, tokens)
    assert atoms.tolist() == [0, 1, 2, 2, 2, 2, 3, 4, 4, 5, 6, 7, 8, 8, 8, 9, 10, 10]
    assert scaffold_atoms(smi).tolist() == [False] * 4 + [True] * 4 + [False, True, True]
    selfies_tokens = tokenize_smiles(SELFIES.encode(smi))
    selfies_atoms = SELFIES.token_atoms(smi, selfies_tokens)
    assert len(selfies_atoms) == len(selfies_tokens)
    assert set(selfies_atoms.tolist()) == set(range(11)) | {-1}
    # Branch and ring tokens place atoms: -1, never edited by a scaffold mask.
    placing = [
        a
        for t, a in zip(selfies_tokens, selfies_atoms, strict=True)
        if "Ring" in t or "Branch" in t
    ]
    assert placing and set(placing) == {-1}


@pytest.fixture(scope="module")
def selfies_rt(molecules, qed_frame):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rt = RegressionTransformer(["qed"], RTConfig(size="tiny", precision=2), language="selfies")
        return rt.fit(
            molecules,
            qed_frame,
            train_config=TrainConfig(max_epochs=40, batch_size=12, lr=3e-3, progress=False, seed=0),
        )
    finally:
        torch.set_num_threads(threads)


def test_selfies_model_predicts_generates_and_reloads(selfies_rt, molecules, tmp_path):
    assert selfies_rt.config.language == "selfies"
    assert all(
        t.startswith("[")
        for t in selfies_rt.tokenizer.vocab[5:]
        if not t.startswith(("<", "_", "|"))
    )
    pred = selfies_rt.predict(molecules)
    assert pred["qed"].between(0, 1).all()
    out = selfies_rt.generate(molecules[2:4], {"qed": [0.3, 0.8]}, n=2, max_rounds=1, exclude={})
    # Every SELFIES fill is a molecule: no invalid fill at all.
    assert out.attrs["n_fills"] > 0 and out.attrs["n_invalid_fills"] == 0
    assert all(Chem.MolFromSmiles(s) is not None for s in out["smiles"])
    loaded = RegressionTransformer.load(selfies_rt.save(tmp_path / "s.pt", dtype=torch.bfloat16))
    assert loaded.language is SELFIES
    assert np.allclose(loaded.predict(molecules)["qed"], pred["qed"], atol=0.05)


def test_token_outside_the_vocabulary_is_named_and_follows_errors(trained_rt, molecules):
    # The tiny model's vocabulary has no Se (nor [C@@H] ... only what its 12 molecules hold).
    bad = "c1ccc2[se]ccc2c1"
    assert "[se]" not in trained_rt.tokenizer.vocab
    with pytest.raises(InvalidSmilesError, match=r"token '\[se\]' is not in the model's vocab"):
        trained_rt.predict([molecules[0], bad])
    nan = trained_rt.predict([molecules[0], bad], errors="nan")
    assert np.isfinite(nan["qed"].iloc[0]) and np.isnan(nan["qed"].iloc[1])
    assert "[se]" in nan.attrs["invalid"][0].reason
    assert trained_rt.predict([molecules[0], bad], errors="skip").index.tolist() == [0]
    with pytest.raises(InvalidSmilesError, match=r"\[se\]"):
        trained_rt.generate([bad], {"qed": 0.5}, n=1)
    out = trained_rt.generate([bad, molecules[2]], {"qed": 0.5}, n=1, errors="skip", max_rounds=1)
    assert set(out["seed"]) <= {molecules[2]} and len(out.attrs["invalid_seeds"]) == 1


def test_generation_with_a_fixed_seed_is_reproducible(trained_rt, molecules):
    kwargs = dict(n=3, max_rounds=2, exclude={}, seed=7)
    a = trained_rt.generate(molecules[2:6], {"qed": [0.3, 0.8]}, **kwargs)
    b = trained_rt.generate(molecules[2:6], {"qed": [0.3, 0.8]}, GenerationConfig(**kwargs))
    pd.testing.assert_frame_equal(a, b)
    c = trained_rt.generate(molecules[2:6], {"qed": [0.3, 0.8]}, **{**kwargs, "seed": 8})
    assert a["smiles"].tolist() != c["smiles"].tolist()


def test_generation_options_are_checked_once():
    with pytest.raises(TypeError, match="unknown generation options \\['mask_fractoin'\\]"):
        GenerationConfig.from_options(None, {"mask_fractoin": 0.3})
    with pytest.raises(ValueError, match="mask must be one of"):
        GenerationConfig(mask="rings")
    with pytest.raises(ValueError, match="mask_fraction must be .auto. or in"):
        GenerationConfig(mask_fraction=0)
