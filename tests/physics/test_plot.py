import numpy as np
import pytest
from matplotlib.figure import Figure

from sciml.physics.data.geometry import annulus
from sciml.physics.plot import plot_field, plot_fisher, plot_heat, plot_sample, plot_samples
from sciml.physics.problems.darcy import DarcyConfig, generate_darcy
from sciml.physics.problems.fisher import FisherConfig, generate_fisher
from sciml.physics.problems.heat import HeatConfig, generate_heat


@pytest.fixture(scope="module")
def darcy():
    return generate_darcy(2, {"annulus": annulus()}, DarcyConfig(resolution=33))


def test_field_plot_blanks_points_outside_the_mask(darcy):
    fig = plot_field(darcy, 0)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    mesh = ax.collections[0]
    shown = np.ma.getmaskarray(mesh.get_array()).reshape(33, 33)  # (y, x) after transpose
    np.testing.assert_array_equal(shown, ~darcy["mask"].values[0].T)
    assert "annulus" in ax.get_title()
    assert len(ax.collections) >= 2  # field and geometry outline


def test_fisher_plot_shows_u_over_x_and_t():
    ds = generate_fisher(1, FisherConfig(nx=16, n_times=5))
    fig = plot_fisher(ds, 0)
    ax = fig.axes[0]
    np.testing.assert_allclose(np.asarray(ax.collections[0].get_array()).reshape(5, 16), ds["u"][0])
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "t"
    assert "logistic" in ax.get_title()


def test_heat_plot_and_dispatch(darcy):
    heat = generate_heat(1, HeatConfig(shape=(32, 32, 4)))
    fig = plot_heat(heat, 0, z=1)
    assert "holes" in fig.axes[0].get_title()
    grid = plot_samples(darcy, n=2)
    assert len([ax for ax in grid.axes if ax.get_title()]) == 2
    assert isinstance(plot_sample(heat), Figure)
    with pytest.raises(ValueError, match="pde=.navier_stokes.; expected one of"):
        plot_sample(darcy.assign_attrs(pde="navier_stokes"))
