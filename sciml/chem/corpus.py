"""Large SMILES corpora with RDKit properties and token ids, computed once and cached on disk.

Pre-training the encoder and training the Regression Transformer both read the same
million-molecule corpora (MOSES, GuacaMol, ChEMBL). Two things are expensive to redo on
every run: RDKit properties (QED costs about a millisecond a molecule, half an hour for
MOSES on one core) and tokenisation. This module computes each once and keeps it:

- :func:`property_table` canonicalises every SMILES and computes the requested properties
  (``qed``, ``logp``, ``mw``, ``tpsa``, ``hbd``, ``hba``, ``rotb``), in chunks of
  ``chunk_size`` molecules written atomically as ``.npz`` (no pickle). A killed run resumes
  at the first missing chunk; ``workers > 1`` computes chunks in parallel processes.
- :class:`TokenCorpus` stores the token ids of every SMILES as one flat ``uint16`` array
  plus offsets, memory-mapped when read, so an epoch over 1.6M molecules does no
  tokenisation at all and costs no memory beyond the pages it touches.

Both caches live under ``sciml.data.cache_dir() / "corpus"`` and are keyed by what made
them (the source file's SHA-256, the RDKit version, the property list; the tokenizer's
vocabulary), so a changed input never serves stale rows.

Examples
--------
>>> from sciml.chem.corpus import compute_properties
>>> frame = compute_properties(["CCO", "c1ccccc1", "not a smiles"], ["qed", "logp"])
>>> frame["canonical"].tolist()
['CCO', 'c1ccccc1', '']
>>> bool(frame["qed"].isna().iloc[2]), round(float(frame["qed"].iloc[0]), 3)
(True, 0.407)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from sciml._io import atomic_path

__all__ = [
    "PROPERTIES",
    "TokenCorpus",
    "canonical_overlap",
    "compute_properties",
    "corpus_dir",
    "property_table",
]


def _qed(mol):
    from rdkit.Chem import QED

    return QED.qed(mol)


def _descriptor(name: str) -> Callable:
    def compute(mol):
        from rdkit.Chem import Descriptors

        return getattr(Descriptors, name)(mol)

    compute.__name__ = name
    return compute


#: Properties :func:`property_table` knows, by name, with the RDKit function that computes them.
PROPERTIES: dict[str, Callable] = {
    "qed": _qed,
    "logp": _descriptor("MolLogP"),
    "mw": _descriptor("MolWt"),
    "tpsa": _descriptor("TPSA"),
    "hbd": _descriptor("NumHDonors"),
    "hba": _descriptor("NumHAcceptors"),
    "rotb": _descriptor("NumRotatableBonds"),
}


def _check_properties(properties: Sequence[str]) -> list[str]:
    properties = list(properties)
    if not properties:
        raise ValueError("properties is empty; name at least one of " + ", ".join(PROPERTIES))
    unknown = [p for p in properties if p not in PROPERTIES]
    if unknown:
        raise ValueError(f"unknown properties {unknown}; known: {', '.join(PROPERTIES)}")
    return properties


def compute_properties(smiles: Sequence[str], properties: Sequence[str]) -> pd.DataFrame:
    """Canonical SMILES and RDKit properties of ``smiles`` (NaN and ``''`` where unparsable).

    Returns
    -------
    pandas.DataFrame
        Columns ``canonical`` and one float column per property, one row per input.
    """
    from rdkit import Chem, RDLogger

    properties = _check_properties(properties)
    RDLogger.DisableLog("rdApp.*")
    canonical = []
    values = np.full((len(smiles), len(properties)), np.nan)
    funcs = [PROPERTIES[p] for p in properties]
    for i, s in enumerate(smiles):
        mol = Chem.MolFromSmiles(s) if isinstance(s, str) and s else None
        if mol is None:
            canonical.append("")
            continue
        canonical.append(Chem.MolToSmiles(mol))
        for j, f in enumerate(funcs):
            try:
                values[i, j] = f(mol)
            except Exception:  # noqa: BLE001 - a property RDKit cannot compute stays NaN
                pass
    frame = pd.DataFrame(values, columns=properties)
    frame.insert(0, "canonical", canonical)
    return frame


def corpus_dir() -> Path:
    """Root of the corpus caches: ``sciml.data.cache_dir() / "corpus"``."""
    from sciml.data import cache_dir

    return cache_dir() / "corpus"


def _file_key(path: Path) -> str:
    from sciml.data import sha256sum

    return sha256sum(path)[:16]


def _chunk_job(args) -> tuple[int, str]:
    index, smiles, properties, target = args
    frame = compute_properties(smiles, properties)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                canonical=np.frombuffer("\n".join(frame["canonical"]).encode(), dtype=np.uint8),
                values=frame[list(properties)].to_numpy(np.float32),
            )
    return index, str(target)


def _read_chunk(path: Path, properties: Sequence[str]) -> pd.DataFrame:
    with np.load(path, allow_pickle=False) as data:
        canonical = data["canonical"].tobytes().decode().split("\n")
        frame = pd.DataFrame(data["values"], columns=list(properties))
    frame.insert(0, "canonical", canonical)
    return frame


def property_table(
    source: str | os.PathLike,
    properties: Sequence[str] = ("qed",),
    *,
    smiles_col: str = "SMILES",
    limit: int | None = None,
    chunk_size: int = 50_000,
    workers: int = 1,
    root: str | os.PathLike | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Canonical SMILES plus RDKit ``properties`` of every molecule of a CSV, cached in chunks.

    Parameters
    ----------
    source : path
        A CSV (optionally gzipped) with a ``smiles_col`` column, e.g.
        ``sciml.data.get_path("moses_train")``.
    properties : sequence of str
        Names from :data:`PROPERTIES`.
    limit : int, optional
        Only the first ``limit`` rows (a prefix, so a larger ``limit`` reuses every chunk).
    chunk_size : int
        Molecules per cached chunk: the unit of resumption and of parallel work.
    workers : int
        Processes computing chunks at once.
    root : path, optional
        Cache folder; default :func:`corpus_dir`.

    Returns
    -------
    pandas.DataFrame
        ``smiles`` (as in the file), ``canonical`` (``''`` where RDKit cannot parse the
        molecule) and one float32 column per property (NaN where it could not be computed),
        in file order.
    """
    import rdkit
    from tqdm.auto import tqdm

    properties = _check_properties(properties)
    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"corpus file {source} does not exist")
    if chunk_size < 1 or workers < 1:
        raise ValueError(f"chunk_size and workers must be >= 1, got {chunk_size}, {workers}")
    frame = pd.read_csv(source, usecols=[smiles_col], dtype=str, nrows=limit)
    smiles = frame[smiles_col].fillna("").tolist()
    key = hashlib.sha256(
        json.dumps(
            [_file_key(source), smiles_col, rdkit.__version__, properties, chunk_size]
        ).encode()
    ).hexdigest()[:16]
    folder = Path(root) if root is not None else corpus_dir()
    folder = folder / f"properties-{source.name.split('.')[0]}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    n_chunks = -(-len(smiles) // chunk_size)
    targets = [folder / f"chunk-{i:05d}.npz" for i in range(n_chunks)]
    # The last chunk of a prefix may be shorter than a full chunk: key it by its length.
    targets = [
        t if (i + 1) * chunk_size <= len(smiles) else t.with_name(f"{t.stem}-{len(smiles)}.npz")
        for i, t in enumerate(targets)
    ]
    jobs = [
        (i, smiles[i * chunk_size : (i + 1) * chunk_size], properties, t)
        for i, t in enumerate(targets)
        if not t.is_file()
    ]
    if jobs:
        bar = tqdm(
            total=len(smiles),
            initial=len(smiles) - sum(len(j[1]) for j in jobs),
            unit="mol",
            desc=f"RDKit {'+'.join(properties)}",
            disable=not progress,
        )
        if workers == 1:
            for job in jobs:
                _chunk_job(job)
                bar.update(len(job[1]))
        else:
            with ProcessPoolExecutor(workers) as pool:
                sizes = {j[0]: len(j[1]) for j in jobs}
                for index, _ in pool.map(_chunk_job, jobs):
                    bar.update(sizes[index])
        bar.close()
    table = pd.concat([_read_chunk(t, properties) for t in targets], ignore_index=True)
    table.insert(0, "smiles", smiles)
    return table


class TokenCorpus:
    """Token ids of many SMILES, stored flat on disk and memory-mapped.

    ``ids.npy`` holds every sequence's ids back to back (``uint16``, without ``[CLS]`` /
    ``[SEP]``), ``offsets.npy`` the ``N + 1`` boundaries; ``meta.json`` the tokenizer's
    fingerprint and the count. A SMILES the tokenizer cannot encode (a token outside its
    vocabulary) is stored empty and marked in :attr:`valid`.

    Examples
    --------
    >>> import tempfile
    >>> from sciml.chem.tokenizer import SmilesTokenizer
    >>> tok = SmilesTokenizer.build_vocab(["CCO", "c1ccccc1"])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     corpus = TokenCorpus.build(["CCO", "c1ccccc1", "CCN"], tok, d + "/c")
    ...     (len(corpus), corpus.lengths().tolist(), corpus.valid.tolist())
    (3, [3, 8, 0], [True, True, False])
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        meta_path = self.folder / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{self.folder} is not a token corpus (no meta.json)")
        self.meta = json.loads(meta_path.read_text())
        self.ids = np.load(self.folder / "ids.npy", mmap_mode="r", allow_pickle=False)
        self.offsets = np.load(self.folder / "offsets.npy", allow_pickle=False)
        if len(self.offsets) != self.meta["n"] + 1:
            raise ValueError(f"{self.folder}: offsets do not match meta.json (damaged cache)")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return np.asarray(self.ids[self.offsets[i] : self.offsets[i + 1]], dtype=np.int64)

    def lengths(self) -> np.ndarray:
        """Token count of every sequence (0 for the ones that could not be encoded)."""
        return np.diff(self.offsets)

    @property
    def valid(self) -> np.ndarray:
        """``(N,)`` bool: sequences that were encoded."""
        return self.lengths() > 0

    @staticmethod
    def vocabulary_key(tokenizer) -> str:
        """The tokenizer's fingerprint, shortened (the cache key part that depends on it)."""
        return tokenizer.fingerprint[:16]

    @classmethod
    def build(
        cls,
        smiles: Sequence[str],
        tokenizer,
        folder: str | os.PathLike,
        *,
        progress: bool = False,
    ) -> TokenCorpus:
        """Tokenise ``smiles`` with ``tokenizer`` into ``folder`` (atomically) and open it."""
        from tqdm.auto import tqdm

        from sciml.chem.tokenizer import TokenizationError

        folder = Path(folder)
        if len(tokenizer.vocab) > np.iinfo(np.uint16).max:
            raise ValueError(f"vocabulary of {len(tokenizer.vocab)} tokens does not fit uint16")
        unk = tokenizer.unk_id
        lengths = np.zeros(len(smiles), dtype=np.int64)
        parts = []
        for i, s in enumerate(tqdm(smiles, desc="tokenising", unit="mol", disable=not progress)):
            try:
                ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(s))
            except TokenizationError:
                continue
            if unk in ids:
                continue
            lengths[i] = len(ids)
            parts.append(np.asarray(ids, dtype=np.uint16))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint16)
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Written into a temporary folder next to the target and renamed: a reader (or a
        # killed build) never sees a half-written corpus.
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            np.save(tmp / "ids.npy", flat)
            np.save(tmp / "offsets.npy", offsets)
            (tmp / "meta.json").write_text(
                json.dumps(
                    {
                        "n": len(smiles),
                        "n_valid": int((lengths > 0).sum()),
                        "tokens": int(offsets[-1]),
                        "vocabulary": cls.vocabulary_key(tokenizer),
                    }
                )
            )
            if folder.exists():  # built meanwhile by another process: keep theirs
                shutil.rmtree(tmp)
            else:
                os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return cls(folder)

    @classmethod
    def cached(
        cls,
        smiles: Sequence[str],
        tokenizer,
        name: str,
        *,
        root: str | os.PathLike | None = None,
        progress: bool = True,
    ) -> TokenCorpus:
        """The corpus of ``smiles`` under ``tokenizer``, built on first use and reused after.

        The cache folder is keyed by ``name``, the tokenizer's vocabulary and a hash of the
        SMILES themselves, so another molecule list or vocabulary builds a new one.
        """
        digest = hashlib.sha256()
        for s in smiles:
            digest.update(s.encode())
            digest.update(b"\n")
        key = f"{cls.vocabulary_key(tokenizer)}-{digest.hexdigest()[:16]}"
        folder = (Path(root) if root is not None else corpus_dir()) / f"tokens-{name}-{key}"
        if (folder / "meta.json").is_file():
            return cls(folder)
        return cls.build(smiles, tokenizer, folder, progress=progress)


@functools.lru_cache(maxsize=4096)
def _token_element(token: str) -> str | None:
    """The element of an atom token (``"c"`` -> ``"C"``, ``"[nH]"`` -> ``"N"``), else None."""
    match = re.fullmatch(r"\[?\d*([A-Z][a-z]?|[a-z][a-z]?)(?:[@+\-:\]\dH]*.*)?", token)
    if match is None or token[0] not in "[BCNOPSFIcnosphb":
        return None
    element = match.group(1).capitalize()
    return None if element == "H" else element


def _element_key(smiles: str) -> tuple | None:
    """Heavy-atom counts by element, read off the SMILES tokens (None if untokenisable).

    The same molecule written in any valid way (aromatic or Kekule, any atom order)
    gives the same key, so it pre-filters a canonical-SMILES comparison cheaply.
    """
    from sciml.chem.tokenizer import TokenizationError, tokenize_smiles

    try:
        tokens = tokenize_smiles(smiles)
    except TokenizationError:
        return None
    counts: dict[str, int] = {}
    for token in tokens:
        element = _token_element(token)
        if element is not None:
            counts[element] = counts.get(element, 0) + 1
    return tuple(sorted(counts.items()))


def canonical_overlap(queries: Sequence[str], corpus: Sequence[str]) -> list[int]:
    """Indices of ``queries`` whose molecule is in ``corpus`` (same RDKit canonical SMILES).

    A leakage check (did a pre-training corpus contain the test molecules?) that scales
    to millions of corpus molecules: only corpus molecules with the same heavy-atom
    element counts as some query are parsed by RDKit. Stereochemistry counts (RDKit's
    canonical isomeric SMILES); unparsable molecules match nothing.

    Examples
    --------
    >>> canonical_overlap(["OCC", "c1ccccc1", "CCN"], ["CCO", "C1=CC=CC=C1", "CCCl"])
    [0, 1]
    """
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")

    def canonical(smiles: str) -> str | None:
        mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles else None
        return Chem.MolToSmiles(mol) if mol is not None else None

    wanted: dict[tuple, set[str]] = {}
    query_canonical = []
    for q in queries:
        c = canonical(q)
        query_canonical.append(c)
        key = _element_key(q) if c is not None else None
        if key is not None:
            wanted.setdefault(key, set()).add(c)
    found: set[str] = set()
    for s in corpus:
        key = _element_key(s) if isinstance(s, str) else None
        if key in wanted:
            c = canonical(s)
            if c in wanted[key]:
                found.add(c)
    return [i for i, c in enumerate(query_canonical) if c is not None and c in found]
