"""Label kinds: a task object per endpoint owns its labels, loss, metrics and decoding.

Endpoints have kinds the way PDEs have problems. :class:`RegressionTask` is a number in
physical units; :class:`BinaryTask` a yes/no label (hERG block, Ames, Tox21 assays). Each
task owns what would otherwise be ``if kind == "binary"`` scattered over the models:

- :meth:`Task.check_labels`: which values a label column may hold (a binary column holds
  two distinct values, mapped to 0/1 and named; NaN is a missing label);
- :attr:`Task.allows_transforms`: whether target transforms (log10, ...) apply;
- :meth:`Task.loss_values` and :meth:`Task.decode_output`: the unreduced training loss of
  a network output and the map from output to model units (sigmoid for binary);
- :attr:`Task.standardized`: whether networks see the label z-scored;
- :meth:`Task.metrics` and :attr:`Task.score`: the validation metrics and the one a tuner
  maximises;
- :meth:`Task.value_columns` and :meth:`Task.interval_columns`: the columns ``predict``
  writes.

"Model units" are what models predict internally: the transformed value for regression,
the probability of class 1 for binary. :class:`Tasks` is the ordered collection a model
stores, with :func:`infer_tasks` to detect kinds from label columns.

Examples
--------
>>> import numpy as np
>>> tasks = infer_tasks({"logS": np.array([-2.1, -3.0, 0.4]), "herg": np.array([0, 1, 1.0])})
>>> tasks.kinds
['regression', 'binary']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "TASK_KINDS",
    "BinaryTask",
    "RegressionTask",
    "Task",
    "Tasks",
    "infer_tasks",
    "parse_task_options",
]


@dataclass(frozen=True)
class Task:
    """One endpoint's kind. Subclasses are frozen dataclasses registered in :data:`TASK_KINDS`.

    Attributes
    ----------
    name : str
        The endpoint (column) name.
    """

    name: str
    kind: ClassVar[str] = ""
    allows_transforms: ClassVar[bool] = True
    standardized: ClassVar[bool] = True
    #: The metric a tuner maximises and ``Trainer.evaluate`` reports first.
    score: ClassVar[str] = ""

    def check_labels(self, values: np.ndarray, where: str = "") -> np.ndarray:
        """``(N,)`` labels in model form (float, NaN = missing), or ValueError naming rows."""
        return np.asarray(values, dtype=np.float64)

    def loss_values(
        self, output: torch.Tensor, target: torch.Tensor, loss: str = "mse"
    ) -> torch.Tensor:
        """Unreduced loss of network ``output`` against ``target`` (same shape; NaN-free)."""
        raise NotImplementedError

    def decode_output(self, output: torch.Tensor) -> torch.Tensor:
        """Network output to model units (identity for regression)."""
        return output

    def sample_weight(self, labels: np.ndarray) -> np.ndarray | None:
        """Per-molecule training weights of ``(N,)`` labels for tree models (None: equal)."""
        return None

    def lightgbm_params(self) -> dict[str, Any]:
        """LightGBM's objective (and its options) for this kind of label."""
        return {"objective": "regression"}

    def catboost_params(self) -> dict[str, Any]:
        """CatBoost's loss function (and its options) for this kind of label."""
        return {"loss_function": "RMSE"}

    def metrics(self, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        """Metrics of ``(N,)`` labels against ``(N,)`` predictions in model units."""
        raise NotImplementedError

    def value_columns(self, pred: np.ndarray) -> dict[str, np.ndarray]:
        """Prediction columns from ``(N,)`` predictions in physical units."""
        return {self.name: pred}

    def interval_columns(
        self, pred: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Uncertainty columns from a conformal band ``[lower, upper]`` around ``pred``."""
        return {f"{self.name}_lower": lower, f"{self.name}_upper": upper}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (kind plus fields), inverse of :meth:`Tasks.from_dict`."""
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class RegressionTask(Task):
    """A real-valued endpoint in physical units (the default kind)."""

    kind: ClassVar[str] = "regression"
    score: ClassVar[str] = "r2"

    def check_labels(self, values: np.ndarray, where: str = "") -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        infinite = np.flatnonzero(np.isinf(values))
        if infinite.size:
            rows = ", ".join(str(i) for i in infinite[:10])
            raise ValueError(
                f"{where}endpoint {self.name!r} has inf at row(s) {rows}; "
                "use an empty cell for a missing label"
            )
        return values

    def loss_values(
        self, output: torch.Tensor, target: torch.Tensor, loss: str = "mse"
    ) -> torch.Tensor:
        from sciml.train.losses import ELEMENTWISE_LOSSES

        return ELEMENTWISE_LOSSES[loss](output, target)

    def metrics(self, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        from sciml import metrics

        return {
            name: float(getattr(metrics, name)(y, pred, reduce="mean"))
            for name in ("rmse", "mae", "r2", "pearson")
        }


@dataclass(frozen=True)
class BinaryTask(Task):
    """A yes/no endpoint: labels 0/1, predictions are probabilities of class 1.

    Attributes
    ----------
    classes : tuple of str
        What 0 and 1 stand for in the user's data (e.g. ``("inactive", "active")`` or
        ``("0", "1")``); ``predict`` writes these in ``<name>_class``.
    pos_weight : float or None
        Weight of positive labels in the loss (e.g. ``n_negative / n_positive`` for a rare
        class; None: 1). Class-weighted training shifts probabilities, so calibrate
        (``calibration=``) when the probabilities matter.
    focal_gamma : float
        Focal-loss focusing parameter (Lin et al. 2017; 0: plain binary cross-entropy).
    threshold : float
        Probability at or above which ``<name>_class`` is class 1.
    """

    classes: tuple[str, str] = ("0", "1")
    pos_weight: float | None = None
    focal_gamma: float = 0.0
    threshold: float = 0.5

    kind: ClassVar[str] = "binary"
    allows_transforms: ClassVar[bool] = False
    standardized: ClassVar[bool] = False
    score: ClassVar[str] = "auroc"

    def __post_init__(self):
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        if len(self.classes) != 2 or self.classes[0] == self.classes[1]:
            raise ValueError(
                f"binary task {self.name!r}: classes must be two distinct "
                f"labels, got {self.classes!r}"
            )
        if self.pos_weight is not None and not (
            isinstance(self.pos_weight, int | float) and self.pos_weight > 0
        ):
            raise ValueError(
                f"binary task {self.name!r}: pos_weight must be positive, got {self.pos_weight!r}"
            )
        if not isinstance(self.focal_gamma, int | float) or self.focal_gamma < 0:
            raise ValueError(
                f"binary task {self.name!r}: focal_gamma must be >= 0, got {self.focal_gamma!r}"
            )
        if not isinstance(self.threshold, int | float) or not 0.0 < self.threshold < 1.0:
            raise ValueError(
                f"binary task {self.name!r}: threshold must lie in (0, 1), got {self.threshold!r}"
            )

    def check_labels(self, values: np.ndarray, where: str = "") -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        bad = np.flatnonzero(~np.isnan(values) & ~np.isin(values, (0.0, 1.0)))
        if bad.size:
            shown = ", ".join(f"row {i}: {values[i]:g}" for i in bad[:10])
            raise ValueError(
                f"{where}binary endpoint {self.name!r} holds values other than "
                f"0 and 1 ({shown}); declare it a regression endpoint "
                f"(--task {self.name}=regression) if it is a number"
            )
        return values

    def loss_values(
        self, output: torch.Tensor, target: torch.Tensor, loss: str = "mse"
    ) -> torch.Tensor:
        weight = (
            None
            if self.pos_weight is None
            else torch.as_tensor(self.pos_weight, dtype=output.dtype, device=output.device)
        )
        values = F.binary_cross_entropy_with_logits(
            output, target, reduction="none", pos_weight=weight
        )
        if self.focal_gamma:
            prob = torch.sigmoid(output)
            p_true = torch.where(target > 0.5, prob, 1 - prob)
            values = values * (1 - p_true).pow(self.focal_gamma)
        return values

    def decode_output(self, output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output)

    def sample_weight(self, labels: np.ndarray) -> np.ndarray | None:
        if self.pos_weight is None:
            return None
        return np.where(np.asarray(labels) > 0.5, float(self.pos_weight), 1.0)

    def lightgbm_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"objective": "binary"}
        if self.pos_weight is not None:
            params["scale_pos_weight"] = float(self.pos_weight)
        return params

    def catboost_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"loss_function": "Logloss"}
        if self.pos_weight is not None:
            params["scale_pos_weight"] = float(self.pos_weight)
        return params

    def metrics(self, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        from sciml.metrics import classification as cls

        return {
            name: float(getattr(cls, name)(y, pred, reduce="mean"))
            for name in ("auroc", "auprc", "balanced_accuracy", "log_loss", "brier", "ece")
        }

    def value_columns(self, pred: np.ndarray) -> dict[str, np.ndarray]:
        return {f"{self.name}_prob": pred, f"{self.name}_class": self.label_of(pred)}

    def interval_columns(
        self, pred: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The conformal prediction set of each molecule, as text.

        Class 1 where ``1 - p <= q`` (``upper >= 1``) and class 0 where ``p <= q``
        (``lower <= 0``), ``q`` the score quantile; written as ``{inactive, active}``-style
        text (``{}``: neither class conforms).
        """
        out = np.empty(len(pred), dtype=object)
        for i, (p, lo, hi) in enumerate(zip(pred, lower, upper, strict=True)):
            if np.isnan(p):
                out[i] = None
                continue
            members = [
                c for c, keep in zip(self.classes, (lo <= 0.0, hi >= 1.0), strict=True) if keep
            ]
            out[i] = "{" + ", ".join(members) + "}"
        return {f"{self.name}_set": out}

    def label_of(self, prob: np.ndarray) -> np.ndarray:
        """The user's class label (:attr:`classes`) at :attr:`threshold`; None where NaN."""
        prob = np.asarray(prob, dtype=np.float64)
        out = np.where(prob >= self.threshold, self.classes[1], self.classes[0]).astype(object)
        out[np.isnan(prob)] = None
        return out


#: Task classes by kind name (the CLI's ``--task NAME=KIND``).
TASK_KINDS: dict[str, type[Task]] = {"regression": RegressionTask, "binary": BinaryTask}


@dataclass(frozen=True)
class Tasks:
    """The tasks of a model, one per endpoint, in column order.

    Attributes
    ----------
    tasks : tuple of Task
    """

    tasks: tuple[Task, ...]

    @classmethod
    def regression(cls, names: Sequence[str]) -> Tasks:
        """Every endpoint a regression (what models saved before tasks existed predict)."""
        return cls(tuple(RegressionTask(str(n)) for n in names))

    @property
    def names(self) -> list[str]:
        """Endpoint names."""
        return [t.name for t in self.tasks]

    @property
    def kinds(self) -> list[str]:
        """Kind name of each endpoint."""
        return [t.kind for t in self.tasks]

    @property
    def is_regression(self) -> bool:
        """Whether every endpoint is a regression."""
        return all(isinstance(t, RegressionTask) for t in self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self):
        return iter(self.tasks)

    def __getitem__(self, key: int | str) -> Task:
        if isinstance(key, str):
            for task in self.tasks:
                if task.name == key:
                    return task
            raise KeyError(f"no endpoint {key!r}; endpoints are {self.names}")
        return self.tasks[key]

    def mask(self, kind: type[Task]) -> np.ndarray:
        """``(T,)`` bool: which endpoints are of ``kind``."""
        return np.array([isinstance(t, kind) for t in self.tasks], dtype=bool)

    def check_labels(self, y: np.ndarray, where: str = "") -> np.ndarray:
        """``(N, T)`` labels checked (and mapped) by each task."""
        y = np.array(y, dtype=np.float64, copy=True)
        for j, task in enumerate(self.tasks):
            y[:, j] = task.check_labels(y[:, j], where)
        return y

    def metrics(self, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        """Macro-averaged metrics per kind over the endpoints of that kind.

        Returns ``{metric: mean over endpoints}`` for every metric of every kind present
        (e.g. rmse, r2 for regression endpoints and auroc, auprc for binary ones).
        """
        y = np.asarray(y, dtype=np.float64).reshape(-1, len(self.tasks))
        pred = np.asarray(pred, dtype=np.float64).reshape(-1, len(self.tasks))
        per_metric: dict[str, list[float]] = {}
        for j, task in enumerate(self.tasks):
            keep = ~np.isnan(y[:, j]) & ~np.isnan(pred[:, j])
            if not keep.any():
                continue
            for key, value in task.metrics(y[keep, j], pred[keep, j]).items():
                per_metric.setdefault(key, []).append(value)
        return {
            key: float(np.nanmean(v)) if not np.isnan(v).all() else math.nan
            for key, v in per_metric.items()
        }

    def with_threshold(self, threshold: float) -> Tasks:
        """The same tasks with every binary endpoint's class threshold set to ``threshold``."""
        from dataclasses import fields, replace

        return Tasks(
            tuple(
                replace(t, threshold=threshold) if "threshold" in {f.name for f in fields(t)} else t
                for t in self.tasks
            )
        )

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-able list of task dictionaries."""
        return [t.to_dict() for t in self.tasks]

    @classmethod
    def from_dict(cls, data: Any, source: str = "model.json") -> Tasks:
        """Rebuild from :meth:`to_dict`; unknown kinds or fields raise ValueError."""
        if not isinstance(data, list):
            raise ValueError(f"{source}: 'tasks' must be a list, got {type(data).__name__}")
        tasks = []
        for item in data:
            if not isinstance(item, Mapping) or item.get("kind") not in TASK_KINDS:
                raise ValueError(
                    f"{source}: unknown task entry {item!r}; kinds are {', '.join(TASK_KINDS)}"
                )
            fields = {k: v for k, v in item.items() if k != "kind"}
            if isinstance(fields.get("classes"), list):
                fields["classes"] = tuple(fields["classes"])
            try:
                tasks.append(TASK_KINDS[item["kind"]](**fields))
            except TypeError as exc:
                raise ValueError(f"{source}: task {item!r} is malformed ({exc})") from exc
        return cls(tuple(tasks))


def _is_binary(values: np.ndarray) -> bool:
    labels = np.unique(values[~np.isnan(values)])
    return labels.size == 2 and set(labels.tolist()) == {0.0, 1.0}


def infer_tasks(
    columns: Mapping[str, np.ndarray],
    kinds: Mapping[str, str | Task] | None = None,
    *,
    classes: Mapping[str, tuple[str, str]] | None = None,
) -> Tasks:
    """Detect each endpoint's kind: a column holding only 0 and 1 (both) is binary.

    Parameters
    ----------
    columns : mapping
        Endpoint name -> ``(N,)`` numeric labels (NaN = missing).
    kinds : mapping, optional
        Endpoint -> kind name (``"binary"``, ``"regression"``) or a :class:`Task`, overriding
        detection (e.g. a 0/1 count that is really a number).
    classes : mapping, optional
        Endpoint -> the text labels that 0 and 1 stood for in the user's file (see
        :func:`sciml.chem.datasets.load_csv`); such an endpoint is binary.

    Raises
    ------
    ValueError
        ``kinds`` names an unknown endpoint or kind.
    """
    kinds = dict(kinds or {})
    unknown = sorted(set(kinds) - set(columns))
    if unknown:
        raise ValueError(
            f"task kind given for unknown endpoint(s) {unknown}; endpoints are {list(columns)}"
        )
    tasks = []
    for name, values in columns.items():
        given = kinds.get(name)
        if isinstance(given, Task):
            tasks.append(
                given if given.name == name else type(given)(**{**asdict(given), "name": name})
            )
            continue
        if given is not None and given not in TASK_KINDS:
            raise ValueError(
                f"unknown task kind {given!r} for {name!r}; kinds are {', '.join(TASK_KINDS)}"
            )
        named = (classes or {}).get(name)
        if named is not None:
            if given not in (None, "binary"):
                raise ValueError(
                    f"endpoint {name!r} holds the text labels {named}; it can "
                    f"only be binary, not {given}"
                )
            tasks.append(BinaryTask(str(name), classes=tuple(named)))
            continue
        kind = given or (
            "binary" if _is_binary(np.asarray(values, dtype=np.float64)) else "regression"
        )
        tasks.append(TASK_KINDS[kind](str(name)))
    return Tasks(tuple(tasks))


def parse_task_options(items: Sequence[str]) -> dict[str, str]:
    """CLI ``--task NAME=KIND`` items to ``{name: kind}``, checking the kinds."""
    out = {}
    for item in items:
        name, sep, kind = str(item).partition("=")
        if not sep or not name.strip() or kind.strip() not in TASK_KINDS:
            raise ValueError(
                f"--task expects NAME=KIND with KIND one of {', '.join(TASK_KINDS)}, got {item!r}"
            )
        out[name.strip()] = kind.strip()
    return out
