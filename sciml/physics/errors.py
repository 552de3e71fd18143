"""Exceptions raised by the physics data layer.

They subclass the built-in exceptions a caller would already catch (``ValueError`` for bad
input, ``RuntimeError`` for a numerical failure), so the CLI can report them as plain errors.
"""

from __future__ import annotations

__all__ = ["GeometryError", "OutOfDomainWarning", "ResolutionError", "SolverError"]


class GeometryError(ValueError):
    """A geometry is degenerate: empty mask, a hole larger than the domain, bad vertices."""


class ResolutionError(GeometryError):
    """A grid is too coarse to represent a geometry (parts or holes vanish when rasterised)."""


class SolverError(RuntimeError):
    """A reference solver failed: the integrator or iterative solver did not converge."""


class OutOfDomainWarning(UserWarning):
    """Inputs lie outside the range a model was trained on; its predictions extrapolate."""
