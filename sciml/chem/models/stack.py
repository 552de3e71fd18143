"""Stacked models: members combined by weights learnt on inner cross-validation folds.

A plain average of several models can be worse than its best member (when one member is
much weaker on an endpoint). :class:`StackedModel` instead learns, per endpoint, a convex
combination (non-negative weights summing to 1) of its members' predictions, fitted on
out-of-fold predictions of the *training* data:

1. the training molecules are split into ``inner_folds`` folds (:func:`sciml.chem.splits.kfold`);
   each member is fitted on all folds but one and predicts the left-out fold, so every
   training molecule gets an out-of-fold prediction from every member;
2. per endpoint, the weights minimise the squared error of the weighted out-of-fold
   predictions (non-negative least squares with a sum-to-one row);
3. each member is refitted on all training molecules; predictions are the weighted sum.

Since a single member is a feasible weighting, the combination is at least as good as
the best member on the inner folds; the test data are never used.

4. With ``cross_endpoint`` (on in :func:`best_recipe`), an endpoint's weighted prediction is
   corrected by a ridge regression on it and on every member's predictions of the *other*
   endpoints (related assays inform each other: human and rat plasma protein binding, human
   and rat microsomal clearance), fitted on the same out-of-fold predictions. The correction
   is kept for an endpoint only when a nested 5-fold cross-validation over those
   predictions scores it at least :data:`CROSS_MIN_GAIN` R² above the weights alone, so an
   endpoint that its neighbours do not inform keeps the plain weighting. The spread across
members (weighted standard deviation) is the uncertainty (``return_std``) and the
per-molecule difficulty of normalised conformal intervals (:mod:`sciml.chem.conformal`).

Every step (one member on one inner fold, or one member on all molecules) is a
checkpoint: with a :class:`~sciml.train.Checkpoints` plan, a killed or time-limited fit
resumes at the first unfinished step, and members trained in epochs (the GNN) also resume
within their step.

:func:`best_recipe` builds the recipe ``sciml fit`` uses by default (``--model best``).

Examples
--------
>>> import pandas as pd
>>> from sciml.chem.models import GBMModel, RandomForestModel
>>> smiles = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "Cc1ccccc1", "CCc1ccccc1",
...           "CC(C)O", "OCCO", "CCN", "CCCN", "c1ccncc1"]
>>> y = pd.DataFrame({"logp": [-0.3, 0.1, 0.9, 1.4, 2.1, 2.7, 3.1, 0.0, -1.0, -0.1, 0.4, 0.6]})
>>> model = StackedModel(members={"rf": RandomForestModel(n_estimators=10, n_jobs=1),
...                               "gbm": GBMModel(n_estimators=20, min_child_samples=2,
...                                               n_bits=64, n_jobs=1)}).fit(smiles, y)
>>> w = model.weights["logp"]
>>> bool(abs(sum(w.values()) - 1) < 1e-9 and min(w.values()) >= 0)
True
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sciml.chem.models.base import LabelledSet, MoleculeModel, load_member
from sciml.chem.models.options import option_sources, options_dict
from sciml.train.checkpoint import CheckpointError

__all__ = ["StackConfig", "StackedModel", "best_recipe", "simplex_weights"]

#: Least labelled molecules (with every member's out-of-fold prediction) for an endpoint's
#: cross-endpoint correction.
CROSS_MIN_ROWS = 50
#: Least gain in nested cross-validated R² for which a cross-endpoint correction is kept.
CROSS_MIN_GAIN = 0.005
#: Ridge penalties searched (generalised cross-validation) on standardised predictions.
CROSS_ALPHAS = tuple(np.logspace(-2, 4, 25).tolist())

#: Progress file of a stacked fit inside its checkpoint folder (weights-only torch file).
_PROGRESS = "last.pt"


def simplex_weights(preds: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 that minimise ``||preds @ w - y||²``.

    Parameters
    ----------
    preds : numpy.ndarray
        ``(n, M)`` member predictions (finite).
    y : numpy.ndarray
        ``(n,)`` targets.

    Returns
    -------
    numpy.ndarray
        ``(M,)`` weights.

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [2.0, 5.0], [3.0, 1.0]])
    >>> simplex_weights(x, np.array([1.0, 2.0, 3.0])).round(6).tolist()
    [1.0, 0.0]
    """
    from scipy.optimize import nnls

    preds = np.asarray(preds, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m = preds.shape[1]
    if m == 1:
        return np.ones(1)
    # Sum-to-one as a heavily weighted extra equation (exact up to ~1e-9), then renormalise.
    scale = 1e4 * max(1.0, float(np.sqrt(np.mean(preds**2))), float(np.sqrt(len(y))))
    a = np.vstack([preds, np.full((1, m), scale)])
    b = np.append(y, scale)
    w, _ = nnls(a, b, maxiter=50 * m)
    total = w.sum()
    return w / total if total > 0 else np.full(m, 1.0 / m)


def _one_hot_best(scores: list[float]) -> np.ndarray:
    """Weight 1 on the member with the highest score (NaN scores lose; all NaN: the average)."""
    values = np.array(scores, dtype=np.float64)
    if not np.isfinite(values).any():
        return np.full(len(values), 1.0 / len(values))
    w = np.zeros(len(values))
    w[int(np.argmax(np.where(np.isfinite(values), values, -np.inf)))] = 1.0
    return w


@dataclass(frozen=True)
class StackConfig:
    """What :class:`StackedModel` stores about its members and their combination.

    Attributes
    ----------
    members : tuple of str
        Member labels (``--set LABEL.FIELD=VALUE`` addresses them), in order.
    kinds : tuple of str
        Registry names (``model.name``) of the members, in the same order.
    inner_folds : int
        Folds of the training data whose out-of-fold predictions fit the weights.
    seed : int
        Seed of the inner folds.
    threads : int or None
        Torch threads while fitting and predicting (None: leave torch's setting); tree
        members get their own ``n_jobs`` from :func:`best_recipe` / ``--threads``.
    select_best : bool
        Instead of fitting weights, give each endpoint wholly to the member with the best
        inner-fold score on it (a choice :func:`sciml.chem.tune.tune` can make on
        validation folds; the weights are the default).
    cross_endpoint : bool
        Correct each regression endpoint's combination by a ridge on the members'
        predictions of the other endpoints, where nested cross-validation on the inner
        folds says it helps (module docstring, step 4).
    """

    members: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    inner_folds: int = 3
    seed: int = 0
    threads: int | None = None
    select_best: bool = False
    cross_endpoint: bool = False

    def __post_init__(self):
        object.__setattr__(self, "members", tuple(self.members))  # JSON gives a list
        object.__setattr__(self, "kinds", tuple(self.kinds))
        if len(self.members) != len(self.kinds):
            raise ValueError(f"{len(self.members)} member labels for {len(self.kinds)} kinds")
        if self.inner_folds < 2:
            raise ValueError(f"inner_folds must be at least 2, got {self.inner_folds}")


class _TorchThreads:
    """Context manager: ``torch.set_num_threads(n)`` inside, the former setting after."""

    def __init__(self, n: int | None):
        self.n, self.before = n, None

    def __enter__(self):
        if self.n is not None:
            import torch

            self.before = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        if self.before is not None:
            import torch

            torch.set_num_threads(self.before)


class StackedModel(MoleculeModel):
    """Members combined per endpoint by non-negative weights fitted on inner CV folds.

    Parameters
    ----------
    config : StackConfig, optional
        Set by :meth:`load`; leave it out and pass ``members``.
    members : mapping of str to MoleculeModel
        Label -> unfitted model, at least two. Each is refitted ``inner_folds + 1`` times.
    inner_folds, seed, threads, select_best, cross_endpoint
        See :class:`StackConfig`.

    Attributes
    ----------
    weights : dict
        Endpoint -> {label: weight} after :meth:`fit` or :meth:`load`.
    cross : dict
        Endpoint -> its cross-endpoint correction (standardisation, ridge coefficients,
        penalty), for the endpoints where it was kept.
    max_cpu_minutes : float or None
        Budget in CPU minutes of this process (all threads) for :meth:`fit`, checked
        between steps (every call fits at least one step, so repeated resumes always finish);
        past it, the fit stops with :class:`~sciml.train.TimeBudgetReached` after writing
        its checkpoint (needs a checkpoint plan).
    """

    name = "stack"
    config_cls = StackConfig
    trains_in_epochs = True  # takes a checkpoint plan: every step is a checkpoint
    epoch_fields = ()

    def __init__(
        self,
        config: StackConfig | None = None,
        *,
        members: Mapping[str, MoleculeModel] | None = None,
        inner_folds: int = 3,
        seed: int = 0,
        threads: int | None = None,
        select_best: bool = False,
        cross_endpoint: bool = False,
    ):
        members = dict(members or {})
        if config is None:
            if len(members) < 2:
                raise ValueError(f"a stacked model needs at least two members, got {len(members)}")
            bad = [type(m).__name__ for m in members.values() if not isinstance(m, MoleculeModel)]
            if bad:
                raise TypeError(f"members must be MoleculeModel instances, got {bad}")
            config = StackConfig(
                tuple(members),
                tuple(m.name for m in members.values()),
                inner_folds,
                seed,
                threads,
                select_best,
                cross_endpoint,
            )
        super().__init__(config)
        self.members: dict[str, MoleculeModel] = members
        self.weights: dict[str, dict[str, float]] = {}
        self.cross: dict[str, dict[str, Any]] = {}
        self.max_cpu_minutes: float | None = None

    @property
    def uncertainty_method(self) -> str:
        """How ``<endpoint>_std`` is estimated."""
        return f"weighted std across the {len(self.config.members)} members' predictions"

    # ---------------------------------------------------------------- fit
    def _fingerprint(self) -> str:
        """The stack and member settings, to refuse resuming another run's checkpoints."""
        return json.dumps(
            {
                "stack": asdict(self.config),
                "targets": self.targets,
                "tasks": self.tasks.kinds,
                "transforms": self.transforms.kinds,
                "members": {k: [m.name, options_dict(m.config)] for k, m in self.members.items()},
            },
            sort_keys=True,
            default=str,
        )

    def _fit(self, train: LabelledSet, val: LabelledSet | None, checkpoints=None) -> None:
        from sciml.chem.splits import kfold

        kinds = dict(self.transforms.kinds)
        labels = list(self.config.members)
        n, n_tasks = len(train.smiles), len(self.targets)
        folds = kfold(n, self.config.inner_folds, seed=self.config.seed)
        progress = _Progress(checkpoints, self._fingerprint(), self.max_cpu_minutes)

        def physical(values: np.ndarray) -> pd.DataFrame:
            return pd.DataFrame(self.transforms.inverse(values)[0], columns=self.targets)

        def subset(rows: np.ndarray) -> tuple[list[str], pd.DataFrame]:
            return [train.smiles[i] for i in rows], physical(train.y[rows])

        oof = np.full((len(labels), n, n_tasks), np.nan)
        with _TorchThreads(self.config.threads):
            for k, (inner_train, inner_test) in enumerate(folds):
                for m, label in enumerate(labels):
                    step = f"inner{k}_{label}"
                    pred = progress.load_array(step)
                    if pred is None:
                        progress.check_budget(step)
                        member = type(self.members[label])(self.members[label].config)
                        smiles, y = subset(inner_train)
                        if not (~y.isna()).any().all():
                            raise ValueError(
                                f"inner fold {k} of the stack leaves an endpoint without "
                                "training values; use fewer inner_folds or more molecules"
                            )
                        member.fit(
                            smiles,
                            y,
                            transforms=kinds,
                            tasks=self.tasks,
                            checkpoints=progress.plan(step, member),
                        )
                        pred = member._predict([train.smiles[i] for i in inner_test], False)[0]
                        progress.save_array(step, pred)
                    oof[m, inner_test] = pred
            self.weights, inner_r2 = {}, {}
            for t, target in enumerate(self.targets):
                rows = ~np.isnan(train.y[:, t]) & np.isfinite(oof[:, :, t]).all(axis=0)
                w = self._weigh(t, oof[:, rows, t], train.y[rows, t])
                self.weights[target] = dict(zip(labels, w.tolist(), strict=True))
                # The task's own score: R² (regression), AUROC (binary: the weights combine
                # probabilities, fitted by least squares, i.e. the Brier score).
                inner_r2[target] = {
                    label: self._score(t, train.y[rows, t], oof[m, rows, t])
                    for m, label in enumerate(labels)
                }
                inner_r2[target]["stack"] = self._score(t, train.y[rows, t], w @ oof[:, rows, t])
            self.cross, cv_mean = {}, None
            if self.config.cross_endpoint:
                cv_mean = self._fit_cross(train.y, oof)
            self._calibrate_on_inner_folds(train, oof, cv_mean)
            for label in labels:
                step = f"full_{label}"
                fitted = progress.load_model(step)
                if fitted is None:
                    progress.check_budget(step)
                    fitted = type(self.members[label])(self.members[label].config)
                    fitted.fit(
                        train.smiles,
                        physical(train.y),
                        transforms=kinds,
                        tasks=self.tasks,
                        checkpoints=progress.plan(step, fitted),
                    )
                    progress.save_model(step, fitted)
                self.members[label] = fitted
        self.fit_info["weights"] = self.weights
        self.fit_info["inner_r2"] = inner_r2

    def _weigh(self, t: int, preds: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Endpoint ``t``'s member weights from ``(M, n)`` out-of-fold predictions."""
        m = preds.shape[0]
        if len(y) < 10:  # too few labelled molecules to weigh: the plain average
            return np.full(m, 1.0 / m)
        if self.config.select_best:
            return _one_hot_best([self._score(t, y, preds[k]) for k in range(m)])
        return simplex_weights(preds.T, y)

    def _fit_cross(self, y: np.ndarray, oof: np.ndarray) -> np.ndarray:
        """Fit the cross-endpoint corrections worth keeping (step 4 of the module docstring).

        Returns the ``(n, T)`` combined out-of-fold predictions, corrected by the
        cross-validated corrections where one is kept (for the conformal scores).
        """
        from sciml.train.tasks import BinaryTask

        mean, _ = self._combine(oof)
        n_tasks = len(self.targets)
        report = {}
        finite = np.isfinite(oof).all(axis=(0, 2))
        for t, target in enumerate(self.targets):
            idx = np.flatnonzero(~np.isnan(y[:, t]) & finite)
            if n_tasks < 2 or isinstance(self.tasks[t], BinaryTask) or len(idx) < CROSS_MIN_ROWS:
                continue
            base, corrected = cross_cv_predictions(
                oof, y, t, idx, lambda p, v, t=t: self._weigh(t, p, v), seed=self.config.seed
            )
            r2_base = self._score(t, y[idx, t], base)
            r2_cross = self._score(t, y[idx, t], corrected)
            kept = bool(np.isfinite(r2_cross) and r2_cross >= r2_base + CROSS_MIN_GAIN)
            report[target] = {"cv_r2_weights": r2_base, "cv_r2_cross": r2_cross, "kept": kept}
            if kept:
                self.cross[target] = _ridge(
                    _cross_features(mean[idx, t], oof[:, idx], t), y[idx, t]
                )
                report[target]["alpha"] = self.cross[target]["alpha"]
                mean[idx, t] = corrected
        self.fit_info["cross_endpoint"] = report
        return mean

    def _score(self, t: int, y: np.ndarray, pred: np.ndarray) -> float:
        """Endpoint ``t``'s task score (R² or AUROC) of model-unit predictions; NaN if undefined."""
        task = self.tasks[t]
        try:
            return float(task.metrics(y, pred)[task.score])
        except (ValueError, ZeroDivisionError, FloatingPointError):
            return float("nan")

    def _calibrate_on_inner_folds(
        self, train: LabelledSet, oof: np.ndarray, mean: np.ndarray | None = None
    ) -> None:
        """Normalised conformal scores from the inner folds' out-of-fold residuals.

        Every training molecule was predicted by members that did not see it, so intervals
        come without holding molecules back (cross-conformal, as CV+ of Barber et al. 2021:
        its guarantee is ``1 - 2 alpha`` rather than ``1 - alpha``, and the out-of-fold
        members, trained on fewer molecules, err a little more than the final ones, which
        widens the intervals). ``fit(calibration=...)`` or :meth:`calibrate` replace them
        with split-conformal scores from held-out molecules.
        """
        from sciml.chem.conformal import ConformalScores

        if mean is None:
            mean, _ = self._combine(oof)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = np.nanstd(oof, axis=0)
        from sciml.train.tasks import BinaryTask

        spread[:, self.tasks.mask(BinaryTask)] = np.nan  # binary endpoints: plain scores
        self.conformal = ConformalScores.from_residuals(self.targets, train.y, mean, scale=spread)
        self.fit_info["conformal"] = "inner folds (cross-conformal)"

    # ------------------------------------------------------------ predict
    def _draws(self, smiles: list[str]) -> np.ndarray:
        """``(M, n, T)`` member predictions in model units."""
        with _TorchThreads(self.config.threads):
            return np.stack(
                [self.members[label]._predict(smiles, False)[0] for label in self.config.members]
            )

    def _combine(self, draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = np.array(
            [[self.weights[t][label] for t in self.targets] for label in self.config.members]
        )[:, None, :]  # (M, 1, T)
        w = np.where(np.isfinite(draws), w, 0.0)  # a member that cannot read a molecule
        total = w.sum(axis=0)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            w = w / total
            values = np.where(np.isfinite(draws), draws, 0.0)
            mean = (w * values).sum(axis=0)
            std = np.sqrt((w * (values - mean) ** 2).sum(axis=0))
        mean[total == 0] = np.nan
        std[total == 0] = np.nan
        return mean, std

    def _predict(self, smiles: list[str], return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        draws = self._draws(smiles)
        mean, std = self._combine(draws)
        for t, target in enumerate(self.targets):
            if target in self.cross:
                x = _cross_features(mean[:, t], draws, t)
                ok = np.isfinite(x).all(axis=1)  # else: the weights alone
                mean[ok, t] = _apply_ridge(self.cross[target], x[ok])
        return mean, (std if return_std else None)

    def _difficulty(self, smiles: list[str]) -> np.ndarray:
        """``(n, T)`` members' disagreement (unweighted std), the scale of normalised scores.

        Unweighted, so a member with weight 0 on an endpoint still says where the
        molecule is hard.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanstd(self._draws(smiles), axis=0)

    def _input_problems(self, smiles: list[str]) -> dict[int, str]:
        problems: dict[int, str] = {}
        for label in self.config.members:
            for i, reason in self.members[label]._input_problems(smiles).items():
                problems.setdefault(i, f"{label}: {reason}")
        return problems

    # -------------------------------------------------------------- files
    def _save(self, directory: Path) -> dict[str, Any]:
        folders = {}
        for label in self.config.members:
            self.members[label].save(directory / f"member_{label}")
            folders[label] = f"member_{label}"
        return {
            "members": folders,
            "weights": self.weights,
            "cross": self.cross,
            "cross_endpoint": self.fit_info.get("cross_endpoint", {}),
            "inner_r2": self.fit_info.get("inner_r2", {}),
            "uncertainty": self.uncertainty_method,
        }

    def _load(self, directory: Path, extra: dict[str, Any]) -> None:

        folders = dict(extra.get("members", {}))
        weights = extra.get("weights", {})
        if sorted(folders) != sorted(self.config.members):
            raise CheckpointError(
                f"{directory} lists member folders {sorted(folders)} for "
                f"members {list(self.config.members)}"
            )
        try:
            self.weights = {
                t: {label: float(weights[t][label]) for label in self.config.members}
                for t in self.targets
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{directory}: malformed stacking weights ({exc})") from exc
        self.cross = _checked_cross(
            extra.get("cross", {}), self.targets, len(self.config.members), directory
        )
        self.fit_info["cross_endpoint"] = extra.get("cross_endpoint", {})
        self.members = {}
        for label, kind in zip(self.config.members, self.config.kinds, strict=True):
            self.members[label] = load_member(directory, folders[label], kind, self, "stack")
        self.fit_info["inner_r2"] = extra.get("inner_r2", {})

    def clear_checkpoints(self, checkpoints) -> None:
        """Remove the step files of a finished fit (after the model is saved)."""
        import shutil

        top = Path(checkpoints.folder())
        for path in top.glob("inner*_*"):
            shutil.rmtree(path, ignore_errors=True)
        for path in top.glob("full_*"):
            shutil.rmtree(path, ignore_errors=True)
        (top / _PROGRESS).unlink(missing_ok=True)
        if top.is_dir() and not any(top.iterdir()):
            top.rmdir()


def cross_cv_predictions(
    oof: np.ndarray, y: np.ndarray, t: int, idx: np.ndarray, weigh, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Nested 5-fold CV predictions of endpoint ``t`` over out-of-fold rows ``idx``.

    ``oof`` is ``(M, n, T)``, ``y`` ``(n, T)``; ``weigh(preds (M, k), y (k,))`` gives member
    weights. Returns the weights-alone and the cross-endpoint-corrected predictions of
    ``y[idx, t]``, each fitted without the rows it predicts (what decides whether the
    correction is kept).
    """
    from sciml.chem.splits import kfold

    base, corrected = np.empty(len(idx)), np.empty(len(idx))
    for a, b in kfold(len(idx), 5, seed=seed):
        ra, rb = idx[a], idx[b]
        w = weigh(oof[:, ra, t], y[ra, t])
        base[b] = w @ oof[:, rb, t]
        fit = _ridge(_cross_features(w @ oof[:, ra, t], oof[:, ra], t), y[ra, t])
        corrected[b] = _apply_ridge(fit, _cross_features(base[b], oof[:, rb], t))
    return base, corrected


def _cross_features(stacked: np.ndarray, draws: np.ndarray, t: int) -> np.ndarray:
    """``(n, 1 + M (T - 1))``: endpoint ``t``'s combination, then every member's other endpoints."""
    others = [s for s in range(draws.shape[2]) if s != t]
    rest = draws[:, :, others].transpose(1, 0, 2).reshape(draws.shape[1], -1)
    return np.column_stack([stacked, rest])


def _ridge(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Ridge on standardised ``x`` with its penalty by generalised cross-validation."""
    from sklearn.linear_model import RidgeCV

    center, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    fit = RidgeCV(alphas=CROSS_ALPHAS).fit((x - center) / scale, y)
    return {
        "center": center.tolist(),
        "scale": scale.tolist(),
        "coef": np.asarray(fit.coef_).tolist(),
        "intercept": float(fit.intercept_),
        "alpha": float(fit.alpha_),
    }


def _apply_ridge(fit: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    center, scale = np.asarray(fit["center"]), np.asarray(fit["scale"])
    return ((x - center) / scale) @ np.asarray(fit["coef"]) + fit["intercept"]


def _checked_cross(
    cross: Any, targets: list[str], n_members: int, directory: Path
) -> dict[str, dict[str, Any]]:
    """The stored cross-endpoint corrections, refusing malformed ones (numbers only)."""
    width = 1 + n_members * (len(targets) - 1)
    out: dict[str, dict[str, Any]] = {}
    try:
        for target, fit in dict(cross).items():
            if target not in targets:
                raise ValueError(f"unknown endpoint {target!r}")
            vectors = {k: [float(v) for v in fit[k]] for k in ("center", "scale", "coef")}
            scalars = {k: float(fit[k]) for k in ("intercept", "alpha")}
            if any(len(v) != width for v in vectors.values()):
                raise ValueError(f"{target}: {width} coefficients expected")
            if not all(np.isfinite(v).all() for v in (*vectors.values(), [*scalars.values()])):
                raise ValueError(f"{target}: non-finite values")
            out[target] = {**vectors, **scalars}
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{directory}: malformed cross-endpoint corrections ({exc})") from exc
    return out


class _Progress:
    """The steps of one stacked fit in its checkpoint folder (nothing without a plan)."""

    def __init__(self, checkpoints, fingerprint: str, max_cpu_minutes: float | None):
        self.plan_ = checkpoints
        self.fingerprint = fingerprint
        self.budget = max_cpu_minutes
        self.start_cpu = time.process_time()
        self.cpu_before = 0.0
        self.done: list[str] = []
        self.steps_this_call = 0
        if checkpoints is None:
            if max_cpu_minutes is not None:
                raise ValueError(
                    "a CPU budget for a stacked fit needs a checkpoint plan, "
                    "so that the stopped fit can resume"
                )
            return
        self.top = Path(checkpoints.folder())
        state = self.top / _PROGRESS
        if checkpoints.resume and state.is_file():
            import torch

            payload = torch.load(state, weights_only=True)
            if payload.get("fingerprint") != fingerprint:
                raise ValueError(
                    f"{self.top} holds the checkpoints of a stacked fit with other "
                    "settings or data; resume with the same options, or delete it"
                )
            self.done = list(payload.get("done", []))
            self.cpu_before = float(payload.get("cpu_seconds", 0.0))
        self.top.mkdir(parents=True, exist_ok=True)
        self._write()

    def cpu_seconds(self) -> float:
        return self.cpu_before + time.process_time() - self.start_cpu

    def _write(self) -> None:
        import torch

        from sciml._io import atomic_write

        with atomic_write(self.top / _PROGRESS, "wb") as handle:
            torch.save(
                {
                    "fingerprint": self.fingerprint,
                    "done": self.done,
                    "cpu_seconds": self.cpu_seconds(),
                },
                handle,
            )

    def check_budget(self, step: str) -> None:
        from sciml.train import TimeBudgetReached

        if self.plan_ is None or self.steps_this_call == 0:
            return  # every call makes progress: one step before it may stop
        used = self.cpu_seconds()
        over_cpu = self.budget is not None and used > 60 * self.budget
        over_wall = self.plan_.deadline is not None and time.monotonic() > self.plan_.deadline
        if over_cpu or over_wall:
            self._write()
            raise TimeBudgetReached(
                f"time budget used ({used / 60:.1f} CPU minutes) before step {step}; "
                f"{len(self.done)} steps are saved",
                self.top / _PROGRESS,
            )

    def plan(self, step: str, member: MoleculeModel):
        """A checkpoint plan for a member trained in epochs (None otherwise)."""
        if self.plan_ is None or not member.trains_in_epochs:
            return None
        from sciml.train import Checkpoints

        deadline = self.plan_.deadline
        if self.budget is not None:
            left = 60 * self.budget - self.cpu_seconds()
            deadline = min(deadline or np.inf, time.monotonic() + max(left, 1.0))
        return Checkpoints(
            self.top / step / "train",
            resume=self.plan_.resume,
            deadline=None if deadline == np.inf else deadline,
        )

    def load_array(self, step: str) -> np.ndarray | None:
        if self.plan_ is None or step not in self.done:
            return None
        return np.load(self.top / step / "pred.npy", allow_pickle=False)

    def save_array(self, step: str, pred: np.ndarray) -> None:
        if self.plan_ is None:
            return
        (self.top / step).mkdir(parents=True, exist_ok=True)
        np.save(self.top / step / "pred.npy", pred, allow_pickle=False)
        self.done.append(step)
        self.steps_this_call += 1
        self._write()

    def load_model(self, step: str) -> MoleculeModel | None:
        if self.plan_ is None or step not in self.done:
            return None
        from sciml.chem.models import load_model

        return load_model(self.top / step / "model")

    def save_model(self, step: str, model: MoleculeModel) -> None:
        if self.plan_ is None:
            return
        model.save(self.top / step / "model")
        self.done.append(step)
        self.steps_this_call += 1
        self._write()


#: The members of :func:`best_recipe`: label -> (registry name, options).
BEST_MEMBERS: dict[str, tuple[str, dict[str, Any]]] = {
    "gbm": ("gbm", {}),
    "gbm_rich": ("gbm", {"fingerprints": ("avalon", "erg", "maccs")}),
    "gnn": ("gnn", {"hidden": 128, "ffn_hidden": 128, "epochs": 30}),
    "catboost_rich": ("catboost", {"fingerprints": ("avalon", "erg", "maccs")}),
    "kernel": ("kernel", {}),
}
#: The members :func:`best_recipe` keeps unless told otherwise (``catboost_rich`` is opt-in:
#: ``members=(..., "catboost_rich")``, ``sciml fit --members gbm,gbm_rich,gnn,catboost_rich``).
DEFAULT_BEST_MEMBERS: tuple[str, ...] = ("gbm", "gbm_rich", "gnn", "kernel")


def best_recipe(
    *,
    seed: int = 0,
    threads: int | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    inner_folds: int = 3,
    members: tuple[str, ...] | None = None,
    select_best: bool = False,
    cross_endpoint: bool = True,
) -> StackedModel:
    """The default model of ``sciml fit``: two LightGBMs, a D-MPNN and a kernel ridge, stacked.

    Members (:data:`BEST_MEMBERS`):

    - ``gbm``: LightGBM on Morgan count fingerprints (radius 2, 2048 bits) plus RDKit
      descriptors (:class:`~sciml.chem.models.GBMModel` defaults);
    - ``gbm_rich``: the same plus Avalon counts, ErG and MACCS keys (the feature mix of
      MapLight, the leading boosted-tree ADMET model);
    - ``gnn``: the D-MPNN with descriptors at width 128, 30 epochs (the GNN of the
      study-protocol benchmark);
    - ``kernel``: kernel ridge regression, the Gaussian-process mean, on a MinMax kernel
      of Morgan counts mixed with an RBF kernel of RDKit descriptors
      (:class:`~sciml.chem.models.KernelModel` defaults; added in session 7 on inner-fold
      evidence: it matched ``gbm_rich`` alone and raised the stack's nested-CV R² on the
      training folds, ``benchmarks/results/adme_best.md``);
    - ``catboost_rich`` (not in :data:`DEFAULT_BEST_MEMBERS`; add it with ``members``):
      CatBoost on ``gbm_rich``'s features (``benchmarks/adme_catboost.py`` measures it).

    GBM + GNN was the best arm of ``benchmarks/adme_study_protocol.py``; the stack replaces
    its plain average by weights fitted per endpoint on inner folds of the training data,
    which also decide, per endpoint, how much the richer features are worth. Declared
    before it was scored (``benchmarks/adme_best.py``).

    Parameters
    ----------
    seed : int
        Seed of every member and of the inner folds.
    threads : int or None
        Threads of every member: LightGBM's ``num_threads`` and descriptor workers
        (``n_jobs``) and torch's threads for the GNN (None: the libraries' defaults).
    options : mapping, optional
        Member label -> configuration fields to change, e.g. ``{"gnn": {"hidden": 300}}``.
    inner_folds : int
        Folds whose out-of-fold predictions fit the weights.
    members : tuple of str, optional
        The members to keep (at least two labels of :data:`BEST_MEMBERS`, in any order;
        default :data:`DEFAULT_BEST_MEMBERS`), e.g. ``("gbm", "gbm_rich")`` for a stack
        without the GNN.
    select_best : bool
        Give each endpoint to its best member on the inner folds instead of weighting
        (:class:`StackConfig`).
    cross_endpoint : bool
        Correct each endpoint by the members' predictions of the other endpoints where
        nested cross-validation on the inner folds says it helps (:class:`StackConfig`;
        added in session 6 on inner-fold evidence, ``benchmarks/results/adme_best.md``).

    Raises
    ------
    ValueError
        ``options`` or ``members`` names a member or a field the recipe does not have.
    """
    from sciml.chem.models import MODELS

    options = {k: dict(v) for k, v in dict(options or {}).items()}
    unknown = sorted(set(options) - set(BEST_MEMBERS))
    if unknown:
        raise ValueError(f"the best recipe has members {list(BEST_MEMBERS)}, not {unknown}")
    kept = list(DEFAULT_BEST_MEMBERS) if members is None else list(members)
    bad_members = sorted(set(kept) - set(BEST_MEMBERS))
    if bad_members or len(set(kept)) != len(kept):
        raise ValueError(
            f"members {kept} must be distinct labels of the best recipe {list(BEST_MEMBERS)}"
        )
    members = {}
    for label, (kind, defaults) in BEST_MEMBERS.items():
        if label not in kept:
            continue
        cls = MODELS[kind]
        fields = set(option_sources(cls.config_cls))
        chosen = {**defaults, "seed": seed}
        if threads is not None and "n_jobs" in fields:
            chosen["n_jobs"] = threads
        given = options.get(label, {})
        bad = sorted(set(given) - fields)
        if bad:
            raise ValueError(
                f"member {label!r} ({cls.name}) has no option(s) {', '.join(bad)}; "
                f"its options are: {', '.join(sorted(fields))}"
            )
        members[label] = cls(**{**chosen, **given})
    return StackedModel(
        members=members,
        inner_folds=inner_folds,
        seed=seed,
        threads=threads,
        select_best=select_best,
        cross_endpoint=cross_endpoint,
    )
