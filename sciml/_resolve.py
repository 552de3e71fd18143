"""Names to objects: the one place where a string chosen by a user becomes a Python object.

Library code and the CLI both use :func:`resolve`, so an unknown name always gets the same
message listing the valid ones; it lives outside :mod:`sciml.cli` so that library code never
imports a CLI module.
"""

from __future__ import annotations

__all__ = ["resolve"]


def resolve(kind: str, name: str, choices: dict) -> object:
    """Return ``choices[name]``, or raise a ``ValueError`` that lists the valid names.

    Examples
    --------
    >>> resolve("colour", "red", {"red": 1})
    1
    """
    try:
        return choices[name]
    except KeyError:
        raise ValueError(
            f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(choices))}"
        ) from None
