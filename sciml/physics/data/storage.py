"""Save and load generated data sets as compressed, chunked netCDF-4 files (h5netcdf).

Files are written atomically: readers never see a partial file, and a failed write leaves
an existing file untouched. :func:`check_writable` tests an output place before expensive
work starts, and :func:`save_dataset` can keep the data in a temporary file when the final
write fails anyway, so that generated data are never lost.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import xarray as xr

from sciml._io import atomic_path

__all__ = ["save_dataset", "load_dataset", "check_writable", "DataSetError", "OutputError"]

# HDF5 files (netCDF-4) start with this signature; h5py's own message for anything else
# ("file signature not found") names neither the file nor what was expected.
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class DataSetError(ValueError):
    """A file is not a data set of the expected kind (not netCDF-4, a folder, another PDE)."""


class OutputError(ValueError):
    """An output place cannot be written (missing permission, read-only, a folder)."""

    def __init__(self, message: str, saved_to: Path | None = None):
        super().__init__(message)
        self.saved_to = saved_to


def check_writable(path: str | os.PathLike) -> Path:
    """Raise :class:`OutputError` unless a file can be written at ``path``.

    Run before expensive work (generation, training) so that a bad ``--out`` fails in a
    second instead of after the work. Missing parent folders count as writable when the
    nearest existing ancestor is; a probe file is created and removed there, which also
    catches read-only file systems that ``os.access`` does not see.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"output {path} is a directory; give a file name such as {path}/data.nc")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc} ({folder})") from None
    os.close(fd)
    os.unlink(probe)
    return path


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
    keep_on_failure: bool = False,
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
    keep_on_failure
        If writing ``path`` fails, write the data set to a temporary file instead and raise
        :class:`OutputError` naming it (``saved_to``), so that expensive data are not lost.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    encoding = _encoding(ds, complevel, samples_per_chunk)
    try:
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    except OSError as exc:
        if not keep_on_failure:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        fd, rescue = tempfile.mkstemp(prefix=f"sciml-{path.stem}-", suffix=".nc")
        os.close(fd)
        ds.to_netcdf(rescue, engine="h5netcdf", encoding=encoding)
        raise OutputError(
            f"cannot write {path}: {exc.strerror or exc}; the data set was saved to {rescue} "
            "instead",
            saved_to=Path(rescue),
        ) from exc
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
    if path.is_dir():
        raise DataSetError(
            f"{path} is a directory; expected a netCDF data set file from 'sciml pde generate'"
        )
    with open(path, "rb") as handle:
        head = handle.read(len(_HDF5_SIGNATURE))
    if head != _HDF5_SIGNATURE:
        kind = "an empty file" if not head else f"a file starting with {head[:4]!r}"
        raise DataSetError(
            f"{path} is not a netCDF-4 data set ({kind}); expected a .nc file written by "
            "'sciml pde generate' or sciml.physics.data.storage.save_dataset"
        )
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
