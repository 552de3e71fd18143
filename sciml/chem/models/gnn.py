"""Message-passing neural network (D-MPNN) property model, trained by the common Trainer.

Molecules become graphs (:mod:`sciml.chem.featurizers`), optionally with RDKit
descriptors concatenated to the pooled embedding as chemprop's ``--features_generator
rdkit_2d`` does. All endpoints share one network; missing labels are masked by
:class:`sciml.train.MultiTaskObjective`, which standardises regression targets on the
training split and trains binary endpoints with binary cross-entropy on logits, so one
network can learn regression and classification endpoints together. ``ensemble > 1`` trains that many members from different seeds: predictions are
their mean and ``predict(..., return_std=True)`` gives their spread.

Examples
--------
>>> import pandas as pd
>>> smiles = ["CCO", "CCCO", "CCCCO", "c1ccccc1", "Cc1ccccc1", "CCc1ccccc1"]
>>> y = pd.DataFrame({"a": [0.1, 0.2, 0.3, 1.0, 1.1, 1.2]})
>>> model = GNNModel(epochs=2, hidden=16, ffn_hidden=16, val_fraction=0.0).fit(smiles, y)
>>> model.predict(["CCCCCO"]).shape
(1, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sciml.chem.descriptors import compute_descriptors, descriptor_names
from sciml.chem.featurizers import ATOM_FDIM, BOND_FDIM, mol_to_graph
from sciml.chem.models.base import LabelledSet, MoleculeModel, file_inside
from sciml.chem.smiles import parse_batch
from sciml.chem.splits import random_split
from sciml.train.checkpoint import CheckpointError
from sciml.train.trainer import TrainConfig

__all__ = ["GNNConfig", "GNNModel", "gnn_training"]


def gnn_training() -> TrainConfig:
    """The D-MPNN's training defaults (close to chemprop's).

    50 epochs of 50 molecules, AdamW at 1e-3 without weight decay, 4% linear warm-up then
    cosine decay to 0.1 x lr, gradient norm clipped at 10, no progress bars.
    """
    return TrainConfig(
        max_epochs=50,
        batch_size=50,
        lr=1e-3,
        weight_decay=0.0,
        warmup=0.04,
        schedule="cosine",
        min_lr_ratio=0.1,
        grad_clip=10.0,
        progress=False,
    )


@dataclass(frozen=True)
class GNNConfig:
    """Hyper-parameters of :class:`GNNModel` (defaults close to chemprop's).

    The training options are those of :class:`sciml.train.TrainConfig`, held in ``train``
    and set by flat names: ``epochs`` (``max_epochs``), ``batch_size``, ``lr``,
    ``weight_decay``, ``warmup``, ``patience``, ``seed``, ``device`` and ``progress``, e.g.
    ``GNNModel(epochs=30, lr=5e-4)`` or ``--set epochs=30``; ``config.epochs`` reads them.

    Attributes
    ----------
    hidden, depth : int
        Message-passing width and steps.
    architecture : {"dmpnn", "gine"}
        Message passing: chemprop's directed MPNN (default) or GINE with a virtual node,
        the Open Graph Benchmark's GIN-virtual (:mod:`sciml.chem.models.gine`, on
        torch-geometric; e.g. ``--set architecture=gine --set depth=5``).
    dropout : float
        Dropout in message passing and head.
    ffn_hidden, ffn_layers : int
        Head width and number of hidden layers.
    descriptors : bool
        Concatenate z-scored RDKit descriptors to the molecule embedding.
    ensemble : int
        Independently seeded members (>1 enables ``return_std``).
    train : TrainConfig
        Training options (defaults: :func:`gnn_training`), set by the flat names above;
        two of them mean more here:
    seed : int
        ``train.seed``: seed of member 0 (member k uses ``seed + k``, for its initial
        weights and batch order) and of the validation split.
    patience : int or None
        ``train.patience``: early stopping on the validation loss (only with validation
        data; the best epoch's weights are kept either way).
    loss : {"mse", "mae", "huber"}
        Elementwise loss on standardised regression targets (binary endpoints: BCE).
    val_fraction : float
        Without explicit validation data, hold out this random fraction of the training
        molecules to pick the best epoch (0: train on all, keep the last epoch).
    descriptor_cache : bool
        Use the on-disk descriptor cache.
    """

    #: Flat option names of the ``train`` fields (:mod:`sciml.chem.models.options`).
    composed: ClassVar[dict[str, dict[str, str]]] = {
        "train": {
            "epochs": "max_epochs",
            "batch_size": "batch_size",
            "lr": "lr",
            "weight_decay": "weight_decay",
            "warmup": "warmup",
            "patience": "patience",
            "seed": "seed",
            "device": "device",
            "progress": "progress",
        }
    }

    hidden: int = 300
    depth: int = 3
    architecture: str = "dmpnn"
    dropout: float = 0.0
    ffn_hidden: int = 300
    ffn_layers: int = 1
    descriptors: bool = True
    ensemble: int = 1
    train: TrainConfig = field(default_factory=gnn_training)
    loss: str = "mse"
    val_fraction: float = 0.1
    descriptor_cache: bool = True

    def __post_init__(self):
        if self.ensemble < 1:
            raise ValueError(f"ensemble must be >= 1, got {self.ensemble}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.architecture not in ("dmpnn", "gine"):
            raise ValueError(f"architecture must be 'dmpnn' or 'gine', got {self.architecture!r}")

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not attributes: the flat training options.
        target = self.composed["train"].get(name)
        if target is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self.train, target)


class GNNModel(MoleculeModel):
    """D-MPNN multi-task regressor (optionally with RDKit descriptors and an ensemble).

    Parameters
    ----------
    config : GNNConfig, optional
        Hyper-parameters.
    **overrides
        Fields of :class:`GNNConfig` to change, e.g. ``GNNModel(epochs=30, ensemble=3)``.

    Attributes
    ----------
    members : list of MPNNRegressor
        The trained networks.
    histories : list of pandas.DataFrame
        Per-epoch training history of each member (after :meth:`fit`).
    """

    name = "gnn"
    config_cls = GNNConfig
    trains_in_epochs = True
    epoch_fields = ("epochs",)

    def __init__(self, config: GNNConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.members: list = []
        self.histories: list[pd.DataFrame] = []

    # --------------------------------------------------------------- data
    def _dataset(self, smiles: list[str], y: np.ndarray | None = None):
        from sciml.chem.models._graph import GraphDataset

        # Inputs were validated at the API boundary; "raise" only guards internal misuse.
        graphs = [mol_to_graph(mol) for mol in parse_batch(smiles, errors="raise").values]
        descriptors = None
        if self.config.descriptors:
            descriptors = compute_descriptors(smiles, cache=self.config.descriptor_cache).to_numpy()
        return GraphDataset(graphs, y, descriptors)

    def _objective(self):
        from sciml.train import MultiTaskObjective

        return MultiTaskObjective(self.tasks, loss=self.config.loss)

    def _train_config(self, member: int, has_val: bool) -> TrainConfig:
        train = self.config.train
        return train.replace(
            monitor="val_loss" if has_val else "train_loss",
            patience=train.patience if has_val else None,
            seed=train.seed + member,
        )

    # ---------------------------------------------------------------- fit
    def _fit(self, train: LabelledSet, val: LabelledSet | None, checkpoints=None) -> None:
        from torch.utils.data import Subset

        from sciml.chem.models.mpnn import MPNNRegressor
        from sciml.train import Trainer, seed_everything

        c = self.config
        train_ds = self._dataset(train.smiles, train.y)
        if val is not None:
            val_ds = self._dataset(val.smiles, val.y)
            fit_ds = train_ds
        elif c.val_fraction > 0 and len(train.smiles) >= 10:
            fit_idx, val_idx = random_split(
                len(train.smiles), (1 - c.val_fraction, c.val_fraction), seed=c.train.seed
            )
            fit_ds, val_ds = Subset(train_ds, fit_idx.tolist()), Subset(train_ds, val_idx.tolist())
            fit_ds.collate = val_ds.collate = train_ds.collate
        else:
            fit_ds, val_ds = train_ds, None
        n_desc = train_ds.descriptors.shape[1] if train_ds.descriptors is not None else 0
        self.members, self.histories = [], []
        for k in range(c.ensemble):
            seed_everything(c.train.seed + k)  # the initial weights, not only the batch order
            net = MPNNRegressor(
                ATOM_FDIM,
                BOND_FDIM,
                len(self.targets),
                c.hidden,
                c.depth,
                c.dropout,
                c.ffn_hidden,
                c.ffn_layers,
                n_desc,
                c.architecture,
            )
            if n_desc:
                rows = fit_ds.indices if isinstance(fit_ds, Subset) else slice(None)
                net.fit_descriptor_scaler(train_ds.descriptors.numpy()[rows])
            config, resume = self._train_config(k, val_ds is not None), None
            if checkpoints is not None:  # one folder per member
                config, resume = checkpoints.apply(config, f"member_{k}")
            trainer = Trainer(net, self._objective(), config)
            self.histories.append(trainer.fit(fit_ds, val_ds, resume=resume))
            self.members.append(net.cpu().eval())
        self.fit_info["n_val"] = 0 if val_ds is None else len(val_ds)

    # ------------------------------------------------------------ predict
    def _predict(self, smiles: list[str], return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        from sciml.train import Trainer

        if return_std and len(self.members) < 2:
            raise ValueError("return_std needs an ensemble; fit with ensemble >= 2")
        dataset = self._dataset(smiles)
        preds = []
        for net in self.members:
            trainer = Trainer(net, self._objective(), self._train_config(0, False))
            preds.append(trainer.predict(dataset)["pred"])
            net.cpu()
        stacked = np.stack(preds)
        return stacked.mean(0), (stacked.std(0) if return_std else None)

    # -------------------------------------------------------------- files
    def _save(self, directory: Path) -> dict[str, Any]:
        from sciml.train import save_checkpoint

        files = []
        for k, net in enumerate(self.members):
            path = directory / f"member_{k}.pt"
            save_checkpoint(path, net, extra={"targets": list(self.targets)})
            files.append(path.name)
        return {
            "members": files,
            "descriptor_names": descriptor_names() if self.config.descriptors else [],
        }

    def _load(self, directory: Path, extra: dict[str, Any]) -> None:
        from sciml.chem.models.mpnn import MPNNRegressor
        from sciml.train import load_checkpoint, rebuild_model

        names = list(extra.get("descriptor_names", []))
        if self.config.descriptors and names != descriptor_names():
            raise CheckpointError(
                f"{directory} was trained on {len(names)} RDKit descriptors that differ from "
                f"this RDKit's {len(descriptor_names())}; retrain with this RDKit version"
            )
        self.members = []
        for name in extra.get("members") or []:
            payload = load_checkpoint(file_inside(directory, name, "member"))
            if payload["extra"].get("targets") != self.targets:
                raise CheckpointError(
                    f"{directory / name} predicts "
                    f"{payload['extra'].get('targets')}, not {self.targets}"
                )
            self.members.append(
                rebuild_model(payload, expected=MPNNRegressor, source=directory / name).eval()
            )
