import json

import numpy as np
import pandas as pd
import pytest

from sciml.chem.models import MODELS, CatBoostModel, load_model
from sciml.train import CheckpointError
from tests.chem._molecules import SMALL_SMILES

SMILES = SMALL_SMILES * 2


def _carbons(smiles):
    return [s.count("C") + s.count("c") for s in smiles]


def _model(**kw):
    return CatBoostModel(**{"iterations": 150, "learning_rate": 0.2, "n_jobs": 1, **kw})


def test_catboost_learns_a_structural_signal_and_roundtrips_without_pickle(tmp_path):
    assert MODELS["catboost"] is CatBoostModel
    y = pd.DataFrame({"n_c": _carbons(SMILES), "other": np.r_[np.nan, np.arange(len(SMILES) - 1)]})
    model = _model(descriptors=False, rsm=1.0).fit(SMILES, y)
    pred = model.predict(["CCCCCCCCO", "CO"])["n_c"].to_numpy()
    assert pred[0] > pred[1] + 2
    folder = model.save(tmp_path / "cat")
    files = json.loads((folder / "model.json").read_text())["extra"]["boosters"]
    assert files == ["catboost_0.cbm", "catboost_1.cbm"]
    assert not (folder / files[0]).read_bytes().startswith(b"\x80")  # no pickle protocol header
    again = load_model(folder)
    assert isinstance(again, CatBoostModel)
    pd.testing.assert_frame_equal(again.predict(SMILES), model.predict(SMILES))
    assert not (tmp_path / "catboost_info").exists()
    # a gzipped booster (as in shipped folders) loads the same
    import gzip

    meta = json.loads((folder / "model.json").read_text())
    for name in files:
        (folder / f"{name}.gz").write_bytes(gzip.compress((folder / name).read_bytes()))
        (folder / name).unlink()
    meta["extra"]["boosters"] = [f"{name}.gz" for name in files]
    (folder / "model.json").write_text(json.dumps(meta))
    pd.testing.assert_frame_equal(load_model(folder).predict(SMILES), model.predict(SMILES))


def test_catboost_binary_endpoint_gives_probabilities():
    active = (np.array(_carbons(SMILES)) > 4).astype(float)
    model = _model(descriptors=False, rsm=1.0).fit(SMILES, pd.DataFrame({"active": active}))
    frame = model.predict(["CCCCCCCCO", "CO"])
    prob = frame["active_prob"].to_numpy()
    assert ((prob > 0) & (prob < 1)).all() and prob[0] > prob[1]
    assert frame["active_class"].astype(str).tolist() == ["1", "0"]


def test_catboost_stops_early_and_refuses_bad_settings_and_corrupt_files(tmp_path):
    y = pd.DataFrame({"n_c": _carbons(SMILES)})
    model = _model(iterations=2000, early_stopping=10, descriptors=False, rsm=1.0)
    model.fit(SMILES[:20], y[:20], SMILES[20:], y[20:])
    assert model.fit_info["best_rounds"]["n_c"] < 2000
    with pytest.raises(ValueError, match="rsm must be in"):
        CatBoostModel(rsm=0)
    with pytest.raises(ValueError, match="no spread"):
        model.predict(SMILES, return_std=True)
    folder = model.save(tmp_path / "cat")
    (folder / "catboost_0.cbm").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not a CatBoost model"):
        load_model(folder)
