"""Machine description for benchmark result files (imported by the benchmark scripts)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from collections.abc import Sequence
from importlib import metadata

__all__ = ["machine_info"]


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


def _load() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except (AttributeError, OSError):  # not available on Windows
        return "unknown"


def machine_info(packages: Sequence[str] = ("numpy", "scipy", "torch")) -> str:
    """Return a markdown block describing this machine, the package versions and the date.

    Parameters
    ----------
    packages
        Distribution names whose installed versions are listed; missing ones are marked.
    """
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    rows = {
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
