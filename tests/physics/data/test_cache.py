import numpy as np
import pytest
import xarray as xr

from sciml.physics.data import cache
from sciml.physics.data._parallel import run_samples
from sciml.physics.problems.darcy import DarcyFNOConfig, cached_darcy_fno, generate_darcy_fno
from sciml.physics.problems.fisher import FisherConfig, sample_fisher

SMALL = DarcyFNOConfig(resolution=21, subsample=5)


def test_run_samples_start_gives_the_same_samples_as_a_full_run():
    config = FisherConfig(nx=16, n_times=3)
    full = run_samples(sample_fisher, 3, 5, config=config)
    tail = run_samples(sample_fisher, 3, 2, start=3, config=config)
    for a, b in zip(full[3:], tail, strict=True):
        np.testing.assert_array_equal(a["u"], b["u"])
    with pytest.raises(ValueError, match="start must be >= 0"):
        run_samples(sample_fisher, 3, 2, start=-1, config=config)


def test_cached_fno_data_equal_the_generator_and_are_reused(tmp_path, monkeypatch):
    made = cached_darcy_fno(3, 2, SMALL, seed=4, folder=tmp_path, chunk_size=2)
    direct = generate_darcy_fno(3, 2, SMALL, seed=4)
    for name in ("K", "u", "mask", "split"):
        xr.testing.assert_equal(made[name], direct[name])
    files = list(tmp_path.glob("darcy_fno-*.nc"))
    assert len(files) == 1 and not list(tmp_path.glob("*.parts"))
    assert made.attrs["cache_key"] == files[0].stem

    def fail(*args, **kwargs):
        raise AssertionError("a cached data set must not be generated again")

    monkeypatch.setattr(cache, "run_samples", fail)
    again = cached_darcy_fno(3, 2, SMALL, seed=4, folder=tmp_path, chunk_size=2)
    np.testing.assert_array_equal(again["u"].values, made["u"].values)


def test_changed_settings_make_a_new_file(tmp_path):
    cached_darcy_fno(2, 1, SMALL, seed=4, folder=tmp_path)
    cached_darcy_fno(2, 1, SMALL, seed=5, folder=tmp_path)
    cached_darcy_fno(2, 1, DarcyFNOConfig(resolution=21, subsample=4), seed=4, folder=tmp_path)
    assert len(list(tmp_path.glob("darcy_fno-*.nc"))) == 3


def test_an_interrupted_generation_resumes_at_the_missing_chunk(tmp_path, monkeypatch):
    calls = []
    real = cache.run_samples

    def flaky(fn, seed, n, *, start, **kwargs):
        calls.append(start)
        if start == 2 and calls.count(2) == 1:
            raise KeyboardInterrupt
        return real(fn, seed, n, start=start, **kwargs)

    monkeypatch.setattr(cache, "run_samples", flaky)
    with pytest.raises(KeyboardInterrupt):
        cached_darcy_fno(3, 2, SMALL, seed=4, folder=tmp_path, chunk_size=2)
    parts = list(tmp_path.glob("*.parts/*.npz"))
    assert [p.name for p in parts] == ["0000000-0000002.npz"]
    assert not list(tmp_path.glob("*.nc"))
    # partial: what is there so far, generating nothing
    early = cached_darcy_fno(3, 2, SMALL, seed=4, folder=tmp_path, chunk_size=2, partial=True)
    assert early.attrs["complete"] == 0 and list(early["split"].values) == ["train", "train"]
    assert calls == [0, 2] and not list(tmp_path.glob("*.nc"))
    ds = cached_darcy_fno(3, 2, SMALL, seed=4, folder=tmp_path, chunk_size=2, log=print)
    assert calls == [0, 2, 2, 4]  # chunk 0 was not made again
    np.testing.assert_array_equal(early["u"].values, ds["u"].values[:2])
    assert ds.attrs["complete"] == 1
    np.testing.assert_array_equal(ds["u"].values, generate_darcy_fno(3, 2, SMALL, seed=4)["u"])


def test_partial_before_any_chunk_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no sample of darcy_fno-.* generated yet"):
        cached_darcy_fno(3, 2, SMALL, seed=4, folder=tmp_path, partial=True)
    assert list(tmp_path.iterdir()) == []


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="positive total"):
        cached_darcy_fno(0, 0, SMALL)
    with pytest.raises(ValueError, match="chunk_size"):
        cache.cached_samples("x", {}, sample_fisher, dict, 2, seed=0, chunk_size=0)


def test_dask_runs_a_chunk_with_the_same_seeds():
    distributed = pytest.importorskip("distributed")
    config = FisherConfig(nx=16, n_times=3)
    serial = run_samples(sample_fisher, 3, 2, start=3, config=config)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = run_samples(sample_fisher, 3, 2, start=3, client=client, config=config)
    for a, b in zip(serial, on_dask, strict=True):
        np.testing.assert_array_equal(a["u"], b["u"])
