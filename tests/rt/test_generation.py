"""Generation: variable-length spans, chemistry filters, n molecules or a reasoned shortfall."""

import json
import warnings

import numpy as np
import pytest
import torch
from rdkit import Chem

from sciml.rt import RegressionTransformer
from sciml.rt.decoding import iterative_unmask
from sciml.rt.filters import MoleculeFilter
from sciml.rt.generation import GenerationWarning, primer_influence


def _capture_fills(monkeypatch):
    """Record every (rows, texts) pair fill() sees: the masked inputs and their raw fills."""
    seen = []
    original = RegressionTransformer.fill

    def spy(rt, rows, **kwargs):
        texts, n_repaired = original(rt, rows, **kwargs)
        seen.append((list(rows), list(texts)))
        return texts, n_repaired

    monkeypatch.setattr(RegressionTransformer, "fill", spy)
    return seen


def test_span_slack_lets_molecules_grow_and_shrink(trained_rt, molecules, monkeypatch):
    # trained_rt was trained with the RTConfig default span_slack=0.5 ([PAD]-labelled slots).
    assert trained_rt.config.span_slack == 0.5
    seeds = [s for s in molecules if len(trained_rt.tokenizer.tokenize(s)) >= 8][:4]
    n_tokens = {s: len(trained_rt.tokenizer.tokenize(s)) for s in seeds}
    kwargs = dict(
        n=4, mask_fraction=0.5, max_rounds=1, max_retries=0, exclude={}, keep_seed=True, best_of=1
    )
    lengths = {}
    for slack in (0.0, None):
        seen = _capture_fills(monkeypatch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GenerationWarning)  # most fills of 50% are invalid
            trained_rt.generate(seeds, {"qed": 0.5}, span_slack=slack, **kwargs)
        rows = [r for rows, _ in seen for r in rows]
        texts = [t for _, texts in seen for t in texts]
        base = 1 + trained_rt.numbers.block_length + 1  # [CLS] block | ... [SEP]
        # Slot counts per candidate (candidates are made seed by seed, n each).
        slots = [len(r) - base for r in rows]
        expected = [n_tokens[s] for s in seeds for _ in range(4)]
        lengths[slack] = [len(trained_rt.tokenizer.tokenize(t)) for t in texts]
        if slack == 0.0:
            assert slots == expected
            assert lengths[slack] == expected  # the old behaviour: one token per slot
        else:
            assert any(a > b for a, b in zip(slots, expected, strict=True))
            assert all(a >= b for a, b in zip(slots, expected, strict=True))
            # [PAD] fills are dropped: decoded lengths differ from the seed's.
            assert any(n != e for n, e in zip(lengths[slack], expected, strict=True))


def test_pad_is_chosen_only_when_allowed(trained_rt, molecules):
    net = trained_rt.net
    seed = molecules[2]
    row = trained_rt.encode([seed], [{"qed": 0.5}]).ids[0]
    start = net.mol_start
    # A masked span of 4 followed by 4 slack slots, as the model saw in training.
    masked = row[: start + 2] + [net.mask_id] * 8 + row[start + 6 :]
    ids, attention = trained_rt._pad([masked] * 16, trained_rt.tokenizer.pad_id)
    gen = torch.Generator().manual_seed(0)
    with_pad = iterative_unmask(net, ids, attention, temperature=1.0, generator=gen, pad=True)
    without = iterative_unmask(net, ids, attention, temperature=1.0, generator=gen)
    filled = ids == net.mask_id
    assert (with_pad[filled] == net.pad_id).any()
    assert not (without[filled] == net.pad_id).any()
    ok = net.molecule_tokens[with_pad[filled]] | (with_pad[filled] == net.pad_id)
    assert ok.all()


def test_old_checkpoint_without_span_slack_still_generates(trained_rt, molecules, tmp_path):
    path = trained_rt.save(tmp_path / "rt.pt")
    payload = torch.load(path, weights_only=True)
    config = json.loads(payload["extra"]["config"])
    del config["span_slack"]  # as saved before span slack existed
    payload["extra"]["config"] = json.dumps(config)
    torch.save(payload, path)
    old = RegressionTransformer.load(path)
    assert old.config.span_slack == 0.0
    out = old.generate(molecules[:3], {"qed": [0.3, 0.8]}, n=2, seed=0)
    assert len(out) > 0 and set(out["target_qed"]) <= {0.3, 0.8}


def test_filtered_fills_are_refilled_and_counted(trained_rt, molecules):
    seeds = molecules[:6]
    carbonyl = {"carbonyl": "[CX3]=O"}
    out = trained_rt.generate(
        seeds, {"qed": 0.5}, n=3, mask_fraction=0.5, exclude=carbonyl, max_rounds=2, best_of=1
    )
    a = out.attrs
    pattern = Chem.MolFromSmarts("[CX3]=O")
    assert not any(Chem.MolFromSmiles(s).HasSubstructMatch(pattern) for s in out["smiles"])
    assert a["n_filtered_fills"] > 0
    assert set(a["filtered_by"]) == {"radical", "carbonyl"}
    assert a["n_filtered"] == sum(a["filtered_by"].values())
    # Every refused fill is refilled: more fills than candidates x (1 + retries used).
    assert a["n_fills"] == a["n_generated"] + a["n_retried"]
    assert a["n_retried"] >= a["n_filtered"]
    free = trained_rt.generate(
        seeds, {"qed": 0.5}, n=3, mask_fraction=0.5, exclude={}, max_rounds=2
    )
    assert free.attrs["filtered_by"] == {} and free.attrs["n_filtered_fills"] == 0


def test_generate_returns_n_distinct_molecules_per_seed_and_target(trained_rt, molecules):
    seeds = molecules[2:6]
    out = trained_rt.generate(seeds, {"qed": [0.3, 0.8]}, n=2, mask_fraction=0.5, max_rounds=6)
    a = out.attrs
    sizes = out.groupby(["seed", "target_qed"]).size()
    assert (sizes <= 2).all()
    assert a["n_asked"] == 2 * len(seeds) * 2
    assert (
        a["n_returned"]
        == len(out)
        == a["n_asked"] - sum(2 - row["returned"] for row in a["shortfall"])
    )
    assert a["n_generated"] == (
        a["n_returned"]
        + a["n_invalid"]
        + a["n_filtered"]
        + a["n_duplicates"]
        + a["n_unchanged"]
        + a["n_surplus"]
    )
    assert not out["is_seed"].any() and not (out["smiles"] == out["seed"]).any()
    assert not out.duplicated(["seed", "target_qed", "smiles"]).any()
    # Rounds went on only while a pair was short.
    assert a["n_rounds"] == 1 or a["n_generated"] > 2 * len(seeds) * 2


def test_shortfall_is_warned_with_reasons_and_recorded(trained_rt):
    # Ethanol has 3 tokens: far fewer than 40 distinct edits exist.
    with pytest.warns(
        GenerationWarning,
        match=r"1 of 1 seed/target pairs got fewer than n=40 "
        r"molecules after 2 round\(s\): CCO \(qed=0.5\): \d+ of 40 from \d+ "
        r"candidates \(\d+ invalid, \d+ duplicates, \d+ the seed unchanged",
    ):
        out = trained_rt.generate(["CCO"], {"qed": 0.5}, n=40, max_rounds=2)
    (short,) = out.attrs["shortfall"]
    assert short["seed"] == "CCO" and short["target_qed"] == 0.5
    assert short["returned"] == len(out) < 40
    assert short["candidates"] == out.attrs["n_generated"] > 40  # a second round was made
    assert out.attrs["n_rounds"] == 2
    assert short["candidates"] == (
        short["returned"]
        + short["invalid"]
        + sum(short["filtered"].values())
        + short["duplicates"]
        + short["unchanged"]
    )
    with pytest.raises(ValueError, match="max_rounds must be >= 1"):
        trained_rt.generate(["CCO"], {"qed": 0.5}, max_rounds=0)
    with pytest.raises(ValueError, match="span_slack must be >= 0"):
        trained_rt.generate(["CCO"], {"qed": 0.5}, span_slack=-1)


def test_keep_seed_counts_the_seed_as_an_output(trained_rt, molecules):
    kwargs = dict(n=4, mask_fraction=0.2, temperature=0.0, max_rounds=1, exclude={}, mask="spans")
    kept = trained_rt.generate(molecules[:6], {"qed": 0.5}, keep_seed=True, **kwargs)
    dropped = trained_rt.generate(molecules[:6], {"qed": 0.5}, **kwargs)
    n_seed = int(kept["is_seed"].sum())
    assert n_seed > 0  # a tiny overfit model often writes the seed back
    assert dropped.attrs["n_unchanged"] >= n_seed and not dropped["is_seed"].any()
    assert kept.attrs["n_unchanged"] == 0


def test_primer_influence_measures_the_fill_distribution(trained_rt, molecules):
    stats = primer_influence(trained_rt, molecules[:6], {"qed": [0.1, 0.9]}, mask_fraction=0.4)
    assert set(stats) == {"tv_mean", "tv_median", "argmax_changed", "max_prob_mean", "positions"}
    assert 0 < stats["tv_mean"] <= 1 and 0 <= stats["argmax_changed"] <= 1
    assert stats["positions"] >= 6
    same = primer_influence(trained_rt, molecules[:6], {"qed": [0.5, 0.5]}, mask_fraction=0.4)
    assert same["tv_mean"] == pytest.approx(0, abs=1e-6) and same["argmax_changed"] == 0
    with pytest.raises(ValueError, match="at least two values"):
        primer_influence(trained_rt, molecules[:2], {"qed": [0.5]})


def test_molecule_filter_matches_generate_default(trained_rt):
    # exclude=None in generate means the default MoleculeFilter.
    out = trained_rt.generate(["CC(=O)Nc1ccc(O)cc1"], {"qed": 0.5}, n=1, max_rounds=1)
    assert list(out.attrs["filtered_by"]) == MoleculeFilter().names
    assert np.isfinite(out["true_qed"]).all()


def test_auto_settings_follow_the_language_and_explicit_ones_stay():
    from sciml.rt.generation import AUTO_SETTINGS, GenerationConfig

    auto = GenerationConfig()
    assert (auto.n_steps, auto.best_of) == ("auto", "auto")
    selfies = auto.for_language("selfies")
    assert (selfies.n_steps, selfies.best_of) == (1, AUTO_SETTINGS["selfies"]["best_of"])
    assert (auto.for_language("smiles").n_steps, auto.for_language("smiles").best_of) == (None, 4)
    assert (selfies.similarity, auto.for_language("smiles").similarity) == (0.5, 0.0)
    assert GenerationConfig(similarity=0.2).for_language("selfies").similarity == 0.2
    with pytest.raises(ValueError, match="similarity must be"):
        GenerationConfig(similarity=float("nan"))
    mine = GenerationConfig(n_steps=3, best_of=2).for_language("selfies")
    assert (mine.n_steps, mine.best_of) == (3, 2)
    for language in ("selfies", "smiles"):  # every "auto" field resolves to a value
        resolved = auto.for_language(language)
        assert (resolved.mask_fraction, resolved.pool) == (
            AUTO_SETTINGS[language]["mask_fraction"],
            AUTO_SETTINGS[language]["pool"],
        )
        assert all(getattr(resolved, k) != "auto" for k in AUTO_SETTINGS[language])
    assert GenerationConfig(mask_fraction=0.4, pool=3).for_language("selfies").mask_fraction == 0.4
    for bad in (0, 1.5, True, "half"):
        with pytest.raises(ValueError, match="mask_fraction must be 'auto' or in"):
            GenerationConfig(mask_fraction=bad)
    with pytest.raises(ValueError, match="best_of must be 'auto' or >= 1"):
        GenerationConfig(best_of=0)
    with pytest.raises(ValueError, match="n_steps must be None, 'auto' or >= 1"):
        GenerationConfig(n_steps="fast")


def test_progress_bar_follows_the_option(trained_rt, capsys):
    from sciml.rt.generation import GenerationConfig

    kwargs = dict(n=1, best_of=2, max_rounds=1, exclude={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trained_rt.generate(["CCOc1ccccc1"], {"qed": 0.5}, progress=True, **kwargs)
        assert "generate: 1 candidates" in capsys.readouterr().err
        trained_rt.generate(["CCOc1ccccc1"], {"qed": 0.5}, **kwargs)  # "auto": a small round
        trained_rt.generate(["CCOc1ccccc1"], {"qed": 0.5}, progress=False, **kwargs)
        assert "generate:" not in capsys.readouterr().err
    with pytest.raises(ValueError, match="progress must be True, False or 'auto', got 'yes'"):
        GenerationConfig(progress="yes")
