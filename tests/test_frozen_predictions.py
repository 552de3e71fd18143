"""Frozen predictions of every shipped checkpoint in ``sciml/assets/`` (issue 18).

The expected outputs in ``tests/data/frozen_predictions.json`` were written once by
``tests/data/make_frozen_predictions.py``; these tests recompute them with the same code
(one torch thread, deterministic algorithms) and compare with a tight tolerance, so a change
in the tokenizer, the encoder, the digit decoding or the generation shows up here. The
``*_catches_*`` tests show the comparison fails when the vocabulary order changes.
"""

from __future__ import annotations

import importlib.util
import json
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import torch

DATA = Path(__file__).resolve().parent / "data"
FROZEN = json.loads((DATA / "frozen_predictions.json").read_text())
# ATOL 1e-5: on a CPU with AVX512-BF16/FP16, oneDNN's kernels move a near-zero embedding
# entry (0.0077) by 2e-6 against the frozen values; a changed checkpoint moves O(1) values.
RTOL, ATOL = 1e-4, 1e-5

_spec = importlib.util.spec_from_file_location("make_frozen", DATA / "make_frozen_predictions.py")
make_frozen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_frozen)


@pytest.fixture(autouse=True)
def _deterministic():
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    make_frozen.setup()
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)


def _swapped(tokenizer, a: str = "C", b: str = "c"):
    """The same tokenizer class with tokens ``a`` and ``b`` trading ids."""
    state = tokenizer.to_dict()
    vocab = state["vocab"]
    i, j = vocab.index(a), vocab.index(b)
    vocab[i], vocab[j] = vocab[j], vocab[i]
    state.pop("fingerprint")
    return type(tokenizer).from_dict(state)


#: Shipped checkpoints frozen by a test of their own (file next to the name).
OWN_FROZEN_TEST = {"darcy_any_shape": "tests/physics/test_any_shape_asset.py"}


def test_every_shipped_checkpoint_is_frozen():
    shipped = {p.stem for p in Path(str(files("sciml") / "assets")).glob("*.pt")}
    assert shipped - set(OWN_FROZEN_TEST) == set(FROZEN) - {
        "note",
        "torch",
        "smiles",
        "generation_seeds",
    }
    root = Path(__file__).resolve().parents[1]
    assert all((root / test).is_file() for test in OWN_FROZEN_TEST.values())
    assert FROZEN["smiles"] == make_frozen.SMILES


def test_demo_encoder_outputs_are_frozen():
    out = make_frozen.encoder_outputs()
    expected = FROZEN["demo_encoder"]
    assert out["input_ids"] == expected["input_ids"]
    np.testing.assert_allclose(out["embedding"], expected["embedding"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        out["mlm_logits_molecule_1"], expected["mlm_logits_molecule_1"], rtol=RTOL, atol=ATOL
    )


def test_moses_encoder_outputs_are_frozen():
    out = make_frozen.encoder_outputs(make_frozen.moses_encoder())
    expected = FROZEN["moses_mlm_small"]
    assert out["input_ids"] == expected["input_ids"]
    np.testing.assert_allclose(out["embedding"], expected["embedding"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        out["mlm_logits_molecule_1"], expected["mlm_logits_molecule_1"], rtol=RTOL, atol=ATOL
    )


def test_demo_rt_outputs_are_frozen():
    out = make_frozen.rt_outputs()
    expected = FROZEN["demo_rt"]
    for decoding in ("expected", "greedy"):
        np.testing.assert_allclose(out[decoding], expected[decoding], rtol=RTOL, atol=ATOL)
    assert out["generated_smiles"] == expected["generated_smiles"]
    np.testing.assert_allclose(
        out["generated_predicted_qed"], expected["generated_predicted_qed"], rtol=RTOL, atol=ATOL
    )


def test_rt_qed_logp_outputs_are_frozen():
    out = make_frozen.rt_qed_logp_outputs()
    expected = FROZEN["rt_qed_logp"]
    assert set(out["expected"]) == {"qed", "logp"}
    for decoding in ("expected", "greedy"):
        for name, values in expected[decoding].items():
            np.testing.assert_allclose(out[decoding][name], values, rtol=RTOL, atol=ATOL)
    assert out["generated_smiles"] == expected["generated_smiles"]
    for name, values in expected["generated_predicted"].items():
        np.testing.assert_allclose(out["generated_predicted"][name], values, rtol=RTOL, atol=ATOL)


def test_frozen_encoder_check_catches_a_reordered_vocabulary():
    from sciml.chem.transformer import Stage, load_stage

    stage = load_stage(str(files("sciml") / "assets" / "demo_encoder.pt"))
    swapped = Stage(model=stage.model, tokenizer=_swapped(stage.tokenizer), info=stage.info)
    out = make_frozen.encoder_outputs(swapped)
    assert out["input_ids"] != FROZEN["demo_encoder"]["input_ids"]
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        np.testing.assert_allclose(
            out["embedding"], FROZEN["demo_encoder"]["embedding"], rtol=RTOL, atol=ATOL
        )


def test_frozen_rt_check_catches_a_reordered_vocabulary():
    from sciml.rt import RegressionTransformer

    rt = RegressionTransformer.load(
        str(files("sciml") / "assets" / "demo_rt.pt"), map_location="cpu"
    )
    # Two frequent atom tokens of the model's language trade ids (SMILES C/c, SELFIES [C]/[=C]).
    pair = ("C", "c") if "C" in rt.tokenizer.vocab else ("[C]", "[=C]")
    rt.tokenizer = _swapped(rt.tokenizer, *pair)
    pred = rt.predict(FROZEN["smiles"])["qed"].to_numpy()
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        np.testing.assert_allclose(pred, FROZEN["demo_rt"]["expected"], rtol=RTOL, atol=ATOL)
