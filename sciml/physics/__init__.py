"""Physics: reference PDE solvers and operator-learning data sets.

The modules follow the data pipeline; import from them directly:

- :mod:`sciml.physics.geometry` -- DeepXDE geometries, named shapes, rasterised masks;
- :mod:`sciml.physics.grf` -- Gaussian random fields for inputs and coefficients;
- :mod:`sciml.physics.fisher` -- 1-D Fisher-KPP reaction-diffusion with source families;
- :mod:`sciml.physics.darcy` -- 2-D Darcy flow on masked geometries and the FNO benchmark;
- :mod:`sciml.physics.heat` -- 3-D steady heat conduction in a plate with holes;
- :mod:`sciml.physics.storage` -- compressed netCDF files of the generated data sets;
- :mod:`sciml.physics.plot` -- figures of samples;
- :mod:`sciml.physics.errors` -- the exceptions raised for bad input and failed solves.

This package file imports nothing heavy so that ``sciml --help`` stays fast.
"""

__all__ = ["darcy", "errors", "fisher", "geometry", "grf", "heat", "plot", "storage"]
