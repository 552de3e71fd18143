import json

import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem import Crippen

from sciml.chem.tune import (
    GBM_FEATURE_SETS,
    Choice,
    FloatRange,
    IntRange,
    best_from_options,
    search_space,
    tune,
)


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
    assert set(second.best_params) == set(search_space("rf", 60))
    folder = second.save(tmp_path / "out")
    config = json.loads((folder / "best_config.json").read_text())
    assert config["model"] == "rf" and config["options"]["n_jobs"] == 1
    assert set(search_space("rf", 60)) <= set(config["options"])
    trials = pd.read_csv(folder / "trials.csv")
    assert {"number", "cv_r2", "n_estimators", "duration_s"} <= set(trials.columns)


def test_bad_requests_are_named(data):
    with pytest.raises(ValueError, match="tunable models: best, gbm, gnn, kernel, rf"):
        tune(data.smiles, data[["logp"]], model="svm")
    with pytest.raises(ValueError, match="has no option\\(s\\) max_feature;"):
        tune(data.smiles, data[["logp"]], model="rf", fixed={"max_feature": 0.3})
    with pytest.raises(ValueError, match="no member 'rf'"):
        tune(data.smiles, data[["logp"]], model="best", fixed={"rf.n_estimators": 3})
    with pytest.raises(ValueError, match="member 'gbm' has no option 'width'"):
        tune(data.smiles, data[["logp"]], model="best", fixed={"gbm.width": 3})
    with pytest.raises(ValueError, match="no option 'depth': give a stack option"):
        tune(data.smiles, data[["logp"]], model="best", fixed={"depth": 3})
    with pytest.raises(ValueError, match="at least two distinct labels"):
        tune(data.smiles, data[["logp"]], model="best", fixed={"members": "gbm"})
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


FAST_GBM = {"n_jobs": 1, "descriptor_cache": False, "n_estimators": 60}


def test_search_space_scales_with_the_molecules():
    small, large = search_space("gbm", 40), search_space("gbm", 3000)
    assert (small["num_leaves"].low, small["num_leaves"].high) == (4, 5)  # 40 / 8
    assert (small["min_child_samples"].low, small["min_child_samples"].high) == (2, 10)  # 40 / 4
    assert large["num_leaves"].high == 128 and large["min_child_samples"].high == 60
    # The sparsest endpoint bounds the leaf sizes, the molecules the number of leaves.
    mixed = search_space("gbm", 3000, n_sparsest=100)
    assert mixed["num_leaves"].high == 128 and mixed["min_child_samples"].high == 25
    assert search_space("rf", 40)["min_samples_leaf"].high == 4
    assert search_space("rf", 5)["min_samples_leaf"].high == 1
    assert search_space("gnn", 40) == search_space("gnn", 4000)
    assert set(search_space("gbm", 40)["features"].choices) == set(GBM_FEATURE_SETS)
    # best: its members see the inner folds' training part, 2/3 of the stack's molecules.
    assert search_space("best", 60)["gbm.min_child_samples"].high == 10
    # the kernel's penalty is chosen inside its fit; its kernel is searched, alone or in best
    assert set(search_space("kernel", 60)) == {"descriptor_weight", "length_scale", "radius"}
    best = search_space("best", 60)
    assert {"kernel.descriptor_weight", "kernel.length_scale"} <= set(best)
    assert "kernel" in best["members"].default.split("+")
    with pytest.raises(ValueError, match="n_sparsest <= n_molecules"):
        search_space("gbm", 10, n_sparsest=20)
    with pytest.raises(ValueError, match="n_sparsest <= n_molecules"):
        search_space("gbm", 0)


def test_dimensions_check_their_bounds():
    with pytest.raises(ValueError, match="bad integer range"):
        IntRange(5, 4)
    with pytest.raises(ValueError, match="bad range"):
        FloatRange(0.0, 1.0, log=True)
    with pytest.raises(ValueError, match="default 'x' is not one of"):
        Choice({"a": {}}, "x")
    assert IntRange(4, 5).clip(31) == 5 and FloatRange(0.1, 0.2).clip(0.01) == 0.1


def test_on_60_molecules_no_trial_asks_for_more_leaves_than_the_bound(data):
    data = data.iloc[:60]
    result = tune(
        data.smiles, data[["logp"]], model="gbm", trials=5, folds=3, progress=False, fixed=FAST_GBM
    )
    # Tuning folds train on 40 molecules: leaves <= 40/8, leaf size <= 40/4.
    assert result.space["num_leaves"].high == 5 and result.space["min_child_samples"].high == 10
    assert (result.trials["num_leaves"] <= 5).all()
    assert (result.trials["min_child_samples"] <= 10).all()
    # Trial 0 is the defaults, clipped into the scaled space.
    first = result.trials.iloc[0]
    assert first["num_leaves"] == 5 and first["min_child_samples"] == 10
    assert first["learning_rate"] == pytest.approx(0.03) and first["features"] == "default"
    assert result.best_score >= first["cv_r2"]
    assert result.best_score > 0.3
    # One endpoint: its own column equals the mean over endpoints.
    assert result.trials["cv_logp"].tolist() == pytest.approx(result.trials["cv_r2"].tolist())


def test_leaves_sized_for_big_data_collapse_on_60_molecules(data):
    # The regression behind the scaled space: with the old upper bound of min_child_samples
    # (60), a 40-molecule tuning fold cannot be split at all and scores R² ≈ 0; the scaled
    # space's upper bound (40/4) still learns.
    data = data.iloc[:60]
    kwargs = dict(model="gbm", trials=1, folds=3, progress=False, fixed=FAST_GBM)
    collapsed = tune(
        data.smiles, data[["logp"]], space={"min_child_samples": IntRange(3, 60)}, **kwargs
    )
    assert collapsed.trials.iloc[0]["min_child_samples"] == 10  # the default, then worse:
    worst = tune(
        data.smiles, data[["logp"]], space={"min_child_samples": IntRange(60, 60)}, **kwargs
    )
    bound = search_space("gbm", 40)["min_child_samples"]
    scaled = tune(
        data.smiles,
        data[["logp"]],
        space={"min_child_samples": IntRange(bound.high, bound.high)},
        **kwargs,
    )
    assert abs(worst.best_score) < 0.05
    assert scaled.best_score > 0.3


def test_the_feature_set_is_searched_and_reproduced_by_fit_config(tmp_path, data):
    from sciml.chem.models import load_model
    from sciml.cli import main

    data = data.iloc[:60]
    result = tune(
        data.smiles,
        data[["logp"]],
        model="gbm",
        trials=1,
        folds=2,
        progress=False,
        fixed=FAST_GBM,
        space={"features": Choice({"rich": GBM_FEATURE_SETS["rich"]}, "rich")},
    )
    assert result.best_params == {"features": "rich"}
    assert result.options["fingerprints"] == ["avalon", "erg", "maccs"]
    folder = result.save(tmp_path / "tuned")
    data.to_csv(tmp_path / "train.csv", index=False)
    argv = ["fit", "--train", str(tmp_path / "train.csv"), "--targets", "logp"]
    argv += ["--config", str(folder / "best_config.json"), "--out", str(tmp_path / "m")]
    assert main(argv) == 0
    model = load_model(tmp_path / "m")
    assert model.name == "gbm" and model.config.fingerprints == ("avalon", "erg", "maccs")
    assert model.config.n_estimators == 60


def test_a_fixed_option_takes_its_dimension_out_of_the_search(data):
    data = data.iloc[:60]
    result = tune(
        data.smiles,
        data[["logp"]],
        model="gbm",
        trials=1,
        folds=2,
        progress=False,
        fixed={**FAST_GBM, "fingerprints": ["maccs"], "learning_rate": 0.1},
    )
    assert "features" not in result.space and "learning_rate" not in result.space
    assert result.options["fingerprints"] == ["maccs"] and result.options["learning_rate"] == 0.1
    assert "num_leaves" in result.best_params


def test_tuning_the_stack_nests_its_inner_folds_in_the_tuning_folds(data, monkeypatch):
    from sciml.chem.models import GBMModel, StackedModel

    sizes = []
    original = GBMModel.fit

    def spy(self, smiles, y, *args, **kwargs):
        sizes.append(len(smiles))
        return original(self, smiles, y, *args, **kwargs)

    monkeypatch.setattr(GBMModel, "fit", spy)
    data = data.iloc[:60]
    fixed = {
        "threads": 1,
        "members": "gbm,gbm_rich",
        "gbm.n_estimators": 30,
        "gbm_rich.n_estimators": 30,
        "gbm.descriptor_cache": False,
        "gbm_rich.descriptor_cache": False,
    }
    result = tune(
        data.smiles, data[["logp"]], model="best", trials=2, folds=3, progress=False, fixed=fixed
    )
    # Members and the GNN's options are not searched with the members fixed to two GBMs.
    assert "members" not in result.space and not any(k.startswith("gnn.") for k in result.space)
    first = result.trials.iloc[0]
    assert first["inner_folds"] == 3 and not first["select_best"]
    assert first["gbm.features"] == "default" and first["gbm_rich.features"] == "rich"
    # Tuning folds train on 40 molecules; the stack's inner folds inside them on 26 or 27
    # (3 inner folds) or 32 (5): no member fit ever sees a tuning fold's held-out part.
    assert max(sizes) == 40
    assert set(sizes) - {40} <= {26, 27, 32}
    assert {26, 27} & set(sizes)
    options = result.options
    assert options["members"] == ["gbm", "gbm_rich"] and options["threads"] == 1
    assert options["gbm"]["n_estimators"] == 30 and "fingerprints" in options["gbm_rich"]
    model = result.build()
    assert isinstance(model, StackedModel) and list(model.members) == ["gbm", "gbm_rich"]
    assert model.members["gbm"].config.n_jobs == 1
    assert model.config.inner_folds == options["inner_folds"]
    assert best_from_options(options).config == model.config
    with pytest.raises(ValueError, match="unknown option"):
        best_from_options({"depth": 3})
