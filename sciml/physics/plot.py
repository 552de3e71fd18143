"""Figures of generated PDE samples.

:func:`plot_sample` draws a sample with the plot of its Problem; :func:`plot_field`,
:func:`plot_fisher` and :func:`plot_heat` draw one kind of field. Every function draws into
``ax`` when given, otherwise into a new :class:`matplotlib.figure.Figure` (not registered
with pyplot, so loops do not leak figures), and returns the figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from sciml.physics.problems import problem_of
from sciml.physics.problems._plot import plot_field, plot_fisher, plot_heat

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes

__all__ = ["plot_field", "plot_fisher", "plot_heat", "plot_sample", "plot_samples"]


def plot_sample(ds: xr.Dataset, index: int = 0, *, ax: Axes | None = None) -> Figure:
    """Draw one sample with the plot of its Problem (from ``ds.attrs["pde"]``)."""
    return problem_of(ds).plot(ds, index, ax=ax)


def plot_samples(ds: xr.Dataset, n: int = 4, *, ncols: int = 4) -> Figure:
    """Draw the first ``n`` samples side by side (see :func:`plot_sample`)."""
    n = min(n, ds.sizes["sample"])
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(4.0 * ncols, 3.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            plot_sample(ds, i, ax=ax)
        else:
            ax.set_axis_off()
    return fig
