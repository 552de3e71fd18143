"""The :class:`Problem` interface: everything sciml knows about one PDE, in one object.

A Problem owns its configuration dataclass and data generator (solver -> xarray), the one
conversion of a data set (or of user arrays) into model inputs, the domain mask, its
equation (residual, BC/IC) terms, its default network and its plot. The CLI, the predictor,
the demo and the benchmarks ask the Problem instead of switching on names; names become
Problems only in :func:`sciml.physics.problems.get_problem`.

A user-defined PDE subclasses :class:`Problem` outside the package and implements at least
:meth:`~Problem.generate` (or brings its own data), :meth:`~Problem.dataset` and
:meth:`~Problem.default_model`; see ``notebooks/04_custom_pde_burgers.ipynb``.

Examples
--------
>>> from sciml.physics.problems import get_problem
>>> problem = get_problem("fisher")
>>> ds = problem.generate(2, problem.config(resolution=16))  # doctest: +SKIP
>>> data = problem.dataset(ds)  # doctest: +SKIP
>>> model = problem.default_model(data, p=32, width=32)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from torch import nn

    from sciml.physics.operator.data import OperatorDataset

__all__ = ["Problem"]


class Problem:
    """One PDE: its data, its model inputs, its mask, its physics terms, model and plot.

    Class attributes describe the problem; methods do the work. Subclasses override what
    differs; the defaults fit a problem whose branch input is a vector per sample.

    Attributes
    ----------
    name : str
        Name at the CLI and in checkpoints (``"fisher"``).
    data_name : str
        ``ds.attrs["pde"]`` of the data sets its generator writes (``"fisher_kpp"``).
    data_names : tuple of str
        ``ds.attrs["pde"]`` values of data sets its models can predict (``("fisher_kpp",)``).
    config_class : type
        Frozen dataclass of the generator's settings.
    options : tuple of str
        Generator options besides ``resolution`` (``"family"``, ``"geometry"``, ...).
    coord_names : tuple of str
        Trunk coordinates in column order (``("x", "t")``).
    grid_dims : tuple of str
        Dimensions of the output grid in array order (``("t", "x")``).
    output_name : str
        Name of the predicted field.
    branch_ndim : int
        Dimensions of one sample's branch input (1: a vector; 2: an image).
    geometry_dims : tuple of int
        Spatial dimensions of the geometry files the problem takes (``()``: none).
    """

    name: ClassVar[str] = ""
    data_name: ClassVar[str] = ""
    data_names: ClassVar[tuple[str, ...]] = ()
    config_class: ClassVar[type] = object
    options: ClassVar[tuple[str, ...]] = ()
    coord_names: ClassVar[tuple[str, ...]] = ()
    grid_dims: ClassVar[tuple[str, ...]] = ()
    output_name: ClassVar[str] = "u"
    branch_ndim: ClassVar[int] = 1
    geometry_dims: ClassVar[tuple[int, ...]] = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # ------------------------------------------------------------------ data
    def config(self, resolution: int | None = None, **options: Any):
        """The configuration for a grid size and problem options (``None``: defaults)."""
        raise NotImplementedError(f"{self.name} has no generator configuration")

    def generate(self, n: int, config=None, **run: Any) -> xr.Dataset:
        """``n`` reference solutions as an xarray data set (``seed``, ``workers``, ...)."""
        raise NotImplementedError(f"{self.name} has no data generator")

    def check_geometry_file(self, path, variable: str | None = None) -> None:
        """Refuse a geometry file of the wrong dimension before anything is loaded or solved.

        Raises
        ------
        GeometryError
            If the problem takes no geometry files, or the file's dimension (read cheaply by
            :func:`~sciml.physics.data.geometry_io.geometry_file_dim`) is not one of
            :attr:`geometry_dims`.
        """
        from sciml.physics.data.geometry_io import geometry_file_dim
        from sciml.physics.errors import GeometryError

        if not self.geometry_dims:
            raise GeometryError(f"{path}: the {self.name} problem takes no geometry file")
        dim = geometry_file_dim(path, variable)
        if dim not in self.geometry_dims:
            wanted = " or ".join(f"{d}-D" for d in self.geometry_dims)
            hint = (
                "a GeoJSON/CSV polygon or a PNG/.npy/netCDF 2-D mask"
                if self.geometry_dims == (2,)
                else "a 2-D cross-section or a 3-D solid (STL, 3-D mask)"
            )
            raise GeometryError(
                f"{path}: a {dim}-D geometry, but the {self.name} problem is {wanted}; give {hint}"
            )

    def split(
        self, ds: xr.Dataset, val_fraction: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation sample indices: a seeded random split by default."""
        order = np.random.default_rng(seed).permutation(ds.sizes["sample"])
        n_val = max(1, int(round(val_fraction * len(order))))
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    # ---------------------------------------------------------------- inputs
    def dataset(self, ds: xr.Dataset, indices: Sequence[int] | None = None) -> OperatorDataset:
        """The training samples of a data set: branch inputs, targets, masks, coordinates."""
        raise NotImplementedError(f"{self.name} cannot turn a data set into model inputs")

    def inputs(self, ds: xr.Dataset) -> dict[str, np.ndarray]:
        """Prediction inputs of a data set as keyword arguments of ``OperatorPredictor.predict``."""
        return {"inputs": self.dataset(ds).arrays["branch"].numpy()}

    def check_data(self, ds: xr.Dataset, model_problem: Problem | None = None) -> None:
        """Raise ``ValueError`` unless ``ds`` is a data set of this problem."""
        pde = ds.attrs.get("pde", "unknown")
        if pde not in self.data_names:
            raise ValueError(f"this file holds a {pde} data set; the model is a {self.name} model")

    def grid(self, ds: xr.Dataset) -> tuple[np.ndarray, ...]:
        """Coordinate values along each of :attr:`grid_dims`."""
        return tuple(ds[d].values for d in self.grid_dims)

    def branch(self, inputs: np.ndarray) -> np.ndarray:
        """Stacked user inputs ``(S, ...)`` as the network's ``batch["branch"]``."""
        return inputs

    def check_inputs(self, inputs: np.ndarray, mask: np.ndarray | None) -> None:
        """Raise ``ValueError`` for physically impossible inputs (finite values are checked)."""

    def inside(self, coords: np.ndarray, inputs: np.ndarray) -> np.ndarray | None:
        """Boolean ``(S, N)``: query points inside each sample's domain, when the inputs say.

        ``None`` when the domain does not follow from the inputs (a geometry or mask given
        separately, or no geometry at all).
        """
        return None

    def input_domain(self, ds: xr.Dataset) -> dict:
        """Training range of the branch inputs, stored with a trained model."""
        values = self.dataset(ds).arrays["branch"].numpy().reshape(ds.sizes["sample"], -1)
        return {"inputs": [values.min(0).tolist(), values.max(0).tolist()]}

    # ----------------------------------------------------------------- model
    def default_model(
        self,
        data: OperatorDataset,
        *,
        multitask: bool = True,
        p: int | None = None,
        width: int = 128,
        activation: str = "tanh",
        **options: Any,
    ) -> nn.Module:
        """The default operator network sized from a data set of this problem.

        ``options`` are further keyword arguments of the network
        (:class:`~sciml.physics.operator.networks.DeepONet`: ``fourier_features``,
        ``boundary_factor``, ``trunk``, ...) and override the problem's defaults.
        """
        raise NotImplementedError(f"{self.name} has no default model")

    def physics_terms(self, ds: xr.Dataset, data: OperatorDataset) -> list:
        """Equation (residual, BC, IC) loss hooks for ``Trainer(extra_losses=...)``."""
        raise NotImplementedError(f"physics-informed training is not available for {self.name}")

    # ------------------------------------------------------------------ plot
    def plot(self, ds: xr.Dataset, index: int = 0, *, ax: Axes | None = None) -> Figure:
        """Draw one sample."""
        raise NotImplementedError(f"{self.name} has no plot")

    # --------------------------------------------------------------- helpers
    @staticmethod
    def coordinate_bounds(data: OperatorDataset) -> dict[str, list[float]]:
        """``coord_lower``/``coord_upper`` keyword arguments of a network from its data."""
        coords = data.coords.numpy()
        return {"coord_lower": coords.min(0).tolist(), "coord_upper": coords.max(0).tolist()}
