"""The ``sciml`` command line.

Each domain package contributes its subcommands through a ``register(subparsers)``
function in its own ``cli`` module; heavy imports happen inside the handlers so that
``sciml --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sciml._resolve import resolve

__all__ = ["build_parser", "main", "resolve"]

# Domain modules whose ``register`` adds subcommands, in the order shown by --help.
_COMMAND_MODULES = (
    "sciml.chem.cli",
    "sciml.chem.transformer_cli",  # outside the package: its __init__ imports torch
    "sciml.chem.tune_cli",
    "sciml.rt.cli",
    "sciml.physics.cli",
    "sciml.demo",
)


def _cmd_info(args: argparse.Namespace) -> int:
    import platform

    import numpy
    import torch

    import sciml
    from sciml.data import cache_dir, data_dir
    from sciml.train.device import default_device

    lines = {
        "sciml": sciml.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "device": str(default_device()),
        "cuda available": str(torch.cuda.is_available()),
        "SCIML_DATA_DIR": str(data_dir()) if data_dir() else "(unset)",
        "cache": str(cache_dir()),
    }
    # Versions from the installed metadata: importing deepxde would print its backend banner.
    from importlib import metadata

    for module, dist in (
        ("rdkit", "rdkit"),
        ("torch_geometric", "torch-geometric"),
        ("deepxde", "deepxde"),
        ("xarray", "xarray"),
        ("scipy", "scipy"),
        ("sklearn", "scikit-learn"),
        ("lightgbm", "lightgbm"),
        ("optuna", "optuna"),
    ):
        try:
            lines[module] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            lines[module] = "not installed"
    width = max(map(len, lines))
    for key, value in lines.items():
        print(f"{key:<{width}}  {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="sciml",
        description=(
            "Scientific machine learning on molecules and physics. Train and apply "
            "molecular property models (random forest, GNN, domain-adapted transformer), "
            "the Regression Transformer, and multi-task DeepONets for PDEs."
        ),
        epilog="Run 'sciml COMMAND --help' for the options of one command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = sub.add_parser("info", help="print versions, compute device and data directory")
    info.set_defaults(handler=_cmd_info)
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sciml`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"{_prefix(args)}: error: {message}", file=sys.stderr)
        return 2
    except OSError as exc:  # permissions, read-only file system, disk full: name the path
        where = f": {exc.filename}" if exc.filename else ""
        print(f"{_prefix(args)}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


def _prefix(args: argparse.Namespace) -> str:
    """``sciml COMMAND [SUBCOMMAND]``: the one prefix of every error message."""
    words = ["sciml", args.command]
    for attr in ("rt_command", "pde_command"):
        if getattr(args, attr, None):
            words.append(getattr(args, attr))
    return " ".join(words)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
