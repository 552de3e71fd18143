"""The any-shape Darcy model: out-of-domain flags, exact scaling, bad input, adaptation."""

import warnings

import numpy as np
import pytest
import torch

from sciml.physics.any_shape import AnyShapeDarcy, ShapeDescriptor, shape_features
from sciml.physics.data.geometry import (
    SHAPES,
    Disk,
    Grid,
    difference,
    random_polygons,
    rasterize,
)
from sciml.physics.errors import (
    GeometryError,
    NonFiniteOutputError,
    OutOfDomainWarning,
    ResolutionError,
)
from sciml.physics.operator.grid import UNetOperator

pytestmark = pytest.mark.usefixtures("one_thread")

N = 32
GRID = Grid.uniform((N, N))
H = 1 / (N - 1)


def disks(seed, n=20):
    rng = np.random.default_rng(seed)
    return np.stack(
        [
            rasterize(Disk(list(rng.uniform(0.35, 0.65, 2)), float(rng.uniform(0.2, 0.33))), GRID)
            for _ in range(n)
        ]
    )


@pytest.fixture(scope="module")
def disk_descriptor():
    return ShapeDescriptor.fit(disks(0), H).calibrate(disks(1))


@pytest.fixture(scope="module")
def model(disk_descriptor):
    torch.manual_seed(0)
    return AnyShapeDarcy(UNetOperator((4, 8)), N, disk_descriptor, (-2.0, 2.0), {"test": 1})


def test_features_of_a_known_shape():
    features = shape_features(rasterize(SHAPES["annulus"](), GRID), H)[0]
    area, perimeter, holes, parts = features[:4]
    assert holes == 1 and parts == 1
    assert area == pytest.approx(np.pi * (0.5**2 - 0.25**2), rel=0.1)
    assert perimeter > 2 * np.pi * 0.75  # staircase perimeters exceed the true one


def test_square_with_cross_is_out_of_domain_for_a_disk_model(disk_descriptor):
    ok, reasons = disk_descriptor.check(rasterize(SHAPES["square_with_cross"](), GRID))
    assert not ok
    text = "; ".join(reasons)
    assert "holes 1 outside the training range 0 to 0" in text
    assert "nearest training shape overlaps only" in text
    ok, reasons = disk_descriptor.check(rasterize(Disk([0.5, 0.5], 0.3), GRID))
    assert ok, reasons


def test_predict_reports_in_domain_and_reason(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        u = model.predict(Disk([0.5, 0.5], 0.3))
    assert bool(u.in_domain) and u.attrs["domain_reason"] == ""
    assert u.shape == (N, N) and np.isnan(u.values[0, 0]) and np.isfinite(u.values[N // 2, N // 2])
    with pytest.warns(OutOfDomainWarning, match="unlike the training data"):
        u = model.predict("square_with_cross")
    assert not bool(u.in_domain) and "holes" in u.attrs["domain_reason"]
    # The K check stays: a contrast far outside the training range is flagged too.
    x = np.linspace(0, 1, N)
    wild = np.exp(8 * np.sin(6 * x)[:, None] * np.ones(N))
    with pytest.warns(OutOfDomainWarning):
        u = model.predict(Disk([0.5, 0.5], 0.3), wild)
    assert "log K contrast" in u.attrs["domain_reason"]


def test_level_of_k_is_exact(model):
    shape = Disk([0.5, 0.5], 0.3)
    k = np.exp(np.random.default_rng(0).standard_normal((N, N)) * 0.3)
    u1 = model.predict(shape, k).values
    u2 = model.predict(shape, 7.0 * k).values
    np.testing.assert_allclose(u2, u1 / 7.0, rtol=1e-5)


def test_bad_inputs(model, tmp_path):
    with pytest.raises(ValueError, match="strictly positive in the domain"):
        model.predict("circle", -1.0)
    with pytest.raises(ValueError, match="permeability has shape"):
        model.predict("circle", np.ones((5, 5)))
    # a mask array gets the checks a mask file gets
    with pytest.raises(GeometryError, match="the mask array: the mask holds NaN"):
        model.predict(np.full((N, N), np.nan))
    with pytest.raises(GeometryError, match="mask array has 3 dimension"):
        model.predict(np.ones((N, N, 2), bool))
    bar = np.zeros((N, N), bool)
    bar[4:-4, N // 2 : N // 2 + 2] = True  # two nodes thick
    with pytest.raises(ResolutionError):
        model.predict(bar)
    with pytest.raises(ValueError, match="steps must be a whole number >= 0, got -5"):
        model.adapt("circle", steps=-5)
    np.save(tmp_path / "v.npy", np.ones((8, 8, 4)))
    with pytest.raises(GeometryError, match="3-D geometry, but the darcy problem is 2-D"):
        model.predict(str(tmp_path / "v.npy"))
    broken = AnyShapeDarcy(UNetOperator((4, 8)), N, model.descriptor, model.contrast)
    with torch.no_grad():
        broken.model.body.head.bias.fill_(float("nan"))
    with pytest.raises(NonFiniteOutputError, match="any-shape Darcy network returned"):
        broken.predict("circle")


def test_one_mask_is_one_domain_from_an_array_npy_or_netcdf(model, tmp_path):
    # A 2-D array holds node values of the grid, however it is given: the same domain, the
    # same equations (the solver, the error estimate and adaptation read them).
    import xarray as xr

    from sciml.physics.data.geometry import Polygon

    mask = rasterize(
        difference(
            Polygon([[0.1, 0.2], [0.9, 0.1], [0.8, 0.8], [0.3, 0.9]]), Disk([0.55, 0.4], 0.1)
        ),
        GRID,
    )
    np.save(tmp_path / "m.npy", mask)
    xr.Dataset({"mask": (("x", "y"), mask)}).to_netcdf(tmp_path / "m.nc")
    reference, *_ = model.residual_operator(mask)
    for path in (tmp_path / "m.npy", tmp_path / "m.nc"):
        np.testing.assert_array_equal(model.mask_of(str(path)), mask)
        matrix, *_ = model.residual_operator(str(path))
        assert (matrix != reference).nnz == 0, path.suffix


def test_save_load_round_trip(model, tmp_path):
    path = model.save(tmp_path / "m.pt")
    again = AnyShapeDarcy.load(path)
    shape = Disk([0.5, 0.5], 0.3)
    np.testing.assert_allclose(again.predict(shape).values, model.predict(shape).values)
    np.testing.assert_array_equal(again.descriptor.masks, model.descriptor.masks)
    assert again.descriptor.min_iou == model.descriptor.min_iou and again.info == {"test": 1}


def test_adaptation_lowers_the_residual_and_leaves_the_model(model):
    from sciml.physics.problems.darcy import DarcyProblem

    shape = Disk([0.5, 0.5], 0.3)
    ref = DarcyProblem().solve(shape, resolution=N)["u"].values[0]
    before = model.predict(shape).values.copy()
    adapted, history = model.adapt(shape, steps=30, lr=1e-2, reference=ref, parameters="all")
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["step"] == 30 and "rel_l2" in history[0]
    np.testing.assert_array_equal(model.predict(shape).values, before)
    assert adapted.info["adapted"]["steps"] == 30
    with pytest.raises(ValueError, match="loss_kind must be"):
        model.adapt(shape, steps=1, loss_kind="l1")
    # a trust region keeps the adapted prediction nearer the zero-shot one
    anchored, _ = model.adapt(shape, steps=30, lr=1e-2, parameters="all", anchor=100.0)
    inside = ~np.isnan(before)
    moved = np.abs(adapted.predict(shape).values - before)[inside].mean()
    moved_anchored = np.abs(anchored.predict(shape).values - before)[inside].mean()
    assert moved_anchored < moved and anchored.info["adapted"]["anchor"] == 100.0
    with pytest.raises(ValueError, match="anchor must be a finite number"):
        model.adapt(shape, steps=1, anchor=-1.0)


def test_multilevel_loss_is_zero_at_the_solver_solution(model):
    # The loss must target the reference: the solver's solution has zero residual.
    from sciml.physics.problems.darcy import DarcyProblem

    shape = random_polygons(1, seed=5, resolution=N)["polygon_000"]
    k = np.exp(0.3 * np.random.default_rng(1).standard_normal((N, N)))
    ref = DarcyProblem().solve(shape, permeability=k, resolution=N)
    matrix, unknown, _, level, _ = model.residual_operator(shape, k)
    u = ref["u"].values[0] * np.exp(level)
    residual = matrix @ u[unknown] - 1.0
    assert np.abs(residual).max() < 1e-8


def test_amg_loss_estimates_the_error_and_adaptation_lowers_it(monkeypatch):
    # The AMG-preconditioned residual is the relative L2 error to within ~10%, without a
    # solver: the estimate must track the solver's error before and after adaptation.
    from sciml.physics import any_shape
    from sciml.physics.problems.darcy import DarcyProblem

    shipped = AnyShapeDarcy.load_shipped("darcy-any-shape")
    shape = Disk([0.45, 0.52], 0.33)
    res = shipped.resolution
    k = np.exp(0.5 * np.random.default_rng(2).standard_normal((res, res)))
    ref = DarcyProblem().solve(shape, permeability=k, resolution=res)
    u_ref, mask = ref["u"].values[0], ref["mask"].values[0]

    def error(m):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = np.nan_to_num(m.predict(shape, permeability=k).values)
        return np.linalg.norm((pred - u_ref)[mask]) / np.linalg.norm(u_ref[mask])

    before, estimate = error(shipped), shipped.estimate_error(shape, k)
    assert 0.8 < estimate / before < 1.25, (estimate, before)
    adapted, history = shipped.adapt(shape, k, steps=50, reference=u_ref)
    assert history[0]["rel_l2"] == pytest.approx(before, rel=1e-3)
    assert error(adapted) < 0.9 * before
    assert 0.8 < history[-1]["estimated_rel_l2"] / error(adapted) < 1.25
    assert adapted.estimate_error(shape, k) == pytest.approx(
        history[-1]["estimated_rel_l2"], rel=0.05
    )
    monkeypatch.setattr(any_shape, "_AMG_DENSE_MAX", 10)
    with pytest.raises(ValueError, match="at most 10 unknowns"):
        shipped.adapt(shape, k, steps=1)


def test_training_resumes_and_refuses_other_settings(tmp_path):
    from sciml.physics.any_shape import (
        FitConfig,
        fit_grid_operator,
        generate_any_shape,
        training_arrays,
    )

    arrays = training_arrays(generate_any_shape(3, 1, resolution=24, seed=5))
    assert arrays["channels"].shape == (3, 4, 24, 24)
    # Targets are u times the K level: the network never sees the level of K.
    assert np.all(arrays["target"][~arrays["mask"]] == 0)
    train = {k: v[:2] for k, v in arrays.items()}
    val = {k: v[2:] for k, v in arrays.items()}
    path = tmp_path / "fit.ckpt"
    torch.manual_seed(0)
    first = fit_grid_operator(
        UNetOperator((4, 8)),
        train,
        val,
        FitConfig(epochs=2, batch_size=1),
        checkpoint=path,
        log=lambda m: None,
    )
    assert first["epochs_run"] == 2 and len(first["history"]) == 2
    assert first["best_val"] == min(h["val_rel_l2"] for h in first["history"])
    again = fit_grid_operator(
        UNetOperator((4, 8)),
        train,
        val,
        FitConfig(epochs=2, batch_size=1),
        checkpoint=path,
        log=lambda m: None,
    )
    assert again["history"] == first["history"]  # resumed at the end: nothing retrained
    with pytest.raises(ValueError, match="resuming needs the same settings"):
        fit_grid_operator(
            UNetOperator((4, 8)),
            train,
            val,
            FitConfig(epochs=3, batch_size=1),
            checkpoint=path,
            log=lambda m: None,
        )
