"""Tests of EnsembleModel: averaging, std across members, pickle-free save/load."""

import json

import numpy as np
import pandas as pd
import pytest

from sciml.chem.models import EnsembleModel, RandomForestModel, load_model
from sciml.train.checkpoint import CheckpointError

SMILES = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "Cc1ccccc1", "CCc1ccccc1", "OCCO"] * 2
Y = pd.DataFrame(
    {
        "logp": [-0.3, 0.1, 0.9, 1.4, 2.1, 2.7, 3.1, -1.0] * 2,
        "other": [1.0, 2.0, np.nan, 4.0, 5.0, np.nan, 7.0, 8.0] * 2,
    }
)
QUERY = ["CCCCCCO", "C1CC", "Cc1ccccc1C"]


def _members():
    return [
        RandomForestModel(n_estimators=10, n_jobs=1, seed=s, descriptor_cache=False)
        for s in (0, 1, 2)
    ]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    model = EnsembleModel(members=_members()).fit(SMILES, Y)
    folder = tmp_path_factory.mktemp("ensemble")
    model.save(folder)
    return model, folder


def test_mean_and_std_across_members(fitted):
    model, _ = fitted
    pred = model.predict(QUERY, errors="nan", return_std=True)
    assert list(pred.columns) == ["logp", "other", "logp_std", "other_std"]
    assert pred.shape == (3, 4)
    assert pred.iloc[1].isna().all() and pred.drop(index=1).notna().all().all()
    valid = [QUERY[0], QUERY[2]]
    draws = np.stack([m.predict(valid).to_numpy() for m in model.members])
    np.testing.assert_allclose(pred.loc[[0, 2], ["logp", "other"]], draws.mean(0))
    np.testing.assert_allclose(pred.loc[[0, 2], ["logp_std", "other_std"]], draws.std(0))
    assert (pred.loc[[0, 2], ["logp_std", "other_std"]] > 0).all().all()  # seeds differ


def test_save_load_identical_predictions(fitted):
    model, folder = fitted
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [
        "member_0",
        "member_1",
        "member_2",
    ]
    loaded = load_model(folder)
    assert isinstance(loaded, EnsembleModel) and loaded.config.members == model.config.members
    pd.testing.assert_frame_equal(
        loaded.predict(QUERY, errors="nan", return_std=True),
        model.predict(QUERY, errors="nan", return_std=True),
    )


def test_load_checks_members(fitted, tmp_path):
    model, _ = fitted
    model.save(tmp_path / "ens")
    other = RandomForestModel(n_estimators=5, n_jobs=1, descriptor_cache=False)
    other.fit(SMILES, Y[["logp"]]).save(tmp_path / "ens" / "member_1")
    with pytest.raises(CheckpointError, match="member_1"):
        EnsembleModel.load(tmp_path / "ens")
    meta_file = tmp_path / "ens" / "model.json"
    meta = json.loads(meta_file.read_text())
    meta["extra"]["members"] = ["member_0"]
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="member folders"):
        EnsembleModel.load(tmp_path / "ens")


def test_bad_members():
    with pytest.raises(ValueError, match="at least two"):
        EnsembleModel(members=[RandomForestModel()])
    with pytest.raises(ValueError, match="at least two"):
        EnsembleModel()
    with pytest.raises(TypeError, match="MoleculeModel"):
        EnsembleModel(members=[RandomForestModel(), "gnn"])


def test_not_in_cli_registry():
    from sciml.chem.models import MODELS

    assert "ensemble" not in MODELS  # built from member objects, not from a CLI string
