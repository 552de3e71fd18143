"""Run independent per-sample generators serially, over local processes, or on Dask.

Every sample ``i`` draws from its own ``numpy.random.SeedSequence(seed).spawn(n)[i]``, so the
data set is the same whatever the number of workers or the scheduler.
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

__all__ = ["sample_seeds", "run_samples"]

SampleFn = Callable[..., dict[str, Any]]

# Forked workers inherit the loaded modules; spawned ones re-import NumPy, SciPy, DeepXDE
# (and the caller's main module), which costs seconds per worker and dominated small runs.
# The parent only builds arrays before the pool starts, so forking it is safe.
_START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def sample_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """Return the ``n`` independent per-sample seed sequences derived from ``seed``."""
    if n < 1:
        raise ValueError(f"the number of samples must be positive, got {n}")
    return np.random.SeedSequence(seed).spawn(n)


def _progress_bar(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sample", disable=not enabled)


def run_samples(
    sample_fn: SampleFn,
    seed: int,
    n: int,
    *,
    workers: int = 1,
    client: Any = None,
    progress: bool = False,
    desc: str = "generating",
    start: int = 0,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Call ``sample_fn(index, seed_sequence, **kwargs)`` for ``index = start..start+n-1``.

    Parameters
    ----------
    sample_fn
        A picklable module-level function returning a dict of arrays for one sample.
    seed
        Root seed of the data set.
    n
        Number of samples.
    workers
        Local processes; 1 runs in this process. Ignored when ``client`` is given.
    client
        A ``distributed.Client`` or a scheduler address (``"tcp://host:8786"``); the
        samples then run as Dask tasks on that cluster.
    progress
        Show a tqdm progress bar.
    desc
        Progress bar label.
    start
        Index of the first sample: a run with ``start = s`` gives exactly samples ``s..s+n-1``
        of the full data set (same seeds), so a long generation can run in resumable chunks.
    **kwargs
        Passed to every call; must be picklable for parallel runs.

    Returns
    -------
    list of dict
        The per-sample results in index order.
    """
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    seeds = sample_seeds(seed, start + n)[start:]
    task = functools.partial(sample_fn, **kwargs)
    if client is not None:
        return _run_dask(task, seeds, client, progress, desc, start)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    results: list[dict[str, Any] | None] = [None] * n
    with _progress_bar(n, desc, progress) as bar:
        if workers == 1:
            for i, s in enumerate(seeds):
                results[i] = task(start + i, s)
                bar.update()
        else:
            context = multiprocessing.get_context(_START_METHOD)
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                futures = {pool.submit(task, start + i, s): i for i, s in enumerate(seeds)}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    bar.update()
    return results  # type: ignore[return-value]


def _run_dask(
    task: SampleFn, seeds: list, client: Any, progress: bool, desc: str, start: int = 0
) -> list:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "generating on a Dask cluster needs 'distributed': pip install 'sciml[dask]'"
        ) from exc
    own_client = isinstance(client, str)
    if own_client:
        client = Client(client)
    try:
        futures = client.map(task, range(start, start + len(seeds)), seeds, pure=False)
        with _progress_bar(len(seeds), desc, progress) as bar:
            for _ in dask_completed(futures):
                bar.update()
        return client.gather(futures)
    finally:
        if own_client:
            client.close()
