import json

import numpy as np
import pandas as pd
import pytest

from sciml.chem.models import GBMModel, load_model
from sciml.chem.models.gbm import morgan_counts
from sciml.train import CheckpointError
from tests.chem._molecules import SMALL_SMILES

SMILES = SMALL_SMILES * 2


def _carbons(smiles):
    return [s.count("C") + s.count("c") for s in smiles]


def test_morgan_counts_count_repeated_environments():
    fp = morgan_counts(["CCCCCC", "CC"], radius=1, n_bits=512)
    assert fp.shape == (2, 512) and fp.dtype == np.float32
    assert fp[0].sum() > fp[1].sum() and fp.max() >= 4  # four CH2 environments in hexane


def test_gbm_learns_a_structural_signal_and_roundtrips_as_text(tmp_path):
    y = pd.DataFrame({"n_c": _carbons(SMILES), "other": np.r_[np.nan, np.arange(len(SMILES) - 1)]})
    model = GBMModel(n_estimators=200, min_child_samples=2, n_jobs=1, learning_rate=0.1)
    model.fit(SMILES, y)
    pred = model.predict(["CCCCCCCCO", "CO"])["n_c"].to_numpy()
    assert pred[0] > pred[1] + 2
    folder = model.save(tmp_path / "gbm")
    files = json.loads((folder / "model.json").read_text())["extra"]["boosters"]
    assert all((folder / f).read_text().startswith("tree") for f in files)  # LightGBM text
    again = load_model(folder)
    pd.testing.assert_frame_equal(again.predict(SMILES), model.predict(SMILES))


def test_gbm_stops_early_on_validation_data():
    y = pd.DataFrame({"n_c": _carbons(SMILES)})
    model = GBMModel(
        n_estimators=2000, early_stopping=10, min_child_samples=2, n_jobs=1, learning_rate=0.3
    ).fit(SMILES[:20], y[:20], SMILES[20:], y[20:])
    assert model.fit_info["best_rounds"]["n_c"] < 2000


def test_gbm_refuses_std_and_corrupt_boosters(tmp_path):
    y = pd.DataFrame({"n_c": _carbons(SMILES)})
    model = GBMModel(n_estimators=10, min_child_samples=2, n_jobs=1).fit(SMILES, y)
    with pytest.raises(ValueError, match="no spread"):
        model.predict(SMILES, return_std=True)
    folder = model.save(tmp_path / "gbm")
    (folder / "booster_0.txt").write_text("not a model")
    with pytest.raises(CheckpointError, match="not a LightGBM model"):
        load_model(folder)
