"""Train the shipped ADME predictor ``sciml/assets/biogen_adme`` (``--model biogen-adme``).

The declared best recipe (:func:`sciml.chem.models.best_recipe`: LightGBM on Morgan counts
+ RDKit descriptors, the same plus Avalon / ErG / MACCS, and the width-128 D-MPNN, stacked
per endpoint by weights fitted on 3 inner folds, each endpoint then corrected by the
members' predictions of the others where nested CV on those folds gains >= 0.005 R²
(session 6)) trained on all 3,521 molecules of the
bundled Biogen ADME set (Fang et al. 2023; MIT), six endpoints in their published log10
units, censored HLM/RLM values (at the assay floor) left out, ``--transform auto``.

One change from the benchmarked recipe, for size: both LightGBM members learn at rate 0.1
for 300 rounds instead of 0.03 for 1000 (a third of the trees; the boosters are stored
gzipped), so the folder stays a few MB. Intervals are the stack's normalised
cross-conformal intervals from its inner folds (every molecule trains the model).

Run (about 10 CPU-minutes on one thread; resumable, checkpoints in
``benchmarks/.cache/ship_biogen_adme``)::

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/ship_biogen_adme.py

Writes ``sciml/assets/biogen_adme/`` (the model folder, with ``provenance.json``) and
``tests/data/biogen_adme_frozen.json`` (its predictions on a few approved drugs, which
``tests/chem/test_biogen_adme.py`` compares after reloading).
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import command_line, git_commit, load_average  # noqa: E402
from sciml._io import atomic_write  # noqa: E402

ASSET = ROOT.parent / "sciml" / "assets" / "biogen_adme"
FROZEN = ROOT.parent / "tests" / "data" / "biogen_adme_frozen.json"
CACHE = ROOT / ".cache" / "ship_biogen_adme"
ENDPOINTS = ["HLM", "RLM", "MDR1_ER", "Sol", "hPPB", "rPPB"]
#: Size: a third of the trees of the GBM defaults, at a higher learning rate.
SHIP_OPTIONS = {
    "gbm": {"learning_rate": 0.1, "n_estimators": 300},
    "gbm_rich": {"learning_rate": 0.1, "n_estimators": 300},
}
#: Approved drugs for the frozen predictions and the README example.
DRUGS = {
    "caffeine": "Cn1c(=O)c2c(ncn2C)n(C)c1=O",
    "propranolol": "CC(C)NCC(O)COc1cccc2ccccc12",
    "diazepam": "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21",
    "imatinib": "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1",
    "atorvastatin": "CC(C)c1c(C(=O)Nc2ccccc2)c(-c2ccccc2)c(-c2ccc(F)cc2)n1CC[C@@H](O)C[C@@H](O)CC(=O)O",
}


def _shrink(folder: Path) -> None:
    """Gzip the LightGBM boosters and drop the members' copies of the training domain."""
    for member in sorted(folder.glob("member_*")):
        meta_path = member / "model.json"
        meta = json.loads(meta_path.read_text())
        boosters = meta["extra"].get("boosters")
        if boosters:
            packed = []
            for name in boosters:
                text = (member / name).read_bytes()
                (member / f"{name}.gz").write_bytes(gzip.compress(text, 9, mtime=0))
                (member / name).unlink()
                packed.append(f"{name}.gz")
            meta["extra"]["boosters"] = packed
        # The stack's own folder keeps the domain it reports; members' copies are unused.
        domain = meta.pop("domain", None)
        if isinstance(domain, dict):
            for value in domain.values():
                if isinstance(value, str) and (member / value).is_file():
                    (member / value).unlink()
        with atomic_write(meta_path, "w") as handle:
            json.dump(meta, handle, indent=2)


def main() -> None:
    import torch

    from sciml.chem.datasets import load_dataset
    from sciml.chem.models import best_recipe, load_model
    from sciml.train import Checkpoints

    torch.set_num_threads(1)
    data = load_dataset("biogen_adme", drop_censored=True).reset_index(drop=True)
    model = best_recipe(seed=0, threads=1, options=SHIP_OPTIONS)
    plan = Checkpoints(CACHE, resume=CACHE.is_dir())
    cpu0, wall0 = time.process_time(), time.perf_counter()
    model.fit(data["smiles"].tolist(), data[ENDPOINTS], transforms="auto", checkpoints=plan)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    with tempfile.TemporaryDirectory() as tmp:
        folder = model.save(Path(tmp) / "biogen_adme")
        _shrink(folder)
        provenance = {
            "name": "biogen-adme",
            "recipe": "sciml.chem.models.best_recipe(seed=0, threads=1, options="
            f"{SHIP_OPTIONS}) (LightGBM members at learning rate 0.1, 300 rounds, "
            "for size; the benchmarked recipe uses 0.03 and 1000)",
            "data": "biogen_adme (bundled sciml/data/bundled/ADME_public_set_3521.csv.gz; Fang "
            "et al., J. Chem. Inf. Model. 2023, 63, 3263; MIT), all 3521 molecules, "
            "censored HLM/RLM values dropped",
            "endpoints": {
                "HLM": "log10 HLM CLint (mL/min/kg)",
                "RLM": "log10 RLM CLint (mL/min/kg)",
                "MDR1_ER": "log10 MDR1-MDCK efflux ratio",
                "Sol": "log10 solubility at pH 6.8 (ug/mL)",
                "hPPB": "log10 human plasma protein binding (% unbound)",
                "rPPB": "log10 rat plasma protein binding (% unbound)",
            },
            "labelled": {e: int(data[e].notna().sum()) for e in ENDPOINTS},
            "transforms": model.transforms.explain(),
            "weights": model.fit_info["weights"],
            "inner_r2": model.fit_info["inner_r2"],
            "cross_endpoint": model.fit_info.get("cross_endpoint", {}),
            "intervals": "normalised cross-conformal from the 3 inner folds (difficulty: the "
            "members' disagreement); predict(interval=0.9)",
            "domain": "max Tanimoto similarity to the 3521 training molecules (in_domain, note)",
            "command": command_line(),
            "git": git_commit(),
            "cpu_seconds": round(cpu, 1),
            "wall_seconds": round(wall, 1),
            "load_at_end": load_average(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        (folder / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
        if ASSET.exists():
            shutil.rmtree(ASSET)
        shutil.copytree(folder, ASSET)
    model.clear_checkpoints(plan)
    shipped = load_model(ASSET)
    frame = shipped.predict(list(DRUGS.values()), interval=0.9, domain=True)
    frame.index = list(DRUGS)
    record = {
        "smiles": DRUGS,
        "columns": list(frame.columns[:-3]),
        "values": np.asarray(frame[frame.columns[:-3]], float).tolist(),
        "in_domain": frame["in_domain"].astype(bool).tolist(),
        "max_tanimoto": frame["max_tanimoto"].astype(float).tolist(),
        "note": "made by benchmarks/ship_biogen_adme.py",
    }
    FROZEN.write_text(json.dumps(record, indent=1) + "\n")
    size = sum(p.stat().st_size for p in ASSET.rglob("*") if p.is_file())
    print(frame.round(3).to_string())
    print(
        f"shipped {ASSET} ({size / 1e6:.2f} MB) in {cpu:.0f} CPU-s, {wall:.0f} s wall; "
        f"weights {model.fit_info['weights']}"
    )


if __name__ == "__main__":
    main()
