"""The interface every molecular property model shares, and its on-disk format.

A model is fitted on SMILES and a frame of endpoints (NaN = not measured), predicts a
frame in the same physical units, and saves itself to a folder that rebuilds it alone:

- ``model.json``: format tag and version, the registry name (``"rf"``, ``"gnn"``, ...),
  the class path, the configuration, the endpoint names and the versions used;
- the weights: weights-only torch checkpoints (:func:`sciml.train.save_checkpoint`) or
  ``.npz`` arrays. Nothing is pickled, so loading never runs arbitrary code.

SMILES are validated where they enter (:meth:`MoleculeModel.fit`,
:meth:`MoleculeModel.predict`) with the ``errors=`` policy of :mod:`sciml.chem.smiles`,
so a bad molecule never reaches a featuriser or a network. Inputs and targets pass the
checks of :mod:`sciml.hygiene` there (isotope labels stripped with a note, infinite or
constant targets and too few molecules refused).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from sciml._io import atomic_write
from sciml.chem.conformal import ConformalScores, IsotonicCalibration, check_level
from sciml.chem.domain import DomainWarning, TrainingDomain, domain_columns
from sciml.chem.models.options import (
    config_from_options,
    option_sources,
    options_dict,
    with_options,
)
from sciml.chem.smiles import (
    Errors,
    InvalidSmiles,
    InvalidSmilesError,
    canonicalize_batch,
    check_errors_arg,
)
from sciml.chem.transforms import TargetTransforms
from sciml.hygiene import ISOTOPES, check_finite_targets, check_training_targets
from sciml.train.checkpoint import CheckpointError, class_path
from sciml.train.tasks import BinaryTask, Task, Tasks, infer_tasks

if TYPE_CHECKING:
    from sciml.train.resume import Checkpoints

__all__ = [
    "DomainWarning",
    "FORMAT",
    "FORMAT_VERSION",
    "META_FILE",
    "LabelledSet",
    "MoleculeModel",
    "NotFittedError",
    "prepare_labelled",
    "file_inside",
    "read_meta",
]

FORMAT = "sciml.chem.model"
FORMAT_VERSION = 1
#: Name of the self-describing metadata file inside a saved model folder.
META_FILE = "model.json"


class NotFittedError(RuntimeError):
    """A model was asked to predict or save before :meth:`MoleculeModel.fit`."""


@dataclass(frozen=True)
class LabelledSet:
    """Validated training (or validation) data.

    Attributes
    ----------
    smiles : list of str
        Canonical SMILES of the kept rows.
    y : numpy.ndarray
        ``(N, T)`` float64 targets in physical units, NaN where not measured.
    index : numpy.ndarray
        ``(N,)`` positions of the kept rows in the caller's input.
    invalid : list of InvalidSmiles
        Rows dropped because their SMILES were invalid.
    """

    smiles: list[str]
    y: np.ndarray
    index: np.ndarray
    invalid: list[InvalidSmiles]


def _as_frame(y: pd.DataFrame | pd.Series) -> pd.DataFrame:
    if isinstance(y, pd.Series):
        return y.to_frame(name=y.name if y.name is not None else "y")
    if not isinstance(y, pd.DataFrame):
        raise TypeError(
            f"y must be a pandas DataFrame (one column per endpoint), got {type(y).__name__}"
        )
    return y


def prepare_labelled(
    smiles: Iterable[object],
    y: pd.DataFrame | pd.Series,
    *,
    errors: Errors = "raise",
    what: str = "training",
) -> LabelledSet:
    """Validate SMILES and align targets; rows without any label are dropped.

    Parameters
    ----------
    smiles : iterable
        Input SMILES, one per row of ``y``.
    y : DataFrame or Series
        ``(N, T)`` targets, NaN where not measured.
    errors : {"raise", "skip"}
        Invalid SMILES raise :class:`~sciml.chem.smiles.InvalidSmilesError` or drop their row.
    what : str
        Names the data in error messages.
    """
    check_errors_arg(errors)
    if errors == "nan":
        raise ValueError("fitting accepts errors='raise' or 'skip'; a NaN row cannot be learnt")
    frame = _as_frame(y)
    inputs = list(smiles)
    if len(inputs) != len(frame):
        raise ValueError(f"{what} data: {len(inputs)} SMILES but {len(frame)} rows of targets")
    try:
        values = frame.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} targets must be numeric: {exc}") from exc
    check_finite_targets(values, list(frame.columns), f"{what} data")
    batch = canonicalize_batch(inputs, errors=errors, isotopes=ISOTOPES)
    values = values[batch.index]
    labelled = ~np.isnan(values).all(axis=1)
    counts = (~np.isnan(values)).sum(0)
    empty = [str(c) for c, n in zip(frame.columns, counts, strict=True) if n == 0]
    if empty:
        raise ValueError(f"{what} data has no value for endpoint(s) {', '.join(empty)}")
    return LabelledSet(
        [s for s, keep in zip(batch.values, labelled, strict=True) if keep],
        values[labelled],
        batch.index[labelled],
        list(batch.invalid),
    )


def _split_off(data: LabelledSet, fraction: float, seed: int) -> tuple[LabelledSet, LabelledSet]:
    """Split a random ``fraction`` of the rows off ``data`` (training rest, calibration part)."""
    if not isinstance(fraction, int | float) or not 0.0 < fraction < 0.5:
        raise ValueError(f"calibration must be a fraction in (0, 0.5), got {fraction!r}")
    n = len(data.smiles)
    n_cal = int(round(fraction * n))
    if n_cal < 10 or n - n_cal < 10:
        raise ValueError(
            f"calibration={fraction} of {n} molecules leaves {n_cal} for "
            "calibration; conformal intervals need at least 10 on each side"
        )
    order = np.random.default_rng(seed).permutation(n)

    def take(rows):
        rows = np.sort(rows)
        return LabelledSet([data.smiles[i] for i in rows], data.y[rows], data.index[rows], [])

    return dataclasses.replace(take(order[n_cal:]), invalid=data.invalid), take(order[:n_cal])


def read_meta(directory: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``model.json`` of a saved model folder.

    Raises
    ------
    FileNotFoundError
        ``directory`` holds no ``model.json``.
    CheckpointError
        The file is not a sciml molecular model or has another format version.
    """
    path = Path(directory) / META_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{directory} is not a saved sciml model (no {META_FILE})")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a sciml molecular model (no '{FORMAT}' format tag)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format version {meta.get('format_version')}; "
            f"this sciml reads version {FORMAT_VERSION}"
        )
    return meta


def load_member(
    directory: str | os.PathLike, folder: Any, kind: str, owner: MoleculeModel, role: str
) -> MoleculeModel:
    """Load a member model saved in ``folder`` inside a combined model's ``directory``.

    The member must be a ``kind`` model of the owner's targets, trained with the owner's
    target transforms (``role`` names the owner in messages: "ensemble", "stack").
    ``file_inside`` refuses '.', '..' and absolute paths, so a member cannot be the owner
    itself (endless recursion) or a folder elsewhere.

    Raises
    ------
    CheckpointError
        The folder is not inside ``directory``, or holds another kind of model, other
        targets or other transforms.
    """
    from sciml.chem.models import load_model

    member = load_model(file_inside(directory, folder, "member folder"))
    where = Path(directory) / str(folder)
    if member.name != kind or member.targets != owner.targets:
        raise CheckpointError(
            f"{where} holds a {member.name!r} model of {member.targets}; "
            f"the {role} expects a {kind!r} model of {owner.targets}"
        )
    if member.transforms.kinds != owner.transforms.kinds:
        raise CheckpointError(
            f"{where} was trained with target transforms "
            f"{member.transforms.kinds}; the {role} uses {owner.transforms.kinds}"
        )
    return member


def file_inside(directory: str | os.PathLike, name: Any, what: str = "file") -> Path:
    """The path of ``name`` (from ``model.json``) inside a saved model folder.

    Saved models refer to their weight files by relative names. A name that is not a
    plain relative path inside ``directory`` (absolute, ``..``, or the folder itself) is
    refused, so a crafted ``model.json`` cannot make sciml read files elsewhere.

    Raises
    ------
    CheckpointError
        ``name`` is not a relative path to an existing entry strictly inside ``directory``.
    """
    directory = Path(directory)
    where = directory / META_FILE
    if not isinstance(name, str) or not name or Path(name).is_absolute():
        raise CheckpointError(f"{where}: {what} {name!r} must be a relative name inside the folder")
    root = directory.resolve()
    target = (directory / name).resolve()
    if target == root or root not in target.parents:
        raise CheckpointError(
            f"{where}: {what} {name!r} points outside the model folder "
            f"{directory}; refusing to follow it"
        )
    if not target.exists():
        raise CheckpointError(f"{where}: {what} {name!r} does not exist in {directory}")
    return target


def _check_classes(tasks: Tasks, y: np.ndarray) -> None:
    """A binary endpoint needs both classes among its training labels."""
    for j, task in enumerate(tasks):
        if isinstance(task, BinaryTask):
            labels = y[:, j][~np.isnan(y[:, j])]
            if np.unique(labels).size < 2:
                raise ValueError(
                    f"binary endpoint {task.name!r} has only class "
                    f"{labels[0]:g} in the training data; a classifier needs "
                    "examples of both classes"
                )


def _transforms_for_tasks(
    spec: str | Mapping[str, str] | None, tasks: Tasks
) -> str | dict[str, str] | None:
    """The transform spec with endpoints that take no transform (binary) set to none.

    ``"auto"`` (for all or for one endpoint) leaves such an endpoint raw; any other
    transform named for it is an error.
    """
    if spec is None or all(t.allows_transforms for t in tasks):
        return spec
    per = dict.fromkeys(tasks.names, spec) if isinstance(spec, str) else dict(spec)
    for task in tasks:
        if task.allows_transforms:
            continue
        if per.get(task.name) not in (None, "none", "auto"):
            raise ValueError(
                f"endpoint {task.name!r} is {task.kind}: it takes no target "
                f"transform, got {per[task.name]!r} (use none or auto)"
            )
        per[task.name] = "none"
    return per


class MoleculeModel:
    """Base class: SMILES in, endpoint frame in physical units out.

    Subclasses set :attr:`name` (the registry key) and :attr:`config_cls` (a frozen
    dataclass of hyper-parameters, whose options may be composed from another
    configuration: :mod:`sciml.chem.models.options`) and implement ``_fit``, ``_predict``, ``_save`` and
    ``_load``; validation, alignment, the ``errors=`` policy and the metadata file live
    here, once.

    Parameters
    ----------
    config : dataclass, optional
        Hyper-parameters (defaults of :attr:`config_cls` if omitted).
    **overrides
        Options of the configuration to change, e.g. ``GNNModel(epochs=10)``.
    """

    name: ClassVar[str] = ""
    config_cls: ClassVar[type] = type(None)
    #: Trained in epochs by :class:`sciml.train.Trainer` (so ``fit`` takes ``checkpoints``).
    trains_in_epochs: ClassVar[bool] = False
    #: Configuration fields that the CLI's ``--epochs`` sets (empty: not trained in epochs).
    epoch_fields: ClassVar[tuple[str, ...]] = ()
    #: Configuration fields that change only how a fitted model predicts (e.g. the
    #: transformer's ``precision``), so :meth:`set_inference_options` may set them after fitting.
    inference_options: ClassVar[tuple[str, ...]] = ()
    #: Class paths this class had before it moved; ``model.json`` files written then hold them.
    former_class_paths: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Any = None, **overrides: Any):
        config = self.config_cls() if config is None else config
        if not isinstance(config, self.config_cls):
            raise TypeError(
                f"config must be a {self.config_cls.__name__}, got {type(config).__name__}"
            )
        unknown = sorted(set(overrides) - set(option_sources(self.config_cls)))
        if unknown:
            valid = ", ".join(option_sources(self.config_cls))
            raise TypeError(f"{type(self).__name__} has no option(s) {unknown}; options: {valid}")
        self.config = with_options(config, **overrides)
        self.targets: list[str] = []
        self.fit_info: dict[str, Any] = {}
        self.transforms = TargetTransforms.identity([])
        self.tasks = Tasks(())
        self.conformal: ConformalScores | None = None
        self.probability_calibration: IsotonicCalibration | None = None
        self.domain: TrainingDomain | None = None

    def set_inference_options(self, **options: Any) -> MoleculeModel:
        """Change fields of :attr:`inference_options` (e.g. ``precision="bf16"``); returns self.

        Raises
        ------
        ValueError
            An option this model does not have at prediction time.
        """
        unknown = sorted(set(options) - set(self.inference_options))
        if unknown:
            have = ", ".join(self.inference_options) or "none"
            raise ValueError(
                f"{type(self).__name__} ({self.name!r}) has no inference option(s) "
                f"{', '.join(unknown)}; its inference options: {have}"
            )
        self.config = with_options(self.config, **options)
        return self

    # ----------------------------------------------------------- interface
    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`load`) has run."""
        return bool(self.targets)

    def fit(
        self,
        smiles: Sequence[object],
        y: pd.DataFrame | pd.Series,
        val_smiles: Sequence[object] | None = None,
        val_y: pd.DataFrame | pd.Series | None = None,
        *,
        errors: Errors = "raise",
        transforms: str | Mapping[str, str] | None = None,
        calibration: float | None = None,
        checkpoints: Checkpoints | None = None,
        tasks: Mapping[str, str | Task] | Tasks | None = None,
    ) -> MoleculeModel:
        """Fit on SMILES and targets.

        Parameters
        ----------
        smiles : sequence of str
            ``N`` training SMILES.
        y : DataFrame or Series
            ``(N, T)`` targets in physical units, one column per endpoint, NaN where not
            measured; rows with no label at all are dropped. A column holding only 0 and 1
            is a binary endpoint (see ``tasks``).
        val_smiles, val_y : optional
            Validation data with the same columns (early stopping / best epoch for
            neural models; ignored by the random forest).
        errors : {"raise", "skip"}
            Invalid SMILES raise :class:`~sciml.chem.smiles.InvalidSmilesError` listing
            every bad row, or are dropped (listed in ``fit_info["invalid"]``).
        transforms : str or dict, optional
            Target transforms (:mod:`sciml.chem.transforms`): one of ``"none"``, ``"log10"``,
            ``"log1p"``, ``"logit"``, ``"auto"`` for every endpoint, or endpoint -> kind.
            Fitted on the training split, stored with the model and undone at prediction,
            so predictions stay in physical units. Binary endpoints take none (``"auto"``
            leaves them as they are; any other transform named for one is an error).
        calibration : float, optional
            Hold out this fraction of the training molecules (seeded by the model's
            ``seed``), fit on the rest and store the held-out absolute errors, so that
            ``predict(interval=...)`` gives split-conformal intervals. See also
            :meth:`calibrate` for a separate calibration set.
        checkpoints : sciml.train.Checkpoints, optional
            Models trained in epochs (:attr:`trains_in_epochs`) write a checkpoint per
            epoch there and, with ``resume``, continue an interrupted fit from them.
        tasks : dict or Tasks, optional
            Endpoint -> kind (``"binary"``, ``"regression"``) or a
            :class:`~sciml.train.tasks.Task` (e.g. ``BinaryTask("herg", pos_weight=5)``),
            overriding detection; endpoints not named are detected from their labels
            (only 0 and 1: binary). A binary endpoint is predicted as ``<name>_prob`` (the
            probability of class 1) and ``<name>_class``; with ``calibration`` its
            probabilities are also calibrated (isotonic) and ``interval=`` gives conformal
            prediction sets.

        Returns
        -------
        MoleculeModel
            ``self``.
        """
        if checkpoints is not None and not self.trains_in_epochs:
            raise ValueError(
                f"model {self.name!r} does not train in epochs, so it has no "
                "checkpoints to write or resume from"
            )
        train = prepare_labelled(smiles, y, errors=errors, what="training")
        targets = [str(c) for c in _as_frame(y).columns]
        if len(set(targets)) != len(targets):
            raise ValueError(f"endpoint names must be unique, got {targets}")
        val = None
        if (val_smiles is None) != (val_y is None):
            raise ValueError("pass both val_smiles and val_y, or neither")
        if val_smiles is not None:
            val_frame = _as_frame(val_y)
            if [str(c) for c in val_frame.columns] != targets:
                raise ValueError(f"val_y has columns {list(val_frame.columns)}; expected {targets}")
            val = prepare_labelled(val_smiles, val_frame, errors=errors, what="validation")
        task_set = (
            tasks
            if isinstance(tasks, Tasks)
            else infer_tasks({t: train.y[:, j] for j, t in enumerate(targets)}, tasks)
        )
        if task_set.names != targets:
            raise ValueError(f"tasks are for {task_set.names}; the targets are {targets}")
        train = dataclasses.replace(train, y=task_set.check_labels(train.y, "training data: "))
        if val is not None:
            val = dataclasses.replace(val, y=task_set.check_labels(val.y, "validation data: "))
        _check_classes(task_set, train.y)
        check_training_targets(train.y, targets)
        transforms = _transforms_for_tasks(transforms, task_set)
        self.transforms = TargetTransforms.fit(transforms, train.y, targets, rows=train.index)
        self.tasks = task_set
        train = dataclasses.replace(train, y=self.transforms.forward(train.y))
        if val is not None:
            z = self.transforms.forward(val.y)
            bad = np.isfinite(val.y) & ~np.isfinite(z)
            if bad.any():
                raise ValueError(
                    f"validation data: {int(bad.sum())} value(s) lie outside the "
                    f"domain of the target transforms ({self.transforms.describe()})"
                )
            val = dataclasses.replace(val, y=z)
        cal = None
        if calibration is not None:
            train, cal = _split_off(train, calibration, int(getattr(self.config, "seed", 0)))
        self.targets = targets
        self.conformal = None
        self.probability_calibration = None
        self.domain = TrainingDomain.fit(train.smiles)
        self.fit_info = {
            "n_train": len(train.smiles),
            "invalid": [(b.index, b.value, b.reason) for b in train.invalid],
            "transforms": self.transforms.describe(),
            "tasks": dict(zip(targets, task_set.kinds, strict=True)),
        }
        self._fit(train, val, checkpoints)
        if cal is not None:
            self._calibrate(cal)
            self.fit_info["n_calibration"] = len(cal.smiles)
        return self

    def calibrate(
        self, smiles: Sequence[object], y: pd.DataFrame | pd.Series, *, errors: Errors = "raise"
    ) -> MoleculeModel:
        """Store conformal scores from molecules the model was not trained on.

        Parameters
        ----------
        smiles : sequence of str
            Calibration SMILES (never training molecules, or the intervals are too narrow).
        y : DataFrame or Series
            Their measured endpoints, the model's columns, NaN where not measured.
        errors : {"raise", "skip"}
            Policy for invalid SMILES.

        Returns
        -------
        MoleculeModel
            ``self``; ``predict(interval=level)`` then adds ``_lower``/``_upper`` columns.
        """
        self._check_fitted()
        frame = _as_frame(y)
        if [str(c) for c in frame.columns] != self.targets:
            raise ValueError(
                f"calibration data has columns {list(frame.columns)}; expected {self.targets}"
            )
        cal = prepare_labelled(smiles, frame, errors=errors, what="calibration")
        cal = dataclasses.replace(cal, y=self.tasks.check_labels(cal.y, "calibration data: "))
        self._calibrate(dataclasses.replace(cal, y=self.transforms.forward(cal.y)))
        return self

    def _calibrate(self, cal: LabelledSet) -> None:
        """Scores from a calibration set whose targets are already in model units.

        Regression endpoints store their absolute errors (split conformal). Binary
        endpoints split the calibration molecules in two seeded halves: the first fits an
        isotonic map of the probabilities, the second gives the conformal scores
        ``|y - p|`` (one minus the calibrated probability of the true class) of the
        calibrated probabilities, so the prediction sets keep their coverage guarantee.
        """
        pred, _ = self._predict(cal.smiles, False)
        binary = self.tasks.mask(BinaryTask)
        self.probability_calibration = None
        y = cal.y
        if binary.any():
            half = np.zeros(len(cal.smiles), dtype=bool)
            order = np.random.default_rng(int(getattr(self.config, "seed", 0))).permutation(
                len(cal.smiles)
            )
            half[order[: len(order) // 2]] = True
            names = [t for t, b in zip(self.targets, binary, strict=True) if b]
            self.probability_calibration = IsotonicCalibration.fit(
                names, y[half][:, binary], pred[half][:, binary]
            )
            pred = self._calibrated(pred)
            y = y.copy()
            y[np.ix_(half, binary)] = np.nan  # the first half fitted the map
        scale = self._difficulty(cal.smiles)
        if scale is not None and binary.any():  # normalised scores for regression only
            scale = np.array(scale, dtype=float, copy=True)
            scale[:, binary] = np.nan
        self.conformal = ConformalScores.from_residuals(self.targets, y, pred, scale=scale)

    def _calibrated(self, pred: np.ndarray) -> np.ndarray:
        """Model-unit predictions with binary probabilities mapped by the isotonic calibration."""
        if self.probability_calibration is None:
            return pred
        return self.probability_calibration.apply(self.targets, pred)

    def predict(
        self,
        smiles: Sequence[object] | pd.Series,
        *,
        errors: Errors = "raise",
        targets: Sequence[str] | None = None,
        return_std: bool = False,
        interval: float | None = None,
        domain: bool = False,
        calibrated: bool = True,
    ) -> pd.DataFrame:
        """Predict endpoints in physical units.

        Parameters
        ----------
        smiles : sequence of str or pandas.Series
            Input SMILES. A Series' index labels the output rows; otherwise rows are
            labelled by input position.
        errors : {"raise", "skip", "nan"}
            Invalid SMILES: raise :class:`~sciml.chem.smiles.InvalidSmilesError` listing
            every bad row, drop their rows, or keep them as all-NaN rows.
        targets : sequence of str, optional
            Endpoints to return (default: all fitted ones).
        return_std : bool
            Add a ``<endpoint>_std`` column per endpoint: the spread over the random
            forest's trees or the GNN ensemble's members.
        interval : float, optional
            Add ``<endpoint>_lower`` and ``<endpoint>_upper`` columns: a split-conformal
            interval of this coverage (e.g. 0.9), in physical units. Needs a model fitted
            with ``calibration=`` or calibrated with :meth:`calibrate`.
        domain : bool
            Add the applicability-domain columns ``max_tanimoto`` (similarity to the nearest
            training molecule), ``in_domain`` (see :mod:`sciml.chem.domain`; empty for
            invalid rows) and ``note`` (why a row is out of domain; multi-fragment inputs,
            which are predicted as given), and warn with :class:`DomainWarning` when any
            row is out of domain.
        calibrated : bool
            Binary endpoints of a model fitted with ``calibration=`` (or :meth:`calibrate`d):
            the isotonic-calibrated probabilities (default) or, with False, the model's raw
            ones (e.g. to draw a reliability plot of both). Prediction sets always use the
            calibrated probabilities they were scored on.

        Returns
        -------
        pandas.DataFrame
            ``(N, T)`` predictions (plus ``T`` std columns and the domain columns), index
            aligned to the input. A binary endpoint gives ``<name>_prob`` (calibrated when
            the model was fitted with ``calibration=``) and ``<name>_class`` (its class label
            at the task's threshold) instead of ``<name>``, and with ``interval`` a
            conformal prediction set ``<name>_set`` instead of ``_lower``/``_upper``; ``attrs["invalid"]`` lists ``(position, value, reason)``
            of each invalid row.

        Raises
        ------
        KeyError
            ``targets`` names an endpoint the model was not fitted on.
        NotFittedError
            The model has not been fitted.
        """
        self._check_fitted()
        if interval is not None:
            check_level(interval)
            if self.conformal is None:
                raise ValueError(
                    "this model has no conformal calibration; fit it with "
                    "calibration=0.1 (sciml fit --calibration 0.1) or call "
                    "model.calibrate(smiles, y) before asking for intervals"
                )
        columns = list(self.targets) if targets is None else [str(t) for t in targets]
        unknown = [t for t in columns if t not in self.targets]
        if unknown:
            raise KeyError(
                f"the model was not fitted on endpoint(s) {unknown}; it predicts {self.targets}"
            )
        check_errors_arg(errors)
        labels = smiles.index if isinstance(smiles, pd.Series) else None
        inputs = list(smiles)
        values, invalid, notes = self._screen(inputs)
        if invalid and errors == "raise":
            raise InvalidSmilesError(invalid, total=len(inputs))
        kept = (
            np.arange(len(inputs))
            if errors == "nan"
            else np.flatnonzero([v is not None for v in values])
        )
        canonical = [values[i] for i in kept]
        valid_rows = np.array([v is not None for v in canonical], dtype=bool)
        valid_smiles = [v for v in canonical if v is not None]
        n_tasks = len(self.targets)
        mean = np.full((len(kept), n_tasks), np.nan)
        std = np.full_like(mean, np.nan)
        lower, upper = np.full_like(mean, np.nan), np.full_like(mean, np.nan)
        if valid_smiles:
            raw, s = self._predict(valid_smiles, return_std)
            m = self._calibrated(raw)
            if interval is not None:
                width = self.conformal.halfwidths(
                    self.targets,
                    interval,
                    self._difficulty(valid_smiles) if self.conformal.normalised else None,
                )
                lower[valid_rows] = self.transforms.inverse(m - width)[0]
                upper[valid_rows] = self.transforms.inverse(m + width)[0]
            m, s = self.transforms.inverse(m if calibrated else raw, s)
            mean[valid_rows] = m
            if return_std:
                std[valid_rows] = s
        picked = [self.targets.index(t) for t in columns]
        index = labels[kept] if labels is not None else pd.Index(kept, name="row")
        # Each endpoint's task names its columns: the value for regression, the probability
        # and the class for a binary endpoint.
        frame = pd.DataFrame(
            {
                name: values
                for j in picked
                for name, values in self.tasks[j].value_columns(mean[:, j]).items()
            },
            index=index,
        )
        if return_std:
            for j, t in zip(picked, columns, strict=True):
                frame[f"{t}_std"] = std[:, j]
        if interval is not None:
            for j in picked:
                added = self.tasks[j].interval_columns(mean[:, j], lower[:, j], upper[:, j])
                for name, values in added.items():
                    frame[name] = values
            frame.attrs["interval"] = interval
        if domain:
            reasons = {b.index: f"invalid SMILES: {b.reason}" for b in invalid}
            row_notes = [reasons.get(i, notes.get(i, "")) for i in kept]
            added = domain_columns(self.domain, canonical, stacklevel=3, input_notes=row_notes)
            for name in added.columns:
                frame[name] = added[name].array
        frame.attrs["invalid"] = [(b.index, b.value, b.reason) for b in invalid]
        frame.attrs["notes"] = notes
        return frame

    def evaluate(
        self,
        smiles: Sequence[object],
        y: pd.DataFrame | pd.Series,
        *,
        errors: Errors = "raise",
        transformed: bool = False,
    ) -> pd.DataFrame:
        """Metrics per endpoint, each from its task (regression: rmse, r2, ...; binary: auroc, ...).

        Parameters
        ----------
        smiles : sequence of str
            Test molecules.
        y : DataFrame or Series
            Their labels, a subset of the model's endpoints as columns, NaN where missing.
        errors : {"raise", "skip"}
            Invalid SMILES (or molecules the model cannot read): raise, or leave them out.
        transformed : bool
            Score regression endpoints in the model's training units (after the target
            transform, as :func:`sciml.chem.tune.tune` does) instead of physical units.

        Returns
        -------
        pandas.DataFrame
            One row per endpoint: ``kind``, ``n`` (labelled molecules), ``score`` (the task's
            :attr:`~sciml.train.tasks.Task.score` metric) and every metric of its kind.
        """
        self._check_fitted()
        frame = _as_frame(y)
        names = [str(c) for c in frame.columns]
        unknown = [t for t in names if t not in self.targets]
        if unknown:
            raise KeyError(
                f"the model was not fitted on endpoint(s) {unknown}; it predicts {self.targets}"
            )
        data = prepare_labelled(smiles, frame, errors=errors, what="evaluation")
        values, invalid = self.check_inputs(data.smiles)
        if invalid and errors == "raise":
            raise InvalidSmilesError(invalid, total=len(values))
        keep = np.array([v is not None for v in values], dtype=bool)
        cols = [self.targets.index(t) for t in names]
        truth = np.full((int(keep.sum()), len(self.targets)), np.nan)
        truth[:, cols] = data.y[keep]
        truth = self.tasks.check_labels(truth, "evaluation data: ")
        pred = self._calibrated(self._predict([v for v in values if v is not None], False)[0])
        if transformed:
            truth = self.transforms.forward(truth)
        else:
            pred = self.transforms.inverse(pred)[0]
        rows = {}
        for j in cols:
            task = self.tasks[j]
            labelled = ~np.isnan(truth[:, j]) & ~np.isnan(pred[:, j])
            found = task.metrics(truth[labelled, j], pred[labelled, j]) if labelled.any() else {}
            rows[task.name] = {
                "kind": task.kind,
                "n": int(labelled.sum()),
                "score": found.get(task.score, np.nan),
                **found,
            }
        return pd.DataFrame.from_dict(rows, orient="index")

    def check_inputs(
        self, inputs: Sequence[object]
    ) -> tuple[list[str | None], list[InvalidSmiles]]:
        """Validate inputs as :meth:`predict` does, without predicting.

        Returns
        -------
        canonical : list
            Canonical SMILES per input, ``None`` where invalid.
        invalid : list of InvalidSmiles
            Every invalid row in input order: unparsable, or beyond what this model reads
            (e.g. longer than the transformer's maximum length).
        """
        values, invalid, _ = self._screen(inputs)
        return values, invalid

    def _screen(
        self, inputs: Sequence[object]
    ) -> tuple[list[str | None], list[InvalidSmiles], dict[int, str]]:
        """:meth:`check_inputs` plus the notes on changed rows (isotope labels stripped)."""
        inputs = list(inputs)
        batch = canonicalize_batch(inputs, errors="nan", isotopes=ISOTOPES)
        values = list(batch.values)
        invalid = list(batch.invalid)
        rows = [i for i, v in enumerate(values) if v is not None]
        problems = self._input_problems([values[i] for i in rows])
        for k, reason in problems.items():
            i = rows[k]
            invalid.append(InvalidSmiles(i, inputs[i], reason))
            values[i] = None
        invalid.sort(key=lambda bad: bad.index)
        return values, invalid, batch.notes

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the model into ``directory`` (created if needed); returns the folder.

        ``model.json`` is written last, so a folder with one is complete.
        """
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        extra = self._save(directory)
        import rdkit

        import sciml

        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": self.name,
            "class": class_path(self),
            "config": options_dict(self.config),
            "targets": self.targets,
            "tasks": self.tasks.to_dict(),
            "fit_info": {"n_train": self.fit_info.get("n_train")},
            "transforms": self.transforms.to_dict(),
            "conformal": None if self.conformal is None else self.conformal.to_dict(),
            "probability_calibration": (
                None
                if self.probability_calibration is None
                else self.probability_calibration.to_dict()
            ),
            "versions": {"sciml": sciml.__version__, "rdkit": rdkit.__version__},
            "extra": extra,
        }
        if self.domain is not None:
            meta["domain"] = self.domain.save(directory)
        with atomic_write(directory / META_FILE, "w") as handle:
            json.dump(meta, handle, indent=2)
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> MoleculeModel:
        """Rebuild a model saved by :meth:`save`.

        Raises
        ------
        CheckpointError
            The folder holds another kind of model, or is not a sciml model.
        """
        meta = read_meta(directory)
        if meta.get("class") not in (class_path(cls), *cls.former_class_paths):
            raise CheckpointError(
                f"{directory} holds {meta.get('class')} ({meta.get('model')!r}), this loader "
                f"expects {class_path(cls)} ({cls.name!r})"
            )
        model = cls(
            config_from_options(cls.config_cls, meta.get("config"), Path(directory) / META_FILE)
        )
        targets = meta.get("targets")
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise CheckpointError(f"{directory}: 'targets' in {META_FILE} is not a list of names")
        model.targets = list(targets)
        model.fit_info = dict(meta.get("fit_info", {}))
        try:  # models saved before tasks existed predict regression endpoints only
            model.tasks = (
                Tasks.regression(model.targets)
                if meta.get("tasks") is None
                else Tasks.from_dict(meta["tasks"], str(Path(directory) / META_FILE))
            )
        except ValueError as exc:
            raise CheckpointError(str(exc)) from exc
        if model.tasks.names != model.targets:
            raise CheckpointError(
                f"{directory}: tasks are for {model.tasks.names}, the model "
                f"predicts {model.targets}"
            )
        if meta.get("probability_calibration") is not None:
            try:
                model.probability_calibration = IsotonicCalibration.from_dict(
                    meta["probability_calibration"], str(directory)
                )
            except ValueError as exc:
                raise CheckpointError(str(exc)) from exc
        stored = meta.get("transforms")
        try:
            model.transforms = (
                TargetTransforms.identity(model.targets)
                if stored is None
                else TargetTransforms.from_dict(stored, str(directory))
            )
        except ValueError as exc:
            raise CheckpointError(str(exc)) from exc
        if meta.get("conformal") is not None:
            try:
                model.conformal = ConformalScores.from_dict(meta["conformal"], str(directory))
            except ValueError as exc:
                raise CheckpointError(str(exc)) from exc
            if sorted(model.conformal.scores) != sorted(model.targets):
                raise CheckpointError(f"{directory}: conformal scores do not match the endpoints")
        if model.transforms.targets != model.targets:
            raise CheckpointError(
                f"{directory}: target transforms are for "
                f"{model.transforms.targets}, the model predicts {model.targets}"
            )
        model._load(Path(directory), meta.get("extra", {}))
        if "domain" in meta:  # models saved before sciml stored one have none
            model.domain = TrainingDomain.load(directory, meta["domain"])
        return model

    # ------------------------------------------------------- subclass hooks
    def _fit(
        self, train: LabelledSet, val: LabelledSet | None, checkpoints: Checkpoints | None = None
    ) -> None:
        raise NotImplementedError

    def _predict(self, smiles: list[str], return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Means ``(n, T)`` (and spreads ``(n, T)`` if ``return_std``) for canonical SMILES."""
        raise NotImplementedError

    def _difficulty(self, smiles: list[str]) -> np.ndarray | None:
        """``(n, T)`` per-molecule difficulty (model units) for normalised conformal scores.

        None (the default): intervals have one width per endpoint. A model with a natural
        spread (a stack's members) returns it, and its intervals widen where it is large.
        """
        return None

    def _input_problems(self, smiles: list[str]) -> dict[int, str]:
        """Reasons, by position in ``smiles`` (canonical), why this model cannot read some.

        The default accepts every valid molecule; a model with limits (the transformer's
        maximum length) names the rows it cannot take, which then follow ``errors=``.
        """
        return {}

    def _save(self, directory: Path) -> dict[str, Any]:
        """Write the weights; return JSON-able extras stored in ``model.json``."""
        raise NotImplementedError

    def _load(self, directory: Path, extra: dict[str, Any]) -> None:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() or load() first")

    def __repr__(self) -> str:
        state = f"targets={self.targets}" if self.is_fitted else "not fitted"
        return f"{type(self).__name__}({self.config}, {state})"
