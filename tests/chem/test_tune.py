import json

import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem import Crippen

from sciml.chem.tune import search_space, tune


@pytest.fixture(scope="module")
def data(nci_smiles):
    rows = [
        (s, Crippen.MolLogP(m))
        for s in nci_smiles[:120]
        if (m := Chem.MolFromSmiles(s)) is not None
    ]
    return pd.DataFrame(rows, columns=["smiles", "logp"])


def test_tuning_shares_a_study_and_writes_a_fit_config(tmp_path, data):
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    kwargs = dict(
        model="rf",
        trials=2,
        folds=2,
        storage=storage,
        progress=False,
        fixed={"n_jobs": 1, "descriptor_cache": False},
    )
    first = tune(data.smiles, data[["logp"]], **kwargs)
    second = tune(data.smiles, data[["logp"]], **kwargs)  # a second worker on the same study
    assert len(first.trials) == 2 and len(second.trials) == 4
    # A new study starts from the defaults; a continued one does not enqueue them again.
    defaults = {"n_estimators": 300, "max_features": 1 / 3, "min_samples_leaf": 1}
    row = second.trials.iloc[0]
    assert {k: row[k] for k in defaults} == pytest.approx(defaults)
    assert not any(
        second.trials.iloc[i][list(defaults)].tolist() == list(defaults.values()) for i in (2, 3)
    )
    assert second.best_score == pytest.approx(second.trials.cv_r2.max())
    assert 0.3 < second.best_score <= 1.0
    assert set(second.best_params) == set(search_space("rf"))
    folder = second.save(tmp_path / "out")
    config = json.loads((folder / "best_config.json").read_text())
    assert config["model"] == "rf" and config["options"]["n_jobs"] == 1
    assert set(search_space("rf")) <= set(config["options"])
    trials = pd.read_csv(folder / "trials.csv")
    assert {"number", "cv_r2", "n_estimators", "duration_s"} <= set(trials.columns)


def test_bad_requests_are_named(data):
    with pytest.raises(ValueError, match="tunable models: gbm, gnn, rf"):
        tune(data.smiles, data[["logp"]], model="svm")
    with pytest.raises(ValueError, match="both fixed and searched"):
        tune(data.smiles, data[["logp"]], model="rf", fixed={"max_features": 0.3})
    with pytest.raises(ValueError, match="too few"):
        tune(data.smiles[:6], data[["logp"]][:6], model="rf", folds=3)
    with pytest.raises(ValueError, match="SMILES but"):
        tune(data.smiles[:10], data[["logp"]], model="rf")


def test_folds_are_inside_the_training_data(data, monkeypatch):
    from sciml.chem.models import RandomForestModel

    seen = set()
    original = RandomForestModel.fit

    def spy(self, smiles, y, *args, **kwargs):
        seen.update(smiles)
        return original(self, smiles, y, *args, **kwargs)

    monkeypatch.setattr(RandomForestModel, "fit", spy)
    train, test = data.iloc[:80], data.iloc[80:]
    tune(
        train.smiles,
        train[["logp"]],
        model="rf",
        trials=1,
        folds=2,
        progress=False,
        fixed={"n_jobs": 1, "descriptor_cache": False},
    )
    assert seen and seen <= set(train.smiles)
    assert not seen & (set(test.smiles) - set(train.smiles))
