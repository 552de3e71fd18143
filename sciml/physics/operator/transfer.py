"""Transfer learning of operator networks: start from a trained source, fine-tune on a target.

The recipe (issue 13, measured on the Darcy transfer to ``square_with_cross``): fine-tune
*every* layer at a lower learning rate (:data:`TRANSFER_LR`) beat the partial freeze of
Kumar et al. (2024) every time, so it is the default; ``freeze="partial"`` keeps the paper's
variant (first branch layer, branch head, last trunk layer and the output bias trainable).

The source's standardisers, and a POD trunk's basis, are kept: :func:`fit_scalers
<sciml.physics.operator.data.fit_scalers>` leaves fitted scalers alone, so the target data
are seen through the source's statistics.

Examples
--------
>>> from sciml.physics.operator.transfer import prepare_transfer  # doctest: +SKIP
>>> model = prepare_transfer(source_model, freeze="none")  # doctest: +SKIP
>>> Trainer(model, MaskedFieldLoss("rel_l2"), TrainConfig(lr=TRANSFER_LR)).fit(target)  # doctest: +SKIP
"""

from __future__ import annotations

import copy

from torch import nn

__all__ = ["FREEZE", "TRANSFER_LR", "prepare_transfer"]

FREEZE = ("none", "partial")
"""Choices of :func:`prepare_transfer`'s ``freeze``."""

TRANSFER_LR = 3e-4
"""Peak learning rate of full fine-tuning (a third of the from-scratch default 1e-3)."""


def _linears(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def prepare_transfer(model: nn.Module, freeze: str = "none", *, copy_model: bool = True):
    """A source network ready to fine-tune on a new geometry or task.

    Parameters
    ----------
    model : DeepONet
        The trained source network.
    freeze : {"none", "partial"}
        ``"none"`` (default): every parameter trains (use a lower learning rate,
        :data:`TRANSFER_LR`). ``"partial"``: only the first branch layer (the first
        convolution of a CNN branch), the branch head's last layer, the last trunk layer and
        the output bias train; the rest is frozen.
    copy_model : bool
        Work on a deep copy (default), leaving the source untouched.

    Returns
    -------
    DeepONet
        The network to fine-tune (``requires_grad`` set per parameter).

    Raises
    ------
    ValueError
        For an unknown ``freeze``.
    """
    if freeze not in FREEZE:
        raise ValueError(f"unknown freeze {freeze!r}; choose one of: {', '.join(FREEZE)}")
    model = copy.deepcopy(model) if copy_model else model
    for param in model.parameters():
        param.requires_grad_(freeze == "none")
    if freeze == "partial":
        branch = _linears(model.branch_net)
        trunk = _linears(model.trunk_net)
        for module in (branch[0], branch[-1], *trunk[-1:]):
            for param in module.parameters():
                param.requires_grad_(True)
        model.bias.requires_grad_(True)
    return model
