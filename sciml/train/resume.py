"""Where a training command keeps its per-epoch checkpoints, and resuming from them.

A command may train several runs in a row (ensemble members, adaptation then
fine-tuning); each run gets a subfolder of the checkpoint folder, named by the caller, and
the :class:`Trainer` writes ``last.pt`` (every epoch) and ``best.pt`` into it. Resuming
continues each run from its ``last.pt``: runs that had finished train no further and
return the same weights, the interrupted run continues where it stopped, and runs that
had not started yet start fresh. Once the command has saved its result, :meth:`finish`
removes the checkpoints, so ones found later belong to an unfinished command.

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
from dataclasses import dataclass, field
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
    cpu_deadline : float or None
        The same in CPU time of this process (``time.process_time()``): each run gets the
        CPU time left as its ``TrainConfig.max_cpu_minutes``.
    """

    directory: str | os.PathLike
    resume: bool = False
    deadline: float | None = None
    cpu_deadline: float | None = None
    _used: list = field(default_factory=list, init=False, repr=False, compare=False)

    @classmethod
    def with_budget(
        cls,
        directory: str | os.PathLike,
        resume: bool = False,
        max_minutes: float | None = None,
        max_cpu_minutes: float | None = None,
    ) -> Checkpoints:
        """A plan whose runs together stop after a budget (from now).

        ``max_minutes`` counts wall-clock time, ``max_cpu_minutes`` this process's CPU
        time; whichever is used up first stops the run.
        """
        for name, value in (("max_minutes", max_minutes), ("max_cpu_minutes", max_cpu_minutes)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        deadline = None if max_minutes is None else time.monotonic() + 60 * max_minutes
        cpu_deadline = (
            None if max_cpu_minutes is None else time.process_time() + 60 * max_cpu_minutes
        )
        return cls(directory, resume, deadline, cpu_deadline)

    def folder(self, name: str = "") -> Path:
        """The checkpoint folder of run ``name`` (the top folder for ``""``)."""
        return Path(self.directory) / name if name else Path(self.directory)

    def check(self) -> None:
        """Fail unless the folder fits: checkpoints to resume from, or none when starting.

        Raises
        ------
        FileNotFoundError
            Resuming, but no run left a ``last.pt`` here.
        ValueError
            Starting afresh where an unfinished command left checkpoints (a later resume
            would mix the two).
        """
        top = Path(self.directory)
        found = top.is_dir() and any(top.rglob("last.pt"))
        if self.resume and not found:
            raise FileNotFoundError(
                f"nothing to resume: {top} holds no last.pt checkpoint "
                "(run without --resume to start afresh)"
            )
        if not self.resume and found:
            raise ValueError(
                f"{top} holds the checkpoints of an unfinished run: continue it "
                f"with --resume, or delete {top} to start afresh"
            )

    def finish(self) -> None:
        """Remove the ``last.pt``/``best.pt`` of the runs this plan handed out (result saved).

        Only those two files in those folders are touched; folders left empty go too.
        """
        for folder in [*dict.fromkeys(self._used), Path(self.directory)]:
            for name in ("last.pt", "best.pt"):
                (folder / name).unlink(missing_ok=True)
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()

    def apply(self, config: TrainConfig, name: str = "") -> tuple[TrainConfig, Path | None]:
        """``config`` writing into run ``name``'s folder, and the ``last.pt`` to resume from.

        With a deadline, the run gets the time left as ``max_minutes`` (and the CPU time
        left as ``max_cpu_minutes``); a run that starts
        after the deadline still trains one epoch, so every call makes progress.
        """
        folder = self.folder(name)
        self._used.append(folder)
        last = folder / "last.pt"
        changes: dict = {"checkpoint_dir": str(folder)}
        if self.deadline is not None:
            changes["max_minutes"] = max(1e-6, (self.deadline - time.monotonic()) / 60)
        if self.cpu_deadline is not None:
            left = (self.cpu_deadline - time.process_time()) / 60
            changes["max_cpu_minutes"] = max(1e-6, left)
        return config.replace(**changes), (last if self.resume and last.is_file() else None)
