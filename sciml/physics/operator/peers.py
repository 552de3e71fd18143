"""Peer operator networks from other libraries, wrapped to train in sciml's own Trainer.

:class:`NeuralOperatorFNO` wraps ``neuralop.models.FNO`` (neuraloperator, Li et al. 2021;
the ``peers`` extra: ``pip install 'sciml[peers]'``) so that it takes the same batches as
:class:`~sciml.physics.operator.networks.DeepONet` on a grid (branch image ``(B, C, H, W)``,
query points = the grid's nodes in C order), is trained by :class:`~sciml.train.Trainer` with
:class:`~sciml.physics.operator.networks.MaskedFieldLoss`, and is saved by
:func:`~sciml.train.save_checkpoint` as class + arguments + tensors, loadable with
``torch.load(weights_only=True)``. neuraloperator's own ``state_dict`` adds a pickled
``_metadata`` entry (its constructor arguments, including a function object), which a
weights-only load refuses; the wrapper leaves it out, since the checkpoint's ``hparams``
already rebuild the network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sciml.train.checkpoint import register_model
from sciml.train.normalize import Standardizer

__all__ = ["NeuralOperatorFNO"]


def _fno_class():
    try:
        from neuralop.models import FNO
    except ImportError as exc:
        raise ImportError(
            "NeuralOperatorFNO needs the neuraloperator package: pip install 'sciml[peers]' "
            "(or pip install neuraloperator)"
        ) from exc
    return FNO


@register_model
class NeuralOperatorFNO(nn.Module):
    """neuraloperator's Fourier neural operator on a grid, with sciml's batches and scalers.

    Parameters
    ----------
    branch_in : (int, int, int)
        ``(C, H, W)`` of the input field image (without the mask channel), as
        ``OperatorDataset.branch_in``.
    n_modes : (int, int)
        Fourier modes kept per direction (FNO paper, Darcy: 12, 12).
    hidden_channels : int
        Width of the Fourier layers (paper: 32).
    n_layers : int
        Fourier layers (paper: 4).
    n_outputs : int
        Output fields ``K``.
    mask_channel : bool
        Feed ``batch["mask_grid"]`` as an extra input channel (geometries inside the square).
    mask_output : bool
        Multiply the physical output by ``batch["mask"]`` in :meth:`to_physical`.
    output_names : sequence of str
        Names of the outputs (default ``u``, ``u1``, ...).

    Notes
    -----
    The input channels are standardised with the mask-aware ``input_scaler`` and the
    outputs are standardised values, as in the DeepONet, so :func:`fit_scalers`,
    :class:`MaskedFieldLoss` and the predictor treat both alike. neuraloperator appends the
    grid coordinates itself (``positional_embedding="grid"``). The output is defined on the
    input grid only: ``batch["coords"]`` must hold its ``H * W`` nodes.

    Examples
    --------
    >>> net = NeuralOperatorFNO((1, 16, 16), n_modes=(4, 4), hidden_channels=8)
    >>> out = net({"branch": torch.rand(2, 1, 16, 16), "coords": torch.rand(256, 2)})
    >>> tuple(out.shape)
    (2, 256, 1)
    """

    def __init__(
        self,
        branch_in: Sequence[int],
        n_modes: Sequence[int] = (12, 12),
        hidden_channels: int = 32,
        n_layers: int = 4,
        n_outputs: int = 1,
        mask_channel: bool = False,
        mask_output: bool = False,
        output_names: Sequence[str] | None = None,
    ):
        super().__init__()
        if isinstance(branch_in, int) or len(branch_in) != 3:
            raise ValueError(f"NeuralOperatorFNO needs branch_in = (C, H, W), got {branch_in!r}")
        c, h, w = (int(v) for v in branch_in)
        if len(n_modes) != 2 or any(m < 1 for m in n_modes):
            raise ValueError(f"n_modes must be two positive integers, got {tuple(n_modes)}")
        if n_modes[0] > h // 2 + 1 or n_modes[1] > w // 2 + 1:
            raise ValueError(
                f"n_modes {tuple(n_modes)} exceed what a {h} x {w} grid resolves "
                f"(at most {h // 2 + 1}, {w // 2 + 1})"
            )
        names = (
            list(output_names) if output_names else ["u"] + [f"u{k}" for k in range(1, n_outputs)]
        )
        if len(names) != n_outputs:
            raise ValueError(f"{len(names)} output names for {n_outputs} outputs")
        self.hparams = {
            "branch_in": [c, h, w],
            "n_modes": [int(m) for m in n_modes],
            "hidden_channels": hidden_channels,
            "n_layers": n_layers,
            "n_outputs": n_outputs,
            "mask_channel": mask_channel,
            "mask_output": mask_output,
            "output_names": names,
        }
        self.grid = (h, w)
        self.n_outputs, self.coord_dim, self.n_coefficients = n_outputs, 2, 0
        self.mask_channel, self.mask_output, self.output_names = mask_channel, mask_output, names
        self.fno = _fno_class()(
            n_modes=tuple(int(m) for m in n_modes),
            in_channels=c + int(mask_channel),
            out_channels=n_outputs,
            hidden_channels=hidden_channels,
            n_layers=n_layers,
        )
        self.input_scaler = Standardizer(c)
        self.coef_scaler = Standardizer(1)
        self.target_scaler = Standardizer(n_outputs)

    def state_dict(self, *args, **kwargs):
        """The tensors only: neuraloperator's pickled ``_metadata`` entry is left out."""
        state = super().state_dict(*args, **kwargs)
        state.pop("_metadata", None)
        return state

    def forward(self, batch: dict) -> torch.Tensor:
        """Standardised predictions ``(B, H * W, K)`` at the grid nodes in C order."""
        v = batch["branch"].float()
        expected = tuple(self.hparams["branch_in"])
        if v.ndim != 4 or tuple(v.shape[1:]) != expected:
            raise ValueError(
                f"batch['branch'] has shape {tuple(v.shape)}; expected (B, {expected[0]}, "
                f"{expected[1]}, {expected[2]})"
            )
        n_points = self.grid[0] * self.grid[1]
        coords = batch.get("coords")
        if coords is not None and coords.shape[-2] != n_points:
            raise ValueError(
                f"batch['coords'] holds {coords.shape[-2]} points; the FNO predicts at the "
                f"{self.grid[0]} x {self.grid[1]} = {n_points} nodes of its input grid only"
            )
        z = self.input_scaler.transform(v.movedim(1, -1)).movedim(-1, 1)
        if self.mask_channel:
            grid_mask = batch["mask_grid"].to(z.dtype)[:, None]
            z = torch.cat([z * grid_mask, grid_mask], dim=1)
        out = self.fno(z)
        return out.flatten(2).transpose(1, 2)

    def to_physical(self, z: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Standardised ``(B, N, K)`` to physical units, times the mask when ``mask_output``."""
        u = self.target_scaler.inverse(z.to(self.target_scaler.std.dtype)).to(z.dtype)
        if self.mask_output and mask is not None:
            u = u * mask.to(u.dtype).unsqueeze(-1)
        return u
