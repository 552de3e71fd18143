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


def _relobralo_hand(losses, alpha, temperature, rhos):
    """Bischof & Kraus (2021), eq. 11, step by step in plain floats."""
    names = list(losses[0])
    m = len(names)

    def bal(now, ref):
        e = {n: math.exp(now[n] / (temperature * ref[n])) for n in names}
        return {n: m * e[n] / sum(e.values()) for n in names}

    lam = {n: 1.0 for n in names}
    history = [lam]
    for t in range(1, len(losses)):
        b0, b1 = bal(losses[t], losses[0]), bal(losses[t], losses[t - 1])
        lam = {
            n: alpha * (rhos[t] * lam[n] + (1 - rhos[t]) * b0[n]) + (1 - alpha) * b1[n]
            for n in names
        }
        history.append(lam)
    return history


def test_relobralo_matches_a_hand_computation():
    from sciml.train import ReLoBRaLoWeighting

    losses = [
        {"data": 1.0, "pde": 4.0},
        {"data": 0.5, "pde": 3.8},
        {"data": 0.3, "pde": 3.9},
        {"data": 0.2, "pde": 2.0},
    ]
    weighting = ReLoBRaLoWeighting(["data", "pde"], alpha=0.9, temperature=1.0, expected_rho=0.5)
    rhos = [None]
    for step, terms in enumerate(losses):
        if step:
            weighting.step = step  # the draw of this step, as update() will make it
            rhos.append(weighting._rho())
        weighting.step = step
        tensors = {k: torch.tensor(v, requires_grad=True) for k, v in terms.items()}
        total = weighting.combine(tensors)
        expected = _relobralo_hand(losses[: step + 1], 0.9, 1.0, rhos)[-1]
        assert weighting.weight("data") == pytest.approx(expected["data"])
        assert weighting.weight("pde") == pytest.approx(expected["pde"])
        assert total.item() == pytest.approx(sum(expected[k] * v for k, v in terms.items()))
    # The slowly falling physics term gained weight; weights sum to the number of terms.
    assert weighting.weight("pde") > 1.0 > weighting.weight("data")
    assert weighting.weight("pde") + weighting.weight("data") == pytest.approx(2.0)


def test_relobralo_first_step_and_evaluation_leave_weights_alone():
    from sciml.train import ReLoBRaLoWeighting

    weighting = ReLoBRaLoWeighting(["a", "b"])
    weighting.combine({"a": torch.tensor(2.0, requires_grad=True), "b": torch.tensor(1.0)})
    assert weighting.weights(["a", "b"]) == {"a": 1.0, "b": 1.0}
    # Without gradient (validation) the state does not move.
    weighting.combine({"a": torch.tensor(0.1), "b": torch.tensor(9.0)})
    assert weighting.step == 1 and weighting.previous == {"a": 2.0, "b": 1.0}
    # With alpha = 0 the weights are the softmax of this step's ratios to the last step's.
    fast = ReLoBRaLoWeighting(["a", "b"], alpha=0.0, temperature=1.0)
    for a, b in ((1.0, 1.0), (0.5, 1.0)):
        fast.combine({"a": torch.tensor(a, requires_grad=True), "b": torch.tensor(b)})
    ea, eb = math.exp(0.5), math.exp(1.0)
    assert fast.weight("b") == pytest.approx(2 * eb / (ea + eb))
    with pytest.raises(ValueError, match="temperature > 0"):
        ReLoBRaLoWeighting(["a"], temperature=0.0)
    with pytest.raises(ValueError, match="names of the terms"):
        ReLoBRaLoWeighting([])


def test_relobralo_state_survives_state_dict_and_is_registered():
    from sciml.train import WEIGHTINGS, ReLoBRaLoWeighting

    assert WEIGHTINGS["relobralo"] is ReLoBRaLoWeighting
    weighting = ReLoBRaLoWeighting(["a", "b"], alpha=0.5)
    for a, b in ((1.0, 1.0), (0.5, 1.0), (0.4, 0.2)):
        weighting.combine({"a": torch.tensor(a, requires_grad=True), "b": torch.tensor(b)})
    restored = ReLoBRaLoWeighting(["a", "b"], alpha=0.5)
    restored.load_state_dict(weighting.state_dict())
    assert restored.current == weighting.current and restored.step == weighting.step
    assert restored.initial == {"a": 1.0, "b": 1.0}
    for w in (weighting, restored):
        w.combine({"a": torch.tensor(0.3, requires_grad=True), "b": torch.tensor(0.1)})
    assert restored.current == weighting.current
