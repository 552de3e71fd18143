import numpy as np
import pytest
import torch

from sciml.train import (
    HLGauss,
    MultiTaskRegression,
    Standardizer,
    TokenCrossEntropy,
    masked_task_mean,
)


class _Scaled(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.target_scaler = Standardizer(n)


def test_masked_task_mean_matches_manual_average_over_labelled_entries():
    values = torch.tensor([[1.0, 2.0], [3.0, float("nan")], [5.0, 6.0]])
    valid = torch.tensor([[True, True], [True, False], [False, True]])
    mean, count = masked_task_mean(values, valid)
    assert torch.allclose(mean, torch.tensor([2.0, 4.0]))
    assert count.tolist() == [2.0, 2.0]


def test_masked_task_mean_applies_sample_weights():
    values = torch.tensor([[1.0], [3.0]])
    valid = torch.ones(2, 1, dtype=torch.bool)
    mean, _ = masked_task_mean(values, valid, weight=torch.tensor([3.0, 1.0]))
    assert mean.item() == pytest.approx((3 * 1 + 3) / 4)


def test_unlabelled_task_is_left_out_and_gradients_stay_finite():
    model = _Scaled(2)
    model.target_scaler.fit(np.array([[0.0, 1.0], [2.0, 3.0]]))
    objective = MultiTaskRegression(["a", "b"])
    pred = torch.zeros(3, 2, requires_grad=True)
    y = torch.tensor([[1.0, np.nan], [2.0, np.nan], [np.nan, np.nan]])
    terms = objective.terms(pred, {"y": y}, model)
    assert list(terms) == ["a"]
    terms["a"].backward()
    assert torch.isfinite(pred.grad).all()
    assert pred.grad[:, 1].abs().sum() == 0  # task b got no gradient at all


def test_point_mask_excludes_points_outside_the_geometry():
    model = _Scaled(1)
    model.target_scaler.fit(np.array([[0.0], [1.0]]))
    objective = MultiTaskRegression(["u"])
    y = torch.zeros(1, 4, 1)
    pred = torch.tensor([[[0.0], [0.0], [100.0], [100.0]]])  # wrong only outside the mask
    mask = torch.tensor([[True, True, False, False]])
    terms = objective.terms(pred, {"y": y, "mask": mask}, model)
    z0 = model.target_scaler.transform(torch.zeros(1)).item()
    assert terms["u"].item() == pytest.approx(z0**2)


def test_shape_mismatch_names_both_shapes():
    model = _Scaled(2)
    model.target_scaler.fit(np.ones((2, 2)) * [[0], [1]])
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 2\)"):
        MultiTaskRegression(["a", "b"]).terms(torch.zeros(4, 3), {"y": torch.zeros(4, 2)}, model)


def test_unknown_loss_lists_choices():
    with pytest.raises(ValueError, match="mse, mae, huber"):
        MultiTaskRegression(["a"], loss="l7")


@pytest.mark.parametrize("y", [-3.2, -1.0, 0.0, 0.37, 2.9])
def test_hl_gauss_round_trip_recovers_value(y):
    head = HLGauss(n_bins=100, vmin=-5, vmax=5)
    probs = head.to_probs(torch.tensor([y]))
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-9)
    mean, var = head.mean_var(probs.log())
    assert mean.item() == pytest.approx(y, abs=1e-3)
    width = 10 / 100
    # a Gaussian of sigma 0.75 bins, discretised: variance close to sigma^2 + width^2/12
    assert var.item() == pytest.approx((0.75 * width) ** 2 + width**2 / 12, rel=0.05)


def test_hl_gauss_loss_is_minimised_at_the_target_histogram():
    head = HLGauss(n_bins=32, vmin=-4, vmax=4)
    y = torch.tensor([0.5])
    best = head.elementwise_loss(head.to_probs(y).clamp_min(1e-12).log().float(), y)
    worse = head.elementwise_loss(head.to_probs(y + 1).clamp_min(1e-12).log().float(), y)
    assert best.item() < worse.item()


def test_token_cross_entropy_ignores_unlabelled_positions():
    logits = torch.randn(2, 3, 5)
    labels = torch.tensor([[1, -100, 2], [-100, -100, 4]])
    loss = TokenCrossEntropy("mlm").terms({"logits": logits}, {"labels": labels}, None)["mlm"]
    keep = labels != -100
    expected = torch.nn.functional.cross_entropy(logits[keep], labels[keep])
    assert loss.item() == pytest.approx(expected.item())
    assert (
        TokenCrossEntropy().terms({"logits": logits}, {"labels": torch.full((2, 3), -100)}, None)
        == {}
    )
