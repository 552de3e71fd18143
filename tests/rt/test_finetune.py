"""The RT fine-tuning recipe: enumeration, TTA shapes, save/load, errors, the CLI."""

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from sciml.chem import InvalidSmilesError
from sciml.cli import main
from sciml.rt.data import RTDataset, build_tokenizer
from sciml.rt.finetune import (
    _CONTEXT_PROPERTIES,
    FineTunedRT,
    FineTuneRecipe,
    context_values,
    fine_tune,
    fine_tune_select,
    fits,
    randomized_smiles,
)
from sciml.rt.generation import RDKIT_PROPERTIES
from sciml.rt.numbers import NumberTokenizer, PropertySpec

TINY = FineTuneRecipe(epochs=2, n_models=2, augment=2, tta=3, batch_size=8, val_fraction=0.25)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def logp(molecules):
    from rdkit.Chem import Crippen

    return np.array([Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in molecules])


@pytest.fixture(scope="module")
def tuned(trained_rt, molecules, logp, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tuned")
    model = fine_tune(
        molecules, logp, "logp_y", init_from=trained_rt, recipe=TINY, checkpoint_dir=folder
    )
    return model, folder


def test_randomized_smiles_rows_start_with_the_canonical_smiles():
    rows = randomized_smiles(["OCC", "c1ccccc1C(=O)O", "C"], 4, seed=1)
    assert [len(r) for r in rows] == [4, 4, 4]
    assert [r[0] for r in rows] == ["CCO", "O=C(O)c1ccccc1", "C"]
    assert len(set(rows[1])) > 1  # benzoic acid has other atom orders
    for row in rows:
        canon = {Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in row}
        assert canon == {row[0]}  # every variant is the same molecule
    assert randomized_smiles(["c1ccccc1C(=O)O"], 4, seed=2) == [rows[1]]  # row i: seed + i
    with pytest.raises(ValueError, match=r"\[1\] 'C1CC' is not a valid SMILES"):
        randomized_smiles(["CC", "C1CC"], 2)
    with pytest.raises(ValueError, match="k must be at least 1"):
        randomized_smiles(["CC"], 0)


def test_recipe_checks_its_settings():
    with pytest.raises(ValueError, match="objective"):
        FineTuneRecipe(objective="generation")
    with pytest.raises(ValueError, match="context properties \\['mw'\\]"):
        FineTuneRecipe(context=("mw",))
    with pytest.raises(ValueError, match="tta"):
        FineTuneRecipe(tta=0)
    with pytest.raises(ValueError, match="lrs"):
        FineTuneRecipe(lrs=())
    assert set(_CONTEXT_PROPERTIES) == set(RDKIT_PROPERTIES)
    recipe = FineTuneRecipe(context=("logp",), lrs=(1e-3, 3e-4))
    assert FineTuneRecipe.from_dict(recipe.to_dict()) == recipe


def test_fine_tune_trains_saves_reloads_and_predicts_the_same(tuned, molecules, logp, tmp_path):
    model, _ = tuned
    assert len(model.members) == 2
    assert logp.min() - 1 < model.low < model.high < logp.max() + 1  # the training range + 5%
    sel = model.selection
    assert sel["n_train"] + sel["n_val"] == len(molecules) and sel["n_val"] == 3
    assert sel["models"][0]["train_sequences"] > sel["n_train"]  # the enumeration added rows
    pred = model.predict(molecules)
    assert list(pred.columns) == ["smiles", "logp_y", "logp_y_std"]
    assert np.isfinite(pred["logp_y"]).all() and (pred["logp_y_std"] >= 0).all()
    assert pred["logp_y"].between(model.low, model.high).all()
    model.save(tmp_path / "m")
    again = FineTunedRT.load(tmp_path / "m")
    np.testing.assert_allclose(again.predict(molecules)["logp_y"], pred["logp_y"], rtol=1e-6)
    assert again.recipe == model.recipe and again.selection["lr"] == model.selection["lr"]
    with pytest.raises(FileNotFoundError, match="not a fine-tuned RT folder"):
        FineTunedRT.load(tmp_path)


def test_a_rerun_resumes_from_the_checkpoint_folder(tuned, trained_rt, molecules, logp):
    model, folder = tuned
    assert sorted(p.name for p in folder.glob("*.pt")) == ["lr0.002_seed0.pt", "lr0.002_seed1.pt"]
    again = fine_tune(
        molecules, logp, "logp_y", init_from=trained_rt, recipe=TINY, checkpoint_dir=folder
    )
    # Read back, not retrained: the same records (CPU seconds included), the same scores.
    for a, b in zip(again.selection["models"], model.selection["models"], strict=True):
        assert a.pop("val_rmse", 0) == pytest.approx(b.get("val_rmse", 0), rel=1e-6)
        assert a == {k: v for k, v in b.items() if k != "val_rmse"}
    np.testing.assert_allclose(
        again.predict(molecules)["logp_y"], model.predict(molecules)["logp_y"], rtol=1e-6
    )


def test_tta_shapes_and_the_mean(tuned, molecules):
    model, _ = tuned
    per = model.predict_variants(molecules[:5], tta=4)
    assert per.shape == (2, 5, 4)
    assert np.isfinite(per[:, :, 0]).all()  # the canonical encoding is always readable
    pred = model.predict(molecules[:5], tta=4)["logp_y"].to_numpy()
    np.testing.assert_allclose(pred, np.nanmean(per, axis=2).mean(axis=0))
    one = model.predict(molecules[:5], tta=1)["logp_y"].to_numpy()
    np.testing.assert_allclose(one, per[:, :, 0].mean(axis=0))


def test_bad_input_follows_errors(tuned, trained_rt, molecules, logp):
    model, _ = tuned
    with pytest.raises(InvalidSmilesError, match="not_a_smiles"):
        model.predict(["CCO", "not_a_smiles"])
    nan = model.predict(["CCO", "not_a_smiles"], errors="nan")
    assert np.isfinite(nan["logp_y"][0]) and np.isnan(nan["logp_y"][1])
    assert list(model.predict(["CCO", "not_a_smiles"], errors="skip").index) == [0]
    y = logp.copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match=r"1 rows have a missing .* \(\[3\] 'CCN\(CC\)CC'\)"):
        fine_tune(molecules, y, "logp_y", init_from=trained_rt, recipe=TINY)
    bad = [*molecules[:-1], "C1CC"]
    with pytest.raises(InvalidSmilesError, match="C1CC"):
        fine_tune(bad, logp, "logp_y", init_from=trained_rt, recipe=TINY)
    with pytest.raises(ValueError, match="12 SMILES but 11 target values"):
        fine_tune(molecules, logp[:-1], "logp_y", init_from=trained_rt, recipe=TINY)
    skipped = fine_tune(
        bad,
        y,
        "logp_y",
        init_from=trained_rt,
        recipe=FineTuneRecipe(epochs=1, n_models=1, augment=0, tta=1, val_fraction=0.25),
        errors="skip",
    )
    assert skipped.selection["n_train"] + skipped.selection["n_val"] == 10


def test_context_is_given_not_predicted(trained_rt, molecules, logp, tmp_path):
    numbers = NumberTokenizer([PropertySpec("y", 0, 1, 3), PropertySpec("logp", -5, 10, 2)])
    tok = build_tokenizer(molecules, numbers)
    ds = RTDataset(
        molecules, np.c_[np.full(12, 0.5), logp], numbers, tok, mode="property", given=[1]
    )
    batch = ds.collate([ds[i] for i in range(4)])
    labelled = (batch["property_labels"] != -100).any(dim=0).nonzero().flatten().tolist()
    assert labelled == ds.property_positions[0].tolist()  # only the target's slots
    assert (batch["input_ids"][:, ds.property_positions[1]] != tok.mask_id).all()
    with pytest.raises(ValueError, match="some but not all"):
        RTDataset(molecules, np.c_[np.full(12, 0.5), logp], numbers, tok, given=[0, 1])
    recipe = FineTuneRecipe(
        epochs=1, n_models=1, augment=1, tta=2, val_fraction=0.25, context=("qed",)
    )
    model = fine_tune(molecules, logp, "logp_y", init_from=trained_rt, recipe=recipe)
    member = model.members[0]
    assert member.config.context == ("qed",) and member.property_names == ["logp_y", "qed"]
    assert np.isfinite(model.predict(molecules)["logp_y"]).all()
    # Validation scores the target only: the given column's targets are NaN (not scored).
    from sciml.rt.model import RTObjective

    qed = [v["qed"] for v in context_values(molecules, ["qed"])]
    val = RTDataset(
        molecules,  # the fixture model writes SMILES
        np.c_[np.full(12, 0.5), qed],
        member.numbers,
        member.tokenizer,
        mode="property",
        given=[1],
    )
    batch = val.collate([val[i] for i in range(5)])
    decoded = RTObjective().decode(member.net(batch), batch, member.net)
    assert torch.isnan(decoded["target"][:, 1]).all()
    assert torch.isfinite(decoded["target"][:, 0]).all()
    model.save(tmp_path / "ctx")
    assert FineTunedRT.load(tmp_path / "ctx").members[0].config.context == ("qed",)
    with pytest.raises(ValueError, match="cannot also be a context"):
        fine_tune(molecules, logp, "qed", init_from=trained_rt, recipe=recipe)


def test_select_chooses_on_validation(trained_rt, molecules, logp, tmp_path):
    base = FineTuneRecipe(epochs=1, n_models=2, augment=0, tta=1, val_fraction=0.25)
    cands = [base, FineTuneRecipe(**{**base.to_dict(), "lrs": (1e-2,), "context": ("qed",)})]
    model = fine_tune_select(
        molecules, logp, "y", cands, init_from=trained_rt, checkpoint_dir=tmp_path
    )
    scores = [c["val_rmse"] for c in model.selection["candidates"]]
    assert model.selection["chosen"] == int(np.argmin(scores))
    assert len(model.members) == 2
    assert (tmp_path / "candidate_0").is_dir() and (tmp_path / "candidate_1").is_dir()
    with pytest.raises(ValueError, match="share seed"):
        fine_tune_select(molecules, logp, "y", [base, FineTuneRecipe(seed=1)], init_from=trained_rt)


def test_fits_names_molecules_too_long(trained_rt):
    long = "C" * trained_rt.net.encoder.max_len  # no room left for the property block
    ok = fits(["CCO", long, "xyz"], "y", FineTuneRecipe(), init_from=trained_rt)
    assert ok.tolist() == [True, False, False]
    scratch = fits(["CCO", "C" * 120], "y", FineTuneRecipe(), init_from=False)  # SELFIES, 128
    assert scratch.tolist() == [True, False]


def test_cli_finetune_then_predict(tmp_path, molecules, logp, trained_rt, capsys):
    base = tmp_path / "base.pt"
    trained_rt.save(base)
    train = tmp_path / "train.csv"
    pd.DataFrame({"smiles": molecules, "logp": logp}).to_csv(train, index=False)
    out = tmp_path / "tuned"
    args = ["rt", "finetune", "--train", str(train), "--property", "logp", "--out", str(out)]
    args += ["--init-from", str(base), "--epochs", "1", "--models", "1", "--augment", "1"]
    args += ["--tta", "2", "--val-fraction", "0.25"]
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    assert FineTunedRT.is_saved(out) and (tmp_path / "tuned.checkpoints").is_dir()
    query = tmp_path / "q.csv"
    pd.DataFrame({"id": ["a", "b"], "smiles": ["CCO", "nope"]}).to_csv(query, index=False)
    pred = tmp_path / "pred.csv"
    predict = ["rt", "predict", "--model", str(out), "--input", str(query), "--out", str(pred)]
    assert main([*predict, "--errors", "nan"]) == 0
    frame = pd.read_csv(pred)
    assert list(frame.columns) == ["row", "id", "smiles", "logp", "logp_std"]
    assert np.isfinite(frame["logp"][0]) and np.isnan(frame["logp"][1])
    assert main(predict) != 0  # errors=raise on 'nope'
    assert "nope" in capsys.readouterr().err


def test_from_scratch_builds_a_tiny_selfies_rt(molecules, logp):
    recipe = FineTuneRecipe(epochs=1, n_models=1, augment=1, tta=2, val_fraction=0.25)
    model = fine_tune(molecules, logp, "y", init_from=False, recipe=recipe)
    member = model.members[0]
    assert member.config.language == "selfies" and member.config.objective == "property"
    assert member.net.encoder.max_len == 128
    assert np.isfinite(model.predict(molecules[:3])["y"]).all()
