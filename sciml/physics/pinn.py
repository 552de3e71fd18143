"""Physics-informed DeepONet training; split by concern into :mod:`sciml.physics.operator`.

This module keeps the old import path working. New code imports from
:mod:`~sciml.physics.operator.derivatives` (exact batched trunk derivatives),
:mod:`~sciml.physics.operator.residuals` (PDE residuals, BC/IC hooks),
:mod:`~sciml.physics.operator.pinn` (pure PINN solving) and
:mod:`~sciml.physics.operator.inverse` (inverse problems).
"""

import warnings

from sciml.physics.operator.derivatives import field_derivatives, trunk_derivatives
from sciml.physics.operator.inverse import FisherInverseDeepONet, InverseResult, fit_fisher_inverse
from sciml.physics.operator.pinn import solve_fisher_pinn
from sciml.physics.operator.residuals import (
    DarcyResidual,
    FisherResidual,
    PhysicsOnly,
    fisher_residual,
)

__all__ = [
    "trunk_derivatives",
    "field_derivatives",
    "fisher_residual",
    "FisherResidual",
    "DarcyResidual",
    "PhysicsOnly",
    "FisherInverseDeepONet",
    "InverseResult",
    "solve_fisher_pinn",
    "fit_fisher_inverse",
]

warnings.warn(
    "sciml.physics.pinn is deprecated and will be removed in the next release; "
    "import from sciml.physics.operator (derivatives, residuals, pinn, inverse) instead",
    DeprecationWarning,
    stacklevel=2,
)
