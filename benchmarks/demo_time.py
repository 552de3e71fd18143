"""Wall time and peak memory of ``sciml demo`` as a new user runs it (issue 19).

Runs ``sciml demo`` in a child process the way a fresh machine would: no ``SCIML_DATA_DIR``,
an empty cache, and downloads refused (``SCIML_OFFLINE=1``), so the demo uses only what
ships with the package. Records the wall time, the child's peak RSS and the time of each
part (from the report). Regenerate with (from the repository root)::

    .venv/bin/python benchmarks/demo_time.py

Writes ``benchmarks/results/demo_time.md``.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import machine_info  # noqa: E402

RESULTS = ROOT / "results"
GOAL_MINUTES = 5


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("SCIML_DATA_DIR", "SCIML_FAST")}
        env.update(SCIML_CACHE_DIR=str(Path(tmp) / "cache"), SCIML_OFFLINE="1")
        out = Path(tmp) / "demo"
        start = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "sciml"), "demo", "--out", str(out)],
                       env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = (out / "report.md").read_text()
    titles = re.findall(r"^## \d+\. (.+)$", report, re.M)
    times = re.findall(r"^_(\d+) s_$", report, re.M)
    lines = [
        "# `sciml demo` as a new user runs it", "",
        machine_info(("torch", "numpy", "rdkit")),
        "The demo ran in a child process with no `SCIML_DATA_DIR`, an empty cache and "
        "`SCIML_OFFLINE=1`, so only what ships with the package was used.", "",
        "| | |", "|---|---|",
        f"| wall time | {seconds:.0f} s ({seconds / 60:.1f} min) |",
        f"| peak RSS of the demo process | {peak_mib:.0f} MiB |",
        *(f"| part: {t} | {s} s |" for t, s in zip(titles, times, strict=False)), "",
        f"Goal (issue 19): a complete report in at most {GOAL_MINUTES} min on 2 cores: "
        + ("**met**." if seconds <= 60 * GOAL_MINUTES else "**missed**."), "",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "demo_time.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
