"""The ``sciml pde`` command: generate (and, later, train on and predict) PDE data sets.

``register`` adds ``pde`` with one sub-subcommand per entry of :data:`_SUBCOMMANDS`; a new
subcommand is a ``_register_<name>(pde_subparsers)`` function appended there. Heavy imports
(NumPy, SciPy, DeepXDE, xarray) happen inside the handlers so ``sciml --help`` stays fast.

Examples
--------
``sciml pde generate darcy --n 200 --geometry square circle triangle --out darcy.nc``
``sciml pde generate darcy --n 200 --geometry-file pentagon_hole.geojson --out darcy.nc``
``sciml pde generate fisher --n 1000 --workers 4 --out fisher.nc``
``sciml pde generate darcy_fno --n 1000 --n-test 100 --dask-scheduler tcp://host:8786 --out fno.nc``
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]

_PDES = ("fisher", "darcy", "darcy_fno", "heat")


def _generate(args: argparse.Namespace) -> int:
    from sciml.cli import resolve
    from sciml.physics.errors import SolverError
    from sciml.physics.storage import save_dataset

    generator = resolve("pde", args.pde, _GENERATORS)
    try:
        ds = generator(args)
    except SolverError as exc:
        print(f"sciml pde generate: solver failed: {exc}", file=sys.stderr)
        return 1
    path = save_dataset(ds, args.out)
    sizes = ", ".join(f"{dim}={size}" for dim, size in ds.sizes.items())
    print(f"wrote {ds.attrs['pde']} data set ({sizes}) to {path}")
    return 0


def _run_options(args: argparse.Namespace) -> dict:
    return {
        "seed": args.seed,
        "workers": args.workers,
        "client": args.dask_scheduler,
        "progress": not args.no_progress,
    }


def _fisher(args: argparse.Namespace):
    from sciml.physics.fisher import FisherConfig, generate_fisher

    options = {}
    if args.family:
        options["families"] = tuple(args.family)
    if args.resolution:
        options["nx"] = args.resolution
    return generate_fisher(args.n, FisherConfig(**options), **_run_options(args))


def _darcy(args: argparse.Namespace):
    from sciml.cli import resolve
    from sciml.physics.darcy import DarcyConfig, generate_darcy
    from sciml.physics.geometry import SHAPES

    names = args.geometry or ([] if args.geometry_file else ["square"])
    geometries = {name: resolve("geometry", name, SHAPES)() for name in names}
    config = DarcyConfig(resolution=args.resolution) if args.resolution else DarcyConfig()
    geometries.update(_geometry_files(args.geometry_file, config.resolution))
    return generate_darcy(args.n, geometries, config, **_run_options(args))


def _geometry_files(paths: list[str] | None, resolution: int | None) -> dict:
    """User geometries by file stem, each checked on the ``resolution`` grid."""
    from pathlib import Path

    from sciml.physics.geometry_io import load_geometry

    try:
        return {Path(p).stem: load_geometry(p, resolution=resolution) for p in paths or ()}
    except ImportError as exc:  # an optional reader (trimesh) is missing
        raise ValueError(str(exc)) from None


def _darcy_fno(args: argparse.Namespace):
    from sciml.physics.darcy import DarcyFNOConfig, generate_darcy_fno

    options = {}
    if args.resolution:
        options["resolution"] = args.resolution
    if args.subsample:
        options["subsample"] = args.subsample
    n_test = 100 if args.n_test is None else args.n_test
    return generate_darcy_fno(args.n, n_test, DarcyFNOConfig(**options), **_run_options(args))


def _heat(args: argparse.Namespace):
    from sciml.physics.heat import HeatConfig, generate_heat

    config = HeatConfig()
    if args.resolution:
        r = args.resolution
        config = HeatConfig(shape=(r, r, max(2, r // 4)))
    if args.geometry_file and len(args.geometry_file) > 1:
        raise ValueError("heat takes one --geometry-file (a 2-D cross-section or an STL solid)")
    files = _geometry_files(args.geometry_file, None)
    geometry = next(iter(files.values()), None)
    return generate_heat(args.n, config, geometry=geometry, **_run_options(args))


_GENERATORS = {"fisher": _fisher, "darcy": _darcy, "darcy_fno": _darcy_fno, "heat": _heat}


def _register_generate(pde_sub: argparse._SubParsersAction) -> None:
    parser = pde_sub.add_parser(
        "generate",
        help="generate a PDE data set with the reference solvers and save it as netCDF",
        description=(
            "Generate samples with the reference solvers (in parallel over local processes "
            "or on a Dask cluster) and write them to a compressed netCDF file. Results depend "
            "only on --seed, not on the number of workers."
        ),
    )
    parser.add_argument("pde", choices=_PDES, help="which equation")
    parser.add_argument("--n", type=int, required=True, help="number of (training) samples")
    parser.add_argument("--out", required=True, help="output file (.nc), written atomically")
    parser.add_argument("--seed", type=int, default=0, help="root random seed (default 0)")
    parser.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    parser.add_argument(
        "--dask-scheduler",
        metavar="ADDR",
        default=None,
        help="run on this Dask distributed scheduler (e.g. tcp://host:8786) instead of locally",
    )
    parser.add_argument(
        "--resolution",
        type=int,
        default=None,
        help="grid size: fisher x-points (64), darcy nodes per side (100), darcy_fno solver "
        "grid (421), heat voxels per side in x and y (32; z gets a quarter)",
    )
    parser.add_argument(
        "--geometry",
        nargs="+",
        metavar="NAME",
        help="darcy: named shapes, cycled over samples (square, circle, triangle, "
        "square_with_cross, l_shape, annulus; default square)",
    )
    parser.add_argument(
        "--geometry-file",
        nargs="+",
        metavar="PATH",
        help="darcy: user domains in [0, 1]^2, cycled over samples with any --geometry: a "
        "polygon with holes (.geojson, .csv with x,y,ring columns), a mask (.png, .npy, "
        ".nc variable 'mask'); heat: one plate cross-section (same types) or a closed .stl "
        "solid (needs trimesh)",
    )
    parser.add_argument(
        "--family",
        nargs="+",
        metavar="NAME",
        help="fisher: source families, cycled over samples (logistic, newell_whitehead, "
        "exponential, zeldovich; default the first three)",
    )
    parser.add_argument(
        "--n-test", type=int, default=None, help="darcy_fno: test samples after --n (default 100)"
    )
    parser.add_argument(
        "--subsample", type=int, default=None, help="darcy_fno: keep every k-th point (5)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=_generate)


def _register_operator(pde_sub: argparse._SubParsersAction) -> None:
    from sciml.physics.operator_cli import register_operator_commands

    register_operator_commands(pde_sub)


# One registration function per ``sciml pde`` subcommand, in --help order.
_SUBCOMMANDS = (_register_generate, _register_operator)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pde`` command and its subcommands to the top-level ``sciml`` parser."""
    pde = subparsers.add_parser(
        "pde",
        help="PDE data sets and operator learning (Fisher-KPP, Darcy, 3-D heat)",
        description="Reference PDE solvers, data sets and operator learning.",
    )
    pde_sub = pde.add_subparsers(dest="pde_command", metavar="SUBCOMMAND")
    for add in _SUBCOMMANDS:
        add(pde_sub)
    pde.set_defaults(handler=lambda args: pde.print_help() or 0)
