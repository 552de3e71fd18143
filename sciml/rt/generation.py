"""Property-primed generation of the Regression Transformer: masking, filling, repair, reranking.

:meth:`sciml.rt.RegressionTransformer.generate` is the public entry point; it calls
:func:`generate` here. A candidate is a seed molecule with some of its tokens replaced by
``[MASK]`` (spans or atoms) under a property primer; the masks are filled by
:func:`sciml.rt.decoding.iterative_unmask`, invalid fills are repaired
(:mod:`sciml.rt._repair`) or filled again, and with ``best_of > 1`` the fill the model
itself predicts closest to the target is kept (:func:`_rerank`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import torch

from sciml.chem.smiles import Errors, canonicalize_batch
from sciml.rt._repair import chemistry_problems, repair
from sciml.rt._syntax import SmilesSyntax
from sciml.rt.data import mask_molecule_spans
from sciml.rt.decoding import iterative_unmask
from sciml.rt.filters import MoleculeFilter

if TYPE_CHECKING:
    from sciml.rt.predictor import RegressionTransformer

__all__ = [
    "RDKIT_PROPERTIES",
    "GenerationWarning",
    "generate",
    "primer_influence",
    "target_rows",
    "true_property",
]

#: Candidate tokens per generated position that ``generate(repair=True)`` may swap in.
_REPAIR_CANDIDATES = 5


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


def _is_aromatic_atom(token: str) -> bool:
    """Whether a SMILES atom token is aromatic (lower-case element: ``c``, ``[nH]``, ``[se]``)."""
    letters = [ch for ch in token.strip("[]") if ch.isalpha()]
    return bool(letters) and letters[0].islower()


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


def target_rows(
    rt: RegressionTransformer, targets: Mapping[str, float | Sequence[float]], out_of_range: str
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
    rows = []
    for j in range(lengths.pop()):
        rows.append(
            {k: rt.numbers.spec(k).check_value(v[j], out_of_range) for k, v in lists.items()}
        )
    return rows


class GenerationWarning(UserWarning):
    """``generate(n)`` returned fewer than ``n`` molecules for some seed and target."""


@torch.no_grad()
def generate(
    rt: RegressionTransformer,
    seed_smiles: Sequence[str],
    targets: Mapping[str, float | Sequence[float]],
    *,
    n: int = 10,
    mask_fraction: float = 0.4,
    n_steps: int | None = None,
    temperature: float = 1.0,
    max_retries: int = 3,
    mask: Literal["spans", "atoms"] = "spans",
    best_of: int = 4,
    repair: bool = False,
    span_slack: float | None = None,
    exclude: Mapping[str, str] | None = None,
    keep_seed: bool = False,
    max_rounds: int = 4,
    errors: Errors = "raise",
    out_of_range: Literal["raise", "clip"] = "raise",
    batch_size: int = 256,
    seed: int = 0,
) -> pd.DataFrame:
    """Make the molecules of :meth:`RegressionTransformer.generate` (see there)."""
    if not 0 < mask_fraction <= 1:
        raise ValueError(f"mask_fraction must be in (0, 1], got {mask_fraction}")
    if n < 1 or (n_steps is not None and n_steps < 1):
        raise ValueError("n and n_steps must be >= 1")
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    if best_of < 1:
        raise ValueError(f"best_of must be >= 1, got {best_of}")
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
    if mask not in ("spans", "atoms"):
        raise ValueError(f"mask must be 'spans' or 'atoms', got {mask!r}")
    slack = float(getattr(rt.config, "span_slack", 0.0) if span_slack is None else span_slack)
    if not (slack >= 0 and math.isfinite(slack)):
        raise ValueError(f"span_slack must be >= 0, got {span_slack}")
    # Slack slots only make sense where whole spans are re-generated; atoms stay one for one.
    pad = mask == "spans" and slack > 0
    molecule_filter = MoleculeFilter(exclude)
    net = rt._require().eval()
    goals = target_rows(rt, targets, out_of_range)
    seed_smiles = list(seed_smiles)
    canon, invalid = rt._valid_inputs(seed_smiles, errors)
    ok = [i for i, s in enumerate(canon) if s is not None]
    names = rt.property_names
    columns = (
        ["seed"]
        + [f"target_{p}" for p in targets]
        + ["smiles"]
        + [f"predicted_{p}" for p in names]
        + [f"true_{p}" for p in names]
        + ["is_seed"]
    )
    seeds = [canon[i] for i in ok]
    pairs = [(s_idx, t_idx) for s_idx in range(len(seeds)) for t_idx in range(len(goals))]
    stats = {pair: _PairStats() for pair in pairs}
    counts = {"fills": 0, "invalid": 0, "repaired": 0, "filtered": 0, "retried": 0}
    rows: list[list[int]] = []
    classes: list[np.ndarray | None] = []
    jobs: list[tuple[int, int]] = []
    accepted: dict[tuple[int, int], list[tuple[int, str]]] = {pair: [] for pair in pairs}
    n_rounds = 0
    if seeds:
        seed_pred = rt._predict_values(seeds, batch_size=batch_size)["pred"]
        is_atom = np.array([k == "a" for k in SmilesSyntax(net.vocab).kinds]) & (
            net.molecule_tokens.cpu().numpy()
        )
        aromatic = np.array([_is_aromatic_atom(t) for t in net.vocab]) & is_atom
        # Atom class of each id: 1 aromatic, 0 aliphatic, -1 not an atom (no constraint).
        atom_class = np.where(is_atom, aromatic.astype(int), -1)
        generator = torch.Generator(device=rt._device()).manual_seed(seed)
        mol_start = net.mol_start
        bases = {}
        for s_idx, t_idx in pairs:
            primer = {p: float(seed_pred[s_idx, k]) for k, p in enumerate(names)}
            for p in primer:
                spec = rt.numbers.spec(p)
                primer[p] = (
                    min(max(primer[p], spec.vmin), spec.vmax)
                    if np.isfinite(primer[p])
                    else math.nan
                )
            primer.update(goals[t_idx])
            bases[s_idx, t_idx] = np.asarray(rt._encode_rows([seeds[s_idx]], [primer])[0])

        def candidate(s_idx: int, t_idx: int, k: int) -> None:
            ids = bases[s_idx, t_idx].copy()
            n_mol = len(ids) - mol_start - 1
            # Candidate k of a seed uses the same mask under every target, so the
            # targets are compared on equal terms.
            rng = np.random.default_rng((seed, s_idx, k))
            row_class = None
            if mask == "atoms":
                atoms = np.flatnonzero(is_atom[ids[mol_start:-1]])
                n_masked = min(len(atoms), max(1, round(mask_fraction * len(atoms))))
                masked = rng.choice(atoms, n_masked, replace=False)
                row_class = np.full(len(ids), -1)
                row_class[mol_start + masked] = atom_class[ids[mol_start + masked]]
            else:
                spans = mask_molecule_spans(n_mol, mask_fraction, rng)
                masked = np.flatnonzero(spans)
            ids[mol_start + masked] = rt.tokenizer.mask_id
            if pad:
                room = net.encoder.max_len - len(ids)
                ids = _with_slack(ids, spans, mol_start, slack, rng, room, rt.tokenizer.mask_id)
            classes.append(row_class)
            rows.append(ids.tolist())
            jobs.append((s_idx, t_idx))

        reasons: dict[int, str] = {}

        def fill(indices: list[int], temp: float) -> list[str | None]:
            texts, n_repaired = _fill(
                rt,
                [rows[i] for i in indices],
                n_steps,
                temp,
                generator,
                batch_size,
                repair,
                None if mask != "atoms" else [classes[i] for i in indices],
                pad,
            )
            out = list(canonicalize_batch(texts, errors="nan").values)
            counts["fills"] += len(out)
            counts["repaired"] += n_repaired
            for j, (i, smi) in enumerate(zip(indices, out, strict=True)):
                why = "invalid" if smi is None else molecule_filter.reason(smi)
                if why is not None:
                    counts["invalid" if smi is None else "filtered"] += 1
                    reasons[i], out[j] = why, None
            return out

        todo = [(pair, k) for pair in pairs for k in range(n)]
        next_k = dict.fromkeys(pairs, n)
        while todo and n_rounds < max_rounds:
            n_rounds += 1
            first = len(rows)
            for (s_idx, t_idx), k in todo:
                candidate(s_idx, t_idx, k)
            batch = list(range(first, len(rows)))
            outputs = fill(batch, temperature)
            if best_of > 1:
                fills = [outputs] + [fill(batch, temperature or 1.0) for _ in range(best_of - 1)]
                outputs = _rerank(rt, fills, [goals[jobs[i][1]] for i in batch], batch_size)
            outputs = dict(zip(batch, outputs, strict=True))
            for _ in range(max_retries):
                bad = [i for i in batch if outputs[i] is None]
                if not bad:
                    break
                counts["retried"] += len(bad)
                for i, smi in zip(bad, fill(bad, temperature or 1.0), strict=True):
                    outputs[i] = smi
            for i in batch:
                pair, smi = jobs[i], outputs[i]
                stat = stats[pair]
                stat.candidates += 1
                if smi is None:
                    stat.rejected[reasons[i]] = stat.rejected.get(reasons[i], 0) + 1
                elif smi == seeds[pair[0]] and not keep_seed:
                    stat.unchanged += 1
                elif any(smi == known for _, known in accepted[pair]):
                    stat.duplicates += 1
                elif len(accepted[pair]) >= n:
                    stat.surplus += 1
                else:
                    accepted[pair].append((i, smi))
            todo = []
            for pair in pairs:
                # Duplicates and failures are common: ask for twice the shortfall.
                need = 2 * (n - len(accepted[pair]))
                todo += [(pair, k) for k in range(next_k[pair], next_k[pair] + need)]
                next_k[pair] += need
    records = []
    for pair in pairs:
        s_idx, t_idx = pair
        for _, smi in accepted[pair]:
            record = {"seed": seed_smiles[ok[s_idx]]}
            record.update({f"target_{p}": v for p, v in goals[t_idx].items()})
            record["smiles"] = smi
            record["is_seed"] = smi == seeds[s_idx]
            records.append(record)
    frame = pd.DataFrame.from_records(
        records, columns=[c for c in columns if not c.startswith(("predicted_", "true_"))]
    )
    if len(frame):
        pred = rt._predict_values(frame["smiles"].tolist(), batch_size=batch_size)["pred"]
        for k, p in enumerate(names):
            frame[f"predicted_{p}"] = pred[:, k]
            frame[f"true_{p}"] = true_property(p, frame["smiles"].tolist())
    else:
        for p in names:
            frame[f"predicted_{p}"] = pd.Series(dtype=float)
            frame[f"true_{p}"] = pd.Series(dtype=float)
    frame = frame[columns]
    filtered_by = dict.fromkeys(molecule_filter.names, 0)
    for stat in stats.values():
        for why, count in stat.rejected.items():
            if why != "invalid":
                filtered_by[why] += count
    shortfall = [
        {
            "seed": seed_smiles[ok[s_idx]],
            **{f"target_{p}": v for p, v in goals[t_idx].items()},
            "returned": len(accepted[s_idx, t_idx]),
            **stats[s_idx, t_idx].describe(),
        }
        for s_idx, t_idx in pairs
        if len(accepted[s_idx, t_idx]) < n
    ]
    frame.attrs.update(
        n_asked=n * len(pairs),
        n_returned=len(frame),
        n_rounds=n_rounds,
        n_generated=len(rows),
        n_invalid=sum(s.rejected.get("invalid", 0) for s in stats.values()),
        n_filtered=sum(filtered_by.values()),
        filtered_by=filtered_by,
        n_duplicates=sum(s.duplicates for s in stats.values()),
        n_unchanged=sum(s.unchanged for s in stats.values()),
        n_surplus=sum(s.surplus for s in stats.values()),
        n_retried=counts["retried"],
        n_fills=counts["fills"],
        n_invalid_fills=counts["invalid"],
        n_filtered_fills=counts["filtered"],
        n_repaired_fills=counts["repaired"],
        shortfall=shortfall,
        invalid_seeds=invalid,
    )
    if shortfall:
        _warn_shortfall(shortfall, n, n_rounds, len(pairs))
    return frame


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


def _warn_shortfall(shortfall: list[dict], n: int, n_rounds: int, n_pairs: int) -> None:
    """One :class:`GenerationWarning` naming the seeds and targets short of ``n`` and why."""
    import warnings

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
        f"molecules after {n_rounds} round(s): " + "; ".join(lines) + more
        + " (frame.attrs['shortfall'] lists them all; raise max_rounds or mask_fraction)",
        GenerationWarning,
        stacklevel=3,
    )


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


def _rerank(
    rt: RegressionTransformer,
    fills: Sequence[Sequence[str | None]],
    targets: Sequence[Mapping[str, float]],
    batch_size: int,
) -> list[str | None]:
    """Per candidate, the valid fill whose predicted properties are closest to its targets.

    ``fills[j][i]`` is fill ``j`` of candidate ``i`` (None if invalid); ties keep the
    earliest fill.
    """
    distinct = sorted({smi for row in fills for smi in row if smi is not None})
    if not distinct:
        return [None] * len(targets)
    pred = rt._predict_values(distinct, batch_size=batch_size)["pred"]
    names = rt.property_names
    spans = {p: rt.numbers.spec(p).vmax - rt.numbers.spec(p).vmin for p in names}
    where = {smi: k for k, smi in enumerate(distinct)}
    out = []
    for i, target in enumerate(targets):
        best, best_distance = None, math.inf
        for row in fills:
            smi = row[i]
            if smi is None:
                continue
            values = pred[where[smi]]
            distance = sum(
                abs(values[names.index(p)] - v) / spans[p] for p, v in target.items()
            )
            distance = distance if np.isfinite(distance) else math.inf
            if best is None or distance < best_distance:
                best, best_distance = smi, distance
        out.append(best)
    return out

def _fill(
    rt: RegressionTransformer,
    rows: Sequence[Sequence[int]],
    n_steps: int | None,
    temperature: float,
    generator: torch.Generator,
    batch_size: int,
    repair: bool = False,
    atom_classes: Sequence[np.ndarray] | None = None,
    pad: bool = False,
) -> tuple[list[str], int]:
    """Fill the masks of each id row.

    ``atom_classes`` (one array per row: 1 aromatic, 0 aliphatic, -1 free) restricts a
    masked position to atoms of its class. Returns the molecule part of each row as a
    SMILES string and, with ``repair``, how many fills
    :func:`sciml.rt._repair.repair` turned from invalid into valid.
    """
    net, device, mol_start = rt._require(), rt._device(), rt._require().mol_start
    if atom_classes is not None:
        aromatic = torch.tensor([_is_aromatic_atom(t) for t in net.vocab])
        kinds = SmilesSyntax(net.vocab).kinds
        atom = torch.tensor([k == "a" for k in kinds]) & net.molecule_tokens.cpu()
        # Rows: class -1 (any token), 0 (aliphatic atoms), 1 (aromatic atoms).
        table = torch.stack([torch.ones_like(atom), atom & ~aromatic, atom & aromatic])
    texts = [""] * len(rows)
    n_repaired = 0
    order = np.argsort([len(r) for r in rows], kind="stable")
    for start in range(0, len(rows), batch_size):
        idx = order[start : start + batch_size]
        ids, attention = rt._pad([rows[i] for i in idx], rt.tokenizer.pad_id)
        filled = iterative_unmask(
            net,
            ids.to(device),
            attention.to(device),
            n_steps=n_steps,
            temperature=temperature,
            generator=generator,
            alternatives=_REPAIR_CANDIDATES if repair else 0,
            pad=pad,
            allowed=None
            if atom_classes is None
            else table[
                torch.as_tensor(
                    np.stack(
                        [
                            np.pad(
                                atom_classes[i],
                                (0, ids.shape[1] - len(atom_classes[i])),
                                constant_values=-1,
                            )
                            for i in idx
                        ]
                    )
                    + 1
                )
            ].to(device),
        )
        filled, alt = (filled[0].cpu(), filled[1].cpu()) if repair else (filled.cpu(), None)
        for j, i in enumerate(idx):
            # Molecule tokens only: no [SEP], no padding.
            keep = attention[j, mol_start:] & net.molecule_tokens.cpu()[filled[j, mol_start:]]
            row = filled[j, mol_start:][keep]
            texts[i] = rt.tokenizer.decode(row)
            if repair and chemistry_problems(texts[i]):
                fixed = _repair_row(rt, row, alt[j, mol_start:][keep])
                if fixed is not None:
                    texts[i], n_repaired = fixed, n_repaired + 1
    return texts, n_repaired

def _repair_row(rt: RegressionTransformer, row: torch.Tensor, alt: torch.Tensor) -> str | None:
    """Repaired SMILES of a filled molecule ``(n,)`` with candidates ``(n, k)``, or None."""
    net = rt._require()
    tokens = rt.tokenizer.convert_ids_to_tokens(row.tolist())
    alternatives = {
        p: [net.vocab[t] for t in alt[p].tolist() if t >= 0 and net.molecule_tokens[t]]
        for p in range(len(tokens))
        if alt[p, 0] >= 0
    }
    fixed = repair(tokens, alternatives)
    return None if fixed is None else rt.tokenizer.detokenize(fixed)


@torch.no_grad()
def primer_influence(
    rt: RegressionTransformer,
    seed_smiles: Sequence[str],
    primers: Mapping[str, Sequence[float]],
    *,
    mask_fraction: float = 0.3,
    mask: Literal["spans", "atoms"] = "spans",
    seed: int = 0,
    batch_size: int = 256,
) -> dict[str, float]:
    """How much the primer moves the model's first-pass fill distributions.

    Each seed gets one mask (as candidate 0 of :func:`generate`), written under the first
    and under the last primer value; one forward pass each gives the distribution over
    SMILES tokens at every masked position, ``p`` (first primer) and ``q`` (last). A model
    that ignores its primer has ``p == q``.

    Parameters
    ----------
    seed_smiles : sequence of str
        Valid seed molecules.
    primers : mapping
        One property -> at least two values, e.g. ``{"qed": [0.2, 0.8]}``.
    mask_fraction, mask, seed, batch_size
        As in :func:`generate`.

    Returns
    -------
    dict
        ``tv_mean`` and ``tv_median`` (total-variation distance ``0.5 * sum |p - q|``
        over masked positions, 0..1), ``argmax_changed`` (share of positions whose most
        likely token differs: what greedy filling can see of the primer), ``max_prob_mean``
        (mean probability of the most likely token under the first primer: how peaked the
        fills are) and ``positions`` (masked positions compared).
    """
    ((name, values),) = dict(primers).items()
    values = list(values)
    if len(values) < 2:
        raise ValueError(f"primers needs at least two values of {name!r}, got {values}")
    net = rt._require().eval()
    rt.numbers.check_names({name: 0})
    seeds, _ = rt._valid_inputs(list(seed_smiles), "raise")
    kinds = SmilesSyntax(net.vocab).kinds
    is_atom = np.array([k == "a" for k in kinds]) & net.molecule_tokens.cpu().numpy()
    pred = rt._predict_values(seeds, batch_size=batch_size)["pred"]
    mol_start = net.mol_start
    dists = []
    for value in (values[0], values[-1]):
        rows, where = [], []
        for s_idx, s in enumerate(seeds):
            primer = {
                p: float(np.clip(pred[s_idx, k], rt.numbers.spec(p).vmin, rt.numbers.spec(p).vmax))
                for k, p in enumerate(rt.property_names)
            }
            primer[name] = rt.numbers.spec(name).check_value(value, "raise")
            ids = np.asarray(rt._encode_rows([s], [primer])[0])
            rng = np.random.default_rng((seed, s_idx, 0))
            if mask == "atoms":
                atoms = np.flatnonzero(is_atom[ids[mol_start:-1]])
                n_masked = min(len(atoms), max(1, round(mask_fraction * len(atoms))))
                masked = np.sort(rng.choice(atoms, n_masked, replace=False))
            else:
                masked = np.flatnonzero(
                    mask_molecule_spans(len(ids) - mol_start - 1, mask_fraction, rng)
                )
            ids[mol_start + masked] = rt.tokenizer.mask_id
            rows.append(ids.tolist())
            where.append(mol_start + masked)
        probs = []
        for start in range(0, len(rows), batch_size):
            chunk = range(start, min(start + batch_size, len(rows)))
            ids, attention = rt._pad([rows[i] for i in chunk], rt.tokenizer.pad_id)
            device = rt._device()
            logits = net({"input_ids": ids.to(device), "attention_mask": attention.to(device)})
            logits = logits["logits"].float().masked_fill(~net.molecule_tokens, float("-inf"))
            soft = logits.softmax(-1).cpu()
            probs += [soft[j, where[i]] for j, i in enumerate(chunk)]
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
