"""Issue 30, PDE rows: a Fisher family without ``a``, a data set missing ``coefficients``,
``heat --resolution 3``."""

import numpy as np
import pytest
import torch

from sciml.cli import main
from sciml.physics.errors import GeometryError
from sciml.physics.operator.networks import MTDeepONet
from sciml.physics.operator_data import fisher_dataset
from sciml.physics.predictor import OperatorPredictor
from sciml.physics.problems.fisher import FisherConfig, FisherProblem, generate_fisher
from sciml.physics.problems.heat import HeatProblem

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def fisher_ds():
    return generate_fisher(4, FisherConfig(nx=16, n_times=5))


@pytest.fixture(scope="module")
def fisher(fisher_ds):
    from sciml.physics.operator.data import fit_scalers

    torch.manual_seed(0)
    data = fisher_dataset(fisher_ds)
    net = MTDeepONet(16, 2, p=8, branch_hidden=(8,), trunk_hidden=(8,), n_coefficients=4)
    fit_scalers(net, [data.collate([data[i] for i in range(len(data))])])
    return OperatorPredictor.from_dataset(net, fisher_ds)


def test_a_family_without_its_amplitude_is_an_error(fisher, fisher_ds):
    u0 = fisher_ds["u0"].values[:2]
    with pytest.raises(
        ValueError,
        match=r"family logistic needs the amplitude a \(logistic: "
        r"R\(u\) = a u \(1 - u\)\); pass a=\.\.\..*no default",
    ):
        fisher.predict(u0, family="logistic")
    field = fisher.predict(u0, family="logistic", a=0.5)
    assert np.isfinite(field.values).all()


def test_a_data_set_without_coefficients_names_the_required_variables(fisher_ds):
    broken = fisher_ds.drop_vars("coefficients")
    message = (
        r"this fisher data set has no variable\(s\) coefficients; a fisher data set "
        r"needs u, u0, coefficients, family \(it has: "
    )
    with pytest.raises(ValueError, match=message):
        FisherProblem().dataset(broken)
    with pytest.raises(ValueError, match="no variable"):
        FisherProblem().inputs(broken)


def test_too_coarse_a_heat_resolution_names_the_least_that_fits(tmp_path, capsys):
    with pytest.raises(
        GeometryError,
        match="resolution 3 is too coarse for this design .*; use a resolution of at least 6",
    ):
        HeatProblem().config(3)
    assert HeatProblem().config(6).shape[:2] == (6, 6)  # the least named does fit
    assert (
        main(
            [
                "pde",
                "generate",
                "heat",
                "--n",
                "1",
                "--resolution",
                "3",
                "--out",
                str(tmp_path / "h.nc"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "resolution 3 is too coarse for this design" in err and "at least 6" in err
    assert "larger than the plate" not in err
