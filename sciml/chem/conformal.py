"""Split-conformal prediction intervals for any molecular model.

A model's absolute errors on molecules it was not trained on (the calibration set) are
stored per endpoint. For a level ``1 - alpha`` the interval half-width is the
``ceil((n + 1)(1 - alpha))``-th smallest of those ``n`` scores (Vovk et al. 2005; Lei et
al. 2018), which covers a new exchangeable molecule with probability at least
``1 - alpha``. Scores are taken in the model's training units (after the endpoint's
target transform), and the interval is mapped back through the inverse transform, so
a log-transformed endpoint gets a multiplicative, asymmetric interval in physical units.

Examples
--------
>>> import numpy as np
>>> scores = ConformalScores({"y": np.arange(1.0, 20.0)})
>>> scores.halfwidth("y", 0.9)  # the 18th smallest of 19 scores
18.0
>>> scores.halfwidth("y", 0.99)  # needs more than 19 calibration molecules
inf
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["ConformalScores", "IsotonicCalibration", "check_level"]


def check_level(level: float) -> float:
    """``level`` as a float strictly between 0 and 1, or a ValueError."""
    if not isinstance(level, int | float) or not 0.0 < float(level) < 1.0:
        raise ValueError(f"interval level must lie strictly between 0 and 1 (e.g. 0.9), "
                         f"got {level!r}")
    return float(level)


@dataclass
class ConformalScores:
    """Sorted absolute calibration errors per endpoint (model units).

    Attributes
    ----------
    scores : dict
        Endpoint -> ``(n,)`` sorted non-negative scores.
    """

    scores: dict[str, np.ndarray]

    @classmethod
    def from_residuals(cls, targets: list[str], y_true: np.ndarray,
                       y_pred: np.ndarray) -> ConformalScores:
        """Scores from calibration targets and predictions, both ``(n, T)``; NaN skipped."""
        diff = np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))
        out = {}
        for j, target in enumerate(targets):
            column = diff[:, j]
            out[target] = np.sort(column[np.isfinite(column)])
        return cls(out)

    def n(self, target: str) -> int:
        """Number of calibration molecules labelled for ``target``."""
        return int(self.scores[target].size)

    def halfwidth(self, target: str, level: float) -> float:
        """Interval half-width for ``target`` at coverage ``level`` (``inf`` if too few)."""
        level = check_level(level)
        values = self.scores[target]
        k = math.ceil((values.size + 1) * level)
        return float(values[k - 1]) if 0 < k <= values.size else math.inf

    def to_dict(self) -> dict:
        """JSON-able form stored in ``model.json`` (full precision: a reload predicts the same)."""
        return {"method": "split", "scores": {t: s.tolist() for t, s in self.scores.items()}}

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "model.json") -> ConformalScores:
        """Rebuild from :meth:`to_dict`."""
        try:
            scores = {str(t): np.sort(np.asarray(v, dtype=float))
                      for t, v in dict(data["scores"]).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: malformed conformal scores ({exc})") from exc
        if any((s < 0).any() or not np.isfinite(s).all() for s in scores.values()):
            raise ValueError(f"{source}: conformal scores must be finite and non-negative")
        return cls(scores)


@dataclass
class IsotonicCalibration:
    """Isotonic maps of predicted probabilities per binary endpoint (Zadrozny & Elkan 2002).

    Fitted on held-out molecules, each map is a non-decreasing piecewise-linear function
    from the model's probability to the observed frequency of class 1, stored as its knots
    (so ``model.json`` holds plain numbers and a reload predicts the same).

    Attributes
    ----------
    knots : dict
        Endpoint -> ``(x, y)`` arrays of the map's knots.

    Examples
    --------
    >>> import numpy as np
    >>> cal = IsotonicCalibration.fit(["a"], np.array([[0.], [0.], [1.], [1.]]),
    ...                               np.array([[0.2], [0.6], [0.7], [0.9]]))
    >>> cal.apply(["a"], np.array([[0.1], [0.8]])).ravel().tolist()
    [0.0, 1.0]
    """

    knots: dict[str, tuple[np.ndarray, np.ndarray]]

    @classmethod
    def fit(cls, targets: list[str], y_true: np.ndarray,
            y_prob: np.ndarray) -> IsotonicCalibration:
        """Fit one map per endpoint on ``(n, T)`` 0/1 labels and probabilities (NaN skipped)."""
        from sklearn.isotonic import IsotonicRegression

        knots = {}
        for j, target in enumerate(targets):
            keep = np.isfinite(y_true[:, j]) & np.isfinite(y_prob[:, j])
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            iso.fit(y_prob[keep, j], y_true[keep, j])
            knots[target] = (np.asarray(iso.X_thresholds_, float),
                             np.asarray(iso.y_thresholds_, float))
        return cls(knots)

    def apply(self, targets: list[str], prob: np.ndarray) -> np.ndarray:
        """Calibrated ``(n, T)`` probabilities; columns of endpoints without a map unchanged."""
        out = np.array(prob, dtype=float, copy=True)
        for j, target in enumerate(targets):
            if target in self.knots:
                x, y = self.knots[target]
                column = out[:, j]
                ok = np.isfinite(column)
                column[ok] = np.interp(column[ok], x, y)
        return out

    def to_dict(self) -> dict:
        """JSON-able form stored in ``model.json``."""
        return {"method": "isotonic",
                "knots": {t: [x.tolist(), y.tolist()] for t, (x, y) in self.knots.items()}}

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "model.json") -> IsotonicCalibration:
        """Rebuild from :meth:`to_dict`."""
        try:
            knots = {str(t): (np.asarray(v[0], float), np.asarray(v[1], float))
                     for t, v in dict(data["knots"]).items()}
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"{source}: malformed probability calibration ({exc})") from exc
        for t, (x, y) in knots.items():
            if (x.shape != y.shape or x.size == 0 or np.any(np.diff(x) < 0)
                    or np.any((y < 0) | (y > 1)) or not np.isfinite(x).all()):
                raise ValueError(f"{source}: probability calibration of {t!r} is not a "
                                 "non-decreasing map into [0, 1]")
        return cls(knots)
