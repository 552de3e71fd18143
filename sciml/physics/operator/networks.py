r"""DeepONet and multi-task DeepONet (Kumar et al. 2024, arXiv 2408.02198) with geometry masks.

A DeepONet approximates an operator ``G: v -> u`` as

.. math:: u(x)_k = \sum_{j=1}^{p} b_{kj}(v)\, t_j(x) + c_k,

with a *branch* network ``b`` on the input function ``v`` (an MLP on sampled values and
coefficient vectors, or a CNN on an image of the input field) and a *trunk* network ``t``
on the query coordinates ``x``. Every sample of a batch is evaluated at the same
coordinates (Cartesian-product layout), so the trunk runs once per batch and its
coordinate derivatives -- the only place ``x`` enters -- are shared by all samples.
:mod:`sciml.physics.pinn` relies on this to compute PDE residuals for a whole batch at once.

Implementation choice
---------------------
The networks are written here on :class:`sciml.nn.MLP` rather than wrapping
``deepxde.nn.pytorch.DeepONetCartesianProd`` with a custom branch. DeepXDE's class fuses
branch, trunk and merge in ``forward((x_func, x_loc))`` and takes the custom branch as a
callable, so (1) a checkpoint could not rebuild it from JSON-able ``hparams``
(:mod:`sciml.train.checkpoint`), (2) the mask channel, the mask-multiplied output and the
standardisers stored in the model would have to be bolted on outside it, and (3) the
batched residuals need the trunk features and their coordinate derivatives on their own.
The maths is identical (``einsum("bp,np->bn")`` plus a bias, activation on the trunk output).

Batch convention (dict)
-----------------------
- ``"branch"``: input function, ``(B, F)`` for an MLP branch or ``(B, C, H, W)`` for a CNN
  branch, in physical units (standardised inside the model by ``input_scaler``);
- ``"coefficients"`` (optional): ``(B, n_coefficients)`` task / coefficient vector;
- ``"mask_grid"`` (CNN with a mask channel): ``(B, H, W)`` geometry mask of the input image;
- ``"coords"``: ``(N, d)`` query coordinates shared by the batch, or ``(B, N, d)``;
- ``"mask"`` (optional): ``(B, N)`` true inside the geometry at the query points.

Outputs are ``(B, N, n_outputs)`` in *standardised* units, as for every model family of
:mod:`sciml.train` (``docs/trainer_api.md``): the objective (:class:`MaskedFieldLoss`, a
:class:`~sciml.train.MultiTaskRegression`) compares them with standardised targets inside
``batch["mask"]`` and decodes them to physical units with the model's ``target_scaler``;
:meth:`DeepONet.to_physical` does the same for direct use (exact zeros outside the mask
when ``mask_output``), and :class:`~sciml.physics.predictor.OperatorPredictor` returns
physical fields with NaN outside the domain.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sciml.nn import ACTIVATIONS, MLP
from sciml.train.checkpoint import register_model
from sciml.train.losses import MultiTaskRegression
from sciml.train.normalize import Standardizer

__all__ = ["CNNBranch", "DeepONet", "MTDeepONet", "MaskedFieldLoss"]


class CNNBranch(nn.Module):
    """Convolutional branch: strided 3x3 convolutions, flatten, MLP head.

    Parameters
    ----------
    in_channels : int
        Image channels ``C`` (input field channels plus one when the mask is a channel).
    image_shape : (int, int)
        ``(H, W)`` of the input image.
    channels : sequence of int
        Filters per convolution (paper: 16, 32, 64, 64); each halves the resolution.
    extra_features : int
        Width of a vector (the coefficients) concatenated to the flattened features.
    hidden : int
        Width of the head's hidden layer.
    out_features : int
        Output width (``p * n_outputs``).
    activation : str
        One of :data:`sciml.nn.ACTIVATIONS`.
    """

    def __init__(
        self,
        in_channels: int,
        image_shape: Sequence[int],
        channels: Sequence[int],
        extra_features: int,
        hidden: int,
        out_features: int,
        activation: str,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_channels
        h, w = image_shape
        for c in channels:
            layers += [nn.Conv2d(width, c, 3, stride=2, padding=1), ACTIVATIONS[activation]()]
            width = c
            h, w = (h + 1) // 2, (w + 1) // 2
        self.conv = nn.Sequential(*layers)
        self.head = MLP(width * h * w + extra_features, out_features, (hidden,), activation)

    def forward(self, image: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, C, H, W)`` (and ``(B, E)``) to ``(B, out_features)``."""
        features = self.conv(image).flatten(1)
        if extra is not None:
            features = torch.cat([features, extra], dim=1)
        return self.head(features)


@register_model(aliases=("sciml.physics.deeponet.DeepONet",))
class DeepONet(nn.Module):
    """DeepONet with an MLP or CNN branch, an MLP trunk, latent width ``p`` and several outputs.

    Parameters
    ----------
    branch_in : int or (int, int, int)
        MLP branch: number of input values ``F``. CNN branch: ``(C, H, W)`` of the input
        field image (without the mask channel).
    coord_dim : int
        Dimension ``d`` of the query coordinates.
    p : int
        Latent width shared by branch and trunk.
    n_outputs : int
        Output fields ``K``; the branch produces ``p * K`` values, the trunk is shared.
    branch : {"mlp", "cnn"}
        Branch architecture.
    branch_hidden : sequence of int
        MLP branch hidden widths (paper: 128, 128); for the CNN, the head's hidden width is
        ``branch_hidden[-1]``.
    cnn_channels : sequence of int
        CNN filters per layer.
    layer_norm : bool
        LayerNorm in the MLP branch (as in the paper).
    trunk_hidden : sequence of int
        Trunk hidden widths (paper: 128, 128, 128).
    activation : str
        Activation of both networks (smooth ones, ``tanh``/``silu``, for PDE residuals).
    n_coefficients : int
        Width of ``batch["coefficients"]`` appended to the branch input (0: none).
    coord_lower, coord_upper : sequence of float
        Box of the trained coordinates; the trunk sees them mapped to ``[-1, 1]``, and the
        predictor refuses points outside.
    mask_channel : bool
        CNN only: feed ``batch["mask_grid"]`` as an extra input channel.
    mask_output : bool
        Multiply the output by ``batch["mask"]`` (exact zeros outside the geometry).
    output_names : sequence of str
        Names of the ``K`` outputs (default ``u``, ``u1``, ...).
    boundary_factor : bool
        Exact homogeneous Dirichlet conditions: the physical output is multiplied by
        ``phi = tanh(d / boundary_width)``, with ``d`` the distance to the domain boundary
        (``batch["distance"]``, ``(B, N)``), and ``phi`` is also a trunk input. Off (the
        default, and for checkpoints from before the option): the network learns ``u = 0``.
    boundary_width : float
        Length over which ``phi`` rises from 0 to about 0.76 (domain units).
    branch_activation : str, optional
        Activation of the branch only (default: ``activation``); ``"gelu"`` for the wide
        CNN branch.
    log_input : bool
        The branch sees ``log(v)`` of a positive input field (``log K`` for Darcy).
    fourier_features : int
        ``m > 0``: the trunk sees ``[x, sin(2 pi x B), cos(2 pi x B)]`` with a fixed random
        ``B`` ``(d, m)`` drawn from ``N(0, fourier_scale^2)`` (seeded, stored in the weights).
    fourier_scale : float
        Standard deviation of ``B`` (coordinates scaled to ``[-1, 1]``).
    trunk : {"mlp", "pod"}
        ``"pod"``: POD-DeepONet (Lu et al. 2022) -- the trunk is the ``p`` leading POD modes
        of the standardised training fields plus their mean, fitted by
        :func:`~sciml.physics.operator.data.fit_scalers`; predictions only at the
        ``pod_points`` training points.
    pod_points : int
        Number ``N`` of query points of the POD basis (``trunk="pod"`` only).

    Examples
    --------
    >>> net = DeepONet(8, coord_dim=2, p=16, branch_hidden=(32,), trunk_hidden=(32,))
    >>> out = net({"branch": torch.randn(3, 8), "coords": torch.rand(50, 2)})
    >>> tuple(out.shape)
    (3, 50, 1)
    """

    def __init__(
        self,
        branch_in: int | Sequence[int],
        coord_dim: int,
        p: int = 128,
        n_outputs: int = 1,
        branch: str = "mlp",
        branch_hidden: Sequence[int] = (128, 128),
        cnn_channels: Sequence[int] = (16, 32, 64, 64),
        layer_norm: bool = False,
        trunk_hidden: Sequence[int] = (128, 128, 128),
        activation: str = "tanh",
        n_coefficients: int = 0,
        coord_lower: Sequence[float] | None = None,
        coord_upper: Sequence[float] | None = None,
        mask_channel: bool = False,
        mask_output: bool = False,
        output_names: Sequence[str] | None = None,
        *,
        boundary_factor: bool = False,
        boundary_width: float = 0.05,
        branch_activation: str | None = None,
        log_input: bool = False,
        fourier_features: int = 0,
        fourier_scale: float = 1.0,
        trunk: str = "mlp",
        pod_points: int = 0,
    ):
        super().__init__()
        if branch not in ("mlp", "cnn"):
            raise ValueError(f"unknown branch {branch!r}; choose 'mlp' or 'cnn'")
        for value in (activation, branch_activation or activation):
            if value not in ACTIVATIONS:
                raise ValueError(
                    f"unknown activation {value!r}; choose one of: {', '.join(ACTIVATIONS)}"
                )
        if trunk not in ("mlp", "pod"):
            raise ValueError(f"unknown trunk {trunk!r}; choose 'mlp' or 'pod'")
        if trunk == "pod" and (pod_points < 1 or n_outputs != 1):
            raise ValueError(
                "a POD trunk needs pod_points >= 1 (the number of training query points) "
                f"and one output; got pod_points={pod_points}, n_outputs={n_outputs}"
            )
        if trunk == "pod" and (boundary_factor or fourier_features):
            raise ValueError(
                "a POD trunk takes no coordinates: boundary_factor and fourier_features need "
                "trunk='mlp'"
            )
        if boundary_width <= 0 or fourier_scale <= 0 or fourier_features < 0:
            raise ValueError(
                f"boundary_width and fourier_scale must be positive and fourier_features >= 0; "
                f"got {boundary_width}, {fourier_scale}, {fourier_features}"
            )
        if branch == "cnn" and (isinstance(branch_in, int) or len(branch_in) != 3):
            raise ValueError(f"a CNN branch needs branch_in = (C, H, W), got {branch_in!r}")
        if branch == "mlp" and not isinstance(branch_in, int):
            raise ValueError(f"an MLP branch needs an integer branch_in, got {branch_in!r}")
        if mask_channel and branch != "cnn":
            raise ValueError("mask_channel needs a CNN branch (the mask is an image channel)")
        lower = [0.0] * coord_dim if coord_lower is None else [float(v) for v in coord_lower]
        upper = [1.0] * coord_dim if coord_upper is None else [float(v) for v in coord_upper]
        if (
            len(lower) != coord_dim
            or len(upper) != coord_dim
            or any(h <= lo for lo, h in zip(lower, upper, strict=False))
        ):
            raise ValueError(f"coord_lower/coord_upper must be {coord_dim} increasing bounds")
        names = (
            list(output_names) if output_names else ["u"] + [f"u{k}" for k in range(1, n_outputs)]
        )
        if len(names) != n_outputs:
            raise ValueError(f"{len(names)} output names for {n_outputs} outputs")
        self.hparams = {
            "branch_in": branch_in if isinstance(branch_in, int) else list(branch_in),
            "coord_dim": coord_dim,
            "p": p,
            "n_outputs": n_outputs,
            "branch": branch,
            "branch_hidden": list(branch_hidden),
            "cnn_channels": list(cnn_channels),
            "layer_norm": layer_norm,
            "trunk_hidden": list(trunk_hidden),
            "activation": activation,
            "n_coefficients": n_coefficients,
            "coord_lower": lower,
            "coord_upper": upper,
            "mask_channel": mask_channel,
            "mask_output": mask_output,
            "output_names": names,
            "boundary_factor": boundary_factor,
            "boundary_width": float(boundary_width),
            "branch_activation": branch_activation,
            "log_input": log_input,
            "fourier_features": fourier_features,
            "fourier_scale": float(fourier_scale),
            "trunk": trunk,
            "pod_points": pod_points,
        }
        self.p, self.n_outputs, self.coord_dim = p, n_outputs, coord_dim
        self.boundary_factor, self.boundary_width = boundary_factor, float(boundary_width)
        self.log_input, self.fourier_features, self.trunk = log_input, fourier_features, trunk
        branch_act = branch_activation or activation
        self.n_coefficients, self.mask_channel, self.mask_output = (
            n_coefficients,
            mask_channel,
            mask_output,
        )
        self.output_names = names
        out = p * n_outputs
        if branch == "mlp":
            self.branch_net: nn.Module = MLP(
                branch_in + n_coefficients, out, branch_hidden, branch_act, layer_norm=layer_norm
            )
            self.input_scaler = Standardizer(branch_in)
        else:
            c, h, w = branch_in
            self.branch_net = CNNBranch(
                c + int(mask_channel),
                (h, w),
                cnn_channels,
                n_coefficients,
                branch_hidden[-1] if branch_hidden else 128,
                out,
                branch_act,
            )
            self.input_scaler = Standardizer(c)
        self.coef_scaler = Standardizer(max(n_coefficients, 1))
        trunk_in = coord_dim + 2 * fourier_features + int(boundary_factor)
        self.trunk_net = MLP(trunk_in, p, trunk_hidden, activation)
        self.trunk_activation = ACTIVATIONS[activation]()
        if fourier_features:
            # Fixed, seeded frequencies: the same network from the same hparams, and stored
            # in the state dict so a checkpoint never depends on the generator.
            generator = torch.Generator().manual_seed(0)
            frequencies = torch.randn(coord_dim, fourier_features, generator=generator)
            self.register_buffer("fourier_matrix", fourier_scale * frequencies)
        if trunk == "pod":
            # Modes (N, p) and mean (N,) of the standardised training fields, and the points
            # they live on; filled by fit_scalers.
            self.register_buffer("pod_modes", torch.zeros(pod_points, p))
            self.register_buffer("pod_mean", torch.zeros(pod_points))
            self.register_buffer("pod_coords", torch.zeros(pod_points, coord_dim))
            self.register_buffer("pod_fitted", torch.tensor(False))
        self.bias = nn.Parameter(torch.zeros(n_outputs))
        self.target_scaler = Standardizer(n_outputs)
        self.register_buffer("coord_lower", torch.tensor(lower))
        self.register_buffer("coord_upper", torch.tensor(upper))

    # -------------------------------------------------------------- branch
    def branch_features(self, batch: dict) -> torch.Tensor:
        """Branch coefficients ``(B, K, p)`` from the batch's input function(s)."""
        v = self.prepare_branch(batch["branch"].float())
        coefficients = None
        if self.n_coefficients:
            coefficients = self.coef_scaler.transform(batch["coefficients"].float())
        if self.hparams["branch"] == "mlp":
            if v.ndim != 2 or v.shape[1] != self.hparams["branch_in"]:
                raise ValueError(
                    f"batch['branch'] has shape {tuple(v.shape)}; expected "
                    f"(B, {self.hparams['branch_in']})"
                )
            z = self.input_scaler.transform(v)
            if coefficients is not None:
                z = torch.cat([z, coefficients], dim=1)
            b = self.branch_net(z)
        else:
            expected = tuple(self.hparams["branch_in"])
            if v.ndim != 4 or tuple(v.shape[1:]) != expected:
                raise ValueError(
                    f"batch['branch'] has shape {tuple(v.shape)}; expected (B, {expected[0]}, "
                    f"{expected[1]}, {expected[2]})"
                )
            z = self.input_scaler.transform(v.movedim(1, -1)).movedim(-1, 1)
            if self.mask_channel:
                grid_mask = batch["mask_grid"].to(z.dtype)
                # Outside the geometry the field is meaningless: zero it so only the mask speaks.
                z = torch.cat([z * grid_mask[:, None], grid_mask[:, None]], dim=1)
            b = self.branch_net(z, coefficients)
        b = b.view(len(b), self.n_outputs, self.p)
        if self.trunk == "pod":  # the coefficient of the mean field (the trunk's last column)
            b = torch.cat([b, torch.ones_like(b[..., :1])], dim=-1)
        return b

    def prepare_branch(self, v: torch.Tensor) -> torch.Tensor:
        """The branch input before standardisation: ``log(v)`` when ``log_input``.

        Non-positive values (only outside a geometry, where the mask channel zeroes the
        image) map to 0 instead of NaN.
        """
        if not self.log_input:
            return v
        return torch.where(v > 0, torch.log(v.clamp_min(1e-30)), torch.zeros_like(v))

    # --------------------------------------------------------------- trunk
    def trunk_features(
        self, coords: torch.Tensor, distance: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Trunk basis ``t(x)``: ``(..., d)`` physical coordinates to ``(..., p)``.

        With ``boundary_factor`` the trunk also needs the boundary distance ``distance``
        (``(B, N)`` for coordinates ``(N, d)`` or ``(B, N, d)``) and returns ``(B, N, p)``.
        A POD trunk returns its modes and mean at the coordinates, ``(N, p + 1)``.
        """
        if self.trunk == "pod":
            return self._pod_features(coords)
        scaled = 2.0 * (coords - self.coord_lower) / (self.coord_upper - self.coord_lower) - 1.0
        parts = [scaled]
        if self.fourier_features:
            angle = 2.0 * torch.pi * scaled @ self.fourier_matrix.to(scaled)
            parts += [torch.sin(angle), torch.cos(angle)]
        if self.boundary_factor:
            if distance is None:
                raise ValueError(
                    "this model multiplies its output by a boundary distance factor: the batch "
                    "needs 'distance' (B, N), the distance of each query point to the boundary"
                )
            if distance.ndim == 2 and len(distance) > 1 and coords.ndim == 2:
                # Samples on the same geometry share their distances: run the trunk once per
                # distinct geometry of the batch, not once per sample.
                unique, index = torch.unique(distance, dim=0, return_inverse=True)
                if len(unique) < len(distance):
                    return self.trunk_features(coords, unique)[index]
            phi = self.boundary_phi(distance)
            parts = [p.expand(len(phi), *p.shape[-2:]) if p.ndim == 2 else p for p in parts]
            parts.append(phi.unsqueeze(-1).to(scaled))
        trunk_in = torch.cat(parts, dim=-1) if len(parts) > 1 else scaled
        return self.trunk_activation(self.trunk_net(trunk_in))

    def boundary_phi(self, distance: torch.Tensor) -> torch.Tensor:
        """The approximate distance function ``tanh(max(d, 0) / boundary_width)``, ``(B, N)``."""
        return torch.tanh(distance.float().clamp_min(0.0) / self.boundary_width)

    def _pod_features(self, coords: torch.Tensor) -> torch.Tensor:
        if not bool(self.pod_fitted):
            raise ValueError(
                "the POD basis is not fitted: train the model (MaskedFieldLoss.setup) or call "
                "sciml.physics.operator.data.fit_scalers first"
            )
        if coords.ndim != 2:
            raise ValueError("a POD trunk needs coordinates (N, d) shared by the batch")
        basis = torch.cat([self.pod_modes, self.pod_mean[:, None]], dim=1)
        if coords.shape == self.pod_coords.shape and torch.equal(
            coords.to(self.pod_coords), self.pod_coords
        ):
            return basis
        from scipy.spatial import cKDTree

        known = self.pod_coords.cpu().numpy()
        dist, index = cKDTree(known).query(coords.detach().cpu().numpy())
        span = float((self.coord_upper - self.coord_lower).max())
        off = dist > 1e-6 * span
        if off.any():
            raise ValueError(
                f"{int(off.sum())} query point(s) are not points of the POD basis, e.g. "
                f"{coords[int(off.argmax())].tolist()}; a POD-DeepONet predicts only at the "
                f"{len(known)} training points"
            )
        return basis[torch.as_tensor(index, device=basis.device)]

    def combine(self, branch: torch.Tensor, trunk: torch.Tensor) -> torch.Tensor:
        """Standardised outputs ``(B, N, K)`` from branch ``(B, K, p)`` and trunk ``(N, p)``/``(B, N, p)``."""
        # matmul, not einsum: the same contraction, several times faster for one sample.
        if trunk.ndim == 2:
            b, k, p = branch.shape
            z = torch.matmul(trunk, branch.reshape(b * k, p).T).reshape(-1, b, k).transpose(0, 1)
        else:
            z = torch.matmul(trunk, branch.transpose(1, 2))
        return z + self.bias

    def to_physical(self, z: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Standardised ``(B, N, K)`` to physical units, times the mask when ``mask_output``."""
        u = self.target_scaler.inverse(z.to(self.target_scaler.std.dtype)).to(z.dtype)
        if self.mask_output and mask is not None:
            u = u * mask.to(u.dtype).unsqueeze(-1)
        return u

    def forward(self, batch: dict) -> torch.Tensor:
        """Standardised predictions ``(B, N, K)``; :meth:`to_physical` turns them into units."""
        coords = batch["coords"].float()
        if coords.shape[-1] != self.coord_dim:
            raise ValueError(
                f"batch['coords'] has shape {tuple(coords.shape)}; expected (N, {self.coord_dim}) "
                f"or (B, N, {self.coord_dim})"
            )
        if coords.ndim == 3 and coords.shape[0] == 1:
            coords = coords[0]
        distance = batch.get("distance") if self.boundary_factor else None
        z = self.combine(self.branch_features(batch), self.trunk_features(coords, distance))
        return self.apply_boundary(z, distance)

    def apply_boundary(self, z: torch.Tensor, distance: torch.Tensor | None) -> torch.Tensor:
        """Standardised ``(B, N, K)`` outputs times the boundary factor in physical units.

        ``u = phi * decode(z)`` is zero on the boundary by construction; the result is
        standardised again so that losses and :meth:`to_physical` stay unchanged. Without
        ``boundary_factor`` ``z`` is returned as is.
        """
        if not self.boundary_factor:
            return z
        if distance is None:
            raise ValueError("the batch needs 'distance' (B, N) for the boundary factor")
        phi = self.boundary_phi(distance).unsqueeze(-1)
        scaler = self.target_scaler
        u = scaler.inverse(z.to(scaler.std.dtype)) * phi.to(scaler.std.dtype)
        return scaler.transform(u).to(z.dtype)


@register_model(aliases=("sciml.physics.deeponet.MTDeepONet",))
class MTDeepONet(DeepONet):
    """Multi-task DeepONet: coefficient-aware branch, mask input channel, mask-multiplied output.

    The same network as :class:`DeepONet` with the multi-task switches on: the task's
    coefficient vector (e.g. the Fisher-KPP source coefficients) is part of every branch
    input, a CNN branch sees the binary geometry mask as a second channel, and the output
    is multiplied by the query-point mask, so points outside ``Omega`` are exactly zero and
    carry neither loss nor gradient. Defaults follow the paper's Fisher-KPP network
    (MLP branch [128, 128] with LayerNorm, trunk [128, 128, 128], ``p = 300``).

    Parameters
    ----------
    branch_in, coord_dim, p, n_outputs, branch, ...
        As in :class:`DeepONet`; ``mask_channel`` defaults to true for a CNN branch.
    **options
        The keyword-only options of :class:`DeepONet` (``boundary_factor``, ``log_input``,
        ``fourier_features``, ``trunk``, ...).
    """

    def __init__(
        self,
        branch_in: int | Sequence[int],
        coord_dim: int,
        p: int = 300,
        n_outputs: int = 1,
        branch: str = "mlp",
        branch_hidden: Sequence[int] = (128, 128),
        cnn_channels: Sequence[int] = (16, 32, 64, 64),
        layer_norm: bool = True,
        trunk_hidden: Sequence[int] = (128, 128, 128),
        activation: str = "tanh",
        n_coefficients: int = 0,
        coord_lower: Sequence[float] | None = None,
        coord_upper: Sequence[float] | None = None,
        mask_channel: bool | None = None,
        mask_output: bool = True,
        output_names: Sequence[str] | None = None,
        **options,
    ):
        super().__init__(
            branch_in,
            coord_dim,
            p,
            n_outputs,
            branch,
            branch_hidden,
            cnn_channels,
            layer_norm,
            trunk_hidden,
            activation,
            n_coefficients,
            coord_lower,
            coord_upper,
            branch == "cnn" if mask_channel is None else mask_channel,
            mask_output,
            output_names,
            **options,
        )


class MaskedFieldLoss(MultiTaskRegression):
    """Field loss for operator networks: masked regression on standardised outputs.

    The one masked path of :mod:`sciml.train`: :class:`~sciml.train.MultiTaskRegression`
    standardises the targets ``(B, N, K)`` with ``model.target_scaler`` and averages the
    elementwise loss over labelled points inside ``batch["mask"]`` (NaN targets and points
    outside the geometry never enter, nor carry gradient). :meth:`setup` also fits the
    branch and coefficient scalers (mask-aware, training split only, kept when already
    fitted, as when fine-tuning); :meth:`decode` returns physical units.

    Parameters
    ----------
    kind : {"mse", "rel_l2"}
        ``"mse"``: mean squared error in standardised units; ``"rel_l2"``: mean over samples
        of ``||m (u_hat - u)|| / ||m u||`` in physical units (the transfer loss of the paper).
    name : str
        Name of the loss term (default: ``kind``); with several outputs, ``name_<output>``.
    """

    def __init__(self, kind: str = "mse", name: str | None = None):
        if kind not in ("mse", "rel_l2"):
            raise ValueError(f"unknown field loss {kind!r}; choose 'mse' or 'rel_l2'")
        self.kind = kind
        self.name = name or kind
        super().__init__([self.name], loss="mse")

    def setup(self, model: nn.Module, train_batches) -> None:
        from sciml.physics.operator.data import fit_scalers

        names = list(getattr(model, "output_names", [self.name]))
        self.task_names = [self.name] if len(names) == 1 else [f"{self.name}_{o}" for o in names]
        fit_scalers(model, train_batches())

    def terms(self, outputs: torch.Tensor, batch: dict, model: nn.Module) -> dict:
        if outputs.shape[-1] != len(self.task_names):
            names = list(getattr(model, "output_names", []))
            self.task_names = (
                [self.name] if outputs.shape[-1] == 1 else [f"{self.name}_{o}" for o in names]
            )
        if self.kind == "mse":
            return super().terms(outputs, batch, model)
        y = batch["y"].float()
        self._check(outputs, y)
        valid = self._valid(y, batch)
        pred = self._scaler(model).inverse(outputs.to(torch.float64)).to(outputs.dtype)
        diff = torch.where(valid, pred - torch.nan_to_num(y), torch.zeros_like(pred))
        target = torch.where(valid, y, torch.zeros_like(y))
        num = diff.pow(2).sum(dim=(1, 2))
        den = target.pow(2).sum(dim=(1, 2)).clamp_min(1e-12)
        return {self.name: (num / den).sqrt().mean()}

    def metrics(self, target, pred) -> dict[str, float]:
        """Validation metrics of fields ``(S, N, K)``.

        The mean relative L2 per sample, then the regression metrics over points.
        """
        from sciml.metrics import relative_l2

        return {
            "rel_l2": float(relative_l2(target, pred, reduce="mean")),
            **super().metrics(target, pred),
        }
