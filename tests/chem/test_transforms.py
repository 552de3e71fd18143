import numpy as np
import pandas as pd
import pytest

from sciml.chem.models import EnsembleModel, GBMModel, RandomForestModel, load_model
from sciml.chem.transforms import TargetTransforms, parse_transform_options
from tests.chem._molecules import SMALL_SMILES

SMILES = list(SMALL_SMILES)
# A half-life-like endpoint over four decades, with a monotone structure signal.
T_HALF = np.array(
    [0.05, 0.2, 1.0, 5.0, 30.0, 0.1, 0.4, 2.0, 0.08, 0.5, 0.03, 0.06, 0.3, 0.15, 0.12, 0.02]
)


@pytest.mark.parametrize("kind", ["log10", "log1p", "logit"])
def test_forward_then_inverse_is_identity(kind):
    y = (
        np.array([[0.5], [3.0], [60.0], [np.nan]])
        if kind != "logit"
        else np.array([[5.0], [50.0], [95.0], [np.nan]])
    )
    t = TargetTransforms.fit(kind, y, ["a"])
    back, _ = t.inverse(t.forward(y))
    np.testing.assert_allclose(back, y, rtol=1e-12)
    assert np.isnan(t.forward(y)[3, 0])


def test_logit_bound_is_fitted_from_the_data():
    assert TargetTransforms.fit("logit", np.array([[0.2], [0.9]]), ["fu"]).upper == {"fu": 1.0}
    assert TargetTransforms.fit("logit", np.array([[20.0], [90.0]]), ["ppb"]).upper == {
        "ppb": 100.0
    }


def test_auto_picks_log10_only_for_positive_targets_spanning_decades():
    y = np.column_stack([T_HALF, np.linspace(-1, 3, len(T_HALF)), np.linspace(1, 5, len(T_HALF))])
    t = TargetTransforms.fit("auto", y, ["t_half", "logd", "narrow"])
    assert t.kinds == {"t_half": "log10", "logd": "none", "narrow": "none"}
    assert t.describe() == "t_half: log10 (auto); logd: none (auto); narrow: none (auto)"


def test_non_positive_values_under_log10_name_the_rows():
    y = np.array([[1.0], [0.0], [2.0], [-3.0]])
    with pytest.raises(ValueError, match=r"'t_half'.*log10.*strictly positive.*rows 1, 3"):
        TargetTransforms.fit({"t_half": "log10"}, y, ["t_half"])
    with pytest.raises(ValueError, match="rows row-b"):
        TargetTransforms.fit("log10", y[:2], ["t_half"], rows=np.array(["row-a", "row-b"]))


def test_unknown_kinds_and_endpoints_are_refused():
    with pytest.raises(ValueError, match="unknown transform 'log'"):
        TargetTransforms.fit("log", np.ones((2, 1)), ["a"])
    with pytest.raises(ValueError, match=r"not among the targets"):
        TargetTransforms.fit({"b": "log10"}, np.ones((2, 1)), ["a"])


def test_delta_method_maps_spreads_back():
    t = TargetTransforms.fit("log10", np.array([[1.0], [100.0]]), ["a"])
    y, s = t.inverse(np.array([[1.0]]), np.array([[0.01]]))
    assert y[0, 0] == pytest.approx(10.0)
    assert s[0, 0] == pytest.approx(np.log(10) * 10.0 * 0.01)


def test_cli_spec_parsing():
    assert parse_transform_options(["auto"]) == "auto"
    assert parse_transform_options(["a=log10", "none"]) == {"a": "log10", "*": "none"}
    with pytest.raises(ValueError, match="unknown transform"):
        parse_transform_options(["a=sqrt"])


@pytest.mark.parametrize(
    "factory",
    [
        lambda: RandomForestModel(n_estimators=30, n_jobs=1, seed=0),
        lambda: GBMModel(n_estimators=60, min_child_samples=2, n_jobs=1, n_bits=256),
        lambda: EnsembleModel(
            members=[
                RandomForestModel(n_estimators=10, n_jobs=1),
                GBMModel(n_estimators=30, min_child_samples=2, n_jobs=1),
            ]
        ),
    ],
    ids=["rf", "gbm", "ensemble"],
)
def test_models_train_in_log_space_and_predict_physical_units(tmp_path, factory):
    y = pd.DataFrame({"t_half": T_HALF})
    raw = factory().fit(SMILES, y)
    logged = factory().fit(SMILES, y, transforms={"t_half": "log10"})
    assert logged.fit_info["transforms"] == "t_half: log10"
    pred = logged.predict(SMILES)["t_half"].to_numpy()
    # Trees average in log space: predictions are geometric-mean-like, always positive and
    # inside the training range, and differ from the raw model's arithmetic averages.
    assert (pred > 0).all() and pred.max() <= T_HALF.max() * 1.0001
    assert not np.allclose(pred, raw.predict(SMILES)["t_half"].to_numpy())
    again = load_model(logged.save(tmp_path / "m"))
    assert again.transforms.kinds == {"t_half": "log10"}
    np.testing.assert_allclose(again.predict(SMILES)["t_half"].to_numpy(), pred, rtol=1e-6)


def test_validation_values_outside_the_transform_domain_are_refused():
    y = pd.DataFrame({"t_half": T_HALF})
    with pytest.raises(ValueError, match="validation data: 1 value"):
        RandomForestModel(n_estimators=5, n_jobs=1).fit(
            SMILES, y, SMILES[:2], pd.DataFrame({"t_half": [0.0, 1.0]}), transforms="log10"
        )


@pytest.mark.parametrize("p95_p5", [10.0, 20.0, 40.0, 60.0])
@pytest.mark.parametrize("n", [60, 400])
def test_auto_logs_small_spread_log_normal_targets(p95_p5, n):
    # Half-lives and clearances are log-normal; P95/P5 = 60 is the external PK set that the
    # former rule (P95/P5 > 100) left raw. sigma of log10 y from the 5th-95th span.
    sigma = np.log10(p95_p5) / (2 * 1.6449)
    for seed in range(5):
        y = 10 ** np.random.default_rng(seed).normal(0.5, sigma, n)
        t = TargetTransforms.fit("auto", y[:, None], ["t_half"])
        assert t.kinds == {"t_half": "log10"}, (p95_p5, n, seed, t.reasons)
        assert t.reasons["t_half"].startswith("positive")


@pytest.mark.parametrize(
    "make",
    [
        lambda rng, n: rng.normal(5.0, 1.0, n),  # symmetric, positive
        lambda rng, n: rng.uniform(1.0, 9.0, n),  # flat, positive
        lambda rng, n: rng.normal(0.0, 1.0, n),  # symmetric, crosses zero
        lambda rng, n: 3.0 - rng.lognormal(0.0, 0.5, n),  # left-skewed (log makes it worse)
    ],
    ids=["normal", "uniform", "signed", "left-skewed"],
)
def test_auto_leaves_symmetric_or_non_positive_targets_raw(make):
    for seed in range(5):
        y = make(np.random.default_rng(seed), 300)
        t = TargetTransforms.fit("auto", y[:, None], ["logd"])
        assert t.kinds == {"logd": "none"}, (seed, t.reasons)


def test_auto_logs_any_positive_target_spanning_two_decades():
    y = np.array([[1.0], [2.0], [1.5], [1.2], [100.0], [1.1], [1.3], [1.4]])
    t = TargetTransforms.fit("auto", y, ["cl"])
    assert t.kinds == {"cl": "log10"} and "max/min" in t.reasons["cl"]
    assert t.explain().startswith("cl: log10 (auto: positive, max/min 1e+02")


def test_auto_reasons_survive_a_round_trip():
    y = 10 ** np.random.default_rng(0).normal(0.0, 0.4, (200, 1))
    t = TargetTransforms.fit("auto", y, ["t_half"])
    back = TargetTransforms.from_dict(t.to_dict())
    assert back.kinds == t.kinds and back.reasons == t.reasons
    # Files written before reasons existed still load.
    old = {k: v for k, v in t.to_dict().items() if k != "reasons"}
    assert TargetTransforms.from_dict(old).reasons == {}
