import numpy as np
import pytest

from sciml.physics.data.grf import (
    gaussian_random_field,
    gaussian_random_field_on,
    grf_eigenvalue_sqrt,
)


def test_dct_sample_equals_karhunen_loeve_series_at_cell_centres():
    # Same normal draws: the inverse DCT must equal the cosine series evaluated directly.
    s = 24
    centres = (np.arange(s) + 0.5) / s
    a = gaussian_random_field((s, s), np.random.default_rng(7), alpha=2.5, tau=4.0)
    b = gaussian_random_field_on([centres, centres], np.random.default_rng(7), alpha=2.5, tau=4.0)
    np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("shape", [(64,), (32, 32)])
def test_pointwise_variance_matches_covariance_trace(shape):
    rng = np.random.default_rng(0)
    fields = np.stack([gaussian_random_field(shape, rng, alpha=2.0, tau=3.0) for _ in range(600)])
    expected = np.sum(grf_eigenvalue_sqrt(shape, 2.0, 3.0) ** 2)  # mean over x of Var U(x)
    assert fields.var(axis=0).mean() == pytest.approx(expected, rel=0.1)
    # every sample has zero spatial mean (constant mode removed)
    np.testing.assert_allclose(fields.reshape(600, -1).mean(axis=1), 0, atol=1e-12)


def test_fno_normalisation_matches_reference_formula():
    # GRF.m: coef = tau^(alpha-1) (pi^2 |k|^2 + tau^2)^(-alpha/2) for d = 2
    coef = grf_eigenvalue_sqrt((4, 4), 2.0, 3.0)
    k1, k2 = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    reference = 3.0 * (np.pi**2 * (k1**2 + k2**2) + 9.0) ** -1.0
    reference[0, 0] = 0
    np.testing.assert_allclose(coef, reference)


def test_samples_satisfy_zero_flux_at_the_ends():
    x = np.array([0.0, 1e-5, 1 - 1e-5, 1.0])
    for seed in range(5):
        f = gaussian_random_field_on(
            [x], np.random.default_rng(seed), alpha=2.0, tau=5.0, n_modes=64
        )
        assert abs(f[1] - f[0]) / 1e-5 < 1e-2
        assert abs(f[3] - f[2]) / 1e-5 < 1e-2


def test_larger_tau_gives_smoother_fields():
    x = np.linspace(0, 1, 200)

    def roughness(tau):
        rng = np.random.default_rng(1)
        fields = [gaussian_random_field_on([x], rng, alpha=2.0, tau=tau) for _ in range(50)]
        return np.mean([np.abs(np.diff(f)).sum() / f.std() for f in fields])

    assert roughness(20.0) > roughness(3.0)


def test_invalid_parameters():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="alpha must exceed"):
        gaussian_random_field((8, 8), rng, alpha=1.0)
    with pytest.raises(ValueError, match="tau"):
        gaussian_random_field_on([np.linspace(0, 1, 5)], rng, tau=0.0)
