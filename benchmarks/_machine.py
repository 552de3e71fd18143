"""The header every benchmark results file carries (imported by the benchmark scripts).

:func:`machine_info` returns one markdown table with the command that produced the file,
the git commit, the date, the CPU, the package versions and the machine load; every script
in ``benchmarks/`` writes it, so ``tests/test_readme_numbers.py`` can check that each
results file has one.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

__all__ = ["HEADER_ROWS", "command_line", "git_commit", "load_average", "machine_info"]

ROOT = Path(__file__).resolve().parent.parent

#: Row names of the header table that every results file must contain.
HEADER_ROWS = ("command", "git commit", "date (UTC)", "CPU", "load average (1/5/15 min)")

# Environment variables that change what a benchmark computes; recorded in the command.
_ENV = ("SCIML_FAST",)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _usable_cores() -> int:
    # The affinity mask is what a process may actually use inside containers and CI jobs.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that is running, relative to the repository root, e.g.
    ``python benchmarks/tokenizer_speed.py --repeats 3``.

    Parameters
    ----------
    argv
        Script path and arguments; ``sys.argv`` by default.
    """
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0]).resolve()
    try:
        shown = str(script.relative_to(ROOT))
    except ValueError:
        shown = argv[0]
    env = [f"{k}={os.environ[k]}" for k in _ENV if os.environ.get(k, "0") not in ("", "0")]
    return " ".join([*env, "python", shlex.join([shown, *argv[1:]])])


def git_commit() -> str:
    """Short hash of ``HEAD``, with ``+ uncommitted changes`` when tracked files differ."""
    try:
        run = dict(cwd=ROOT, capture_output=True, text=True, timeout=10, check=True)
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], **run
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return head + (" + uncommitted changes" if dirty else "")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``"2.10 / 1.95 / 1.80"``."""
    return _load()


def _load() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except (AttributeError, OSError):  # not available on Windows
        return "unknown"


def machine_info(
    packages: Sequence[str] = ("numpy", "scipy", "torch"), command: str | None = None
) -> str:
    """Return the header table: command, git commit, date, machine, load and packages.

    Parameters
    ----------
    packages
        Distribution names whose installed versions are listed; missing ones are marked.
    command
        The command that produced the results file; :func:`command_line` by default.
    """
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    rows = {
        "command": f"`{command or command_line()}`",
        "git commit": git_commit(),
        "date (UTC)": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "CPU": _cpu_model(),
        "cores": f"{_usable_cores()} usable of {os.cpu_count()}",
        "OS": platform.platform(),
        "python": platform.python_version(),
        # Other jobs on a shared machine inflate timings; the load shows whether they ran.
        "load average (1/5/15 min)": _load(),
        "packages": ", ".join(versions),
    }
    lines = ["| machine | |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in rows.items()]
    return "\n".join(lines) + "\n"
