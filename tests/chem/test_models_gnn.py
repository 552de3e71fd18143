import json

import numpy as np
import pandas as pd
import pytest
import torch

from sciml.chem.models import GNNModel, RandomForestModel, load_model
from sciml.chem.models.base import META_FILE, DomainWarning
from sciml.chem.smiles import InvalidSmilesError
from sciml.metrics import r2
from sciml.train import CheckpointError, load_checkpoint
from tests.chem._molecules import SMILES, synthetic_targets, with_missing

pytestmark = pytest.mark.usefixtures("one_thread")


SMALL = dict(hidden=48, ffn_hidden=48, batch_size=16, lr=3e-3, val_fraction=0.0, seed=0)


def test_overfits_tiny_multitask_data_with_missing_labels():
    y = with_missing(synthetic_targets())
    options = {**SMALL, "batch_size": 40, "lr": 5e-3}
    model = GNNModel(epochs=80, descriptors=False, **options).fit(SMILES, y)
    history = model.histories[0]
    assert history["train_loss"].iloc[-1] < 0.1 * history["train_loss"].iloc[0]
    pred = model.predict(SMILES)
    labelled = y.to_numpy()
    assert r2(labelled, pred.to_numpy(), reduce="none").min() > 0.85  # NaN labels are masked
    assert pred.notna().all().all()  # ...yet every row gets a prediction for every endpoint


def test_ensemble_with_descriptors_round_trips(tmp_path):
    y = synthetic_targets()
    model = GNNModel(epochs=3, ensemble=2, descriptor_cache=False, **SMALL).fit(SMILES[:30], y[:30])
    queries = SMILES[30:]
    before = model.predict(queries, return_std=True)
    assert list(before.columns) == ["logp", "mw", "logp_std", "mw_std"]
    assert (before[["logp_std", "mw_std"]] > 0).all().all()  # members differ by seed
    model.save(tmp_path / "gnn")
    payload = load_checkpoint(tmp_path / "gnn" / "member_1.pt")  # weights_only=True inside
    assert payload["model"]["hparams"]["n_descriptors"] > 100
    for loaded in (GNNModel.load(tmp_path / "gnn"), load_model(tmp_path / "gnn")):
        pd.testing.assert_frame_equal(loaded.predict(queries, return_std=True), before)
    # The applicability domain is that of the 30 training molecules, also after loading.
    with pytest.warns(DomainWarning):
        domain = load_model(tmp_path / "gnn").predict([SMILES[0], "C" * 300], domain=True)
    assert domain["max_tanimoto"][0] == 1.0 and domain["in_domain"].tolist() == [True, False]


def test_validation_data_selects_best_epoch():
    y = synthetic_targets()
    model = GNNModel(epochs=4, descriptors=False, **SMALL).fit(
        SMILES[:30], y[:30], SMILES[30:], y[30:]
    )
    history = model.histories[0]
    assert "val_loss" in history and len(history) == 4
    best = history["val_loss"].idxmin()
    # The restored weights are those of the best validation epoch.
    from sciml.train import MultiTaskRegression, TrainConfig, Trainer

    trainer = Trainer(
        model.members[0],
        MultiTaskRegression(["logp", "mw"]),
        TrainConfig(progress=False, batch_size=64),
    )
    val_ds = model._dataset(SMILES[30:], y[30:].to_numpy())
    assert trainer.evaluate(val_ds)["loss"] == pytest.approx(history["val_loss"][best], rel=1e-4)


def test_errors_policy_and_unknown_endpoint():
    y = synthetic_targets()[:20]
    model = GNNModel(epochs=1, descriptors=False, **SMALL).fit(SMILES[:20], y)
    with pytest.raises(InvalidSmilesError, match="1 invalid SMILES"):
        model.predict(["CCO", "c1cccc1"])
    out = model.predict(["CCO", "c1cccc1", ""], errors="nan")
    assert out.iloc[0].notna().all() and out.iloc[1:].isna().all().all()
    assert [row[0] for row in out.attrs["invalid"]] == [1, 2]
    with pytest.raises(KeyError, match="HLM"):
        model.predict(["CCO"], targets=["HLM"])
    with pytest.raises(ValueError, match="ensemble"):
        model.predict(["CCO"], return_std=True)


def test_refuses_a_random_forest_folder_and_vice_versa(tmp_path):
    y = synthetic_targets()[:12]
    RandomForestModel(n_estimators=3, n_jobs=1).fit(SMILES[:12], y).save(tmp_path / "rf")
    GNNModel(epochs=1, descriptors=False, **SMALL).fit(SMILES[:12], y).save(tmp_path / "gnn")
    with pytest.raises(CheckpointError, match="RandomForestModel"):
        GNNModel.load(tmp_path / "rf")
    with pytest.raises(CheckpointError, match="GNNModel"):
        RandomForestModel.load(tmp_path / "gnn")
    meta = json.loads((tmp_path / "gnn" / META_FILE).read_text())
    meta["model"] = "transformer-from-the-future"
    (tmp_path / "gnn" / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="known kinds"):
        load_model(tmp_path / "gnn")


def test_checkpoint_of_other_endpoints_is_refused(tmp_path):
    y = synthetic_targets()[:12]
    GNNModel(epochs=1, descriptors=False, **SMALL).fit(SMILES[:12], y).save(tmp_path / "a")
    meta = json.loads((tmp_path / "a" / META_FILE).read_text())
    meta["targets"] = ["HLM", "RLM"]
    (tmp_path / "a" / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="predicts"):
        GNNModel.load(tmp_path / "a")


def test_training_is_deterministic():
    y = synthetic_targets()[:16]
    a = GNNModel(epochs=2, descriptors=False, **SMALL).fit(SMILES[:16], y).predict(["CCCO"])
    b = GNNModel(epochs=2, descriptors=False, **SMALL).fit(SMILES[:16], y).predict(["CCCO"])
    pd.testing.assert_frame_equal(a, b)
    assert torch.get_num_threads() >= 1 and np.isfinite(a.to_numpy()).all()


def test_gine_architecture_trains_saves_and_loads_without_pyg_for_dmpnn(tmp_path):
    import subprocess
    import sys

    from sciml.chem.models import GNNModel, load_model

    from ._molecules import SMILES, synthetic_targets

    y = synthetic_targets()
    model = GNNModel(
        architecture="gine",
        depth=2,
        hidden=32,
        ffn_hidden=32,
        epochs=30,
        batch_size=10,
        lr=3e-3,
        val_fraction=0.0,
        descriptors=False,
    )
    model.fit(SMILES, y)
    pred = model.predict(SMILES)
    assert float(np.corrcoef(pred["logp"], y["logp"])[0, 1]) > 0.8
    model.save(tmp_path / "gine")
    again = load_model(tmp_path / "gine")
    np.testing.assert_allclose(again.predict(SMILES).to_numpy(), pred.to_numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="architecture"):
        GNNModel(architecture="gat")
    # a D-MPNN model never imports torch-geometric (which loads torch._dynamo)
    dmpnn = GNNModel(
        depth=2, hidden=16, ffn_hidden=16, epochs=1, val_fraction=0.0, descriptors=False
    ).fit(SMILES, y)
    dmpnn.save(tmp_path / "dmpnn")
    code = (
        "import sys; from sciml.chem.models import load_model; "
        f"load_model({str(tmp_path / 'dmpnn')!r}).predict(['CCO']); "
        "print('torch_geometric' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_gine_trains_on_a_batch_of_one_single_atom_molecule():
    from sciml.chem.models import GNNModel

    model = GNNModel(
        architecture="gine",
        depth=2,
        hidden=8,
        ffn_hidden=8,
        epochs=1,
        batch_size=2,
        val_fraction=0.0,
        descriptors=False,
    )
    model.fit(["CCO", "CCN", "C"], pd.DataFrame({"y": [1.0, 2.0, 3.0]}))
    assert np.isfinite(model.predict(["C", "CCO"])["y"]).all()
