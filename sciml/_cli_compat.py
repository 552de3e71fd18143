"""Old option spellings that keep working for one release, with a deprecation message.

sciml's commands share one vocabulary (issues 19 and 29): ``--train``/``--input`` for data,
``--smiles-col``, ``--out`` for what is written, ``--model`` for a saved model,
``--init-from`` for a checkpoint to start training from, ``--no-progress`` to hide progress
bars. Spellings from before that (``--output``, ``--smiles-column``, ``--data``,
``--init``, ``adapt --checkpoint``, ``--quiet``, positional files) are still accepted: hidden
from ``--help``, they print one line saying what to use instead.
"""

from __future__ import annotations

import argparse
import sys

__all__ = [
    "add_deprecated",
    "add_deprecated_flag",
    "add_legacy_positionals",
    "apply_legacy_positionals",
    "require",
]


class _Deprecated(argparse.Action):
    def __init__(self, option_strings, dest, new: str = "", **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(
            f"sciml: warning: {option_string} is deprecated and will be removed in the next "
            f"release; use {self.new}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def add_deprecated(
    parser: argparse.ArgumentParser, old: str, new: str, dest: str, **kwargs
) -> None:
    """Accept ``old`` as a hidden alias of the option ``new`` (stored in ``dest``)."""
    parser.add_argument(
        old,
        dest=dest,
        action=_Deprecated,
        new=new,
        help=argparse.SUPPRESS,
        default=argparse.SUPPRESS,
        **kwargs,
    )


class _DeprecatedFlag(_Deprecated):
    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, True, option_string)


def add_deprecated_flag(parser: argparse.ArgumentParser, old: str, new: str, dest: str) -> None:
    """Accept the switch ``old`` as a hidden alias of the switch ``new`` (``dest`` set True)."""
    parser.add_argument(
        old,
        dest=dest,
        action=_DeprecatedFlag,
        new=new,
        nargs=0,
        help=argparse.SUPPRESS,
        default=argparse.SUPPRESS,
    )


def add_legacy_positionals(parser: argparse.ArgumentParser, *names: str) -> None:
    """Hidden optional positionals for commands whose files used to be positional."""
    for name in names:
        parser.add_argument(f"legacy_{name}", nargs="?", default=None, help=argparse.SUPPRESS)


def apply_legacy_positionals(
    args: argparse.Namespace, command: str, mapping: dict[str, str]
) -> None:
    """Move legacy positional values into their options (``{"model": "--model", ...}``)."""
    for name, option in mapping.items():
        value = getattr(args, f"legacy_{name}", None)
        if value is None:
            continue
        if getattr(args, name, None) is not None:
            raise ValueError(f"{option} given twice: as {option} and as a positional argument")
        print(
            f"sciml {command}: warning: giving the {name} as a positional argument is "
            f"deprecated and will be removed in the next release; use {option} "
            f"{value}",
            file=sys.stderr,
        )
        setattr(args, name, value)


def require(args: argparse.Namespace, **options: str) -> None:
    """Options that argparse could not mark required (they have a legacy form)."""
    missing = [flag for name, flag in options.items() if getattr(args, name, None) is None]
    if missing:
        raise ValueError(f"the following arguments are required: {', '.join(missing)}")
