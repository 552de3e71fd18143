import numpy as np
import pytest
import torch

from sciml.rt.data import (
    IGNORE_INDEX,
    RTDataset,
    build_tokenizer,
    mask_molecule_spans,
    sequence_text,
)
from sciml.rt.numbers import NumberTokenizer, PropertySpec

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC"]


@pytest.fixture
def setup():
    numbers = NumberTokenizer([PropertySpec("qed", 0, 1, 3), PropertySpec("logp", -5, 10, 2)])
    tok = build_tokenizer(SMILES, numbers)
    values = np.array([[0.4, 1.0], [0.5, np.nan], [0.6, -2.5], [0.7, 3.0]])
    return numbers, tok, RTDataset(SMILES, values, numbers, tok)


def test_sequence_text():
    numbers = NumberTokenizer([PropertySpec("qed", 0, 1, 4)])
    assert sequence_text({"qed": 0.39364}, "CBr", numbers) == "<qed>0.3936|CBr"


def test_alternates_and_property_mode_masks_exactly_the_value_tokens(setup):
    numbers, tok, ds = setup
    samples = [ds[i] for i in range(len(ds))]
    first, second, third = ds.collate(samples), ds.collate(samples), ds.collate(samples)
    assert (
        "property_labels" in first and "generation_labels" in second and "property_labels" in third
    )
    value_tokens = {
        t for s in numbers.specs for t in s.tokens() if t.startswith("_") and t != "_._"
    }
    for i, s in enumerate(samples):
        original = tok.convert_ids_to_tokens(s["ids"])
        masked = first["input_ids"][i, : len(original)]
        changed = [
            j for j, t in enumerate(original) if tok.convert_ids_to_tokens([int(masked[j])])[0] != t
        ]
        assert changed == [j for j, t in enumerate(original) if t in value_tokens]
        labelled = torch.nonzero(first["property_labels"][i] != IGNORE_INDEX).flatten().tolist()
        assert labelled == changed
        assert first["property_labels"][i, labelled].tolist() == s["ids"][labelled].tolist()
    # the missing logp of row 1 is masked but unlabelled
    pos = ds.value_positions[-5:]
    assert (first["input_ids"][1, pos] == tok.mask_id).all()
    assert (first["property_labels"][1, pos] == IGNORE_INDEX).all()


def test_generation_mode_masks_only_molecule_spans(setup):
    numbers, tok, ds = setup
    ds.mode = "generation"
    samples = [ds[i] for i in range(len(ds))]
    for _ in range(20):
        batch = ds.collate(samples)
        for i, s in enumerate(samples):
            labels = batch["generation_labels"][i]
            pos = torch.nonzero(labels != IGNORE_INDEX).flatten()
            assert len(pos) >= 1
            assert pos.min() >= ds.mol_start and pos.max() < len(s["ids"]) - 1
            assert (batch["input_ids"][i, pos] == tok.mask_id).all()
            assert (labels[pos] == torch.as_tensor(s["ids"])[pos]).all()
            keep = torch.ones(len(s["ids"]), dtype=torch.bool)
            keep[pos] = False
            assert (
                batch["input_ids"][i, : len(s["ids"])][keep] == torch.as_tensor(s["ids"])[keep]
            ).all()


@pytest.mark.parametrize("n, fraction", [(1, 0.5), (10, 0.3), (40, 0.6), (7, 1.0)])
def test_span_mask_counts(n, fraction):
    rng = np.random.default_rng(0)
    for _ in range(50):
        mask = mask_molecule_spans(n, fraction, rng)
        assert mask.sum() == min(n, max(1, round(fraction * n)))
        assert 1 <= np.sum(np.diff(np.concatenate([[0], mask.astype(int)])) == 1) <= 2


def test_bad_rows_listed(setup):
    numbers, tok, _ = setup
    with pytest.raises(ValueError, match=r"\[1\].*outside the trained range"):
        RTDataset(["CCO", "CCC"], [[0.5, 1.0], [2.0, 1.0]], numbers, tok)
    with pytest.raises(ValueError, match="expected"):
        RTDataset(["CCO"], [[0.5]], numbers, tok)


def test_reveal_digits_shows_leading_value_tokens_and_labels_the_rest():
    numbers = NumberTokenizer([PropertySpec("qed", 0, 1, 3), PropertySpec("x", -5, 5, 1)])
    smiles = ["CCO", "c1ccccc1", "CCN", "CCCl"] * 8
    values = np.random.default_rng(0).uniform(0, 1, (32, 2))
    values[0, 1] = np.nan
    tok = build_tokenizer(smiles, numbers)
    torch.manual_seed(0)
    full = RTDataset(smiles, values, numbers, tok, mode="property")
    ds = RTDataset(smiles, values, numbers, tok, mode="property", reveal_digits=0.5)
    plain = full.collate([full[i] for i in range(32)])
    batch = ds.collate([ds[i] for i in range(32)])
    n_shown = 0
    for positions in ds.property_positions:
        ids, labels = batch["input_ids"][:, positions], batch["property_labels"][:, positions]
        truth = plain["property_labels"][:, positions]
        masked = ids == tok.mask_id
        # A masked slot is labelled with the truth (unless missing); a shown one is the truth.
        assert torch.equal(labels[masked], truth[masked])
        assert torch.equal(ids[~masked], truth[~masked]) and (labels[~masked] == -100).all()
        # Shown slots are a leading run, and at least the last slot stays masked.
        assert (masked.int().diff(dim=1) >= 0).all() and masked[:, -1].all()
        n_shown += int((~masked).any(1).sum())
    assert 0.25 * 64 < n_shown < 0.75 * 64
    assert (plain["input_ids"][:, ds.value_positions] == tok.mask_id).all()
    with pytest.raises(ValueError, match="reveal_digits"):
        RTDataset(smiles, values, numbers, tok, reveal_digits=1.5)


def test_slack_slots_never_make_a_row_longer_than_max_length():
    numbers = NumberTokenizer([PropertySpec("qed", 0, 1, 3)])
    smiles = ["C" * 30]
    tok = build_tokenizer(smiles, numbers)
    from sciml.rt.data import encode_sequence

    n = len(encode_sequence({"qed": 0.5}, smiles[0], numbers, tok))
    capped = RTDataset(
        smiles,
        [[0.5]],
        numbers,
        tok,
        mode="generation",
        span_slack=4.0,
        mask_fraction=(1.0, 1.0),
        max_length=n + 3,
    )
    free = RTDataset(
        smiles, [[0.5]], numbers, tok, mode="generation", span_slack=4.0, mask_fraction=(1.0, 1.0)
    )
    torch.manual_seed(0)
    widths = [capped.collate([capped[0]])["input_ids"].shape[1] for _ in range(20)]
    assert max(widths) <= n + 3 and max(widths) > n  # slack used, up to the cap
    assert max(free.collate([free[0]])["input_ids"].shape[1] for _ in range(20)) > n + 3
