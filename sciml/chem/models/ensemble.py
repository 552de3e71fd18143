"""Average of several molecular models: e.g. the descriptor forest and a transformer or GNN.

:class:`EnsembleModel` fits each member on the same data, predicts the mean of the members'
predictions (members that cannot read a molecule, NaN, are left out of its mean) and, as
uncertainty, the standard deviation across members. It saves each member into its own
subfolder (``member_0``, ``member_1``, ...) with the member's own pickle-free format, so a
saved ensemble loads with :func:`sciml.chem.models.load_model`.

Examples
--------
>>> import pandas as pd
>>> from sciml.chem.models import RandomForestModel
>>> smiles = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "Cc1ccccc1"]
>>> y = pd.DataFrame({"logp": [-0.3, 0.1, 0.9, 1.4, 2.1, 2.7]})
>>> members = [RandomForestModel(n_estimators=10, n_jobs=1, seed=s) for s in (0, 1)]
>>> model = EnsembleModel(members=members).fit(smiles, y)
>>> model.predict(["CCCCCCO"], return_std=True).columns.tolist()
['logp', 'logp_std']
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sciml.chem.models.base import LabelledSet, MoleculeModel, load_member
from sciml.train.checkpoint import CheckpointError

__all__ = ["EnsembleConfig", "EnsembleModel"]


@dataclass(frozen=True)
class EnsembleConfig:
    """What :class:`EnsembleModel` stores about its members.

    Attributes
    ----------
    members : tuple of str
        Registry names (``model.name``) of the members, in order; set from the members.
    """

    members: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "members", tuple(self.members))  # JSON gives a list


class EnsembleModel(MoleculeModel):
    """Mean of the members' predictions; std across members as uncertainty.

    Parameters
    ----------
    config : EnsembleConfig, optional
        Set by :meth:`load`; leave it out and pass ``members``.
    members : sequence of MoleculeModel
        At least two unfitted (or fitted: they are refitted) models; :meth:`fit` fits each.
    """

    name = "ensemble"
    config_cls = EnsembleConfig

    def __init__(
        self, config: EnsembleConfig | None = None, *, members: Sequence[MoleculeModel] = ()
    ):
        members = list(members)
        if config is None:
            if len(members) < 2:
                raise ValueError(f"an ensemble needs at least two members, got {len(members)}")
            bad = [type(m).__name__ for m in members if not isinstance(m, MoleculeModel)]
            if bad:
                raise TypeError(f"members must be MoleculeModel instances, got {bad}")
            config = EnsembleConfig(members=tuple(m.name for m in members))
        super().__init__(config)
        self.members = members

    @property
    def uncertainty_method(self) -> str:
        """How ``<endpoint>_std`` is estimated."""
        return f"std across the {len(self.config.members)} members' predictions"

    def _fit(self, train: LabelledSet, val: LabelledSet | None, checkpoints=None) -> None:
        # Members get physical units and the ensemble's fitted transforms, so each member
        # folder is a complete model on its own, and all members predict in the same
        # (transformed) units, which is where they are averaged.
        kinds = dict(self.transforms.kinds)

        def physical(values: np.ndarray) -> pd.DataFrame:
            return pd.DataFrame(self.transforms.inverse(values)[0], columns=self.targets)

        val_args = (val.smiles, physical(val.y)) if val else ()
        for member in self.members:
            member.fit(
                train.smiles, physical(train.y), *val_args, transforms=kinds, tasks=self.tasks
            )

    def _predict(self, smiles: list[str], return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        # (M, n, T): the members' own _predict in the shared transformed units, as the SMILES
        # are already canonical and valid; the base class maps the average back.
        draws = np.stack([m._predict(smiles, False)[0] for m in self.members])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all members NaN: stays NaN
            mean = np.nanmean(draws, axis=0)
            std = np.nanstd(draws, axis=0) if return_std else None
        return mean, std

    def _save(self, directory: Path) -> dict[str, Any]:
        folders = []
        for i, member in enumerate(self.members):
            member.save(directory / f"member_{i}")
            folders.append(f"member_{i}")
        return {"members": folders, "uncertainty": self.uncertainty_method}

    def _load(self, directory: Path, extra: dict[str, Any]) -> None:

        folders = list(extra.get("members", []))
        if len(folders) != len(self.config.members):
            raise CheckpointError(
                f"{directory} lists {len(folders)} member folders for "
                f"{len(self.config.members)} members"
            )
        self.members = [
            load_member(directory, folder, kind, self, "ensemble")
            for folder, kind in zip(folders, self.config.members, strict=True)
        ]
