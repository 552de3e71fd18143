r"""On-disk cache of descriptor rows, keyed by canonical SMILES, without pickle.

Layout: ``<root>/rdkit-<version>-<columns hash>/part-<hash>.npz``. Each part holds

- ``keys``: the canonical SMILES joined by ``"\n"`` as UTF-8 bytes (``uint8``), which is far
  smaller than a fixed-width unicode array and needs no pickle;
- ``values``: ``(n, D)`` float64.

Parts are only ever added (written atomically) and occasionally merged into one, so
concurrent readers never see a half-written file; a part that disappears between listing
and reading (another process merged it) is skipped and its rows are recomputed. The
folder name changes with the RDKit version and the descriptor list, so an upgrade never
serves stale numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sciml._io import atomic_path

__all__ = ["DescriptorCache"]

# Merge parts into one once there are this many, to keep lookups to a few file reads.
_MAX_PARTS = 16


def _encode_keys(keys: Sequence[str]) -> np.ndarray:
    return np.frombuffer("\n".join(keys).encode("utf-8"), dtype=np.uint8)


def _decode_keys(blob: np.ndarray) -> list[str]:
    text = blob.tobytes().decode("utf-8")
    return text.split("\n") if text else []


class DescriptorCache:
    """Descriptor rows for canonical SMILES under one RDKit version and column list.

    Parameters
    ----------
    columns : sequence of str
        Descriptor names, in column order.
    rdkit_version : str
        RDKit version the values come from.
    root : path, optional
        Cache folder; default ``sciml.data.cache_dir() / "descriptors"``.
    """

    def __init__(
        self, columns: Sequence[str], rdkit_version: str, root: str | Path | None = None
    ) -> None:
        if root is None:
            from sciml.data import cache_dir

            root = cache_dir() / "descriptors"
        digest = hashlib.sha256("\n".join(columns).encode()).hexdigest()[:12]
        self.folder = Path(root) / f"rdkit-{rdkit_version}-{digest}"
        self.n_columns = len(columns)

    def _parts(self) -> list[Path]:
        return sorted(self.folder.glob("part-*.npz")) if self.folder.is_dir() else []

    @staticmethod
    def _read(part: Path, wanted: set[str] | None) -> dict[str, np.ndarray]:
        try:
            with np.load(part, allow_pickle=False) as data:
                keys = _decode_keys(data["keys"])
                rows = [i for i, k in enumerate(keys) if wanted is None or k in wanted]
                if not rows:
                    return {}
                values = data["values"]
        except FileNotFoundError:
            return {}
        return {keys[i]: values[i] for i in rows}

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Return ``{key: (D,) row}`` for the keys that are cached."""
        wanted = set(keys)
        found: dict[str, np.ndarray] = {}
        for part in self._parts():
            if len(found) == len(wanted):
                break
            found.update(self._read(part, wanted - found.keys()))
        return found

    def put(self, keys: Sequence[str], values: np.ndarray) -> None:
        """Store rows ``values`` ``(len(keys), D)`` for ``keys``."""
        if not len(keys):
            return
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(keys), self.n_columns):
            raise ValueError(f"values shape {values.shape} != ({len(keys)}, {self.n_columns})")
        self._write(list(keys), values)
        parts = self._parts()
        if len(parts) > _MAX_PARTS:
            self._merge(parts)

    def _write(self, keys: list[str], values: np.ndarray) -> Path:
        blob = _encode_keys(keys)
        name = hashlib.sha256(blob.tobytes() + values.tobytes()).hexdigest()[:20]
        target = self.folder / f"part-{name}.npz"
        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, keys=blob, values=values)
        return target

    def _merge(self, parts: list[Path]) -> None:
        merged: dict[str, np.ndarray] = {}
        for part in parts:
            merged.update(self._read(part, None))
        if not merged:
            return
        keys = list(merged)
        target = self._write(keys, np.stack([merged[k] for k in keys]))
        for part in parts:
            if part != target:
                part.unlink(missing_ok=True)
