import math

import pytest
import torch

from sciml.train import DWAWeighting, EqualWeighting, StaticWeighting, UncertaintyWeighting


def test_equal_and_static_weights():
    terms = {"a": torch.tensor(2.0), "b": torch.tensor(3.0)}
    assert EqualWeighting().combine(terms).item() == 5.0
    assert StaticWeighting({"b": 10.0}).combine(terms).item() == 32.0


def test_empty_terms_raise():
    with pytest.raises(ValueError, match="unlabelled"):
        EqualWeighting().combine({})


def test_uncertainty_weighting_formula_and_gradient():
    weighting = UncertaintyWeighting(["a", "b"])
    with torch.no_grad():
        weighting.log_vars.copy_(torch.tensor([0.0, math.log(4.0)]))
    total = weighting.combine({"a": torch.tensor(2.0), "b": torch.tensor(8.0)})
    expected = 0.5 * 2.0 + 0.5 * 8.0 / 4.0 + 0.5 * math.log(4.0)
    assert total.item() == pytest.approx(expected)
    total.backward()
    # d/ds_b [0.5 e^{-s} L + 0.5 s] = -0.5 e^{-s} L + 0.5 = -0.5
    assert weighting.log_vars.grad[1].item() == pytest.approx(-0.5)


def test_dwa_raises_weight_of_slowly_falling_term_and_survives_state_dict():
    weighting = DWAWeighting(["fast", "slow"], temperature=1.0)
    weighting.epoch_end({"fast": 1.0, "slow": 1.0})
    assert weighting.weight("fast") == weighting.weight("slow") == 1.0
    weighting.epoch_end({"fast": 0.5, "slow": 0.95})
    assert weighting.weight("slow") > weighting.weight("fast")
    assert weighting.weight("slow") + weighting.weight("fast") == pytest.approx(2.0)
    restored = DWAWeighting(["fast", "slow"], temperature=1.0)
    restored.load_state_dict(weighting.state_dict())
    assert restored.weight("slow") == weighting.weight("slow")
