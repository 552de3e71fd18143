import json

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor

from sciml.chem.models import RandomForestModel, load_model
from sciml.chem.models._trees import ForestArrays
from sciml.chem.models.base import META_FILE, NotFittedError
from sciml.chem.smiles import InvalidSmilesError
from sciml.metrics import pearson, r2
from sciml.train import CheckpointError
from tests.chem._molecules import SMILES, synthetic_targets, with_missing


@pytest.fixture(scope="module")
def fitted():
    return RandomForestModel(n_estimators=30, n_jobs=1, descriptor_cache=False).fit(
        SMILES, with_missing(synthetic_targets())
    )


def test_forest_arrays_reproduce_sklearn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6))
    y = x[:, 0] - 2 * x[:, 1] ** 2 + rng.normal(scale=0.1, size=200)
    forest = RandomForestRegressor(n_estimators=15, max_features=0.5, random_state=0).fit(x, y)
    arrays = ForestArrays.from_sklearn(forest)
    x_new = rng.normal(size=(97, 6))
    mean, std = arrays.predict(x_new)
    np.testing.assert_allclose(mean, forest.predict(x_new), rtol=1e-12, atol=1e-12)
    per_tree = np.stack([t.predict(x_new) for t in forest.estimators_], axis=1)
    np.testing.assert_allclose(std, per_tree.std(axis=1), rtol=1e-10, atol=1e-12)
    # Thresholds are compared in float32 like scikit-learn: points on a split agree too.
    on_split = np.tile(x_new[:5], (1, 1))
    on_split[:, arrays.feature[0]] = arrays.threshold[0]
    np.testing.assert_allclose(arrays.predict(on_split)[0], forest.predict(on_split), rtol=1e-12)


def test_fits_training_data_and_handles_missing_labels(fitted):
    y = synthetic_targets()
    train_pred = fitted.predict(SMILES)
    assert list(train_pred.columns) == ["logp", "mw"]
    assert train_pred.notna().all().all()
    # Each forest saw only its labelled rows; it still fits every row well (overfit check).
    assert r2(y.to_numpy(), train_pred.to_numpy(), reduce="none").min() > 0.8
    assert pearson(y.to_numpy(), train_pred.to_numpy(), reduce="none").min() > 0.9


def test_save_load_round_trip_is_identical_and_pickle_free(fitted, tmp_path):
    queries = ["CCCCCCCO", "c1ccc(O)cc1C", "CCN(CC)CC"]
    before = fitted.predict(queries, return_std=True)
    fitted.save(tmp_path / "rf")
    meta = json.loads((tmp_path / "rf" / META_FILE).read_text())
    assert meta["model"] == "rf" and meta["targets"] == ["logp", "mw"]
    with np.load(tmp_path / "rf" / meta["extra"]["weights"], allow_pickle=False) as arrays:
        assert all(arrays[k].dtype != object for k in arrays.files)
    for loaded in (RandomForestModel.load(tmp_path / "rf"), load_model(tmp_path / "rf")):
        assert isinstance(loaded, RandomForestModel)
        pd.testing.assert_frame_equal(loaded.predict(queries, return_std=True), before)
    assert (before[["logp_std", "mw_std"]] >= 0).all().all()


def test_errors_policies(fitted):
    inputs = ["CCO", "not-a-smiles", None, "c1ccccc1"]
    with pytest.raises(InvalidSmilesError) as info:
        fitted.predict(inputs)
    assert [bad.index for bad in info.value.invalid] == [1, 2]
    skipped = fitted.predict(inputs, errors="skip")
    assert skipped.index.tolist() == [0, 3]
    assert [row[0] for row in skipped.attrs["invalid"]] == [1, 2]
    kept = fitted.predict(inputs, errors="nan")
    assert kept.index.tolist() == [0, 1, 2, 3]
    assert kept.iloc[[1, 2]].isna().all().all() and kept.iloc[[0, 3]].notna().all().all()
    pd.testing.assert_frame_equal(kept.iloc[[0, 3]], skipped, check_names=False)
    series = pd.Series(["CCO", "C1CC"], index=["a", "b"])
    assert fitted.predict(series, errors="skip").index.tolist() == ["a"]


def test_fit_errors_skip_drops_rows_and_reports():
    smiles = SMILES[:20] + ["C1CC"]
    y = pd.concat(
        [synthetic_targets(SMILES[:20]), pd.DataFrame({"logp": [1.0], "mw": [1.0]})],
        ignore_index=True,
    )
    with pytest.raises(InvalidSmilesError):
        RandomForestModel(n_estimators=5, n_jobs=1).fit(smiles, y)
    model = RandomForestModel(n_estimators=5, n_jobs=1).fit(smiles, y, errors="skip")
    assert model.fit_info["n_train"] == 20
    assert model.fit_info["invalid"][0][:2] == (20, "C1CC")


def test_unknown_endpoint_unfitted_and_bad_inputs(fitted):
    with pytest.raises(KeyError, match="not fitted on endpoint"):
        fitted.predict(["CCO"], targets=["HLM"])
    assert fitted.predict(["CCO"], targets=["mw"]).columns.tolist() == ["mw"]
    with pytest.raises(NotFittedError):
        RandomForestModel().predict(["CCO"])
    with pytest.raises(ValueError, match="no value for endpoint"):
        RandomForestModel(n_estimators=5).fit(["CCO", "CCN"], pd.DataFrame({"a": [np.nan, np.nan]}))
    with pytest.raises(ValueError, match="2 SMILES but 1 rows"):
        RandomForestModel().fit(["CCO", "CCN"], pd.DataFrame({"a": [1.0]}))
    with pytest.raises(TypeError, match="no option"):
        RandomForestModel(epochs=3)


def test_refuses_other_folders(tmp_path):
    with pytest.raises(FileNotFoundError):
        RandomForestModel.load(tmp_path)
    (tmp_path / META_FILE).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CheckpointError, match="not a sciml molecular model"):
        RandomForestModel.load(tmp_path)


def test_max_features_candidates_are_chosen_by_out_of_bag_r2(tmp_path):
    from sciml.chem.descriptors import compute_descriptors

    # A target that is one descriptor: trying every descriptor at each split (1.0) finds it,
    # a forest that tries 2% of them mostly does not, so 1.0 has the better out-of-bag R².
    target = compute_descriptors(SMILES, cache=False)["MolWt"].to_numpy()
    y = pd.DataFrame({"mw": target})
    model = RandomForestModel(
        n_estimators=30, max_features=[0.02, 1.0], n_jobs=1, descriptor_cache=False
    ).fit(SMILES, y)
    assert model.config.max_features == (0.02, 1.0)
    assert model.fit_info["max_features"] == {"mw": 1.0}
    assert 0.5 < model.fit_info["oob_r2"]["mw"] <= 1.0
    # The chosen forest is the one a single max_features=1.0 grows (same seed).
    single = RandomForestModel(
        n_estimators=30, max_features=1.0, n_jobs=1, descriptor_cache=False
    ).fit(SMILES, y)
    queries = ["CCCCCCCO", "c1ccc(O)cc1C"]
    pd.testing.assert_frame_equal(model.predict(queries), single.predict(queries))
    assert "max_features" not in single.fit_info
    model.save(tmp_path / "rf")
    loaded = load_model(tmp_path / "rf")
    assert loaded.config.max_features == (0.02, 1.0)
    assert loaded.fit_info["max_features"] == {"mw": 1.0}
    pd.testing.assert_frame_equal(loaded.predict(queries), model.predict(queries))


@pytest.mark.parametrize("bad", [0.0, 1.5, (), (0.3, -1.0), "sqrt", True])
def test_max_features_must_be_fractions(bad):
    with pytest.raises(ValueError, match=r"max_features must be a fraction in \(0, 1\]"):
        RandomForestModel(max_features=bad)
