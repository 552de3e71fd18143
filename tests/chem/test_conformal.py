import math

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem import Crippen

from sciml.chem.conformal import ConformalScores, check_level
from sciml.chem.models import GBMModel, RandomForestModel, load_model


def test_halfwidth_is_the_finite_sample_quantile():
    scores = ConformalScores({"y": np.arange(1.0, 10.0)})  # n = 9
    assert scores.halfwidth("y", 0.8) == 8.0  # ceil(10 * 0.8) = 8th smallest
    assert scores.halfwidth("y", 0.5) == 5.0
    assert math.isinf(scores.halfwidth("y", 0.95))  # ceil(9.5) = 10 > 9
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        check_level(90)


def test_scores_roundtrip_and_reject_garbage():
    scores = ConformalScores.from_residuals(
        ["a", "b"], np.array([[1.0, np.nan], [2.0, 3.0]]), np.array([[1.5, 0.0], [1.0, 1.0]])
    )
    assert scores.n("a") == 2 and scores.n("b") == 1
    again = ConformalScores.from_dict(scores.to_dict())
    np.testing.assert_allclose(again.scores["a"], [0.5, 1.0])
    with pytest.raises(ValueError, match="non-negative"):
        ConformalScores.from_dict({"scores": {"a": [-1.0]}})


@pytest.fixture(scope="module")
def logp_data(nci_smiles):
    rng = np.random.default_rng(0)
    mols = [(s, Chem.MolFromSmiles(s)) for s in nci_smiles[:900]]
    rows = [(s, Crippen.MolLogP(m)) for s, m in mols if m is not None and m.GetNumAtoms() < 60]
    frame = pd.DataFrame(rows, columns=["smiles", "logp"])
    frame["logp"] += rng.normal(0, 0.3, len(frame))  # measurement-like noise
    return frame


def test_split_conformal_covers_held_out_molecules(logp_data, tmp_path):
    train, test = logp_data.iloc[:600], logp_data.iloc[600:]
    model = RandomForestModel(n_estimators=50, n_jobs=1, descriptor_cache=False)
    model.fit(train.smiles, train[["logp"]], calibration=0.25)
    assert model.fit_info["n_calibration"] == 150 and model.fit_info["n_train"] == 450
    pred = model.predict(test.smiles.tolist(), interval=0.9)
    inside = (pred["logp_lower"] <= test.logp.to_numpy()) & (
        test.logp.to_numpy() <= pred["logp_upper"]
    )
    assert 0.82 <= inside.mean() <= 0.97
    assert (pred["logp_lower"] < pred["logp"]).all() and (pred["logp"] < pred["logp_upper"]).all()
    wider = model.predict(test.smiles.tolist(), interval=0.99)
    assert (wider["logp_upper"] - wider["logp_lower"]).min() >= (
        pred["logp_upper"] - pred["logp_lower"]
    ).max() - 1e-9
    again = load_model(model.save(tmp_path / "rf"))
    pd.testing.assert_frame_equal(again.predict(test.smiles.tolist(), interval=0.9), pred)


def test_intervals_follow_the_target_transform(logp_data):
    frame = logp_data.iloc[:300].assign(k=lambda d: 10.0**d.logp)
    model = GBMModel(n_estimators=50, n_jobs=1, n_bits=256, descriptor_cache=False)
    model.fit(frame.smiles, frame[["k"]], transforms="log10", calibration=0.2)
    pred = model.predict(frame.smiles.tolist()[:20], interval=0.8)
    # Symmetric in log space: geometric mean of the bounds is the prediction.
    np.testing.assert_allclose(np.sqrt(pred.k_lower * pred.k_upper), pred.k, rtol=1e-6)
    assert (pred.k_lower > 0).all()


def test_interval_needs_calibration_and_a_valid_level(logp_data):
    model = RandomForestModel(n_estimators=5, n_jobs=1, descriptor_cache=False)
    model.fit(logp_data.smiles[:60], logp_data[["logp"]][:60])
    with pytest.raises(ValueError, match="no conformal calibration"):
        model.predict(["CCO"], interval=0.9)
    model.calibrate(logp_data.smiles[60:120], logp_data[["logp"]][60:120])
    assert model.predict(["CCO"], interval=0.9).columns.tolist() == [
        "logp",
        "logp_lower",
        "logp_upper",
    ]
    with pytest.raises(ValueError, match="strictly between"):
        model.predict(["CCO"], interval=1.5)
    with pytest.raises(ValueError, match="at least 10"):
        RandomForestModel(n_estimators=5).fit(
            logp_data.smiles[:20], logp_data[["logp"]][:20], calibration=0.1
        )


def test_normalised_scores_scale_the_width_per_molecule():
    from sciml.chem.conformal import ConformalScores

    rng = np.random.default_rng(0)
    sigma = rng.uniform(0.1, 2.0, (2000, 1))
    residual = rng.normal(0.0, 1.0, (2000, 1)) * sigma  # errors grow with the difficulty
    scores = ConformalScores.from_residuals(["y"], residual, np.zeros_like(residual), scale=sigma)
    assert scores.normalised and scores.beta["y"] == pytest.approx(
        0.25 * np.median(sigma), rel=1e-12
    )
    width = scores.halfwidths(["y"], 0.9, np.array([[0.1], [2.0]]))
    assert width.shape == (2, 1) and width[1, 0] > 5 * width[0, 0]  # (2 + beta) / (0.1 + beta)
    # Coverage holds on fresh draws, and is about 0.9 for easy and hard molecules alike.
    s_new = rng.uniform(0.1, 2.0, (4000, 1))
    r_new = rng.normal(0.0, 1.0, (4000, 1)) * s_new
    hit = np.abs(r_new) <= scores.halfwidths(["y"], 0.9, s_new)
    assert hit.mean() == pytest.approx(0.9, abs=0.02)
    easy, hard = s_new[:, 0] < 0.5, s_new[:, 0] > 1.5
    assert hit[easy].mean() > 0.85 and hit[hard].mean() > 0.85
    plain = ConformalScores.from_residuals(["y"], residual, np.zeros_like(residual))
    assert (np.abs(r_new[hard]) <= plain.halfwidth("y", 0.9)).mean() < 0.85  # plain misses them
    with pytest.raises(ValueError, match="need the molecules' difficulties"):
        scores.halfwidths(["y"], 0.9)


def test_normalised_scores_round_trip_and_are_checked():
    from sciml.chem.conformal import ConformalScores

    scores = ConformalScores.from_residuals(
        ["a"],
        np.array([[1.0], [2.0], [0.5]]),
        np.zeros((3, 1)),
        scale=np.array([[0.0], [0.0], [0.0]]),
    )
    assert scores.beta["a"] == pytest.approx(0.1)  # all-zero difficulty: floored at median/10
    back = ConformalScores.from_dict(scores.to_dict())
    assert back.beta == scores.beta and np.array_equal(back.scores["a"], scores.scores["a"])
    bad = scores.to_dict() | {"beta": {"a": -1.0}}
    with pytest.raises(ValueError, match="beta must be positive"):
        ConformalScores.from_dict(bad)
    with pytest.raises(ValueError, match="unknown conformal method"):
        ConformalScores.from_dict(scores.to_dict() | {"method": "mondrian"})
