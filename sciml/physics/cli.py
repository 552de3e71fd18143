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


def _check_options(args: argparse.Namespace, problem) -> None:
    """Refuse options the problem would silently ignore, and sizes below their minimum."""
    from sciml.physics.problems import PROBLEM_NAMES, get_problem

    for name in ("geometry", "geometry_file", "random_polygons", "family", "n_test", "subsample"):
        if getattr(args, name) is not None and name not in problem.options:
            users = [p for p in PROBLEM_NAMES if name in get_problem(p).options]
            raise ValueError(
                f"--{name.replace('_', '-')} applies to {' and '.join(users)}, not {problem.name}"
            )
    for name in ("n", "resolution", "n_test", "subsample", "workers", "random_polygons"):
        value = getattr(args, name)
        minimum = 0 if name == "n_test" else 1
        if value is not None and value < minimum:
            raise ValueError(f"--{name.replace('_', '-')} must be at least {minimum}, got {value}")


def _generate(args: argparse.Namespace) -> int:
    from sciml._resolve import resolve
    from sciml.physics.data.geometry import SHAPES
    from sciml.physics.data.storage import OutputError, check_writable, save_dataset
    from sciml.physics.errors import SolverError
    from sciml.physics.problems import get_problem

    problem = get_problem(args.pde)
    _check_options(args, problem)
    check_writable(args.out)
    config_options = {k: getattr(args, k) for k in ("family", "subsample") if k in problem.options}
    config = problem.config(args.resolution, **config_options)
    run = {
        "seed": args.seed,
        "workers": args.workers,
        "client": args.dask_scheduler,
        "progress": not args.no_progress,
    }
    if "geometry" in problem.options:  # darcy: named shapes and files, cycled over samples
        names = args.geometry or ([] if args.geometry_file or args.random_polygons else ["square"])
        geometries = {name: resolve("geometry", name, SHAPES)() for name in names}
        geometries.update(_geometry_files(args.geometry_file, config.resolution, problem))
        if args.random_polygons:
            from sciml.physics.data.geometry import random_polygons

            geometries.update(
                random_polygons(args.random_polygons, seed=args.seed, resolution=config.resolution)
            )
        run["geometries"] = geometries
    elif args.geometry_file:  # heat: one plate cross-section or closed solid
        if len(args.geometry_file) > 1:
            raise ValueError("heat takes one --geometry-file (a 2-D cross-section or an STL solid)")
        run["geometry"] = next(iter(_geometry_files(args.geometry_file, None, problem).values()))
    if "n_test" in problem.options:
        run["n_test"] = args.n_test
    try:
        ds = problem.generate(args.n, config, **run)
    except SolverError as exc:
        print(f"sciml pde generate: error: the solver failed: {exc}", file=sys.stderr)
        return 1
    try:
        path = save_dataset(ds, args.out, keep_on_failure=True)
    except OutputError as exc:
        print(f"sciml pde generate: error: {exc}", file=sys.stderr)
        return 1
    sizes = ", ".join(f"{dim}={size}" for dim, size in ds.sizes.items())
    print(f"wrote {ds.attrs['pde']} data set ({sizes}) to {path}")
    return 0


def _geometry_files(paths: list[str] | None, resolution: int | None, problem) -> dict:
    """User geometries by file stem, each checked on the ``resolution`` grid.

    Every file's dimension is checked against the problem first, before any is loaded.
    """
    from pathlib import Path

    from sciml.physics.data.geometry_io import load_geometry

    for p in paths or ():
        problem.check_geometry_file(p)
    try:
        return {Path(p).stem: load_geometry(p, resolution=resolution) for p in paths or ()}
    except ImportError as exc:  # an optional reader (trimesh) is missing
        raise ValueError(str(exc)) from None


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
    from sciml.physics.problems import PROBLEM_NAMES

    parser.add_argument("pde", choices=PROBLEM_NAMES, help="which equation")
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
        "--random-polygons",
        type=int,
        default=None,
        metavar="N",
        help="darcy: N random polygons with 0-3 holes (seeded by --seed, named polygon_000, ...), "
        "cycled over samples with any --geometry",
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
