"""Property-primed generation of the Regression Transformer: masking, filling, reranking.

:meth:`sciml.rt.RegressionTransformer.generate` is the public entry point; it calls
:func:`generate` here with a :class:`GenerationConfig`. A candidate is a seed molecule with
some of its tokens replaced by ``[MASK]`` under a property primer (:class:`Masker`: by default
spans in the seed's side chains, keeping its Murcko scaffold); the masks are filled by the
model (:meth:`~sciml.rt.RegressionTransformer.fill`), invalid or filtered fills are filled
again, and with ``best_of > 1`` the fill the model itself scores closest to the target is
kept (:func:`rerank`, self-consistency).

This module uses only the model's public seam -- ``encode``, ``fill``, ``score``, ``net``,
``tokenizer``, ``numbers``, ``language`` -- and does not import :mod:`sciml.rt.predictor`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Literal

import numpy as np
import pandas as pd
import torch

from sciml.chem.smiles import Errors, canonicalize_batch, check_errors_arg
from sciml.chem.tokenizer import pad_ids
from sciml.rt._fill import atom_class_table
from sciml.rt.data import mask_molecule_spans
from sciml.rt.filters import MoleculeFilter

__all__ = [
    "MASKS",
    "RDKIT_PROPERTIES",
    "GenerationConfig",
    "GenerationWarning",
    "Masker",
    "generate",
    "primer_influence",
    "rerank",
    "scaffold_atoms",
    "target_rows",
    "tanimoto_to",
    "true_property",
]

#: What a candidate re-generates (:class:`Masker`).
MASKS = ("scaffold", "spans", "atoms")


def _qed(mol) -> float:
    from rdkit.Chem import QED

    return QED.qed(mol)


def _logp(mol) -> float:
    from rdkit.Chem import Crippen

    return Crippen.MolLogP(mol)


def _tpsa(mol) -> float:
    from rdkit.Chem import rdMolDescriptors

    return rdMolDescriptors.CalcTPSA(mol)


#: Properties RDKit can compute exactly, filled in as ``true_<name>`` by :meth:`generate`.
RDKIT_PROPERTIES = {"qed": _qed, "logp": _logp, "tpsa": _tpsa}


def true_property(name: str, smiles: Sequence[str]) -> np.ndarray:
    """RDKit value of ``name`` for each SMILES (NaN where not computable or not parsable)."""
    from sciml.chem.smiles import parse_batch

    fn = RDKIT_PROPERTIES.get(name)
    out = np.full(len(smiles), np.nan)
    if fn is None:
        return out
    batch = parse_batch(smiles, errors="nan")
    for i, mol in enumerate(batch.values):
        if mol is not None:
            out[i] = fn(mol)
    return out


#: What ``"auto"`` means in :class:`GenerationConfig`, per molecule language, each chosen on
#: validation seeds by a rule of ``benchmarks/rt_generation_settings.py`` written down before
#: its settings were measured (its results file compares them all). SELFIES: one fill pass
#: (every SELFIES string is a molecule); 16 candidates per molecule asked, each masking 20% of
#: the seed's tokens and filled 4 times, the fill kept by its predicted property less 0.5 times
#: its Tanimoto similarity to the seed, and the best 16th of the candidates returned (session
#: 9's pool rule: the primer steers more *and* the outputs stay nearer their seeds than with
#: one candidate of 32 fills, mask fraction 0.25 and similarity 1, the setting before it).
#: SMILES: one token per pass (a one-pass SMILES fill is seldom valid), 4 fills, the property
#: alone, one candidate per molecule asked, mask fraction 0.25 (not re-measured since).
AUTO_SETTINGS = {
    "selfies": {
        "mask_fraction": 0.2,
        "n_steps": 1,
        "best_of": 4,
        "similarity": 0.5,
        "min_similarity": 0.0,
        "pool": 16,
    },
    "smiles": {
        "mask_fraction": 0.25,
        "n_steps": None,
        "best_of": 4,
        "similarity": 0.0,
        "min_similarity": 0.0,
        "pool": 1,
    },
}


@dataclass(frozen=True)
class GenerationConfig:
    """Every option of :meth:`RegressionTransformer.generate <sciml.rt.RegressionTransformer.generate>`.

    Attributes
    ----------
    n : int
        Molecules wanted per seed and target: distinct, valid, passing the filters, and
        not the seed itself (unless ``keep_seed``).
    mask_fraction : float or "auto"
        **The locality knob**: fraction of the seed's tokens re-generated, in (0, 1]. With
        ``mask="scaffold"`` the masked spans lie in the side chains while they have room
        and grow into the scaffold only beyond that, so a small fraction makes local edits
        (high Tanimoto to the seed) and a large one lets the primer change more of the
        molecule (more property change, less similarity); measured in
        ``benchmarks/results/regression_transformer.md``. ``"auto"`` (default):
        :data:`AUTO_SETTINGS` for the model's language.
    mask : {"scaffold", "spans", "atoms"}
        ``"scaffold"`` (default): one or two contiguous spans inside the seed's side
        chains (atoms outside its Murcko scaffold), grown into the scaffold only when the
        side chains hold fewer than ``mask_fraction`` of the tokens (or the seed has no
        side chain). ``"spans"``: one or two spans anywhere. ``"atoms"`` (SMILES only):
        ``mask_fraction`` of the atom tokens, each refilled with an atom of its aromaticity.
    n_steps : int, None or "auto"
        Unmasking passes; None: one token per pass. ``"auto"`` (default): the setting chosen
        for the model's language (:data:`AUTO_SETTINGS`: SELFIES in one pass, since every
        SELFIES string is a molecule; SMILES one token per pass).
    temperature : float
        Sampling temperature of the first fill (0 = greedy).
    best_of : int or "auto"
        Fills per candidate; among the valid ones the one whose property *as the model
        itself predicts it* is closest to the target is kept (self-consistency reranking,
        on by default; 1 turns it off). ``"auto"`` (default): :data:`AUTO_SETTINGS` for the
        model's language (4 for SMILES and for SELFIES, where 16 candidates per molecule
        asked, ``pool``, make 64 fills in all; see
        ``benchmarks/results/rt_generation_settings.md``).
    similarity : float or "auto"
        **The second locality knob**, for the reranking of ``best_of`` fills: each fill is
        scored by the distance of its predicted properties from the targets (in units of
        each property's range) minus ``similarity`` times its Tanimoto similarity (Morgan
        r=2, 2048 bits) to the seed, and the lowest score is kept. 0: the property alone
        (pure self-consistency); 0.2: a fill 0.5 more similar to the seed may miss the
        target by a further 0.1 of the range. Larger values keep outputs nearer their seeds
        and let the primer move the property less; measured in
        ``benchmarks/results/rt_generation_settings.md``. Fills that give the seed back are
        never kept by the reranking (unless ``keep_seed``). ``"auto"`` (default):
        :data:`AUTO_SETTINGS` for the model's language (0.5 for SELFIES, 0 for SMILES).
    min_similarity : float or "auto"
        **A hard locality bound**, in [0, 1): a fill whose Tanimoto similarity (Morgan r=2,
        2048 bits) to its seed is below it is refused like a filtered one (counted as
        ``min_similarity`` in ``attrs["filtered_by"]``), in the reranking and in the
        refills, so every output is at least this similar to its seed (the constrained
        optimisation of the molecule-optimisation literature, e.g. Tanimoto >= 0.4). Fewer
        fills survive a high bound, so more candidates may be needed (``max_rounds``).
        0: no bound. ``"auto"`` (default): :data:`AUTO_SETTINGS` for the model's language.
    pool : int or "auto"
        **Candidates per molecule asked for**, each with its own mask: ``generate(n=...)``
        makes ``pool * n`` candidates per seed and target, each keeps its best fill (the
        reranking above), and the ``n`` whose fills score best (the same score: distance
        of the predicted properties from the targets minus ``similarity`` times the
        Tanimoto similarity to the seed) are returned. Which part of the seed is masked
        decides how far an edit can move the property, so a pool lets the primer choose
        where to edit as well as what to write; it costs ``pool`` times the fills. 1: every
        candidate that passes is returned, in the order made. ``"auto"`` (default):
        :data:`AUTO_SETTINGS` for the model's language.
    max_retries : int
        Refills of a candidate whose fills are all invalid or filtered.
    max_rounds : int
        Rounds of new candidates while some seed and target have fewer than ``n``.
    repair : bool
        Swap tokens of SMILES fills that do not sanitize (:mod:`sciml.rt._repair`).
    span_slack : float, optional
        Extra ``[MASK]`` slots after each masked span, which the model may fill with
        ``[PAD]`` so the molecule grows or shrinks; default: the model's ``RTConfig``.
    exclude : mapping, optional
        Chemistry filters (:class:`~sciml.rt.filters.MoleculeFilter`; None: the defaults,
        including rings > 8 atoms and C=C in 3- or 4-rings; ``{}``: none).
    keep_seed : bool
        Count the seed itself, when a fill gives it back, as an output.
    errors : {"raise", "skip", "nan"}
        Invalid seeds (unparsable, too long, a token outside the vocabulary): raise naming
        them, or skip them ("nan" also skips).
    out_of_range : {"raise", "clip"}
        Targets outside the trained range: refuse or clip with a warning.
    batch_size, seed : int
        Sequences per pass; random seed of masks and sampling (same seed, same output).
    progress : bool or "auto"
        A tqdm bar over the fills of each round; ``"auto"`` (default): only for a round of
        at least :data:`PROGRESS_FILLS` fills (a few seconds on a laptop CPU).
    """

    n: int = 10
    mask_fraction: float | Literal["auto"] = "auto"
    mask: Literal["scaffold", "spans", "atoms"] = "scaffold"
    n_steps: int | None | Literal["auto"] = "auto"
    temperature: float = 1.0
    best_of: int | Literal["auto"] = "auto"
    similarity: float | Literal["auto"] = "auto"
    min_similarity: float | Literal["auto"] = "auto"
    pool: int | Literal["auto"] = "auto"
    max_retries: int = 3
    max_rounds: int = 4
    repair: bool = False
    span_slack: float | None = None
    exclude: Mapping[str, str] | None = None
    keep_seed: bool = False
    errors: Errors = "raise"
    out_of_range: Literal["raise", "clip"] = "raise"
    batch_size: int = 256
    seed: int = 0
    progress: bool | Literal["auto"] = "auto"

    def __post_init__(self):
        checks = [
            (
                self.mask_fraction == "auto"
                or (
                    isinstance(self.mask_fraction, int | float)
                    and not isinstance(self.mask_fraction, bool)
                    and 0 < self.mask_fraction <= 1
                ),
                f"mask_fraction must be 'auto' or in (0, 1], got {self.mask_fraction!r}",
            ),
            (self.n >= 1, f"n must be >= 1, got {self.n}"),
            (
                self.n_steps in (None, "auto")
                or (isinstance(self.n_steps, int) and self.n_steps >= 1),
                f"n_steps must be None, 'auto' or >= 1, got {self.n_steps!r}",
            ),
            (self.max_retries >= 0, f"max_retries must be >= 0, got {self.max_retries}"),
            (
                self.best_of == "auto" or (isinstance(self.best_of, int) and self.best_of >= 1),
                f"best_of must be 'auto' or >= 1, got {self.best_of!r}",
            ),
            (
                self.similarity == "auto"
                or (
                    isinstance(self.similarity, int | float)
                    and self.similarity >= 0
                    and math.isfinite(self.similarity)
                ),
                f"similarity must be 'auto' or a finite number >= 0, got {self.similarity!r}",
            ),
            (
                self.min_similarity == "auto"
                or (isinstance(self.min_similarity, int | float) and 0 <= self.min_similarity < 1),
                f"min_similarity must be 'auto' or in [0, 1), got {self.min_similarity!r}",
            ),
            (
                self.pool == "auto"
                or (
                    isinstance(self.pool, int)
                    and not isinstance(self.pool, bool)
                    and self.pool >= 1
                ),
                f"pool must be 'auto' or an integer >= 1, got {self.pool!r}",
            ),
            (self.max_rounds >= 1, f"max_rounds must be >= 1, got {self.max_rounds}"),
            (
                self.progress in (True, False, "auto"),
                f"progress must be True, False or 'auto', got {self.progress!r}",
            ),
            (self.mask in MASKS, f"mask must be one of {MASKS}, got {self.mask!r}"),
            (self.temperature >= 0, f"temperature must be >= 0, got {self.temperature}"),
            (
                self.out_of_range in ("raise", "clip"),
                f"out_of_range must be 'raise' or 'clip', got {self.out_of_range!r}",
            ),
            (
                self.span_slack is None
                or (self.span_slack >= 0 and math.isfinite(self.span_slack)),
                f"span_slack must be >= 0, got {self.span_slack}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        check_errors_arg(self.errors)

    def for_language(self, language: str) -> GenerationConfig:
        """A copy whose ``"auto"`` fields hold the settings for ``language``."""
        auto = AUTO_SETTINGS[language]
        return replace(self, **{k: v for k, v in auto.items() if getattr(self, k) == "auto"})

    @classmethod
    def from_options(cls, config: GenerationConfig | None, options: Mapping) -> GenerationConfig:
        """``config`` (default: the defaults) with ``options`` replacing its fields.

        Raises
        ------
        TypeError
            An option that is no field, listing the fields.
        """
        names = [f.name for f in fields(cls)]
        unknown = [k for k in options if k not in names]
        if unknown:
            raise TypeError(f"unknown generation options {unknown}; known: {', '.join(names)}")
        base = config if config is not None else cls()
        return cls(**{**{k: getattr(base, k) for k in names}, **options})


def target_rows(
    rt, targets: Mapping[str, float | Sequence[float]], out_of_range: str
) -> list[dict[str, float]]:
    """One ``{property: value}`` per target (lists of several properties are zipped), checked."""
    if not targets:
        raise ValueError(
            f"targets must name at least one property of: {', '.join(rt.property_names)}"
        )
    rt.numbers.check_names(targets)
    lists = {k: list(np.atleast_1d(np.asarray(v, dtype=float))) for k, v in targets.items()}
    lengths = {len(v) for v in lists.values()}
    if len(lengths) != 1:
        raise ValueError(
            f"target lists must have one length, got { {k: len(v) for k, v in lists.items()} }"
        )
    return [
        {k: rt.numbers.spec(k).check_value(v[j], out_of_range) for k, v in lists.items()}
        for j in range(lengths.pop())
    ]


#: Fills in one round from which ``progress="auto"`` shows a bar (about 2-3 CPU-s of SELFIES
#: one-pass fills with the shipped RT).
PROGRESS_FILLS = 4096


class GenerationWarning(UserWarning):
    """``generate(n)`` returned fewer than ``n`` molecules for some seed and target."""


# ------------------------------------------------------------------------- masking
def scaffold_atoms(smiles: str) -> np.ndarray:
    """``(n_atoms,)`` bool: the atoms of the Murcko scaffold (ring systems and their linkers).

    Side-chain atoms are pruned leaf by leaf (a non-ring atom with one heavy neighbour left)
    until none is left, which is the Murcko definition; a molecule without rings has no
    scaffold (all False).

    Examples
    --------
    >>> scaffold_atoms("CC(=O)Nc1ccccc1").tolist()
    [False, False, False, False, True, True, True, True, True, True]
    """
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"not a valid SMILES: {smiles!r}")
    keep = np.ones(mol.GetNumAtoms(), dtype=bool)
    if not mol.GetRingInfo().NumRings():
        return ~keep
    degree = np.array([a.GetDegree() for a in mol.GetAtoms()])
    in_ring = np.array([a.IsInRing() for a in mol.GetAtoms()])
    leaves = [i for i in range(len(keep)) if degree[i] <= 1 and not in_ring[i]]
    while leaves:
        i = leaves.pop()
        if not keep[i]:
            continue
        keep[i] = False
        for nb in mol.GetAtomWithIdx(i).GetNeighbors():
            j = nb.GetIdx()
            if keep[j]:
                degree[j] -= 1
                if degree[j] <= 1 and not in_ring[j]:
                    leaves.append(j)
    return keep


def _grow_spans(
    free: np.ndarray, k: int, rng: np.random.Generator, max_spans: int = 2
) -> np.ndarray:
    """``k`` masked positions: 1..max_spans spans inside the runs of ``free``, then grown."""
    n = len(free)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], free.astype(int), [0]])))
    runs = list(zip(edges[::2], edges[1::2], strict=True))
    if not runs:
        return mask_molecule_spans(n, k / max(n, 1), rng)
    n_spans = min(len(runs), int(rng.integers(1, max_spans + 1)) if k > 1 else 1)
    lengths = np.array([b - a for a, b in runs], dtype=float)
    chosen = rng.choice(len(runs), n_spans, replace=False, p=lengths / lengths.sum())
    mask = np.zeros(n, dtype=bool)
    share = max(1, k // n_spans)
    for r in chosen:
        a, b = runs[r]
        length = min(share, b - a)
        start = int(rng.integers(a, b - length + 1))
        mask[start : start + length] = True
    while mask.sum() < min(k, n):  # grow the spans outward, side chains first
        edge = np.flatnonzero(~mask & (np.roll(mask, 1) | np.roll(mask, -1)))
        inner = edge[free[edge]]
        pick = inner if len(inner) else edge
        mask[pick[int(rng.integers(len(pick)))] if len(pick) else np.flatnonzero(~mask)[0]] = True
    return mask


class Masker:
    """Masks candidates of one model and config: which molecule tokens a candidate re-generates.

    Candidate ``k`` of seed ``s`` uses the same mask under every target (its random stream
    is seeded by ``(seed, s, k)``), so the targets are compared on equal terms.
    """

    def __init__(self, rt, config: GenerationConfig):
        if config.mask == "atoms" and not rt.language.smiles_syntax:
            raise ValueError(f"mask='atoms' needs a SMILES model, not {rt.language.name}")
        self.rt, self.config = rt, config
        self.mask_id = rt.tokenizer.mask_id
        self.mol_start = rt.net.mol_start
        self.max_len = rt.net.encoder.max_len
        self.atom_class = atom_class_table(rt.net)[0]
        slack = rt.config.span_slack if config.span_slack is None else config.span_slack
        if (
            config.span_slack is None
            and config.mask == "scaffold"
            and not rt.language.smiles_syntax
        ):
            # A SELFIES branch writes its length in tokens: an inserted or dropped token would
            # move atoms in or out of it (and out of the scaffold's rings), so scaffold edits of
            # SELFIES keep the token count unless span_slack is given.
            slack = 0.0
        self.slack = float(slack) if config.mask != "atoms" else 0.0
        self._free: dict[str, np.ndarray] = {}

    def free_tokens(self, seed: str, n_tokens: int) -> np.ndarray:
        """``(n_tokens,)`` bool: the seed's tokens outside its scaffold (cached per seed)."""
        if seed not in self._free:
            tokens = self.rt.tokenizer.tokenize(self.rt.language.encode(seed))
            atoms = self.rt.language.token_atoms(seed, tokens)
            scaffold = scaffold_atoms(seed)
            self._free[seed] = np.array([a >= 0 and not scaffold[a] for a in atoms])
        free = self._free[seed]
        if len(free) != n_tokens:
            raise RuntimeError(f"token count of {seed!r} changed: {len(free)} != {n_tokens}")
        return free

    def __call__(
        self, base: np.ndarray, seed: str, s_idx: int, k: int
    ) -> tuple[list[int], np.ndarray | None]:
        """The masked id row of candidate ``k`` and its atom classes (``mask="atoms"`` only)."""
        cfg, start = self.config, self.mol_start
        ids = base.copy()
        n_mol = len(ids) - start - 1
        rng = np.random.default_rng((cfg.seed, s_idx, k))
        if cfg.mask == "atoms":
            atoms = np.flatnonzero(self.atom_class[ids[start:-1]] >= 0)
            n_masked = min(len(atoms), max(1, round(cfg.mask_fraction * len(atoms))))
            masked = rng.choice(atoms, n_masked, replace=False)
            classes = np.full(len(ids), -1)
            classes[start + masked] = self.atom_class[ids[start + masked]]
            ids[start + masked] = self.mask_id
            return ids.tolist(), classes
        k_tokens = int(min(n_mol, max(1, round(cfg.mask_fraction * n_mol))))
        spans = (
            _grow_spans(self.free_tokens(seed, n_mol), k_tokens, rng)
            if cfg.mask == "scaffold"
            else mask_molecule_spans(n_mol, cfg.mask_fraction, rng)
        )
        ids[start + np.flatnonzero(spans)] = self.mask_id
        if self.slack > 0:
            ids = _with_slack(
                ids, spans, start, self.slack, rng, self.max_len - len(ids), self.mask_id
            )
        return ids.tolist(), None


def _with_slack(
    ids: np.ndarray,
    spans: np.ndarray,
    mol_start: int,
    slack: float,
    rng: np.random.Generator,
    room: int,
    mask_id: int,
) -> np.ndarray:
    """``ids`` with ``0..ceil(slack * k)`` extra ``[MASK]`` slots after each masked span of ``k``.

    The layout of :meth:`sciml.rt.data.RTDataset._slack_row` in training, where the extra
    slots are labelled ``[PAD]``; at most ``room`` slots in all (the model's maximum length).
    """
    edges = np.flatnonzero(np.diff(np.concatenate([[0], spans.astype(int), [0]])))
    parts, cursor = [ids[:mol_start]], 0
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        extra = min(int(rng.integers(0, math.ceil(slack * (b - a)) + 1)), max(room, 0))
        room -= extra
        parts.append(ids[mol_start + cursor : mol_start + b])
        parts.append(np.full(extra, mask_id, dtype=ids.dtype))
        cursor = b
    parts.append(ids[mol_start + cursor :])
    return np.concatenate(parts)


# ---------------------------------------------------------------------- reranking
def rerank(
    rt,
    fills: Sequence[Sequence[str | None]],
    targets: Sequence[Mapping[str, float]],
    batch_size: int = 256,
    **options,
) -> list[str | None]:
    """Per candidate, the valid fill whose *model-predicted* properties are closest to its targets.

    ``fills[j][i]`` is fill ``j`` of candidate ``i`` (None if invalid); distance in units of
    each property's range, summed over the targeted properties; ties keep the earliest fill.
    ``options`` (keywords of :func:`scored_rerank`): with ``seeds`` (the canonical seed of
    each candidate), ``similarity`` times a fill's Tanimoto similarity to its seed is taken
    off its distance (:attr:`GenerationConfig.similarity`), and a fill equal to its seed is
    passed over unless ``keep_seed``.
    """
    return scored_rerank(rt, fills, targets, batch_size, **options)[0]


def scored_rerank(
    rt,
    fills: Sequence[Sequence[str | None]],
    targets: Sequence[Mapping[str, float]],
    batch_size: int = 256,
    *,
    seeds: Sequence[str] | None = None,
    similarity: float = 0.0,
    keep_seed: bool = False,
) -> tuple[list[str | None], np.ndarray]:
    """:func:`rerank` and the score of each kept fill (lower is better; inf where none)."""
    distinct = sorted({smi for row in fills for smi in row if smi is not None})
    if not distinct:
        return [None] * len(targets), np.full(len(targets), math.inf)
    pred = rt.score(distinct, batch_size=batch_size)
    names = rt.property_names
    spans = {p: rt.numbers.spec(p).vmax - rt.numbers.spec(p).vmin for p in names}
    where = {smi: k for k, smi in enumerate(distinct)}
    sims = (
        _seed_similarity(fills, seeds)
        if seeds is not None and similarity > 0
        else np.zeros((len(fills), len(targets)))
    )
    out, scores = [], []
    for i, target in enumerate(targets):
        best, best_distance = None, math.inf
        for j, row in enumerate(fills):
            if row[i] is None or (seeds is not None and not keep_seed and row[i] == seeds[i]):
                continue
            values = pred[where[row[i]]]
            distance = sum(abs(values[names.index(p)] - v) / spans[p] for p, v in target.items())
            distance = distance - similarity * sims[j, i] if np.isfinite(distance) else math.inf
            if best is None or distance < best_distance:
                best, best_distance = row[i], distance
        out.append(best)
        scores.append(best_distance)
    return out, np.asarray(scores, dtype=float)


def _seed_similarity(fills: Sequence[Sequence[str | None]], seeds: Sequence[str]) -> np.ndarray:
    """Tanimoto similarity of ``fills[j][i]`` to ``seeds[i]``, ``(len(fills), len(seeds))``."""
    flat = tanimoto_to(
        [seed for _ in fills for seed in seeds], [smi for row in fills for smi in row]
    )
    return flat.reshape(len(fills), len(seeds))  # one fingerprint pass over every molecule


def tanimoto_to(references: Sequence[str], smiles: Sequence[str | None]) -> np.ndarray:
    """Tanimoto similarity (Morgan r=2, 2048 bits) of ``smiles[i]`` to ``references[i]``.

    0 where either is None or does not parse.

    Examples
    --------
    >>> tanimoto_to(["CCO", "c1ccccc1"], ["CCO", None]).tolist()
    [1.0, 0.0]
    """
    from sciml.chem.descriptors import morgan_fingerprints

    if len(references) != len(smiles):
        raise ValueError(f"{len(references)} references for {len(smiles)} molecules")
    distinct = sorted({*references, *(smi for smi in smiles if smi is not None)})
    bits = morgan_fingerprints(distinct, errors="nan") if distinct else np.zeros((0, 1))
    valid = ~np.isnan(bits).any(axis=1)
    bits = np.nan_to_num(bits) > 0
    where = {smi: k for k, smi in enumerate(distinct)}
    out = np.zeros(len(smiles))
    for i, (ref, smi) in enumerate(zip(references, smiles, strict=True)):
        if smi is None or not (valid[a := where[ref]] and valid[b := where[smi]]):
            continue
        common = np.count_nonzero(bits[a] & bits[b])
        union = np.count_nonzero(bits[a]) + np.count_nonzero(bits[b]) - common
        out[i] = common / union if union else 1.0
    return out


# --------------------------------------------------------------------- generation
class _PairStats:
    """What became of the candidates of one seed and target."""

    def __init__(self):
        self.candidates = self.duplicates = self.unchanged = self.surplus = 0
        #: Candidates with no valid fill, by reason ("invalid" or a filter name).
        self.rejected: dict[str, int] = {}

    def describe(self) -> dict:
        return {
            "candidates": self.candidates,
            "invalid": self.rejected.get("invalid", 0),
            "filtered": {k: v for k, v in self.rejected.items() if k != "invalid"},
            "duplicates": self.duplicates,
            "unchanged": self.unchanged,
        }


class _Run:
    """The state of one :func:`generate` call: candidates, fills, accepted molecules."""

    def __init__(self, rt, seeds: list[str], goals: list[dict], config: GenerationConfig):
        config = config.for_language(rt.language.name)
        self.rt, self.seeds, self.goals, self.config = rt, seeds, goals, config
        self.filter = MoleculeFilter(config.exclude)
        self.masker = Masker(rt, config)
        self.pairs = [(s, t) for s in range(len(seeds)) for t in range(len(goals))]
        self.stats = {pair: _PairStats() for pair in self.pairs}
        self.accepted: dict[tuple[int, int], list[str]] = {pair: [] for pair in self.pairs}
        self.counts = dict.fromkeys(("fills", "invalid", "repaired", "filtered", "retried"), 0)
        self.rows: list[list[int]] = []
        self.classes: list[np.ndarray | None] = []
        self.jobs: list[tuple[int, int]] = []
        self.reasons: dict[int, str] = {}
        self.generator = torch.Generator(device=next(rt.net.parameters()).device)
        self.generator.manual_seed(config.seed)
        self.pad = config.mask != "atoms" and self.masker.slack > 0
        self.bases = self._bases()

    def _bases(self) -> dict[tuple[int, int], np.ndarray]:
        """The id row of every seed under every target (other properties: its prediction)."""
        rt, names = self.rt, self.rt.property_names
        pred = rt.score(self.seeds, batch_size=self.config.batch_size)
        primers = []
        for s_idx, t_idx in self.pairs:
            primer = {}
            for k, p in enumerate(names):
                spec, value = rt.numbers.spec(p), float(pred[s_idx, k])
                primer[p] = (
                    min(max(value, spec.vmin), spec.vmax) if np.isfinite(value) else math.nan
                )
            primers.append({**primer, **self.goals[t_idx]})
        encoded = rt.encode([self.seeds[s] for s, _ in self.pairs], primers, errors="raise")
        return {pair: np.asarray(row) for pair, row in zip(self.pairs, encoded.ids, strict=True)}

    def fill(self, indices: list[int], temperature: float) -> list[str | None]:
        """One fill of each candidate: canonical SMILES, or None (invalid or filtered)."""
        cfg = self.config
        texts, n_repaired = self.rt.fill(
            [self.rows[i] for i in indices],
            temperature=temperature,
            generator=self.generator,
            n_steps=cfg.n_steps,
            batch_size=cfg.batch_size,
            pad=self.pad,
            repair=cfg.repair,
            allowed=None if cfg.mask != "atoms" else [self.classes[i] for i in indices],
        )
        out = list(canonicalize_batch([t or "" for t in texts], errors="nan").values)
        self.counts["fills"] += len(out)
        self.counts["repaired"] += n_repaired
        bound = cfg.min_similarity
        sims = (
            tanimoto_to([self.seeds[self.jobs[i][0]] for i in indices], out)
            if bound > 0
            else np.ones(len(out))
        )
        for j, (i, smi) in enumerate(zip(indices, out, strict=True)):
            why = "invalid" if smi is None else self.filter.reason(smi)
            if why is None and sims[j] < bound:
                why = "min_similarity"
            if why is not None:
                self.counts["invalid" if smi is None else "filtered"] += 1
                self.reasons[i], out[j] = why, None
        return out

    def round(self, todo: list[tuple[tuple[int, int], int]]) -> None:
        """Make, fill, rerank and retry the candidates ``todo``, then sort out the outputs."""
        cfg = self.config
        first = len(self.rows)
        for (s_idx, t_idx), k in todo:
            row, classes = self.masker(self.bases[s_idx, t_idx], self.seeds[s_idx], s_idx, k)
            self.rows.append(row)
            self.classes.append(classes)
            self.jobs.append((s_idx, t_idx))
        batch = list(range(first, len(self.rows)))
        resample = cfg.temperature or 1.0  # a greedy refill would repeat the same output
        passes = range(cfg.best_of)
        show = cfg.progress is True or (
            cfg.progress == "auto" and len(batch) * cfg.best_of >= PROGRESS_FILLS
        )
        if show:
            from tqdm.auto import tqdm

            passes = tqdm(
                passes, desc=f"generate: {len(batch)} candidates", unit="fill", leave=False
            )
        fills = [self.fill(batch, cfg.temperature if j == 0 else resample) for j in passes]
        if cfg.best_of > 1 or cfg.pool > 1:
            kept, scores = scored_rerank(
                self.rt,
                fills,
                [self.goals[self.jobs[i][1]] for i in batch],
                cfg.batch_size,
                seeds=[self.seeds[self.jobs[i][0]] for i in batch],
                similarity=cfg.similarity,
                keep_seed=cfg.keep_seed,
            )
        else:
            kept, scores = fills[0], None
        outputs = dict(zip(batch, kept, strict=True))
        for _ in range(cfg.max_retries):
            bad = [i for i in batch if outputs[i] is None]
            if not bad:
                break
            self.counts["retried"] += len(bad)
            outputs.update(zip(bad, self.fill(bad, resample), strict=True))
        # A pool keeps the best n of each seed and target: its best-scoring candidates are
        # sorted out first (a refilled one scored inf: last). Otherwise: the order made.
        order = np.argsort(scores, kind="stable") if cfg.pool > 1 else range(len(batch))
        for j in order:
            i = batch[j]
            self._sort_out(self.jobs[i], outputs[i], i)

    def _sort_out(self, pair: tuple[int, int], smi: str | None, i: int) -> None:
        stat = self.stats[pair]
        stat.candidates += 1
        if smi is None:
            stat.rejected[self.reasons[i]] = stat.rejected.get(self.reasons[i], 0) + 1
        elif smi == self.seeds[pair[0]] and not self.config.keep_seed:
            stat.unchanged += 1
        elif smi in self.accepted[pair]:
            stat.duplicates += 1
        elif len(self.accepted[pair]) >= self.config.n:
            stat.surplus += 1
        else:
            self.accepted[pair].append(smi)

    def run(self) -> int:
        """Rounds until every seed and target has ``n`` molecules or ``max_rounds``."""
        n, pool = self.config.n, self.config.pool
        todo = [(pair, k) for pair in self.pairs for k in range(pool * n)]
        next_k = dict.fromkeys(self.pairs, pool * n)
        n_rounds = 0
        while todo and n_rounds < self.config.max_rounds:
            n_rounds += 1
            self.round(todo)
            todo = []
            for pair in self.pairs:
                # Duplicates and failures are common: ask for twice the shortfall (or a
                # pool's worth of candidates for each molecule missing, if more).
                need = max(2, pool) * (n - len(self.accepted[pair]))
                todo += [(pair, k) for k in range(next_k[pair], next_k[pair] + need)]
                next_k[pair] += need
        return n_rounds


def _frame(run: _Run, seed_inputs: list[str], targets: Mapping) -> pd.DataFrame:
    """One row per accepted molecule, with the model's prediction and the RDKit value."""
    rt, names = run.rt, run.rt.property_names
    columns = (
        ["seed"]
        + [f"target_{p}" for p in targets]
        + ["smiles"]
        + [f"predicted_{p}" for p in names]
        + [f"true_{p}" for p in names]
        + ["is_seed"]
    )
    records = []
    for s_idx, t_idx in run.pairs:
        for smi in run.accepted[s_idx, t_idx]:
            records.append(
                {
                    "seed": seed_inputs[s_idx],
                    **{f"target_{p}": v for p, v in run.goals[t_idx].items()},
                    "smiles": smi,
                    "is_seed": smi == run.seeds[s_idx],
                }
            )
    frame = pd.DataFrame.from_records(
        records, columns=[c for c in columns if not c.startswith(("predicted_", "true_"))]
    )
    pred = rt.score(frame["smiles"].tolist(), batch_size=run.config.batch_size)
    for k, p in enumerate(names):
        frame[f"predicted_{p}"] = pred[:, k] if len(frame) else pd.Series(dtype=float)
        frame[f"true_{p}"] = (
            true_property(p, frame["smiles"].tolist()) if len(frame) else pd.Series(dtype=float)
        )
    return frame[columns]


def _attrs(run: _Run, seed_inputs: list[str], invalid: list, n_rounds: int) -> dict:
    """The counts of :meth:`RegressionTransformer.generate`'s ``attrs``."""
    stats, n = run.stats.values(), run.config.n
    filtered_by = dict.fromkeys(run.filter.names, 0)
    if run.config.min_similarity > 0:
        filtered_by["min_similarity"] = 0
    for stat in stats:
        for why, count in stat.rejected.items():
            if why != "invalid":
                filtered_by[why] += count
    shortfall = [
        {
            "seed": seed_inputs[s],
            **{f"target_{p}": v for p, v in run.goals[t].items()},
            "returned": len(run.accepted[s, t]),
            **run.stats[s, t].describe(),
        }
        for s, t in run.pairs
        if len(run.accepted[s, t]) < n
    ]
    return dict(
        n_asked=n * len(run.pairs),
        n_returned=sum(len(a) for a in run.accepted.values()),
        n_rounds=n_rounds,
        n_generated=len(run.rows),
        n_invalid=sum(s.rejected.get("invalid", 0) for s in stats),
        n_filtered=sum(filtered_by.values()),
        filtered_by=filtered_by,
        n_duplicates=sum(s.duplicates for s in stats),
        n_unchanged=sum(s.unchanged for s in stats),
        n_surplus=sum(s.surplus for s in stats),
        n_retried=run.counts["retried"],
        n_fills=run.counts["fills"],
        n_invalid_fills=run.counts["invalid"],
        n_filtered_fills=run.counts["filtered"],
        n_repaired_fills=run.counts["repaired"],
        shortfall=shortfall,
        invalid_seeds=invalid,
    )


@torch.no_grad()
def generate(
    rt,
    seed_smiles: Sequence[str],
    targets: Mapping[str, float | Sequence[float]],
    config: GenerationConfig,
) -> pd.DataFrame:
    """Make the molecules of :meth:`RegressionTransformer.generate` (see there)."""
    rt.net.eval()
    goals = target_rows(rt, targets, config.out_of_range)
    seed_smiles = list(seed_smiles)
    encoded = rt.encode(seed_smiles, errors=config.errors)
    ok = [i for i, s in enumerate(encoded.canonical) if s is not None]
    seeds = [encoded.canonical[i] for i in ok]
    run = _Run(rt, seeds, goals, config)
    n_rounds = run.run() if seeds else 0
    inputs = [seed_smiles[i] for i in ok]
    frame = _frame(run, inputs, targets)
    frame.attrs.update(_attrs(run, inputs, encoded.invalid, n_rounds))
    if frame.attrs["shortfall"]:
        _warn_shortfall(frame.attrs["shortfall"], config.n, n_rounds, len(run.pairs))
    return frame


def _warn_shortfall(shortfall: list[dict], n: int, n_rounds: int, n_pairs: int) -> None:
    """One :class:`GenerationWarning` naming the seeds and targets short of ``n`` and why."""
    lines = []
    for row in shortfall[:5]:
        targets = ", ".join(f"{k[7:]}={v:g}" for k, v in row.items() if k.startswith("target_"))
        filtered = ", ".join(f"{k} {v}" for k, v in row["filtered"].items()) or "none"
        lines.append(
            f"{row['seed']} ({targets}): {row['returned']} of {n} from {row['candidates']} "
            f"candidates ({row['invalid']} invalid, {row['duplicates']} duplicates, "
            f"{row['unchanged']} the seed unchanged, filtered: {filtered})"
        )
    more = f"; and {len(shortfall) - 5} more" if len(shortfall) > 5 else ""
    warnings.warn(
        f"generate: {len(shortfall)} of {n_pairs} seed/target pairs got fewer than n={n} "
        f"molecules after {n_rounds} round(s): "
        + "; ".join(lines)
        + more
        + " (frame.attrs['shortfall'] lists them all; raise max_rounds or mask_fraction, "
        "or lower min_similarity)",
        GenerationWarning,
        stacklevel=3,
    )


@torch.no_grad()
def primer_influence(
    rt,
    seed_smiles: Sequence[str],
    primers: Mapping[str, Sequence[float]],
    *,
    mask_fraction: float = 0.3,
    mask: str = "spans",
    seed: int = 0,
    batch_size: int = 256,
) -> dict[str, float]:
    """How much the primer moves the model's first-pass fill distributions.

    Each seed gets one mask (as candidate 0 of :func:`generate`), written under the first
    and under the last primer value; one forward pass each gives the distribution over
    molecule tokens at every masked position, ``p`` (first primer) and ``q`` (last). A model
    that ignores its primer has ``p == q``.

    Returns
    -------
    dict
        ``tv_mean`` and ``tv_median`` (total-variation distance ``0.5 * sum |p - q|``
        over masked positions, 0..1), ``argmax_changed`` (share of positions whose most
        likely token differs), ``max_prob_mean`` (mean probability of the most likely
        token under the first primer) and ``positions`` (masked positions compared).
    """
    ((name, values),) = dict(primers).items()
    values = list(values)
    if len(values) < 2:
        raise ValueError(f"primers needs at least two values of {name!r}, got {values}")
    net = rt.net.eval()
    config = GenerationConfig(
        mask_fraction=mask_fraction, mask=mask, seed=seed, span_slack=0.0, batch_size=batch_size
    )
    seeds = [s for s in rt.encode(list(seed_smiles), errors="raise").canonical]
    run = _Run(rt, seeds, [{name: float(values[0])}, {name: float(values[-1])}], config)
    dists = []
    for t_idx in (0, 1):
        rows = [run.masker(run.bases[s, t_idx], seeds[s], s, 0)[0] for s in range(len(seeds))]
        probs = []
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            ids, attention = pad_ids(chunk, rt.tokenizer.pad_id)
            device = next(net.parameters()).device
            logits = net({"input_ids": ids.to(device), "attention_mask": attention.to(device)})
            logits = logits["logits"].float().masked_fill(~net.molecule_tokens, float("-inf"))
            soft = logits.softmax(-1).cpu()
            probs += [soft[j, ids[j] == rt.tokenizer.mask_id] for j in range(len(chunk))]
        dists.append(torch.cat(probs))
    p, q = dists
    tv = 0.5 * (p - q).abs().sum(-1)
    return {
        "tv_mean": float(tv.mean()),
        "tv_median": float(tv.median()),
        "argmax_changed": float((p.argmax(-1) != q.argmax(-1)).float().mean()),
        "max_prob_mean": float(p.max(-1).values.mean()),
        "positions": int(len(tv)),
    }
