"""The checkpoint, resume and time-budget options of every training command.

``sciml fit`` (neural models), ``pretrain``, ``adapt``, ``rt train`` and ``pde train``
write a checkpoint after every epoch and take the same options with the same meaning:
``--checkpoint-dir``, ``--resume``, ``--max-minutes`` (wall clock) and ``--max-cpu-minutes``
(this process's CPU time, the budget that reproduces on a loaded machine); :func:`checkpoints_from_args` turns them into a :class:`sciml.train.Checkpoints`.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "add_resume_arguments",
    "checkpoints_from_args",
    "default_checkpoint_dir",
    "stops_on_budget",
]


def default_checkpoint_dir(out: str) -> Path:
    """``OUT.checkpoints`` next to an output file (``model.pt`` -> ``model.checkpoints``)."""
    return Path(out).with_suffix(".checkpoints")


def add_resume_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    """Add the checkpoint options; ``default`` says where checkpoints go by default."""
    parser.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        help=f"folder for the checkpoint written after every epoch (default: {default}); "
        "removed once the result is saved",
    )
    parser.add_argument(
        "--resume",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="continue a killed or time-limited run from its last checkpoint: in the "
        "--checkpoint-dir when given without DIR, else in DIR (a checkpoint folder, or "
        "its last.pt). Give the same other options as the first run; the result is the "
        "same as an uninterrupted run",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        metavar="M",
        help="time budget (wall clock): stop after the first epoch that ends past M minutes, keep "
        "the checkpoint and exit with status 3; continue later with --resume. On a loaded "
        "machine it trains fewer epochs: --max-cpu-minutes (or fewer epochs) reproduces",
    )
    parser.add_argument(
        "--max-cpu-minutes",
        type=float,
        metavar="M",
        help="CPU budget: as --max-minutes, but counting this process's CPU time (every "
        "thread of it), so a rerun on a loaded machine trains the same epochs",
    )


def checkpoints_from_args(args: argparse.Namespace, default_dir: str | Path):
    """The :class:`~sciml.train.Checkpoints` the options ask for.

    Raises
    ------
    FileNotFoundError
        ``--resume`` but the checkpoint folder holds no ``last.pt``.
    ValueError
        No ``--resume`` but an unfinished run left checkpoints there.
    """
    from sciml.train import Checkpoints

    directory = Path(args.checkpoint_dir) if args.checkpoint_dir else Path(default_dir)
    if args.resume:
        given = Path(args.resume)
        directory = given.parent if given.is_file() else given
    plan = Checkpoints.with_budget(
        directory,
        resume=args.resume is not None,
        max_minutes=args.max_minutes,
        max_cpu_minutes=getattr(args, "max_cpu_minutes", None),
    )
    plan.check()
    return plan


def _resume_hint(args: argparse.Namespace) -> str:
    """One line for an interrupted training command: the checkpoint and how to continue."""
    import shlex

    argv = ["sciml", *sys.argv[1:]]
    if "--resume" not in argv:
        argv.append("--resume")
    resume = shlex.join(argv)
    folder = getattr(args, "checkpoint_folder", None) or getattr(args, "checkpoint_dir", None)
    if folder is None:
        if getattr(args, "command", None) == "fit":  # a model not trained in epochs
            return "this model trains in one step and writes no checkpoint; nothing was saved"
        return f"the checkpoints of finished epochs are kept; continue with: {resume}"
    last = sorted(Path(folder).rglob("last.pt")) if Path(folder).is_dir() else []
    if not last:
        return (
            "no epoch had finished, so no checkpoint was written; run the same command "
            "again to start afresh"
        )
    where = last[0] if len(last) == 1 else folder
    return f"the last finished epoch is checkpointed in {where}; continue with: {resume}"


def stops_on_budget(
    handler: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """Wrap a training command: budget used up or Ctrl-C, one line instead of a traceback.

    A used-up ``--max-minutes`` or ``--max-cpu-minutes`` exits with 3; Ctrl-C prints where the checkpoint is and the
    ``--resume`` command, and exits with 130.
    """

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        from sciml.train import TimeBudgetReached

        name = " ".join(
            filter(
                None,
                (
                    args.command,
                    getattr(args, "rt_command", None),
                    getattr(args, "pde_command", None),
                ),
            )
        )
        try:
            return handler(args)
        except TimeBudgetReached as exc:
            print(
                f"sciml {name}: stopped: {exc}; continue with the same command and --resume",
                file=sys.stderr,
            )
            return 3
        except KeyboardInterrupt:
            print(f"sciml {name}: interrupted; {_resume_hint(args)}", file=sys.stderr)
            return 130

    return run
