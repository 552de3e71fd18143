"""Run the commands of ``benchmarks/manifest.toml``: every results file from one command.

``make bench`` calls ``python benchmarks/run_manifest.py`` (every ``[bench.*]`` entry);
``make bench ONLY=tokenizer_speed`` adds ``--only tokenizer_speed``; ``REPORT_ONLY=1`` adds
``--report-only`` (an entry's no-training rebuild from its stored CSV); ``make assets`` adds
``--assets`` (the ``[assets.*]`` entries, which rebuild the shipped checkpoints and are never
part of ``make bench``). ``--list`` prints the entries and ``--dry-run`` the commands.

Each command runs as ``<this python> <script> <args...>`` from the repository root with the
checkout first on ``PYTHONPATH``. Reading the manifest uses :mod:`tomllib` (Python 3.11+);
on Python 3.10 install ``tomli``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "benchmarks" / "manifest.toml"
FIELDS = {"script", "runs", "wall_minutes", "data", "writes"}

__all__ = ["commands", "load_manifest", "main"]


def load_manifest(path: Path = MANIFEST) -> dict[str, dict[str, dict]]:
    """Read and check the manifest.

    Returns
    -------
    dict
        ``{"bench": {name: entry}, "assets": {name: entry}}``.

    Raises
    ------
    ValueError
        An entry lacks a required field, names a missing script, or a bench entry writes
        into ``sciml/assets/``.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise SystemExit(
                "run_manifest: error: reading manifest.toml needs Python 3.11+ "
                "or `pip install tomli`"
            ) from None
    with open(path, "rb") as handle:
        manifest = tomllib.load(handle)
    for group in ("bench", "assets"):
        for name, entry in manifest.get(group, {}).items():
            where = f"{path.name}: [{group}.{name}]"
            if missing := FIELDS - set(entry):
                raise ValueError(f"{where} lacks {sorted(missing)}")
            if not (ROOT / entry["script"]).is_file():
                raise ValueError(f"{where}: script {entry['script']} does not exist")
            if group == "bench" and any(w.startswith("sciml/assets/") for w in entry["writes"]):
                raise ValueError(f"{where} writes a shipped checkpoint; move it to [assets.*]")
    return {"bench": manifest.get("bench", {}), "assets": manifest.get("assets", {})}


def commands(entry: dict, report_only: bool = False) -> list[list[str]]:
    """The argument lists of an entry: ``[script, *args]`` per run, from the repository root."""
    if report_only:
        if "report_only" not in entry:
            return []
        return [[entry["script"], *entry["report_only"]]]
    return [[entry["script"], *args] for args in entry["runs"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_manifest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated entry names")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run each entry's no-training rebuild (entries without one: skip)",
    )
    parser.add_argument(
        "--assets",
        action="store_true",
        help="run the [assets.*] entries (shipped checkpoints) instead",
    )
    parser.add_argument("--list", action="store_true", help="print the entries and exit")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    entries = load_manifest()["assets" if args.assets else "bench"]
    wanted = [n.strip() for n in args.only.split(",") if n.strip()] or list(entries)
    if unknown := [n for n in wanted if n not in entries]:
        parser.error(f"unknown entry {', '.join(unknown)}; valid: {', '.join(entries)}")
    if args.list:
        for name in wanted:
            entry = entries[name]
            print(f"{name}: ~{entry['wall_minutes']} min, writes {', '.join(entry['writes'])}")
        return 0
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    }
    for name in wanted:
        entry = entries[name]
        runs = commands(entry, args.report_only)
        if not runs:
            print(f"[{name}] no report-only command; skipped", flush=True)
            continue
        if entry["data"] and not os.environ.get("SCIML_DATA_DIR") and not args.dry_run:
            print(
                f"[{name}] note: SCIML_DATA_DIR is not set; the data come from the download cache",
                flush=True,
            )
        start = time.perf_counter()
        for run in runs:
            shown = "python " + shlex.join(run)
            print(f"[{name}] {shown}", flush=True)
            if args.dry_run:
                continue
            code = subprocess.run([sys.executable, *run], cwd=ROOT, env=env).returncode
            if code:
                print(
                    f"run_manifest: error: [{name}] `{shown}` exited with {code}", file=sys.stderr
                )
                return code
        if not args.dry_run:
            minutes = (time.perf_counter() - start) / 60
            expected = "" if args.report_only else f" (manifest: ~{entry['wall_minutes']} min)"
            wrote = entry["writes"][:1] if args.report_only else entry["writes"]
            print(
                f"[{name}] done in {minutes:.1f} min{expected}; wrote {', '.join(wrote)}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
