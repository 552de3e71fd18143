import json

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from sciml.chem.models import KernelModel, load_model
from sciml.chem.models.base import META_FILE
from sciml.chem.models.kernel import _loo_ridge, minmax_kernel
from sciml.metrics import r2
from sciml.train import CheckpointError
from tests.chem._molecules import SMILES, synthetic_targets, with_missing


@pytest.fixture(scope="module")
def fitted():
    return KernelModel(n_jobs=1, descriptor_cache=False).fit(
        SMILES, with_missing(synthetic_targets())
    )


def test_minmax_kernel_matches_its_definition():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, size=(7, 30)) * (rng.random((7, 30)) < 0.3)
    b = rng.integers(0, 5, size=(4, 30)) * (rng.random((4, 30)) < 0.3)
    b[0] = 0
    a[0] = 0
    expected = np.array(
        [
            [
                np.minimum(x, y).sum() / np.maximum(x, y).sum() if np.maximum(x, y).sum() else 1.0
                for y in b
            ]
            for x in a
        ]
    )
    got = minmax_kernel(sparse.csr_matrix(a.astype(float)), sparse.csr_matrix(b.astype(float)), 4)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[0, 0] == 1.0  # two empty fingerprints are the same molecule to the kernel


@pytest.mark.parametrize("weighted", [False, True])
def test_loo_ridge_equals_refitting_without_each_row(weighted):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(25, 3))
    gram = np.exp(-((x[:, None] - x[None]) ** 2).sum(-1) / 4)
    y = x[:, 0] + rng.normal(scale=0.3, size=25)
    w = rng.uniform(0.5, 2.0, size=25) if weighted else None
    ww = np.ones(25) if w is None else w
    fit = _loo_ridge(gram, y, w, (0.01, 0.1, 1.0))

    def solve(rows, alpha):
        mu = np.average(y[rows], weights=ww[rows])
        k = gram[np.ix_(rows, rows)]
        coef = np.linalg.solve(
            np.diag(ww[rows]) @ k + alpha * np.eye(len(rows)), ww[rows] * (y[rows] - mu)
        )
        return mu, coef

    # the full fit: weighted ridge normal equations
    mu, coef = solve(np.arange(25), fit["alpha"])
    np.testing.assert_allclose(fit["coef"], coef, rtol=1e-8, atol=1e-10)
    # leave-one-out error by brute force, for the chosen penalty, with the offset held at
    # the full fit's (the closed form treats the offset as known)
    errors = []
    for i in range(25):
        rows = np.delete(np.arange(25), i)
        k = gram[np.ix_(rows, rows)]
        c = np.linalg.solve(
            np.diag(ww[rows]) @ k + fit["alpha"] * np.eye(24), ww[rows] * (y[rows] - mu)
        )
        errors.append(ww[i] * (y[i] - mu - gram[i, rows] @ c) ** 2)
    assert fit["loo_mse"] == pytest.approx(np.sum(errors) / ww.sum(), rel=1e-8)


def test_learns_and_reports_its_choices(fitted):
    y = synthetic_targets()
    pred = fitted.predict(SMILES)
    assert list(pred.columns) == ["logp", "mw"]
    assert r2(y.to_numpy(), pred.to_numpy(), reduce="none").min() > 0.8
    report = fitted.fit_info["kernel"]
    assert set(report) == {"logp", "mw"}
    for entry in report.values():
        assert entry["alpha"] in KernelModel().config.alphas
        assert entry["descriptor_weight"] == 0.5 and entry["subset"] is False
        assert entry["n_train"] < len(SMILES)  # with_missing left some labels out


def test_save_load_round_trip_is_identical_and_pickle_free(fitted, tmp_path):
    queries = ["CCCCCCCO", "c1ccc(O)cc1C", "CCN(CC)CC"]
    before = fitted.predict(queries)
    fitted.save(tmp_path / "k")
    meta = json.loads((tmp_path / "k" / META_FILE).read_text())
    assert meta["model"] == "kernel"
    with np.load(tmp_path / "k" / meta["extra"]["weights"], allow_pickle=False) as arrays:
        assert all(arrays[k].dtype != object for k in arrays.files)
    loaded = load_model(tmp_path / "k")
    assert isinstance(loaded, KernelModel)
    pd.testing.assert_frame_equal(loaded.predict(queries), before)
    assert loaded.fit_info["kernel"] == fitted.fit_info["kernel"]


def test_refuses_std_and_malformed_arrays(fitted, tmp_path):
    with pytest.raises(ValueError, match="no spread"):
        fitted.predict(["CCO"], return_std=True)
    fitted.save(tmp_path / "k")
    path = tmp_path / "k" / "kernel.npz"
    with np.load(path) as arrays:
        good = {k: arrays[k] for k in arrays.files}
    for key, value, message in [
        ("t0_rows", good["t0_rows"] + 10_000, "rows and coefficients"),
        ("counts_indices", good["counts_indices"] + 5000, "fingerprint columns"),
        ("counts_indptr", good["counts_indptr"][:-1], "row pointers"),
        ("keep", good["keep"][:-1], "differ in length"),
        ("t1_coef", np.full_like(good["t1_coef"], np.nan), "non-finite"),
    ]:
        np.savez(path, **{**good, key: value})
        with pytest.raises(CheckpointError, match=message):
            load_model(tmp_path / "k")
    np.savez(path, **{k: v for k, v in good.items() if k != "t1_offset"})
    with pytest.raises(CheckpointError, match="malformed"):
        load_model(tmp_path / "k")
    path.write_bytes(b"not an npz")
    with pytest.raises(CheckpointError, match="not a kernel model"):
        load_model(tmp_path / "k")


def test_subset_above_max_train_and_descriptor_weight_candidates():
    y = synthetic_targets()[["logp"]]
    model = KernelModel(
        max_train=20, descriptor_weight=(0.0, 1.0), n_jobs=1, descriptor_cache=False
    ).fit(SMILES, y)
    entry = model.fit_info["kernel"]["logp"]
    assert entry["n_train"] == 20 and entry["subset"] is True
    assert model._train_desc.shape[0] == 20  # only the fitted molecules are kept
    assert entry["descriptor_weight"] in (0.0, 1.0)
    assert np.isfinite(model.predict(SMILES[:5]).to_numpy()).all()


def test_binary_endpoint_is_clipped_to_probabilities():
    labels = (synthetic_targets()["logp"] > synthetic_targets()["logp"].median()).astype(float)
    model = KernelModel(n_jobs=1, descriptor_cache=False).fit(
        SMILES, pd.DataFrame({"active": labels})
    )
    assert model.tasks.kinds == ["binary"]
    queries = SMILES + ["CCCCCCCCCCCCCCCCCCCCO", "O=C(O)c1ccc(Cl)c(Cl)c1"]
    p = model.predict(queries)["active_prob"].to_numpy(dtype=float)
    assert p.min() >= 0 and p.max() <= 1
    assert np.mean((p[: len(SMILES)] > 0.5) == labels.to_numpy().astype(bool)) > 0.8


@pytest.mark.parametrize(
    "bad",
    [
        {"descriptor_weight": 1.5},
        {"descriptor_weight": ()},
        {"alphas": (0.0,)},
        {"count_cap": 0},
        {"max_train": True},
        {"length_scale": float("nan")},
    ],
)
def test_config_is_checked(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        KernelModel(**bad)
