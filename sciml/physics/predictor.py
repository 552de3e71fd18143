"""Predictions of trained operator networks as labelled xarray fields in physical units.

:class:`OperatorPredictor` wraps a trained :class:`~sciml.physics.operator.networks.DeepONet` with the
metadata of its problem (coordinate names, the training grid, the trained coordinate box),
saves both in one weights-only checkpoint, and predicts under ``torch.inference_mode``:

- only the requested points are evaluated (the trunk runs once per call on ``coords``, not
  per sample, and the branch once per sample); on the training grid with a mask, only the
  nodes inside it;
- the trunk features, folded with the output scaling and the boundary factor, are cached
  per query grid and geometry, so a repeated call costs the branch and one matrix-vector
  product per sample (one Darcy sample at 99^2 in about a tenth of the solver's time, see
  ``benchmarks/results/mt_deeponet.md``);
- samples go through in batches of ``batch_size``;
- points outside the geometry are NaN;
- bad input raises ``ValueError`` naming the expected form: coordinates outside the trained
  box (an error, not a warning: a DeepONet trunk extrapolates arbitrarily), a mask whose
  shape differs from the branch grid, NaN inputs, an unknown source family or geometry.

Examples
--------
>>> predictor = OperatorPredictor.load("darcy.pt")  # doctest: +SKIP
>>> field = predictor.predict(k, geometry="circle")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from sciml.physics.errors import OutOfDomainWarning, check_finite_output
from sciml.physics.operator.networks import DeepONet

__all__ = ["OperatorPredictor", "PROBLEMS"]

PROBLEMS = ("fisher", "darcy", "darcy_fno", "heat")
"""Names of the shipped problems (:data:`sciml.physics.problems.PROBLEM_NAMES`)."""


class OperatorPredictor:
    """A trained operator network plus what is needed to use it on new inputs.

    Parameters
    ----------
    model : DeepONet
        The trained network.
    problem : Problem or str
        The PDE (:class:`~sciml.physics.problems.base.Problem`, or its name): how inputs
        become branch batches, and where the domain is.
    coord_names : sequence of str
        Names of the trunk coordinates, in column order (e.g. ``("x", "t")``).
    grid_dims : sequence of str
        Dimensions of the default output grid, in array order (e.g. ``("t", "x")``).
    grid_axes : sequence of arrays
        Coordinate values along each of ``grid_dims``. For Darcy the first two are also
        the branch image grid.
    output_name : str
        Name of the predicted field.
    domain : dict, optional
        Training range of the branch inputs (:func:`input_domain`); predictions report
        ``in_domain`` against it. ``None`` (checkpoints from before it existed): not checked.
    """

    def __init__(
        self,
        model: DeepONet,
        problem: str,
        coord_names: Sequence[str],
        grid_dims: Sequence[str],
        grid_axes: Sequence[Sequence[float]],
        output_name: str = "u",
        domain: dict | None = None,
    ):
        from sciml.physics.problems import get_problem

        self.model = model.eval()
        self.problem = get_problem(problem)
        self.coord_names = tuple(coord_names)
        self.grid_dims = tuple(grid_dims)
        self.grid_axes = tuple(np.asarray(a, dtype=float) for a in grid_axes)
        self.output_name = output_name
        self.domain = domain
        self._readout_cache: tuple[tuple, tuple] | None = None
        self._distance_cache: tuple[bytes, np.ndarray] | None = None
        self._grid_coords: np.ndarray | None = None
        # Convolutions run faster on one sample with channels-last weights (oneDNN picks
        # its direct kernels; the same values to float32 rounding).
        for module in self.model.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.to(memory_format=torch.channels_last)
        # One sample on the default grid: an empty result per in_domain value, copied with
        # new data (building coordinates and their indexes cost as much as the network).
        self._grid_templates: dict = {}

    # ---------------------------------------------------------------- build / io
    @classmethod
    def from_dataset(cls, model: DeepONet, ds) -> OperatorPredictor:
        """Metadata from the xarray data set the model was trained on (its Problem's)."""
        from sciml.physics.problems import problem_of

        problem = problem_of(ds)
        return cls(
            model,
            problem,
            problem.coord_names,
            problem.grid_dims,
            problem.grid(ds),
            problem.output_name,
            domain=problem.input_domain(ds),
        )

    def metadata(self) -> dict:
        """JSON-able description stored next to the weights."""
        return {
            "problem": self.problem.name,
            "coord_names": list(self.coord_names),
            "grid_dims": list(self.grid_dims),
            "grid_axes": [a.tolist() for a in self.grid_axes],
            "output_name": self.output_name,
            "domain": self.domain,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write a weights-only checkpoint holding the model and this metadata."""
        from sciml.train import save_checkpoint

        return save_checkpoint(path, self.model, extra={"operator": json.dumps(self.metadata())})

    @classmethod
    def load(cls, path: str | os.PathLike) -> OperatorPredictor:
        """Rebuild a predictor from :meth:`save` output (``torch.load(weights_only=True)``)."""
        from sciml.train import CheckpointError, load_checkpoint, rebuild_model

        payload = load_checkpoint(path)
        if "operator" not in payload["extra"]:
            raise CheckpointError(
                f"{path} holds no operator metadata; save it with OperatorPredictor.save"
            )
        model = rebuild_model(payload, expected=DeepONet, source=path)
        return cls(model.eval(), **json.loads(payload["extra"]["operator"]))

    # ------------------------------------------------------------------ checks
    def grid_coords(self) -> np.ndarray:
        """The default output grid as ``(N, d)`` coordinates in ``coord_names`` order."""
        if self._grid_coords is None:
            mesh = np.meshgrid(*self.grid_axes, indexing="ij")
            by_name = {dim: m.ravel() for dim, m in zip(self.grid_dims, mesh, strict=False)}
            coords = np.stack([by_name[name] for name in self.coord_names], axis=-1)
            coords.setflags(write=False)  # cached: handed out, never changed in place
            self._grid_coords = coords
        return self._grid_coords

    def _check_coords(self, coords) -> np.ndarray:
        coords = np.asarray(coords, dtype=float)
        d = len(self.coord_names)
        if coords.ndim != 2 or coords.shape[1] != d:
            raise ValueError(
                f"coords must have shape (N, {d}) with columns {self.coord_names}; "
                f"got {coords.shape}"
            )
        if not np.isfinite(coords).all():
            raise ValueError("coords contain NaN or infinite values")
        lower = self.model.coord_lower.numpy()
        upper = self.model.coord_upper.numpy()
        tol = 1e-6 * (upper - lower)
        outside = ((coords < lower - tol) | (coords > upper + tol)).any(axis=1)
        if outside.any():
            first = coords[np.argmax(outside)]
            raise ValueError(
                f"{int(outside.sum())} coordinate(s) lie outside the trained domain "
                f"{dict(zip(self.coord_names, zip(lower.tolist(), upper.tolist(), strict=False), strict=False))}, e.g. {first.tolist()}; "
                "a DeepONet does not extrapolate, so query points must lie inside it"
            )
        return coords

    @staticmethod
    def _check_finite(name: str, values: np.ndarray) -> None:
        if not np.isfinite(values).all():
            raise ValueError(
                f"{name} contains NaN or infinite values at {int((~np.isfinite(values)).sum())} "
                "entries; every input value must be finite"
            )

    def _coefficients(self, n: int, coefficients, family, a, beta) -> np.ndarray | None:
        if not self.model.n_coefficients:
            return None
        if family is not None:
            from sciml.physics.problems.fisher import family_by_name

            families = [family] * n if isinstance(family, str) else list(family)
            if len(families) != n:
                raise ValueError(f"{len(families)} family names for {n} inputs")
            if a is None:
                from sciml.physics.problems.fisher import FAMILIES

                formulas = "; ".join(
                    f"{f}: R(u) = {FAMILIES[f].formula}"
                    for f in dict.fromkeys(families)
                    if f in FAMILIES
                )
                raise ValueError(
                    f"family {', '.join(dict.fromkeys(families))} needs the "
                    f"amplitude a ({formulas or 'see FAMILIES'}); pass a=... "
                    "(one value or one per input), no default is assumed"
                )
            a = _per_sample("a", a, n)
            beta = _per_sample("beta", np.nan if beta is None else beta, n)
            coefficients = np.stack(
                [
                    family_by_name(f).coefficients(ai, bi)
                    for f, ai, bi in zip(families, a, beta, strict=False)
                ]
            )
        if coefficients is None:
            raise ValueError(
                f"this model needs coefficients of shape (S, {self.model.n_coefficients}) "
                "or a source family name (with a and beta)"
            )
        coefficients = np.asarray(coefficients, dtype=float)
        width = self.model.n_coefficients
        if coefficients.ndim not in (1, 2) or coefficients.shape[-1] != width:
            raise ValueError(
                f"coefficients have shape {coefficients.shape}; expected ({width},) or "
                f"(S, {width}): one value per source monomial"
            )
        coefficients = coefficients.reshape(-1, width)
        if len(coefficients) == 1 and n > 1:
            coefficients = np.repeat(coefficients, n, axis=0)
        if len(coefficients) != n:
            raise ValueError(f"{len(coefficients)} coefficient rows for {n} inputs")
        self._check_finite("coefficients", coefficients)
        return coefficients

    def _grid_mask(self, n: int, geometry, mask) -> np.ndarray | None:
        """Boolean ``(S, H, W)`` mask on the branch grid (Darcy), from a mask or a geometry."""
        shape = tuple(a.size for a in self.grid_axes[:2])
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape[-2:] != shape or mask.ndim not in (2, 3):
                raise ValueError(
                    f"mask has shape {mask.shape}; expected {shape} or (S, {shape[0]}, "
                    f"{shape[1]}) on the branch grid"
                )
            mask = mask.astype(bool)
        elif geometry is not None:
            from sciml.physics.data.geometry import Grid, rasterize

            mask = rasterize(self._geometry(geometry), Grid(self.grid_axes[:2]), check=False)
        else:
            return None
        mask = np.repeat(mask[None], n, axis=0) if mask.ndim == 2 else mask
        if len(mask) != n:
            raise ValueError(f"{len(mask)} masks for {n} inputs")
        return mask

    def _geometry(self, geometry):
        from pathlib import Path

        if isinstance(geometry, Path) or (isinstance(geometry, str) and Path(geometry).suffix):
            from sciml.physics.data.geometry_io import load_geometry

            if self.problem.geometry_dims:
                self.problem.check_geometry_file(geometry)
            return load_geometry(geometry)
        if isinstance(geometry, str):
            from sciml._resolve import resolve
            from sciml.physics.data.geometry import SHAPES

            return resolve("geometry", geometry, SHAPES)()
        return geometry

    def _inside(self, coords: np.ndarray, n: int, geometry, grid_mask, inputs) -> np.ndarray | None:
        """Boolean ``(S, N)``: which query points lie in each sample's domain."""
        from_inputs = self.problem.inside(coords, inputs)
        from_geometry = None
        if geometry is not None and not isinstance(geometry, np.ndarray):
            shape = self._geometry(geometry)
            # A 2-D cross-section bounds a 3-D plate through its thickness.
            inside = np.asarray(shape.inside(coords[:, : shape.dim]), dtype=bool)
            from_geometry = np.broadcast_to(inside, (n, len(coords)))
        if from_inputs is not None and from_geometry is not None:
            # A user geometry (e.g. a plate from an STL or GeoJSON file) bounds the domain
            # the inputs describe: NaN wherever either says "outside".
            return from_inputs & from_geometry
        if from_inputs is not None:
            return from_inputs
        if from_geometry is not None:
            return from_geometry
        if grid_mask is not None:  # nearest branch-grid node
            idx = [_nearest(axis, coords[:, k]) for k, axis in enumerate(self.grid_axes[:2])]
            return grid_mask[:, idx[0], idx[1]]
        return None

    def _in_domain(self, inputs: np.ndarray, coeffs, family, grid_mask) -> np.ndarray | None:
        """Boolean ``(S,)``: inputs inside the training range; warns when any is not."""
        if not self.domain:
            return None
        n = len(inputs)
        if grid_mask is not None:  # only the field inside the domain is data
            inputs = np.where(grid_mask, inputs, self.domain["inputs"][0])
        flat = inputs.reshape(n, -1)
        reasons = []
        ok = _within(flat, self.domain["inputs"])
        if not ok.all():
            reasons.append("branch inputs")
        if coeffs is not None and "coefficients" in self.domain:
            ok_c = _within(coeffs, self.domain["coefficients"])
            if not ok_c.all():
                reasons.append("source coefficients")
            ok &= ok_c
        if family is not None and "families" in self.domain:
            names = [family] * n if isinstance(family, str) else list(family)
            seen = np.array([f in self.domain["families"] for f in names])
            if not seen.all():
                reasons.append(
                    f"families never trained on ({', '.join(sorted(set(np.asarray(names)[~seen])))})"
                )
            ok &= seen
        if not ok.all():
            warnings.warn(
                f"{int((~ok).sum())} of {n} input(s) lie outside the model's training range "
                f"({'; '.join(reasons)}); their predictions are extrapolations, see in_domain",
                OutOfDomainWarning,
                stacklevel=3,
            )
        return ok

    # ----------------------------------------------------------------- predict
    def _readout(
        self, key: tuple, coords: np.ndarray, distance: np.ndarray | None, inside: np.ndarray | None
    ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray | None]:
        """Trunk features folded with the output scaling: ``u = b @ W.T + c`` at ``coords``.

        ``W`` ``(M, p)`` and ``c`` ``(M,)`` hold the trunk features times the target scaler's
        standard deviation and the boundary factor ``phi`` (``u = phi * decode(z)``, as
        :meth:`DeepONet.apply_boundary`), with the bias and mean in ``c``; ``M`` counts the
        points where ``inside`` is True (all points when ``None``), whose indexes come third
        (``None`` for all). They depend only on the query points and the geometry, so they
        are cached under ``key`` (the last one): repeated calls on the same points and
        domain cost one matrix-vector product per sample.
        """
        if self._readout_cache is not None and self._readout_cache[0] == key:
            return self._readout_cache[1]
        model = self.model
        points = torch.tensor(coords, dtype=torch.float32)
        if distance is None:
            trunk = model.trunk_features(points)
            scale = torch.ones(len(coords), dtype=torch.float64)
        else:
            d = torch.as_tensor(distance, dtype=torch.float32)
            trunk = model.trunk_features(points, d[None])[0]
            scale = model.boundary_phi(d).double()
        std = model.target_scaler.std[0].double()
        shift = std * model.bias[0].double() + model.target_scaler.mean[0].double()
        weights, offset = trunk.double() * (scale * std)[:, None], scale * shift
        rows = None if inside is None else np.flatnonzero(inside)
        if rows is not None:
            weights, offset = weights[rows], offset[rows]
        readout = (weights.float().contiguous(), offset.float(), rows)
        self._readout_cache = (key, readout)
        return readout

    def _distance(self, query: np.ndarray, on_grid: bool, grid_mask) -> np.ndarray | None:
        """Boundary distance ``(S, N)`` at the query points, for a boundary-factor model."""
        if not getattr(self.model, "boundary_factor", False):
            return None
        if grid_mask is None:
            raise ValueError(
                "this model imposes u = 0 on the boundary through the distance to it: pass "
                "geometry= (a shape name, file or deepxde geometry) or mask= (H, W)"
            )
        from sciml.physics.data.geometry import boundary_distance, grid_values_at

        axes = self.grid_axes[:2]
        # One geometry is usually predicted many times: keep the last distance transform.
        key = grid_mask.tobytes() + str(grid_mask.shape).encode()
        if self._distance_cache is None or self._distance_cache[0] != key:
            self._distance_cache = (key, boundary_distance(grid_mask, axes))
        on_nodes = self._distance_cache[1]
        if on_grid:
            return on_nodes.reshape(len(grid_mask), -1)
        return grid_values_at(on_nodes, axes, query[:, :2])

    def _forward(self, inputs, coeffs, grid_mask, idx, readout) -> np.ndarray:
        """Physical outputs ``(B, M)`` of samples ``idx`` on a folded readout (:meth:`_readout`)."""
        batch = {"branch": torch.as_tensor(self.problem.branch(inputs), dtype=torch.float32)}
        if coeffs is not None:
            batch["coefficients"] = torch.as_tensor(coeffs[idx], dtype=torch.float32)
        if grid_mask is not None:
            batch["mask_grid"] = torch.as_tensor(grid_mask[idx])
        weights, offset, _ = readout
        branch = self.model.branch_features(batch)[:, 0]  # the first output's coefficients
        return torch.addmm(offset, branch, weights.T).numpy()

    @torch.inference_mode()
    def predict(
        self,
        inputs,
        *,
        coefficients=None,
        family=None,
        a=None,
        beta=None,
        geometry=None,
        mask=None,
        coords=None,
        batch_size: int = 256,
    ):
        """Predict the output field for one or many inputs.

        Parameters
        ----------
        inputs : array
            Branch inputs in physical units: Fisher ``u0`` ``(nx,)`` or ``(S, nx)``; Darcy
            permeability ``(H, W)`` or ``(S, H, W)`` on the training grid; heat design
            vectors ``(F,)`` or ``(S, F)`` (:func:`~sciml.physics.problems.heat.heat_design_vector`).
        coefficients : array ``(4,)`` or ``(S, 4)``, optional
            Source coefficients (Fisher); or give ``family`` (name or names) with ``a`` (the
            amplitude, required: no default is assumed) and ``beta`` (families that use it).
        geometry : str, path or deepxde Geometry, optional
            Darcy domain (a name in :data:`sciml.physics.data.geometry.SHAPES`, a geometry file
            read by :func:`~sciml.physics.data.geometry_io.load_geometry`, or a geometry);
            points outside are NaN. Heat plates derive theirs from the design vector and,
            when ``geometry`` is given too (a plate read from a file), from both.
        mask : bool array ``(H, W)`` or ``(S, H, W)``, optional
            Darcy domain as a mask on the branch grid, instead of ``geometry``.
        coords : array ``(N, d)``, optional
            Query points (columns ``coord_names``); default the training grid.
        batch_size : int
            Samples per forward pass.

        Returns
        -------
        xarray.DataArray
            ``(sample, *grid_dims)`` on the default grid, or ``(sample, point)`` with the
            coordinates attached for explicit ``coords``; physical units, NaN outside.
        """
        import xarray as xr

        single = False
        inputs = np.asarray(inputs, dtype=float)
        item_ndim = self.problem.branch_ndim
        if inputs.ndim == item_ndim:
            inputs, single = inputs[None], True
        if inputs.ndim != item_ndim + 1:
            raise ValueError(
                f"inputs have shape {inputs.shape}; expected one input of {item_ndim} "
                f"dimension(s) or a stack of them"
            )
        n = len(inputs)
        expected = tuple(np.atleast_1d(self.model.hparams["branch_in"]))[-item_ndim:]
        if inputs.shape[1:] != expected:
            raise ValueError(
                f"inputs have shape {inputs.shape[1:]} per sample; expected {expected}"
            )
        coeffs = self._coefficients(n, coefficients, family, a, beta)
        grid_mask = self._grid_mask(n, geometry, mask) if item_ndim == 2 else None
        if grid_mask is not None:
            inputs = _fill_outside(inputs, grid_mask)
        self._check_finite("inputs", inputs)
        self.problem.check_inputs(inputs, grid_mask)
        if self.model.mask_channel and grid_mask is None:
            raise ValueError(
                "this model takes the geometry mask as an input channel: pass geometry= "
                "(a shape name or a deepxde geometry) or mask= (H, W)"
            )
        on_grid = coords is None
        query = self.grid_coords() if on_grid else self._check_coords(coords)
        on_mask_nodes = on_grid and geometry is None and grid_mask is not None and item_ndim == 2
        if on_mask_nodes:
            inside = grid_mask.reshape(n, -1)  # the query points are the mask's nodes
        else:
            inside = self._inside(query, n, geometry, grid_mask, inputs)
        if inside is not None and not inside.any(axis=1).all():
            empty = np.flatnonzero(~inside.any(axis=1))
            raise ValueError(
                f"no query point lies inside the domain of sample(s) {empty[:5].tolist()} "
                "(an empty mask or a geometry without interior); the prediction would be all NaN"
            )
        in_domain = self._in_domain(inputs, coeffs, family, grid_mask)
        distance = self._distance(query, on_grid, grid_mask)
        where = b"grid" if on_grid else query.tobytes()
        if distance is None:
            groups = [(np.arange(n), None, None, (where,))]
        else:
            # Samples on the same geometry share one trunk evaluation (and its cache entry).
            # The distances come from the mask, so its (short) rows key the groups; on the
            # mask's own nodes only the points inside are computed, the rest is NaN anyway.
            members: dict[bytes, list[int]] = {}
            for i, row in enumerate(grid_mask.reshape(n, -1)):
                members.setdefault(row.tobytes(), []).append(i)
            groups = []
            for key, m in members.items():
                nodes = inside[m[0]] if on_mask_nodes else None
                groups.append((np.asarray(m), distance[m[0]], nodes, (where, key, on_mask_nodes)))
        out = np.full((n, len(query)), np.nan, dtype=np.float32)
        for members, row, nodes, key in groups:
            readout = self._readout(key, query, row, nodes)
            rows = readout[2]
            for start in range(0, len(members), batch_size):
                idx = members[start : start + batch_size]
                values = self._forward(inputs[idx], coeffs, grid_mask, idx, readout)
                check_finite_output(values, f"the {self.problem.name} operator network")
                if rows is None:
                    out[idx] = values
                elif len(idx) == 1:
                    out[idx[0], rows] = values[0]
                else:
                    out[idx[:, None], rows] = values
        if inside is not None and not on_mask_nodes:
            out = np.where(inside, out, np.nan)
        # One DataArray built once (no assign_coords / isel afterwards): for a single sample
        # the xarray bookkeeping would otherwise cost as much as the network.
        if on_grid:
            dims = tuple(self.grid_dims)
            data = out.reshape(n, *(a.size for a in self.grid_axes))
            coords = {d: a for d, a in zip(self.grid_dims, self.grid_axes, strict=False)}
        else:
            dims, data = ("point",), out
            coords = {c: ("point", query[:, k]) for k, c in enumerate(self.coord_names)}
        if single:
            data = data[0]
            if in_domain is not None:
                coords["in_domain"] = bool(in_domain[0])
            if on_grid:
                return self._grid_result(data, dims, coords)
        else:
            dims = ("sample", *dims)
            if in_domain is not None:
                coords["in_domain"] = ("sample", in_domain)
        return xr.DataArray(
            data,
            dims=dims,
            name=self.output_name,
            coords=coords,
            attrs={"units": "physical (as the training data)"},
        )

    def _grid_result(self, data: np.ndarray, dims: tuple, coords: dict):
        """One sample on the default grid, from a cached template (same coordinates)."""
        import xarray as xr

        key = coords.get("in_domain")
        template = self._grid_templates.get(key)
        if template is None:
            for axis in self.grid_axes:
                axis.setflags(write=False)  # shared by every result: never changed in place
            template = xr.DataArray(
                np.empty_like(data),
                dims=dims,
                name=self.output_name,
                coords=coords,
                attrs={"units": "physical (as the training data)"},
            )
            self._grid_templates[key] = template
        return template.copy(deep=False, data=data)

    def predict_dataset(self, ds, *, coords=None, batch_size: int = 256):
        """Predict every sample of an xarray data set of this problem (for the CLI)."""
        self.problem.check_data(ds)
        return self.predict(**self.problem.inputs(ds), coords=coords, batch_size=batch_size)


#: Margin, as a fraction of the training range, within which inputs still count as in domain.
DOMAIN_MARGIN = 0.1


def _within(values: np.ndarray, bounds) -> np.ndarray:
    """``(S, F)`` values inside ``[lower, upper]`` widened by :data:`DOMAIN_MARGIN`, per row."""
    lower, upper = (np.asarray(b, dtype=float) for b in bounds)
    margin = DOMAIN_MARGIN * np.maximum(upper - lower, 1e-12)
    ok = (values >= lower - margin) & (values <= upper + margin)
    return ok.all(axis=1)


def _per_sample(name: str, value, n: int) -> np.ndarray:
    value = np.asarray(value, dtype=float)
    if value.ndim > 1 or (value.ndim == 1 and len(value) not in (1, n)):
        raise ValueError(
            f"{name} has shape {value.shape}; expected one value or one per input ({n})"
        )
    return np.broadcast_to(value.reshape(-1) if value.ndim else value, (n,))


def _nearest(axis: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of the nearest node of a sorted ``axis`` for each value, in O(N log H)."""
    if len(axis) == 1:
        return np.zeros(len(values), dtype=int)
    right = np.clip(np.searchsorted(axis, values), 1, len(axis) - 1)
    left = right - 1
    return np.where(values - axis[left] <= axis[right] - values, left, right)


def _fill_outside(inputs: np.ndarray, grid_mask: np.ndarray) -> np.ndarray:
    """Replace values outside each sample's mask (often NaN padding) by the mean inside.

    The model never reads them (the mask channel zeroes them), but a NaN would still
    poison the convolution, so they must be finite.
    """
    if not (~np.isfinite(inputs) & ~grid_mask).any():
        return inputs
    inside = np.where(grid_mask, inputs, np.nan)
    fill = np.nanmean(inside.reshape(len(inputs), -1), axis=1)
    fill = np.where(np.isfinite(fill), fill, 1.0)
    return np.where(grid_mask, inputs, fill[:, None, None])
