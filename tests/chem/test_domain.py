"""Applicability domain: nearest-neighbour Tanimoto and descriptor ranges (sciml.chem.domain)."""

import json
import warnings

import numpy as np
import pytest
from rdkit import DataStructs
from rdkit.Chem import rdFingerprintGenerator

from sciml.chem.domain import TANIMOTO_THRESHOLD, TrainingDomain, _max_tanimoto
from sciml.chem.models import EnsembleModel, RandomForestModel, load_model
from sciml.chem.models.base import DomainWarning
from sciml.chem.smiles import parse_smiles
from tests.chem._molecules import SMILES, synthetic_targets


def _rdkit_max_tanimoto(query, train):
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [generator.GetFingerprint(parse_smiles(s)) for s in train]
    return [
        max(DataStructs.BulkTanimotoSimilarity(generator.GetFingerprint(parse_smiles(q)), fps))
        for q in query
    ]


def test_max_tanimoto_matches_rdkit_across_blocks():
    domain = TrainingDomain.fit(SMILES)
    query = ["CCCCCCCO", "c1ccc(O)cc1C", "CC(=O)Nc1ccc(O)cc1", "CCO"]
    expected = _rdkit_max_tanimoto(query, SMILES)
    np.testing.assert_allclose(domain.score(query)["max_tanimoto"], expected, atol=1e-4)
    packed = domain.fingerprints
    query_packed = TrainingDomain.fit(query).fingerprints
    # Tiny blocks exercise the blocked loops over both sides.
    np.testing.assert_allclose(_max_tanimoto(query_packed, packed, block=3), expected, atol=1e-6)


def test_far_molecules_are_out_of_domain():
    domain = TrainingDomain.fit(SMILES)
    frame = domain.score(["CCCCO", "C" * 300, "[Si]1[Si][Si][Si][Si]1"])
    assert frame["max_tanimoto"][0] == 1.0
    assert frame["in_domain"].tolist() == [True, False, False]
    assert "heavy_atoms 300 outside training range" in frame["note"][1]
    assert f"< {TANIMOTO_THRESHOLD:g}" in frame["note"][2]
    assert frame["note"][0] == ""


def test_save_load_round_trip_and_refuses_paths(tmp_path):
    domain = TrainingDomain.fit(SMILES)
    meta = json.loads(json.dumps(domain.save(tmp_path)))
    assert np.load(tmp_path / meta["fingerprints"]).shape == (len(SMILES), 256)
    again = TrainingDomain.load(tmp_path, meta)
    np.testing.assert_array_equal(again.fingerprints, domain.fingerprints)
    assert again.low == domain.low and again.threshold == domain.threshold
    for bad in ("../elsewhere.npy", "/etc/passwd", ""):
        with pytest.raises(ValueError, match="plain file name inside the model folder"):
            TrainingDomain.load(tmp_path, {**meta, "fingerprints": bad})


@pytest.fixture(scope="module")
def forest():
    return RandomForestModel(n_estimators=5, n_jobs=1, descriptor_cache=False).fit(
        SMILES, synthetic_targets()
    )


def test_every_model_reports_domain_and_warns(forest, tmp_path):
    members = [
        RandomForestModel(n_estimators=5, n_jobs=1, seed=s, descriptor_cache=False) for s in (0, 1)
    ]
    ensemble = EnsembleModel(members=members).fit(SMILES, synthetic_targets())
    for model in (forest, ensemble):
        folder = model.save(tmp_path / model.name)
        loaded = load_model(folder)
        with pytest.warns(DomainWarning, match="1 of 2 molecules are outside"):
            frame = loaded.predict(["CCCCO", "C" * 300], domain=True)
        assert frame.columns.tolist()[-3:] == ["max_tanimoto", "in_domain", "note"]
        assert frame["in_domain"].tolist() == [True, False]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "in_domain" not in forest.predict(["C" * 300]).columns  # opt-in in Python


def test_invalid_rows_have_no_domain(forest):
    frame = forest.predict(["CCO", "C1CC"], errors="nan", domain=True)
    assert frame["in_domain"].isna().tolist() == [False, True]
    assert np.isnan(frame["max_tanimoto"][1])


def test_a_model_saved_without_a_domain_says_so(forest, tmp_path):
    folder = forest.save(tmp_path / "old")
    meta = json.loads((folder / "model.json").read_text())
    del meta["domain"]
    (folder / "model.json").write_text(json.dumps(meta))
    frame = load_model(folder).predict(["CCO"], domain=True)
    assert frame["in_domain"].isna().all() and np.isnan(frame["max_tanimoto"][0])
    assert "no applicability domain stored with this model" in frame["note"][0]


def test_reported_similarity_and_decision_agree():
    domain = TrainingDomain.fit(SMILES)
    domain.threshold = 0.3
    frame = domain.score(["CCCCCCCO", "c1ccc(O)cc1C", "CC(=O)Nc1ccc(O)cc1", "OCCCCCCCCCCO"])
    assert (frame["in_domain"] | (frame["max_tanimoto"] < 0.3)).all()
    assert (frame["max_tanimoto"] == frame["max_tanimoto"].round(4)).all()
