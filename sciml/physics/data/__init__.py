"""Data stage: geometries, random fields, finite differences, storage, parallel generation.

- :mod:`~sciml.physics.data.geometry` -- DeepXDE geometries, named shapes, rasterised masks;
- :mod:`~sciml.physics.data.grf` -- Gaussian random fields for inputs and coefficients;
- :mod:`~sciml.physics.data.storage` -- compressed netCDF files of the generated data sets;
- ``_fd`` and ``_parallel`` -- finite-difference operators and seeded parallel sampling.
"""

__all__ = ["geometry", "grf", "storage"]
