import numpy as np
import pytest
import torch
from torch import nn

from sciml.rt.data import RTDataset, build_tokenizer
from sciml.rt.decoding import iterative_unmask, sequential_slot_ids
from sciml.rt.model import (
    RegressionTransformerNet,
    RTObjective,
    SelfConsistency,
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


def _slot_logits_net(specs, probs_per_slot, vocab_extra=("C",)):
    """A net and logits ``(1, L, V)`` whose value-slot softmax equals the given probabilities."""
    numbers = NumberTokenizer([PropertySpec(**s) for s in specs])
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *numbers.vocabulary(), *vocab_extra]
    net = RegressionTransformerNet(vocab, specs, size="tiny")
    length = 1 + numbers.block_length + 2
    logits = torch.full((1, length, len(vocab)), -30.0)
    ids = {t: i for i, t in enumerate(vocab)}
    for pos, probs in zip(net.value_positions.tolist(), probs_per_slot, strict=True):
        for token, p in probs.items():
            logits[0, pos, ids[token]] = float(np.log(p))
    return net, logits


def test_expected_decoding_is_the_mean_of_the_slot_distributions():
    specs = [PropertySpec("qed", 0, 1, 2).to_dict(), PropertySpec("logp", -5, 5, 1).to_dict()]
    qed_slots = [
        {"_0_0_": 1.0},
        {"_3_-1_": 0.5, "_6_-1_": 0.5},
        {f"_{d}_-2_": 0.1 for d in range(10)},
    ]
    logp_slots = [{"_+_": 0.75, "_-_": 0.25}, {"_2_0_": 0.2, "_4_0_": 0.8}, {"_5_-1_": 1.0}]
    net, logits = _slot_logits_net(specs, qed_slots + logp_slots)
    values, reasons = net.expected_values(logits)

    def mean(slots, places):
        return sum(
            p * int(tok.split("_")[1]) * 10.0**place
            for probs, place in zip(slots, places, strict=True)
            for tok, p in probs.items()
        )

    qed = mean(qed_slots, [0, -1, -2])
    logp = (0.75 - 0.25) * mean(logp_slots[1:], [0, -1])
    np.testing.assert_allclose(values, [[qed, logp]], atol=1e-9)
    assert reasons == [["", ""]]
    # The argmax of each slot (ties aside) is what greedy decoding reads instead.
    greedy = net.decode_values(logits)["pred"]
    assert greedy[0, 1] == pytest.approx(4.5)
    assert net.decode_values(logits, decoding="expected")["pred"] == pytest.approx(values)


def test_expected_decoding_clips_to_the_range_and_flags_nan():
    specs = [PropertySpec("qed", 0, 1, 1).to_dict()]
    net, logits = _slot_logits_net(specs, [{"_9_0_": 1.0}, {"_5_-1_": 1.0}])
    assert net.expected_values(logits)[0][0, 0] == 1.0
    values, reasons = net.expected_values(torch.full_like(logits, float("nan")))
    assert np.isnan(values[0, 0]) and "non-finite" in reasons[0][0]


class _FixedLogits(nn.Module):
    """Stands in for the net: logits from a function of the input ids."""

    def __init__(self, net, fn):
        super().__init__()
        self.net, self.fn = net, fn
        for name in ("value_positions", "mask_id", "slot_logits"):
            setattr(self, name, getattr(net, name))

    def forward(self, batch):
        return {"logits": self.fn(batch["input_ids"])}


def test_sequential_equals_greedy_when_slots_are_independent():
    specs = [PropertySpec("qed", 0, 1, 3).to_dict()]
    slots = [{"_0_0_": 0.9, "_1_0_": 0.1}, {"_3_-1_": 0.6, "_4_-1_": 0.4}]
    slots += [{"_7_-2_": 0.3, "_2_-2_": 0.7}, {"_5_-3_": 0.5, "_1_-3_": 0.1, "_9_-3_": 0.4}]
    net, logits = _slot_logits_net(specs, slots)
    ids = torch.full(logits.shape[:2], net.mask_id)
    fixed = _FixedLogits(net, lambda _: logits)
    sequential = sequential_slot_ids(fixed, ids, torch.ones_like(ids, dtype=torch.bool))
    greedy = net.slot_logits(logits).argmax(-1)
    assert torch.equal(sequential, greedy)
    assert net.decode_slots(sequential)[0][0, 0] == pytest.approx(0.325)


def test_sequential_conditions_each_digit_on_the_ones_before():
    # The second decimal's distribution depends on the first decimal written in the input:
    # greedy (all slots masked) reads the "unsure" row, sequential the conditional one.
    specs = [PropertySpec("qed", 0, 1, 2).to_dict()]
    slots = [{"_0_0_": 1.0}, {"_4_-1_": 0.6, "_5_-1_": 0.4}, {"_5_-2_": 0.5, "_9_-2_": 0.5 - 1e-3}]
    net, base = _slot_logits_net(specs, slots)
    vocab = {t: i for i, t in enumerate(net.vocab)}
    pos = net.value_positions.tolist()

    def fn(ids):
        logits = base.clone().expand(len(ids), -1, -1).clone()
        if ids[0, pos[1]] == vocab["_4_-1_"]:
            logits[:, pos[2], vocab["_9_-2_"]] = 5.0
        return logits

    ids = torch.full(base.shape[:2], net.mask_id)
    sequential = sequential_slot_ids(
        _FixedLogits(net, fn), ids, torch.ones_like(ids, dtype=torch.bool)
    )
    assert net.decode_slots(sequential)[0][0, 0] == pytest.approx(0.49)
    assert net.decode_values(base)["pred"][0, 0] == pytest.approx(0.45)


def test_unknown_decoding_lists_the_known_ones(parts):
    _, _, ds, net = parts
    logits = net(ds.collate([ds[0]]))["logits"]
    with pytest.raises(ValueError, match="greedy, expected, sequential"):
        net.decode_values(logits, decoding="mean")
    with pytest.raises(ValueError, match="sequential_slot_ids"):
        net.decode_values(logits, decoding="sequential")
