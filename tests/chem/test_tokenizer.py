import json

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem

from sciml.chem.tokenizer import (
    SPECIAL_TOKENS,
    SmilesTokenizer,
    TokenizationError,
    VocabularyMismatchError,
    tokenize_smiles,
)


@pytest.fixture(scope="module")
def real_corpus(request):
    """45K ChEMBL SMILES with the shared data, else RDKit's 5K NCI molecules."""
    import os

    path = os.environ.get("SCIML_DATA_DIR")
    if path and os.path.isdir(path):
        from sciml.chem import load_dataset

        return load_dataset("chembl30_sample", part="valid")["smiles"].tolist()
    return request.getfixturevalue("nci_smiles")


def test_regex_splits_the_hard_cases():
    assert tokenize_smiles("C[C@@H](Cl)Br") == ["C", "[C@@H]", "(", "Cl", ")", "Br"]
    assert tokenize_smiles("c1cc[nH+]cc1") == ["c", "1", "c", "c", "[nH+]", "c", "c", "1"]
    assert tokenize_smiles("C%12CC%12") == ["C", "%12", "C", "C", "%12"]
    assert tokenize_smiles("C%(123)CC%(123)") == ["C", "%(123)", "C", "C", "%(123)"]
    assert tokenize_smiles("F/C=C\\F") == ["F", "/", "C", "=", "C", "\\", "F"]
    assert tokenize_smiles("[2H]C#N.[Na+]") == ["[2H]", "C", "#", "N", ".", "[Na+]"]
    assert tokenize_smiles("[Fe-3]") == ["[Fe-3]"]
    assert tokenize_smiles("B") == ["B"] and tokenize_smiles("BC") == ["B", "C"]


@pytest.mark.parametrize("bad", ["CCX", "C C", "Cl[", "C|O", "é", "CCl\n"])
def test_uncovered_characters_raise_instead_of_vanishing(bad):
    with pytest.raises(TokenizationError, match="no token covers"):
        tokenize_smiles(bad)


def test_non_string_raises():
    with pytest.raises(TokenizationError, match="expected a SMILES string"):
        tokenize_smiles(None)


def test_round_trip_on_real_molecules(real_corpus):
    assert len(real_corpus) >= 4000
    tokenizer = SmilesTokenizer.build_vocab(real_corpus)
    batch = tokenizer.encode_batch(real_corpus)
    assert tokenizer.decode_batch(batch.input_ids) == real_corpus
    assert not (batch.input_ids == tokenizer.unk_id).any()


def test_round_trip_on_random_smiles_orders(nci_smiles):
    # Random atom orders exercise ring-closure digits, branches and stereo far more than
    # canonical strings do.
    variants = []
    for smiles in nci_smiles[:1500]:
        mol = Chem.MolFromSmiles(smiles)
        if mol is not None:
            variants.extend(Chem.MolToRandomSmilesVect(mol, 2, randomSeed=7))
    assert len(variants) > 2800
    tokenizer = SmilesTokenizer.build_vocab(variants)
    for variant in variants:
        ids = tokenizer.encode(variant)
        assert tokenizer.unk_id not in ids
        assert tokenizer.decode(ids) == variant


_BRACKET = st.builds(
    lambda el, chir, h, charge: f"[{el}{chir}{h}{charge}]",
    st.sampled_from(["C", "N", "O", "S", "Fe", "Na", "nH", "se", "13C", "2H", "Pt"]),
    st.sampled_from(["", "@", "@@"]),
    st.sampled_from(["", "H", "H2", "H3"]),
    st.sampled_from(["", "+", "-", "+2", "-3"]),
)
_PLAIN = st.sampled_from(
    [
        "C",
        "N",
        "O",
        "S",
        "P",
        "F",
        "I",
        "Cl",
        "Br",
        "B",
        "c",
        "n",
        "o",
        "s",
        "p",
        "b",
        "(",
        ")",
        ".",
        "=",
        "#",
        "-",
        "+",
        "\\",
        "/",
        ":",
        "~",
        "@",
        "*",
        "1",
        "2",
        "9",
        "%10",
        "%99",
        "%(123)",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PLAIN, _BRACKET), max_size=40))
def test_hypothesis_token_sequences_split_back_exactly(tokens):
    text = "".join(tokens)
    assert tokenize_smiles(text) == tokens


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="ascii"), max_size=30))
def test_hypothesis_any_text_round_trips_or_raises(text):
    try:
        tokens = tokenize_smiles(text)
    except TokenizationError:
        return
    assert "".join(tokens) == text


def test_special_tokens_come_first_and_vocab_is_deterministic():
    corpus = ["CCO", "CCN", "c1ccccc1", "CCBr"]
    a = SmilesTokenizer.build_vocab(corpus)
    b = SmilesTokenizer.build_vocab(list(reversed(corpus)))
    assert a.vocab[:5] == list(SPECIAL_TOKENS)
    assert (a.pad_id, a.unk_id, a.cls_id, a.sep_id, a.mask_id) == (0, 1, 2, 3, 4)
    assert a.vocab == b.vocab and a.fingerprint == b.fingerprint
    # Most frequent first: 'C' (6 times) then 'c' (6, but 'C' < 'c'), then ring digit '1'.
    assert a.vocab[5:7] == ["C", "c"]


def test_min_freq_and_max_size():
    corpus = ["CCO", "CCO", "CCBr"]
    tokenizer = SmilesTokenizer.build_vocab(corpus, min_freq=2)
    assert "Br" not in tokenizer.vocab and "O" in tokenizer.vocab
    assert tokenizer.encode("CBr", add_special_tokens=False) == [
        tokenizer.token_to_id["C"],
        tokenizer.unk_id,
    ]
    assert len(SmilesTokenizer.build_vocab(corpus, max_size=6)) == 6
    with pytest.raises(ValueError, match="max_size"):
        SmilesTokenizer.build_vocab(corpus, max_size=3)


def test_build_vocab_names_the_bad_corpus_row():
    with pytest.raises(TokenizationError, match="corpus row 1"):
        SmilesTokenizer.build_vocab(["CCO", "C C"])


def test_encode_batch_shapes_masks_and_padding():
    tokenizer = SmilesTokenizer.build_vocab(["CCO", "c1ccccc1", "CBr"])
    batch = tokenizer.encode_batch(["CCO", "c1ccccc1", "C"])
    ids, mask = batch.input_ids, batch.attention_mask
    assert ids.shape == mask.shape == (3, 10)
    assert ids.dtype == np.int64 and mask.dtype == bool
    assert mask.sum(axis=1).tolist() == [5, 10, 3]
    assert (ids[~mask] == tokenizer.pad_id).all()
    assert ids[0, 0] == tokenizer.cls_id and ids[0, 4] == tokenizer.sep_id
    assert tokenizer.decode(ids[2]) == "C"
    assert tokenizer.decode(ids[2], skip_special_tokens=False) == "[CLS]C[SEP][PAD]" + "[PAD]" * 6


def test_encode_batch_torch_and_max_length():
    tokenizer = SmilesTokenizer.build_vocab(["CCO", "c1ccccc1"])
    batch = tokenizer.encode_batch(
        ["CCO", "CC"], padding="max_length", max_length=8, return_tensors="pt"
    )
    assert isinstance(batch.input_ids, torch.Tensor)
    assert batch.input_ids.dtype == torch.int64 and batch.attention_mask.dtype == torch.bool
    assert tuple(batch.input_ids.shape) == (2, 8)
    assert tokenizer.decode_batch(batch.input_ids) == ["CCO", "CC"]
    with pytest.raises(ValueError, match="exceed max_length=4"):
        tokenizer.encode_batch(["c1ccccc1"], max_length=4)
    cut = tokenizer.encode_batch(["c1ccccc1"], max_length=4, truncation=True).input_ids[0]
    assert cut.tolist() == [
        tokenizer.cls_id,
        tokenizer.token_to_id["c"],
        tokenizer.token_to_id["1"],
        tokenizer.sep_id,
    ]


def test_encode_batch_lists_every_untokenizable_row():
    tokenizer = SmilesTokenizer.build_vocab(["CCO"])
    with pytest.raises(TokenizationError) as info:
        tokenizer.encode_batch(["CCO", "C X", "CC", "C|C"])
    assert "2 rows" in str(info.value)
    assert "[1]" in str(info.value) and "[3]" in str(info.value)


def test_extra_tokens_are_atomic_and_change_the_fingerprint():
    tokenizer = SmilesTokenizer.build_vocab(["CCO"])
    before = tokenizer.fingerprint
    size = len(tokenizer)
    assert tokenizer.add_tokens(["<qed>", "_0_-1_", "<qed>"]) == 2
    assert len(tokenizer) == size + 2
    assert tokenizer.fingerprint != before
    assert tokenizer.tokenize("<qed>_0_-1_CCO") == ["<qed>", "_0_-1_", "C", "C", "O"]
    ids = tokenizer.encode("<qed>CCO")
    assert tokenizer.decode(ids) == "<qed>CCO"  # extra tokens are kept when decoding
    # Existing ids did not move.
    assert tokenizer.vocab[:size] == SmilesTokenizer.build_vocab(["CCO"]).vocab


def test_save_load_round_trip(tmp_path):
    tokenizer = SmilesTokenizer.build_vocab(["CC(=O)O", "c1ccccc1Cl"], extra_tokens=["<logp>"])
    path = tokenizer.save(tmp_path / "sub" / "vocab.json")
    state = json.loads(path.read_text())
    assert state["vocab"] == tokenizer.vocab and state["fingerprint"] == tokenizer.fingerprint
    loaded = SmilesTokenizer.load(path)
    assert loaded == tokenizer
    assert loaded.vocab == tokenizer.vocab and loaded.extra_tokens == ["<logp>"]
    assert loaded.tokenize("<logp>CCl") == ["<logp>", "C", "Cl"]
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]  # no temporary left behind


def test_load_refuses_edited_vocabulary(tmp_path):
    tokenizer = SmilesTokenizer.build_vocab(["CCO", "CN"])
    path = tokenizer.save(tmp_path / "vocab.json")
    state = json.loads(path.read_text())
    state["vocab"][5], state["vocab"][6] = state["vocab"][6], state["vocab"][5]
    path.write_text(json.dumps(state))
    with pytest.raises(VocabularyMismatchError):
        SmilesTokenizer.load(path)


def test_check_fingerprint():
    a = SmilesTokenizer.build_vocab(["CCO"])
    b = SmilesTokenizer.build_vocab(["CCN"])
    a.check_fingerprint(a.fingerprint)
    with pytest.raises(VocabularyMismatchError, match="does not match"):
        a.check_fingerprint(b.fingerprint)


def test_constructor_validates():
    with pytest.raises(ValueError, match="special tokens"):
        SmilesTokenizer(["C", "O"])
    with pytest.raises(ValueError, match="duplicate"):
        SmilesTokenizer([*SPECIAL_TOKENS, "C", "C"])
    with pytest.raises(IndexError):
        SmilesTokenizer.build_vocab(["C"]).decode([99])


def test_shared_chembl_has_no_untokenizable_molecule(data_dir):
    smiles = pd.concat(
        pd.read_csv(data_dir / "chembl30" / f"chembl30_{part}.csv.gz") for part in ("test",)
    )["SMILES"].tolist()
    tokens = [tokenize_smiles(s) for s in smiles]
    assert all("".join(t) == s for t, s in zip(tokens, smiles, strict=True))
