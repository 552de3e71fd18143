"""A synthetic sparse multi-task regression problem for tests, demos and docs."""

from __future__ import annotations

import numpy as np

__all__ = ["make_multitask_regression"]


def make_multitask_regression(
    n: int = 600,
    n_features: int = 8,
    missing: float = 0.4,
    scales: tuple[float, ...] = (1e-3, 1.0, 1e3),
    noise: float = 0.02,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smooth nonlinear tasks on very different scales, with labels missing at random.

    Parameters
    ----------
    n, n_features : int
        Samples and input features.
    missing : float
        Fraction of labels set to NaN, independently per entry.
    scales : tuple of float
        One scale per task; task ``t`` is ``scales[t] * (f_t(x) + 10)``.
    noise : float
        Gaussian noise in units of the task's standard deviation.
    seed : int
        Random seed.

    Returns
    -------
    x : ndarray, shape ``(n, n_features)``
    y : ndarray, shape ``(n, T)``
        Noisy targets with NaN where missing.
    y_clean : ndarray, shape ``(n, T)``
        Noise-free, complete targets (for evaluating).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_features))
    w = rng.normal(size=(len(scales), n_features)) / np.sqrt(n_features)
    base = [
        np.sin(x @ w[0]) + 0.5 * (x @ w[0]),
        (x @ w[1 % len(w)]) ** 2 / 2 - 0.5,
        np.tanh(x @ w[2 % len(w)]) * 2 + 0.3 * x[:, 0],
    ]
    clean = np.stack([s * (base[t % 3] + 10.0) for t, s in enumerate(scales)], axis=1)
    y = clean + noise * clean.std(0) * rng.normal(size=clean.shape)
    y[rng.random(y.shape) < missing] = np.nan
    return x.astype(np.float32), y, clean
