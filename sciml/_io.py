"""File helpers shared by the command lines: atomic writes and up-front checks of paths.

- :func:`atomic_path`, :func:`atomic_write`: write to a temporary file in the target
  folder, then rename, so a reader never sees a half-written file;
- :func:`check_input_file`, :func:`check_output_file`, :func:`check_output_dir`: refuse a
  directory, a missing or empty file, or a place that cannot be written *before* any work
  starts, with a one-line :class:`FileCheckError` naming the path;
- :func:`compression_of`, :func:`read_csv`, :func:`read_csv_chunks`: read CSV files whose
  compression is found from their first bytes, not their name (a gzip file called
  ``.csv`` is read as gzip), through the table checks of :mod:`sciml.hygiene` (unique
  column names, a guessed ``;``/tab separator, a named corrupt or truncated file).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sciml.hygiene import (
    FileCheckError,
    InputWarning,
    check_header,
    corrupt_file_reason,
    refuse_existing,
    sniff_separator,
)

__all__ = [
    "FileCheckError",
    "atomic_path",
    "atomic_write",
    "check_input_file",
    "check_output_dir",
    "check_output_file",
    "compression_of",
    "read_csv",
    "read_csv_chunks",
    "reading",
]

# First bytes of the compressed formats pandas reads, and pandas' name for each.
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The temporary file lives in the same folder so that :func:`os.replace` is atomic.
    If the body raises, the temporary file is removed and ``path`` is left untouched,
    so a reader never sees a half-written file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("CCO,0.1")
    >>> target.read_text()
    'CCO,0.1'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates the file private (0600); give it the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file for writing and atomically move it onto ``path`` on success.

    ``mode`` and ``kwargs`` are passed to :func:`open` (``"w"`` or ``"wb"``).
    """
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle


def compression_of(path: str | os.PathLike) -> str | None:
    r"""Return the compression of ``path`` found from its first bytes (``"gzip"``, ...) or None.

    Examples
    --------
    >>> import gzip, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "named_plain.csv"
    >>> path.write_bytes(gzip.compress(b"smiles\nCCO\n")) > 0
    True
    >>> compression_of(path)
    'gzip'
    """
    with open(path, "rb") as handle:
        head = handle.read(8)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def check_input_file(path: str | os.PathLike, what: str = "input") -> Path:
    """Return ``path`` if it is a readable, non-empty file; else raise :class:`FileCheckError`.

    Parameters
    ----------
    path : path
        The file.
    what : str
        What the file is, for the message (``"input"``, ``"training data"``).

    Raises
    ------
    FileNotFoundError
        Nothing exists at ``path``.
    FileCheckError
        ``path`` is a directory, cannot be read, or is empty (also once decompressed).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    if path.is_dir():
        raise FileCheckError(f"{what} {path} is a directory, not a file")
    import lzma
    import zlib

    try:
        with open(path, "rb") as handle:
            empty = not handle.read(1)
        if not empty and compression_of(path) == "gzip":
            import gzip

            with gzip.open(path, "rb") as handle:
                empty = not handle.read(1)
    except (EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        reason = corrupt_file_reason(exc, compression_of(path))
        if reason is not None:
            raise FileCheckError(f"{what} file {path} is {reason}") from exc
        raise FileCheckError(f"cannot read {what} file {path}: {exc.strerror or exc}") from exc
    if empty:
        raise FileCheckError(f"{what} file {path} is empty")
    return path


def _probe_folder(folder: Path, target: Path, what: str) -> None:
    """Create and delete a file in the nearest existing folder at or above ``folder``."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise FileCheckError(f"cannot write {what} {target}: {existing} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".sciml-write-test-", dir=existing)
    except OSError as exc:
        raise FileCheckError(
            f"cannot write {what} {target}: {existing} is not writable ({exc.strerror or exc})"
        ) from exc
    os.close(fd)
    os.unlink(probe)


def check_output_file(
    path: str | os.PathLike, what: str = "output", *, overwrite: bool = True
) -> Path:
    """Check, before any work, that a file can be written at ``path``.

    ``overwrite=False`` also refuses an existing file (commands pass their ``--overwrite``).

    Raises
    ------
    FileCheckError
        ``path`` is an existing directory, or exists and ``overwrite`` is False, or its
        folder cannot be created or written (permissions, read-only file system, a file in
        the way).
    """
    path = Path(path)
    if path.is_dir():
        raise FileCheckError(f"{what} {path} is an existing directory; give a file name")
    if not overwrite:
        refuse_existing(path, what)
    _probe_folder(path.parent if str(path.parent) else Path("."), path, what)
    return path


def check_output_dir(
    path: str | os.PathLike,
    what: str = "output folder",
    *,
    overwrite: bool = True,
    marker: str | None = None,
) -> Path:
    """Check, before any work, that ``path`` is (or can become) a writable folder.

    ``overwrite=False`` also refuses a folder that already holds ``marker`` (e.g. the
    ``model.json`` of a saved model).

    Raises
    ------
    FileCheckError
        ``path`` is an existing file, already holds ``marker`` and ``overwrite`` is False,
        or the folder cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileCheckError(f"{what} {path} is an existing file, not a folder")
    if not overwrite and marker:
        refuse_existing(path, what, marker=marker)
    _probe_folder(path, path, what)
    return path


def _csv_errors(path: Path, what: str):
    """Turn pandas' and the codec's complaints about a file into a :class:`FileCheckError`."""
    import lzma
    import zlib

    import pandas as pd

    compression = compression_of(path)

    @contextlib.contextmanager
    def guard() -> Iterator[None]:
        try:
            yield
        except (EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
            reason = corrupt_file_reason(exc, compression)
            if reason is None:
                raise
            raise FileCheckError(f"{what} file {path} is {reason}") from exc
        except pd.errors.EmptyDataError as exc:
            raise FileCheckError(f"{what} file {path} is empty (no header row)") from exc
        except UnicodeDecodeError as exc:
            raise FileCheckError(
                f"{what} file {path} is not a UTF-8 text (CSV) file: "
                f"{exc.reason} at byte {exc.start}"
            ) from exc
        except pd.errors.ParserError as exc:
            raise FileCheckError(
                f"{what} file {path} is not a readable CSV file: {str(exc).strip()}"
            ) from exc

    return guard()


def reading(path: str | os.PathLike, what: str = "input"):
    """Context manager: a damaged, non-UTF-8 or unreadable file raises one FileCheckError.

    For readers other than :func:`read_csv` (one-SMILES-per-line files), so a truncated
    ``.gz`` is named the same way everywhere.
    """
    return _csv_errors(Path(path), what)


def _checked_options(path: Path, what: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` for :func:`pandas.read_csv` after the header checks of :mod:`sciml.hygiene`.

    The header row is read as data (``header=None``), so duplicated names are seen before
    pandas renames them; a header with no comma but a ``;`` (or tab) sets ``sep``.
    """
    import pandas as pd

    if kwargs.get("header", "infer") not in ("infer", 0) or kwargs.get("names") is not None:
        return kwargs
    options = {
        k: v
        for k, v in kwargs.items()
        if k in ("sep", "delimiter", "encoding", "quotechar", "skiprows", "comment")
    }
    with _csv_errors(path, what):
        head = pd.read_csv(
            path,
            compression=compression_of(path),
            header=None,
            nrows=1,
            dtype=str,
            keep_default_na=False,
            **options,
        )
    fields = head.iloc[0].tolist() if len(head) else []
    if "sep" not in kwargs and "delimiter" not in kwargs:
        sep = sniff_separator(fields)
        if sep is not None:
            import warnings

            warnings.warn(
                f"{path}: the header has no comma but {sep!r}; reading the file as "
                f"{sep!r}-separated",
                InputWarning,
                stacklevel=4,
            )
            kwargs = {**kwargs, "sep": sep}
            return _checked_options(path, what, kwargs)
    check_header(fields, path)
    return kwargs


def read_csv(path: str | os.PathLike, what: str = "input", **kwargs: Any):
    """Check ``path`` and read it with :func:`pandas.read_csv`, compression found by content.

    Column names must be unique; a header with no comma but a ``;`` or a tab is read
    with that separator (an :class:`~sciml.hygiene.InputWarning` says so) unless ``sep``
    is given.

    Raises
    ------
    FileNotFoundError, FileCheckError
        As :func:`check_input_file`, or the file is not a readable CSV, has a duplicated
        column name, or is a truncated or corrupt compressed file.
    """
    import pandas as pd

    path = check_input_file(path, what)
    kwargs = _checked_options(path, what, kwargs)
    with _csv_errors(path, what):
        return pd.read_csv(path, compression=compression_of(path), **kwargs)


def read_csv_chunks(
    path: str | os.PathLike, chunksize: int, what: str = "input", **kwargs: Any
) -> Iterator:
    """Yield the file as DataFrames of at most ``chunksize`` rows (see :func:`read_csv`)."""
    import pandas as pd

    path = check_input_file(path, what)
    kwargs = _checked_options(path, what, kwargs)
    with (
        _csv_errors(path, what),
        pd.read_csv(
            path, compression=compression_of(path), chunksize=chunksize, **kwargs
        ) as reader,
    ):
        yield from reader
