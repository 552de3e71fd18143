import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sciml.train import (
    BinaryTask,
    MultiTaskObjective,
    RegressionTask,
    Standardizer,
    Tasks,
    infer_tasks,
)
from sciml.train.tasks import parse_task_options


class _Net(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.target_scaler = Standardizer(n)


def test_detection_names_binary_columns_and_respects_overrides():
    columns = {
        "herg": np.array([0, 1, np.nan, 1]),
        "logS": np.array([-1.0, 0.5, 2.0, 3.0]),
        "count": np.array([0, 1, 1, 0.0]),
        "one": np.array([1, 1, 1.0]),
    }
    tasks = infer_tasks(columns, {"count": "regression"})
    assert tasks.kinds == ["binary", "regression", "regression", "regression"]
    with pytest.raises(ValueError, match="unknown endpoint"):
        infer_tasks(columns, {"nope": "binary"})
    with pytest.raises(ValueError, match="unknown task kind"):
        infer_tasks(columns, {"herg": "ordinal"})
    named = infer_tasks({"a": np.array([0, 1.0])}, classes={"a": ("inactive", "active")})
    assert named[0].classes == ("inactive", "active")
    assert parse_task_options(["a=binary", " b = regression"]) == {"a": "binary", "b": "regression"}
    with pytest.raises(ValueError, match="NAME=KIND"):
        parse_task_options(["a:binary"])


def test_binary_labels_are_checked_with_rows_named():
    with pytest.raises(ValueError, match=r"row 2: 2"):
        BinaryTask("herg").check_labels(np.array([0, 1, 2, np.nan]))
    with pytest.raises(ValueError, match=r"inf at row\(s\) 1"):
        RegressionTask("logS").check_labels(np.array([0, np.inf]))
    with pytest.raises(ValueError, match="threshold"):
        BinaryTask("a", threshold=1.5)


def test_bce_is_masked_for_missing_labels_and_mixed_with_regression():
    tasks = Tasks((RegressionTask("r"), BinaryTask("b")))
    net = _Net(2)
    objective = MultiTaskObjective(tasks)
    y = torch.tensor([[1.0, 0.0], [3.0, float("nan")], [float("nan"), 1.0], [5.0, 1.0]])
    objective.setup(net, lambda: [{"y": y}])
    # the binary column passes through the scaler unchanged
    assert net.target_scaler.mean[1] == 0 and net.target_scaler.std[1] == 1
    out = torch.tensor([[0.3, -1.0], [0.1, 9.0], [7.0, 2.0], [-0.2, 0.5]])
    terms = objective.terms(out, {"y": y}, net)
    expected_b = F.binary_cross_entropy_with_logits(
        torch.tensor([-1.0, 2.0, 0.5]), torch.tensor([0.0, 1.0, 1.0])
    )
    assert terms["b"].item() == pytest.approx(expected_b.item(), rel=1e-6)
    z = (torch.tensor([1.0, 3.0, 5.0]) - 3.0) / net.target_scaler.std[0].float()
    expected_r = ((torch.tensor([0.3, 0.1, -0.2]) - z) ** 2).mean()
    assert terms["r"].item() == pytest.approx(expected_r.item(), rel=1e-5)
    decoded = objective.decode(out, {"y": y}, net)["pred"]
    assert torch.allclose(decoded[:, 1], torch.sigmoid(out[:, 1].double()))
    assert ((decoded[:, 1] >= 0) & (decoded[:, 1] <= 1)).all()
    metrics = objective.metrics(y.numpy(), decoded.numpy())
    assert {"auroc", "auprc", "rmse", "r2"} <= set(metrics)


def test_pos_weight_and_focal_loss_change_the_loss_as_documented():
    out, target = torch.tensor([0.2, -0.4]), torch.tensor([1.0, 0.0])
    plain = BinaryTask("b").loss_values(out, target)
    weighted = BinaryTask("b", pos_weight=3.0).loss_values(out, target)
    assert weighted[0] == pytest.approx(3 * plain[0]) and weighted[1] == pytest.approx(plain[1])
    focal = BinaryTask("b", focal_gamma=2.0).loss_values(out, target)
    assert (focal < plain).all()


def test_tasks_round_trip_through_dicts():
    tasks = Tasks((RegressionTask("r"), BinaryTask("b", classes=("no", "yes"), pos_weight=2.0)))
    assert Tasks.from_dict(tasks.to_dict()) == tasks
    with pytest.raises(ValueError, match="unknown task entry"):
        Tasks.from_dict([{"kind": "os.system", "name": "x"}])
    with pytest.raises(ValueError, match="malformed"):
        Tasks.from_dict([{"kind": "binary", "name": "x", "evil": 1}])
