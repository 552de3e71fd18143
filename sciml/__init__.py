"""sciml: scientific machine learning on molecules and physics.

Three model families share one multi-output :class:`sciml.train.Trainer` and one
metrics module (:mod:`sciml.metrics`):

- :mod:`sciml.chem` -- molecular data, baselines and property transformers with
  domain adaptation;
- :mod:`sciml.rt` -- the Regression Transformer (regression as sequence modelling);
- :mod:`sciml.physics` -- PDE reference solvers and multi-task DeepONets with PINN losses.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
