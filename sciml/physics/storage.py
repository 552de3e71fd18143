"""Save and load generated data sets as compressed, chunked netCDF-4 files (h5netcdf).

Files are written atomically: readers never see a partial file, and a failed write leaves
an existing file untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from sciml._io import atomic_path

__all__ = ["save_dataset", "load_dataset"]


def _encoding(ds: xr.Dataset, complevel: int, samples_per_chunk: int) -> dict[str, dict]:
    encoding = {}
    for name, var in ds.data_vars.items():
        if var.dtype.kind not in "biuf":
            continue  # variable-length strings cannot be compressed or chunked by HDF5
        chunks = tuple(
            min(samples_per_chunk, size) if dim == "sample" else size
            for dim, size in zip(var.dims, var.shape, strict=True)
        )
        encoding[name] = {"zlib": True, "complevel": complevel}
        if chunks:
            encoding[name]["chunksizes"] = chunks
    return encoding


def save_dataset(
    ds: xr.Dataset,
    path: str | os.PathLike,
    *,
    complevel: int = 4,
    samples_per_chunk: int = 32,
) -> Path:
    """Write ``ds`` to ``path`` as gzip-compressed netCDF-4, chunked along ``sample``.

    Parameters
    ----------
    ds
        A data set from one of the generators.
    path
        Target file, conventionally ``*.nc``; parent folders are created.
    complevel
        gzip level 1-9.
    samples_per_chunk
        Samples per HDF5 chunk, so one training batch reads few chunks.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=_encoding(ds, complevel, samples_per_chunk))
    return path


def load_dataset(path: str | os.PathLike, *, chunks: dict | str | None = None) -> xr.Dataset:
    """Open a data set written by :func:`save_dataset`.

    Parameters
    ----------
    path
        The netCDF file.
    chunks
        ``None`` (default) reads everything into memory and closes the file; otherwise a
        Dask chunk specification such as ``{"sample": 64}`` or ``"auto"`` for lazy access.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no data set at {path}")
    if chunks is not None:
        return xr.open_dataset(path, engine="h5netcdf", chunks=chunks)
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        loaded = ds.load()
    for name, var in loaded.data_vars.items():
        # netCDF has no boolean type; xarray restores it from the dtype attribute, but keep
        # masks boolean even for files written by other tools.
        if name == "mask" and var.dtype != bool:
            loaded[name] = var.astype(bool)
    return loaded
