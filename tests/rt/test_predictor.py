import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from sciml.chem.smiles import InvalidSmilesError
from sciml.chem.tokenizer import VocabularyMismatchError
from sciml.rt import PropertySpec, RegressionTransformer, UnknownPropertyError, generation
from sciml.rt.data import build_tokenizer
from sciml.rt.numbers import NumberTokenizer
from sciml.rt.predictor import RTConfig
from sciml.train import TrainConfig


def test_overfits_a_handful_of_molecules(trained_rt, molecules, qed_frame):
    pred = trained_rt.predict(molecules)
    assert list(pred.columns) == ["smiles", "qed"]
    err = np.abs(pred["qed"].to_numpy() - qed_frame["qed"].to_numpy())
    assert np.median(err) <= 0.02 and err.max() < 0.15


def test_sampling_gives_an_uncertainty(trained_rt, molecules):
    fit = trained_rt.predict(molecules[:3], n_samples=8)
    assert list(fit.columns) == ["smiles", "qed", "qed_mean", "qed_std"]
    # The shipped checkpoint (held-out RMSE ~0.1) is unsure: sampled digit sequences spread,
    # their mean approaches the expected-value decoding, and the seed fixes the samples.
    from importlib.resources import files

    rt = RegressionTransformer.load(str(files("sciml") / "assets" / "demo_rt.pt"))
    smiles = ["CC(=O)Nc1ccc(O)cc1", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "FC(F)(F)c1ccc(Br)cc1"]
    pred = rt.predict(smiles, n_samples=400, seed=0)
    assert (pred["qed_std"] > 0.01).all() and (pred["qed_std"] < 0.3).all()
    np.testing.assert_allclose(pred["qed_mean"], pred["qed"], atol=0.02)
    again = rt.predict(smiles, n_samples=400, seed=0)
    other = rt.predict(smiles, n_samples=400, seed=1)
    assert again["qed_std"].tolist() == pred["qed_std"].tolist()
    assert other["qed_std"].tolist() != pred["qed_std"].tolist()


def _accounted(out) -> int:
    """Every candidate of a generate() call, by what became of it."""
    a = out.attrs
    kinds = ("n_invalid", "n_filtered", "n_duplicates", "n_unchanged", "n_surplus")
    return len(out) + sum(a[k] for k in kinds)


def test_errors_policies(trained_rt):
    smiles = ["CCO", "C1CC", "not a smiles"]
    with pytest.raises(InvalidSmilesError, match=r"2 invalid SMILES of 3"):
        trained_rt.predict(smiles)
    nan = trained_rt.predict(smiles, errors="nan")
    assert len(nan) == 3 and nan["qed"].isna().tolist() == [False, True, True]
    skip = trained_rt.predict(smiles, errors="skip")
    assert skip.index.tolist() == [0] and [b.index for b in skip.attrs["invalid"]] == [1, 2]
    with pytest.raises(ValueError, match="errors must be one of"):
        trained_rt.predict(smiles, errors="ignore")


def test_generate_returns_valid_canonical_unique_molecules(trained_rt, molecules):
    out = trained_rt.generate(
        molecules[:4], {"qed": [0.3, 0.8]}, n=6, mask_fraction=0.4, max_rounds=1, keep_seed=True
    )
    assert list(out.columns) == [
        "seed",
        "target_qed",
        "smiles",
        "predicted_qed",
        "true_qed",
        "is_seed",
    ]
    a = out.attrs
    assert a["n_generated"] == 4 * 2 * 6
    assert len(out) + a["n_invalid"] + a["n_filtered"] + a["n_duplicates"] == a["n_generated"]
    for smi in out["smiles"]:
        assert Chem.MolToSmiles(Chem.MolFromSmiles(smi)) == smi
    assert not out.duplicated(["seed", "target_qed", "smiles"]).any()
    assert np.allclose(
        out["true_qed"], [Chem.QED.qed(Chem.MolFromSmiles(s)) for s in out["smiles"]]
    )
    assert set(out["target_qed"]) <= {0.3, 0.8}


def test_generate_bad_input(trained_rt, molecules):
    with pytest.raises(
        UnknownPropertyError, match="unknown property 'logp'; this model knows: qed"
    ):
        trained_rt.generate(molecules[:1], {"logp": 2.0})
    with pytest.raises(ValueError, match=r"outside the trained range \[0.0, 1.0\]"):
        trained_rt.generate(molecules[:1], {"qed": 1.4})
    with pytest.warns(UserWarning, match="clipped"):
        out = trained_rt.generate(molecules[:1], {"qed": 1.4}, n=2, out_of_range="clip")
    assert (out["target_qed"] == 1.0).all()
    with pytest.raises(InvalidSmilesError):
        trained_rt.generate(["C1CC"], {"qed": 0.5})
    out = trained_rt.generate(["C1CC", molecules[0]], {"qed": 0.5}, n=2, errors="skip")
    assert [b.index for b in out.attrs["invalid_seeds"]] == [0]
    assert set(out["seed"]) <= {molecules[0]}


def test_save_load_identical_and_vocabulary_checked(trained_rt, molecules, tmp_path):
    path = trained_rt.save(tmp_path / "rt.pt")
    loaded = RegressionTransformer.load(path)
    pd.testing.assert_frame_equal(loaded.predict(molecules), trained_rt.predict(molecules))
    assert loaded.property_names == ["qed"]
    other = build_tokenizer(["CCO"], NumberTokenizer([PropertySpec("qed", 0, 1, 2)]))
    with pytest.raises(VocabularyMismatchError, match="token ids would mean different tokens"):
        RegressionTransformer.load(path, tokenizer=other)
    RegressionTransformer.load(path, tokenizer=trained_rt.tokenizer)


def test_init_from_refuses_another_vocabulary(trained_rt, molecules, qed_frame):
    other = build_tokenizer(["CCO", "CCN"], NumberTokenizer([PropertySpec("qed", 0, 1, 2)]))
    rt = RegressionTransformer(["qed"], RTConfig(size="tiny", precision=2), tokenizer=other)
    with pytest.raises(VocabularyMismatchError):
        rt.fit(
            ["CCO", "CCN"],
            pd.DataFrame({"qed": [0.4, 0.4]}),
            init_from=trained_rt,
            train_config=TrainConfig(max_epochs=1, progress=False),
        )


def test_init_from_grows_the_vocabulary_for_a_new_property(trained_rt, molecules):
    from rdkit import Chem
    from rdkit.Chem import Crippen

    # A new property and a token (Br) the QED model never saw.
    smiles = [*molecules, "CCBr", "BrCCO"]
    logp = [Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in smiles]
    rt = RegressionTransformer([PropertySpec("logp", -3, 6, 1)], trained_rt.config)
    rt.fit(
        smiles,
        pd.DataFrame({"logp": logp}),
        init_from=trained_rt,
        train_config=TrainConfig(max_epochs=1, lr=1e-9, warmup=0, progress=False),
    )
    old, new = trained_rt.tokenizer, rt.tokenizer
    assert new.vocab[: old.vocab_size] == old.vocab
    assert {"Br", "<logp>"} <= set(new.vocab) - set(old.vocab)
    # Known tokens keep their trained rows (lr ~0: one step barely moves them).
    before = trained_rt.net.encoder.token_embedding.weight.detach()
    after = rt.net.encoder.token_embedding.weight.detach()
    assert torch.allclose(after[: old.vocab_size], before, atol=1e-5)
    assert rt.predict(["CCBr"])["logp"].notna().all()


def test_untrained_model_and_unknown_target_column():
    rt = RegressionTransformer(["qed"], RTConfig(size="tiny"))
    with pytest.raises(RuntimeError, match="not trained"):
        rt.predict(["CCO"])
    with pytest.raises(KeyError, match="lack columns"):
        rt.fit(["CCO"], pd.DataFrame({"logp": [1.0]}))


def test_generate_refills_invalid_candidates(trained_rt, molecules):
    kwargs = dict(n=6, mask_fraction=0.4, temperature=0.0, seed=0, max_rounds=1)
    once = trained_rt.generate(molecules[:6], {"qed": [0.3, 0.8]}, max_retries=0, **kwargs)
    retried = trained_rt.generate(molecules[:6], {"qed": [0.3, 0.8]}, max_retries=4, **kwargs)
    assert once.attrs["n_retried"] == 0
    assert retried.attrs["n_retried"] > 0
    assert retried.attrs["n_invalid"] < once.attrs["n_invalid"]
    assert retried.attrs["n_generated"] == once.attrs["n_generated"]


@pytest.mark.parametrize("decoding", ["greedy", "expected", "sequential"])
def test_every_decoding_fits_the_training_molecules(trained_rt, molecules, qed_frame, decoding):
    pred = trained_rt.predict(molecules, decoding=decoding)["qed"].to_numpy()
    err = np.abs(pred - qed_frame["qed"].to_numpy())
    assert np.median(err) <= 0.03 and ((pred >= 0) & (pred <= 1)).all()
    on_grid = np.allclose(pred, np.round(pred, 2))
    # Argmax decodings read digits (the 2-decimal grid); the expectation is continuous.
    assert on_grid == (decoding != "expected")


def test_unknown_decoding_is_refused(trained_rt):
    with pytest.raises(ValueError, match="choose one of: greedy, expected, sequential"):
        trained_rt.predict(["CCO"], decoding="beam")


def test_atom_masking_keeps_the_skeleton(trained_rt, molecules):
    seeds = [s for s in molecules if "1" in s][:4]
    out = trained_rt.generate(
        seeds, {"qed": [0.3, 0.8]}, n=4, mask="atoms", mask_fraction=0.5, repair=True, best_of=1
    )
    a = out.attrs
    assert a["n_fills"] == a["n_generated"] + a["n_retried"]
    assert 0 <= a["n_repaired_fills"] <= a["n_fills"] - a["n_invalid_fills"]
    assert a["n_generated"] > 0
    assert _accounted(out) == a["n_generated"]
    # Atom tokens are replaced one for one; rings and branches stay.
    for seed, smi in zip(out["seed"], out["smiles"], strict=True):
        before, after = Chem.MolFromSmiles(seed), Chem.MolFromSmiles(smi)
        assert after.GetNumAtoms() == before.GetNumAtoms()
        assert after.GetRingInfo().NumRings() == before.GetRingInfo().NumRings()


def test_best_of_keeps_the_fill_predicted_closest_to_the_target(trained_rt, molecules):
    fills = [[molecules[0], None, molecules[2]], [molecules[1], molecules[3], None]]
    targets = [{"qed": 0.9}, {"qed": 0.1}, {"qed": 0.5}]
    chosen = generation.rerank(trained_rt, fills, targets, batch_size=8)
    pred = dict(zip(molecules, trained_rt.predict(molecules)["qed"], strict=True))
    expected = min(fills[0][0], fills[1][0], key=lambda s: abs(pred[s] - 0.9))
    assert chosen == [expected, molecules[3], molecules[2]]
    assert generation.rerank(trained_rt, [[None, None]], targets[:2], batch_size=8) == [None, None]
    out = trained_rt.generate(molecules[:2], {"qed": 0.5}, n=2, best_of=3, max_retries=0)
    assert out.attrs["n_fills"] == 3 * out.attrs["n_generated"]
    with pytest.raises(ValueError, match="best_of"):
        trained_rt.generate(molecules[:2], {"qed": 0.5}, best_of=0)
    with pytest.raises(ValueError, match="mask must be"):
        trained_rt.generate(molecules[:2], {"qed": 0.5}, mask="bonds")


def test_similarity_reranks_towards_the_seed_and_never_keeps_the_seed(trained_rt):
    seed, near, far = "CCOc1ccccc1", "CCCOc1ccccc1", "O=C(O)C1CCNCC1"
    pred = dict(zip([near, far], trained_rt.predict([near, far])["qed"], strict=True))
    # A target exactly at the far molecule's prediction: property alone keeps it.
    target = [{"qed": float(pred[far])}]
    fills = [[seed], [far], [near]]
    assert generation.rerank(trained_rt, fills, target, seeds=[seed]) == [far]
    # The seed itself is passed over even when it is the only fill, unless it may be kept.
    assert generation.rerank(trained_rt, [[seed]], target, seeds=[seed]) == [None]
    kept = generation.rerank(
        trained_rt, fills, target, seeds=[seed], similarity=5.0, keep_seed=True
    )
    assert kept == [seed]
    # Weighting similarity enough keeps the near analogue instead (gap < 1 range unit).
    assert generation.rerank(trained_rt, fills, target, seeds=[seed], similarity=5.0) == [near]
    sims = generation._seed_similarity([[near, None]], [seed, seed])
    assert 0.2 < sims[0, 0] < 1 and sims[0, 1] == 0
    with pytest.raises(ValueError, match="similarity must be .auto. or a finite number >= 0"):
        trained_rt.generate([seed], {"qed": 0.5}, similarity=-1)


def test_min_similarity_bounds_every_output_and_counts_what_it_refused(trained_rt, molecules):
    seeds = molecules[:3]
    kwargs = dict(n=3, mask_fraction=0.5, max_rounds=2, best_of=4, exclude={})
    bound = 0.45
    with warnings.catch_warnings():  # the tiny RT falls short of n: not under test here
        warnings.simplefilter("ignore", generation.GenerationWarning)
        free = trained_rt.generate(seeds, {"qed": [0.3, 0.8]}, **kwargs)
        out = trained_rt.generate(seeds, {"qed": [0.3, 0.8]}, min_similarity=bound, **kwargs)
    canon = dict(zip(seeds, trained_rt.encode(seeds).canonical, strict=True))
    sims = generation.tanimoto_to([canon[s] for s in out["seed"]], out["smiles"].tolist())
    assert len(out) and (sims >= bound).all()
    free_sims = generation.tanimoto_to([canon[s] for s in free["seed"]], free["smiles"].tolist())
    assert (free_sims < bound).any()  # the bound had something to refuse
    a = out.attrs
    assert "min_similarity" in a["filtered_by"]
    assert _accounted(out) == a["n_generated"]
    with pytest.raises(ValueError, match=r"min_similarity must be 'auto' or in \[0, 1\)"):
        trained_rt.generate(seeds, {"qed": 0.5}, min_similarity=1.0)
    assert generation.tanimoto_to(["CCO"], ["not a smiles"]).tolist() == [0.0]
    with pytest.raises(ValueError, match="2 references for 1 molecules"):
        generation.tanimoto_to(["CCO", "CCN"], ["CCO"])


def test_fit_names_or_skips_molecules_longer_than_the_encoder(molecules, qed_frame):
    config = RTConfig(size="tiny", precision=2, encoder_overrides={"max_len": 40})
    long = "C" * 35
    smiles = [*molecules, long]
    y = pd.DataFrame({"qed": [*qed_frame["qed"], 0.3]})
    train = TrainConfig(max_epochs=1, progress=False)
    with pytest.raises(
        ValueError,
        match=r"(?s)1 training molecules do not fit the model.*"
        r"'C{35}': 35 tokens, longer than the maximum of 32",
    ):
        RegressionTransformer(["qed"], config).fit(smiles, y, train_config=train)
    with pytest.warns(UserWarning, match=r"1 training molecules left out \(too long"):
        rt = RegressionTransformer(["qed"], config).fit(
            smiles, y, train_config=train, errors="skip"
        )
    assert rt.predict([long], errors="nan")["qed"].isna().all()


def test_tta_averages_the_canonical_and_randomised_encodings(trained_rt, molecules):
    from sciml.chem.smiles import randomized_smiles

    smiles = molecules[2:7]
    variants = randomized_smiles(smiles, 3, seed=0)
    by_hand = np.stack(
        [trained_rt.score([row[j] for row in variants], canonicalize=False)[:, 0] for j in range(3)]
    )
    assert not np.allclose(by_hand[0], by_hand[1])  # the encodings really differ
    pred = trained_rt.predict(smiles, tta=3)["qed"].to_numpy()
    np.testing.assert_allclose(pred, by_hand.mean(axis=0), rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        trained_rt.predict(smiles, tta=1)["qed"], by_hand[0], rtol=0, atol=1e-6
    )
    sampled = trained_rt.predict(smiles, tta=3, n_samples=16)
    assert sampled[["qed_mean", "qed_std"]].notna().all().all()
    assert (sampled["qed_std"] >= 0).all()


def test_tta_default_comes_from_the_config_and_survives_save_load(trained_rt, molecules, tmp_path):
    from dataclasses import replace

    rt = RegressionTransformer.load(trained_rt.save(tmp_path / "rt.pt"))
    rt.config = replace(rt.config, tta=4)
    reloaded = RegressionTransformer.load(rt.save(tmp_path / "tta.pt"))
    assert reloaded.config.tta == 4
    pd.testing.assert_frame_equal(reloaded.predict(molecules), rt.predict(molecules, tta=4))
    assert not np.allclose(reloaded.predict(molecules)["qed"], rt.predict(molecules, tta=1)["qed"])


@pytest.mark.parametrize("tta", [0, -1, 1.5, True])
def test_tta_must_be_a_positive_integer(trained_rt, tta):
    with pytest.raises(ValueError, match="tta must be an integer >= 1"):
        trained_rt.predict(["CCO"], tta=tta)
    with pytest.raises(ValueError, match="tta must be an integer >= 1"):
        RTConfig(tta=tta)


def test_a_numpy_integer_tta_is_stored_as_a_plain_int():
    config = RTConfig(tta=np.int64(4))
    assert config.tta == 4 and type(config.tta) is int  # JSON-writable in a checkpoint


@pytest.mark.parametrize("bad", [0, "8", 2.5])
def test_a_stored_tta_that_is_no_positive_integer_is_a_checkpoint_error(trained_rt, tmp_path, bad):
    import json

    from sciml.train.checkpoint import CheckpointError

    path = trained_rt.save(tmp_path / "rt.pt")
    payload = torch.load(path, weights_only=True)
    config = json.loads(payload["extra"]["config"])
    config["tta"] = bad
    payload["extra"]["config"] = json.dumps(config)
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"bad\.pt.*tta"):
        RegressionTransformer.load(tmp_path / "bad.pt")


def test_pool_keeps_the_best_scoring_candidates_of_each_seed_and_target(
    trained_rt, molecules, monkeypatch
):
    seeds, n, pool = molecules[:3], 2, 3
    calls = []
    sort_out = generation._Run._sort_out

    def spy(self, pair, smi, i):
        calls.append((pair, smi))
        return sort_out(self, pair, smi, i)

    monkeypatch.setattr(generation._Run, "_sort_out", spy)
    kwargs = dict(n=n, max_rounds=1, max_retries=0, best_of=2, similarity=0.0, exclude={})
    with warnings.catch_warnings():  # the tiny RT may fall short of n: counted, not tested
        warnings.simplefilter("ignore", generation.GenerationWarning)
        out = trained_rt.generate(seeds, {"qed": [0.2, 0.9]}, pool=pool, **kwargs)
    a = out.attrs
    assert a["n_generated"] == pool * n * len(seeds) * 2  # one round: pool * n per pair
    assert _accounted(out) == a["n_generated"]
    span = trained_rt.numbers.spec("qed").vmax - trained_rt.numbers.spec("qed").vmin
    made = sorted({smi for _, smi in calls if smi is not None})
    pred = dict(zip(made, trained_rt.score(made)[:, 0], strict=True))
    canon = trained_rt.encode(seeds).canonical
    targets = (0.2, 0.9)
    for s_idx, seed in enumerate(canon):
        for t_idx, target in enumerate(targets):
            order = [smi for pair, smi in calls if pair == (s_idx, t_idx) and smi is not None]
            distance = [abs(pred[smi] - target) / span for smi in order]
            assert distance == sorted(distance)  # best-scoring candidates are sorted out first
            kept = [smi for smi in dict.fromkeys(order) if smi != seed][:n]
            rows = out[(out["seed"] == seeds[s_idx]) & (out["target_qed"] == target)]
            assert rows["smiles"].tolist() == kept
    # pool 1 sorts out the candidates in the order they were made
    calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", generation.GenerationWarning)
        one = trained_rt.generate(seeds, {"qed": 0.5}, pool=1, **kwargs)
    assert one.attrs["n_generated"] == n * len(seeds)
    for bad in (0, -1, 1.5, True, "many"):
        with pytest.raises(ValueError, match="pool must be 'auto' or an integer >= 1"):
            trained_rt.generate(seeds, {"qed": 0.5}, pool=bad)


def test_scored_rerank_scores_are_the_distance_less_the_similarity_bonus(trained_rt):
    seed, near, far = "CCOc1ccccc1", "CCCOc1ccccc1", "O=C(O)C1CCNCC1"
    span = trained_rt.numbers.spec("qed").vmax - trained_rt.numbers.spec("qed").vmin
    pred = dict(zip([near, far], trained_rt.score([near, far])[:, 0], strict=True))
    kept, scores = generation.scored_rerank(
        trained_rt,
        [[near, None], [far, None]],
        [{"qed": 0.5}, {"qed": 0.5}],
        seeds=[seed, seed],
        similarity=0.7,
    )
    sims = generation.tanimoto_to([seed, seed], [near, far])
    expected = {
        s: abs(pred[s] - 0.5) / span - 0.7 * t for s, t in zip([near, far], sims, strict=True)
    }
    assert kept[0] == min(expected, key=expected.get)
    assert scores[0] == pytest.approx(expected[kept[0]])
    assert kept[1] is None and scores[1] == np.inf
