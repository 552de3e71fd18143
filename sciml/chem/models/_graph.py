"""Molecular graphs as a torch data set whose batches follow the common batch convention."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from sciml.chem.featurizers import MolGraph

__all__ = ["GraphDataset"]


class GraphDataset(Dataset):
    """Featurised molecules with optional targets and extra molecule-level features.

    Batches (from :meth:`collate`) are dicts of plain tensors, so the Trainer moves them
    to the device like any other batch:

    - ``"atom_x"`` ``(N, F_atom)``, ``"edge_index"`` ``(2, E)`` (offset per molecule),
      ``"edge_attr"`` ``(E, F_bond)``, ``"atom_batch"`` ``(N,)`` molecule of each atom,
      ``"n_atoms"`` ``(B,)``;
    - ``"descriptors"`` ``(B, D)`` if given; ``"y"`` ``(B, T)`` (NaN = missing) if given.

    Parameters
    ----------
    graphs : sequence of MolGraph
        One per molecule.
    y : numpy.ndarray, optional
        ``(B, T)`` targets in physical units.
    descriptors : numpy.ndarray, optional
        ``(B, D)`` raw molecule-level features (scaled inside the model).
    """

    def __init__(
        self,
        graphs: Sequence[MolGraph],
        y: np.ndarray | None = None,
        descriptors: np.ndarray | None = None,
    ):
        self.graphs = list(graphs)
        for name, array in (("y", y), ("descriptors", descriptors)):
            if array is not None and len(array) != len(self.graphs):
                raise ValueError(f"{name} has {len(array)} rows for {len(self.graphs)} molecules")
        self.y = None if y is None else torch.tensor(np.asarray(y, dtype=np.float32))
        self.descriptors = (
            None if descriptors is None else torch.tensor(np.asarray(descriptors, dtype=np.float32))
        )

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index: int) -> int:
        return index

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """Join molecules ``indices`` into one disconnected graph (see class docstring)."""
        graphs = [self.graphs[i] for i in indices]
        n_atoms = np.array([g.n_atoms for g in graphs], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(n_atoms)[:-1]])
        batch = {
            "atom_x": torch.from_numpy(np.concatenate([g.atom_features for g in graphs])),
            "edge_index": torch.from_numpy(
                np.concatenate(
                    [g.edge_index + off for g, off in zip(graphs, offsets, strict=True)], axis=1
                )
            ),
            "edge_attr": torch.from_numpy(np.concatenate([g.bond_features for g in graphs])),
            "atom_batch": torch.from_numpy(np.repeat(np.arange(len(graphs)), n_atoms)),
            "n_atoms": torch.from_numpy(n_atoms),
        }
        if self.descriptors is not None:
            batch["descriptors"] = self.descriptors[indices]
        if self.y is not None:
            batch["y"] = self.y[indices]
        return batch
