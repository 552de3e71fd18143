"""Named public data files: local lookup, download, checksum verification and caching.

Lookup order for :func:`get_path`:

1. ``$SCIML_DATA_DIR/<relpath>`` (tests and CI point this at a local copy);
2. the user cache, ``$SCIML_CACHE_DIR`` or ``~/.cache/sciml``;
3. for the few files that ship inside the package (:data:`BUNDLED`: the Biogen ADME set,
   MIT licence, 0.14 MB gzipped, so the demo and the quickstart work offline on a fresh
   machine): decompress the bundled copy into the cache and verify it against the *upstream*
   sha256, so it is byte for byte the published file;
4. download from the upstream address into the cache, verify sha256, write atomically
   (never with ``SCIML_OFFLINE=1``, which makes a missing file a :class:`DataUnavailableError`
   at once: for air-gapped machines, and for the tests of the offline path).

Why not ``pooch``: it would cover step 3 (checksummed, atomic downloads) but not the rest,
which is most of this module: a read-only ``$SCIML_DATA_DIR`` copy checked first, an offline
error (:class:`DataUnavailableError`) that names the file and where to put it instead of a
``requests`` exception, and recording the first download's checksum for files whose upstream
publishes none. Wrapping pooch would keep all of that and add a dependency (and ``requests``)
for about 30 lines of ``urllib``, so the standard library is kept (issue 18).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from sciml._io import atomic_path
from sciml.data._registry import FANG_ENDPOINTS, REGISTRY, RemoteFile

__all__ = [
    "BUNDLED",
    "REGISTRY",
    "FANG_ENDPOINTS",
    "RemoteFile",
    "DataUnavailableError",
    "ChecksumError",
    "UnknownDatasetError",
    "cache_dir",
    "data_dir",
    "get_path",
    "list_datasets",
    "sha256sum",
]


class UnknownDatasetError(KeyError):
    """Raised for a data set name that is not registered."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


class DataUnavailableError(RuntimeError):
    """Raised when a data file is neither local nor downloadable."""


class ChecksumError(RuntimeError):
    """Raised when a file's sha256 does not match the registry."""


def data_dir() -> Path | None:
    """Return ``$SCIML_DATA_DIR`` as a path, or ``None`` when unset."""
    value = os.environ.get("SCIML_DATA_DIR")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Return the download cache folder (``$SCIML_CACHE_DIR`` or ``~/.cache/sciml``)."""
    value = os.environ.get("SCIML_CACHE_DIR")
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sciml"


def list_datasets() -> list[str]:
    """Return the sorted names of all registered data files."""
    return sorted(REGISTRY)


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _lookup(name: str) -> RemoteFile:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownDatasetError(
            f"unknown data set {name!r}; registered names are: {', '.join(list_datasets())}"
        ) from None


def _download(spec: RemoteFile, target: Path, timeout: float) -> None:
    from tqdm.auto import tqdm

    if os.environ.get("SCIML_OFFLINE", "") not in ("", "0"):
        raise DataUnavailableError(
            f"data set {spec.name!r} is not available locally and SCIML_OFFLINE is set, so it "
            f"is not downloaded from {spec.url}. Place the file at $SCIML_DATA_DIR/"
            f"{spec.relpath} (or {cache_dir() / spec.relpath}), or unset SCIML_OFFLINE."
        )
    try:
        response = urllib.request.urlopen(spec.url, timeout=timeout)
    except (urllib.error.URLError, OSError) as exc:
        raise DataUnavailableError(
            f"data set {spec.name!r} is not available locally and could not be downloaded "
            f"from {spec.url} ({exc}). Either connect to the network, or download the file "
            f"by hand and place it at $SCIML_DATA_DIR/{spec.relpath} (or "
            f"{cache_dir() / spec.relpath}), or set SCIML_DATA_DIR to a folder that holds it."
        ) from exc
    total = int(response.headers.get("Content-Length") or 0) or None
    with (
        atomic_path(target) as tmp,
        open(tmp, "wb") as out,
        tqdm(
            total=total, unit="B", unit_scale=True, desc=f"download {spec.name}", leave=False
        ) as bar,
    ):
        while block := response.read(1 << 20):
            out.write(block)
            bar.update(len(block))
        out.flush()
        _verify(spec, tmp, source=spec.url)


#: Registry names with a gzipped copy inside the package (``sciml/data/bundled/``).
BUNDLED: dict[str, str] = {"biogen_adme": "ADME_public_set_3521.csv.gz"}
_BUNDLE_DIR = Path(__file__).parent / "bundled"


def _from_bundle(spec: RemoteFile, target: Path) -> bool:
    """Decompress the packaged copy of ``spec`` to ``target`` (verified); False if none."""
    source = _BUNDLE_DIR / BUNDLED[spec.name] if spec.name in BUNDLED else None
    if source is None or not source.is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp, gzip.open(source, "rb") as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out)
        out.flush()
        _verify(spec, tmp, source=f"the copy bundled with sciml ({source})")
    return True


def _verify(spec: RemoteFile, path: Path, source: str) -> None:
    if spec.sha256 is None:
        return
    actual = sha256sum(path)
    if actual != spec.sha256:
        raise ChecksumError(
            f"checksum mismatch for data set {spec.name!r} from {source}: expected sha256 "
            f"{spec.sha256}, got {actual}. The file is corrupt or the upstream changed; "
            f"delete it and download again, or check that SCIML_DATA_DIR holds the right file."
        )


def get_path(
    name: str, *, download: bool = True, verify: bool = True, timeout: float = 60.0
) -> Path:
    """Return the local path of a registered data file, downloading it if needed.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"biogen_adme"`` or ``"biogen_adme_fang/HLM_train"``;
        see :func:`list_datasets`.
    download : bool
        Download into the cache when the file is not found locally.
    verify : bool
        Check the sha256 of a local file found in ``$SCIML_DATA_DIR`` or the cache.
    timeout : float
        Network timeout in seconds.

    Returns
    -------
    pathlib.Path
        Path to the verified file.

    Raises
    ------
    UnknownDatasetError
        ``name`` is not registered (the message lists the valid names).
    DataUnavailableError
        The file is not local and cannot be downloaded; the message says what to do.
    ChecksumError
        The file's sha256 does not match the registry.
    """
    spec = _lookup(name)
    roots = [root for root in (data_dir(), cache_dir()) if root is not None]
    for root in roots:
        candidate = root / spec.relpath
        if candidate.is_file():
            if verify:
                _verify(spec, candidate, source=str(candidate))
            return candidate
    target = cache_dir() / spec.relpath
    if _from_bundle(spec, target):
        return target
    if not download:
        raise DataUnavailableError(
            f"data set {spec.name!r} not found in {', '.join(str(r) for r in roots)} and "
            f"download=False; fetch it from {spec.url}"
        )
    _download(spec, target, timeout)
    if spec.sha256 is None:
        # No published checksum: record the first download's so later reads can be compared.
        (target.parent / (target.name + ".sha256")).write_text(sha256sum(target) + "\n")
    return target
