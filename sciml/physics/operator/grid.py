r"""Grid operators for any 2-D shape: the geometry enters as input channels, not as a label.

A DeepONet with a mask channel learns the shapes it was shown; a convolutional (U-Net) or
Fourier (FNO) network that reads the geometry as images -- the mask, the distance to the
boundary and the permeability -- applies the same local rules everywhere, so a new shape is
new input, not a new task. Both networks here map the channels of :func:`shape_channels`
``(B, 4, H, W)`` to the pressure on the same grid, with ``u = 0`` on the boundary exact:

.. math:: u = d(x)\, d_{max}\, g_\theta(\text{channels}) / \bar K,

``d`` the distance to the boundary (zero outside), ``d_max`` its largest value (so ``g`` is
``O(1)`` for thin and fat domains alike: ``u ~ d_max^2`` for ``f = 1``), and ``\bar K`` the
geometric mean of ``K`` inside the domain. Dividing ``K`` by ``\bar K`` before the network and
``u`` by it afterwards is exact for Darcy (``u(cK) = u(K) / c``), so the level of ``K`` is never
extrapolated; only its contrast ``log K - log \bar K`` is an input.

Both classes are registered (:func:`~sciml.train.register_model`): checkpoints rebuild
them from their ``hparams`` with ``weights_only=True``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from sciml.train.checkpoint import register_model

__all__ = [
    "N_CHANNELS",
    "shape_channels",
    "GridOperator",
    "UNetOperator",
    "FNOOperator",
    "SuperpositionUNet",
]

N_CHANNELS = 4
"""Input channels of :func:`shape_channels`: mask, distance, distance / max, log-K contrast."""


def shape_channels(
    mask: np.ndarray, log_k: np.ndarray, spacing: float
) -> tuple[np.ndarray, np.ndarray]:
    """Input channels of a grid operator and the ``K`` level they were scaled by.

    Parameters
    ----------
    mask : bool array ``(S, H, W)``
        Nodes inside the domain (or on its boundary).
    log_k : array ``(S, H, W)``
        ``log K``; read only inside the mask.
    spacing : float
        Node spacing (the grid is uniform and square).

    Returns
    -------
    channels : float32 array ``(S, 4, H, W)``
        Mask, distance to the boundary ``d`` (``boundary_distance``: zero outside), ``d /
        d_max``, and ``log K - mean(log K)`` inside the mask (zero outside).
    log_level : array ``(S,)``
        ``mean(log K)`` inside each mask: the prediction is divided by ``exp(log_level)``.

    Raises
    ------
    ValueError
        If a mask is empty or the shapes differ.
    """
    from sciml.physics.data.geometry import boundary_distance

    mask = np.asarray(mask, dtype=bool)
    log_k = np.asarray(log_k, dtype=float)
    if mask.ndim != 3 or log_k.shape != mask.shape:
        raise ValueError(
            f"mask {mask.shape} and log K {log_k.shape} must both have shape (S, H, W)"
        )
    empty = np.flatnonzero(~mask.reshape(len(mask), -1).any(axis=1))
    if empty.size:
        raise ValueError(f"the mask of sample(s) {empty[:5].tolist()} is empty")
    axis = np.arange(mask.shape[1]) * spacing
    distance = boundary_distance(mask, (axis, np.arange(mask.shape[2]) * spacing))
    d_max = distance.reshape(len(mask), -1).max(axis=1)
    if np.any(d_max <= 0):
        bad = int(np.flatnonzero(d_max <= 0)[0])
        raise ValueError(
            f"sample {bad}: no node lies more than half a spacing inside the domain; the "
            "shape is too thin for this grid"
        )
    inside = np.where(mask, log_k, 0.0)
    level = inside.reshape(len(mask), -1).sum(1) / mask.reshape(len(mask), -1).sum(1)
    contrast = np.where(mask, log_k - level[:, None, None], 0.0)
    channels = np.stack(
        [mask.astype(float), distance, distance / d_max[:, None, None], contrast], axis=1
    )
    return channels.astype(np.float32), level


class GridOperator(nn.Module):
    """Base of the grid operators: the exact-boundary output ``u' = g * d * d_max``.

    Subclasses build ``self.body`` mapping ``(B, 4, H, W)`` to ``(B, 1, H, W)``.
    """

    hparams: dict

    def forward(self, channels: torch.Tensor) -> torch.Tensor:
        """``u * exp(log_level)`` on the grid, ``(B, H, W)``, zero outside the domain."""
        if channels.ndim != 4 or channels.shape[1] != N_CHANNELS:
            raise ValueError(
                f"channels have shape {tuple(channels.shape)}; expected (B, {N_CHANNELS}, H, W) "
                "from shape_channels"
            )
        g = self.body(channels)[:, 0]
        distance = channels[:, 1]
        d_max = distance.flatten(1).amax(1)[:, None, None]
        return g * distance * d_max

    def head_parameters(self) -> list[nn.Parameter]:
        """Weights of the last layer (what a light fine-tune adapts)."""
        return list(self.body.head.parameters())


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.GELU(),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.GELU(),
    )


class _UNet(nn.Module):
    def __init__(self, widths: Sequence[int], c_in: int = N_CHANNELS, c_out: int = 1):
        super().__init__()
        self.down = nn.ModuleList()
        c = c_in
        for w in widths:
            self.down.append(_block(c, w))
            c = w
        self.up = nn.ModuleList()
        self.reduce = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.reduce.append(nn.Conv2d(c, w, 1))
            self.up.append(_block(2 * w, w))
            c = w
        self.head = nn.Conv2d(c, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for k, block in enumerate(self.down):
            if k:
                x = nn.functional.avg_pool2d(x, 2, ceil_mode=True)
            x = block(x)
            skips.append(x)
        for reduce, block, skip in zip(self.reduce, self.up, reversed(skips[:-1]), strict=True):
            x = nn.functional.interpolate(
                reduce(x), size=skip.shape[-2:], mode="bilinear", align_corners=False
            )
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)


@register_model
class UNetOperator(GridOperator):
    """A U-Net on the shape channels: average-pool down, bilinear up, skip connections.

    Parameters
    ----------
    widths : sequence of int
        Channels per level, finest first; each level halves the grid (4 levels at 64 x 64
        reach 8 x 8, a receptive field covering the whole square, which an elliptic
        problem needs).

    Examples
    --------
    >>> net = UNetOperator((4, 8))
    >>> tuple(net(torch.rand(2, 4, 16, 16)).shape)
    (2, 16, 16)
    """

    def __init__(self, widths: Sequence[int] = (16, 32, 64, 96)):
        super().__init__()
        widths = [int(w) for w in widths]
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be positive channel counts, got {widths}")
        self.hparams = {"widths": widths}
        self.body = _UNet(widths)


@register_model
class FNOOperator(GridOperator):
    """neuraloperator's FNO on the shape channels.

    No positional embedding: the distance channels place every node, and flips and
    rotations of the grid stay exact symmetries.

    Parameters
    ----------
    n_modes : (int, int)
        Fourier modes kept per direction.
    hidden_channels, n_layers : int
        Width and depth of the Fourier layers.
    """

    def __init__(
        self, n_modes: Sequence[int] = (12, 12), hidden_channels: int = 24, n_layers: int = 4
    ):
        super().__init__()
        from sciml.physics.operator.peers import _fno_class

        self.hparams = {
            "n_modes": [int(m) for m in n_modes],
            "hidden_channels": int(hidden_channels),
            "n_layers": int(n_layers),
        }
        self.body = _fno_class()(
            n_modes=tuple(self.hparams["n_modes"]),
            in_channels=N_CHANNELS,
            out_channels=1,
            hidden_channels=hidden_channels,
            n_layers=n_layers,
            positional_embedding=None,
            domain_padding=0.25,
        )

    def head_parameters(self) -> list[nn.Parameter]:
        """Weights of the last layer: the second layer of the projection MLP."""
        return list(list(self.body.projection.fcs)[-1].parameters())

    def state_dict(self, *args, **kwargs):
        """The tensors only: neuraloperator's pickled ``_metadata`` entry is left out."""
        state = super().state_dict(*args, **kwargs)
        for key in [k for k in state if k.endswith("_metadata")]:
            state.pop(key)
        return state


@register_model
class SuperpositionUNet(nn.Module):
    """A linear problem's solution as ``sum_k c_k G_k(geometry)``: one U-Net field per term.

    For a linear PDE whose data enter as a few scalars (a source strength, boundary values),
    the solution on a fixed geometry is exactly a weighted sum of one response field per
    scalar. The U-Net reads only the geometry channels (e.g. the solid mask, a coordinate and
    the distance to the walls) and returns the ``n_terms`` response fields; the scalars weight
    them. Superposition is then exact, and the network never extrapolates in the scalars --
    what an MLP branch on a design vector (hole centres as an ordered list) cannot offer.

    Parameters
    ----------
    in_channels : int
        Geometry channels.
    n_terms : int
        Scalars (response fields).
    widths : sequence of int
        U-Net channels per level, finest first.

    Examples
    --------
    >>> net = SuperpositionUNet(in_channels=2, n_terms=3, widths=(4, 8))
    >>> tuple(net(torch.rand(2, 2, 16, 16), torch.rand(2, 3)).shape)
    (2, 16, 16)
    """

    def __init__(
        self, in_channels: int = 3, n_terms: int = 3, widths: Sequence[int] = (16, 32, 48, 64)
    ):
        super().__init__()
        widths = [int(w) for w in widths]
        if not widths or min(widths) < 1 or in_channels < 1 or n_terms < 1:
            raise ValueError(
                f"need positive widths, in_channels and n_terms, got {widths}, {in_channels}, "
                f"{n_terms}"
            )
        self.hparams = {"in_channels": int(in_channels), "n_terms": int(n_terms), "widths": widths}
        self.body = _UNet(widths, c_in=in_channels, c_out=n_terms)

    def fields(self, geometry: torch.Tensor) -> torch.Tensor:
        """The response fields ``(B, n_terms, H, W)`` of geometry channels ``(B, C, H, W)``."""
        c_in = self.hparams["in_channels"]
        if geometry.ndim != 4 or geometry.shape[1] != c_in:
            raise ValueError(
                f"geometry channels have shape {tuple(geometry.shape)}; expected (B, {c_in}, H, W)"
            )
        return self.body(geometry)

    def forward(self, geometry: torch.Tensor, scalars: torch.Tensor) -> torch.Tensor:
        """``sum_k scalars[:, k] * G_k``, shape ``(B, H, W)``."""
        n = self.hparams["n_terms"]
        if scalars.ndim != 2 or scalars.shape != (len(geometry), n):
            raise ValueError(
                f"scalars have shape {tuple(scalars.shape)}; expected ({len(geometry)}, {n})"
            )
        return torch.einsum("bkhw,bk->bhw", self.fields(geometry), scalars)
