"""Tokenizer speed: tokenise, encode and decode 100,000 SMILES on one core.

Target (issue 3): tokenising 100K SMILES in under 5 s on one core.

Corpus: the 90,599 ChEMBL 30 SMILES of ``chembl30_sample`` topped up to 100,000 with
random-order SMILES of its first molecules (seeded), when ``SCIML_DATA_DIR`` or the cache
has the files; otherwise RDKit's bundled 4,999 NCI molecules expanded with random-order
SMILES. The script pins itself to one CPU where the OS allows it.

Run: ``SCIML_DATA_DIR=../shared/data python benchmarks/tokenizer_speed.py``
Writes ``benchmarks/results/tokenizer_speed.md``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, machine_info  # noqa: E402

N_SMILES = 100_000
REPEATS = 5
RESULTS = Path(__file__).resolve().parent / "results" / "tokenizer_speed.md"


def _random_variants(smiles: list[str], n: int) -> list[str]:
    from rdkit import Chem

    out: list[str] = []
    for i, s in enumerate(smiles):
        mol = Chem.MolFromSmiles(s)
        if mol is not None:
            out.extend(Chem.MolToRandomSmilesVect(mol, 1, randomSeed=i))
        if len(out) >= n:
            break
    return out[:n]


def corpus() -> tuple[list[str], str]:
    """Return 100,000 SMILES and a description of where they come from."""
    from sciml.data import DataUnavailableError

    try:
        from sciml.chem import load_dataset

        base = load_dataset("chembl30_sample")["smiles"].tolist()
        source = f"ChEMBL 30 sample ({len(base):,} SMILES)"
    except DataUnavailableError:
        from rdkit import RDConfig

        path = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
        base = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
        source = f"RDKit NCI sample ({len(base):,} SMILES)"
    missing = N_SMILES - len(base)
    smiles = base[:N_SMILES]
    while len(smiles) < N_SMILES:
        smiles += _random_variants(base, N_SMILES - len(smiles))
    if missing > 0:
        source += f" + {missing:,} seeded random-order SMILES of the same molecules"
    return smiles, source


def _time(fn, repeats: int = REPEATS) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from sciml.chem.tokenizer import SmilesTokenizer, tokenize_smiles

    smiles, source = corpus()
    assert len(smiles) == N_SMILES
    mean_chars = statistics.fmean(len(s) for s in smiles)

    tokens = [tokenize_smiles(s) for s in smiles]
    n_tokens = sum(map(len, tokens))
    assert all("".join(t) == s for t, s in zip(tokens, smiles, strict=True))

    tokenizer = SmilesTokenizer.build_vocab(smiles)
    encoded = tokenizer.encode_batch(smiles)
    assert tokenizer.decode_batch(encoded.input_ids) == smiles

    rows = [
        ("tokenize (regex, list of tokens)", _time(lambda: [tokenize_smiles(s) for s in smiles])),
        ("build_vocab", _time(lambda: SmilesTokenizer.build_vocab(smiles), 3)),
        (
            "encode_batch -> (B, L) int64 + bool mask",
            _time(lambda: tokenizer.encode_batch(smiles), 3),
        ),
        ("decode_batch", _time(lambda: tokenizer.decode_batch(encoded.input_ids), 3)),
    ]
    tokenize_best = min(rows[0][1])
    verdict = "met" if tokenize_best < 5.0 else "NOT met"

    lines = [
        "# SMILES tokenizer speed",
        "",
        machine_info(("numpy", "rdkit")),
        f"- corpus: {N_SMILES:,} SMILES, {source}; mean length {mean_chars:.1f} characters, "
        f"{n_tokens:,} tokens, vocabulary of {len(tokenizer)} tokens",
        "- one process pinned to one CPU; wall-clock seconds, best and median of the repeats",
        "- round trip checked: `decode_batch(encode_batch(smiles)) == smiles` for all rows",
        f"- target: tokenising 100K SMILES in under 5 s on one core: **{verdict}** "
        f"({tokenize_best:.2f} s)",
        "",
        "| step | best (s) | median (s) | SMILES / s (best) | repeats |",
        "|---|---|---|---|---|",
    ]
    for name, times in rows:
        lines.append(
            f"| {name} | {min(times):.3f} | {statistics.median(times):.3f} | "
            f"{N_SMILES / min(times):,.0f} | {len(times)} |"
        )
    lines += [
        "",
        f"Load average at the end of the run: {load_average()}. A load above the "
        "number of cores means other jobs shared the CPUs and inflated the times.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
