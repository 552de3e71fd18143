"""Hostile checkpoints: nothing but registered model classes is ever constructed.

Each hostile file starts from a genuine checkpoint of the kind a loader reads and swaps the
model's class name (and arguments) for something that must never run: the CLI entry point
(which could overwrite a user's file), a plain sciml function, a class that is not a Module,
and Modules outside the registry. Every loader and every CLI command that takes a model
must refuse each one *before* constructing anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import sciml
import sciml.chem.smiles
import sciml.cli
from sciml.train import (
    CheckpointError,
    RegressionMLP,
    load_model,
    register_model,
    registered_models,
    save_checkpoint,
)
from sciml.train.checkpoint import class_path

#: The real entry point, taken before the spies replace sciml.cli.main.
CLI_MAIN = sciml.cli.main
ASSETS = Path(sciml.__file__).parent / "assets"

#: (class path written into the checkpoint, attribute to spy on or None, hparams)
HOSTILE = [
    ("sciml.cli.main", (sciml.cli, "main"), {"argv": ["info"]}),
    ("sciml.chem.smiles.canonicalize", (sciml.chem.smiles, "canonicalize"), {"smiles": "C"}),
    ("sciml.train.TrainConfig", None, {"max_epochs": 1}),
    ("sciml.encoder.TransformerEncoder", None, {"vocab_size": 5}),
    ("torch.nn.Linear", None, {"in_features": 2, "out_features": 2}),
]
IDS = ["cli-main", "function", "not-a-module", "unregistered-module", "foreign-module"]


@pytest.fixture
def spies(monkeypatch):
    """Replace every hostile target that is callable with a recorder."""
    calls = []
    for _, target, _ in HOSTILE:
        if target is not None:
            module, name = target
            monkeypatch.setattr(module, name, lambda *a, _n=name, **k: calls.append(_n))
    return calls


def _hostile_copy(source: Path, dest: Path, cls: str, hparams: dict) -> Path:
    payload = torch.load(source, weights_only=True)
    payload["model"] = {"cls": cls, "hparams": hparams}
    torch.save(payload, dest)
    return dest


def _assert_refused(exc_info, cls: str):
    message = str(exc_info.value)
    assert "not a registered" in message and cls in message
    assert "weights_only=False" not in message


@pytest.fixture(scope="module")
def mlp_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    return save_checkpoint(
        tmp_path_factory.mktemp("mlp") / "m.pt", RegressionMLP(3, 1, hidden=(4,))
    )


@pytest.fixture(scope="module")
def operator_checkpoint(tmp_path_factory):
    from sciml.physics.deeponet import MTDeepONet
    from sciml.physics.predictor import OperatorPredictor

    torch.manual_seed(0)
    net = MTDeepONet(8, 2, p=4, branch_hidden=(8,), trunk_hidden=(8,), n_coefficients=4)
    predictor = OperatorPredictor(
        net, "fisher", ("x", "t"), ("t", "x"), (np.linspace(0, 1, 5), np.linspace(0, 1, 8))
    )
    return predictor.save(tmp_path_factory.mktemp("op") / "op.pt")


def test_registry_holds_only_modules_and_the_shipped_model_classes():
    import sciml.chem.models.mpnn  # noqa: F401  (registers its classes)
    import sciml.physics.pinn  # noqa: F401
    import sciml.rt.model  # noqa: F401

    registry = registered_models()
    assert all(issubclass(c, torch.nn.Module) for c in registry.values())
    names = {c.__name__ for c in registry.values()}
    assert {
        "RegressionMLP",
        "MPNNRegressor",
        "MolecularTransformer",
        "RegressionTransformerNet",
        "DeepONet",
        "MTDeepONet",
        "FisherInverseDeepONet",
    } <= names
    with pytest.raises(TypeError, match="Module subclasses"):
        register_model(dict)


@pytest.mark.parametrize(("cls", "target", "hparams"), HOSTILE, ids=IDS)
def test_load_model_refuses_before_constructing(
    tmp_path, mlp_checkpoint, spies, cls, target, hparams
):
    path = _hostile_copy(mlp_checkpoint, tmp_path / "h.pt", cls, hparams)
    with pytest.raises(CheckpointError) as exc_info:
        load_model(path, expected=RegressionMLP)
    _assert_refused(exc_info, cls)
    assert spies == []


def test_every_loader_must_say_what_it_expects(mlp_checkpoint):
    with pytest.raises(TypeError):
        load_model(mlp_checkpoint)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="not registered"):
        load_model(mlp_checkpoint, expected=torch.nn.Linear)


def test_a_registered_class_of_another_kind_is_refused(mlp_checkpoint):
    from sciml.physics.deeponet import DeepONet

    with pytest.raises(
        CheckpointError, match="holds .*RegressionMLP; this loader expects .*DeepONet"
    ):
        load_model(mlp_checkpoint, expected=DeepONet)


def test_unknown_and_missing_constructor_arguments_are_named(tmp_path, mlp_checkpoint):
    payload = torch.load(mlp_checkpoint, weights_only=True)
    payload["model"]["hparams"]["evil"] = 1
    torch.save(payload, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match="takes no argument.*evil"):
        load_model(tmp_path / "extra.pt", expected=RegressionMLP)
    payload["model"]["hparams"] = {}
    torch.save(payload, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="lack required argument.*in_features"):
        load_model(tmp_path / "missing.pt", expected=RegressionMLP)


@pytest.mark.parametrize(("cls", "target", "hparams"), HOSTILE, ids=IDS)
def test_operator_predictor_refuses(tmp_path, operator_checkpoint, spies, cls, target, hparams):
    from sciml.physics.predictor import OperatorPredictor

    path = _hostile_copy(operator_checkpoint, tmp_path / "h.pt", cls, hparams)
    with pytest.raises(CheckpointError) as exc_info:
        OperatorPredictor.load(path)
    _assert_refused(exc_info, cls)
    assert spies == []


@pytest.mark.parametrize(("cls", "target", "hparams"), HOSTILE, ids=IDS)
def test_rt_and_encoder_loaders_refuse(tmp_path, spies, cls, target, hparams):
    from sciml.chem.transformer import load_stage
    from sciml.rt import RegressionTransformer

    rt = _hostile_copy(
        ASSETS / "demo_rt.pt",
        tmp_path / "rt.pt",
        cls,
        {
            **hparams,
            "vocab": torch.load(ASSETS / "demo_rt.pt", weights_only=True)["model"]["hparams"][
                "vocab"
            ],
        },
    )
    with pytest.raises(CheckpointError) as exc_info:
        RegressionTransformer.load(rt)
    _assert_refused(exc_info, cls)
    encoder = _hostile_copy(ASSETS / "demo_encoder.pt", tmp_path / "enc.pt", cls, hparams)
    with pytest.raises(CheckpointError) as exc_info:
        load_stage(encoder)
    _assert_refused(exc_info, cls)
    assert spies == []


def _gnn_folder(tmp_path: Path, member: Path, **meta_changes) -> Path:
    from sciml.chem.descriptors import descriptor_names
    from sciml.chem.models import GNNModel
    from sciml.chem.models.base import FORMAT, FORMAT_VERSION

    folder = tmp_path / "gnn"
    folder.mkdir(exist_ok=True)
    if member.parent != folder:
        (folder / "member_0.pt").write_bytes(member.read_bytes())
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": "gnn",
        "class": class_path(GNNModel),
        "config": {},
        "targets": ["y"],
        "extra": {"members": ["member_0.pt"], "descriptor_names": descriptor_names()},
    }
    for key, value in meta_changes.items():
        meta[key] = value
    (folder / "model.json").write_text(json.dumps(meta))
    return folder


@pytest.mark.parametrize(("cls", "target", "hparams"), HOSTILE, ids=IDS)
def test_saved_model_folders_refuse(tmp_path, mlp_checkpoint, spies, cls, target, hparams):
    from sciml.chem.models import load_model as load_folder

    payload = torch.load(mlp_checkpoint, weights_only=True)
    payload["model"] = {"cls": cls, "hparams": hparams}
    payload["extra"] = {"targets": ["y"]}
    torch.save(payload, tmp_path / "member.pt")
    with pytest.raises(CheckpointError) as exc_info:
        load_folder(_gnn_folder(tmp_path, tmp_path / "member.pt"))
    _assert_refused(exc_info, cls)
    assert spies == []


@pytest.mark.parametrize("name", ["/etc/hostname", "../outside.pt", ".", "", 3])
def test_model_json_paths_must_stay_inside_the_folder(tmp_path, mlp_checkpoint, name):
    from sciml.chem.models import load_model as load_folder

    (tmp_path / "outside.pt").write_bytes(mlp_checkpoint.read_bytes())
    folder = _gnn_folder(tmp_path, mlp_checkpoint)
    meta = json.loads((folder / "model.json").read_text())
    meta["extra"]["members"] = [name]
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="relative name|outside the model folder"):
        load_folder(folder)


def test_rf_weights_path_outside_the_folder_is_refused(tmp_path):
    from sciml.chem.models import RandomForestModel
    from sciml.chem.models import load_model as load_folder

    model = RandomForestModel(n_estimators=3).fit(
        ["CCO", "CCCO", "CCCCO", "c1ccccc1"], pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0]})
    )
    folder = model.save(tmp_path / "rf")
    meta = json.loads((folder / "model.json").read_text())
    (tmp_path / "weights.npz").write_bytes((folder / meta["extra"]["weights"]).read_bytes())
    for bad in [str(tmp_path / "weights.npz"), "../weights.npz"]:
        meta["extra"]["weights"] = bad
        (folder / "model.json").write_text(json.dumps(meta))
        with pytest.raises(CheckpointError, match="relative name|outside the model folder"):
            load_folder(folder)


def test_an_ensemble_member_that_is_the_ensemble_itself_is_refused(tmp_path):
    from sciml.chem.models import EnsembleModel, RandomForestModel
    from sciml.chem.models import load_model as load_folder

    smiles, y = ["CCO", "CCCO", "CCCCO", "c1ccccc1"], pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0]})
    members = [RandomForestModel(n_estimators=3, seed=k) for k in range(2)]
    folder = EnsembleModel(members=members).fit(smiles, y).save(tmp_path / "ens")
    meta = json.loads((folder / "model.json").read_text())
    meta["extra"]["members"] = [".", "member_1"]
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="outside the model folder"):
        load_folder(folder)


def test_unknown_config_key_is_a_clear_error(tmp_path):
    from sciml.chem.models import RandomForestModel
    from sciml.chem.models import load_model as load_folder

    folder = (
        RandomForestModel(n_estimators=3)
        .fit(["CCO", "CCCO", "CCCCO"], pd.DataFrame({"y": [1.0, 2.0, 3.0]}))
        .save(tmp_path / "rf")
    )
    meta = json.loads((folder / "model.json").read_text())
    meta["config"]["n_trees_typo"] = 5
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="unknown RandomForestConfig field.*n_trees_typo"):
        load_folder(folder)


# ----------------------------------------------------------------------------- CLI commands
def _cli(argv, capsys):
    code = CLI_MAIN([str(a) for a in argv])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("cls", "target", "hparams"), HOSTILE[:2], ids=IDS[:2])
def test_cli_commands_refuse_hostile_models(
    tmp_path, capsys, spies, mlp_checkpoint, operator_checkpoint, cls, target, hparams
):
    victim = tmp_path / "victim.csv"
    victim.write_text("precious\n")
    molecules = tmp_path / "in.csv"
    molecules.write_text("smiles,y\nCCO,1\nCCCO,2\nCCCCO,3\nc1ccccc1,4\n")
    operator = _hostile_copy(operator_checkpoint, tmp_path / "op.pt", cls, hparams)
    vocab = torch.load(ASSETS / "demo_rt.pt", weights_only=True)["model"]["hparams"]["vocab"]
    rt = _hostile_copy(ASSETS / "demo_rt.pt", tmp_path / "rt.pt", cls, {**hparams, "vocab": vocab})
    encoder = _hostile_copy(ASSETS / "demo_encoder.pt", tmp_path / "enc.pt", cls, hparams)
    payload = torch.load(mlp_checkpoint, weights_only=True)
    payload["model"], payload["extra"] = {"cls": cls, "hparams": hparams}, {"targets": ["y"]}
    torch.save(payload, tmp_path / "member.pt")
    folder = _gnn_folder(tmp_path, tmp_path / "member.pt")
    commands = [
        ["pde", "predict", "--model", operator, "--input", tmp_path / "none.nc", "--out", victim],
        ["rt", "predict", rt, molecules, "--out", victim],
        ["rt", "generate", rt, "CCO", "--target", "qed=0.5", "--out", victim],
        ["predict", "--model", folder, "--input", molecules, "--out", victim, "--overwrite"],
        [
            "fit",
            "--train",
            molecules,
            "--targets",
            "y",
            "--model",
            "transformer",
            "--pretrained",
            encoder,
            "--out",
            tmp_path / "fit",
        ],
        ["adapt", "--init-from", encoder, "--train", molecules, "--out", victim],
    ]
    for argv in commands:
        code, err = _cli(argv, capsys)
        assert code != 0, argv
        assert "not a registered" in err and "weights_only=False" not in err, (argv, err)
    assert victim.read_text() == "precious\n"
    assert spies == []
