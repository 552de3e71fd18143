import h5py
import numpy as np
import pytest
import xarray as xr

from sciml.physics.data.geometry import annulus
from sciml.physics.data.storage import load_dataset, save_dataset
from sciml.physics.problems.darcy import DarcyConfig, generate_darcy
from sciml.physics.problems.fisher import FisherConfig, generate_fisher
from sciml.physics.problems.heat import HeatConfig, generate_heat


@pytest.fixture(scope="module")
def datasets():
    return {
        "fisher": generate_fisher(3, FisherConfig(nx=16, n_times=4)),
        "darcy": generate_darcy(2, {"annulus": annulus()}, DarcyConfig(resolution=33)),
        "heat": generate_heat(2, HeatConfig(shape=(32, 32, 2))),
    }


@pytest.mark.parametrize("name", ["fisher", "darcy", "heat"])
def test_round_trip_is_identical(datasets, name, tmp_path):
    ds = datasets[name]
    path = save_dataset(ds, tmp_path / "sub" / f"{name}.nc")
    loaded = load_dataset(path)
    xr.testing.assert_identical(loaded, ds)
    if "mask" in ds:
        assert loaded["mask"].dtype == bool


def test_file_is_compressed_and_chunked_along_samples(datasets, tmp_path):
    path = save_dataset(datasets["darcy"], tmp_path / "d.nc", samples_per_chunk=1)
    with h5py.File(path, "r") as f:
        assert f["u"].compression == "gzip"
        assert f["u"].chunks == (1, 33, 33)
        assert f.attrs["pde"] == "darcy"


def test_lazy_loading_with_dask_chunks(datasets, tmp_path):
    path = save_dataset(datasets["fisher"], tmp_path / "f.nc")
    lazy = load_dataset(path, chunks={})
    assert lazy["u"].chunks is not None
    np.testing.assert_allclose(lazy["u"].values, datasets["fisher"]["u"].values)
    lazy.close()


def test_failed_write_leaves_the_old_file_and_no_temporary(datasets, tmp_path):
    path = save_dataset(datasets["fisher"], tmp_path / "f.nc")
    before = path.read_bytes()
    broken = datasets["fisher"].assign_attrs(bad={"nested": "dicts are not netCDF attributes"})
    with pytest.raises(TypeError):
        save_dataset(broken, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["f.nc"]


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no data set"):
        load_dataset("/nonexistent/x.nc")
