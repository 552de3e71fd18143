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


#: Names usable from the CLI and configuration files.
WEIGHTINGS = {
    "equal": EqualWeighting,
    "static": StaticWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DWAWeighting,
}
