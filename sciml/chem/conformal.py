"""Split-conformal prediction intervals for any molecular model.

A model's absolute errors on molecules it was not trained on (the calibration set) are
stored per endpoint. For a level ``1 - alpha`` the interval half-width is the
``ceil((n + 1)(1 - alpha))``-th smallest of those ``n`` scores (Vovk et al. 2005; Lei et
al. 2018), which covers a new exchangeable molecule with probability at least
``1 - alpha``. Scores are taken in the model's training units (after the endpoint's
target transform), and the interval is mapped back through the inverse transform, so
a log-transformed endpoint gets a multiplicative, asymmetric interval in physical units.

**Normalised** scores (Papadopoulos et al. 2008; Johansson et al. 2014) let the width follow
the molecule: with a per-molecule difficulty ``sigma(x)`` (the spread of a stacked model's
members), the score is ``|y - yhat| / (sigma(x) + beta)`` with ``beta`` a quarter of the median
calibration difficulty (at least a tenth of the median calibration error), and the half-width at ``x`` is the same quantile times
``sigma(x) + beta``. Coverage keeps the same guarantee (the scores stay exchangeable);
molecules the members disagree on, typically far from the training data, get wider intervals.

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

__all__ = ["BETA_FRACTION", "ConformalScores", "IsotonicCalibration", "check_level"]

#: ``beta`` of normalised scores as a fraction of the median calibration difficulty.
BETA_FRACTION = 0.25


def check_level(level: float) -> float:
    """``level`` as a float strictly between 0 and 1, or a ValueError."""
    if not isinstance(level, int | float) or not 0.0 < float(level) < 1.0:
        raise ValueError(
            f"interval level must lie strictly between 0 and 1 (e.g. 0.9), got {level!r}"
        )
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
    #: Endpoint -> ``beta`` of normalised scores; None for plain (constant-width) scores.
    beta: dict[str, float] | None = None

    @property
    def normalised(self) -> bool:
        """Whether the scores are divided by a per-molecule difficulty."""
        return self.beta is not None

    @classmethod
    def from_residuals(
        cls,
        targets: list[str],
        y_true: np.ndarray,
        y_pred: np.ndarray,
        scale: np.ndarray | None = None,
    ) -> ConformalScores:
        """Scores from calibration targets and predictions, both ``(n, T)``; NaN skipped.

        ``scale`` ``(n, T)``: per-molecule difficulties; given, the scores of endpoints with
        a finite difficulty column are normalised
        (``|y - yhat| / (scale + beta)``, ``beta`` :data:`BETA_FRACTION` of the median finite
        difficulty per endpoint, at least a tenth of the median absolute error).
        """
        diff = np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))
        out, beta = {}, None if scale is None else {}
        for j, target in enumerate(targets):
            column = diff[:, j]
            if scale is not None and np.isfinite(np.asarray(scale, float)[:, j]).any():
                sigma = np.asarray(scale, float)[:, j]
                finite = np.isfinite(sigma) & np.isfinite(column)
                # beta: a quarter of the median difficulty (smaller: widths follow the
                # difficulty more closely), floored at a tenth of the median error so that
                # members that (nearly) agree everywhere cannot make widths explode.
                floor = 0.1 * float(np.median(column[finite])) if finite.any() else 1.0
                b = BETA_FRACTION * float(np.median(sigma[finite])) if finite.any() else 1.0
                beta[target] = max(b, floor, 1e-6)
                column = column / (sigma + beta[target])
            out[target] = np.sort(column[np.isfinite(column)])
        return cls(out, beta)

    def n(self, target: str) -> int:
        """Number of calibration molecules labelled for ``target``."""
        return int(self.scores[target].size)

    def halfwidth(self, target: str, level: float) -> float:
        """Interval half-width for ``target`` at coverage ``level`` (``inf`` if too few)."""
        level = check_level(level)
        values = self.scores[target]
        k = math.ceil((values.size + 1) * level)
        return float(values[k - 1]) if 0 < k <= values.size else math.inf

    def halfwidths(
        self, targets: list[str], level: float, scale: np.ndarray | None = None
    ) -> np.ndarray:
        """Half-widths ``(T,)``, or ``(n, T)`` per molecule for normalised scores.

        Parameters
        ----------
        targets : list of str
            Endpoints, in column order.
        level : float
            Coverage, e.g. 0.9.
        scale : numpy.ndarray, optional
            ``(n, T)`` difficulties of the molecules; required for normalised scores.
        """
        q = np.array([self.halfwidth(t, level) for t in targets])
        if not self.normalised:
            return q
        if scale is None:
            raise ValueError("normalised conformal scores need the molecules' difficulties")
        scale = np.asarray(scale, float)
        out = np.broadcast_to(q, scale.shape).copy()
        for j, t in enumerate(targets):
            if t in self.beta:  # endpoints without a beta (binary ones) keep one width
                out[:, j] = q[j] * (scale[:, j] + self.beta[t])
        return out

    def to_dict(self) -> dict:
        """JSON-able form stored in ``model.json`` (full precision: a reload predicts the same)."""
        if self.normalised:
            return {
                "method": "normalised",
                "beta": dict(self.beta),
                "scores": {t: s.tolist() for t, s in self.scores.items()},
            }
        return {"method": "split", "scores": {t: s.tolist() for t, s in self.scores.items()}}

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "model.json") -> ConformalScores:
        """Rebuild from :meth:`to_dict`."""
        try:
            scores = {
                str(t): np.sort(np.asarray(v, dtype=float)) for t, v in dict(data["scores"]).items()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: malformed conformal scores ({exc})") from exc
        if any((s < 0).any() or not np.isfinite(s).all() for s in scores.values()):
            raise ValueError(f"{source}: conformal scores must be finite and non-negative")
        beta = None
        if data.get("method", "split") == "normalised":
            try:
                beta = {str(t): float(v) for t, v in dict(data["beta"]).items()}
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"{source}: normalised conformal scores lack beta ({exc})"
                ) from exc
            if not set(beta) <= set(scores) or not all(
                b > 0 and math.isfinite(b) for b in beta.values()
            ):
                raise ValueError(f"{source}: beta must be positive, one per normalised endpoint")
        elif data.get("method", "split") != "split":
            raise ValueError(f"{source}: unknown conformal method {data.get('method')!r}")
        return cls(scores, beta)


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
    def fit(cls, targets: list[str], y_true: np.ndarray, y_prob: np.ndarray) -> IsotonicCalibration:
        """Fit one map per endpoint on ``(n, T)`` 0/1 labels and probabilities (NaN skipped)."""
        from sklearn.isotonic import IsotonicRegression

        knots = {}
        for j, target in enumerate(targets):
            keep = np.isfinite(y_true[:, j]) & np.isfinite(y_prob[:, j])
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            iso.fit(y_prob[keep, j], y_true[keep, j])
            knots[target] = (
                np.asarray(iso.X_thresholds_, float),
                np.asarray(iso.y_thresholds_, float),
            )
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
        return {
            "method": "isotonic",
            "knots": {t: [x.tolist(), y.tolist()] for t, (x, y) in self.knots.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "model.json") -> IsotonicCalibration:
        """Rebuild from :meth:`to_dict`."""
        try:
            knots = {
                str(t): (np.asarray(v[0], float), np.asarray(v[1], float))
                for t, v in dict(data["knots"]).items()
            }
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"{source}: malformed probability calibration ({exc})") from exc
        for t, (x, y) in knots.items():
            if (
                x.shape != y.shape
                or x.size == 0
                or np.any(np.diff(x) < 0)
                or np.any((y < 0) | (y > 1))
                or not np.isfinite(x).all()
            ):
                raise ValueError(
                    f"{source}: probability calibration of {t!r} is not a "
                    "non-decreasing map into [0, 1]"
                )
        return cls(knots)
