"""Tests of TransformerModel and MolecularPropertyPredictor (tiny model, tiny data)."""

import numpy as np
import pandas as pd
import pytest
import torch

from sciml.chem.domain import DomainWarning
from sciml.chem.models import TransformerModel
from sciml.chem.predictor import MolecularPropertyPredictor
from sciml.chem.smiles import InvalidSmilesError

SMILES = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "Cc1ccccc1", "CCc1ccccc1", "OCCO"] * 2
Y = pd.DataFrame(
    {
        "logp": [-0.3, 0.1, 0.9, 1.4, 2.1, 2.7, 3.1, -1.0] * 2,
        "other": [1.0, 2.0, np.nan, 4.0, 5.0, np.nan, 7.0, 8.0] * 2,
    }
)
QUERY = ["CCCCCCO", "C1CC", "Cc1ccccc1C"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module", params=["rf", "finetune"])
def fitted(request, tmp_path_factory):
    torch.set_num_threads(1)
    model = TransformerModel(
        pretrained=None,
        size="tiny",
        adapt="mtr",
        adapt_epochs=2,
        head=request.param,
        n_estimators=20,
        finetune_epochs=3,
        mc_samples=3,
        n_jobs=1,
    )
    model.fit(SMILES, Y)
    folder = tmp_path_factory.mktemp(request.param)
    model.save(folder)
    return model, folder


def test_predict_columns_units_and_round_trip(fitted):
    model, folder = fitted
    pred = model.predict(QUERY, errors="nan", return_std=True)
    assert list(pred.columns) == ["logp", "other", "logp_std", "other_std"]
    assert pred.iloc[1].isna().all() and pred.drop(index=1).notna().all().all()
    # Physical units: predictions lie in the range of the training labels.
    assert Y["logp"].min() - 1 < pred.loc[0, "logp"] < Y["logp"].max() + 1
    loaded = TransformerModel.load(folder)
    again = loaded.predict(QUERY, errors="nan", return_std=True)
    pd.testing.assert_frame_equal(pred, again)


def test_errors_policies(fitted):
    model, _ = fitted
    with pytest.raises(InvalidSmilesError, match="C1CC"):
        model.predict(QUERY)
    assert len(model.predict(QUERY, errors="skip")) == 2


def test_predictor_inputs(fitted, tmp_path):
    _, folder = fitted
    predictor = MolecularPropertyPredictor.load(folder)
    assert predictor.endpoints == ["logp", "other"]
    from_list = predictor.predict(QUERY, errors="nan", chunk_size=2)
    assert list(from_list.index) == [0, 1, 2]
    assert from_list.attrs["uncertainty"] == predictor.uncertainty_method
    series = pd.Series(QUERY, index=["a", "b", "c"])
    from_series = predictor.predict(series, errors="skip", chunk_size=2)
    assert list(from_series.index) == ["a", "c"]
    smi = tmp_path / "q.smi"
    smi.write_text("\n".join(f"{s} mol{i}" for i, s in enumerate(QUERY)) + "\n")
    csv = tmp_path / "q.csv"
    pd.DataFrame({"SMILES": QUERY}).to_csv(csv, index=False)
    from_smi = predictor.predict(smi, errors="nan", chunk_size=2, uncertainty=False)
    from_csv = predictor.predict(csv, errors="nan", smiles_column="SMILES", uncertainty=False)
    pd.testing.assert_frame_equal(from_smi, from_csv)
    assert list(from_smi.columns) == ["logp", "other"]
    if "MC dropout" not in predictor.uncertainty_method:  # dropout draws depend on batching
        pd.testing.assert_frame_equal(from_list[["logp", "other"]], from_smi)
    # Compression is found by content: gzip files named .csv or .smi are read.
    import gzip

    for plain in (csv, smi):
        disguised = tmp_path / f"gz_{plain.name}"
        disguised.write_bytes(gzip.compress(plain.read_bytes()))
        again = predictor.predict(
            disguised, errors="nan", smiles_column="SMILES", uncertainty=False
        )
        pd.testing.assert_frame_equal(again, from_csv)
    with_domain = predictor.predict(csv, errors="nan", smiles_column="SMILES", domain=True)
    assert list(with_domain.columns)[-3:] == ["max_tanimoto", "in_domain", "note"]


def test_predictor_errors(fitted):
    _, folder = fitted
    predictor = MolecularPropertyPredictor.load(folder)
    with pytest.raises(KeyError, match=r"HLM.*logp"):
        predictor.predict(["CCO"], endpoints=["HLM"])
    with pytest.raises(InvalidSmilesError) as info:
        predictor.predict(["CCO", "CC", "C1CC", "CCN"], chunk_size=2)
    assert [bad.index for bad in info.value.invalid] == [2]
    with pytest.raises(FileNotFoundError, match="list"):
        predictor.predict("CCO")


def test_predictor_precision(fitted, tmp_path):
    model, folder = fitted
    fp32 = MolecularPropertyPredictor.load(folder).predict(QUERY, errors="nan", uncertainty=False)
    predictor = MolecularPropertyPredictor.load(folder, precision="bf16")
    assert predictor.model.config.precision == "bf16"
    bf16 = predictor.predict(QUERY, errors="nan", uncertainty=False)
    assert bf16.iloc[1].isna().all()
    spread = Y.std().to_numpy()
    assert (np.abs(bf16 - fp32).drop(index=1).to_numpy() < 0.2 * spread).all()
    with pytest.raises(ValueError, match="auto, fp32, bf16"):
        TransformerModel(precision="int4")
    from sciml.chem.models import RandomForestModel

    forest = RandomForestModel(n_estimators=5, n_jobs=1).fit(SMILES, Y)
    forest.save(tmp_path / "rf")
    with pytest.raises(ValueError, match="precision applies to transformer models; .* 'rf'"):
        MolecularPropertyPredictor.load(tmp_path / "rf", precision="bf16")
    with pytest.raises(ValueError, match=r"no inference option\(s\) precision; .*: none"):
        forest.set_inference_options(precision="bf16")
    with pytest.raises(ValueError, match=r"no inference option\(s\) n_estimators; .*: precision"):
        model.set_inference_options(n_estimators=3)


def test_bad_options():
    with pytest.raises(ValueError, match="rf, finetune"):
        TransformerModel(head="svm")
    with pytest.raises(ValueError, match="mtr"):
        TransformerModel(adapt="xyz")


def test_longer_than_max_len_follows_the_errors_policy(fitted):
    model, _ = fitted
    max_len = model.stage.model.encoder.max_len
    long = "C" * (max_len + 5)
    message = f"{max_len + 7} tokens, longer than the model's maximum of {max_len} tokens"
    with pytest.raises(InvalidSmilesError, match=message):
        model.predict(["CCO", long])
    frame = model.predict(["CCO", long], errors="nan")
    assert frame.loc[1].isna().all() and frame.loc[0].notna().all()
    assert frame.attrs["invalid"] == [(1, long, message)]
    assert model.predict(["CCO", long], errors="skip").index.tolist() == [0]
    assert model.check_inputs([long])[1][0].reason == message


def test_domain_columns_survive_save_and_load(fitted):
    model, folder = fitted
    loaded = TransformerModel.load(folder)
    with pytest.warns(DomainWarning, match="1 of 2 molecules"):  # the salt: far from alcohols
        frame = loaded.predict(["CCO", "CC(=O)[O-].[Na+]"], domain=True)
    assert frame["max_tanimoto"][0] == 1.0 and frame["in_domain"][0]
    assert "2 fragments" in frame["note"][1]
    np.testing.assert_array_equal(loaded.domain.fingerprints, model.domain.fingerprints)


def test_model_json_with_the_former_class_path_loads(fitted, tmp_path):
    """Models saved while TransformerModel lived in sciml.chem.transformer.predictor."""
    import json
    import shutil

    from sciml.chem.models import load_model
    from sciml.train.checkpoint import CheckpointError

    model, folder = fitted
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    meta = json.loads((old / "model.json").read_text())
    assert meta["class"] == "sciml.chem.models.transformer.TransformerModel"
    meta["class"] = "sciml.chem.transformer.predictor.TransformerModel"
    (old / "model.json").write_text(json.dumps(meta))
    expected = model.predict(QUERY, errors="nan")
    for loaded in (TransformerModel.load(old), load_model(old)):
        pd.testing.assert_frame_equal(loaded.predict(QUERY, errors="nan"), expected)
    meta["class"] = "sciml.chem.transformer.somewhere.TransformerModel"
    (old / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="somewhere.TransformerModel"):
        TransformerModel.load(old)


def test_old_import_paths_give_the_moved_objects():
    import sciml.chem.models.transformer as new_model
    import sciml.chem.predictor as new_predictor
    import sciml.chem.transformer as package
    import sciml.chem.transformer.predictor as old

    for name in ("HEADS", "TransformerConfig", "TransformerModel"):
        assert getattr(package, name) is getattr(new_model, name)
        assert getattr(old, name) is getattr(new_model, name)
    assert package.MolecularPropertyPredictor is new_predictor.MolecularPropertyPredictor
    assert old.MolecularPropertyPredictor is new_predictor.MolecularPropertyPredictor
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        package.Nope  # noqa: B018


@pytest.mark.parametrize(
    "first",
    [
        "sciml.chem.transformer",
        "sciml.chem.models.transformer",
        "sciml.chem.predictor",
        "sciml.chem.transformer.predictor",
    ],
)
def test_no_import_circle(first):
    """The transformer package (network and stages) does not import the model registry."""
    import subprocess
    import sys

    code = (
        f"import sys, {first}; import sciml.chem.transformer; "
        "print('sciml.chem.models' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ("False" if first == "sciml.chem.transformer" else "True")


def test_pretrained_names_a_shipped_encoder_or_a_file(tmp_path):
    from sciml import asset_path
    from sciml.chem.models.transformer import resolve_pretrained

    assert resolve_pretrained("moses_mlm_small.pt") == asset_path("moses_mlm_small.pt")
    local = tmp_path / "moses_mlm_small.pt"
    local.write_bytes(b"")
    assert resolve_pretrained(local) == local  # an existing file wins over the asset
    assert TransformerModel(pretrained="none").config.pretrained is None
    assert TransformerModel(pretrained="None").config.pretrained is None
    with pytest.raises(
        FileNotFoundError, match="neither a file nor a shipped encoder.*moses_mlm_small.pt"
    ):
        resolve_pretrained("mosse_mlm_small.pt")
    with pytest.raises(FileNotFoundError, match="no such file"):
        resolve_pretrained(tmp_path / "missing" / "enc.pt")
