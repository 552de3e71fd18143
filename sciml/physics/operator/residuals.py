"""Equation losses for DeepONets: PDE residuals and BC/IC terms as Trainer hooks.

- :func:`fisher_residual` -- ``u_t - D u_xx - R(u)`` from a field and its derivatives;
- :class:`FisherResidual` -- that residual on random collocation points, the zero-flux
  condition ``u_x = 0`` at ``x = 0, 1`` and the initial condition ``u(x, 0) = u0``;
- :class:`DarcyResidual` -- ``-div(K grad u) - f`` at interior grid nodes (``grad K`` by
  central differences of the permeability image) and ``u = 0`` on the boundary nodes;
- :class:`PhysicsOnly` -- an objective without data term, for pure PINN training.

Hooks follow ``Trainer(..., extra_losses=[hook])``: ``hook(model, batch, outputs)`` returns
named loss terms, weighted by the Trainer's weighting (``{"pde", "bc", "ic"}``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sciml.physics.operator.derivatives import field_derivatives
from sciml.train.losses import Objective

__all__ = ["fisher_residual", "FisherResidual", "DarcyResidual", "PhysicsOnly"]


def fisher_residual(
    u: torch.Tensor,
    u_t: torch.Tensor,
    u_xx: torch.Tensor,
    coefficients: torch.Tensor,
    diffusivity: float | torch.Tensor,
) -> torch.Tensor:
    """``u_t - D u_xx - sum_k c_k u^k`` for fields ``(B, N)`` and coefficients ``(B, 4)``."""
    c = coefficients[:, None, :]
    reaction = u * (c[..., 0] + u * (c[..., 1] + u * (c[..., 2] + u * c[..., 3])))
    return u_t - diffusivity * u_xx - reaction


def _generator(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


class FisherResidual:
    """Fisher-KPP physics terms as a Trainer hook: ``{"pde", "bc", "ic"}``.

    Coordinates are ``(x, t)`` on ``[0, 1] x [0, t_final]``. Collocation points are redrawn
    every call (uniform); the initial condition is compared at the branch sensors
    ``x = linspace(0, 1, nx)``, where ``batch["branch"]`` holds ``u0``.

    Parameters
    ----------
    diffusivity : float
        ``D``; a model with a ``diffusivity`` attribute (the inverse problem) overrides it.
    t_final : float
        End time of the domain.
    n_collocation, n_boundary : int
        Residual points and boundary times per call.
    seed : int
        Seed of the point sampler.
    """

    def __init__(
        self,
        diffusivity: float = 0.01,
        t_final: float = 1.0,
        n_collocation: int = 256,
        n_boundary: int = 32,
        seed: int = 0,
    ):
        self.diffusivity, self.t_final = diffusivity, t_final
        self.n_collocation, self.n_boundary = n_collocation, n_boundary
        self.generator = _generator(seed)

    def __call__(self, model: nn.Module, batch: dict, outputs=None) -> dict[str, torch.Tensor]:
        model = getattr(model, "module", model)
        device = batch["branch"].device
        scale = torch.tensor([1.0, self.t_final])
        pts = (torch.rand(self.n_collocation, 2, generator=self.generator) * scale).to(device)
        d = field_derivatives(model, batch, pts)
        u, u_t = d["u"][..., 0], d["grad"][..., 0, 1]
        u_xx = d["d2"][..., 0, 0]
        if hasattr(model, "reaction_coefficients"):
            coefficients = model.reaction_coefficients(len(u)).to(u)
        else:
            coefficients = batch["coefficients"].to(u)
        diffusivity = getattr(model, "diffusivity", self.diffusivity)
        pde = fisher_residual(u, u_t, u_xx, coefficients, diffusivity).pow(2).mean()
        times = torch.rand(self.n_boundary, generator=self.generator) * self.t_final
        ends = torch.cat(
            [
                torch.stack([torch.zeros_like(times), times], 1),
                torch.stack([torch.ones_like(times), times], 1),
            ]
        ).to(device)
        flux = field_derivatives(model, batch, ends, second=False)["grad"][..., 0, 0]
        u0 = batch["branch"].float()
        sensors = torch.linspace(0.0, 1.0, u0.shape[1], device=device)
        initial = torch.stack([sensors, torch.zeros_like(sensors)], 1)
        u_init = model.to_physical(
            model.combine(model.branch_features(batch), model.trunk_features(initial))
        )[..., 0]
        return {"pde": pde, "bc": flux.pow(2).mean(), "ic": (u_init - u0).pow(2).mean()}


class DarcyResidual:
    """Darcy physics terms as a Trainer hook: ``{"pde", "bc"}``.

    ``-div(K grad u) = f`` is expanded as ``-(K lap u + grad K . grad u) = f`` at
    ``n_collocation`` random grid nodes per call, counted only for samples where the node is
    an interior node (inside the mask together with its four neighbours). ``K`` and
    ``grad K`` come from the permeability image ``batch["branch"]`` (``(B, 1, H, W)``, on the
    grid of ``batch["coords"]``). The boundary term asks ``u = 0`` at mask nodes with a
    neighbour outside (the unit-square frame counts as outside).

    Parameters
    ----------
    grid_shape : (int, int)
        ``(H, W)`` of the node grid.
    spacing : (float, float)
        Node spacing ``(hx, hy)``.
    source : float
        ``f``.
    n_collocation : int
        Nodes per call.
    seed : int
        Seed of the node sampler.
    """

    def __init__(
        self,
        grid_shape: Sequence[int],
        spacing: Sequence[float],
        source: float = 1.0,
        n_collocation: int = 512,
        seed: int = 0,
    ):
        self.grid_shape = tuple(grid_shape)
        self.spacing = tuple(float(h) for h in spacing)
        self.source, self.n_collocation = source, n_collocation
        self.generator = _generator(seed)

    def _interior(self, mask: torch.Tensor) -> torch.Tensor:
        padded = torch.nn.functional.pad(mask.float(), (1, 1, 1, 1))[:, None]
        kernel = torch.tensor(
            [[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=padded.dtype, device=padded.device
        )[None, None]
        return torch.nn.functional.conv2d(padded, kernel)[:, 0] > 4.5

    def __call__(self, model: nn.Module, batch: dict, outputs=None) -> dict[str, torch.Tensor]:
        model = getattr(model, "module", model)
        h, w = self.grid_shape
        k = batch["branch"][:, 0].float()
        grid_mask = (
            batch["mask_grid"].bool()
            if "mask_grid" in batch
            else torch.ones_like(k, dtype=torch.bool)
        )
        interior = self._interior(grid_mask).reshape(len(k), -1)
        k_x, k_y = torch.gradient(k, spacing=self.spacing, dim=(1, 2))
        flat = torch.randint(0, h * w, (self.n_collocation,), generator=self.generator).to(k.device)
        pts = batch["coords"].reshape(-1, 2)[flat].float()
        d = field_derivatives(model, batch, pts)
        grad, d2 = d["grad"][..., 0, :], d["d2"][..., 0, :]
        kk = k.reshape(len(k), -1)[:, flat]
        gk = torch.stack([k_x.reshape(len(k), -1)[:, flat], k_y.reshape(len(k), -1)[:, flat]], -1)
        residual = -(kk * d2.sum(-1) + (gk * grad).sum(-1)) - self.source
        weight = interior[:, flat].to(residual.dtype)
        pde = (residual.pow(2) * weight).sum() / weight.sum().clamp_min(1.0)
        boundary = (grid_mask.reshape(len(k), -1) & ~interior).to(residual.dtype)
        u_all = model.to_physical(
            model.combine(
                model.branch_features(batch),
                model.trunk_features(batch["coords"].reshape(-1, 2).float()),
            )
        )
        bc = (u_all[..., 0].pow(2) * boundary).sum() / boundary.sum().clamp_min(1.0)
        return {"pde": pde, "bc": bc}


class PhysicsOnly(Objective):
    """An objective with no data term, for pure PINN training (the hooks supply every term).

    ``decode`` returns the predictions, so ``Trainer.predict`` works.
    """

    def terms(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor]:
        return {}

    def decode(self, outputs, batch: dict, model: nn.Module) -> dict[str, torch.Tensor]:
        return {"pred": model.to_physical(outputs).double()}
