r"""Gaussian random fields on the unit cube, sampled by their Karhunen-Loeve expansion.

The field is ``N(0, C)`` with covariance operator

.. math:: C = \sigma^2 (-\Delta + \tau^2 I)^{-\alpha},
          \qquad \sigma = \tau^{\alpha - d/2},

where the Laplacian has homogeneous Neumann boundary conditions on ``[0, 1]^d``. Its
eigenfunctions are products of cosines, so a sample is an inverse discrete cosine transform
of independent normal coefficients scaled by the square roots of the eigenvalues. The
constant mode is set to zero so every sample has mean zero. For ``d = 2``, ``alpha = 2``,
``tau = 3`` this is the generator used for the FNO Darcy benchmark (``GRF.m`` in the
neural-operator data scripts). Larger ``alpha`` or ``tau`` give smoother fields; ``alpha``
must exceed ``d / 2`` for the field to be continuous.

Values are returned at the cell centres ``(k + 1/2) / s``, ``k = 0, ..., s - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import fft

__all__ = ["gaussian_random_field", "gaussian_random_field_on", "grf_eigenvalue_sqrt"]


def grf_eigenvalue_sqrt(shape: Sequence[int], alpha: float, tau: float) -> np.ndarray:
    """Return ``sigma * (pi^2 |k|^2 + tau^2)^(-alpha/2)`` on the wave-number grid ``shape``.

    The ``k = 0`` entry is zero (mean-zero fields).
    """
    d = len(shape)
    wavenumbers = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    k2 = sum(k.astype(float) ** 2 for k in wavenumbers)
    sigma = tau ** (alpha - d / 2.0)
    coef = sigma * (np.pi**2 * k2 + tau**2) ** (-alpha / 2.0)
    coef[(0,) * d] = 0.0
    return coef


def gaussian_random_field(
    shape: int | Sequence[int],
    rng: np.random.Generator,
    *,
    alpha: float = 2.0,
    tau: float = 3.0,
) -> np.ndarray:
    """Draw one mean-zero Gaussian random field on a cell-centred grid of ``[0, 1]^d``.

    Parameters
    ----------
    shape
        Grid size ``s`` (1-D) or ``(s_1, ..., s_d)``.
    rng
        Source of the normal coefficients.
    alpha
        Smoothness exponent of the covariance, must be > d / 2.
    tau
        Inverse length scale of the covariance, > 0.

    Returns
    -------
    numpy.ndarray
        Field values, shape ``shape``, dimensionless.

    Examples
    --------
    >>> import numpy as np
    >>> field = gaussian_random_field((32, 32), np.random.default_rng(0))
    >>> field.shape, bool(abs(field.mean()) < 1e-12)
    ((32, 32), True)
    """
    shape = (int(shape),) if np.isscalar(shape) else tuple(int(n) for n in shape)
    d = len(shape)
    if alpha <= d / 2:
        raise ValueError(f"alpha must exceed d/2 = {d / 2} for a continuous field, got {alpha}")
    if tau <= 0:
        raise ValueError(f"tau must be positive, got {tau}")
    xi = rng.standard_normal(shape)
    # The orthonormal inverse DCT-II evaluates sum_k c_k phi_k(x_j) / sqrt(prod(s)) with the
    # L2-normalised cosines phi_k, hence the sqrt(prod(s)) factor on the coefficients.
    coefficients = np.sqrt(np.prod(shape)) * grf_eigenvalue_sqrt(shape, alpha, tau) * xi
    return fft.idctn(coefficients, type=2, norm="ortho")


def _cosine_basis(x: np.ndarray, n_modes: int) -> np.ndarray:
    """L2-orthonormal Neumann eigenfunctions on [0, 1] at points ``x``, shape ``(len(x), m)``."""
    k = np.arange(n_modes)
    basis = np.sqrt(2.0) * np.cos(np.pi * np.outer(x, k))
    basis[:, 0] = 1.0
    return basis


def gaussian_random_field_on(
    axes: Sequence[np.ndarray],
    rng: np.random.Generator,
    *,
    alpha: float = 2.0,
    tau: float = 3.0,
    n_modes: int | None = None,
) -> np.ndarray:
    """Draw one mean-zero Gaussian random field at the points of a tensor grid in ``[0, 1]^d``.

    Same law as :func:`gaussian_random_field`, but the Karhunen-Loeve series (truncated to
    ``n_modes`` cosines per axis) is evaluated at arbitrary coordinates, such as grid nodes
    that include the ends. Every sample satisfies zero-flux conditions at 0 and 1.

    Parameters
    ----------
    axes
        One 1-D coordinate array per dimension, values in ``[0, 1]``.
    rng
        Source of the normal coefficients.
    alpha, tau
        Covariance parameters, as in :func:`gaussian_random_field`.
    n_modes
        Cosines per axis; default the number of points on that axis.

    Returns
    -------
    numpy.ndarray
        Field values, shape ``tuple(len(a) for a in axes)``.
    """
    axes = [np.asarray(a, dtype=float) for a in axes]
    d = len(axes)
    if alpha <= d / 2:
        raise ValueError(f"alpha must exceed d/2 = {d / 2} for a continuous field, got {alpha}")
    if tau <= 0:
        raise ValueError(f"tau must be positive, got {tau}")
    modes = tuple(n_modes or a.size for a in axes)
    field = grf_eigenvalue_sqrt(modes, alpha, tau) * rng.standard_normal(modes)
    for axis, x in enumerate(axes):
        # Contract the mode index of this axis with its basis; the new point axis goes last,
        # so after d steps the axes are back in order.
        field = np.tensordot(field, _cosine_basis(x, modes[axis]), axes=([0], [1]))
    return field
