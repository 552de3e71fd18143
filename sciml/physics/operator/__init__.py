"""Operator learning: networks, derivatives, equation losses, inverse problems, prediction.

- :mod:`~sciml.physics.operator.networks` -- DeepONet / MT-DeepONet and the field loss;
- :mod:`~sciml.physics.operator.data` -- :class:`OperatorDataset` and mask-aware scalers;
- :mod:`~sciml.physics.operator.derivatives` -- exact batched trunk derivatives;
- :mod:`~sciml.physics.operator.residuals` -- PDE residuals and BC/IC terms as Trainer hooks;
- :mod:`~sciml.physics.operator.pinn` -- pure PINN solving of one instance;
- :mod:`~sciml.physics.operator.inverse` -- learning PDE parameters from observations;
- :mod:`~sciml.physics.operator.predictor` -- trained models on new inputs, physical units.
"""

__all__ = ["data", "derivatives", "inverse", "networks", "pinn", "predictor", "residuals"]
