"""Generate a data set once, in resumable chunks, and cache it keyed by its generator settings.

Expensive data sets (the FNO Darcy benchmark solves 1100 problems on a 421 x 421 grid) are
made by :func:`cached_samples`: the samples run in chunks of ``chunk_size``, each chunk is
written atomically to ``<key>.parts/`` as soon as it is done, and an interrupted run resumes
at the first missing chunk. When every chunk exists the data set is assembled, written
atomically to ``<key>.nc`` and the chunks are removed. The key is the name plus a hash of
everything that changes the samples (settings, size, seed, sample function), so a changed
setting never reuses a stale file. Sample ``i`` draws from the same seed whatever the chunk,
worker count or scheduler (:func:`~sciml.physics.data._parallel.run_samples`), so a resumed
run equals an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sciml._io import atomic_path
from sciml.physics.data._parallel import SampleFn, run_samples
from sciml.physics.data.storage import load_dataset, save_dataset

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["settings_key", "data_cache_dir", "cached_samples"]


def data_cache_dir() -> Path:
    """Return the folder of generated PDE data sets: ``sciml.data.cache_dir() / "pde"``."""
    from sciml.data import cache_dir

    return cache_dir() / "pde"


def settings_key(name: str, settings: Mapping[str, Any]) -> str:
    """Return ``"<name>-<12 hex digits>"``, a hash of ``settings`` as canonical JSON.

    Examples
    --------
    >>> settings_key("demo", {"n": 2, "seed": 0}) == settings_key("demo", {"seed": 0, "n": 2})
    True
    >>> settings_key("demo", {"n": 2}) == settings_key("demo", {"n": 3})
    False
    """
    text = json.dumps(dict(settings), sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _save_chunk(path: Path, results: list[dict[str, Any]]) -> None:
    arrays = {key: np.stack([np.asarray(r[key]) for r in results]) for key in results[0]}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)


def _load_chunk(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as chunk:
        return {key: chunk[key] for key in chunk.files}


def cached_samples(
    name: str,
    settings: Mapping[str, Any],
    sample_fn: SampleFn,
    build: Callable[[dict[str, np.ndarray]], xr.Dataset],
    n: int,
    *,
    seed: int,
    folder: str | Path | None = None,
    chunk_size: int = 50,
    workers: int = 1,
    client: Any = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    partial: bool = False,
    **kwargs: Any,
) -> xr.Dataset:
    """Return the data set of ``n`` samples of ``sample_fn``, generating only what is missing.

    Parameters
    ----------
    name
        Prefix of the cache file (``"darcy_fno"``).
    settings
        Everything besides ``n`` and ``seed`` that changes the samples (JSON-serialisable);
        hashed into the file name together with ``n``, ``seed`` and the function's name.
    sample_fn
        ``sample_fn(index, seed_sequence, **kwargs) -> dict`` of arrays (or strings) with
        the same keys and shapes for every sample; see
        :func:`~sciml.physics.data._parallel.run_samples`.
    build
        Turns ``{key: array stacked over the n samples}`` into the final ``xarray.Dataset``.
    n
        Number of samples.
    seed
        Root seed.
    folder
        Cache folder; default :func:`data_cache_dir`.
    chunk_size
        Samples per resumable chunk.
    workers, client, progress
        As in :func:`~sciml.physics.data._parallel.run_samples`.
    log
        Called with one line per finished chunk (e.g. ``print``), for progress in a log file.
    partial
        Generate nothing: return the leading samples that an unfinished run (possibly still
        going, in another process) has written so far, with attribute ``complete = 0``.
        ``build`` then receives fewer than ``n`` samples. Raises ``FileNotFoundError`` when
        no chunk exists yet.
    **kwargs
        Passed to ``sample_fn``.

    Returns
    -------
    xarray.Dataset
        The data set, with attributes ``cache_key``, ``cache_settings`` and ``complete``
        (1, or 0 for a ``partial`` one) added.
    """
    if n < 1:
        raise ValueError(f"the number of samples must be positive, got {n}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    fn_name = f"{sample_fn.__module__}.{sample_fn.__qualname__}"
    full = {**settings, "n": n, "seed": seed, "sample_fn": fn_name}
    key = settings_key(name, full)
    folder = Path(folder) if folder is not None else data_cache_dir()
    path = folder / f"{key}.nc"
    if path.exists():
        return load_dataset(path)
    parts = folder / f"{key}.parts"
    if not partial:
        parts.mkdir(parents=True, exist_ok=True)
    chunks = []
    for start in range(0, n, chunk_size):
        stop = min(n, start + chunk_size)
        part = parts / f"{start:07d}-{stop:07d}.npz"
        if partial and not part.exists():
            break
        if not part.exists():
            results = run_samples(
                sample_fn,
                seed,
                stop - start,
                start=start,
                workers=workers,
                client=client,
                progress=progress,
                desc=f"{name} {start}-{stop}",
                **kwargs,
            )
            _save_chunk(part, results)
            if log is not None:
                log(f"{key}: samples {start}-{stop} of {n} written to {part}")
        chunks.append(_load_chunk(part))
    if not chunks:
        raise FileNotFoundError(f"no sample of {key} has been generated yet (looked in {parts})")
    stacked = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    ds = build(stacked)
    ds.attrs["cache_key"] = key
    ds.attrs["cache_settings"] = json.dumps(full, sort_keys=True, default=str)
    ds.attrs["complete"] = int(len(next(iter(stacked.values()))) == n)
    if partial and not ds.attrs["complete"]:
        return ds
    save_dataset(ds, path)
    shutil.rmtree(parts, ignore_errors=True)
    if log is not None:
        log(f"{key}: data set complete at {path}")
    return ds
