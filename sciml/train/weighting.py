"""Loss weighting: how named loss terms combine into one scalar.

All schemes share one small interface: ``combine(terms) -> total`` on each step,
``epoch_end(mean_terms)`` after each epoch, and ``state_dict`` / ``load_state_dict``
so a resumed run continues with the same weights. Schemes with learnable parameters
(:class:`UncertaintyWeighting`) are ``nn.Module``s; the Trainer adds their parameters
to the optimizer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

__all__ = [
    "DWAWeighting",
    "EqualWeighting",
    "LossWeighting",
    "ReLoBRaLoWeighting",
    "StaticWeighting",
    "UncertaintyWeighting",
    "WEIGHTINGS",
]


class LossWeighting(nn.Module):
    """Base class: equal weights, no state."""

    def combine(self, terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Return the weighted total of the present terms."""
        if not terms:
            raise ValueError("no loss term in this batch: every task is unlabelled")
        return sum(self.weight(name) * value for name, value in terms.items())

    def weight(self, name: str) -> float | torch.Tensor:
        """Weight of one named term."""
        return 1.0

    def epoch_end(self, mean_terms: Mapping[str, float]) -> None:
        """Update after an epoch from the epoch-mean of each term (default: nothing)."""

    def weights(self, names: Sequence[str]) -> dict[str, float]:
        """Current weights as plain floats, for logging."""
        return {name: float(self.weight(name)) for name in names}


class EqualWeighting(LossWeighting):
    """Every term weighs 1 (the default)."""


class StaticWeighting(LossWeighting):
    """Fixed weights by name; names not given weigh ``default``."""

    def __init__(self, weights: Mapping[str, float], default: float = 1.0):
        super().__init__()
        self.static = dict(weights)
        self.default = default

    def weight(self, name: str) -> float:
        return self.static.get(name, self.default)


class UncertaintyWeighting(LossWeighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla 2018).

    ``total = sum_k 0.5 * exp(-s_k) * L_k + 0.5 * s_k`` with one learnable log-variance
    ``s_k`` per named term.
    """

    def __init__(self, names: Sequence[str]):
        super().__init__()
        self.names = list(names)
        self.log_vars = nn.Parameter(torch.zeros(len(self.names)))

    def _index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"UncertaintyWeighting knows terms {self.names}, not {name!r}") from None

    def weight(self, name: str) -> torch.Tensor:
        return 0.5 * torch.exp(-self.log_vars[self._index(name)])

    def combine(self, terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if not terms:
            raise ValueError("no loss term in this batch: every task is unlabelled")
        return sum(
            self.weight(n) * v + 0.5 * self.log_vars[self._index(n)] for n, v in terms.items()
        )


class DWAWeighting(LossWeighting):
    """Dynamic Weight Average (Liu, Johns & Davison 2019).

    After two epochs, ``w_k = K * softmax_k(r_k / T)`` with ``r_k = L_k(t-1) / L_k(t-2)``,
    so a term whose loss falls slowly gains weight.
    """

    def __init__(self, names: Sequence[str], temperature: float = 2.0):
        super().__init__()
        self.names = list(names)
        self.temperature = temperature
        self.history: list[dict[str, float]] = []
        self.current = {name: 1.0 for name in self.names}

    def weight(self, name: str) -> float:
        return self.current.get(name, 1.0)

    def epoch_end(self, mean_terms: Mapping[str, float]) -> None:
        self.history = (self.history + [dict(mean_terms)])[-2:]
        if len(self.history) < 2:
            return
        prev, last = self.history
        ratios = {n: last[n] / prev[n] for n in self.names if n in last and prev.get(n, 0) > 0}
        if not ratios:
            return
        exp = {n: math.exp(r / self.temperature) for n, r in ratios.items()}
        norm = sum(exp.values())
        self.current = {n: len(exp) * e / norm for n, e in exp.items()}

    def get_extra_state(self) -> dict:
        return {"history": self.history, "current": self.current}

    def set_extra_state(self, state: dict) -> None:
        self.history = [dict(h) for h in state["history"]]
        self.current = dict(state["current"])


class ReLoBRaLoWeighting(LossWeighting):
    r"""Relative Loss Balancing with Random Lookback (Bischof & Kraus 2021, arXiv 2110.09813).

    On every training step ``t`` with term losses ``L_i(t)`` (``m`` terms),

    .. math::
        \hat\lambda_i(t, t') = m \operatorname{softmax}_i\left(
            \frac{L_i(t)}{T\, L_i(t')}\right), \qquad
        \lambda_i(t) = \alpha\left(\rho\, \lambda_i(t-1) + (1 - \rho)\,
            \hat\lambda_i(t, 0)\right) + (1 - \alpha)\, \hat\lambda_i(t, t-1),

    with ``rho`` a Bernoulli draw of mean ``expected_rho`` (the random lookback to the first
    step's losses). A term whose loss falls more slowly than the others, relative to its own
    history, gains weight; the weights sum to ``m``. The update runs on training steps only
    (terms that carry gradient) and uses detached losses; the weighted total is
    ``sum_i lambda_i(t) L_i(t)``.

    Parameters
    ----------
    names : sequence of str
        The balanced terms (e.g. ``["mse", "pde", "bc", "ic"]``); other terms weigh 1.
    alpha : float
        Memory of the exponential average (paper: 0.999; smaller for short runs).
    temperature : float
        Softmax temperature ``T`` (paper: 0.1).
    expected_rho : float
        Probability of keeping the history rather than looking back to step 0 (0.999).
    seed : int
        Seed of the Bernoulli draws (they depend on the step number only, so a resumed run
        draws the same).
    """

    def __init__(
        self,
        names: Sequence[str],
        alpha: float = 0.999,
        temperature: float = 0.1,
        expected_rho: float = 0.999,
        seed: int = 0,
    ):
        super().__init__()
        if not names:
            raise ValueError("ReLoBRaLo needs the names of the terms it balances")
        if not (0 <= alpha <= 1 and 0 <= expected_rho <= 1 and temperature > 0):
            raise ValueError(
                f"ReLoBRaLo needs 0 <= alpha, expected_rho <= 1 and temperature > 0; got "
                f"alpha={alpha}, expected_rho={expected_rho}, temperature={temperature}"
            )
        self.names = list(names)
        self.alpha, self.temperature = alpha, temperature
        self.expected_rho, self.seed = expected_rho, seed
        self.step = 0
        self.initial: dict[str, float] = {}
        self.previous: dict[str, float] = {}
        self.current = {name: 1.0 for name in self.names}

    def weight(self, name: str) -> float:
        return self.current.get(name, 1.0)

    def _balance(self, losses: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
        ratios = {n: losses[n] / (self.temperature * max(reference[n], 1e-30)) for n in losses}
        top = max(ratios.values())
        exp = {n: math.exp(r - top) for n, r in ratios.items()}
        norm = sum(exp.values())
        return {n: len(exp) * e / norm for n, e in exp.items()}

    def _rho(self) -> float:
        import random

        return float(random.Random(self.seed * 1_000_003 + self.step).random() < self.expected_rho)

    def update(self, losses: Mapping[str, float]) -> None:
        """One step of the weight update from this step's (detached) term losses."""
        losses = {n: float(losses[n]) for n in self.names if n in losses}
        if not losses:
            return
        if not self.initial:
            self.initial, self.previous = dict(losses), dict(losses)
            self.step += 1
            return
        known = {n: v for n, v in losses.items() if n in self.initial and n in self.previous}
        if len(known) == len(losses):
            rho = self._rho()
            from_start = self._balance(known, self.initial)
            from_last = self._balance(known, self.previous)
            self.current = {
                n: self.alpha * (rho * self.current.get(n, 1.0) + (1 - rho) * from_start[n])
                + (1 - self.alpha) * from_last[n]
                for n in known
            }
        for n, v in losses.items():
            self.initial.setdefault(n, v)
        self.previous.update(losses)
        self.step += 1

    def combine(self, terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if not terms:
            raise ValueError("no loss term in this batch: every task is unlabelled")
        if any(getattr(v, "requires_grad", False) for v in terms.values()):
            self.update({n: float(v.detach()) for n, v in terms.items()})
        return sum(self.weight(name) * value for name, value in terms.items())

    def get_extra_state(self) -> dict:
        return {
            "step": self.step,
            "initial": self.initial,
            "previous": self.previous,
            "current": self.current,
        }

    def set_extra_state(self, state: dict) -> None:
        self.step = int(state["step"])
        self.initial = dict(state["initial"])
        self.previous = dict(state["previous"])
        self.current = dict(state["current"])


#: Names usable from the CLI and configuration files.
WEIGHTINGS = {
    "equal": EqualWeighting,
    "static": StaticWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DWAWeighting,
    "relobralo": ReLoBRaLoWeighting,
}
