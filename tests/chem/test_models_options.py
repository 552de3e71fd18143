"""Flat option names over composed configurations (sciml.chem.models.options): the GNN's
training options live in one TrainConfig and keep the names users type."""

import dataclasses
import json
from importlib.resources import files

import pytest

from sciml.chem.cli import model_help
from sciml.chem.models import GNNConfig, GNNModel, RandomForestConfig, best_recipe
from sciml.chem.models.gnn import gnn_training
from sciml.chem.models.options import (
    config_from_options,
    option_defaults,
    option_sources,
    options_dict,
    with_options,
)
from sciml.train import TrainConfig
from sciml.train.checkpoint import CheckpointError

SHIPPED_GNN = files("sciml") / "assets" / "biogen_adme" / "member_gnn" / "model.json"


def test_flat_training_options_set_the_composed_train_config():
    model = GNNModel(epochs=7, batch_size=64, lr=5e-4, seed=3, patience=2, hidden=32)
    train = model.config.train
    assert (train.max_epochs, train.batch_size, train.lr, train.seed) == (7, 64, 5e-4, 3)
    assert (model.config.epochs, model.config.seed, model.config.hidden) == (7, 3, 32)
    assert train.min_lr_ratio == 0.1 and train.grad_clip == 10.0 and train.weight_decay == 0.0
    member = model._train_config(1, has_val=False)
    assert (member.seed, member.patience, member.monitor) == (4, None, "train_loss")
    assert model._train_config(0, has_val=True).patience == 2


def test_the_saved_options_are_todays_flat_keys_and_the_shipped_gnn_loads():
    stored = json.loads(SHIPPED_GNN.read_text())["config"]  # saved before GINE existed
    assert set(options_dict(GNNConfig())) == {*stored, "architecture"}
    config = config_from_options(GNNConfig, stored, "model.json")
    expected = GNNConfig(hidden=128, ffn_hidden=128, train=gnn_training().replace(max_epochs=30))
    assert config == expected
    assert options_dict(config) == {**stored, "architecture": "dmpnn"}


def test_options_round_trip_and_flat_configs_are_unchanged():
    config = with_options(GNNConfig(), epochs=3, warmup=0.1, device="cpu", depth=4)
    assert config_from_options(GNNConfig, options_dict(config), "x") == config
    assert config.train.warmup == 0.1 and config.depth == 4
    rf = RandomForestConfig()
    assert options_dict(rf) == dataclasses.asdict(rf)
    assert list(option_sources(RandomForestConfig)) == [
        f.name for f in dataclasses.fields(RandomForestConfig)
    ]


def test_sources_and_defaults_come_from_train_config():
    sources = option_sources(GNNConfig)
    assert sources["epochs"] == (TrainConfig, "max_epochs") and "train" not in sources
    assert sources["hidden"] == (GNNConfig, "hidden")
    defaults = option_defaults(GNNConfig)
    assert (defaults["epochs"], defaults["batch_size"], defaults["lr"]) == (50, 50, 1e-3)
    text = model_help("gnn")
    assert "  epochs = 50: Upper bound on epochs." in text
    assert "  seed = 0: ``train.seed``: seed of member 0" in text


def test_unknown_options_are_named():
    with pytest.raises(TypeError, match=r"no option\(s\) \['epoch'\].*epochs"):
        GNNModel(epoch=3)
    with pytest.raises(TypeError, match="max_epochs"):
        with_options(GNNConfig(), max_epochs=3)  # the flat name is epochs
    with pytest.raises(CheckpointError, match="unknown GNNConfig option.*epoch"):
        config_from_options(GNNConfig, {"epoch": 3}, "model.json")
    with pytest.raises(CheckpointError, match="model.json.*max_epochs must be int"):
        config_from_options(GNNConfig, {"epochs": "ten"}, "model.json")
    with pytest.raises(CheckpointError, match="max_epochs and batch_size must be >= 1"):
        config_from_options(GNNConfig, {"epochs": 0}, "model.json")


def test_best_recipe_passes_flat_gnn_options():
    gnn = best_recipe(options={"gnn": {"epochs": 2, "batch_size": 16}}).members["gnn"]
    assert (gnn.config.train.max_epochs, gnn.config.train.batch_size) == (2, 16)
    assert gnn.config.hidden == 128  # the recipe's own choice is kept
    with pytest.raises(ValueError, match="no option.*epoch\\b"):
        best_recipe(options={"gnn": {"epoch": 2}})
