"""Per-endpoint target transforms, fitted on the training split and undone at prediction.

Pharmacokinetic endpoints such as half-life, clearance or volume of distribution span
orders of magnitude; a model trained on their raw values chases the few largest ones.
Every molecular model (:class:`~sciml.chem.models.base.MoleculeModel`) therefore trains on
transformed targets and reports predictions back in physical units:

- ``"none"``: identity;
- ``"log10"``: for strictly positive values;
- ``"log1p"``: ``log(1 + y)``, for non-negative counts and amounts;
- ``"logit"``: for bounded fractions or percentages, ``logit(y / upper)`` where ``upper``
  is 1 or 100 (fitted: 100 when a training value exceeds 1), clipped ``1e-3`` from the bounds;
- ``"auto"``: ``"log10"`` for a strictly positive target that spans two decades or more
  (max/min >= 100), or that is right-skewed on the raw scale (sample skewness > 1) and
  less skewed on the log scale (|skewness of log10 y| < skewness of y), otherwise
  ``"none"``. Half-lives, clearances, volumes and efflux ratios are log-normal by nature,
  and a log-normal of even small spread (95th/5th percentile ratio 10) has a raw skewness
  near 3, so the rule logs them; a symmetric target keeps its scale. What it picked, and
  why, is recorded (:meth:`TargetTransforms.describe`, :attr:`TargetTransforms.reasons`).

Spreads (ensemble or tree standard deviations) are mapped back with the delta method,
``std_y ~ |d inverse / dz| * std_z``.

Examples
--------
>>> import numpy as np
>>> t = TargetTransforms.fit({"t_half": "auto", "logd": "auto"},
...                          np.array([[0.5, 1.0], [20.0, 2.0], [300.0, 3.0]]), ["t_half", "logd"])
>>> t.kinds
{'t_half': 'log10', 'logd': 'none'}
>>> np.round(t.inverse(t.forward(np.array([[2.0, 1.5]])))[0], 6)
array([[2. , 1.5]])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["KINDS", "TargetTransforms", "auto_kind", "parse_transform_options"]

#: The transform names accepted from Python and the command line.
KINDS = ("none", "log10", "log1p", "logit", "auto")
_LOGIT_EPS = 1e-3
#: ``auto`` logs a positive target whose max/min ratio reaches this (two decades) ...
AUTO_DECADES_RATIO = 100.0
#: ... or whose raw sample skewness exceeds this and is larger than that of its log10.
AUTO_SKEW = 1.0


def _skewness(values: np.ndarray) -> float:
    """Sample skewness (Fisher-Pearson, biased); 0 for fewer than 3 or constant values."""
    if values.size < 3:
        return 0.0
    centred = values - values.mean()
    spread = np.sqrt(np.mean(centred**2))
    return float(np.mean(centred**3) / spread**3) if spread > 0 else 0.0


def auto_kind(values: np.ndarray) -> tuple[str, str]:
    """What ``"auto"`` picks for one endpoint's observed training values, and why.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n,)`` observed values (no NaN), physical units.

    Returns
    -------
    kind : {"log10", "none"}
    reason : str
        E.g. ``"positive, max/min 1.8e+04"`` or ``"positive, skewness 2.9 raw vs 0.1 log10"``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> auto_kind(10 ** rng.normal(0.0, 0.4, 500))[0]  # log-normal, P95/P5 about 20
    'log10'
    >>> auto_kind(rng.normal(5.0, 1.0, 500))[0]
    'none'
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return "none", "no values"
    if not (values > 0).all():
        return "none", "not strictly positive"
    ratio = values.max() / values.min()
    if ratio >= AUTO_DECADES_RATIO:
        return "log10", f"positive, max/min {ratio:.2g}"
    raw, logged = _skewness(values), _skewness(np.log10(values))
    if raw > AUTO_SKEW and abs(logged) < raw:
        return "log10", f"positive, skewness {raw:.2g} raw vs {logged:.2g} log10"
    return "none", f"max/min {ratio:.2g}, skewness {raw:.2g} raw vs {logged:.2g} log10"


def _check_kind(kind: object, target: str) -> str:
    if kind not in KINDS:
        raise ValueError(
            f"unknown transform {kind!r} for endpoint {target!r}; choose one of {', '.join(KINDS)}"
        )
    return str(kind)


@dataclass
class TargetTransforms:
    """Fitted transforms, one per endpoint, in endpoint order.

    Attributes
    ----------
    targets : list of str
        Endpoint names.
    kinds : dict
        Endpoint -> fitted kind (never ``"auto"``).
    upper : dict
        Endpoint -> the bound of a ``"logit"`` transform (1 or 100).
    requested : dict
        Endpoint -> what the user asked for (``"auto"`` stays visible here).
    reasons : dict
        Endpoint -> why ``"auto"`` chose its kind (only for endpoints that asked for auto).
    """

    targets: list[str]
    kinds: dict[str, str]
    upper: dict[str, float] = field(default_factory=dict)
    requested: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------- fitting
    @classmethod
    def identity(cls, targets: Sequence[str]) -> TargetTransforms:
        """No transform on any endpoint."""
        names = [str(t) for t in targets]
        return cls(names, dict.fromkeys(names, "none"), {}, dict.fromkeys(names, "none"))

    @classmethod
    def fit(
        cls,
        spec: str | Mapping[str, str] | None,
        y: np.ndarray,
        targets: Sequence[str],
        *,
        rows: np.ndarray | None = None,
    ) -> TargetTransforms:
        """Resolve ``spec`` against training targets ``y`` ``(N, T)`` (NaN = missing).

        Parameters
        ----------
        spec : str, dict or None
            One kind for every endpoint, or endpoint -> kind (unnamed endpoints: the
            ``"*"`` entry if present, else ``"none"``).
        y : numpy.ndarray
            Training targets in physical units.
        targets : sequence of str
            Endpoint names, one per column of ``y``.
        rows : numpy.ndarray, optional
            Row labels of ``y`` for error messages (default: positions).

        Raises
        ------
        ValueError
            An unknown kind or endpoint, or values outside a transform's domain (the
            rows are named).
        """
        names = [str(t) for t in targets]
        if spec is None:
            spec = "none"
        if isinstance(spec, str):
            requested = {t: _check_kind(spec, t) for t in names}
        else:
            unknown = sorted(set(spec) - set(names) - {"*"})
            if unknown:
                raise ValueError(
                    f"transforms name endpoint(s) {unknown} that are not among the targets {names}"
                )
            default = spec.get("*", "none")
            requested = {t: _check_kind(spec.get(t, default), t) for t in names}
        y = np.asarray(y, dtype=np.float64)
        labels = np.arange(len(y)) if rows is None else np.asarray(rows)
        kinds, upper, reasons = {}, {}, {}
        for j, target in enumerate(names):
            column = y[:, j]
            values = column[~np.isnan(column)]
            kind = requested[target]
            if kind == "auto":
                kind, reasons[target] = auto_kind(values)
            bad = np.zeros(len(column), dtype=bool)
            if kind == "log10":
                bad = column <= 0
            elif kind == "log1p":
                bad = column < 0
            elif kind == "logit":
                upper[target] = 100.0 if values.size and values.max() > 1.0 else 1.0
                bad = (column < 0) | (column > upper[target])
            if bad.any():
                allowed = {
                    "log10": "strictly positive",
                    "log1p": "non-negative",
                    "logit": f"within [0, {upper.get(target, 1.0):g}]",
                }[kind]
                raise ValueError(
                    f"endpoint {target!r}: the {kind} transform needs {allowed} values; "
                    f"{int(bad.sum())} row(s) are not (rows {_rows_labels(labels, bad)})"
                )
            kinds[target] = kind
        return cls(names, kinds, upper, requested, reasons)

    # ------------------------------------------------------------- mapping
    def forward(self, y: np.ndarray) -> np.ndarray:
        """Physical units -> model units, ``(N, T)``; NaN stays NaN."""
        y = np.array(y, dtype=np.float64, copy=True)
        with np.errstate(all="ignore"):
            for j, target in enumerate(self.targets):
                kind = self.kinds[target]
                if kind == "log10":
                    y[:, j] = np.log10(y[:, j])
                elif kind == "log1p":
                    y[:, j] = np.log1p(y[:, j])
                elif kind == "logit":
                    p = np.clip(y[:, j] / self.upper[target], _LOGIT_EPS, 1 - _LOGIT_EPS)
                    y[:, j] = np.log(p / (1 - p))
        return y

    def inverse(
        self, z: np.ndarray, std: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Model units -> physical units for means ``(N, T)`` and optional spreads ``(N, T)``."""
        y = np.array(z, dtype=np.float64, copy=True)
        s = None if std is None else np.array(std, dtype=np.float64, copy=True)
        for j, target in enumerate(self.targets):
            kind = self.kinds[target]
            if kind == "none":
                continue
            if kind == "log10":
                y[:, j] = 10.0 ** z[:, j]
                slope = np.log(10.0) * y[:, j]
            elif kind == "log1p":
                y[:, j] = np.expm1(z[:, j])
                slope = y[:, j] + 1.0
            else:  # logit
                p = 1.0 / (1.0 + np.exp(-z[:, j]))
                y[:, j] = self.upper[target] * p
                slope = self.upper[target] * p * (1 - p)
            if s is not None:
                s[:, j] = np.abs(slope) * s[:, j]
        return y, s

    @property
    def is_identity(self) -> bool:
        """Whether every endpoint is untransformed."""
        return all(kind == "none" for kind in self.kinds.values())

    def explain(self) -> str:
        """Every endpoint's kind, with auto's reason, e.g. ``"t_half: log10 (auto: ...)"``."""
        parts = []
        for t in self.targets:
            why = self.reasons.get(t)
            note = (
                f" (auto: {why})" if why else (" (auto)" if self.requested.get(t) == "auto" else "")
            )
            parts.append(f"{t}: {self.kinds[t]}{note}")
        return "; ".join(parts)

    def describe(self) -> str:
        """One line per transformed endpoint, e.g. ``"t_half: log10 (auto)"``."""
        parts = []
        for t in self.targets:
            if self.kinds[t] != "none" or self.requested.get(t) not in (None, "none"):
                note = " (auto)" if self.requested.get(t) == "auto" else ""
                parts.append(f"{t}: {self.kinds[t]}{note}")
        return "; ".join(parts) if parts else "none"

    # ---------------------------------------------------------- persistence
    def to_dict(self) -> dict:
        """JSON-able form stored in ``model.json``."""
        return {
            "targets": self.targets,
            "kinds": self.kinds,
            "upper": self.upper,
            "requested": self.requested,
            "reasons": self.reasons,
        }

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "model.json") -> TargetTransforms:
        """Rebuild from :meth:`to_dict`, checking every kind."""
        try:
            targets = [str(t) for t in data["targets"]]
            kinds = {t: str(data["kinds"][t]) for t in targets}
            upper = {str(k): float(v) for k, v in dict(data.get("upper", {})).items()}
            requested = {str(k): str(v) for k, v in dict(data.get("requested", {})).items()}
            reasons = {str(k): str(v) for k, v in dict(data.get("reasons", {})).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: malformed target transforms ({exc})") from exc
        for t, kind in kinds.items():
            if _check_kind(kind, t) == "auto" or (kind == "logit" and t not in upper):
                raise ValueError(f"{source}: transform of {t!r} is not a fitted transform")
        return cls(targets, kinds, upper, requested, reasons)


def _rows_labels(labels: np.ndarray, bad: np.ndarray, limit: int = 5) -> str:
    picked = labels[bad]
    text = ", ".join(str(r) for r in picked[:limit].tolist())
    return text + (f" and {len(picked) - limit} more" if len(picked) > limit else "")


def parse_transform_options(items: Sequence[str]) -> str | dict[str, str]:
    """CLI ``--transform`` values -> a spec: ``["auto"]`` or ``["t_half=log10", ...]``.

    A bare kind applies to every endpoint; ``NAME=KIND`` to one. Both may be mixed: the
    bare kind is the default for endpoints not named.

    >>> parse_transform_options(["auto"])
    'auto'
    >>> parse_transform_options(["t_half=log10", "fu=logit"])
    {'t_half': 'log10', 'fu': 'logit'}
    """
    default, named = None, {}
    for item in items:
        name, sep, kind = item.partition("=")
        if sep:
            named[name.strip()] = _check_kind(kind.strip(), name.strip())
        else:
            default = _check_kind(item.strip(), "every endpoint")
    if not named:
        return default or "none"
    if default is not None:
        named["*"] = default
    return named
