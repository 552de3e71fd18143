"""One :class:`~sciml.physics.problems.base.Problem` per PDE, and the resolver from names.

- :mod:`~sciml.physics.problems.fisher` -- 1-D Fisher-KPP with source families;
- :mod:`~sciml.physics.problems.darcy` -- 2-D Darcy on masked geometries, FNO benchmark;
- :mod:`~sciml.physics.problems.heat` -- 3-D steady heat in a plate with holes.

:func:`get_problem` turns a name (CLI argument, checkpoint field) into a Problem and
:func:`problem_of` finds the Problem of a data set; they are the only places where a
problem name is looked up.
"""

from __future__ import annotations

from sciml._resolve import resolve
from sciml.physics.problems.base import Problem

__all__ = ["Problem", "PROBLEM_NAMES", "get_problem", "problem_of"]

PROBLEM_NAMES = ("fisher", "darcy", "darcy_fno", "heat")
"""Names of the problems the package ships, as the CLI spells them."""


def _problems() -> dict[str, Problem]:
    from sciml.physics.problems.darcy import DarcyFNOProblem, DarcyProblem
    from sciml.physics.problems.fisher import FisherProblem
    from sciml.physics.problems.heat import HeatProblem

    problems = (FisherProblem(), DarcyProblem(), DarcyFNOProblem(), HeatProblem())
    return {p.name: p for p in problems}


def get_problem(name: str | Problem) -> Problem:
    """The Problem called ``name`` (a Problem is returned as is); the error lists the names."""
    if isinstance(name, Problem):
        return name
    return resolve("problem", name, _problems())  # type: ignore[return-value]


def problem_of(ds) -> Problem:
    """The Problem whose generator wrote ``ds`` (from ``ds.attrs["pde"]``)."""
    pde = ds.attrs.get("pde", "")
    by_data = {p.data_name: p for p in _problems().values()}
    if pde not in by_data:
        raise ValueError(
            f"data set attribute pde={pde!r}; expected one of: {', '.join(sorted(by_data))}"
        )
    return by_data[pde]
