"""Drawing functions the Problems use for their ``plot`` (public via :mod:`sciml.physics.plot`).

Every function draws into ``ax`` when given, otherwise into a new
:class:`matplotlib.figure.Figure` (not registered with pyplot, so loops do not leak
figures), and returns the figure. Fields on grids use ``"ij"`` indexing and are drawn with
``x`` to the right and ``y`` up; points outside the geometry mask are left blank and the
geometry outline is drawn in black.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes

__all__ = ["plot_field", "plot_fisher", "plot_heat"]


def _axes(ax: Axes | None, figsize: tuple[float, float] = (4.0, 3.4)) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _draw_masked(
    ax: Axes, x: np.ndarray, y: np.ndarray, values: np.ndarray, mask: np.ndarray | None, label: str
) -> None:
    shown = np.ma.masked_where(~mask, values) if mask is not None else values
    mesh = ax.pcolormesh(x, y, np.ma.transpose(shown), shading="nearest", cmap="viridis")
    if mask is not None and not mask.all():
        ax.contour(x, y, mask.T.astype(float), levels=[0.5], colors="k", linewidths=0.8)
    ax.figure.colorbar(mesh, ax=ax, label=label)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def plot_field(ds: xr.Dataset, index: int = 0, var: str = "u", *, ax: Axes | None = None) -> Figure:
    """Draw a 2-D field ``ds[var][index]`` (dims ``x``, ``y``) on its geometry mask."""
    fig, ax = _axes(ax)
    sample = ds.isel(sample=index)
    mask = sample["mask"].values.astype(bool) if "mask" in ds else None
    _draw_masked(ax, ds["x"].values, ds["y"].values, sample[var].values, mask, var)
    title = f"{ds.attrs.get('pde', '')} sample {index}"
    if "geometry" in ds:
        title += f" ({sample['geometry'].item()})"
    ax.set_title(title)
    return fig


def plot_fisher(ds: xr.Dataset, index: int = 0, *, ax: Axes | None = None) -> Figure:
    """Draw a Fisher-KPP solution ``u(x, t)`` as an image, time upwards."""
    fig, ax = _axes(ax)
    sample = ds.isel(sample=index)
    x, t = ds["x"].values, ds["t"].values
    image = ax.pcolormesh(x, t, sample["u"].values, shading="nearest", cmap="magma", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="u")
    coefficients = ", ".join(f"{c:.2f}" for c in sample["coefficients"].values)
    ax.set_title(f"{sample['family'].item()}: c = ({coefficients})", fontsize=9)
    ax.set_xlabel("x")
    ax.set_ylabel("t")
    return fig


def plot_heat(
    ds: xr.Dataset, index: int = 0, z: int | None = None, *, ax: Axes | None = None
) -> Figure:
    """Draw the temperature on the ``z`` layer (default: middle) of a heat sample."""
    fig, ax = _axes(ax)
    sample = ds.isel(sample=index)
    layer = ds.sizes["z"] // 2 if z is None else z
    _draw_masked(
        ax,
        ds["x"].values,
        ds["y"].values,
        sample["T"].values[:, :, layer],
        sample["mask"].values[:, :, layer].astype(bool),
        "T",
    )
    ax.set_title(
        f"heat sample {index}: {int(sample['n_holes'])} holes, z = {ds['z'].values[layer]:.3g}"
    )
    return fig
