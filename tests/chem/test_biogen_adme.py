"""The shipped ADME predictor ``biogen-adme`` (sciml/assets/biogen_adme)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sciml import asset_path
from sciml.chem.models import StackedModel, load_model
from sciml.cli import main

FROZEN = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "biogen_adme_frozen.json").read_text()
)
ENDPOINTS = ["HLM", "RLM", "MDR1_ER", "Sol", "hPPB", "rPPB"]


@pytest.fixture(scope="module")
def model():
    return load_model("biogen-adme")


def _frozen_frame(model) -> pd.DataFrame:
    import torch

    torch.set_num_threads(1)
    frame = model.predict(list(FROZEN["smiles"].values()), interval=0.9, domain=True)
    return frame


def test_shipped_predictor_predicts_its_frozen_numbers(model):
    assert isinstance(model, StackedModel) and model.targets == ENDPOINTS
    frame = _frozen_frame(model)
    np.testing.assert_allclose(
        frame[FROZEN["columns"]].to_numpy(float), FROZEN["values"], rtol=1e-5, atol=1e-6
    )
    assert frame["in_domain"].astype(bool).tolist() == FROZEN["in_domain"]
    # Intervals bracket the prediction and differ in width from molecule to molecule.
    for e in ENDPOINTS:
        assert (frame[f"{e}_lower"] < frame[e]).all() and (frame[e] < frame[f"{e}_upper"]).all()
    widths = (
        frame[[f"{e}_upper" for e in ENDPOINTS]].to_numpy()
        - frame[[f"{e}_lower" for e in ENDPOINTS]].to_numpy()
    )
    assert np.ptp(widths, axis=0).min() > 1e-3


def test_shipped_predictor_survives_save_and_reload(model, tmp_path):
    again = load_model(model.save(tmp_path / "copy"))
    pd.testing.assert_frame_equal(_frozen_frame(model), _frozen_frame(again))


def test_shipped_folder_is_small_and_says_where_it_came_from():
    folder = asset_path("biogen_adme")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 7e6, f"{size / 1e6:.1f} MB"  # four members: 6.2 MB in session 7
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["name"] == "biogen-adme" and "3521" in provenance["data"]
    assert set(provenance["weights"]) == set(ENDPOINTS)


def test_predict_command_with_the_shipped_name(tmp_path, capsys):
    inp, out = tmp_path / "my.csv", tmp_path / "preds.csv"
    pd.DataFrame({"smiles": list(FROZEN["smiles"].values())[:3]}).to_csv(inp, index=False)
    assert main(["predict", "--model", "biogen-adme", "--input", str(inp), "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert {"HLM", "HLM_lower", "HLM_upper", "in_domain", "max_tanimoto"} <= set(frame.columns)
    np.testing.assert_allclose(frame["HLM"], np.asarray(FROZEN["values"])[:3, 0], rtol=1e-5)
