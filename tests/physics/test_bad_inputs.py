"""Bad and out-of-range inputs: each gets a clear error (or an in-domain warning), never a
silent wrong answer. Issues 12 (item 7) and 17 (physics items)."""

import warnings

import numpy as np
import pytest
import torch

from sciml.cli import main
from sciml.physics.data import storage
from sciml.physics.data.geometry import Disk, Grid, Polygon, check_resolution, difference, square
from sciml.physics.errors import OutOfDomainWarning, ResolutionError
from sciml.physics.operator.networks import MTDeepONet
from sciml.physics.predictor import OperatorPredictor
from sciml.physics.problems.darcy import DarcyConfig, DarcyProblem, generate_darcy
from sciml.physics.problems.fisher import FisherConfig, FisherProblem, generate_fisher

pytestmark = pytest.mark.usefixtures("one_thread")

N = 16


@pytest.fixture(scope="module")
def fisher_ds():
    return generate_fisher(6, FisherConfig(nx=16, n_times=5))


@pytest.fixture(scope="module")
def darcy_ds():
    return generate_darcy(4, {"square": square()}, DarcyConfig(resolution=N))


def _fitted(net, data):
    from sciml.physics.operator.data import fit_scalers

    fit_scalers(net, [data.collate([data[i] for i in range(len(data))])])
    return net


@pytest.fixture(scope="module")
def fisher(fisher_ds):
    torch.manual_seed(0)
    data = FisherProblem().dataset(fisher_ds)
    net = MTDeepONet(16, 2, p=8, branch_hidden=(8,), trunk_hidden=(8,), n_coefficients=4)
    return OperatorPredictor.from_dataset(_fitted(net, data), fisher_ds)


@pytest.fixture(scope="module")
def darcy(darcy_ds):
    torch.manual_seed(0)
    data = DarcyProblem().dataset(darcy_ds)
    net = MTDeepONet(
        (1, N, N), 2, p=8, branch="cnn", branch_hidden=(8,), cnn_channels=(4,), trunk_hidden=(8,)
    )
    return OperatorPredictor.from_dataset(_fitted(net, data), darcy_ds)


@pytest.fixture(scope="module")
def files(tmp_path_factory, fisher, darcy, fisher_ds, darcy_ds):
    root = tmp_path_factory.mktemp("bad")
    paths = {
        "fisher_model": fisher.save(root / "fisher.pt"),
        "darcy_model": darcy.save(root / "darcy.pt"),
        "fisher_data": storage.save_dataset(fisher_ds, root / "fisher.nc"),
        "darcy_data": storage.save_dataset(darcy_ds, root / "darcy.nc"),
    }
    return {k: str(v) for k, v in paths.items()}


def _predict(files, model, data, tmp_path, *extra):
    argv = ["pde", "predict", "--model", files[model], "--input", data]
    return main([*argv, "--out", str(tmp_path / "p.nc"), *extra])


# ---------------------------------------------------------------- sciml pde generate
@pytest.mark.parametrize(
    "argv, message",
    [
        (["fisher", "--resolution", "0"], "--resolution must be at least 1, got 0"),
        (["fisher", "--geometry", "circle"], "--geometry applies to darcy, not fisher"),
        (["darcy", "--family", "logistic"], "--family applies to fisher, not darcy"),
        (["heat", "--subsample", "2"], "--subsample applies to darcy_fno, not heat"),
    ],
)
def test_generate_rejects_options_it_would_ignore(tmp_path, capsys, argv, message):
    out = tmp_path / "d.nc"
    assert main(["pde", "generate", *argv, "--n", "1", "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_generate_checks_the_output_place_before_solving(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    solved = []
    monkeypatch.setattr(
        "sciml.physics.problems.fisher.generate_fisher", lambda *a, **k: solved.append(1)
    )
    assert main(["pde", "generate", "fisher", "--n", "1", "--out", str(blocker / "d.nc")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert not solved
    assert main(["pde", "generate", "fisher", "--n", "1", "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_generate_keeps_the_data_when_the_final_write_fails(tmp_path, capsys, monkeypatch):
    def refuse(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(storage, "atomic_path", refuse)
    out = tmp_path / "d.nc"
    argv = ["pde", "generate", "fisher", "--n", "1", "--resolution", "8", "--no-progress"]
    assert main([*argv, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Permission denied" in err and "saved to" in err
    rescued = err.split("saved to ")[1].split(" instead")[0]
    ds = storage.load_dataset(rescued)
    assert ds.sizes["sample"] == 1 and ds.attrs["pde"] == "fisher_kpp"


# ----------------------------------------------------------------- sciml pde predict
@pytest.mark.parametrize("index", ["-1", "6", "100000"])
def test_predict_samples_out_of_range(files, tmp_path, capsys, index):
    assert (
        _predict(files, "fisher_model", files["fisher_data"], tmp_path, "--sample-index", index)
        == 2
    )
    err = capsys.readouterr().err
    assert f"--sample-index {index} is out of range" in err and "numbered 0 to 5" in err


def test_predict_data_that_is_not_a_netcdf_file(files, tmp_path, capsys):
    csv = tmp_path / "inputs.csv"
    csv.write_text("x,u0\n0,1\n")
    assert _predict(files, "fisher_model", str(csv), tmp_path) == 2
    err = capsys.readouterr().err
    assert f"{csv} is not a netCDF-4 data set" in err and "signature" not in err
    assert _predict(files, "fisher_model", str(tmp_path), tmp_path) == 2
    assert "is a directory" in capsys.readouterr().err


def test_predict_data_of_another_problem_names_both(files, tmp_path, capsys):
    assert _predict(files, "darcy_model", files["fisher_data"], tmp_path) == 2
    err = capsys.readouterr().err
    assert "this file holds a fisher_kpp data set; the model is a darcy model" in err
    assert _predict(files, "fisher_model", files["darcy_data"], tmp_path) == 2
    assert "holds a darcy data set; the model is a fisher model" in capsys.readouterr().err


def test_predict_cli_warns_out_of_domain(files, tmp_path, capsys, fisher_ds):
    wild = fisher_ds.copy()
    wild["u0"] = wild["u0"] * 1e6
    path = storage.save_dataset(wild, tmp_path / "wild.nc")
    assert _predict(files, "fisher_model", str(path), tmp_path) == 0
    assert "warning: 6 of 6 input(s) lie outside the model's training range" in (
        capsys.readouterr().err
    )
    assert not storage.load_dataset(tmp_path / "p.nc")["in_domain"].values.any()


# ------------------------------------------------------------ applicability domain
def test_in_domain_true_on_training_inputs(fisher, fisher_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        field = fisher.predict(
            fisher_ds["u0"].values, coefficients=fisher_ds["coefficients"].values
        )
    assert field["in_domain"].dtype == bool and field["in_domain"].values.all()


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"scale": 1e6}, "branch inputs"),
        ({"family": "logistic", "a": -50.0}, "source coefficients"),
        ({"family": "zeldovich", "a": 0.5}, "families never trained on (zeldovich)"),
    ],
)
def test_out_of_domain_inputs_warn_and_are_flagged(fisher, fisher_ds, change, reason):
    u0 = fisher_ds["u0"].values[:2] * change.get("scale", 1.0)
    options = {k: v for k, v in change.items() if k in ("family", "a")}
    if not options:
        options["coefficients"] = fisher_ds["coefficients"].values[:2]
    with pytest.warns(OutOfDomainWarning, match=reason.replace("(", r"\(").replace(")", r"\)")):
        field = fisher.predict(u0, **options)
    assert not field["in_domain"].values.any()
    assert np.isfinite(field.values).all()  # a warning, not a failure


def test_domain_survives_the_checkpoint(tmp_path, darcy):
    loaded = OperatorPredictor.load(darcy.save(tmp_path / "m.pt"))
    assert loaded.domain == darcy.domain and loaded.domain["inputs"][0] > 0
    with pytest.warns(OutOfDomainWarning):
        assert not loaded.predict(np.full((N, N), 1e4), geometry="square")["in_domain"]


@pytest.mark.parametrize("value", [0.0, -2.0])
def test_non_positive_permeability_is_rejected(darcy, value):
    k = np.ones((N, N))
    k[5, 5] = value
    with pytest.raises(ValueError, match="strictly positive; sample 0 has minimum"):
        darcy.predict(k, geometry="square")


# ---------------------------------------------------------------- bad shapes, NaN
def test_wrong_length_coefficients_and_a_are_named(fisher, fisher_ds):
    u0 = fisher_ds["u0"].values[:3]
    with pytest.raises(ValueError, match=r"coefficients have shape \(3,\); expected \(4,\)"):
        fisher.predict(u0, coefficients=[1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"coefficients have shape \(3, 5\)"):
        fisher.predict(u0, coefficients=np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"a has shape \(2,\); expected one value or one per"):
        fisher.predict(u0, family="logistic", a=[0.5, 0.6])
    with pytest.raises(ValueError, match="2 family names for 3 inputs"):
        fisher.predict(u0, family=["logistic", "logistic"])


def test_nan_inside_the_mask_is_named_nan_outside_is_accepted(darcy):
    disk = Disk([0.5, 0.5], 0.3)
    k = np.ones((N, N))
    k[0, 0] = np.nan  # a corner, outside the disk: NaN padding as xarray writes it
    field = darcy.predict(k, geometry=disk)
    assert np.isfinite(field.values[N // 2, N // 2]) and np.isnan(field.values[0, 0])
    k[N // 2, N // 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite values at 1 entries"):
        darcy.predict(k, geometry=disk)


def test_all_nan_prediction_raises(darcy):
    with pytest.raises(ValueError, match="no query point lies inside the domain of sample"):
        darcy.predict(np.ones((N, N)), mask=np.zeros((N, N), bool))
    tiny = Disk([0.5, 0.5], 0.01)  # between grid nodes: no node inside
    with pytest.raises(ValueError, match="empty mask"):
        darcy.predict(np.ones((N, N)), geometry=tiny)


def test_resolution_check_wants_nodes_across_the_thinnest_part():
    angles = np.pi / 2 + 2 * np.pi * np.arange(5) / 5
    pentagon = Polygon(np.stack([0.5 + 0.45 * np.cos(angles), 0.5 + 0.45 * np.sin(angles)], 1))
    ring = difference(pentagon, Disk([0.5, 0.5], 0.15))

    def grid(n):
        return Grid((np.linspace(0, 1, n),) * 2)

    for n in (6, 10):  # 10 x 10 passed the old topology check with a ring ~2 nodes wide
        with pytest.raises(ResolutionError, match="too coarse|less than 3 nodes thick"):
            check_resolution(ring, grid(n))
    check_resolution(ring, grid(16))
