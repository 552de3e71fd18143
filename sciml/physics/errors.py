"""Exceptions raised by the physics data layer.

They subclass the built-in exceptions a caller would already catch (``ValueError`` for bad
input, ``RuntimeError`` for a numerical failure), so the CLI can report them as plain errors.
"""

from __future__ import annotations

__all__ = [
    "GeometryError",
    "NonFiniteOutputError",
    "OutOfDomainWarning",
    "ResolutionError",
    "SolverError",
    "check_finite_output",
]


class GeometryError(ValueError):
    """A geometry is degenerate: empty mask, a hole larger than the domain, bad vertices."""


class ResolutionError(GeometryError):
    """A grid is too coarse to represent a geometry (parts or holes vanish when rasterised)."""


class SolverError(RuntimeError):
    """A reference solver failed: the integrator or iterative solver did not converge."""


class OutOfDomainWarning(UserWarning):
    """Inputs lie outside the range a model was trained on; its predictions extrapolate."""


class NonFiniteOutputError(RuntimeError):
    """A network returned NaN or infinite values (broken weights or overflow), never passed on."""


def check_finite_output(values, what: str = "the network") -> None:
    """Raise :class:`NonFiniteOutputError` naming how many values of ``values`` are not finite.

    Parameters
    ----------
    values : array-like
        Raw network output, any shape; the first bad entry's index is reported.
    what : str
        What produced the values, for the message.
    """
    import numpy as np

    values = np.asarray(values)
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise NonFiniteOutputError(
            f"{what} returned {int(bad.sum())} NaN or infinite value(s) of {values.size} (the "
            f"first at index {first}); the weights are broken or the computation overflowed, "
            "so no prediction is returned"
        )
