"""Binary endpoints across every model family, the CLI and the uncertainty layer."""

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from sciml.chem.conformal import ConformalScores
from sciml.chem.models import (
    EnsembleModel,
    GBMModel,
    GNNModel,
    KernelModel,
    RandomForestModel,
    TransformerModel,
    load_model,
)
from sciml.cli import main
from sciml.train import BinaryTask

from ._molecules import SMILES, synthetic_targets

AROMATIC = [float(any(a.GetIsAromatic() for a in Chem.MolFromSmiles(s).GetAtoms())) for s in SMILES]
QUERY = ["c1ccccc1CC", "CCCCCCCO", "not a smiles"]


def _mixed():
    y = synthetic_targets()[["logp"]].copy()
    y["aromatic"] = AROMATIC
    y.loc[::7, "aromatic"] = np.nan  # sparse labels
    return y


FAMILIES = {
    "rf": lambda: RandomForestModel(n_estimators=20, n_jobs=1),
    "kernel": lambda: KernelModel(n_jobs=1),
    "gbm": lambda: GBMModel(n_estimators=40, min_child_samples=2, n_jobs=1),
    "gnn": lambda: GNNModel(
        epochs=40,
        batch_size=10,
        hidden=32,
        ffn_hidden=32,
        val_fraction=0.0,
        descriptors=False,
        lr=3e-3,
    ),
    "transformer-rf": lambda: TransformerModel(
        pretrained=None, size="tiny", adapt="none", n_estimators=20, n_jobs=1
    ),
    "transformer-finetune": lambda: TransformerModel(
        pretrained=None,
        size="tiny",
        adapt="none",
        head="finetune",
        finetune_epochs=30,
        batch_size=8,
        finetune_lr=1e-3,
        n_jobs=1,
    ),
    "ensemble": lambda: EnsembleModel(
        members=[
            RandomForestModel(n_estimators=10, n_jobs=1),
            GBMModel(n_estimators=30, min_child_samples=2, n_jobs=1),
        ]
    ),
}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def fitted(request, tmp_path_factory):
    torch.set_num_threads(1)
    model = FAMILIES[request.param]().fit(SMILES, _mixed())
    folder = model.save(tmp_path_factory.mktemp(request.param))
    return request.param, model, folder


def test_mixed_model_predicts_both_kinds_with_probabilities_in_range(fitted):
    name, model, folder = fitted
    assert model.tasks.kinds == ["regression", "binary"]
    pred = model.predict(QUERY, errors="nan")
    assert list(pred.columns) == ["logp", "aromatic_prob", "aromatic_class"]
    prob = pred["aromatic_prob"].to_numpy(dtype=float)
    assert np.isnan(prob[2]) and pd.isna(pred["aromatic_class"].iloc[2])
    assert ((prob[:2] >= 0) & (prob[:2] <= 1)).all()
    assert set(pred["aromatic_class"].iloc[:2]) <= {"0", "1"}
    train_prob = model.predict(SMILES)["aromatic_prob"].to_numpy()
    assert ((train_prob >= 0) & (train_prob <= 1)).all()
    # the binary endpoint is learnt: aromatic training molecules score higher
    labels = np.array(AROMATIC)
    assert train_prob[labels == 1].mean() > train_prob[labels == 0].mean() + 0.2, name
    reloaded = load_model(folder)
    assert reloaded.tasks == model.tasks
    pd.testing.assert_frame_equal(
        reloaded.predict(QUERY, errors="nan"), model.predict(QUERY, errors="nan")
    )


def test_evaluate_reports_each_kind_with_its_metrics(fitted):
    _, model, _ = fitted
    table = model.evaluate(SMILES, _mixed())
    assert table.loc["aromatic", "kind"] == "binary"
    assert 0.5 < table.loc["aromatic", "auroc"] <= 1.0
    assert table.loc["aromatic", "score"] == table.loc["aromatic", "auroc"]
    assert table.loc["logp", "score"] == table.loc["logp", "r2"]
    assert table.loc["aromatic", "n"] == int(_mixed()["aromatic"].notna().sum())


def test_a_transform_on_a_binary_endpoint_is_refused_and_auto_leaves_it_raw():
    y = _mixed()
    y["logp"] = y["logp"] - y["logp"].min() + 1  # positive, so log10 applies to it
    with pytest.raises(ValueError, match="'aromatic' is binary: it takes no target transform"):
        RandomForestModel(n_estimators=5, n_jobs=1).fit(SMILES, y, transforms="log10")
    model = RandomForestModel(n_estimators=5, n_jobs=1).fit(SMILES, y, transforms="auto")
    assert model.transforms.kinds["aromatic"] == "none"


def test_labels_other_than_0_1_and_one_class_are_errors():
    y = pd.DataFrame({"a": AROMATIC})
    with pytest.raises(ValueError, match="only class 0"):
        RandomForestModel(n_estimators=5).fit(SMILES, y * 0, tasks={"a": "binary"})
    with pytest.raises(ValueError, match="holds values other than 0 and 1"):
        RandomForestModel(n_estimators=5).fit(SMILES, y * 2, tasks={"a": "binary"})
    # an explicit regression override trains a regressor on the same 0/1 column
    model = RandomForestModel(n_estimators=5, n_jobs=1).fit(SMILES, y, tasks={"a": "regression"})
    assert list(model.predict(["CCO"]).columns) == ["a"]


def test_calibration_gives_isotonic_probabilities_and_prediction_sets():
    smiles = SMILES * 4
    y = pd.DataFrame({"a": AROMATIC * 4})
    model = GBMModel(n_estimators=30, min_child_samples=2, n_jobs=1)
    model.fit(smiles, y, calibration=0.4)
    assert model.probability_calibration is not None
    pred = model.predict(QUERY[:2], interval=0.8)
    assert list(pred.columns) == ["a_prob", "a_class", "a_set"]
    assert all(s.startswith("{") for s in pred["a_set"])
    raw = model.predict(smiles, calibrated=False)["a_prob"].to_numpy()
    calibrated = model.predict(smiles)["a_prob"].to_numpy()
    knots = model.probability_calibration.knots["a"]
    np.testing.assert_allclose(calibrated, np.interp(raw, *knots))


def test_conformal_sets_cover_at_the_nominal_level_on_synthetic_data():
    rng = np.random.default_rng(1)
    task = BinaryTask("a")
    p_cal, p_test = rng.uniform(size=3000), rng.uniform(size=20000)
    y_cal = (rng.uniform(size=p_cal.size) < p_cal).astype(float)
    y_test = (rng.uniform(size=p_test.size) < p_test).astype(float)
    scores = ConformalScores.from_residuals(["a"], y_cal[:, None], p_cal[:, None])
    for level in (0.8, 0.9):
        q = scores.halfwidth("a", level)
        sets = task.interval_columns(p_test, p_test - q, p_test + q)["a_set"]
        covered = np.array(
            [
                task.classes[int(y)] in s.strip("{}").split(", ")
                for s, y in zip(sets, y_test, strict=True)
            ]
        )
        assert covered.mean() == pytest.approx(level, abs=0.015)


def test_cli_detects_a_binary_column_and_writes_prob_and_class(tmp_path, capsys):
    frame = pd.DataFrame(
        {"smiles": SMILES * 2, "herg": ["blocker" if a else "non-blocker" for a in AROMATIC] * 2}
    )
    train = tmp_path / "train.csv"
    frame.to_csv(train, index=False)
    out = tmp_path / "model"
    assert (
        main(
            [
                "fit",
                "--train",
                str(train),
                "--targets",
                "herg",
                "--model",
                "gbm",
                "--set",
                "n_jobs=1",
                "--set",
                "min_child_samples=2",
                "--out",
                str(out),
                "--calibration",
                "0.3",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "herg: binary endpoint, training a classifier" in err
    assert "0 = 'non-blocker', 1 = 'blocker'" in err
    query = tmp_path / "query.csv"
    pd.DataFrame({"smiles": ["c1ccccc1O", "CCCCO"]}).to_csv(query, index=False)
    preds = tmp_path / "preds.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(out),
                "--input",
                str(query),
                "--out",
                str(preds),
                "--threshold",
                "0.3",
                "--interval",
                "0.9",
            ]
        )
        == 0
    )
    table = pd.read_csv(preds)
    assert {"herg_prob", "herg_class", "herg_set", "in_domain"} <= set(table.columns)
    assert set(table["herg_class"]) <= {"blocker", "non-blocker"}
    assert table["herg_prob"].between(0, 1).all()
    # --task overrides detection; a transform on a binary endpoint is refused at the CLI
    assert (
        main(
            [
                "fit",
                "--train",
                str(train),
                "--targets",
                "herg",
                "--model",
                "gbm",
                "--out",
                str(tmp_path / "m2"),
                "--transform",
                "log10",
                "--set",
                "n_jobs=1",
            ]
        )
        != 0
    )
    assert "takes no target transform" in capsys.readouterr().err
