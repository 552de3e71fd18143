"""Named molecular data sets, SMILES-per-line files and users' CSV files as DataFrames.

Every loader returns a :class:`pandas.DataFrame` with a ``smiles`` column (as published,
whitespace stripped, not canonicalised) and one float column per endpoint, NaN where not
measured. ``df.attrs["info"]`` holds the :class:`DatasetInfo` (units, log base, censoring
floor, citation, licence) and ``df.attrs["targets"]`` the endpoint column names; the same
:class:`DatasetInfo` comes from :func:`dataset_info` without reading any file.

Files come from :func:`sciml.data.get_path`: ``$SCIML_DATA_DIR``, then the cache, then a
checksummed download.

Examples
--------
>>> dataset_info("biogen_adme").targets
('HLM', 'RLM', 'MDR1_ER', 'Sol', 'hPPB', 'rPPB')
>>> dataset_info("biogen_adme").endpoint("HLM").unit
'mL/min/kg'
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from sciml.data import FANG_ENDPOINTS, UnknownDatasetError, get_path

__all__ = [
    "DatasetInfo",
    "Endpoint",
    "FangSplit",
    "dataset_info",
    "dataset_names",
    "load_csv",
    "load_dataset",
    "load_fang_split",
    "load_smiles_file",
]

# Values within this of the floor count as censored: the file stores the floor to 9 decimals.
_FLOOR_TOL = 1e-6


@dataclass(frozen=True)
class Endpoint:
    """One measured property.

    Attributes
    ----------
    name : str
        Column name in the returned frame.
    description : str
        What was measured.
    unit : str
        Unit of the physical (un-logged) quantity.
    log_base : int or None
        10 when the column holds ``log10(value in unit)``; None when it holds the value.
    source_column : str
        Column name in the upstream file.
    censor_floor : float or None
        Column value at the assay's lower limit of quantification. Values at or below it are
        censored ("at most this"), flagged in ``<name>_censored``.
    """

    name: str
    description: str
    unit: str
    log_base: int | None
    source_column: str
    censor_floor: float | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of a data set.

    Attributes
    ----------
    name : str
        Name for :func:`load_dataset`.
    description : str
        One-line summary.
    endpoints : tuple of Endpoint
        Target columns, in column order (empty for unlabelled SMILES corpora).
    citation : str
        Reference to cite.
    licence : str
        Licence of the upstream data.
    files : tuple of str
        :mod:`sciml.data` registry names of the files read.
    n_rows : int or None
        Rows of the published file(s), when fixed.
    """

    name: str
    description: str
    endpoints: tuple[Endpoint, ...]
    citation: str
    licence: str
    files: tuple[str, ...] = field(default=())
    n_rows: int | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        """Endpoint column names."""
        return tuple(e.name for e in self.endpoints)

    @property
    def units(self) -> dict[str, str]:
        """``{endpoint: unit}`` of the physical quantities."""
        return {e.name: e.unit for e in self.endpoints}

    @property
    def censor_floors(self) -> dict[str, float]:
        """``{endpoint: floor}`` for the censored endpoints."""
        return {e.name: e.censor_floor for e in self.endpoints if e.censor_floor is not None}

    def endpoint(self, name: str) -> Endpoint:
        """Return the endpoint called ``name`` (``KeyError`` listing the names otherwise)."""
        for e in self.endpoints:
            if e.name == name:
                return e
        raise KeyError(f"{self.name} has no endpoint {name!r}; endpoints: {self.targets}")


class FangSplit(NamedTuple):
    """Train and test frames of one endpoint of the authors' split."""

    train: pd.DataFrame
    test: pd.DataFrame


_FANG_CITATION = (
    "Fang, C. et al. Prospective Validation of Machine Learning Algorithms for Absorption, "
    "Distribution, Metabolism, and Excretion Prediction: An Industrial Perspective. "
    "J. Chem. Inf. Model. 63, 3263-3274 (2023)."
)
_CHEMBL_CITATION = (
    "Mendez, D. et al. ChEMBL: towards direct deposition of bioassay data. "
    "Nucleic Acids Res. 47, D930 (2019)."
)

# The floors are the smallest value in each column of the 3521 file; 958 HLM and 346 RLM
# rows sit exactly there (4.74 and 10.66 mL/min/kg).
_BIOGEN_ENDPOINTS = (
    Endpoint(
        "HLM",
        "human liver microsomal intrinsic clearance",
        "mL/min/kg",
        10,
        "LOG HLM_CLint (mL/min/kg)",
        censor_floor=0.675686709,
    ),
    Endpoint(
        "RLM",
        "rat liver microsomal intrinsic clearance",
        "mL/min/kg",
        10,
        "LOG RLM_CLint (mL/min/kg)",
        censor_floor=1.027920136,
    ),
    Endpoint(
        "MDR1_ER", "MDR1-MDCK efflux ratio (B-A/A-B)", "ratio", 10, "LOG MDR1-MDCK ER (B-A/A-B)"
    ),
    Endpoint("Sol", "aqueous solubility at pH 6.8", "ug/mL", 10, "LOG SOLUBILITY PH 6.8 (ug/mL)"),
    Endpoint(
        "hPPB",
        "human plasma protein binding, fraction unbound",
        "% unbound",
        10,
        "LOG PLASMA PROTEIN BINDING (HUMAN) (% unbound)",
    ),
    Endpoint(
        "rPPB",
        "rat plasma protein binding, fraction unbound",
        "% unbound",
        10,
        "LOG PLASMA PROTEIN BINDING (RAT) (% unbound)",
    ),
)

_ESOL_TARGET = "measured log solubility in mols per litre"

_INFO: dict[str, DatasetInfo] = {
    "biogen_adme": DatasetInfo(
        "biogen_adme",
        "Biogen ADME set: 3521 molecules, six sparse log10 in-vitro ADME endpoints",
        _BIOGEN_ENDPOINTS,
        _FANG_CITATION,
        "MIT",
        ("biogen_adme",),
        3521,
    ),
    "biogen_adme_fang": DatasetInfo(
        "biogen_adme_fang",
        "The Biogen authors' own 80/20 train/test split per endpoint (hPPB and rPPB also "
        "hold AstraZeneca ChEMBL PPB data)",
        _BIOGEN_ENDPOINTS,
        _FANG_CITATION,
        "MIT",
        tuple(f"biogen_adme_fang/{e}_{s}" for e in FANG_ENDPOINTS for s in ("train", "test")),
    ),
    "esol": DatasetInfo(
        "esol",
        "ESOL aqueous solubility (Delaney 2004), MoleculeNet's processed file",
        (Endpoint(_ESOL_TARGET, "measured aqueous solubility", "mol/L", 10, _ESOL_TARGET),),
        "Delaney, J. S. ESOL: Estimating Aqueous Solubility Directly from Molecular Structure. "
        "J. Chem. Inf. Comput. Sci. 44, 1000 (2004); Wu, Z. et al. MoleculeNet: a benchmark "
        "for molecular machine learning. Chem. Sci. 9, 513 (2018).",
        "public research data (MoleculeNet)",
        ("esol",),
        1128,
    ),
    "chembl30_sample": DatasetInfo(
        "chembl30_sample",
        "About 90.6K drug-like ChEMBL 30 SMILES (desalted, neutralised, canonical, "
        "deduplicated, at most 80 characters), unlabelled, for pre-training",
        (),
        _CHEMBL_CITATION,
        "CC BY-SA 3.0 (attribute ChEMBL)",
        ("chembl30_valid", "chembl30_test"),
        90599,
    ),
    "guacamol": DatasetInfo(
        "guacamol",
        "GuacaMol v1 ChEMBL 24 SMILES, one per line (train split: 1,273,104), unlabelled; "
        "downloaded on first use",
        (),
        "Brown, N. et al. GuacaMol: Benchmarking Models for de Novo Molecular Design. "
        "J. Chem. Inf. Model. 59, 1096 (2019).",
        "MIT (GuacaMol; molecules from ChEMBL, CC BY-SA 3.0)",
        ("guacamol_train", "guacamol_valid", "guacamol_test", "guacamol_all"),
    ),
    "moses": DatasetInfo(
        "moses",
        "MOSES benchmark molecules (ZINC Clean Leads, filtered; train split: 1,584,663, "
        "test: 176,074), unlabelled, lead-like; a GuacaMol-scale pre-training corpus",
        (),
        "Polykovskiy, D. et al. Molecular Sets (MOSES): A Benchmarking Platform for "
        "Molecular Generation Models. Front. Pharmacol. 11, 565644 (2020).",
        "MIT",
        ("moses_train", "moses_test"),
    ),
}


_MOLECULENET_CITATION = (
    "Wu, Z. et al. MoleculeNet: a benchmark for molecular machine "
    "learning. Chem. Sci. 9, 513 (2018)."
)
_MOLECULENET_LICENCE = "MoleculeNet research data (files from the chemprop repository, MIT)"
#: MoleculeNet classification sets: registry file, SMILES column, label columns (None: all
#: columns but the SMILES), molecules in the file, description.
_MOLECULENET_CLS = {
    "tox21": (
        "moleculenet_tox21",
        "smiles",
        None,
        7831,
        "Tox21: 12 nuclear-receptor and stress-response assays, binary, sparse",
    ),
    "clintox": (
        "moleculenet_clintox",
        "smiles",
        None,
        1478,
        "ClinTox: FDA approval and clinical-trial toxicity, binary",
    ),
    "sider": (
        "moleculenet_sider",
        "smiles",
        None,
        1427,
        "SIDER: 27 side-effect organ classes of marketed drugs, binary",
    ),
    "bace": (
        "moleculenet_bace",
        "mol",
        ("Class",),
        1513,
        "BACE: beta-secretase 1 inhibitors, binary (Class)",
    ),
    "hiv": (
        "moleculenet_hiv",
        "smiles",
        ("HIV_active",),
        41127,
        "HIV: inhibition of HIV replication, binary (HIV_active), about 3.5% positive",
    ),
}
for _name, (_file, _col, _labels, _n, _text) in _MOLECULENET_CLS.items():
    _INFO[_name] = DatasetInfo(
        _name,
        _text + " (MoleculeNet; 0/1 labels, empty = missing)",
        (),
        _MOLECULENET_CITATION,
        _MOLECULENET_LICENCE,
        (_file,),
        _n,
    )


def dataset_names() -> list[str]:
    """Return the names :func:`load_dataset` accepts."""
    return sorted(_INFO)


def dataset_info(name: str) -> DatasetInfo:
    """Return the metadata of a named data set without reading it.

    Raises
    ------
    sciml.data.UnknownDatasetError
        ``name`` is unknown; the message lists the known names.
    """
    try:
        return _INFO[name]
    except KeyError:
        raise UnknownDatasetError(
            f"unknown molecular data set {name!r}; known names: {', '.join(dataset_names())}"
        ) from None


def _finish(frame: pd.DataFrame, info: DatasetInfo) -> pd.DataFrame:
    frame.attrs["info"] = info
    frame.attrs["targets"] = list(info.targets)
    return frame


def _flag_censored(frame: pd.DataFrame, drop_censored: bool) -> None:
    """Add ``<endpoint>_censored`` columns; with ``drop_censored`` set those values to NaN."""
    for endpoint in _BIOGEN_ENDPOINTS:
        if endpoint.censor_floor is None or endpoint.name not in frame:
            continue
        values = frame[endpoint.name]
        # "At or below": the Fang files also hold a few 0.0 HLM/RLM values under the floor.
        censored = (values <= endpoint.censor_floor + _FLOOR_TOL).to_numpy()
        frame[f"{endpoint.name}_censored"] = censored
        if drop_censored:
            frame.loc[censored, endpoint.name] = np.nan


def _load_biogen_adme(*, drop_censored: bool = False) -> pd.DataFrame:
    raw = pd.read_csv(get_path("biogen_adme"))
    frame = pd.DataFrame(
        {"smiles": raw["SMILES"].str.strip().to_numpy()},
        index=pd.Index(raw["Internal ID"].to_numpy(), name="id"),
    )
    for endpoint in _BIOGEN_ENDPOINTS:
        frame[endpoint.name] = raw[endpoint.source_column].astype(float).to_numpy()
    _flag_censored(frame, drop_censored)
    return _finish(frame, _INFO["biogen_adme"])


def _fang_info(endpoint: str) -> DatasetInfo:
    if endpoint not in FANG_ENDPOINTS:
        raise KeyError(f"unknown Fang endpoint {endpoint!r}; endpoints: {FANG_ENDPOINTS}")
    base = _INFO["biogen_adme_fang"]
    return DatasetInfo(
        f"biogen_adme_fang/{endpoint}",
        base.description,
        (base.endpoint(endpoint),),
        base.citation,
        base.licence,
        tuple(f"biogen_adme_fang/{endpoint}_{s}" for s in ("train", "test")),
    )


def load_fang_split(endpoint: str, *, drop_censored: bool = False) -> FangSplit:
    """Load the authors' 80/20 train/test split of one Biogen endpoint.

    Parameters
    ----------
    endpoint : str
        One of ``"HLM", "RLM", "MDR1_ER", "Sol", "hPPB", "rPPB"``.
    drop_censored : bool
        Set HLM/RLM values at or below the assay floor to NaN.

    Returns
    -------
    FangSplit
        ``(train, test)`` frames with columns ``smiles``, ``<endpoint>`` (log10) and, for
        HLM and RLM, ``<endpoint>_censored``. Rows are as published (a few duplicated
        SMILES and 0.0 HLM/RLM values included).
    """
    info = _fang_info(endpoint)
    frames = []
    for split in ("train", "test"):
        raw = pd.read_csv(get_path(f"biogen_adme_fang/{endpoint}_{split}"))
        frame = pd.DataFrame(
            {"smiles": raw["smiles"].str.strip(), endpoint: raw["activity"].astype(float)}
        )
        _flag_censored(frame, drop_censored)
        frames.append(_finish(frame, info))
    return FangSplit(*frames)


def _load_biogen_adme_fang(
    *, endpoint: str | None = None, drop_censored: bool = False
) -> pd.DataFrame:
    """All of the Fang split as one frame with a ``split`` column ("train"/"test").

    Each row carries one endpoint's value (NaN in the other endpoint columns); with
    ``endpoint`` only that endpoint's rows and column are returned.
    """
    endpoints = FANG_ENDPOINTS if endpoint is None else (endpoint,)
    parts = []
    for name in endpoints:
        split_frames = load_fang_split(name, drop_censored=drop_censored)
        for split, frame in zip(("train", "test"), split_frames, strict=True):
            parts.append(frame.assign(split=split))
    frame = pd.concat(parts, ignore_index=True)
    ordered = [
        "smiles",
        *endpoints,
        *[c for c in frame.columns if c.endswith("_censored")],
        "split",
    ]
    frame = frame[ordered]
    for col in ordered:
        if col.endswith("_censored"):  # concat leaves NaN in other endpoints' rows
            frame[col] = frame[col].fillna(False).astype(bool)
    info = _INFO["biogen_adme_fang"] if endpoint is None else _fang_info(endpoint)
    return _finish(frame, info)


def _load_esol() -> pd.DataFrame:
    raw = pd.read_csv(get_path("esol"))
    frame = pd.DataFrame(
        {
            # MoleculeNet's file carries trailing spaces on some SMILES.
            "smiles": raw["smiles"].str.strip().to_numpy(),
            _ESOL_TARGET: raw[_ESOL_TARGET].astype(float).to_numpy(),
        },
        index=pd.Index(raw["Compound ID"].to_numpy(), name="name"),
    )
    return _finish(frame, _INFO["esol"])


def _load_chembl30_sample(*, part: str = "all") -> pd.DataFrame:
    parts = {
        "valid": ("chembl30_valid",),
        "test": ("chembl30_test",),
        "all": ("chembl30_valid", "chembl30_test"),
    }
    if part not in parts:
        raise ValueError(f"part must be one of {sorted(parts)}, got {part!r}")
    raw = pd.concat([pd.read_csv(get_path(name)) for name in parts[part]], ignore_index=True)
    frame = pd.DataFrame(
        {"smiles": raw["SMILES"].str.strip().to_numpy()},
        index=pd.Index(raw["chembl_id"].to_numpy(), name="chembl_id"),
    )
    return _finish(frame, _INFO["chembl30_sample"])


def _load_guacamol(*, split: str = "train", download: bool = True) -> pd.DataFrame:
    splits = ("train", "valid", "test", "all")
    if split not in splits:
        raise ValueError(f"split must be one of {splits}, got {split!r}")
    frame = load_smiles_file(get_path(f"guacamol_{split}", download=download))
    return _finish(frame, _INFO["guacamol"])


def _load_moses(*, split: str = "train", download: bool = True) -> pd.DataFrame:
    splits = ("train", "test", "all")
    if split not in splits:
        raise ValueError(f"split must be one of {splits}, got {split!r}")
    names = ("moses_train", "moses_test") if split == "all" else (f"moses_{split}",)
    raw = pd.concat(
        [pd.read_csv(get_path(name, download=download), usecols=["SMILES"]) for name in names],
        ignore_index=True,
    )
    frame = pd.DataFrame({"smiles": raw["SMILES"].str.strip().to_numpy()})
    return _finish(frame, _INFO["moses"])


def _load_moleculenet_cls(name: str) -> pd.DataFrame:
    """A MoleculeNet classification set: ``smiles`` plus 0/1 label columns (NaN missing).

    SMILES are kept as in the file: some do not parse in current RDKit (hypervalent metal
    complexes in HIV, ``*`` in ClinTox) and follow the ``errors=`` policy of whatever
    model or split reads them.
    """
    file, smiles_col, labels, _, _ = _MOLECULENET_CLS[name]
    raw = pd.read_csv(get_path(file))
    labels = [c for c in raw.columns if c != smiles_col] if labels is None else list(labels)
    frame = pd.DataFrame({"smiles": raw[smiles_col].astype(str).str.strip().to_numpy()})
    for col in labels:
        frame[col] = pd.to_numeric(raw[col], errors="raise").astype(float).to_numpy()
    info = _INFO[name]
    info = DatasetInfo(
        info.name,
        info.description,
        tuple(Endpoint(c, f"{c} (binary)", "", None, c) for c in labels),
        info.citation,
        info.licence,
        info.files,
        info.n_rows,
    )
    return _finish(frame, info)


_LOADERS: dict[str, Callable[..., pd.DataFrame]] = {
    "biogen_adme": _load_biogen_adme,
    "biogen_adme_fang": _load_biogen_adme_fang,
    "esol": _load_esol,
    "chembl30_sample": _load_chembl30_sample,
    "guacamol": _load_guacamol,
    "moses": _load_moses,
    **{name: partial(_load_moleculenet_cls, name) for name in _MOLECULENET_CLS},
}


def load_dataset(name: str, **kwargs: Any) -> pd.DataFrame:
    """Load a named molecular data set.

    Parameters
    ----------
    name : str
        One of :func:`dataset_names`:

        - ``"biogen_adme"`` (``drop_censored=False``): 3521 rows indexed by Biogen's
          ``id``; columns ``smiles``, ``HLM``, ``RLM``, ``MDR1_ER``, ``Sol``, ``hPPB``,
          ``rPPB`` (log10) and ``HLM_censored``, ``RLM_censored`` (value at the assay floor).
          ``drop_censored=True`` sets those values to NaN, leaving 2129 HLM and 2708 RLM
          values of 3087 and 3054.
        - ``"biogen_adme_fang"`` (``endpoint=None``, ``drop_censored=False``): the authors'
          split, stacked, with a ``split`` column; see :func:`load_fang_split` for one
          endpoint's ``(train, test)``.
        - ``"esol"``: 1128 rows indexed by compound name; the target keeps MoleculeNet's
          column name ``"measured log solubility in mols per litre"``.
        - ``"chembl30_sample"`` (``part="all"|"valid"|"test"``): ~90.6K unlabelled SMILES
          indexed by ChEMBL id.
        - ``"guacamol"`` (``split="train"|"valid"|"test"|"all"``, ``download=True``):
          GuacaMol's SMILES files, downloaded on first use (1.27M training SMILES).
        - ``"moses"`` (``split="train"|"test"|"all"``, ``download=True``): the MOSES
          benchmark molecules (1,584,663 training and 176,074 test SMILES).
        - ``"tox21"``, ``"clintox"``, ``"sider"``, ``"bace"``, ``"hiv"``: MoleculeNet's
          binary classification sets, ``smiles`` plus 0/1 label columns (NaN = missing);
          SMILES as in the file (a few do not parse in current RDKit).
    **kwargs
        Options of that data set, listed above.

    Returns
    -------
    pandas.DataFrame
        ``smiles`` plus endpoint columns; ``attrs["info"]`` is the :class:`DatasetInfo`,
        ``attrs["targets"]`` the endpoint column names.

    Raises
    ------
    sciml.data.UnknownDatasetError
        Unknown ``name``; the message lists the known names.
    sciml.data.DataUnavailableError
        The file is neither local nor downloadable.
    """
    dataset_info(name)
    return _LOADERS[name](**kwargs)


def load_smiles_file(path: str | os.PathLike) -> pd.DataFrame:
    """Read a file with one SMILES per line (``.gz`` allowed), e.g. GuacaMol's.

    Blank lines are skipped. When a line holds more than one whitespace-separated field
    (``.smi`` files: ``SMILES name``), the first field is the SMILES and the rest goes to a
    ``name`` column.

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    pandas.DataFrame
        Column ``smiles`` (and ``name`` when present), in file order.
    """
    from sciml._io import compression_of, reading

    path = Path(path)
    opener = gzip.open if compression_of(path) == "gzip" else open
    smiles, names = [], []
    with reading(path, "SMILES"), opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split(maxsplit=1)
            if fields:
                smiles.append(fields[0])
                names.append(fields[1].strip() if len(fields) > 1 else None)
    frame = pd.DataFrame({"smiles": smiles})
    if any(n is not None for n in names):
        frame["name"] = names
    frame.attrs["targets"] = []
    return frame


def _separator_hint(columns) -> str:
    """A hint when one column name holds a separator (a ``sep=`` that did not fit the file)."""
    from sciml.hygiene import sniff_separator

    sep = sniff_separator(list(columns))
    return f"; the file looks {sep!r}-separated" if sep else ""


def load_csv(
    path: str | os.PathLike,
    smiles_col: str = "smiles",
    target_cols: str | Sequence[str] | None = None,
    **read_csv_kwargs: Any,
) -> pd.DataFrame:
    """Read a user's CSV file of SMILES and (optionally) measured values.

    Parameters
    ----------
    path : path
        CSV file (anything :func:`pandas.read_csv` reads; compression is found from the
        file's first bytes, so a gzip file named ``.csv`` is read too).
    smiles_col : str
        Column holding the SMILES; renamed to ``smiles`` and whitespace-stripped.
    target_cols : str or sequence of str, optional
        Endpoint columns, converted to float. Only empty (or blank) cells are missing
        labels (NaN); any other text, ``NA``, ``n/a``, ``nan`` and ``inf`` included, is an
        error naming the rows, except in a column of exactly two words (e.g. ``active`` /
        ``inactive``): a yes/no endpoint, read as 0/1 with the words kept in
        ``frame.attrs["classes"]`` (the "no"-like word is 0). ``None`` reads no targets
        (input for prediction).
    **read_csv_kwargs
        Passed to :func:`pandas.read_csv` (``sep``, ``encoding``, ...). The file passes the
        table checks of :func:`sciml._io.read_csv` (unique column names; a ``;`` or tab
        separator is detected from the header).

    Returns
    -------
    pandas.DataFrame
        ``smiles`` plus the target columns, in the file's row order.

    Raises
    ------
    KeyError
        A named column is missing (the message lists the file's columns).
    ValueError
        A target cell is neither a number nor empty (the message lists the offending
        rows), or the file is a directory, empty or not a CSV (``FileCheckError``).
    """
    from sciml._io import read_csv
    from sciml.hygiene import check_finite_targets

    targets = [target_cols] if isinstance(target_cols, str) else list(target_cols or [])
    # Only empty cells are missing: pandas' default would also read 'NA', 'n/a', 'null',
    # '-' ... as missing and silently drop a label a chemist typed on purpose.
    options = {"keep_default_na": False, "na_values": [""], **read_csv_kwargs}
    raw = read_csv(path, "data", **options)
    missing = [c for c in [smiles_col, *targets] if c not in raw.columns]
    if missing:
        raise KeyError(
            f"{os.fspath(path)} has no column(s) {missing}; "
            f"columns are {list(raw.columns)}{_separator_hint(raw.columns)}"
        )
    if smiles_col in targets:
        raise ValueError(f"the SMILES column {smiles_col!r} cannot also be a target")
    frame = pd.DataFrame(
        {"smiles": raw[smiles_col].map(lambda s: s.strip() if isinstance(s, str) else s)}
    )
    classes: dict[str, tuple[str, str]] = {}
    for col in targets:
        cells = raw[col].map(lambda v: v.strip() if isinstance(v, str) else v)
        empty = cells.isna() | (cells == "")
        numeric = pd.to_numeric(cells.where(~empty), errors="coerce")
        named = _text_classes(cells[~empty]) if numeric[~empty].isna().all() else None
        if named is not None:  # a yes/no column written as two words: 0/1, named
            classes[col] = named
            numeric = cells.map({named[0]: 0.0, named[1]: 1.0}).where(~empty)
        # 'nan' and 'NaN' parse as numbers but are no measurement: name them too.
        text_nan = cells.map(lambda v: isinstance(v, str) and v.lower() in ("nan", "-nan"))
        bad = raw.index[(numeric.isna() & ~empty) | text_nan]
        if len(bad):
            examples = ", ".join(f"row {i}: {raw.at[i, col]!r}" for i in bad[:10])
            raise ValueError(
                f"{os.fspath(path)}: column {col!r} has {len(bad)} non-numeric "
                f"values ({examples}); only empty cells are read as "
                "missing labels"
            )
        check_finite_targets(
            numeric.to_numpy(dtype=float)[:, None], [col], os.fspath(path), rows=list(raw.index)
        )
        frame[col] = numeric.astype(float)
    info = DatasetInfo(
        Path(path).name,
        f"user data from {os.fspath(path)}",
        tuple(Endpoint(c, c, "", None, c) for c in targets),
        "",
        "",
    )
    frame = _finish(frame, info)
    frame.attrs["classes"] = classes
    return frame


#: Labels read as class 0 when a column holds two words (the other word is class 1).
_NEGATIVE_WORDS = frozenset(
    {
        "0",
        "no",
        "n",
        "false",
        "f",
        "negative",
        "neg",
        "inactive",
        "non-toxic",
        "nontoxic",
        "non-inhibitor",
        "noninhibitor",
        "non-blocker",
        "nonblocker",
        "non-mutagen",
        "nonmutagen",
        "non-penetrating",
        "bbb-",
        "-",
    }
)


def _text_classes(cells: pd.Series) -> tuple[str, str] | None:
    """``(class 0, class 1)`` of a column holding exactly two distinct words, else None.

    The word that reads as a "no" (inactive, negative, false, ...) is class 0; when neither
    does, alphabetical order decides and the fitted model names the mapping.
    """
    values = sorted({str(v) for v in cells})
    if len(values) != 2 or any(v.lower() in ("nan", "-nan") for v in values):
        return None
    negative = [v for v in values if v.lower() in _NEGATIVE_WORDS]
    if len(negative) == 1:
        positive = next(v for v in values if v != negative[0])
        return negative[0], positive
    return values[0], values[1]
