import numpy as np
import pytest
import torch

from sciml.rt.data import RTDataset, build_tokenizer
from sciml.rt.model import (
    RegressionTransformerNet,
    RTObjective,
    SelfConsistency,
    iterative_unmask,
    numerical_encodings,
)
from sciml.rt.numbers import NumberTokenizer, PropertySpec

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC"]


@pytest.fixture
def parts():
    torch.manual_seed(0)
    numbers = NumberTokenizer([PropertySpec("qed", 0, 1, 3), PropertySpec("logp", -5, 10, 2)])
    tok = build_tokenizer(SMILES, numbers)
    ds = RTDataset(
        SMILES, np.array([[0.4, 1.0], [0.5, 2.0], [0.6, -2.5], [0.7, 3.0]]), numbers, tok
    )
    net = RegressionTransformerNet(tok.vocab, [s.to_dict() for s in numbers.specs], size="tiny")
    return numbers, tok, ds, net


def test_numerical_encodings_only_on_digits():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "_3_-1_", "_0_0_", "C"]
    table = numerical_encodings(vocab, 6, scale=1.0)
    assert torch.allclose(table[5], torch.tensor([0.3, -0.15, 0.1, -0.075, 0.06, -0.05]))
    assert table[[0, 4, 6, 7]].abs().sum() == 0


def test_forward_objective_and_decode(parts):
    numbers, tok, ds, net = parts
    batch = ds.collate([ds[i] for i in range(4)])
    out = net(batch)
    assert out["logits"].shape == (*batch["input_ids"].shape, tok.vocab_size)
    terms = RTObjective().terms(out, batch, net)
    assert set(terms) == {"property", "digit_distance"} and all(
        torch.isfinite(v) for v in terms.values()
    )
    decoded = RTObjective().decode(out, batch, net)
    assert decoded["pred"].shape == (4, 2) and torch.isfinite(decoded["pred"]).all()
    gen = ds.collate([ds[i] for i in range(4)])
    assert set(RTObjective().terms(net(gen), gen, net)) == {"generation"}
    assert RTObjective().decode(net(gen), gen, net) is None


def test_decoded_values_respect_slot_constraints(parts):
    _, _, ds, net = parts
    batch = ds.collate([ds[i] for i in range(4)])
    values = net.decode_values(net(batch)["logits"], n_samples=4)
    assert values["pred"].shape == values["std"].shape == (4, 2)
    assert np.isfinite(values["pred"]).all()
    assert (np.abs(values["pred"][:, 1]) < 100).all()


def test_malformed_slot_ids_become_nan_with_reason(parts):
    _, tok, _, net = parts
    slots = torch.full((1, len(net.value_positions)), tok.token_to_id["C"])
    values, reasons = net.decode_slots(slots)
    assert np.isnan(values).all()
    assert all("not a number token" in r or "sign token" in r for r in reasons[0])


def test_self_consistency_has_gradient_into_generator(parts):
    _, _, ds, net = parts
    ds.mode = "generation"
    batch = ds.collate([ds[i] for i in range(4)])
    loss = SelfConsistency()(net, batch, None)["self_consistency"]
    loss.backward()
    assert torch.isfinite(loss) and net.encoder.token_embedding.weight.grad.abs().sum() > 0
    ds.mode = "property"
    assert SelfConsistency()(net, ds.collate([ds[0]]), None) == {}


def test_iterative_unmask_fills_only_masks_with_smiles_tokens(parts):
    _, tok, ds, net = parts
    ds.mode = "generation"
    batch = ds.collate([ds[i] for i in range(4)])
    masked = batch["input_ids"] == tok.mask_id
    filled = iterative_unmask(
        net.eval(),
        batch["input_ids"],
        batch["attention_mask"],
        n_steps=3,
        temperature=1.0,
        generator=torch.Generator().manual_seed(0),
    )
    assert (filled[~masked] == batch["input_ids"][~masked]).all()
    assert net.molecule_tokens[filled[masked]].all()


def test_vocabulary_without_number_tokens_refused():
    with pytest.raises(ValueError, match="lacks number tokens"):
        RegressionTransformerNet(
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "C"],
            [PropertySpec("qed", 0, 1).to_dict()],
            size="tiny",
        )


def test_iterative_unmask_fixes_one_position_per_pass_by_default(parts):
    # Filling several masks in one pass picks each token independently of the others
    # (e.g. two ring-bond digits, or '(' without ')'); by default every pass fixes one.
    _, tok, ds, net = parts
    ds.mode = "generation"
    ds.mask_fraction = (0.6, 0.6)
    batch = ds.collate([ds[2]])
    n_masked = int((batch["input_ids"] == tok.mask_id).sum())
    assert n_masked > 4
    calls = []

    def counting(b):
        calls.append(int((b["input_ids"] == tok.mask_id).sum()))
        return net(b)

    counting.mol_start, counting.mask_id = net.mol_start, net.mask_id
    counting.molecule_tokens, counting.vocab = net.molecule_tokens, net.vocab
    filled = iterative_unmask(counting, batch["input_ids"], batch["attention_mask"])
    assert calls == list(range(n_masked, 0, -1))
    assert not (filled == tok.mask_id).any()


def test_iterative_unmask_keeps_smiles_syntax_even_untrained(parts):
    # An untrained net picks tokens at random; the syntax check keeps many more outputs
    # parsable as SMILES syntax (a relaxed check can still reach a dead end; valence is
    # RDKit's job after decoding).
    from rdkit import Chem, rdBase

    _, tok, ds, net = parts
    ds.mode = "generation"
    ds.mask_fraction = (0.5, 0.5)
    torch.manual_seed(1)
    batch = ds.collate([ds[i % 4] for i in range(32)])
    rates = {}
    for syntax in (False, True):
        filled = iterative_unmask(
            net.eval(),
            batch["input_ids"],
            batch["attention_mask"],
            temperature=1.0,
            generator=torch.Generator().manual_seed(0),
            syntax=syntax,
        )
        texts = [tok.decode(row[net.mol_start :]) for row in filled]
        with rdBase.BlockLogs():
            rates[syntax] = np.mean(
                [Chem.MolFromSmiles(t, sanitize=False) is not None for t in texts]
            )
    assert rates[True] >= 0.5 > 2 * rates[False], rates
