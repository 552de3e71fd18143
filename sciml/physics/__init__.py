"""Physics: reference PDE solvers, operator-learning data sets and operator networks.

Laid out by stage; import from the modules directly:

- :mod:`sciml.physics.data` -- geometries and masks, random fields, finite differences,
  netCDF storage, seeded parallel generation;
- :mod:`sciml.physics.problems` -- one :class:`~sciml.physics.problems.base.Problem` per PDE
  (Fisher-KPP, Darcy, FNO Darcy, 3-D heat) with its solver, generator, model inputs, mask,
  residual, default network and plot; ``get_problem(name)`` is the one name lookup;
- :mod:`sciml.physics.operator` -- DeepONets, exact batched derivatives, residual hooks,
  pure PINN and inverse problems;
- :mod:`sciml.physics.predictor` -- trained networks on new inputs, in physical units, with
  an applicability-domain flag;
- :mod:`sciml.physics.any_shape` -- the shipped Darcy operator for any 2-D shape
  (``sciml pde predict --model darcy-any-shape``), its out-of-domain check and
  physics-only adaptation;
- :mod:`sciml.physics.plot` -- figures of samples; :mod:`sciml.physics.errors` -- exceptions.

The modules of the flat layout (``sciml.physics.fisher``, ``.darcy``, ``.geometry``,
``.deeponet``, ``.pinn``, ...) remain importable. This package file imports nothing heavy so
that ``sciml --help`` stays fast.
"""

__all__ = ["any_shape", "data", "errors", "operator", "plot", "predictor", "problems"]
