"""Exact coordinate derivatives of DeepONet fields, for the whole batch at once.

In a Cartesian-product DeepONet ``u_b(x) = sum_j b_bj t_j(x) + c`` the coordinates enter
only through the trunk, so every coordinate derivative of every sample is a contraction of
the branch output with the *same* trunk derivatives:
``d^k u_b / dx^k = sum_j b_bj d^k t_j / dx^k``. :func:`trunk_derivatives` computes the trunk
features, their gradients and the diagonal of their Hessians once per step in forward mode
(propagated layer by layer through the trunk MLP; ``torch.func`` ``vmap``/``jacfwd`` for
other trunks), and :func:`field_derivatives` contracts them with the branch of the whole
batch in one ``einsum``. DeepXDE's ``PDEOperatorCartesianProd`` instead loops over the
functions of the batch and builds reverse-mode Hessians per function (see
``benchmarks/mt_deeponet.py`` for the timing). The result is exact (no finite
differences); ``tests/physics/operator/test_pinn.py`` checks it against per-sample autograd.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import jacfwd, vmap

from sciml.physics.operator.networks import DeepONet

__all__ = ["trunk_derivatives", "field_derivatives"]


def _activation_derivatives(module: nn.Module, h: torch.Tensor):
    """Value, first and second derivative of an elementwise activation at ``h`` (or None)."""
    if isinstance(module, nn.Tanh):
        y = torch.tanh(h)
        d1 = 1 - y * y
        return y, d1, -2 * y * d1
    if isinstance(module, nn.SiLU):
        s = torch.sigmoid(h)
        ds = s * (1 - s)
        return h * s, s + h * ds, 2 * ds + h * ds * (1 - 2 * s)
    if isinstance(module, nn.ReLU):
        return torch.relu(h), (h > 0).to(h), torch.zeros_like(h)
    return None


def _taylor_trunk(model: DeepONet, coords: torch.Tensor, second: bool):
    """Propagate values, Jacobians and diagonal Hessians through the trunk MLP in one pass."""
    scale = 2.0 / (model.coord_upper - model.coord_lower)
    h = (coords - model.coord_lower) * scale - 1.0
    n, d = coords.shape
    dh = torch.diag_embed(scale.expand(n, d))  # (N, width, d): d h_w / d x_i
    d2h = torch.zeros_like(dh) if second else None
    for module in [*model.trunk_net, model.trunk_activation]:
        if isinstance(module, nn.Linear):
            h = module(h)
            dh = torch.einsum("nwd,vw->nvd", dh, module.weight)
            if second:
                d2h = torch.einsum("nwd,vw->nvd", d2h, module.weight)
            continue
        parts = _activation_derivatives(module, h)
        if parts is None:
            return None
        h, a1, a2 = parts
        if second:
            d2h = a1[..., None] * d2h + a2[..., None] * dh * dh
        dh = a1[..., None] * dh
    return (h, dh, d2h) if second else (h, dh)


def trunk_derivatives(model: DeepONet, coords: torch.Tensor, *, second: bool = True):
    """Trunk features and their exact coordinate derivatives at ``N`` points.

    For MLP trunks with ``tanh``, ``silu`` or ``relu`` the derivatives are propagated
    layer by layer in forward mode (value, Jacobian and diagonal Hessian together, about
    ``1 + 2 d`` forward passes of work); other trunks fall back to ``torch.func``
    (``vmap`` of ``jacfwd``).

    Parameters
    ----------
    model : DeepONet
        Any model with ``trunk_features((d,)) -> (p,)``.
    coords : Tensor, shape ``(N, d)``
        Physical coordinates.
    second : bool
        Also return the diagonal second derivatives.

    Returns
    -------
    t : Tensor ``(N, p)``
    dt : Tensor ``(N, p, d)`` -- ``d t_j / d x_i``
    d2t : Tensor ``(N, p, d)`` -- ``d^2 t_j / d x_i^2`` (only if ``second``)
    """
    coords = coords.float()
    if getattr(model, "boundary_factor", False) or getattr(model, "trunk", "mlp") != "mlp":
        raise ValueError(
            "PDE residuals need a trunk of the coordinates alone: this model multiplies its "
            "output by a boundary distance factor (boundary_factor) or uses a POD trunk; "
            "train it without physics terms, or build it with boundary_factor=False"
        )
    plain = not getattr(model, "fourier_features", 0)
    if plain and type(model).trunk_features is DeepONet.trunk_features:
        fast = _taylor_trunk(model, coords, second)
        if fast is not None:
            return fast
    f = model.trunk_features
    t = f(coords)
    dt = vmap(jacfwd(f))(coords).to(t.dtype)
    if not second:
        return t, dt
    hess = vmap(jacfwd(jacfwd(f)))(coords).to(t.dtype)  # (N, p, d, d)
    return t, dt, torch.diagonal(hess, dim1=-2, dim2=-1)


def field_derivatives(
    model: DeepONet, batch: dict, coords: torch.Tensor, *, second: bool = True
) -> dict[str, torch.Tensor]:
    """The predicted field and its coordinate derivatives for the whole batch at once.

    Parameters
    ----------
    model : DeepONet
        The operator network (branch evaluated on ``batch``).
    batch : dict
        Branch inputs of ``B`` samples.
    coords : Tensor ``(N, d)``
        Points shared by the batch.
    second : bool
        Also return the second derivatives.

    Returns
    -------
    dict
        ``"u"`` ``(B, N, K)``, ``"grad"`` ``(B, N, K, d)``, ``"d2"`` ``(B, N, K, d)``
        (diagonal second derivatives), all in physical units and without the output mask
        (residuals are evaluated inside the domain, where the mask is 1).
    """
    parts = trunk_derivatives(model, coords, second=second)
    branch = model.branch_features(batch)  # (B, K, p)
    std = model.target_scaler.std.to(branch)
    mean = model.target_scaler.mean.to(branch)
    z = torch.einsum("bkp,np->bnk", branch, parts[0]) + model.bias
    out = {
        "u": z * std + mean,
        "grad": torch.einsum("bkp,npd->bnkd", branch, parts[1]) * std[:, None],
    }
    if second:
        out["d2"] = torch.einsum("bkp,npd->bnkd", branch, parts[2]) * std[:, None]
    return out
