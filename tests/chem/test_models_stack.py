"""StackedModel: weights from inner folds only, round trips, checkpoints, the best recipe."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sciml.chem.models import (
    GBMModel,
    MoleculeModel,
    RandomForestModel,
    StackedModel,
    best_recipe,
    load_model,
)
from sciml.chem.models.stack import simplex_weights
from sciml.cli import main
from sciml.train import Checkpoints, TimeBudgetReached
from sciml.train.checkpoint import CheckpointError
from tests.chem._molecules import SMALL_SMILES

SMILES = [
    *SMALL_SMILES,
    "CCOC",
    "CCCOC",
    "CC(C)C",
    "CCCCN",
    "c1ccc(O)cc1C",
    "CCCC(=O)O",
    "NCCO",
    "CCOCC",
]


def _y(smiles=SMILES) -> pd.DataFrame:
    from rdkit import Chem
    from rdkit.Chem import Crippen, Descriptors

    mols = [Chem.MolFromSmiles(s) for s in smiles]
    return pd.DataFrame(
        {"logp": [Crippen.MolLogP(m) for m in mols], "tpsa": [Descriptors.TPSA(m) for m in mols]}
    )


def _members():
    return {
        "rf": RandomForestModel(n_estimators=10, n_jobs=1, seed=0),
        "gbm": GBMModel(n_estimators=30, min_child_samples=2, n_bits=128, n_jobs=1),
    }


@dataclass(frozen=True)
class LookupConfig:
    seed: int = 0


class LookupModel(MoleculeModel):
    """Memorises its training labels: perfect on them, the training mean elsewhere."""

    name = "lookup"
    config_cls = LookupConfig
    fits: list = []

    def _fit(self, train, val, checkpoints=None):
        LookupModel.fits.append(list(train.smiles))
        self.table = dict(zip(train.smiles, train.y.tolist(), strict=True))
        self.mean = np.nanmean(train.y, axis=0)

    def _predict(self, smiles, return_std):
        return np.array([self.table.get(s, self.mean) for s in smiles], float), None


def test_simplex_weights_are_a_convex_combination_that_fits():
    rng = np.random.default_rng(0)
    a, b, noise = rng.normal(size=200), rng.normal(size=200), rng.normal(size=200)
    y = 0.7 * a + 0.3 * b
    w = simplex_weights(np.column_stack([a, b, noise]), y)
    assert w.min() >= 0 and w.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(w, [0.7, 0.3, 0.0], atol=1e-4)
    # Negative mixing is not allowed: the best convex weighting of (a, -a) for y = a is (1, 0).
    assert simplex_weights(np.column_stack([a, -a]), a).round(6).tolist() == [1.0, 0.0]


def test_weights_come_from_inner_folds_not_from_the_training_fit():
    # A lookup table is perfect on molecules it was trained on and useless elsewhere. Weights
    # fitted on in-sample predictions would give it everything; on inner folds, nothing.
    LookupModel.fits = []
    y = _y()
    model = StackedModel(
        members={"lookup": LookupModel(), "rf": _members()["rf"]}, inner_folds=3
    ).fit(SMILES, y)
    for target in ("logp", "tpsa"):
        assert model.weights[target]["lookup"] < 0.2, model.weights
        assert model.weights[target]["rf"] > 0.8
        inner = model.fit_info["inner_r2"][target]
        assert inner["stack"] >= max(inner["lookup"], inner["rf"]) - 1e-9
    # Three inner fits on disjoint held-out folds, then one on everything.
    inner_fits, full = LookupModel.fits[:3], LookupModel.fits[3]
    assert len(LookupModel.fits) == 4 and len(set(full)) == len(SMILES)  # canonical SMILES
    held_out = [set(full) - set(f) for f in inner_fits]
    assert all(held_out) and set().union(*held_out) == set(full)
    assert sum(len(h) for h in held_out) == len(full)


def test_stack_round_trips_and_keeps_intervals(tmp_path):
    y = _y()
    model = StackedModel(members=_members(), inner_folds=3).fit(SMILES, y)
    query = ["CCCCCCCO", "c1ccccc1CC", "OCC(O)CO"]
    before = model.predict(query, return_std=True, interval=0.8)
    loaded = load_model(model.save(tmp_path / "stack"))
    assert isinstance(loaded, StackedModel) and loaded.weights == model.weights
    after = loaded.predict(query, return_std=True, interval=0.8)
    pd.testing.assert_frame_equal(before, after)
    # Normalised intervals: widths follow the members' disagreement, so they differ.
    width = (after["logp_upper"] - after["logp_lower"]).to_numpy()
    assert (width > 0).all() and np.ptp(width) > 1e-6
    meta = json.loads((tmp_path / "stack" / "model.json").read_text())
    assert meta["model"] == "stack" and meta["conformal"]["method"] == "normalised"
    # Tampered files are refused: weights missing an endpoint, a member of another kind.
    meta["extra"]["weights"].pop("tpsa")
    (tmp_path / "stack" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="malformed stacking weights"):
        load_model(tmp_path / "stack")
    meta["extra"]["weights"]["tpsa"] = meta["extra"]["weights"]["logp"]
    meta["config"]["kinds"] = ["gbm", "gbm"]
    (tmp_path / "stack" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="expects a 'gbm' model"):
        load_model(tmp_path / "stack")


def test_a_stopped_fit_resumes_to_the_same_model(tmp_path, monkeypatch):
    import torch

    y = _y()
    reference = StackedModel(members=_members()).fit(SMILES, y)
    plan_dir = tmp_path / "ckpt"
    stopped = StackedModel(members=_members())
    stopped.max_cpu_minutes = 1e-9  # used up: one step (every call makes progress), then stop
    with pytest.raises(TimeBudgetReached, match="before step inner0_gbm"):
        stopped.fit(SMILES, y, checkpoints=Checkpoints(plan_dir))
    assert torch.load(plan_dir / "last.pt", weights_only=True)["done"] == ["inner0_rf"]
    # A crash in the 4th member fit (inner fold 1, gbm) keeps the three steps before it
    # (the resumed run starts at inner0_gbm, the 1st GBM fit; the 2nd GBM fit crashes).
    calls = []
    original = GBMModel._fit

    def crashing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(GBMModel, "_fit", crashing)
    with pytest.raises(RuntimeError, match="killed"):
        StackedModel(members=_members()).fit(
            SMILES, y, checkpoints=Checkpoints(plan_dir, resume=True)
        )
    done = torch.load(plan_dir / "last.pt", weights_only=True)["done"]
    assert done == ["inner0_rf", "inner0_gbm", "inner1_rf"]
    monkeypatch.setattr(GBMModel, "_fit", original)
    resumed = StackedModel(members=_members()).fit(
        SMILES, y, checkpoints=Checkpoints(plan_dir, resume=True)
    )
    query = ["CCCCCCCO", "c1ccccc1CC"]
    pd.testing.assert_frame_equal(reference.predict(query), resumed.predict(query))
    # Resuming with other settings is refused.
    with pytest.raises(ValueError, match="other settings"):
        StackedModel(members=_members(), seed=5).fit(
            SMILES, y, checkpoints=Checkpoints(plan_dir, resume=True)
        )
    resumed.clear_checkpoints(Checkpoints(plan_dir))
    assert not plan_dir.exists()


def test_best_recipe_options_and_threads():
    model = best_recipe(
        threads=1,
        options={"gnn": {"hidden": 32}, "gbm": {"num_leaves": 7}, "kernel": {"count_cap": 8}},
    )
    assert list(model.members) == ["gbm", "gbm_rich", "gnn", "kernel"]
    assert model.members["kernel"].config.count_cap == 8
    assert model.members["kernel"].config.n_jobs == 1
    assert model.members["gnn"].config.hidden == 32
    assert model.members["gbm"].config.num_leaves == 7
    assert model.members["gbm"].config.n_jobs == 1 and model.members["gbm_rich"].config.n_jobs == 1
    assert model.members["gbm"]._params()["num_threads"] == 1
    assert model.members["gbm_rich"].config.fingerprints == ("avalon", "erg", "maccs")
    assert model.config.threads == 1
    with pytest.raises(ValueError, match="has no option"):
        best_recipe(options={"gnn": {"width": 3}})
    with pytest.raises(ValueError, match="not \\['rf'\\]"):
        best_recipe(options={"rf": {}})


@pytest.fixture
def train_csv(tmp_path):
    path = tmp_path / "train.csv"
    frame = _y(SMILES * 2)
    frame.insert(0, "smiles", SMILES * 2)
    frame["t_half"] = 10 ** (frame["logp"] / 2)  # positive, log-normal-like
    frame.to_csv(path, index=False)
    return path


FAST = [
    "--set",
    "gnn.epochs=1",
    "--set",
    "gnn.hidden=16",
    "--set",
    "gnn.ffn_hidden=16",
    "--set",
    "gbm.n_estimators=20",
    "--set",
    "gbm_rich.n_estimators=20",
    "--set",
    "gbm.min_child_samples=2",
    "--set",
    "gbm_rich.min_child_samples=2",
    "--set",
    "gbm.n_bits=128",
    "--set",
    "gbm_rich.n_bits=128",
]


def test_sciml_fit_defaults_to_the_best_recipe(train_csv, tmp_path, capsys):
    out = tmp_path / "model"
    assert (
        main(
            [
                "fit",
                "--train",
                str(train_csv),
                "--targets",
                "logp,t_half",
                "--out",
                str(out),
                "--threads",
                "1",
                *FAST,
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert (
        "target transforms: logp: none (auto: not strictly positive); t_half: log10 (auto"
        in printed
    )
    assert "stacking weights (fitted on inner folds of the training data): logp: gbm" in printed
    model = load_model(out)
    assert isinstance(model, StackedModel) and model.transforms.kinds["t_half"] == "log10"
    assert model.config.cross_endpoint  # the default recipe corrects across endpoints
    # 48 labelled molecules, fewer than CROSS_MIN_ROWS: no endpoint is tried, nothing printed.
    assert model.fit_info["cross_endpoint"] == {} and "cross-endpoint" not in printed
    assert model.members["gnn"].config.hidden == 16 and model.members["gbm"].config.n_jobs == 1
    assert not (out / "checkpoints").exists()  # removed once the model is saved
    preds = tmp_path / "p.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(out),
                "--input",
                str(train_csv),
                "--out",
                str(preds),
                "--interval",
                "0.9",
                "--std",
            ]
        )
        == 0
    )
    frame = pd.read_csv(preds)
    assert (frame["t_half_lower"] < frame["t_half_pred"]).all()
    assert (frame["t_half_pred"] < frame["t_half_upper"]).all()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "hidden=16"], "must name a member, e.g. --set gnn.hidden"),
        (["--set", "rf.n_estimators=3"], "has no member 'rf'"),
        (["--set", "gnn.width=3"], "member 'gnn' (gnn) has no option(s) width"),
        (["--val-fraction", "0.2"], "--val-fraction does not apply to --model best"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--set", "cross_endpoint=maybe"], "best option cross_endpoint must be true or false"),
        (["--set", "inner_folds=2.5"], "best option inner_folds must be an integer"),
    ],
)
def test_best_options_are_checked(train_csv, tmp_path, capsys, argv, message):
    assert (
        main(
            [
                "fit",
                "--train",
                str(train_csv),
                "--targets",
                "logp",
                "--out",
                str(tmp_path / "m"),
                *argv,
            ]
        )
        == 2
    )
    assert message in capsys.readouterr().err


def test_ensemble_members_take_options(train_csv, tmp_path):
    out = tmp_path / "ens"
    assert (
        main(
            [
                "fit",
                "--train",
                str(train_csv),
                "--targets",
                "logp",
                "--model",
                "ensemble",
                "--members",
                "rf,gbm",
                "--set",
                "rf.n_estimators=7",
                "--set",
                "gbm.n_estimators=9",
                "--threads",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    model = load_model(out)
    assert model.members[0].config.n_estimators == 7 and model.members[1].config.n_estimators == 9
    assert model.members[0].config.n_jobs == 1 and model.members[1].config.n_jobs == 1


def test_gbm_fingerprint_sets(tmp_path):
    y = _y()
    model = GBMModel(
        n_estimators=10, min_child_samples=2, n_bits=64, n_jobs=1, fingerprints=["erg", "maccs"]
    ).fit(SMILES, y)
    assert model.config.fingerprints == ("erg", "maccs")
    assert model._features(SMILES[:2]).shape == (2, 64 + 315 + 167 + len(model.descriptor_names))
    loaded = load_model(model.save(tmp_path / "g"))
    pd.testing.assert_frame_equal(model.predict(SMILES[:3]), loaded.predict(SMILES[:3]))
    with pytest.raises(ValueError, match="unknown fingerprint set"):
        GBMModel(fingerprints=("ecfp",))
    with pytest.raises(ValueError, match="must be a list of names"):
        GBMModel(fingerprints="avalon")


def test_shipped_names_resolve_only_when_no_local_folder(tmp_path, monkeypatch):
    from sciml.chem.models import shipped_model_path

    monkeypatch.chdir(tmp_path)
    assert shipped_model_path("not-shipped") is None
    (Path(tmp_path) / "biogen-adme").mkdir()
    assert shipped_model_path("biogen-adme") is None  # the local folder wins


def test_stack_with_a_binary_endpoint_combines_probabilities(tmp_path):
    y = _y()
    y["soluble"] = (y["tpsa"] > 20).astype(float)
    model = StackedModel(members=_members()).fit(SMILES, y[["logp", "soluble"]])
    assert model.tasks.kinds == ["regression", "binary"]
    assert set(model.fit_info["inner_r2"]["soluble"]) == {"rf", "gbm", "stack"}
    w = model.weights["soluble"]
    assert min(w.values()) >= 0 and sum(w.values()) == pytest.approx(1.0)
    p = model._predict(["CCCCCCCO", "OCC(O)CO"], False)[0][:, 1]
    assert ((p >= 0) & (p <= 1)).all()
    assert model.conformal.normalised and "soluble" not in model.conformal.beta
    loaded = load_model(model.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(
        model.predict(SMILES[:4], interval=0.8), loaded.predict(SMILES[:4], interval=0.8)
    )


def test_best_stops_at_max_minutes_and_resumes_from_the_command_line(train_csv, tmp_path, capsys):
    out = tmp_path / "model"
    base = [
        "fit",
        "--train",
        str(train_csv),
        "--targets",
        "logp",
        "--out",
        str(out),
        "--threads",
        "1",
        *FAST,
    ]
    # A budget of a few CPU milliseconds: every call fits one member and stops, so the
    # 4 x (3 + 1) = 16 steps need 16 calls.
    assert main([*base, "--max-minutes", "0.00001"]) == 3
    assert "continue with the same command and --resume" in capsys.readouterr().err
    assert (out / "checkpoints" / "last.pt").is_file() and not (out / "model.json").exists()
    codes = []
    while not codes or (codes[-1] == 3 and len(codes) < 20):
        codes.append(main([*base, "--max-minutes", "0.00001", "--resume"]))
    # 16 steps, one per call: 15 resumed calls after the first.
    assert codes == [3] * 14 + [0] and (out / "model.json").is_file()
    assert not (out / "checkpoints").exists()
    resumed = load_model(out).predict(SMILES[:5])
    fresh = tmp_path / "fresh"
    assert main([*base[:6], str(fresh), *base[7:]]) == 0
    pd.testing.assert_frame_equal(resumed, load_model(fresh).predict(SMILES[:5]))


@dataclass(frozen=True)
class NoisyConfig:
    seed: int = 0
    noise: float = 1.0


class NoisyOracle(MoleculeModel):
    """The true labels plus fixed per-molecule noise: two of them are best averaged."""

    name = "noisy"
    config_cls = NoisyConfig

    def _fit(self, train, val, checkpoints=None):
        pass

    def _predict(self, smiles, return_std):
        import zlib

        truth = _y(smiles).to_numpy()
        noise = [
            np.random.default_rng([zlib.crc32(s.encode()), self.config.seed]).normal(size=2)
            for s in smiles
        ]
        return truth + self.config.noise * np.array(noise) * truth.std(axis=0), None


def test_select_best_gives_each_endpoint_to_its_best_inner_member():
    # Two oracles with independent noise: weights mix them (about half each), select_best
    # gives each endpoint wholly to the one with the better inner-fold score.
    members = {"a": NoisyOracle(seed=1, noise=0.5), "b": NoisyOracle(seed=2, noise=0.6)}
    mixed = StackedModel(members=dict(members), inner_folds=3).fit(SMILES, _y())
    assert all(0.1 < w["a"] < 0.9 for w in mixed.weights.values()), mixed.weights
    model = StackedModel(members=dict(members), inner_folds=3, select_best=True).fit(SMILES, _y())
    assert model.config.select_best
    for target in ("logp", "tpsa"):
        inner = model.fit_info["inner_r2"][target]
        best = max(("a", "b"), key=lambda label: inner[label])
        assert model.weights[target] == {label: float(label == best) for label in ("a", "b")}
        assert inner["stack"] == pytest.approx(inner[best])


def test_best_recipe_keeps_the_members_asked_for():
    model = best_recipe(members=("gbm_rich", "gbm"), select_best=True, inner_folds=5)
    assert list(model.members) == ["gbm", "gbm_rich"]  # the recipe's order
    assert model.config.select_best and model.config.inner_folds == 5
    with pytest.raises(ValueError, match="distinct labels of the best recipe"):
        best_recipe(members=("gbm", "rf"))
    with pytest.raises(ValueError, match="at least two members"):
        best_recipe(members=("gbm",))


def test_best_recipe_keeps_catboost_opt_in_and_members_reach_the_cli(tmp_path, capsys):
    from sciml.chem.models import CatBoostModel, best_recipe
    from sciml.cli import main

    assert list(best_recipe().members) == ["gbm", "gbm_rich", "gnn", "kernel"]
    model = best_recipe(members=("gbm", "catboost_rich"), threads=1)
    cat = model.members["catboost_rich"]
    assert isinstance(cat, CatBoostModel) and cat.config.fingerprints == ("avalon", "erg", "maccs")
    assert cat.config.n_jobs == 1
    with pytest.raises(ValueError, match="distinct labels of the best recipe"):
        best_recipe(members=("gbm", "catboost"))
    train = tmp_path / "t.csv"
    train.write_text("smiles,y\n" + "".join(f"{'C' * (i % 7 + 1)}O,{i % 7}\n" for i in range(24)))
    argv = ["fit", "--train", str(train), "--targets", "y", "--model", "rf"]
    assert main([*argv, "--members", "gbm,gnn", "--out", str(tmp_path / "m")]) == 2
    assert "--members applies to --model ensemble and --model best" in capsys.readouterr().err


XE_SMILES = [f"{'C' * k}{tail}" for k in range(1, 28) for tail in ("O", "N", "Cl")]


def _xe_truth(smiles) -> np.ndarray:
    """Endpoint a: heavy atoms (with a fixed per-molecule wiggle); b = 2 a + 1, less wiggle."""
    import zlib

    from rdkit import Chem

    a = np.array(
        [
            Chem.MolFromSmiles(s).GetNumHeavyAtoms()
            + np.random.default_rng(zlib.crc32(s.encode())).normal()
            for s in smiles
        ]
    )
    return np.column_stack([a, 2 * a + 1])


@dataclass(frozen=True)
class BlindConfig:
    seed: int = 0


class HalfBlindOracle(MoleculeModel):
    """Predicts endpoint a with noise and knows nothing of b (noise around b's mean)."""

    name = "half_blind"
    config_cls = BlindConfig

    def _fit(self, train, val, checkpoints=None):
        self.mean_b = float(np.nanmean(train.y[:, 1]))

    def _save(self, directory):
        return {"mean_b": self.mean_b}

    def _load(self, directory, extra):
        self.mean_b = float(extra["mean_b"])

    def _predict(self, smiles, return_std):
        import zlib

        truth = _xe_truth(smiles)
        noise = np.array(
            [
                np.random.default_rng([zlib.crc32(s.encode()), self.config.seed]).normal(size=2)
                for s in smiles
            ]
        )
        return np.column_stack(
            [truth[:, 0] + 0.5 * noise[:, 0], self.mean_b + 3 * noise[:, 1]]
        ), None


def test_cross_endpoint_correction_learns_an_endpoint_from_its_neighbour(tmp_path, monkeypatch):
    # b is a linear function of a, which the members predict well; they know nothing of b.
    # The correction must be kept for b (nested CV on inner folds), learn b from the
    # members' predictions of a, survive a round trip, and refuse tampered coefficients.
    truth = _xe_truth(XE_SMILES)
    y = pd.DataFrame({"a": truth[:, 0], "b": truth[:, 1]})
    y.loc[::5, "b"] = np.nan  # b has fewer labels (65 of 81)
    members = {"x": HalfBlindOracle(seed=1), "z": HalfBlindOracle(seed=2)}
    plain = StackedModel(members=dict(members), inner_folds=3).fit(XE_SMILES, y)
    model = StackedModel(members=dict(members), inner_folds=3, cross_endpoint=True).fit(
        XE_SMILES, y
    )
    report = model.fit_info["cross_endpoint"]
    assert report["b"]["kept"] and "b" in model.cross
    assert report["b"]["cv_r2_cross"] > report["b"]["cv_r2_weights"] + 0.5, report
    assert plain.cross == {} and "cross_endpoint" not in plain.fit_info
    query = [f"{'C' * k}Br" for k in range(2, 20)]
    want = _xe_truth(query)[:, 1]
    r2 = {
        name: 1 - np.sum((m.predict(query)["b"] - want) ** 2) / np.sum((want - want.mean()) ** 2)
        for name, m in (("plain", plain), ("cross", model))
    }
    assert r2["plain"] < 0.1 and r2["cross"] > 0.8, r2
    # best_recipe's default, and the --config switch (a 'sciml tune'-style options dict).
    from sciml.chem.tune import best_from_options

    assert not best_from_options({"cross_endpoint": False}).config.cross_endpoint
    assert best_from_options({}).config.cross_endpoint
    assert (
        best_recipe().config.cross_endpoint
        and not best_recipe(cross_endpoint=False).config.cross_endpoint
    )
    before = model.predict(query, return_std=True, interval=0.8)
    import sciml.chem.models as registry

    monkeypatch.setitem(registry._LOADABLE, "half_blind", HalfBlindOracle)  # a test member
    loaded = load_model(model.save(tmp_path / "xe"))
    pd.testing.assert_frame_equal(before, loaded.predict(query, return_std=True, interval=0.8))
    meta = json.loads((tmp_path / "xe" / "model.json").read_text())
    meta["extra"]["cross"]["b"]["coef"] = meta["extra"]["cross"]["b"]["coef"][:-1]
    (tmp_path / "xe" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="malformed cross-endpoint corrections"):
        load_model(tmp_path / "xe")
    meta["extra"]["cross"]["b"]["coef"] = "os.system"
    (tmp_path / "xe" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="malformed cross-endpoint corrections"):
        load_model(tmp_path / "xe")


def test_bare_set_keys_reach_the_best_stack_and_member_keys_its_members():
    from sciml.chem import cli as chem_cli
    from sciml.cli import build_parser

    args = build_parser().parse_args(
        [
            "fit",
            "--train",
            "t.csv",
            "--targets",
            "logp",
            "--out",
            "m",
            "--set",
            "cross_endpoint=false",
            "--set",
            "inner_folds=5",
            "--set",
            "gnn.hidden=16",
        ]
    )
    args.config_options = {}
    model = chem_cli._best(args)
    assert not model.config.cross_endpoint and model.config.inner_folds == 5
    assert model.members["gnn"].config.hidden == 16
