"""Old import path of the operator data sets; new code asks the Problem.

:class:`OperatorDataset` and :func:`fit_scalers` live in :mod:`sciml.physics.operator.data`;
``fisher_dataset(ds)`` is ``FisherProblem().dataset(ds)``, and so on.
"""

from __future__ import annotations

import warnings

from sciml.physics.operator.data import OperatorDataset, fit_scalers
from sciml.physics.problems.darcy import DarcyProblem
from sciml.physics.problems.fisher import FisherProblem
from sciml.physics.problems.heat import HEAT_DESIGN_FEATURES, HeatProblem, heat_design_vector

__all__ = [
    "OperatorDataset",
    "fisher_dataset",
    "darcy_dataset",
    "heat_dataset",
    "heat_design_vector",
    "fit_scalers",
    "HEAT_DESIGN_FEATURES",
]


def fisher_dataset(ds, indices=None) -> OperatorDataset:
    """Fisher-KPP samples (:meth:`FisherProblem.dataset`)."""
    return FisherProblem().dataset(ds, indices)


def darcy_dataset(ds, indices=None) -> OperatorDataset:
    """Darcy samples, any geometry or the FNO benchmark (:meth:`DarcyProblem.dataset`)."""
    return DarcyProblem().dataset(ds, indices)


def heat_dataset(ds, indices=None) -> OperatorDataset:
    """3-D heat samples (:meth:`HeatProblem.dataset`)."""
    return HeatProblem().dataset(ds, indices)


warnings.warn(
    "sciml.physics.operator_data is deprecated and will be removed in the next release; "
    "import from sciml.physics.operator.data and the Problem objects (get_problem(name).dataset) instead",
    DeprecationWarning,
    stacklevel=2,
)
