"""Pure PINN mode: solve one Fisher-KPP instance with residual, BC and IC losses only.

No solution data: the :class:`~sciml.physics.operator.residuals.PhysicsOnly` objective
plus the residual hooks train a DeepONet on a single initial condition.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sciml.physics.operator.networks import DeepONet
from sciml.physics.operator.residuals import FisherResidual, PhysicsOnly

__all__ = ["solve_fisher_pinn"]


def _single_instance_setup(model: DeepONet) -> None:
    # One instance: the branch input is constant, so its statistics are degenerate;
    # identity input scalings keep the branch output an ordinary function of its weights.
    model.input_scaler.fitted.fill_(True)
    model.coef_scaler.fitted.fill_(True)


def solve_fisher_pinn(
    u0: np.ndarray,
    coefficients: Sequence[float],
    *,
    diffusivity: float = 0.01,
    t_final: float = 1.0,
    steps: int = 2000,
    lr: float = 2e-3,
    p: int = 64,
    hidden: int = 64,
    n_collocation: int = 512,
    seed: int = 0,
    weights: dict[str, float] | None = None,
):
    """Pure PINN mode: solve one Fisher-KPP instance with residual, BC and IC losses only.

    Parameters
    ----------
    u0 : array ``(nx,)``
        Initial condition at ``linspace(0, 1, nx)``.
    coefficients : sequence of 4 floats
        Source coefficients on ``(u, u^2, u^3, u^4)``.
    diffusivity, t_final : float
        ``D`` and the end time.
    steps : int
        Optimisation steps (one Trainer epoch each).
    lr, p, hidden, n_collocation, seed
        Optimiser and network settings.
    weights : dict, optional
        Static weights of ``pde``/``bc``/``ic`` (default ``{"ic": 10}``).

    Returns
    -------
    (DeepONet, pandas.DataFrame)
        The trained network (call it on ``{"branch": u0[None], "coefficients": c[None],
        "coords": (N, 2)}``) and the loss history.
    """
    from sciml.train import StaticWeighting, TrainConfig, Trainer

    u0 = np.asarray(u0, dtype=np.float32)
    c = np.asarray(coefficients, dtype=np.float32)
    model = DeepONet(
        u0.size,
        2,
        p=p,
        n_coefficients=4,
        branch_hidden=(hidden,),
        trunk_hidden=(hidden, hidden, hidden),
        coord_upper=(1.0, t_final),
    )
    _single_instance_setup(model)
    model.target_scaler.fitted.fill_(True)
    from sciml.physics.operator.data import OperatorDataset

    data = OperatorDataset(
        np.zeros((1, 2)), np.full((1, 1, 1), np.nan), u0[None], coefficients=c[None]
    )
    hook = FisherResidual(diffusivity, t_final, n_collocation, seed=seed)
    trainer = Trainer(
        model,
        PhysicsOnly(),
        TrainConfig(
            max_epochs=steps,
            batch_size=1,
            lr=lr,
            weight_decay=0.0,
            progress=False,
            seed=seed,
            warmup=0.02,
        ),
        weighting=StaticWeighting(weights or {"ic": 10.0}),
        extra_losses=[hook],
    )
    history = trainer.fit(data)
    return model.eval(), history
