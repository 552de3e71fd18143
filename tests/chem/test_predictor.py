"""The one chunked prediction loop (sciml.chem.predictor.predict_chunks), behind both
MolecularPropertyPredictor and ``sciml predict``."""

import numpy as np
import pandas as pd
import pytest

from sciml.chem.domain import DomainWarning
from sciml.chem.models import RandomForestModel
from sciml.chem.predictor import MolecularPropertyPredictor, predict_chunks
from sciml.chem.smiles import InvalidSmilesError
from sciml.cli import main
from tests.chem._molecules import SMILES, synthetic_targets

pytestmark = pytest.mark.usefixtures("one_thread")

QUERY = ["CCCCCCCO", "not a molecule", "c1ccccc1C", "CCN", "C1CC1", "OCC(O)CO", "CC(=O)[O-].[Na+]"]


@pytest.fixture(scope="module")
def rf_folder(tmp_path_factory):
    model = RandomForestModel(n_estimators=10, n_jobs=1, seed=0)
    model.fit(SMILES, synthetic_targets(), calibration=0.25)
    return model.save(tmp_path_factory.mktemp("rf") / "model")


def test_cli_and_api_write_the_same_numbers_with_an_invalid_smiles(rf_folder, tmp_path):
    query = tmp_path / "query.csv"
    pd.DataFrame({"id": [f"m{i}" for i in range(len(QUERY))], "smiles": QUERY}).to_csv(
        query, index=False
    )
    out = tmp_path / "preds.csv"
    argv = ["predict", "--model", str(rf_folder), "--input", str(query), "--out", str(out)]
    options = ["--errors", "nan", "--std", "--interval", "0.8", "--chunk-size", "3"]
    assert main([*argv, *options]) == 0
    cli = pd.read_csv(out, index_col="row", keep_default_na=False, na_values=[""])
    with pytest.warns(DomainWarning):  # the API warns per chunk; the CLI sums up once
        api = MolecularPropertyPredictor.load(rf_folder).predict(
            query, errors="nan", chunk_size=3, domain=True, interval=0.8
        )
    assert cli.columns.tolist() == ["id", "smiles", *api.columns]
    assert cli.index.tolist() == api.index.tolist() == list(range(len(QUERY)))
    numbers = [c for c in api.columns if c not in ("in_domain", "note")]
    np.testing.assert_allclose(
        cli[numbers].to_numpy(float), api[numbers].to_numpy(float), rtol=1e-12
    )
    assert cli.loc[1, numbers].isna().all() and cli.drop(index=1)["logp"].notna().all()
    assert cli["note"].fillna("").tolist() == api["note"].fillna("").tolist()
    assert "invalid SMILES" in api.loc[1, "note"]
    assert api.attrs["invalid"] == [(1, "not a molecule", api.attrs["invalid"][0][2])]


def test_raise_lists_the_invalid_rows_of_every_chunk(rf_folder, tmp_path):
    model = MolecularPropertyPredictor.load(rf_folder).model
    chunks = [QUERY[:2], QUERY[2:4], ["CCO", "C1CC"]]
    seen = []
    with pytest.raises(InvalidSmilesError) as caught:
        for done in predict_chunks(model, chunks):
            seen.append(done.start)
    assert seen == []  # the first chunk already holds an invalid SMILES
    assert [b.index for b in caught.value.invalid] == [1, 5]
    assert caught.value.total == 6


def test_chunks_number_rows_across_the_input_or_keep_series_labels(rf_folder):
    model = MolecularPropertyPredictor.load(rf_folder).model
    done = list(predict_chunks(model, [QUERY[:3], QUERY[3:]], errors="skip", start=10))
    assert [(d.start, d.size) for d in done] == [(10, 3), (13, 4)]
    assert done[0].frame.index.tolist() == [10, 12] and done[0].frame.index.name == "row"
    assert [b.index for b in done[0].invalid] == [11]
    whole = model.predict([q for q in QUERY if q != "not a molecule"])
    np.testing.assert_allclose(
        pd.concat([d.frame for d in done]).to_numpy(), whole.to_numpy(), rtol=1e-12
    )
    labelled = pd.Series(["CCO", "CCN"], index=["a", "b"])
    (only,) = predict_chunks(model, [labelled])
    assert only.frame.index.tolist() == ["a", "b"]
