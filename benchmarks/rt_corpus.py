"""The drug-like QED corpus of the Regression Transformer: MOSES + ChEMBL 30, balanced over QED.

Sources (RDKit QED and logP computed once per file and cached in chunks by
:func:`sciml.chem.corpus.property_table`, so a rebuild of any report never recomputes them):

- the first ``n_moses`` rows of the MOSES training file (lead-like, QED mostly 0.6-0.95);
- both ChEMBL 30 drug-like files (~90K molecules, QED spread over 0.1-0.95);
- the first ``n_moses_test`` rows of the MOSES test file (held-out MOSES molecules only).

Held-out parts are **random draws** (seeded): ``chembl_test`` / ``chembl_val`` from the shuffled
ChEMBL molecules, ``moses_test`` / ``moses_val`` from the MOSES test rows. Every held-out part is
disjoint by canonical SMILES from the training molecules and from the other parts (checked).
The training pool (MOSES training rows + the remaining ChEMBL molecules) is then balanced over
QED: in every bin of width ``bin_width`` at most ``per_bin`` molecules are drawn at random, so
the bins 0.2-0.95 are about equally represented instead of MOSES's 4% below 0.6.

    SCIML_DATA_DIR=../shared/data python benchmarks/rt_corpus.py   # fills the caches, prints a summary
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROPERTIES = ("qed", "logp")  # one cache for every run
CHEMBL_FILES = ("chembl30_valid", "chembl30_test")


@dataclass(frozen=True)
class CorpusSpec:
    """Sizes and seed of the balanced corpus (the defaults make the shipped model's corpus)."""

    n_moses: int = 150_000
    n_moses_test: int = 50_000
    n_test: int = 1000
    n_moses_test_draw: int = 2000
    n_val: int = 1000
    per_bin: int = 12_000
    bin_width: float = 0.05
    min_token_count: int = 30
    seed: int = 0

    @classmethod
    def fast(cls) -> CorpusSpec:
        return cls(
            n_moses=6000,
            n_moses_test=3000,
            n_test=200,
            n_moses_test_draw=200,
            n_val=200,
            per_bin=600,
        )


def _table(name: str, limit: int | None, workers: int) -> pd.DataFrame:
    from sciml.chem.corpus import property_table
    from sciml.data import get_path

    table = property_table(
        get_path(name), list(PROPERTIES), limit=limit, workers=workers, progress=sys.stderr.isatty()
    )
    table = table[(table["canonical"] != "") & table[list(PROPERTIES)].notna().all(axis=1)]
    return table.drop_duplicates("canonical")[["canonical", *PROPERTIES]].reset_index(drop=True)


def balance(pool: pd.DataFrame, per_bin: int, width: float, seed: int) -> pd.DataFrame:
    """At most ``per_bin`` random molecules of ``pool`` per QED bin of ``width``."""
    rng = np.random.default_rng(seed)
    bins = np.minimum((pool["qed"].to_numpy() / width).astype(int), int(round(1 / width)) - 1)
    keep = []
    for b in np.unique(bins):
        members = np.flatnonzero(bins == b)
        keep.append(rng.choice(members, min(per_bin, len(members)), replace=False))
    order = rng.permutation(np.concatenate(keep))
    return pool.iloc[order].reset_index(drop=True)


def top_up_rare_tokens(train: pd.DataFrame, pool: pd.DataFrame, minimum: int) -> pd.DataFrame:
    """``train`` plus pool molecules holding SMILES tokens seen fewer than ``minimum`` times.

    Balancing by QED drops most molecules of rare chemistry (``[Se]``, ``[Si]``, ``B``,
    stereo and charge tokens of unusual atoms); adding back up to ``minimum`` molecules per
    rare token keeps every token of the pool in the vocabulary *and* trained.
    """
    from collections import Counter

    from sciml.chem.tokenizer import tokenize_smiles

    def tokens(smi: str) -> set[str]:
        return set(tokenize_smiles(smi))

    counts = Counter(t for smi in train["canonical"] for t in tokens(smi))
    seen = set(train["canonical"])
    extra = []
    for smi in pool["canonical"]:
        if smi in seen:
            continue
        rare = [t for t in tokens(smi) if counts[t] < minimum]
        if rare:
            extra.append(smi)
            seen.add(smi)
            counts.update(tokens(smi))
    added = pool[pool["canonical"].isin(set(extra))]
    return pd.concat([train, added], ignore_index=True)


def build(spec: CorpusSpec = CorpusSpec(), workers: int = 1, log=print) -> dict[str, pd.DataFrame]:
    """``train`` (balanced), ``chembl_val``, ``chembl_test``, ``moses_val``, ``moses_test``.

    Each frame has columns ``canonical``, ``qed``, ``logp`` and ``source`` ("moses"/"chembl").
    """
    moses = _table("moses_train", spec.n_moses, workers).assign(source="moses")
    chembl = pd.concat([_table(n, None, workers) for n in CHEMBL_FILES], ignore_index=True)
    chembl = chembl.drop_duplicates("canonical").assign(source="chembl")
    moses_test = _table("moses_test", spec.n_moses_test, workers).assign(source="moses")
    chembl = chembl.sample(frac=1.0, random_state=spec.seed).reset_index(drop=True)
    moses_test = moses_test.sample(frac=1.0, random_state=spec.seed).reset_index(drop=True)
    moses_test = moses_test[~moses_test["canonical"].isin(set(moses["canonical"]))]
    moses_test = moses_test[~moses_test["canonical"].isin(set(chembl["canonical"]))]
    n_held = spec.n_test + spec.n_val
    parts = {
        "chembl_test": chembl.iloc[: spec.n_test],
        "chembl_val": chembl.iloc[spec.n_test : n_held],
        "moses_test": moses_test.iloc[: spec.n_moses_test_draw],
        "moses_val": moses_test.iloc[spec.n_moses_test_draw : spec.n_moses_test_draw + spec.n_val],
    }
    held = set().union(*(set(p["canonical"]) for p in parts.values()))
    pool = pd.concat([moses, chembl.iloc[n_held:]], ignore_index=True)
    pool = pool.drop_duplicates("canonical")
    pool = pool[~pool["canonical"].isin(held)]
    train = balance(pool, spec.per_bin, spec.bin_width, spec.seed)
    parts["train"] = top_up_rare_tokens(train, pool, spec.min_token_count)
    names = list(parts)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = set(parts[a]["canonical"]) & set(parts[b]["canonical"])
            if shared:
                raise RuntimeError(f"corpus parts {a} and {b} share {len(shared)} molecules")
    parts = {k: v.reset_index(drop=True) for k, v in parts.items()}
    log(summary(parts))
    return parts


def summary(parts: dict[str, pd.DataFrame]) -> str:
    lines = []
    for name, frame in parts.items():
        q = frame["qed"]
        by_source = frame["source"].value_counts().to_dict()
        lines.append(
            f"{name}: {len(frame)} molecules {by_source}, QED mean {q.mean():.3f}, "
            f"share below 0.6 {(q < 0.6).mean():.1%}, 0.2-0.95 quantiles "
            f"{q.quantile(0.02):.2f}-{q.quantile(0.98):.2f}"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args(argv)
    fast = os.environ.get("SCIML_FAST") == "1"
    build(CorpusSpec.fast() if fast else CorpusSpec(), workers=args.workers)


if __name__ == "__main__":
    main()
