"""Tests of TransformerModel's random-forest head on embeddings + RDKit descriptors."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from sciml.chem.descriptors import descriptor_names
from sciml.chem.models import TransformerModel
from sciml.train.checkpoint import CheckpointError

SMILES = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "Cc1ccccc1", "CCc1ccccc1", "OCCO"] * 2
Y = pd.DataFrame(
    {
        "logp": [-0.3, 0.1, 0.9, 1.4, 2.1, 2.7, 3.1, -1.0] * 2,
        "other": [1.0, 2.0, np.nan, 4.0, 5.0, np.nan, 7.0, 8.0] * 2,
    }
)
QUERY = ["CCCCCCO", "C1CC", "Cc1ccccc1C"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = TransformerModel(
        pretrained=None,
        size="tiny",
        adapt="none",
        features="embedding+descriptors",
        n_estimators=20,
        n_jobs=1,
    )
    model.fit(SMILES, Y)
    folder = tmp_path_factory.mktemp("emb_desc")
    model.save(folder)
    torch.set_num_threads(threads)
    return model, folder


def test_forests_see_embedding_and_descriptors(fitted):
    model, _ = fitted
    width = model.stage.model.encoder.d_model + len(descriptor_names())
    assert model.medians.shape == (len(descriptor_names()),)
    assert not np.isnan(model.medians).any()
    for forest in model.forests.values():
        assert forest.feature.max() < width
    # A forest on 216 descriptors plus the embedding splits on some descriptor column.
    d_model = model.stage.model.encoder.d_model
    assert any((f.feature[f.left != -1] >= d_model).any() for f in model.forests.values())


def test_predict_shapes_and_round_trip(fitted):
    model, folder = fitted
    pred = model.predict(QUERY, errors="nan", return_std=True)
    assert pred.shape == (3, 4)
    assert pred.iloc[1].isna().all() and pred.drop(index=1).notna().all().all()
    loaded = TransformerModel.load(folder)
    assert loaded.config.features == "embedding+descriptors"
    pd.testing.assert_frame_equal(loaded.predict(QUERY, errors="nan", return_std=True), pred)


def test_fits_the_training_data(fitted):
    model, _ = fitted
    pred = model.predict(SMILES)["logp"].to_numpy()
    assert np.corrcoef(pred, Y["logp"])[0, 1] > 0.9


def test_load_refuses_other_descriptor_set(fitted, tmp_path):
    _, folder = fitted
    meta_file = next(p for p in folder.iterdir() if p.suffix == ".json")
    copy = tmp_path / "model"
    copy.mkdir()
    for p in folder.iterdir():
        (copy / p.name).write_bytes(p.read_bytes())
    meta = json.loads(meta_file.read_text())
    text = json.dumps(meta).replace('"MolLogP"', '"NotADescriptor"')
    (copy / meta_file.name).write_text(text)
    with pytest.raises(CheckpointError, match="descriptors"):
        TransformerModel.load(copy)


def test_bad_features():
    with pytest.raises(ValueError, match="unknown features"):
        TransformerModel(features="fingerprints")
    with pytest.raises(ValueError, match="head='rf'"):
        TransformerModel(head="finetune", features="embedding+descriptors")
