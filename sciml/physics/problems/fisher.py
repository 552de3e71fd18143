r"""Fisher-KPP reaction-diffusion in 1-D: reference solver and operator-learning data set.

Equation, on ``x in [0, 1]``, ``t in [0, T]``:

.. math:: u_t = D u_{xx} + R(u), \qquad R(u) = c_1 u + c_2 u^2 + c_3 u^3 + c_4 u^4,

with homogeneous Neumann (zero-flux) boundary conditions ``u_x(0, t) = u_x(1, t) = 0``.
Initial conditions are Gaussian random fields (:func:`~sciml.physics.data.grf.gaussian_random_field_on`,
built from cosines, so they satisfy the boundary conditions) rescaled to span ``[0, 1]``.

Every source term is a :class:`ReactionFamily` with amplitude ``a in [0.1, 1]`` and, for the
exponential family, ``beta in [0.5, 2]``; its coefficient vector ``(c_1, c_2, c_3, c_4)`` on
the monomials ``(u, u^2, u^3, u^4)`` is the multi-task branch input:

========================  ======================================  =========================
family                    R(u)                                    role
========================  ======================================  =========================
``logistic``              ``a u (1 - u)``                         training
``newell_whitehead``      ``a (u - u^3)``                         training
``exponential``           ``a u (1 - u) exp(beta (u - 1))``       training, degree-4 form
``zeldovich``             ``a u^2 (1 - u)``                       held out
========================  ======================================  =========================

The exponential family uses its Taylor polynomial about ``u = 1`` to second order,
``exp(beta (u - 1)) ~ 1 + beta (u - 1) + beta^2 (u - 1)^2 / 2``, which makes ``R`` exactly a
quartic. Expanding about ``u = 1`` rather than ``u = 0`` keeps ``R(0) = R(1) = 0`` and
``R > 0`` on ``(0, 1)`` (the quadratic factor has no real root), so like the other families
it leaves ``[0, 1]`` invariant; a Maclaurin truncation would give ``R(1) > 0`` and push
solutions above 1.

Space is discretised on ``nx`` nodes (including both ends) with the second-order Neumann
Laplacian of :func:`~sciml.physics.data._fd.laplacian_1d_neumann`; time by
``scipy.integrate.solve_ivp`` (BDF) with the exact sparse tridiagonal Jacobian.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from sciml.hygiene import require_variables
from sciml.physics.data._fd import laplacian_1d_neumann
from sciml.physics.data._parallel import run_samples
from sciml.physics.data.grf import gaussian_random_field_on
from sciml.physics.errors import SolverError
from sciml.physics.problems.base import Problem

__all__ = [
    "ReactionFamily",
    "LOGISTIC",
    "NEWELL_WHITEHEAD",
    "EXPONENTIAL",
    "ZELDOVICH",
    "FAMILIES",
    "TRAINING_FAMILIES",
    "HELD_OUT_FAMILIES",
    "FisherProblem",
    "MONOMIALS",
    "family_by_name",
    "reaction",
    "FisherConfig",
    "solve_fisher",
    "sample_fisher",
    "generate_fisher",
]

MONOMIALS = ("u", "u^2", "u^3", "u^4")
"""Names of the monomials the source coefficients multiply, in order."""


def _logistic(a: float, beta: float) -> np.ndarray:
    return a * np.array([1.0, -1.0, 0.0, 0.0])


def _newell_whitehead(a: float, beta: float) -> np.ndarray:
    return a * np.array([1.0, 0.0, -1.0, 0.0])


def _exponential(a: float, beta: float) -> np.ndarray:
    # p(u) = 1 + beta (u - 1) + beta^2 (u - 1)^2 / 2 = p0 + p1 u + p2 u^2, then (u - u^2) p(u).
    p0 = 1.0 - beta + beta**2 / 2.0
    p1 = beta - beta**2
    p2 = beta**2 / 2.0
    return a * np.array([p0, p1 - p0, p2 - p1, -p2])


def _zeldovich(a: float, beta: float) -> np.ndarray:
    return a * np.array([0.0, 1.0, -1.0, 0.0])


@dataclass(frozen=True)
class ReactionFamily:
    """A parametric family of polynomial source terms ``R(u)``.

    Parameters
    ----------
    name
        Short identifier stored in data sets.
    formula
        Human-readable ``R(u)``.
    uses_beta
        Whether the family depends on ``beta``.
    coefficient_fn
        ``(a, beta) -> (4,)`` coefficients on :data:`MONOMIALS`.
    """

    name: str
    formula: str
    uses_beta: bool
    coefficient_fn: Callable[[float, float], np.ndarray] = field(repr=False)

    def coefficients(self, a: float, beta: float = float("nan")) -> np.ndarray:
        """Return the coefficients ``(c_1, .., c_4)`` of ``R`` on ``(u, u^2, u^3, u^4)``."""
        if self.uses_beta and not np.isfinite(beta):
            raise ValueError(f"family {self.name!r} needs a finite beta")
        return self.coefficient_fn(float(a), float(beta))


LOGISTIC = ReactionFamily("logistic", "a u (1 - u)", False, _logistic)
NEWELL_WHITEHEAD = ReactionFamily("newell_whitehead", "a (u - u^3)", False, _newell_whitehead)
EXPONENTIAL = ReactionFamily(
    "exponential", "a u (1 - u) exp(beta (u - 1)), quartic Taylor form", True, _exponential
)
ZELDOVICH = ReactionFamily("zeldovich", "a u^2 (1 - u)", False, _zeldovich)

FAMILIES: dict[str, ReactionFamily] = {
    f.name: f for f in (LOGISTIC, NEWELL_WHITEHEAD, EXPONENTIAL, ZELDOVICH)
}
TRAINING_FAMILIES = (LOGISTIC, NEWELL_WHITEHEAD, EXPONENTIAL)
HELD_OUT_FAMILIES = (ZELDOVICH,)


def family_by_name(name: str) -> ReactionFamily:
    """Return the family called ``name``; the error lists the valid names."""
    from sciml._resolve import resolve

    return resolve("reaction family", name, FAMILIES)  # type: ignore[return-value]


def reaction(u: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """Evaluate ``R(u) = sum_k c_k u^k`` for ``k = 1..4``; ``u`` of any shape."""
    c1, c2, c3, c4 = coefficients
    return u * (c1 + u * (c2 + u * (c3 + u * c4)))


def _reaction_derivative(u: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    c1, c2, c3, c4 = coefficients
    return c1 + u * (2 * c2 + u * (3 * c3 + u * 4 * c4))


def solve_fisher(
    u0: np.ndarray,
    coefficients: Sequence[float],
    *,
    diffusivity: float = 0.01,
    t_final: float = 1.0,
    n_times: int = 20,
    forcing: Callable[[np.ndarray, float], np.ndarray] | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``u_t = D u_xx + R(u) (+ forcing)`` on ``[0, 1]`` with zero-flux ends.

    Parameters
    ----------
    u0
        Initial values at the ``nx`` equispaced nodes ``x = linspace(0, 1, nx)``, shape
        ``(nx,)``.
    coefficients
        ``(c_1, c_2, c_3, c_4)`` of ``R`` on ``(u, u^2, u^3, u^4)``.
    diffusivity
        ``D > 0``, in units of length^2 / time (domain length 1).
    t_final
        End time ``T > 0``.
    n_times
        Number of output snapshots at ``linspace(0, T, n_times)``, including ``t = 0``.
    forcing
        Optional extra source ``g(x, t) -> (nx,)``; used for manufactured solutions.
    rtol, atol
        Tolerances of the BDF integrator.

    Returns
    -------
    t : numpy.ndarray
        Snapshot times, shape ``(n_times,)``.
    u : numpy.ndarray
        Solution, shape ``(n_times, nx)``.

    Raises
    ------
    SolverError
        If the integrator fails (for example a source that blows up in finite time).
    """
    u0 = np.asarray(u0, dtype=float)
    coefficients = np.asarray(coefficients, dtype=float)
    if u0.ndim != 1 or u0.size < 3:
        raise ValueError(f"u0 must be 1-D with at least 3 nodes, got shape {u0.shape}")
    if coefficients.shape != (4,):
        raise ValueError(f"coefficients must have shape (4,), got {coefficients.shape}")
    if diffusivity <= 0 or t_final <= 0 or n_times < 2:
        raise ValueError("need diffusivity > 0, t_final > 0 and n_times >= 2")
    nx = u0.size
    x = np.linspace(0.0, 1.0, nx)
    diffusion = diffusivity * laplacian_1d_neumann(nx, 1.0 / (nx - 1))

    def rhs(t: float, u: np.ndarray) -> np.ndarray:
        du = diffusion @ u + reaction(u, coefficients)
        if forcing is not None:
            du += forcing(x, t)
        return du

    def jacobian(t: float, u: np.ndarray) -> sp.csc_matrix:
        return sp.csc_matrix(diffusion + sp.diags(_reaction_derivative(u, coefficients)))

    t_eval = np.linspace(0.0, t_final, n_times)
    solution = solve_ivp(
        rhs, (0.0, t_final), u0, method="BDF", t_eval=t_eval, jac=jacobian, rtol=rtol, atol=atol
    )
    if not solution.success or not np.all(np.isfinite(solution.y)):
        reached = solution.t[-1] if solution.t.size else 0.0
        raise SolverError(
            f"Fisher-KPP integration failed at t = {reached:.4g} of {t_final:.4g}: "
            f"{solution.message}"
        )
    return solution.t, solution.y.T


@dataclass(frozen=True)
class FisherConfig:
    """Settings of the Fisher-KPP data set.

    Attributes
    ----------
    nx
        Spatial nodes on ``[0, 1]`` (paper default 64).
    n_times
        Time snapshots including ``t = 0`` (paper default 20).
    t_final
        End time.
    diffusivity
        ``D``.
    families
        Names of the :data:`FAMILIES` to draw from; sample ``i`` uses
        ``families[i % len(families)]`` so the families are balanced.
    a_range, beta_range
        Uniform ranges of the amplitude and of the exponential family's ``beta``.
    ic_alpha, ic_tau
        Gaussian random field parameters of the initial condition.
    rtol, atol
        Integrator tolerances.
    """

    nx: int = 64
    n_times: int = 20
    t_final: float = 1.0
    diffusivity: float = 0.01
    families: tuple[str, ...] = tuple(f.name for f in TRAINING_FAMILIES)
    a_range: tuple[float, float] = (0.1, 1.0)
    beta_range: tuple[float, float] = (0.5, 2.0)
    ic_alpha: float = 2.0
    ic_tau: float = 5.0
    rtol: float = 1e-6
    atol: float = 1e-9

    def __post_init__(self) -> None:
        if not self.families:
            raise ValueError("at least one reaction family is needed")
        for name in self.families:
            family_by_name(name)
        if self.nx < 3 or self.n_times < 2:
            raise ValueError(f"need nx >= 3 and n_times >= 2, got {self.nx}, {self.n_times}")


def sample_fisher(index: int, seed: np.random.SeedSequence, config: FisherConfig) -> dict:
    """Draw and solve sample ``index`` of the data set (see :func:`generate_fisher`)."""
    rng = np.random.default_rng(seed)
    family = FAMILIES[config.families[index % len(config.families)]]
    a = rng.uniform(*config.a_range)
    beta = rng.uniform(*config.beta_range) if family.uses_beta else float("nan")
    x = np.linspace(0.0, 1.0, config.nx)
    field_ = gaussian_random_field_on([x], rng, alpha=config.ic_alpha, tau=config.ic_tau)
    u0 = (field_ - field_.min()) / (field_.max() - field_.min())
    coefficients = family.coefficients(a, beta)
    _, u = solve_fisher(
        u0,
        coefficients,
        diffusivity=config.diffusivity,
        t_final=config.t_final,
        n_times=config.n_times,
        rtol=config.rtol,
        atol=config.atol,
    )
    return {
        "u": u,
        "u0": u0,
        "coefficients": coefficients,
        "family": family.name,
        "a": a,
        "beta": beta,
    }


def generate_fisher(
    n: int,
    config: FisherConfig | None = None,
    *,
    seed: int = 0,
    workers: int = 1,
    client: Any = None,
    progress: bool = False,
):
    """Generate ``n`` Fisher-KPP solutions as an :class:`xarray.Dataset`.

    Parameters
    ----------
    n
        Number of samples.
    config
        Data set settings; defaults to :class:`FisherConfig`.
    seed
        Root seed; sample ``i`` uses ``SeedSequence(seed).spawn(n)[i]``.
    workers
        Local processes.
    client
        Optional Dask ``distributed.Client`` or scheduler address.
    progress
        Show a progress bar.

    Returns
    -------
    xarray.Dataset
        Dimensions ``sample``, ``t`` (``n_times``), ``x`` (``nx``), ``monomial`` (4).
        Variables: ``u`` ``(sample, t, x)`` solution; ``u0`` ``(sample, x)`` initial
        condition; ``coefficients`` ``(sample, monomial)`` source coefficients; ``family``,
        ``a`` and ``beta`` (NaN when unused) per sample.
    """
    import xarray as xr

    import sciml

    config = config or FisherConfig()
    results = run_samples(
        sample_fisher,
        seed,
        n,
        workers=workers,
        client=client,
        progress=progress,
        desc="fisher",
        config=config,
    )
    x = np.linspace(0.0, 1.0, config.nx)
    t = np.linspace(0.0, config.t_final, config.n_times)

    def stack(key: str) -> np.ndarray:
        return np.stack([r[key] for r in results])

    return xr.Dataset(
        data_vars={
            "u": (("sample", "t", "x"), stack("u"), {"long_name": "solution u(t, x)"}),
            "u0": (("sample", "x"), stack("u0"), {"long_name": "initial condition"}),
            "coefficients": (
                ("sample", "monomial"),
                stack("coefficients"),
                {"long_name": "source coefficients on (u, u^2, u^3, u^4)"},
            ),
            "family": (("sample",), stack("family").astype(str)),
            "a": (("sample",), stack("a"), {"long_name": "source amplitude"}),
            "beta": (("sample",), stack("beta"), {"long_name": "exponential rate (NaN: unused)"}),
        },
        coords={
            "sample": np.arange(n),
            "t": ("t", t, {"units": "dimensionless time"}),
            "x": ("x", x, {"units": "dimensionless length"}),
            "monomial": ("monomial", list(MONOMIALS)),
        },
        attrs={
            "pde": "fisher_kpp",
            "equation": "u_t = D u_xx + R(u), R(u) = sum_k c_k u^k, x in [0, 1]",
            "boundary_conditions": "homogeneous Neumann: u_x(0, t) = u_x(1, t) = 0",
            "parameters": json.dumps(asdict(config)),
            "seed": seed,
            "solver": "method of lines, 3-point Neumann Laplacian, solve_ivp BDF, sparse Jacobian",
            "sciml_version": sciml.__version__,
        },
    )


class FisherProblem(Problem):
    """1-D Fisher-KPP with polynomial source families: ``u(x, t)`` from ``u0`` and ``R``.

    Branch: the initial condition ``u0`` at the ``nx`` nodes plus the four source
    coefficients; trunk coordinates ``(x, t)``; no geometry mask.
    """

    name = "fisher"
    data_name = "fisher_kpp"
    data_names = ("fisher_kpp",)
    config_class = FisherConfig
    options = ("family",)
    coord_names = ("x", "t")
    grid_dims = ("t", "x")
    #: Variables a Fisher data set must hold (checked by :func:`sciml.hygiene.require_variables`).
    required_variables = ("u", "u0", "coefficients", "family")

    def config(self, resolution: int | None = None, family=None) -> FisherConfig:
        options: dict[str, Any] = {}
        if resolution is not None:
            options["nx"] = resolution
        if family:
            options["families"] = tuple(family)
        return FisherConfig(**options)

    def generate(self, n: int, config: FisherConfig | None = None, **run: Any):
        return generate_fisher(n, config, **run)

    def dataset(self, ds, indices=None):
        """Fisher-KPP samples: ``u(x, t)`` from ``u0`` and the source coefficients.

        Coords ``(nt * nx, 2)`` as ``(x, t)`` with point ``i * nx + j`` at ``(x_j, t_i)``;
        ``y`` ``(S, nt * nx, 1)``; branch ``u0`` ``(S, nx)``; ``coefficients`` ``(S, 4)``;
        labels = family names.
        """
        from sciml.physics.operator.data import OperatorDataset

        require_variables(ds, self.required_variables, self.name)
        ds = ds if indices is None else ds.isel(sample=np.asarray(indices))
        x, t = ds["x"].values, ds["t"].values
        tt, xx = np.meshgrid(t, x, indexing="ij")
        coords = np.stack([xx.ravel(), tt.ravel()], axis=-1)
        u = ds["u"].transpose("sample", "t", "x").values
        return OperatorDataset(
            coords,
            u.reshape(len(u), -1, 1),
            ds["u0"].values,
            grid_shape=(t.size, x.size),
            labels=ds["family"].values,
            coefficients=ds["coefficients"].values,
        )

    def inputs(self, ds) -> dict[str, np.ndarray]:
        require_variables(ds, ("u0", "coefficients"), self.name)
        return {"inputs": ds["u0"].values, "coefficients": ds["coefficients"].values}

    def input_domain(self, ds) -> dict:
        require_variables(ds, ("u0", "coefficients"), self.name)
        coefficients = ds["coefficients"].values
        return {
            "inputs": [float(np.nanmin(ds["u0"].values)), float(np.nanmax(ds["u0"].values))],
            "coefficients": [coefficients.min(0).tolist(), coefficients.max(0).tolist()],
            "families": sorted({str(f) for f in ds["family"].values}),
        }

    def default_model(
        self, data, *, multitask=True, p=None, width=128, activation="tanh", **options
    ):
        """MLP branch on ``u0`` plus the coefficients ([width] * 2 with LayerNorm, ``p = 300``)."""
        from sciml.physics.operator.networks import DeepONet, MTDeepONet

        kwargs = dict(
            p=p or 300,
            branch_hidden=(width, width),
            layer_norm=True,
            n_coefficients=data.n_coefficients,
            activation=activation,
            trunk_hidden=(width,) * 3,
            **self.coordinate_bounds(data),
        )
        kwargs.update(options)
        return (MTDeepONet if multitask else DeepONet)(data.branch_in, 2, **kwargs)

    def physics_terms(self, ds, data) -> list:
        """``u_t - D u_xx - R(u)`` at collocation points, zero flux at the ends, ``u(x, 0) = u0``."""
        from sciml.physics.operator.residuals import FisherResidual

        params = json.loads(ds.attrs["parameters"])
        return [FisherResidual(params["diffusivity"], params["t_final"])]

    def plot(self, ds, index: int = 0, *, ax=None):
        from sciml.physics.problems._plot import plot_fisher

        return plot_fisher(ds, index, ax=ax)
