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

if TYPE_CHECKING:
    from sciml.rt.predictor import RegressionTransformer

__all__ = ["RDKIT_PROPERTIES", "generate", "target_rows", "true_property"]

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


@torch.no_grad()
def generate(
    rt: RegressionTransformer,
    seed_smiles: Sequence[str],
    targets: Mapping[str, float | Sequence[float]],
    *,
    n: int = 10,
    mask_fraction: float = 0.3,
    n_steps: int | None = None,
    temperature: float = 1.0,
    max_retries: int = 3,
    mask: Literal["spans", "atoms"] = "spans",
    best_of: int = 1,
    repair: bool = False,
    errors: Errors = "raise",
    out_of_range: Literal["raise", "clip"] = "raise",
    batch_size: int = 256,
    seed: int = 0,
) -> pd.DataFrame:
    """Make the candidates of :meth:`RegressionTransformer.generate` (see there)."""
    if not 0 < mask_fraction <= 1:
        raise ValueError(f"mask_fraction must be in (0, 1], got {mask_fraction}")
    if n < 1 or (n_steps is not None and n_steps < 1):
        raise ValueError("n and n_steps must be >= 1")
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    if best_of < 1:
        raise ValueError(f"best_of must be >= 1, got {best_of}")
    if mask not in ("spans", "atoms"):
        raise ValueError(f"mask must be 'spans' or 'atoms', got {mask!r}")
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
    if not ok:
        frame = pd.DataFrame(columns=columns)
        frame.attrs.update(
            n_generated=0,
            n_invalid=0,
            n_retried=0,
            n_fills=0,
            n_invalid_fills=0,
            n_repaired_fills=0,
            n_duplicates=0,
            invalid_seeds=invalid,
        )
        return frame
    seeds = [canon[i] for i in ok]
    seed_pred = rt._predict_values(seeds, batch_size=batch_size)["pred"]
    is_atom = np.array([k == "a" for k in SmilesSyntax(net.vocab).kinds]) & (
        net.molecule_tokens.cpu().numpy()
    )
    aromatic = np.array([_is_aromatic_atom(t) for t in net.vocab]) & is_atom
    # Atom class of each id: 1 aromatic, 0 aliphatic, -1 not an atom (no constraint).
    atom_class = np.where(is_atom, aromatic.astype(int), -1)
    classes: list[np.ndarray | None] = []
    generator = torch.Generator(device=rt._device()).manual_seed(seed)
    jobs, rows = [], []
    mol_start = net.mol_start
    for s_idx, s in enumerate(seeds):
        for t_idx, target in enumerate(goals):
            primer = {p: float(seed_pred[s_idx, k]) for k, p in enumerate(names)}
            for p in primer:
                spec = rt.numbers.spec(p)
                primer[p] = (
                    min(max(primer[p], spec.vmin), spec.vmax)
                    if np.isfinite(primer[p])
                    else math.nan
                )
            primer.update(target)
            base = rt._encode_rows([s], [primer])[0]
            n_mol = len(base) - mol_start - 1
            for k in range(n):
                ids = np.asarray(base)
                # Candidate k of a seed uses the same mask under every target, so the
                # targets are compared on equal terms.
                rng = np.random.default_rng((seed, s_idx, k))
                if mask == "atoms":
                    atoms = np.flatnonzero(is_atom[ids[mol_start:-1]])
                    n_masked = min(len(atoms), max(1, round(mask_fraction * len(atoms))))
                    masked = rng.choice(atoms, n_masked, replace=False)
                else:
                    masked = np.flatnonzero(mask_molecule_spans(n_mol, mask_fraction, rng))
                row_class = None
                if mask == "atoms":
                    row_class = np.full(len(ids), -1)
                    row_class[mol_start + masked] = atom_class[ids[mol_start + masked]]
                classes.append(row_class)
                ids[mol_start + masked] = rt.tokenizer.mask_id
                rows.append(ids.tolist())
                jobs.append((s_idx, t_idx))
    counts = {"fills": 0, "invalid": 0, "repaired": 0}

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
        )
        out = list(canonicalize_batch(texts, errors="nan").values)
        counts["fills"] += len(out)
        counts["repaired"] += n_repaired
        counts["invalid"] += sum(smi is None for smi in out)
        return out

    everyone = list(range(len(rows)))
    outputs = fill(everyone, temperature)
    if best_of > 1:
        fills = [outputs] + [fill(everyone, temperature or 1.0) for _ in range(best_of - 1)]
        outputs = _rerank(rt, fills, [goals[t] for _, t in jobs], batch_size)
    n_retried = 0
    for _ in range(max_retries):
        bad = [i for i, smi in enumerate(outputs) if smi is None]
        if not bad:
            break
        n_retried += len(bad)
        for i, smi in zip(bad, fill(bad, temperature or 1.0), strict=True):
            outputs[i] = smi
    records, seen = [], set()
    n_invalid = n_duplicates = 0
    for (s_idx, t_idx), smi in zip(jobs, outputs, strict=True):
        if smi is None:
            n_invalid += 1
            continue
        key = (s_idx, t_idx, smi)
        if key in seen:
            n_duplicates += 1
            continue
        seen.add(key)
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
    frame.attrs.update(
        n_generated=len(rows),
        n_invalid=n_invalid,
        n_retried=n_retried,
        n_fills=counts["fills"],
        n_invalid_fills=counts["invalid"],
        n_repaired_fills=counts["repaired"],
        n_duplicates=n_duplicates,
        invalid_seeds=invalid,
    )
    return frame

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
