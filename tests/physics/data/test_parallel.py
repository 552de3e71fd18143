import numpy as np
import pytest
import xarray as xr

from sciml.physics.data._parallel import run_samples, sample_seeds
from sciml.physics.problems.fisher import FisherConfig, generate_fisher, sample_fisher

CONFIG = FisherConfig(nx=16, n_times=3)


def test_per_sample_seeds_do_not_depend_on_the_sample_count():
    few = [s.generate_state(2) for s in sample_seeds(42, 3)]
    many = [s.generate_state(2) for s in sample_seeds(42, 10)]
    np.testing.assert_array_equal(few, many[:3])
    assert not np.array_equal(few[0], few[1])
    with pytest.raises(ValueError, match="positive"):
        sample_seeds(0, 0)


def test_results_do_not_depend_on_the_number_of_processes():
    serial = generate_fisher(6, CONFIG, seed=9, workers=1)
    parallel = generate_fisher(6, CONFIG, seed=9, workers=2)
    xr.testing.assert_identical(serial, parallel)
    # a prefix of a larger data set is the smaller data set
    xr.testing.assert_identical(generate_fisher(8, CONFIG, seed=9).isel(sample=slice(6)), serial)
    assert not np.allclose(generate_fisher(2, CONFIG, seed=10)["u0"], serial["u0"][:2])


def test_dask_client_and_scheduler_address_give_the_same_data():
    distributed = pytest.importorskip("distributed")
    serial = run_samples(sample_fisher, 4, 3, config=CONFIG)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_client = run_samples(sample_fisher, 4, 3, client=client, config=CONFIG)
        on_address = run_samples(
            sample_fisher, 4, 3, client=cluster.scheduler_address, config=CONFIG
        )
    for a, b, c in zip(serial, on_client, on_address, strict=True):
        np.testing.assert_array_equal(a["u"], b["u"])
        np.testing.assert_array_equal(a["u"], c["u"])


def test_invalid_worker_count():
    with pytest.raises(ValueError, match="workers"):
        run_samples(sample_fisher, 0, 2, workers=0, config=CONFIG)
