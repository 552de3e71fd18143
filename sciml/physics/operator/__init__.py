"""Operator learning: networks, derivatives, equation losses, inverse problems.

- :mod:`~sciml.physics.operator.networks` -- DeepONet / MT-DeepONet and the field loss;
- :mod:`~sciml.physics.operator.data` -- :class:`OperatorDataset` and mask-aware scalers;
- :mod:`~sciml.physics.operator.derivatives` -- exact batched trunk derivatives;
- :mod:`~sciml.physics.operator.residuals` -- PDE residuals and BC/IC terms as Trainer hooks;
- :mod:`~sciml.physics.operator.pinn` -- pure PINN solving of one instance;
- :mod:`~sciml.physics.operator.inverse` -- learning PDE parameters from observations;
- :mod:`~sciml.physics.operator.grid` -- grid operators (U-Net, FNO) that read the geometry
  as input channels, for any shape;
- :mod:`~sciml.physics.operator.peers` -- other libraries' operators (neuraloperator's FNO)
  wrapped for sciml's Trainer and checkpoints.

Prediction with a trained network needs the Problem of its data, so it sits one floor up, in
:mod:`sciml.physics.predictor`.
"""

__all__ = [
    "data",
    "derivatives",
    "grid",
    "inverse",
    "networks",
    "peers",
    "pinn",
    "residuals",
]
