"""The Problem objects: one per PDE, found by name or by data set, each owning its parts."""

import matplotlib
import numpy as np
import pytest

from sciml.physics.problems import PROBLEM_NAMES, Problem, get_problem, problem_of
from sciml.physics.problems.darcy import DarcyFNOProblem, DarcyProblem
from sciml.physics.problems.fisher import FisherProblem
from sciml.physics.problems.heat import HeatProblem

matplotlib.use("Agg")

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"fisher": 8, "darcy": 12, "darcy_fno": 41, "heat": 16}


def test_resolver_names_every_problem_and_lists_them_when_wrong():
    assert [get_problem(n).name for n in PROBLEM_NAMES] == list(PROBLEM_NAMES)
    assert isinstance(get_problem("darcy_fno"), DarcyFNOProblem)
    problem = HeatProblem()
    assert get_problem(problem) is problem
    with pytest.raises(ValueError, match="unknown problem 'burgers'; choose one of: darcy, "):
        get_problem("burgers")


@pytest.fixture(scope="module", params=PROBLEM_NAMES)
def generated(request):
    problem = get_problem(request.param)
    extra = {"n_test": 1} if request.param == "darcy_fno" else {}
    return problem, problem.generate(2, problem.config(SMALL[request.param]), **extra)


def test_each_problem_owns_data_inputs_model_and_plot(generated):
    problem, ds = generated
    assert problem_of(ds) is not None and type(problem_of(ds)) is type(problem)
    problem.check_data(ds)
    data = problem.dataset(ds)
    n = ds.sizes["sample"]
    assert len(data) == n and data.coords.shape[1] == len(problem.coord_names)
    inputs = problem.inputs(ds)
    assert inputs["inputs"].shape[0] == n and inputs["inputs"].ndim == 1 + problem.branch_ndim
    model = problem.default_model(data, p=4, width=8)
    batch = data.collate([data[i] for i in range(n)])
    assert tuple(model(batch).shape) == (n, len(data.coords), 1)
    assert set(problem.input_domain(ds)) >= {"inputs"}
    fig = problem.plot(ds, 0)
    assert fig.axes


def test_physics_terms_where_the_problem_has_them(generated):
    problem, ds = generated
    data = problem.dataset(ds)
    if isinstance(problem, HeatProblem):
        with pytest.raises(NotImplementedError, match="not available for heat"):
            problem.physics_terms(ds, data)
        return
    # Residuals differentiate a trunk of the coordinates alone: the learned boundary.
    model = problem.default_model(data, p=4, width=8, boundary_factor=False)
    hook = problem.physics_terms(ds, data)[0]
    batch = data.collate([data[i] for i in range(len(data))])
    terms = hook(model, batch, model(batch))
    assert {"pde", "bc"} <= set(terms) and all(np.isfinite(float(v)) for v in terms.values())
    if isinstance(problem, DarcyProblem):  # the default exact boundary says so
        exact = problem.default_model(data, p=4, width=8)
        with pytest.raises(ValueError, match="build it with boundary_factor=False"):
            hook(exact, batch, exact(batch))


def test_fno_split_validates_on_training_samples_only():
    # Issue 28: validation comes out of the benchmark's training samples; the test samples
    # (3, 4) are never used to pick an epoch.
    problem = DarcyFNOProblem()
    ds = problem.generate(3, problem.config(41), n_test=2)
    train, val = problem.split(ds, 0.5, seed=0)
    assert sorted([*train, *val]) == [0, 1, 2] and len(val) == 2
    assert problem.test_indices(ds).tolist() == [3, 4]
    train, val = DarcyProblem().split(ds, 0.4, seed=0)
    assert len(val) == 2 and sorted([*train, *val]) == list(range(5))


def test_data_of_another_problem_is_named():
    ds = FisherProblem().generate(1, FisherProblem().config(8))
    with pytest.raises(ValueError, match="holds a fisher_kpp data set; the model is a heat model"):
        HeatProblem().check_data(ds)


def test_a_user_problem_is_a_plain_subclass():
    class Constant(Problem):
        name = "constant"

    with pytest.raises(NotImplementedError, match="constant has no data generator"):
        Constant().generate(1)
    assert repr(Constant()) == "Constant()"
