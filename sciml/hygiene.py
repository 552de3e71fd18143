"""The input-hygiene layer: every check sciml makes on what a user hands it, in one place.

Each kind of input enters sciml through one function, and that function asks this module;
the command line and the Python API therefore get the same checks and the same messages.

=====================  ==============================================  =============================
input                  where it enters (CLI and API alike)             checks here
=====================  ==============================================  =============================
SMILES strings         :mod:`sciml.chem.smiles` (every parse)          :func:`smiles_text_problem`,
                                                                       :func:`strip_isotopes`
CSV files              :func:`sciml._io.read_csv` (and ``_chunks``)    :func:`check_header`,
                                                                       :func:`sniff_separator`,
                                                                       :func:`corrupt_file_reason`
target values          :func:`sciml.chem.datasets.load_csv`,           :func:`check_finite_targets`,
                       :meth:`MoleculeModel.fit`                       :func:`check_training_targets`
stored configurations  :func:`sciml.train.dataclass_from_dict`         :func:`check_field_types`
output paths           :func:`sciml._io.check_output_file`, ``_dir``   :func:`refuse_existing`
PDE data sets          ``FisherProblem.dataset`` / ``inputs``          :func:`require_variables`
=====================  ==============================================  =============================

Checks that need a problem's own knowledge stay with the problem object and are only
listed here: a Fisher source family without its amplitude ``a`` is an error
(``OperatorPredictor.predict``), and ``HeatProblem.config(resolution)`` names the least
resolution that fits its holes.

Choices made here, once:

- **SMILES are ASCII.** RDKit stops reading at the first non-ASCII character, so
  ``"CCＯ"`` (a fullwidth O pasted from a document) would silently be ethane; it is invalid,
  and the reason names the character, its position and the ASCII character it resembles.
- **Isotope labels are stripped** (:data:`ISOTOPES`): ``[2H]C([2H])([2H])O`` is predicted as
  methanol and ``[14cH]1ccccc1`` as benzene, with a note saying so. The models are trained
  on unlabelled molecules; the mass change moves descriptors (molecular weight) by amounts
  they never saw, and the kinetic isotope effect is not something they can know.
- **Training data need** :data:`MIN_TRAIN_MOLECULES` labelled molecules per endpoint (an
  error below), warn with :class:`SmallDataWarning` below :data:`FEW_TRAIN_MOLECULES`, and
  a constant endpoint is an error: a model fitted on it predicts that constant with a
  spread of 0 and looks confident.
- **Infinite targets are errors** naming the rows, like non-numeric cells; only empty cells
  are missing labels.
- **Column names are unique and not empty**; a duplicated name is an error naming it
  (pandas would silently rename the second to ``name.1``, and an empty one to
  ``Unnamed: 2``).
- **A CSV whose header has no comma but a ';' or a tab** is read with that separator
  (and says so with an :class:`InputWarning`); ``sep=`` given explicitly is always obeyed.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
import types
import typing
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "FEW_TRAIN_MOLECULES",
    "ISOTOPES",
    "MIN_TRAIN_MOLECULES",
    "FileCheckError",
    "InputWarning",
    "SmallDataWarning",
    "check_field_types",
    "check_finite_targets",
    "check_header",
    "check_training_targets",
    "corrupt_file_reason",
    "refuse_existing",
    "require_variables",
    "smiles_text_problem",
    "sniff_separator",
    "strip_isotopes",
]

#: What sciml's models do with isotope labels: ``"strip"`` (see the module docstring).
ISOTOPES = "strip"
#: Fewer labelled training molecules than this for any endpoint is an error.
MIN_TRAIN_MOLECULES = 3
#: Fewer labelled training molecules than this for any endpoint warns (SmallDataWarning).
FEW_TRAIN_MOLECULES = 20

_ISOTOPE_LABEL = re.compile(r"\[\d")


class FileCheckError(ValueError):
    """A path given on the command line cannot be used; the message names it and why."""


class InputWarning(UserWarning):
    """sciml read an input in a way worth knowing about (e.g. a guessed separator)."""


class SmallDataWarning(UserWarning):
    """A model is fitted on so few molecules that its predictions mean little."""


# ----------------------------------------------------------------------------- SMILES
def smiles_text_problem(text: str) -> str | None:
    """Why ``text`` (a stripped SMILES string) cannot be a SMILES, or None.

    Only non-ASCII characters are checked here; RDKit judges the rest.

    Examples
    --------
    >>> smiles_text_problem("CCO") is None
    True
    >>> reason = smiles_text_problem(chr(0xFF2F) + "CC")
    >>> reason.startswith("non-ASCII character 'Ｏ' (FULLWIDTH LATIN CAPITAL LETTER O, U+FF2F)")
    True
    >>> reason.split(", ")[1:3]
    ['U+FF2F) at position 0', "which looks like 'O'; SMILES are plain ASCII"]
    """
    if text.isascii():
        return None
    position, char = next((i, c) for i, c in enumerate(text) if not c.isascii())
    name = unicodedata.name(char, "unnamed character")
    looks = unicodedata.normalize("NFKC", char)
    hint = f", which looks like {looks!r}" if looks != char and looks.isascii() else ""
    return (
        f"non-ASCII character {char!r} ({name}, U+{ord(char):04X}) at position "
        f"{position}{hint}; SMILES are plain ASCII"
    )


def strip_isotopes(text: str, mol: Any) -> tuple[Any, str]:
    """Remove isotope labels from a parsed molecule (the :data:`ISOTOPES` choice).

    Parameters
    ----------
    text : str
        The SMILES ``mol`` was parsed from (a label needs ``[`` followed by a digit, so most
        molecules are passed through without looking at their atoms).
    mol : rdkit.Chem.Mol
        The parsed molecule; not modified.

    Returns
    -------
    mol : rdkit.Chem.Mol
        ``mol`` itself when it has no label, else an unlabelled copy (labelled hydrogens
        such as ``[2H]`` become implicit hydrogens).
    note : str
        ``""``, or which labels were removed.
    """
    if not _ISOTOPE_LABEL.search(text):
        return mol, ""
    labels = collections.Counter(
        f"{atom.GetIsotope()}{atom.GetSymbol()}" for atom in mol.GetAtoms() if atom.GetIsotope()
    )
    if not labels:
        return mol, ""
    from rdkit import Chem

    out = Chem.Mol(mol)
    for atom in out.GetAtoms():
        atom.SetIsotope(0)
    out = Chem.RemoveHs(out)
    listed = ", ".join(f"{n} x {label}" if n > 1 else label for label, n in sorted(labels.items()))
    return out, f"isotope labels removed ({listed}); predicted as the unlabelled molecule"


# ----------------------------------------------------------------------------- tables
def check_header(fields: Sequence[object], source: str | os.PathLike) -> None:
    """Raise :class:`FileCheckError` if a column name is empty or occurs more than once.

    ``fields`` is the header row as written in the file (read with ``header=None``, so
    pandas has not renamed duplicates to ``name.1``).
    """
    names = [str(f).strip() for f in fields]
    # An empty first name is the index column pandas writes with to_csv(); it is read as
    # 'Unnamed: 0' like pandas does. Any other empty name is a mistake.
    unnamed = [i + 1 for i, name in enumerate(names) if not name and i > 0]
    if unnamed:
        raise FileCheckError(
            f"{os.fspath(source)}: column(s) {', '.join(map(str, unnamed))} of "
            "the header have no name (pandas would call them 'Unnamed: ...'); "
            "every column needs its own name"
        )
    seen = collections.defaultdict(list)
    for i, name in enumerate(names):
        seen[name].append(i)
    duplicated = {name: where for name, where in seen.items() if len(where) > 1}
    if duplicated:
        parts = [
            f"{name!r} (columns {', '.join(str(i + 1) for i in where)})"
            for name, where in duplicated.items()
        ]
        raise FileCheckError(
            f"{os.fspath(source)}: duplicated column name(s) "
            f"{'; '.join(parts)}; every column needs its own name"
        )


def sniff_separator(fields: Sequence[object]) -> str | None:
    """The separator of a header read as one comma-separated field, or None.

    Examples
    --------
    >>> sniff_separator(["smiles;logS"])
    ';'
    >>> sniff_separator(["smiles", "logS"]) is None
    True
    """
    if len(fields) != 1 or not isinstance(fields[0], str):
        return None
    header = fields[0]
    for sep in (";", "\t", "|"):
        if sep in header:
            return sep
    return None


def corrupt_file_reason(exc: BaseException, compression: str | None) -> str | None:
    """A reason naming a damaged compressed file, if ``exc`` is its decoder's error."""
    import gzip
    import lzma
    import zlib

    codec_errors: tuple[type[BaseException], ...] = (
        EOFError,
        zlib.error,
        gzip.BadGzipFile,
        lzma.LZMAError,
    )
    if compression is None or not isinstance(exc, codec_errors + (OSError,)):
        return None
    if isinstance(exc, OSError) and not isinstance(exc, codec_errors) and exc.errno is not None:
        return None  # a real I/O error (permissions, disk), reported as such
    return f"a truncated or corrupt {compression} file ({type(exc).__name__}: {exc})"


# ---------------------------------------------------------------------------- targets
def _row_list(rows: Sequence[object], values: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(f"row {r}: {v:g}" for r, v in zip(rows[:limit], values[:limit], strict=False))
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def check_finite_targets(
    values: np.ndarray, columns: Sequence[object], source: str, rows: Sequence[object] | None = None
) -> None:
    """Raise ``ValueError`` naming the rows of any ``inf``/``-inf`` target.

    Parameters
    ----------
    values : numpy.ndarray
        ``(N, T)`` float targets; NaN (missing) is allowed.
    columns : sequence
        The ``T`` endpoint names.
    source : str
        What the data are, for the message (a file name, ``"training data"``).
    rows : sequence, optional
        Row labels (default: positions ``0..N-1``).
    """
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    infinite = np.isinf(values)
    if not infinite.any():
        return
    labels = list(range(len(values))) if rows is None else list(rows)
    parts = []
    for j in np.flatnonzero(infinite.any(axis=0)):
        where = np.flatnonzero(infinite[:, j])
        parts.append(
            f"column {columns[j]!r} has {len(where)} infinite value(s) "
            f"({_row_list([labels[i] for i in where], values[where, j])})"
        )
    raise ValueError(
        f"{source}: {'; '.join(parts)}; a target is a finite number, or an empty "
        "cell when not measured"
    )


def check_training_targets(
    values: np.ndarray, columns: Sequence[object], what: str = "training"
) -> None:
    """Refuse training targets a model cannot learn from; warn when they are few.

    Raises
    ------
    ValueError
        An endpoint has fewer than :data:`MIN_TRAIN_MOLECULES` labelled molecules, or the
        same value for all of them.

    Warns
    -----
    SmallDataWarning
        An endpoint has fewer than :data:`FEW_TRAIN_MOLECULES` labelled molecules.
    """
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    few, constant, small = [], [], []
    for j, name in enumerate(columns):
        column = values[:, j][~np.isnan(values[:, j])]
        if len(column) < MIN_TRAIN_MOLECULES:
            few.append(f"{name!r} has {len(column)}")
        elif np.all(column == column[0]):
            constant.append(f"{name!r} is {column[0]:g} for all {len(column)}")
        elif len(column) < FEW_TRAIN_MOLECULES:
            small.append(f"{name!r} has {len(column)}")
    if few:
        raise ValueError(
            f"{what} data: endpoint {', '.join(few)} labelled molecule(s); a model "
            f"needs at least {MIN_TRAIN_MOLECULES} per endpoint "
            f"(sciml.hygiene.MIN_TRAIN_MOLECULES)"
        )
    if constant:
        raise ValueError(
            f"{what} data: endpoint {', '.join(constant)} molecules; a constant "
            "target teaches a model nothing (it would predict that value with "
            "no spread)"
        )
    if small:
        warnings.warn(
            f"{what} data: endpoint {', '.join(small)} labelled molecules (fewer "
            f"than {FEW_TRAIN_MOLECULES}); expect predictions close to the mean and "
            "an unreliable spread",
            SmallDataWarning,
            stacklevel=3,
        )


# ------------------------------------------------------------------ stored configurations
def _matches(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a type annotation (unknown constructs are accepted)."""
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(_matches(value, a) for a in args)
    if origin is typing.Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (tuple, list, Sequence, collections.abc.Sequence) or hint in (tuple, list):
        if not isinstance(value, list | tuple):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(
                _matches(v, a) for v, a in zip(value, args, strict=True)
            )
        return all(_matches(v, args[0]) for v in value) if args else True
    if origin in (dict, Mapping, collections.abc.Mapping) or hint is dict:
        if not isinstance(value, dict):
            return False
        if len(args) == 2:
            return all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items())
        return True
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return isinstance(value, dict)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _type_name(hint: Any) -> str:
    text = getattr(hint, "__name__", None) if typing.get_origin(hint) is None else None
    return text or str(hint).replace("typing.", "")


def check_field_types(config_cls: type, data: Mapping[str, Any], source: str | os.PathLike) -> None:
    """Raise ``ValueError`` unless every value in ``data`` fits its field's annotation.

    A stored configuration (``model.json``, a checkpoint's hparams) is data from a file a
    user may have edited: ``n_estimators: "300; rm -rf /"`` must not reach a model. A value
    equal to the field's default is always accepted.
    """
    hints = typing.get_type_hints(config_cls)
    problems = []
    for field in dataclasses.fields(config_cls):
        if field.name not in data:
            continue
        value = data[field.name]
        if (
            field.default is not dataclasses.MISSING
            and value == field.default
            and type(value) is type(field.default)
        ):
            continue
        hint = hints.get(field.name, Any)
        if not _matches(value, hint):
            problems.append(
                f"{field.name} must be {_type_name(hint)}, got {type(value).__name__} {value!r}"
            )
    if problems:
        raise ValueError(
            f"{os.fspath(source)}: wrong type in {config_cls.__name__}: " + "; ".join(problems)
        )


# ------------------------------------------------------------------------ output paths
def refuse_existing(
    path: str | os.PathLike, what: str, *, marker: str | None = None, flag: str = "--overwrite"
) -> None:
    """Raise :class:`FileCheckError` if ``path`` (or ``path / marker``) already exists.

    Commands call this unless the user asked to replace the output (``flag``).
    """
    path = Path(path)
    target = path / marker if marker else path
    if target.exists():
        kind = "a saved model" if marker else "a file"
        raise FileCheckError(
            f"{what} {path} already holds {kind}; pass {flag} to replace it, or choose another name"
        )


# ---------------------------------------------------------------------------- PDE data
def require_variables(ds: Any, required: Sequence[str], problem: str) -> None:
    """Raise ``ValueError`` unless the data set ``ds`` has every ``required`` variable.

    Examples
    --------
    >>> import xarray as xr
    >>> require_variables(xr.Dataset({"u": ("x", [0.0])}), ("u", "coefficients"), "fisher")
    Traceback (most recent call last):
    ...
    ValueError: this fisher data set has no variable(s) coefficients; a fisher data set needs u, coefficients (it has: u)
    """
    have = list(ds.data_vars) + list(ds.coords)
    missing = [name for name in required if name not in have]
    if missing:
        raise ValueError(
            f"this {problem} data set has no variable(s) {', '.join(missing)}; a "
            f"{problem} data set needs {', '.join(required)} (it has: "
            f"{', '.join(map(str, ds.data_vars)) or 'no variables'})"
        )
