"""Directed message passing (D-MPNN, Yang et al. 2019) and the composed regressor.

:class:`BondMessagePassing` learns atom embeddings from bond-centred messages;
:class:`MPNNRegressor` composes it with mean pooling, optional scaled molecule-level
descriptors (chemprop's "RDKit features") and an MLP head, and owns the target
standardiser, as every model trained with :class:`sciml.train.MultiTaskRegression` does.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sciml.nn import MLP
from sciml.train.checkpoint import register_model
from sciml.train.normalize import Standardizer, masked_moments

__all__ = ["BondMessagePassing", "MPNNRegressor"]

# Scaled descriptors are clipped to this many standard deviations, so a test molecule
# far outside the training range cannot dominate the head.
_DESCRIPTOR_CLIP = 5.0


def _sum_into(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """Rows of ``values`` ``(E, H)`` summed into ``size`` slots by ``index`` ``(E,)``.

    Plain ``index_add`` rather than torch_geometric's ``scatter``: the same kernel, without
    importing torch_geometric (which pulls in torch._dynamo: seconds per process).
    """
    return values.new_zeros(size, values.shape[1]).index_add_(0, index, values)


class BondMessagePassing(nn.Module):
    """D-MPNN: hidden states live on directed bonds; the reverse bond's message is excluded.

    ``h0_uv = W_i [x_u, e_uv]``; for ``depth - 1`` steps
    ``h_uv = relu(h0_uv + W_h (sum_{w->u} h_wu - h_vu))``; finally each atom
    ``a_v = relu(W_o [x_v, sum_{u->v} h_uv])``.

    Parameters
    ----------
    atom_dim, bond_dim : int
        Atom and bond feature widths.
    hidden : int
        Width of the bond states and atom embeddings.
    depth : int
        Message-passing steps (>= 1).
    dropout : float
        Dropout on the bond states and atom embeddings.
    """

    def __init__(
        self, atom_dim: int, bond_dim: int, hidden: int = 300, depth: int = 3, dropout: float = 0.0
    ):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.depth = depth
        self.W_i = nn.Linear(atom_dim + bond_dim, hidden, bias=False)
        self.W_h = nn.Linear(hidden, hidden, bias=False)
        self.W_o = nn.Linear(atom_dim + hidden, hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        atom_x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
        atom_batch: torch.Tensor | None = None,
        n_molecules: int | None = None,
    ) -> torch.Tensor:
        """Atoms ``(N, F_a)``, paired edges ``(2, E)``, bonds ``(E, F_b)`` to ``(N, H)``.

        ``atom_batch`` and ``n_molecules`` are unused: the block's signature is shared with
        :class:`~sciml.chem.models.gine.GINEMessagePassing`, which needs them.
        """
        src, dst = edge_index
        n_atoms = atom_x.shape[0]
        reverse = torch.arange(edge_index.shape[1], device=atom_x.device) ^ 1
        h0 = self.W_i(torch.cat([atom_x[src], edge_attr], dim=1))
        h = torch.relu(h0)
        for _ in range(self.depth - 1):
            incoming = _sum_into(h, dst, n_atoms)
            h = self.dropout(torch.relu(h0 + self.W_h(incoming[src] - h[reverse])))
        incoming = _sum_into(h, dst, n_atoms)
        return self.dropout(torch.relu(self.W_o(torch.cat([atom_x, incoming], dim=1))))


@register_model
class MPNNRegressor(nn.Module):
    """D-MPNN + mean pooling (+ descriptors) + MLP, predicting standardised targets.

    Parameters
    ----------
    atom_dim, bond_dim : int
        Feature widths (:data:`sciml.chem.featurizers.ATOM_FDIM`, ``BOND_FDIM``).
    n_tasks : int
        Endpoints ``T``.
    hidden, depth, dropout :
        Of :class:`BondMessagePassing`; ``dropout`` also applies in the head.
    ffn_hidden : int
        Width of the head's hidden layers.
    ffn_layers : int
        Hidden layers of the head.
    n_descriptors : int
        Width ``D`` of ``batch["descriptors"]`` concatenated to the pooled embedding
        (0: none). They are z-scored with training statistics held as buffers
        (:meth:`fit_descriptor_scaler`), NaN set to the mean, and clipped to +-5.
    architecture : {"dmpnn", "gine"}
        The message-passing block: chemprop's directed MPNN (default) or GINE with a virtual
        node (:mod:`sciml.chem.models.gine`, the Open Graph Benchmark's GIN-virtual; uses
        torch-geometric, imported only then).

    Notes
    -----
    ``forward(batch)`` returns ``(B, T)`` standardised predictions;
    ``target_scaler`` (a :class:`~sciml.train.Standardizer`) maps them to physical units.
    """

    def __init__(
        self,
        atom_dim: int,
        bond_dim: int,
        n_tasks: int,
        hidden: int = 300,
        depth: int = 3,
        dropout: float = 0.0,
        ffn_hidden: int = 300,
        ffn_layers: int = 1,
        n_descriptors: int = 0,
        architecture: str = "dmpnn",
    ):
        super().__init__()
        self.hparams = {
            "atom_dim": atom_dim,
            "bond_dim": bond_dim,
            "n_tasks": n_tasks,
            "hidden": hidden,
            "depth": depth,
            "dropout": dropout,
            "ffn_hidden": ffn_hidden,
            "ffn_layers": ffn_layers,
            "n_descriptors": n_descriptors,
        }
        if architecture == "gine":
            from sciml.chem.models.gine import GINEMessagePassing

            self.hparams["architecture"] = architecture  # absent: checkpoints before GINE
            self.message_passing = GINEMessagePassing(atom_dim, bond_dim, hidden, depth, dropout)
        elif architecture == "dmpnn":
            self.message_passing = BondMessagePassing(atom_dim, bond_dim, hidden, depth, dropout)
        else:
            raise ValueError(f"unknown architecture {architecture!r}; choose dmpnn or gine")
        self.head = MLP(hidden + n_descriptors, n_tasks, [ffn_hidden] * ffn_layers, "relu", dropout)
        self.target_scaler = Standardizer(n_tasks)
        self.register_buffer("descriptor_mean", torch.zeros(n_descriptors, dtype=torch.float64))
        self.register_buffer("descriptor_std", torch.ones(n_descriptors, dtype=torch.float64))

    @torch.no_grad()
    def fit_descriptor_scaler(self, descriptors: np.ndarray) -> None:
        """Fit the descriptor z-scoring on training descriptors ``(B, D)`` (NaN ignored).

        The statistics of every sciml scaler (:func:`~sciml.train.normalize.masked_moments`),
        kept in this model's ``descriptor_mean`` and ``descriptor_std`` buffers.
        """
        d = np.asarray(descriptors, dtype=np.float64)
        if d.ndim != 2 or d.shape[1] != self.hparams["n_descriptors"]:
            raise ValueError(
                f"descriptors have shape {d.shape}; expected (B, {self.hparams['n_descriptors']})"
            )
        mean, std, _ = masked_moments(d)
        std = torch.nan_to_num(std)
        # A descriptor without values, or constant on the training split, passes unscaled
        # (its z-score is then 0 on the training molecules) instead of dividing by ~0.
        self.descriptor_mean.copy_(torch.nan_to_num(mean))
        self.descriptor_std.copy_(torch.where(std > 1e-8, std, torch.ones_like(std)))

    def scaled_descriptors(self, descriptors: torch.Tensor) -> torch.Tensor:
        """Raw ``(B, D)`` descriptors to z-scores (NaN -> 0, clipped to +-5)."""
        z = (descriptors.double() - self.descriptor_mean) / self.descriptor_std
        return torch.nan_to_num(z, nan=0.0).clamp(-_DESCRIPTOR_CLIP, _DESCRIPTOR_CLIP).float()

    def embed(self, batch: dict) -> torch.Tensor:
        """Molecule embeddings ``(B, H [+ D])`` fed to the head."""
        n_atoms = batch["n_atoms"]
        atoms = self.message_passing(
            batch["atom_x"],
            batch["edge_index"],
            batch["edge_attr"],
            batch["atom_batch"],
            n_atoms.shape[0],
        )
        mol = _sum_into(atoms, batch["atom_batch"], n_atoms.shape[0])
        mol = mol / n_atoms.clamp(min=1).unsqueeze(1).to(mol.dtype)
        if self.hparams["n_descriptors"]:
            mol = torch.cat([mol, self.scaled_descriptors(batch["descriptors"])], dim=1)
        return mol

    def forward(self, batch: dict) -> torch.Tensor:
        """Standardised predictions ``(B, T)``."""
        return self.head(self.embed(batch))
