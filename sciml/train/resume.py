"""Where a training command keeps its per-epoch checkpoints, and resuming from them.

A command may train several runs in a row (ensemble members, adaptation then
fine-tuning); each run gets a subfolder of the checkpoint folder, named by the caller, and
the :class:`Trainer` writes ``last.pt`` (every epoch) and ``best.pt`` into it. Resuming
continues each run from its ``last.pt``: runs that had finished train no further and
return the same weights, the interrupted run continues where it stopped, and runs that
had not started yet start fresh.

Examples
--------
>>> from pathlib import Path
>>> from sciml.train import TrainConfig
>>> plan = Checkpoints("runs/gnn/checkpoints")
>>> config, resume = plan.apply(TrainConfig(max_epochs=5), "member_0")
>>> Path(config.checkpoint_dir).parts[-2:], resume
(('checkpoints', 'member_0'), None)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from sciml.train.trainer import TrainConfig

__all__ = ["Checkpoints"]


@dataclass(frozen=True)
class Checkpoints:
    """Per-epoch checkpoints of one training command.

    Attributes
    ----------
    directory : path
        The checkpoint folder; a run named ``name`` writes into ``directory / name``.
    resume : bool
        Continue every run from its ``last.pt`` (a run without one starts fresh).
    deadline : float or None
        ``time.monotonic()`` value by which the whole command should stop; each run gets
        the time left as its ``TrainConfig.max_minutes``.
    """

    directory: str | os.PathLike
    resume: bool = False
    deadline: float | None = None

    @classmethod
    def with_budget(cls, directory: str | os.PathLike, resume: bool = False,
                    max_minutes: float | None = None) -> Checkpoints:
        """A plan whose runs together stop after ``max_minutes`` (from now)."""
        if max_minutes is not None and not max_minutes > 0:
            raise ValueError(f"max_minutes must be > 0, got {max_minutes}")
        deadline = None if max_minutes is None else time.monotonic() + 60 * max_minutes
        return cls(directory, resume, deadline)

    def folder(self, name: str = "") -> Path:
        """The checkpoint folder of run ``name`` (the top folder for ``""``)."""
        return Path(self.directory) / name if name else Path(self.directory)

    def check(self) -> None:
        """When resuming, fail unless some run of this folder left a ``last.pt``."""
        top = Path(self.directory)
        if self.resume and not any(top.rglob("last.pt")):
            raise FileNotFoundError(f"nothing to resume: {top} holds no last.pt checkpoint "
                                    "(run without --resume to start afresh)")

    def clear(self) -> None:
        """Delete the ``last.pt`` and ``best.pt`` files an earlier run left here.

        A fresh start calls this so that a later resume never mixes runs of two commands.
        """
        top = Path(self.directory)
        if top.is_dir():
            for name in ("last.pt", "best.pt"):
                for path in top.rglob(name):
                    path.unlink()

    def apply(self, config: TrainConfig, name: str = "") -> tuple[TrainConfig, Path | None]:
        """``config`` writing into run ``name``'s folder, and the ``last.pt`` to resume from.

        With a deadline, the run gets the time left as ``max_minutes``; a run that starts
        after the deadline still trains one epoch, so every call makes progress.
        """
        folder = self.folder(name)
        last = folder / "last.pt"
        changes: dict = {"checkpoint_dir": str(folder)}
        if self.deadline is not None:
            changes["max_minutes"] = max(1e-6, (self.deadline - time.monotonic()) / 60)
        return config.replace(**changes), (last if self.resume and last.is_file() else None)
