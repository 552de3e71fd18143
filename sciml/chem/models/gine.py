"""GINE message passing with a virtual node (Hu et al. 2020), on torch-geometric.

The graph isomorphism network with edge features is the Open Graph Benchmark's reference
architecture for molecules (GIN-virtual on ogbg-molhiv). It is a second message-passing
block for :class:`~sciml.chem.models.mpnn.MPNNRegressor` (``architecture="gine"``, and
``GNNModel(architecture="gine")``) beside the default D-MPNN.

torch-geometric is imported only when a GINE block is built: importing it loads
``torch._dynamo`` (seconds per process), which ``sciml predict`` with any other model should
not pay.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GINEMessagePassing"]


class GINEMessagePassing(nn.Module):
    """``depth`` GINE layers with batch norm, a virtual node, and residual connections.

    Each layer: ``h <- h + dropout(relu(BN(GINEConv(h + v[batch], e))))`` where the virtual
    node ``v`` of each molecule is updated between layers from the sum of its atoms
    (``v <- v + MLP(sum_atoms h + v)``), so every atom sees the whole molecule.

    Parameters
    ----------
    atom_dim, bond_dim : int
        Atom and bond feature widths.
    hidden : int
        Width of the atom states.
    depth : int
        GINE layers (>= 1).
    dropout : float
        Dropout after each layer.
    """

    def __init__(
        self, atom_dim: int, bond_dim: int, hidden: int = 300, depth: int = 5, dropout: float = 0.0
    ):
        super().__init__()
        try:
            from torch_geometric.nn import GINEConv
        except ImportError as exc:  # pragma: no cover - torch-geometric is a dependency
            raise ImportError(
                "architecture='gine' needs torch-geometric: pip install torch-geometric"
            ) from exc
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.embed = nn.Linear(atom_dim, hidden)
        self.virtual = nn.Parameter(torch.zeros(hidden))
        self.convs = nn.ModuleList(
            GINEConv(
                nn.Sequential(
                    nn.Linear(hidden, 2 * hidden), nn.ReLU(), nn.Linear(2 * hidden, hidden)
                ),
                train_eps=True,
                edge_dim=bond_dim,
            )
            for _ in range(depth)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in range(depth))
        self.virtual_mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            for _ in range(depth - 1)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        atom_x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
        atom_batch: torch.Tensor,
        n_molecules: int,
    ) -> torch.Tensor:
        """Atoms ``(N, F_a)``, edges ``(2, E)``, bonds ``(E, F_b)`` to atom states ``(N, H)``."""
        h = self.embed(atom_x)
        v = self.virtual.expand(n_molecules, -1)
        for k, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            h_in = h + v[atom_batch]
            out = conv(h_in, edge_index, edge_attr)
            # A training batch of one single-atom molecule has no batch statistics.
            out = norm(out) if out.shape[0] > 1 or not self.training else out
            h = h + self.dropout(torch.relu(out))
            if k < len(self.virtual_mlps):
                pooled = h_in.new_zeros(n_molecules, h_in.shape[1]).index_add_(0, atom_batch, h_in)
                v = v + self.virtual_mlps[k](pooled + v)
        return h
