"""Physics: reference PDE solvers and operator-learning data sets.

The modules follow the data pipeline; import from them directly:

- :mod:`sciml.physics.data.geometry` -- DeepXDE geometries, named shapes, rasterised masks;
- :mod:`sciml.physics.data.grf` -- Gaussian random fields for inputs and coefficients;
- :mod:`sciml.physics.problems.fisher` -- 1-D Fisher-KPP reaction-diffusion with source families;
- :mod:`sciml.physics.problems.darcy` -- 2-D Darcy flow on masked geometries and the FNO benchmark;
- :mod:`sciml.physics.problems.heat` -- 3-D steady heat conduction in a plate with holes;
- :mod:`sciml.physics.data.storage` -- compressed netCDF files of the generated data sets;
- :mod:`sciml.physics.plot` -- figures of samples;
- :mod:`sciml.physics.errors` -- the exceptions raised for bad input and failed solves.

This package file imports nothing heavy so that ``sciml --help`` stays fast.
"""

__all__ = ["darcy", "errors", "fisher", "geometry", "grf", "heat", "plot", "storage"]
