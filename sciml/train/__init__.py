"""The common multi-output Trainer, objectives, loss weighting and checkpoints.

Public API
----------
- :class:`Trainer`, :class:`TrainConfig`, :class:`NonFiniteLossError`,
  :class:`TimeBudgetReached`; :class:`Checkpoints` (per-epoch checkpoints of a command)
- objectives: :class:`Objective`, :class:`MultiTaskRegression`, :class:`TokenCrossEntropy`,
  :class:`Combined`, :class:`HLGauss`, :func:`masked_task_mean`
- weighting: :class:`EqualWeighting`, :class:`StaticWeighting`,
  :class:`UncertaintyWeighting`, :class:`DWAWeighting`, :class:`ReLoBRaLoWeighting`
- label kinds (:mod:`sciml.train.tasks`): :class:`Task`, :class:`RegressionTask`,
  :class:`BinaryTask`, :class:`Tasks`, :func:`infer_tasks`
- :class:`Standardizer`, :func:`masked_moments`; data: :class:`ArrayDataset`, :class:`RegressionMLP`
- checkpoints: :func:`save_checkpoint`, :func:`load_checkpoint`, :func:`load_model`, :func:`register_model`,
  :class:`CheckpointError`
"""

from sciml.train.checkpoint import (
    CheckpointError,
    dataclass_from_dict,
    load_checkpoint,
    load_model,
    rebuild_model,
    register_model,
    registered_models,
    save_checkpoint,
)
from sciml.train.data import ArrayDataset, RegressionMLP
from sciml.train.device import autocast, default_device, seed_everything
from sciml.train.losses import (
    ELEMENTWISE_LOSSES,
    Combined,
    HLGauss,
    MultiTaskObjective,
    MultiTaskRegression,
    Objective,
    TokenCrossEntropy,
    masked_task_mean,
)
from sciml.train.normalize import Standardizer, masked_moments
from sciml.train.resume import Checkpoints
from sciml.train.tasks import BinaryTask, RegressionTask, Task, Tasks, infer_tasks
from sciml.train.trainer import NonFiniteLossError, TimeBudgetReached, TrainConfig, Trainer
from sciml.train.weighting import (
    WEIGHTINGS,
    DWAWeighting,
    EqualWeighting,
    LossWeighting,
    ReLoBRaLoWeighting,
    StaticWeighting,
    UncertaintyWeighting,
)

__all__ = [
    "ELEMENTWISE_LOSSES",
    "WEIGHTINGS",
    "ArrayDataset",
    "BinaryTask",
    "CheckpointError",
    "Checkpoints",
    "Combined",
    "DWAWeighting",
    "EqualWeighting",
    "HLGauss",
    "LossWeighting",
    "ReLoBRaLoWeighting",
    "MultiTaskObjective",
    "MultiTaskRegression",
    "NonFiniteLossError",
    "Objective",
    "RegressionMLP",
    "RegressionTask",
    "StaticWeighting",
    "Standardizer",
    "TimeBudgetReached",
    "TokenCrossEntropy",
    "TrainConfig",
    "Task",
    "Tasks",
    "Trainer",
    "UncertaintyWeighting",
    "autocast",
    "default_device",
    "load_checkpoint",
    "dataclass_from_dict",
    "load_model",
    "masked_moments",
    "masked_task_mean",
    "rebuild_model",
    "register_model",
    "registered_models",
    "infer_tasks",
    "save_checkpoint",
    "seed_everything",
]
