import numpy as np
import pytest

from sciml.physics.errors import SolverError
from sciml.physics.problems.fisher import (
    EXPONENTIAL,
    FAMILIES,
    HELD_OUT_FAMILIES,
    LOGISTIC,
    NEWELL_WHITEHEAD,
    TRAINING_FAMILIES,
    ZELDOVICH,
    FisherConfig,
    family_by_name,
    generate_fisher,
    reaction,
    solve_fisher,
)

U = np.linspace(0, 1, 101)


def _order(errors):
    return np.log2(np.array(errors[:-1]) / np.array(errors[1:]))


@pytest.mark.parametrize(
    ("family", "exact"),
    [
        (LOGISTIC, lambda u, a, b: a * u * (1 - u)),
        (NEWELL_WHITEHEAD, lambda u, a, b: a * (u - u**3)),
        (ZELDOVICH, lambda u, a, b: a * u**2 * (1 - u)),
        (
            EXPONENTIAL,
            lambda u, a, b: a * u * (1 - u) * (1 + b * (u - 1) + b**2 * (u - 1) ** 2 / 2),
        ),
    ],
)
def test_coefficients_reproduce_the_source_terms(family, exact):
    a, beta = 0.7, 1.3
    coefficients = family.coefficients(a, beta)
    assert coefficients.shape == (4,)
    np.testing.assert_allclose(reaction(U, coefficients), exact(U, a, beta), atol=1e-14)
    # every family keeps 0 and 1 as equilibria and grows in between
    assert reaction(np.array([0.0, 1.0]), coefficients) == pytest.approx([0.0, 0.0], abs=1e-14)
    assert np.all(reaction(U[1:-1], coefficients) > 0)


def test_exponential_polynomial_approximates_the_exponential_near_one():
    a, beta = 1.0, 2.0
    u = np.linspace(0.8, 1.0, 21)
    exact = a * u * (1 - u) * np.exp(beta * (u - 1))
    poly = reaction(u, EXPONENTIAL.coefficients(a, beta))
    # third-order Taylor remainder: |u(1-u)| beta^3 |u-1|^3 / 6 e^0
    bound = u * (1 - u) * beta**3 * (1 - u) ** 3 / 6 + 1e-15
    assert np.all(np.abs(poly - exact) <= bound)
    with pytest.raises(ValueError, match="beta"):
        EXPONENTIAL.coefficients(0.5)


def test_family_registry_and_unknown_names():
    assert set(FAMILIES) == {"logistic", "newell_whitehead", "exponential", "zeldovich"}
    assert ZELDOVICH in HELD_OUT_FAMILIES and ZELDOVICH not in TRAINING_FAMILIES
    assert family_by_name("logistic") is LOGISTIC
    with pytest.raises(ValueError, match="exponential, logistic, newell_whitehead, zeldovich"):
        family_by_name("kpp")
    with pytest.raises(ValueError, match="unknown reaction family 'kpp'"):
        FisherConfig(families=("logistic", "kpp"))


def test_pure_diffusion_second_order_in_space():
    d, t_end = 0.1, 0.5

    def error(nx):
        x = np.linspace(0, 1, nx)
        _, u = solve_fisher(
            0.5 + 0.5 * np.cos(np.pi * x),
            np.zeros(4),
            diffusivity=d,
            t_final=t_end,
            n_times=2,
            rtol=1e-11,
            atol=1e-13,
        )
        exact = 0.5 + 0.5 * np.exp(-d * np.pi**2 * t_end) * np.cos(np.pi * x)
        return np.abs(u[-1] - exact).max()

    orders = _order([error(n) for n in (17, 33, 65)])
    np.testing.assert_allclose(orders, 2.0, atol=0.05)


def test_manufactured_solution_with_reaction_second_order():
    d = 0.05
    c = LOGISTIC.coefficients(0.8)

    def exact(x, t):
        return 0.5 + 0.3 * np.exp(-t) * np.cos(2 * np.pi * x)

    def forcing(x, t):
        u = exact(x, t)
        u_t = -0.3 * np.exp(-t) * np.cos(2 * np.pi * x)
        u_xx = -0.3 * np.exp(-t) * (2 * np.pi) ** 2 * np.cos(2 * np.pi * x)
        return u_t - d * u_xx - reaction(u, c)

    def error(nx):
        x = np.linspace(0, 1, nx)
        t, u = solve_fisher(
            exact(x, 0.0),
            c,
            diffusivity=d,
            t_final=1.0,
            n_times=5,
            forcing=forcing,
            rtol=1e-11,
            atol=1e-13,
        )
        return np.abs(u - exact(x[None, :], t[:, None])).max()

    orders = _order([error(n) for n in (17, 33, 65)])
    assert np.all(orders > 1.9)


def test_uniform_state_follows_the_logistic_ode():
    a, u0 = 0.9, 0.1
    t, u = solve_fisher(
        np.full(16, u0), LOGISTIC.coefficients(a), t_final=3.0, n_times=7, rtol=1e-10, atol=1e-12
    )
    exact = u0 * np.exp(a * t) / (1 - u0 + u0 * np.exp(a * t))
    np.testing.assert_allclose(u, np.repeat(exact[:, None], 16, axis=1), rtol=1e-7)


def test_pure_diffusion_conserves_mass_with_neumann_ends():
    rng = np.random.default_rng(0)
    nx = 64
    x = np.linspace(0, 1, nx)
    u0 = rng.uniform(0, 1, nx)
    _, u = solve_fisher(
        u0, np.zeros(4), diffusivity=0.05, t_final=2.0, n_times=10, rtol=1e-10, atol=1e-12
    )
    mass = np.trapezoid(u, x, axis=1)
    np.testing.assert_allclose(mass, mass[0], rtol=1e-9)
    assert u[-1].std() < 0.1 * u0.std()  # and it does diffuse


def test_generated_solutions_stay_in_unit_interval_for_every_family():
    config = FisherConfig(nx=32, n_times=6, families=tuple(FAMILIES), t_final=2.0)
    ds = generate_fisher(8, config, seed=3)
    assert ds["u"].dims == ("sample", "t", "x") and ds["u"].shape == (8, 6, 32)
    assert ds["u"].min() >= -1e-7 and ds["u"].max() <= 1 + 1e-7
    np.testing.assert_allclose(ds["u"][:, 0], ds["u0"])
    np.testing.assert_allclose(ds["u0"].min("x"), 0)
    np.testing.assert_allclose(ds["u0"].max("x"), 1)
    assert list(ds["family"].values[:4]) == [
        "logistic",
        "newell_whitehead",
        "exponential",
        "zeldovich",
    ]
    assert ds["a"].min() >= 0.1 and ds["a"].max() <= 1.0
    uses_beta = ds["family"] == "exponential"
    assert np.all(np.isfinite(ds["beta"][uses_beta])) and np.all(np.isnan(ds["beta"][~uses_beta]))
    assert np.all((ds["beta"][uses_beta] >= 0.5) & (ds["beta"][uses_beta] <= 2.0))
    for i in range(8):
        family = FAMILIES[str(ds["family"][i].item())]
        np.testing.assert_allclose(
            ds["coefficients"][i], family.coefficients(float(ds["a"][i]), float(ds["beta"][i]))
        )
    assert list(ds["monomial"].values) == ["u", "u^2", "u^3", "u^4"]
    assert ds.attrs["pde"] == "fisher_kpp" and ds.attrs["seed"] == 3
    assert "Neumann" in ds.attrs["boundary_conditions"] and "sciml_version" in ds.attrs


def test_default_grid_matches_the_paper():
    config = FisherConfig()
    assert (config.nx, config.n_times) == (64, 20)
    assert (config.a_range, config.beta_range) == ((0.1, 1.0), (0.5, 2.0))


def test_blow_up_is_a_solver_error():
    with pytest.raises(SolverError, match="integration failed"):
        solve_fisher(np.ones(8), [0.0, 5.0, 0.0, 0.0], t_final=1.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="shape"):
        solve_fisher(np.ones(8), [1.0, 2.0])
    with pytest.raises(ValueError, match="diffusivity"):
        solve_fisher(np.ones(8), np.zeros(4), diffusivity=0.0)
