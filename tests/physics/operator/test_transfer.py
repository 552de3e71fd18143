import pytest
import torch

from sciml.physics.operator.networks import MTDeepONet
from sciml.physics.operator.transfer import FREEZE, TRANSFER_LR, prepare_transfer

pytestmark = pytest.mark.usefixtures("one_thread")


def _source():
    return MTDeepONet(
        (1, 12, 12),
        2,
        p=6,
        branch="cnn",
        branch_hidden=(16,),
        cnn_channels=(4, 8),
        trunk_hidden=(8, 8),
    )


def _trainable(model):
    return {name for name, p in model.named_parameters() if p.requires_grad}


def test_full_fine_tuning_is_the_default_and_leaves_the_source_alone():
    source = _source()
    for p in source.parameters():
        p.requires_grad_(False)
    model = prepare_transfer(source)
    assert _trainable(model) == {name for name, _ in model.named_parameters()}
    assert not _trainable(source)  # a copy was prepared
    assert FREEZE[0] == "none" and TRANSFER_LR < 1e-3


def test_partial_freeze_trains_first_and_last_branch_layers_last_trunk_layer_and_bias():
    model = prepare_transfer(_source(), "partial")
    assert _trainable(model) == {
        "branch_net.conv.0.weight",
        "branch_net.conv.0.bias",
        "branch_net.head.2.weight",
        "branch_net.head.2.bias",
        "trunk_net.4.weight",
        "trunk_net.4.bias",
        "bias",
    }


def test_unknown_freeze_raises():
    with pytest.raises(ValueError, match="choose one of: none, partial"):
        prepare_transfer(_source(), "everything")


def test_fine_tuning_changes_only_trainable_parameters():
    from sciml.physics.operator.data import OperatorDataset
    from sciml.physics.operator.networks import MaskedFieldLoss
    from sciml.train import TrainConfig, Trainer

    source = _source()
    model = prepare_transfer(source, "partial")
    n = 4
    data = OperatorDataset(
        torch.rand(144, 2).numpy(),
        torch.rand(n, 144, 1).numpy(),
        torch.rand(n, 1, 12, 12).numpy(),
        torch.ones(n, 144, dtype=torch.bool).numpy(),
        mask_grid=torch.ones(n, 12, 12).bool().numpy(),
    )
    Trainer(
        model,
        MaskedFieldLoss(),
        TrainConfig(max_epochs=2, batch_size=2, progress=False, monitor=None),
    ).fit(data)
    before = dict(source.named_parameters())
    for name, p in model.named_parameters():
        changed = not torch.equal(p, before[name])
        assert changed == p.requires_grad, name
