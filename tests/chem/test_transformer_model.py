"""Tests of sciml.chem.transformer data, model and stages (tiny model, tiny data)."""

import numpy as np
import pytest
import torch

from sciml.chem.smiles import InvalidSmilesError
from sciml.chem.tokenizer import SmilesTokenizer, VocabularyMismatchError
from sciml.chem.transformer import (
    MolecularTransformer,
    SmilesTokenDataset,
    adapt,
    embed,
    load_stage,
    mask_tokens,
    pretrain,
)
from sciml.chem.transformer.data import IGNORE_INDEX
from sciml.train import CheckpointError

MOLECULES = [
    "CCO",
    "c1ccccc1O",
    "CC(=O)Nc1ccc(O)cc1",
    "CCN(CC)CC",
    "OC(=O)c1ccccc1",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "ClCCl",
    "CC(=O)OC1=CC=CC=C1C(=O)O",
]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tokenizer():
    return SmilesTokenizer.build_vocab(MOLECULES)


def test_masking_80_10_10(tokenizer):
    torch.manual_seed(0)
    ids = torch.randint(5, tokenizer.vocab_size, (400, 50))
    ids[:, 0], ids[:, -1] = tokenizer.cls_id, tokenizer.sep_id
    mask = torch.ones_like(ids, dtype=torch.bool)
    masked, labels = mask_tokens(ids, mask, tokenizer)
    chosen = labels != IGNORE_INDEX
    assert abs(chosen.float().mean().item() - 0.15 * 48 / 50) < 0.01
    assert not chosen[:, 0].any() and not chosen[:, -1].any()  # specials never masked
    frac_mask = (masked[chosen] == tokenizer.mask_id).float().mean().item()
    frac_same = (masked[chosen] == ids[chosen]).float().mean().item()
    assert abs(frac_mask - 0.8) < 0.03
    assert 0.08 < frac_same < 0.14  # 10 % kept, plus random draws that hit the same token
    torch.testing.assert_close(labels[chosen], ids[chosen])
    assert (masked[~chosen] == ids[~chosen]).all()


def test_every_sequence_gets_a_label(tokenizer):
    ids = torch.tensor([[2, 7, 3, 0]] * 64)
    _, labels = mask_tokens(ids, ids != 0, tokenizer)
    assert ((labels != IGNORE_INDEX).sum(1) == 1).all()


def test_dataset_collate_and_errors(tokenizer):
    desc = np.arange(16, dtype=float).reshape(8, 2)
    ds = SmilesTokenDataset(MOLECULES, tokenizer, 64, descriptors=desc, mlm=True)
    batch = ds.collate([ds[0], ds[5]])
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert batch["descriptors"].shape == (2, 2)
    with pytest.raises(InvalidSmilesError, match="longer than the model.s maximum of 8 tokens"):
        SmilesTokenDataset(MOLECULES, tokenizer, 8)
    skipped = SmilesTokenDataset(MOLECULES + ["C€"], tokenizer, 64, errors="skip")
    assert len(skipped) == 8 and skipped.invalid[0].index == 8


def test_mlm_loss_decreases_when_overfitting():
    stage = pretrain(
        MOLECULES * 8,
        size="tiny",
        epochs=25,
        lr=3e-3,
        batch_size=32,
        val_fraction=0.0,
        progress=False,
        seed=0,
    )
    losses = stage.history["train_mlm"].to_numpy()
    assert losses[-3:].mean() < 0.6 * losses[:3].mean()


def test_mtr_learns_a_descriptor(tokenizer):
    base = pretrain([], size="tiny", n_molecules=0, tokenizer=tokenizer, progress=False)
    stage = adapt(
        base, MOLECULES * 6, objective="mtr", epochs=30, lr=3e-3, batch_size=16, progress=False
    )
    model = stage.model
    assert len(model.descriptor_names) > 50 and model.descriptor_scaler.fitted
    losses = stage.history["train_mtr"].to_numpy()
    assert losses[-3:].mean() < 0.5 * losses[:3].mean()
    # Heavy atom count predicted back in physical units tracks the truth.
    k = model.descriptor_names.index("HeavyAtomCount")
    ds = SmilesTokenDataset(MOLECULES, stage.tokenizer, 256)
    batch = ds.collate([ds[i] for i in range(len(ds))])
    with torch.no_grad():
        z = model(batch)["descriptors"][:, k].double()
    pred = z * model.descriptor_scaler.std[k] + model.descriptor_scaler.mean[k]
    truth = [9 - 6, 7, 11, 7, 9, 15, 3, 13]
    assert np.corrcoef(pred.numpy(), truth)[0, 1] > 0.8


def test_checkpoint_round_trip_and_vocab_refusal(tmp_path, tokenizer):
    stage = pretrain(
        MOLECULES,
        size="tiny",
        epochs=1,
        progress=False,
        tokenizer=tokenizer,
        output=tmp_path / "pre.pt",
    )
    loaded = load_stage(tmp_path / "pre.pt")
    assert loaded.tokenizer == tokenizer
    assert loaded.info["stages"][0]["stage"] == "pretrain"
    np.testing.assert_array_equal(embed(stage, MOLECULES), embed(loaded, MOLECULES))
    load_stage(tmp_path / "pre.pt", tokenizer=tokenizer)
    other = SmilesTokenizer.build_vocab(MOLECULES + ["BrC[Se]"])
    with pytest.raises(VocabularyMismatchError, match="another tokenizer vocabulary"):
        load_stage(tmp_path / "pre.pt", tokenizer=other)
    with pytest.raises(VocabularyMismatchError):
        adapt(tmp_path / "pre.pt", MOLECULES, tokenizer=other, progress=False)


def test_not_a_stage_checkpoint(tmp_path):
    from sciml.train import RegressionMLP, save_checkpoint

    save_checkpoint(tmp_path / "mlp.pt", RegressionMLP(2, 1))
    with pytest.raises(CheckpointError, match="tokenizer"):
        load_stage(tmp_path / "mlp.pt")


def test_embed_errors_policies(tokenizer):
    stage = pretrain([], size="tiny", n_molecules=0, tokenizer=tokenizer, progress=False)
    smiles = ["CCO", "C€", "c1ccccc1O"]
    with pytest.raises(InvalidSmilesError):
        embed(stage, smiles)
    nan = embed(stage, smiles, errors="nan")
    assert nan.shape == (3, 64) and np.isnan(nan[1]).all() and not np.isnan(nan[[0, 2]]).any()
    np.testing.assert_allclose(embed(stage, smiles, errors="skip"), nan[[0, 2]], atol=1e-6)


def test_embed_precision(tokenizer):
    stage = pretrain([], size="tiny", n_molecules=0, tokenizer=tokenizer, progress=False)
    fp32 = embed(stage, MOLECULES, precision="fp32")
    bf16 = embed(stage, MOLECULES, precision="bf16")
    assert bf16.dtype == np.float32 and bf16.shape == fp32.shape
    # bf16 keeps ~3 significant digits: close to fp32, but not the same computation
    np.testing.assert_allclose(bf16, fp32, atol=0.05 * np.abs(fp32).max())
    assert not np.array_equal(bf16, fp32)
    np.testing.assert_array_equal(embed(stage, MOLECULES, precision="auto"), fp32)  # CPU
    with pytest.raises(ValueError, match="auto, fp32, bf16"):
        embed(stage, MOLECULES, precision="fp16")


def test_with_heads_keeps_encoder(tokenizer):
    encoder = {
        "vocab_size": tokenizer.vocab_size,
        "d_model": 32,
        "n_layers": 1,
        "n_heads": 2,
        "d_ff": 64,
        "max_len": 64,
    }
    model = MolecularTransformer(encoder, descriptor_names=["a", "b"])
    grown = model.with_heads(endpoint_names=["y"])
    for key, value in model.encoder.state_dict().items():
        torch.testing.assert_close(grown.encoder.state_dict()[key], value)
    assert grown.endpoint_names == ["y"] and grown.descriptor_names == ["a", "b"]


def test_corpus_dataset_matches_smiles_dataset(tokenizer, tmp_path):
    from sciml.chem.corpus import TokenCorpus
    from sciml.chem.transformer.data import CorpusTokenDataset

    corpus = TokenCorpus.build([*MOLECULES, "CC[Si]C", "C" * 70], tokenizer, tmp_path / "c")
    dataset = CorpusTokenDataset(corpus, tokenizer, max_len=64)
    reference = SmilesTokenDataset(MOLECULES, tokenizer, 64)
    assert len(dataset) == len(MOLECULES)  # untokenisable and too long rows left out
    np.testing.assert_array_equal(dataset.lengths, reference.lengths)
    for i in range(len(MOLECULES)):
        torch.testing.assert_close(dataset[i]["input_ids"], reference[i]["input_ids"])
    batch = dataset.collate([dataset[0], dataset[5]])
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["labels"].shape == batch["input_ids"].shape == (2, reference.lengths[5])
    other = SmilesTokenizer.build_vocab(["CCO"])
    with pytest.raises(ValueError, match="tokenised with another vocabulary"):
        CorpusTokenDataset(corpus, other, max_len=64)


def test_pretrain_token_cache_trains_the_same_model(tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path))
    corpus = MOLECULES * 6
    kwargs = dict(
        size="tiny", epochs=2, tokenizer=tokenizer, progress=False, seed=3, corpus_name="same"
    )
    plain = pretrain(corpus, **kwargs)
    cached = pretrain(corpus, token_cache=True, **kwargs)
    assert list((tmp_path / "corpus").glob("tokens-same-*"))  # the cache was used
    for key, value in plain.model.state_dict().items():
        torch.testing.assert_close(cached.model.state_dict()[key], value)
    np.testing.assert_allclose(cached.history["train_loss"], plain.history["train_loss"])


def test_pretrain_epoch_size_and_provenance(tokenizer):
    stage = pretrain(
        MOLECULES * 6,
        size="tiny",
        epochs=3,
        epoch_size=10,
        tokenizer=tokenizer,
        progress=False,
        vocab_smiles=["C[N+](C)(C)C"],
    )
    assert len(stage.history) == 3
    last = stage.info["stages"][-1]
    assert last["molecules_seen"] == 30 and last["n_molecules"] == 48
    built = pretrain(
        MOLECULES * 6, size="tiny", epochs=1, progress=False, vocab_smiles=["C[N+](C)(C)C"]
    )
    assert "[N+]" in built.tokenizer.vocab  # vocabulary from the corpus and vocab_smiles


def test_adapt_defaults_are_the_recipe_that_helped():
    import inspect

    # 5 or 20 epochs at 2e-4 made MTR-DA embeddings worse in the ADME benchmark.
    params = inspect.signature(adapt).parameters
    assert (params["epochs"].default, params["lr"].default) == (30, 1e-3)
    from sciml.chem.models.transformer import TransformerConfig

    config = TransformerConfig()
    assert (config.adapt_epochs, config.adapt_lr) == (30, 1e-3)
