"""Cost and accuracy effect of capping RDKit's ``AvgIpc`` descriptor (issue 30).

``AvgIpc`` grows about with the cube of the atom count; :mod:`sciml.chem.descriptors`
computes it only up to :data:`~sciml.chem.descriptors.AVGIPC_MAX_ATOMS` heavy atoms (NaN
above, imputed with the training median by the models). This script measures

1. the CPU seconds of all descriptors for three ~500-atom molecules, with RDKit's own
   ``AvgIpc`` and with the cap;
2. how many molecules of the Biogen ADME and ESOL sets (and of 5,000 MOSES molecules) lie
   above the cap, and whether their descriptor matrices change at all;
3. the accuracy effect: 5-fold cross-validated R² and RMSE (random folds, seed 0) of a
   random forest like ``sciml fit``'s default (``max_features=1/3``, 100 trees here, medians
   for undefined descriptors) on ESOL and on Biogen HLM and Sol, with the descriptors as
   sciml computes them (capped), with RDKit's uncapped ``AvgIpc``, and with ``AvgIpc``
   dropped altogether. Nothing is tuned: this is the one configuration, reported as is.

Usage::

    SCIML_DATA_DIR=../shared/data python benchmarks/descriptor_cap.py [--sets esol hlm sol moses]

Writes ``benchmarks/results/descriptor_cap.md``.
"""

from __future__ import annotations

import gzip
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, rdBase
from rdkit.Chem import GraphDescriptors

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import command_line, machine_info  # noqa: E402

from sciml._io import atomic_write  # noqa: E402
from sciml.chem import descriptors as D  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DATA = Path(os.environ.get("SCIML_DATA_DIR", Path(__file__).resolve().parents[2] / "shared/data"))
BIG = {
    "peptide-like chain (502 atoms)": "N" + "CC(=O)N" * 125 + "C",
    "PEG chain (499 atoms)": "OCC" * 166 + "O",
    "linear alkane (500 atoms)": "C" * 500,
}


def _rows(smiles: list[str], capped: bool) -> np.ndarray:
    avg_ipc = D.descriptor_names().index("AvgIpc")
    out = np.empty((len(smiles), len(D.descriptor_names())))
    with rdBase.BlockLogs():
        for i, smi in enumerate(smiles):
            mol = Chem.MolFromSmiles(smi)
            out[i] = D._descriptor_row(mol)
            if not capped:
                value = float(GraphDescriptors.AvgIpc(mol))
                out[i, avg_ipc] = value if math.isfinite(value) else math.nan
    return out


def _cost() -> list[str]:
    lines = ["| molecule | CPU s, RDKit AvgIpc | CPU s, capped (sciml) |", "|---|---:|---:|"]
    for name, smi in BIG.items():
        mol = Chem.MolFromSmiles(smi)
        start = time.process_time()
        D._descriptor_row(mol)
        capped = time.process_time() - start
        start = time.process_time()
        GraphDescriptors.AvgIpc(Chem.MolFromSmiles(smi))
        uncapped = capped + time.process_time() - start
        lines.append(f"| {name} | {uncapped:.2f} | {capped:.2f} |")
    return lines


def _cv(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[float, float]:
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import KFold

    pred = np.empty_like(y)
    for train, test in KFold(5, shuffle=True, random_state=seed).split(x):
        medians = np.nanmedian(np.where(np.isnan(x[train]).all(0), 0.0, x[train]), axis=0)
        x_train = np.where(np.isnan(x[train]), medians, x[train])
        x_test = np.where(np.isnan(x[test]), medians, x[test])
        forest = RandomForestRegressor(
            n_estimators=100, max_features=1 / 3, random_state=seed, n_jobs=1
        ).fit(x_train, y[train])
        pred[test] = forest.predict(x_test)
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    return 1 - float(np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2)), rmse


SET_NAMES = {
    "esol": "ESOL (log S)",
    "hlm": "Biogen HLM",
    "sol": "Biogen Sol",
    "moses": "MOSES test, first 5,000",
}


def _sets() -> dict[str, tuple[list[str], np.ndarray | None]]:
    esol = pd.read_csv(DATA / "esol" / "delaney-processed.csv")
    biogen = pd.read_csv(DATA / "biogen_adme" / "ADME_public_set_3521.csv")
    moses = []
    with gzip.open(DATA / "moses" / "test.csv.gz", "rt") as handle:
        next(handle)
        for line in handle:
            moses.append(line.strip())
            if len(moses) == 5_000:
                break
    sets = {
        "ESOL (log S)": (
            esol["smiles"].str.strip().tolist(),
            esol["measured log solubility in mols per litre"].to_numpy(float),
        )
    }
    for name, column in (
        ("Biogen HLM", "LOG HLM_CLint (mL/min/kg)"),
        ("Biogen Sol", "LOG SOLUBILITY PH 6.8 (ug/mL)"),
    ):
        rows = biogen[column].notna()
        sets[name] = (
            biogen.loc[rows, "SMILES"].str.strip().tolist(),
            biogen.loc[rows, column].to_numpy(float),
        )
    sets["MOSES test, first 5,000"] = (moses, None)
    return sets


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets",
        nargs="+",
        choices=sorted(SET_NAMES),
        default=list(SET_NAMES),
        help="data sets to measure (default: all)",
    )
    args = parser.parse_args()
    wanted = {SET_NAMES[name] for name in args.sets}
    started = time.perf_counter()
    lines = [
        "# Capping the AvgIpc descriptor (issue 30)",
        "",
        f"Made by `{command_line()}`.",
        "",
        f"sciml computes `AvgIpc` only for molecules of at most {D.AVGIPC_MAX_ATOMS} heavy "
        "atoms (NaN above, imputed with the training median). RDKit's `AvgIpc` grows about "
        "with the cube of the atom count.",
        "",
        "## Cost per molecule (all 216 descriptors, one thread)",
        "",
        *_cost(),
        "",
        "## Molecules above the cap, and the accuracy effect",
        "",
        "5-fold CV (random folds, seed 0) of a 100-tree random forest (max_features=1/3, "
        "training medians for undefined descriptors). 'capped' is what sciml computes; "
        "'RDKit' uses RDKit's AvgIpc for every molecule; 'dropped' leaves AvgIpc out.",
        "",
        "| data set | molecules | largest (heavy atoms) | above the cap | max abs change "
        "of any descriptor | R² capped | R² RDKit | R² dropped | RMSE capped | RMSE RDKit "
        "| RMSE dropped |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    avg_ipc = D.descriptor_names().index("AvgIpc")
    for name, (smiles, y) in _sets().items():
        if name not in wanted:
            continue
        atoms = [Chem.MolFromSmiles(s).GetNumAtoms() for s in smiles]
        capped, uncapped = _rows(smiles, True), _rows(smiles, False)
        change = float(np.nanmax(np.abs(capped - uncapped))) if len(smiles) else 0.0
        same_nan = bool((np.isnan(capped) == np.isnan(uncapped)).all())
        cells = [
            name,
            f"{len(smiles):,}",
            str(max(atoms)),
            str(sum(a > D.AVGIPC_MAX_ATOMS for a in atoms)),
            f"{change:g}" + ("" if same_nan else " (NaN pattern differs)"),
        ]
        if y is None:
            cells += ["-"] * 6
        else:
            scores = [_cv(capped, y), _cv(uncapped, y), _cv(np.delete(capped, avg_ipc, 1), y)]
            cells += [f"{r2:.4f}" for r2, _ in scores] + [f"{rmse:.4f}" for _, rmse in scores]
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    lines += [
        "",
        f"CPU time of the whole run: {time.process_time():.0f} s; wall "
        f"{time.perf_counter() - started:.0f} s.",
        "",
        machine_info(("numpy", "pandas", "rdkit", "scikit-learn")),
    ]
    RESULTS.mkdir(exist_ok=True)
    with atomic_write(RESULTS / "descriptor_cap.md") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
