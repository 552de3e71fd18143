"""``sciml demo``: a quick, real tour of the three model families.

Each part is a small but genuine run (no canned output):

1. **ADME with domain adaptation** -- a small pre-trained SMILES encoder (shipped in
   ``sciml/assets``) is domain-adapted on Biogen ADME training molecules by descriptor
   multi-task regression, then given a random-forest head; RF on RDKit descriptors runs
   beside it on the same split. Metrics table and parity plots.
2. **Regression Transformer** -- QED prediction for a few molecules and molecules
   generated with two QED primers, with their RDKit QED.
3. **Multi-task DeepONet** on Fisher-KPP with two source families: relative L2 per
   family, a prediction-vs-solver plot and the speed-up over the scipy solver.

Output goes to ``--out`` (default ``./sciml-demo``): ``report.md`` and PNG figures. Each
part's figures and section are on disk as soon as the part ends (``report.md`` is rewritten
atomically after every part and lists the parts still to come), so an interrupted demo
keeps what it finished. Parts
whose public data set is unavailable fall back to data that ships with the dependencies
(RDKit's bundled molecules, generated PDE data) or are skipped with a note on how to get
the data.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PARTS", "Section", "register", "run_demo"]


@dataclass
class Section:
    """One part of the report: markdown text, figures, and what was skipped."""

    title: str
    text: str = ""
    figures: list[str] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    anchor: str = ""
    next: str = ""


def _fast() -> bool:
    return os.environ.get("SCIML_FAST") == "1"


def _table(frame, floatfmt: str = ".3f") -> str:
    """Markdown table without the optional ``tabulate`` dependency."""
    cols = [frame.index.name or ""] + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, *row in frame.itertuples():  # itertuples keeps each column's dtype
        cells = [str(idx)]
        for value in row:
            cells.append(format(value, floatfmt) if isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _biogen_or_none():
    from sciml.chem import load_dataset
    from sciml.data import DataUnavailableError

    try:
        return load_dataset("biogen_adme", drop_censored=True)
    except DataUnavailableError:
        return None


#: The demo's transformer: the shipped MOSES encoder and the MTR-DA length chosen on inner folds
#: of the demo's training split to fit its 5 minutes (``benchmarks/results/demo_recipe.md``).
DEMO_ENCODER = "moses_mlm_small.pt"
DEMO_ADAPT_EPOCHS = 10


def demo_transformer(
    encoder: str = DEMO_ENCODER,
    adapt_epochs: int = DEMO_ADAPT_EPOCHS,
    precision: str = "fp32",
    n_estimators: int = 300,
    seed: int = 0,
    progress: bool = False,
):
    """The demo's transformer (MTR-DA at 1e-3, random-forest head) for a given recipe.

    ``adapt_epochs=0`` skips domain adaptation. ``benchmarks/demo_recipe.py`` chooses the
    recipe with this same model.
    """
    from sciml.chem.models import TransformerModel

    return TransformerModel(
        pretrained=encoder,
        adapt="mtr" if adapt_epochs else "none",
        adapt_epochs=max(adapt_epochs, 1),
        adapt_lr=1e-3,
        head="rf",
        n_estimators=n_estimators,
        seed=seed,
        progress=progress,
        precision=precision,
    )


#: A few approved drugs for the shipped ADME predictor (some are Biogen molecules too).
DEMO_DRUGS = {
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "caffeine": "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
    "ibuprofen": "CC(C)Cc1ccc(C(C)C(=O)O)cc1",
    "propranolol": "CC(C)NCC(O)COc1cccc2ccccc12",
    "diazepam": "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21",
    "warfarin": "CC(=O)CC(c1ccccc1)c1c(O)c2ccccc2oc1=O",
    "imatinib": "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1",
    "metformin": "CN(C)C(=N)NC(=N)N",
}


def results_cell(file: str, row: str, column: str, section: str = "") -> str | None:
    """The first number of a table cell in ``benchmarks/results/FILE`` (None if unavailable).

    The demo quotes its references from the results files, never from literals in the code;
    outside a source checkout (an installed wheel) the files are absent and the demo points
    at them instead.
    """
    import re

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / file
    if not path.is_file():
        return None
    heading, header = "", None
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            heading, header = line, None
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = [re.sub(r"[*`]", "", c).strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if section in heading and cells[0] == row and column in header:
            number = re.search(r"-?\d+(?:\.\d+)?", cells[header.index(column)])
            if number:
                return number.group(0)
    return None


def part_adme(out: Path, fast: bool, seed: int = 0) -> Section:
    """ADME: the shipped biogen-adme predictor on approved drugs, with the seed method's reference."""
    import pandas as pd

    import sciml
    from sciml.chem.models import load_model

    section = Section("ADME endpoints: the shipped predictor, and the domain-adapted transformer")
    start = time.process_time()
    model = load_model(sciml.asset_path("biogen_adme"))
    drugs = pd.Series(DEMO_DRUGS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the in_domain column says it per molecule
        pred = model.predict(drugs, interval=0.9, domain=True)
    cpu = time.process_time() - start
    shown = pd.DataFrame(index=pred.index)
    for target in ("HLM", "Sol", "MDR1_ER", "hPPB"):
        shown[f"{target} [90% interval]"] = [
            f"{m:.2f} [{lo:.2f}, {hi:.2f}]"
            for m, lo, hi in zip(
                pred[target], pred[f"{target}_lower"], pred[f"{target}_upper"], strict=True
            )
        ]
    shown["in domain"] = pred["in_domain"].map({True: "yes", False: "no"})
    shown["nearest Tanimoto"] = pred["max_tanimoto"].map(lambda v: f"{v:.2f}")
    best = results_cell("adme_best.md", "best (stack)", "mean", section="Random folds")
    gbm_gnn = results_cell(
        "adme_best.md",
        "earlier: GBM + GNN plain average, same folds (adme_study_protocol_oof.csv.gz)",
        "mean",
    )
    da = results_cell(
        "adme_domain_adaptation.md", "MLM-MOSES + MTR-DA", "mean", section="random split"
    )
    study_da = results_cell(
        "adme_domain_adaptation.md", "study: MLM-30% + MTR-DA (BERT-base)", "mean"
    )
    rf = results_cell("adme_domain_adaptation.md", "RF-physchem", "mean", section="random split")
    frozen = results_cell("adme_domain_adaptation.md", "MLM-MOSES", "mean", section="random split")
    section.text = (
        "**The model to use: the shipped `biogen-adme` predictor** (no training): `sciml "
        "predict --model biogen-adme --input my.csv --out preds.csv`. It is the default recipe of "
        "`sciml fit` (`--model best`: LightGBM on two feature sets, a D-MPNN and a kernel "
        "ridge on Tanimoto and descriptor similarity, stacked per "
        "endpoint by weights fitted on inner folds, each endpoint corrected by the members' "
        "predictions of the others where that helps on those folds) trained on all 3,521 "
        "Biogen molecules "
        "(Fang et al. 2023); log10 units, 90% conformal intervals whose width follows the "
        f"molecule, and the applicability domain. A few approved drugs ({cpu:.1f} CPU-s for "
        "loading and predicting; a nearest Tanimoto of 1.00 means the drug is one of the "
        "training molecules):\n\n"
        + _table(shown)
        + "\n\nPlasma protein binding (hPPB) was measured for under 200 Biogen molecules: its "
        "intervals are the widest, and molecules unlike them are flagged."
    )
    if best and da:
        section.anchor = (
            f"the same recipe scores mean R² {best} over the six endpoints in 5-fold CV of the "
            f"study protocol (the earlier GBM + GNN average: {gbm_gnn}; "
            "`benchmarks/results/adme_best.md`). **The seed method**, the SMILES transformer "
            f"domain-adapted by multi-task regression of RDKit descriptors (Sultan et al. 2025), "
            f"reaches {da} on the same folds with sciml's MOSES encoder ({frozen} without the "
            f"adaptation), against the study's own DA row {study_da} and RF-physchem {rf} "
            "(`benchmarks/results/adme_domain_adaptation.md`): adaptation lifts the "
            "transformer, and the boosted-tree stack is the stronger model."
        )
    else:
        section.anchor = (
            "the recipe's cross-validated scores are in "
            "`benchmarks/results/adme_best.md` and the seed method's in "
            "`benchmarks/results/adme_domain_adaptation.md` (in the source tree)."
        )
    section.next = (
        "train on your own data: `sciml fit --train train.csv --targets HLM,RLM --out runs/adme` "
        "(the best recipe by default; `--threads 1` on a busy machine), then `sciml predict "
        "--model runs/adme --input new.csv --out preds.csv`. The transformer and its domain "
        "adaptation: `notebooks/01_adme_domain_adaptation.ipynb`."
    )
    return section


def _demo_molecules(n: int) -> list[str]:
    """Canonical SMILES: chembl30_sample when available, else RDKit's bundled NCI set."""
    from rdkit import Chem, RDConfig, rdBase

    from sciml.data import DataUnavailableError

    try:
        from sciml.chem import load_dataset

        smiles = load_dataset("chembl30_sample", part="test")["smiles"].head(4 * n).tolist()
    except DataUnavailableError:
        path = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
        smiles = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    with rdBase.BlockLogs():
        mols = [Chem.MolFromSmiles(s) for s in smiles[: 4 * n]]
    return [Chem.MolToSmiles(m) for m in mols if m is not None and m.GetNumAtoms() < 40][:n]


def _molecule_grid(generated, path: Path, n: int = 12) -> None:
    """Generated molecules drawn with their primer and RDKit QED (PNG)."""
    from rdkit import Chem
    from rdkit.Chem import Draw

    rows = generated.sort_values("target_qed").groupby("target_qed").head(n // 2)
    mols = [Chem.MolFromSmiles(s) for s in rows["smiles"]]
    legends = [
        f"primer {t:.1f}: QED {q:.2f}"
        for t, q in zip(rows["target_qed"], rows["true_qed"], strict=True)
    ]
    Draw.MolsToGridImage(mols, molsPerRow=4, subImgSize=(260, 200), legends=legends).save(path)


def _primer_effect(summary) -> str:
    """One sentence on what the primer did, from the generation summary (per primer row)."""
    if len(summary) < 2:
        return "Only one primer gave molecules: nothing to compare."
    low, high = summary.iloc[0], summary.iloc[-1]
    shift = high["mean_true_qed"] - low["mean_true_qed"]
    verb = "raised" if shift > 0.02 else "lowered" if shift < -0.02 else "did not change"
    return (
        f"The primer {verb} the RDKit QED of the outputs: primed {summary.index[0]:g}, "
        f"mean {low['mean_true_qed']:.2f}; primed {summary.index[-1]:g}, mean "
        f"{high['mean_true_qed']:.2f} (seeds {low['mean_seed_qed']:.2f}), a difference of "
        f"{shift:+.2f}."
    )


def _rt_goals_anchor() -> str:
    """The shipped model's measured goals, read from ``benchmarks/results/rt_goals.json``."""
    import json

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "rt_goals.json"
    if not path.is_file():
        return "(Its measured goals: `benchmarks/results/regression_transformer.md`.)"
    record = json.loads(path.read_text())
    shipped = record.get("shipped")
    res = record["models"].get(shipped) if shipped else None
    if res is None:
        return "(Its measured goals: `benchmarks/results/regression_transformer.md`.)"
    return (
        f"The shipped model ({res['language']}) measured in `benchmarks/rt_goals.py`: QED "
        f"RMSE {res['chembl']['rmse']:.3f} on 1000 held-out ChEMBL 30 molecules and "
        f"{res['moses']['rmse']:.3f} on 2000 MOSES ones; Spearman(primer, RDKit QED of "
        f"output) {res['drug_seeds']['spearman']:.2f} from drug-like seeds, "
        f"{res['moses_seeds']['spearman']:.2f} from MOSES seeds; mean Tanimoto to the seed "
        f"{res['drug_seeds']['tanimoto_mean']:.2f} "
        "(`benchmarks/results/regression_transformer.md`)."
    )


def _demo_rt(fast: bool, seed: int):
    """The RT of the demo, the molecules it shows and the ones it was trained on, its origin."""
    from importlib import resources

    import pandas as pd
    from rdkit import Chem
    from rdkit.Chem import QED

    from sciml.rt import PropertySpec, RegressionTransformer
    from sciml.rt.predictor import RTConfig
    from sciml.train import TrainConfig

    asset = resources.files("sciml") / "assets" / "demo_rt.pt"
    n_shown = 30 if fast else 60
    if asset.is_file() and not fast:
        rt = RegressionTransformer.load(str(asset))
        origin = "the shipped checkpoint `sciml/assets/demo_rt.pt` (see `sciml/assets/README.md`)"
        # Held-out molecules of the checkpoint's own split: it has seen none of them.
        heldout = resources.files("sciml") / "assets" / "demo_rt_heldout.smi"
        lines = heldout.read_text().splitlines()
        molecules = [s for s in lines if s and not s.startswith("#")][:n_shown]
        seen: set[str] = set()
    else:
        # No shipped checkpoint (or fast mode): a tiny model trained here, in seconds, on
        # molecules other than the ones shown.
        pool = _demo_molecules(n_shown + 200)
        molecules, train = pool[:n_shown], pool[n_shown:]
        seen = set(train)
        y = pd.DataFrame({"qed": [QED.qed(Chem.MolFromSmiles(s)) for s in train]})
        rt = RegressionTransformer(
            [PropertySpec("qed", 0.0, 1.0, precision=3)], RTConfig(size="tiny")
        )
        rt.fit(
            train,
            y,
            train_config=TrainConfig(
                max_epochs=2, batch_size=32, lr=2e-3, progress=False, seed=seed
            ),
        )
        origin = "a tiny model trained on 200 molecules just now (fast mode: expect poor numbers)"
    return rt, molecules, seen, origin


def _demo_rt_generation(rt, seeds: list[str], out: Path, fast: bool, seed: int, figures: list[str]):
    """Generate from ``seeds`` primed low and high; the frame and the text summarising it."""
    from rdkit import Chem
    from rdkit.Chem import QED

    from sciml.rt.generation import GenerationWarning

    with warnings.catch_warnings():  # a shortfall is reported in the text below instead
        warnings.simplefilter("ignore", GenerationWarning)
        # Fast mode's tiny model makes many invalid fills: one fill, two rounds keep it quick.
        quick = {"best_of": 1, "max_rounds": 2} if fast else {}
        gen = rt.generate(seeds, {"qed": [0.3, 0.9]}, n=4, seed=seed, errors="skip", **quick)
    generated = gen[~gen["is_seed"].astype(bool)]
    seed_qed = {s: QED.qed(Chem.MolFromSmiles(s)) for s in seeds}
    if generated.empty:
        summary_text = "no valid new molecule was generated."
    else:
        _molecule_grid(generated, out / "rt_generated.png")
        figures.append("rt_generated.png")
        summary = (
            generated.assign(seed_qed=generated["seed"].map(seed_qed))
            .groupby("target_qed")
            .agg(
                molecules=("smiles", "size"),
                mean_seed_qed=("seed_qed", "mean"),
                mean_true_qed=("true_qed", "mean"),
                mean_predicted_qed=("predicted_qed", "mean"),
            )
        )
        summary_text = (
            _table(summary)
            + "\n\n"
            + _primer_effect(summary)
            + "\n\nExamples:\n\n"
            + _table(
                generated.head(6).set_index("smiles")[
                    ["seed", "target_qed", "predicted_qed", "true_qed"]
                ]
            )
        )
    return gen, summary_text


def part_rt(out: Path, fast: bool, seed: int = 0) -> Section:
    """Predict QED and generate QED-primed molecules with one Regression Transformer."""
    from rdkit import Chem
    from rdkit.Chem import QED

    section = Section("Regression Transformer: QED prediction and QED-primed generation")
    rt, molecules, seen, origin = _demo_rt(fast, seed)
    few = molecules[:8]
    pred = rt.predict(few, errors="nan")  # fast mode's tiny vocabulary may lack a token
    if "smiles" not in pred:
        pred.insert(0, "smiles", few)
    pred["RDKit QED"] = [QED.qed(Chem.MolFromSmiles(s)) for s in few]
    pred["training molecule"] = ["yes" if s in seen else "no" for s in few]
    seeds = molecules[8:12] if fast else molecules[8:16]
    n_seen_seeds = sum(s in seen for s in seeds)
    gen, summary_text = _demo_rt_generation(rt, seeds, out, fast, seed, section.figures)
    seed_qed = {s: QED.qed(Chem.MolFromSmiles(s)) for s in seeds}
    n_total = gen.attrs.get("n_generated", len(gen))
    shortfall = gen.attrs.get("n_asked", len(gen)) - len(gen)
    section.text = (
        f"Model: {origin}.\n\n**QED predicted for a few molecules** (RDKit QED beside it)\n\n"
        + _table(pred.set_index("smiles"))
        + f"\n\n{sum(s in seen for s in few)} of the {len(few)} molecules above and "
        f"{n_seen_seeds} of the {len(seeds)} seeds below are training molecules of the model "
        "(column *training molecule*); the others it has never seen."
        + f"\n\n**Generation** from {len(seeds)} drug-like seed molecules (RDKit QED "
        + ", ".join(f"{q:.2f}" for q in seed_qed.values())
        + ") primed low (QED 0.3) and high (QED 0.9), 4 new molecules asked per seed and primer "
        "(`RegressionTransformer.generate` defaults, `GenerationConfig`: a quarter of the tokens "
        "re-generated in spans placed in the side chains first (into the scaffold only when the "
        "side chains are too short), best of 4 fills "
        "by the model's own QED prediction, radicals, reactive groups and strained or large "
        "rings filtered): "
        f"{n_total} candidates, {gen.attrs.get('n_invalid', 0)} invalid, "
        f"{gen.attrs.get('n_filtered', 0)} filtered"
        + (f", {shortfall} fewer molecules than asked" if shortfall > 0 else "")
        + ". Mean RDKit QED of the new molecules per primer:\n\n"
        + summary_text
    )
    errors = (pred["qed"] - pred["RDKit QED"]).abs()
    section.anchor = (
        f"mean absolute QED error {errors.mean():.3f} on these {len(few)} molecules; the RT paper "
        "(Born & Manica 2023) reaches an RMSE of about 0.04 on QED. " + _rt_goals_anchor()
    )
    section.next = (
        "`sciml rt predict --model sciml/assets/demo_rt.pt --input molecules.csv --out qed.csv`; "
        "notebook `notebooks/02_regression_transformer.ipynb`."
    )
    return section


def _star_plate() -> dict:
    """A star-shaped plate with an off-centre hole, as the GeoJSON a user would draw."""
    import numpy as np

    angles = np.arange(14) * np.pi / 7 + 0.2
    radii = np.where(np.arange(14) % 2 == 0, 0.44, 0.3)
    outer = np.c_[0.5 + radii * np.cos(angles), 0.5 + radii * np.sin(angles)]
    t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    hole = np.c_[0.58 + 0.09 * np.cos(t), 0.45 + 0.09 * np.sin(t)]

    def ring(v):  # GeoJSON rings are closed
        return [*v.tolist(), v[0].tolist()]

    return {"type": "Polygon", "coordinates": [ring(outer), ring(hole)]}


def _any_shape_darcy(out: Path) -> tuple[str, float]:
    """The shipped any-shape Darcy operator on a drawn plate and an unlike shape, vs the solver.

    Returns the section text and the relative L2 error on the plate.
    """
    import json
    import warnings as _warnings

    import matplotlib.pyplot as plt
    import numpy as np

    from sciml.physics.any_shape import AnyShapeDarcy
    from sciml.physics.problems import get_problem

    plate = out / "plate.geojson"
    plate.write_text(json.dumps(_star_plate()))
    model = AnyShapeDarcy.load_shipped("darcy-any-shape")
    x = np.linspace(0, 1, model.resolution)
    k = np.exp(0.4 * np.sin(4 * x)[:, None] * np.cos(3 * x)[None, :])
    solve = get_problem("darcy").solve
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")  # the in-domain verdict is reported below
        model.predict(plate, permeability=k)  # first calls load and compile; time the second
        solve(str(plate), permeability=k, resolution=model.resolution)
        start = time.perf_counter()
        prediction = model.predict(plate, permeability=k)
        model_seconds = time.perf_counter() - start
        start = time.perf_counter()
        reference = solve(str(plate), permeability=k, resolution=model.resolution)
        solver_seconds = time.perf_counter() - start
        # A perforated plate, nine square holes: unlike the training shapes (at most 3 holes).
        n = model.resolution
        unlike_mask = np.zeros((n, n), dtype=bool)
        unlike_mask[1:-1, 1:-1] = True
        for cx in (n // 4, n // 2, 3 * n // 4):
            for cy in (n // 4, n // 2, 3 * n // 4):
                unlike_mask[cx - 3 : cx + 4, cy - 3 : cy + 4] = False
        unlike = model.predict(unlike_mask, permeability=1.0)
    u_ref, mask = reference["u"].values[0], reference["mask"].values[0]
    error = float(
        np.linalg.norm((np.nan_to_num(prediction.values) - u_ref)[mask])
        / np.linalg.norm(u_ref[mask])
    )
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    solver = np.where(mask, u_ref, np.nan)
    for ax, (image, title) in zip(
        axes,
        (
            (solver, "cut-cell solver"),
            (prediction.values, "shipped operator"),
            (np.abs(prediction.values - solver), "|difference|"),
        ),
        strict=True,
    ):
        im = ax.imshow(image.T, origin="lower", extent=(0, 1, 0, 1))
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(out / "darcy_any_shape.png", dpi=110)
    plt.close(fig)
    reason = unlike.attrs.get("domain_reason", "")
    text = (
        "**The model to use: the shipped any-shape Darcy operator.** A star-shaped plate with an "
        "off-centre hole, written as GeoJSON (`plate.geojson` in this folder), with a smooth "
        "permeability field: `sciml pde predict --model darcy-any-shape --geometry-file "
        f"plate.geojson --out u.nc`. Relative L2 error against the project's cut-cell solver "
        f"**{100 * error:.1f}%**; the operator took {1e3 * model_seconds:.0f} ms, the solver "
        f"{1e3 * solver_seconds:.0f} ms on the same {model.resolution}² grid. In the training "
        f"domain: {bool(prediction.in_domain)}. A shape unlike its training shapes (a square "
        f"plate perforated by nine square holes) gets in domain = {bool(unlike.in_domain)}"
        + (f" ({reason})" if reason else "")
        + "."
    )
    return text, error


def part_deeponet(out: Path, fast: bool, seed: int = 0) -> Section:
    """Operators: the shipped any-shape Darcy model, then a Fisher-KPP MT-DeepONet.

    Both are compared with the project's scipy solvers.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from sciml.metrics import relative_l2
    from sciml.physics.operator.networks import MaskedFieldLoss
    from sciml.physics.predictor import OperatorPredictor
    from sciml.physics.problems.fisher import FisherConfig, FisherProblem
    from sciml.train import TrainConfig, Trainer

    section = Section("Operators: Darcy on a drawn shape, and a multi-task DeepONet on Fisher-KPP")
    any_shape_text, _ = _any_shape_darcy(out)
    section.figures.append("darcy_any_shape.png")
    families = ("logistic", "newell_whitehead")
    n_per_family = 40 if fast else 200
    config = FisherConfig(families=families)
    start = time.perf_counter()
    problem = FisherProblem()
    ds = problem.generate(2 * (n_per_family + 25), config, seed=seed, progress=not fast)
    solver_seconds = (time.perf_counter() - start) / ds.sizes["sample"]
    data = problem.dataset(ds)
    order = np.random.default_rng(seed).permutation(ds.sizes["sample"])
    test_idx, train_idx = np.sort(order[:50]), np.sort(order[50:])
    model = problem.default_model(data, multitask=True)
    trainer = Trainer(
        model,
        MaskedFieldLoss("mse"),
        TrainConfig(
            max_epochs=5 if fast else 200,
            batch_size=32,
            lr=2e-3,
            weight_decay=0.0,
            seed=seed,
            progress=not fast,
            monitor="train_loss",
        ),
    )
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: one thread wastes no CPU on a busy laptop
    try:
        trainer.fit(data.subset(train_idx))
    finally:
        torch.set_num_threads(threads)
    train_seconds = time.perf_counter() - start
    predictor = OperatorPredictor.from_dataset(model, ds)
    test = ds.isel(sample=test_idx)
    predictor.predict(
        test["u0"].values[:2], coefficients=test["coefficients"].values[:2]
    )  # warm-up
    start = time.perf_counter()
    with torch.inference_mode():
        pred = predictor.predict(test["u0"].values, coefficients=test["coefficients"].values)
    operator_seconds = (time.perf_counter() - start) / len(test_idx)
    single = []
    for k in range(5):  # one input at a time, as a user predicting a single case would
        start = time.perf_counter()
        with torch.inference_mode():
            predictor.predict(test["u0"].values[k], coefficients=test["coefficients"].values[k])
        single.append(time.perf_counter() - start)
    single_seconds = float(np.median(single))
    truth = test["u"].transpose("sample", "t", "x").values
    values = pred.transpose(*("sample", "t", "x")).values
    errors = relative_l2(
        truth.reshape(len(truth), -1), values.reshape(len(truth), -1), reduce="none"
    )
    fam = test["family"].values.astype(str)
    rows = [
        f"| {f} | {(fam == f).sum()} | {100 * errors[fam == f].mean():.2f}% |" for f in families
    ]
    fig, axes = plt.subplots(2, 3, figsize=(10, 5.5))
    x, t = ds["x"].values, ds["t"].values
    for row, family in enumerate(families):
        i = int(np.flatnonzero(fam == family)[0])
        for ax, field_, title in (
            (axes[row, 0], truth[i], "solver"),
            (axes[row, 1], values[i], "MT-DeepONet"),
        ):
            im = ax.pcolormesh(x, t, field_, vmin=0, vmax=1, shading="auto")
            ax.set_title(f"{family}: {title}")
            ax.set_xlabel("x")
            ax.set_ylabel("t")
        fig.colorbar(im, ax=axes[row, 1])
        err = axes[row, 2].pcolormesh(
            x, t, np.abs(values[i] - truth[i]), shading="auto", cmap="magma"
        )
        axes[row, 2].set_title(f"|error|, relative L2 {100 * errors[i]:.1f}%")
        fig.colorbar(err, ax=axes[row, 2])
    fig.tight_layout()
    fig.savefig(out / "deeponet_fisher.png", dpi=110)
    plt.close(fig)
    section.figures.append("deeponet_fisher.png")
    section.text = (
        any_shape_text
        + "\n\n"
        + (
            "**The seed method: a multi-task DeepONet** (Kumar et al. 2024), trained here. "
            f"Fisher-KPP u_t = D u_xx + R(u) on a 64 x 20 (x, t) grid with Neumann boundaries; the "
            f"branch sees the initial condition and the source coefficients on (u, u^2, u^3, u^4). "
            f"{len(train_idx)} training and {len(test_idx)} test samples from the project's scipy "
            f"solver; one MT-DeepONet trained for {trainer.config.max_epochs} epochs in "
            f"{train_seconds:.0f} s.\n\n| family | test samples | mean relative L2 |\n|---|---|---|\n"
            + "\n".join(rows)
            + f"\n\nSpeed on this machine, like with like. A batch of {len(test_idx)} samples: the "
            f"scipy solver needs {len(test_idx)} solves of {1e3 * solver_seconds:.1f} ms each (it "
            f"solves one sample at a time), the operator {1e3 * operator_seconds:.2f} ms per sample "
            f"in one batch: **{solver_seconds / operator_seconds:.0f}x faster**. One sample at a "
            f"time: one solve {1e3 * solver_seconds:.1f} ms against one operator call "
            f"{1e3 * single_seconds:.2f} ms (median of 5), {solver_seconds / single_seconds:.0f}x."
        )
    )
    mean_l2 = 100 * float(errors.mean())
    section.anchor = (
        f"mean relative L2 {mean_l2:.1f}% after {train_seconds:.0f} s of training; the accuracy "
        "goal sciml takes from the MT-DeepONet paper (Kumar et al. 2024) is at most 1.5% per "
        "family, which needs far longer training (`benchmarks/results/mt_deeponet.md`)."
    )
    section.next = (
        "`sciml pde generate fisher --n 2000 --out fisher.nc`, `sciml pde train --train "
        "fisher.nc --out fisher.pt --epochs 300`, `sciml pde predict --model fisher.pt --input "
        "fisher.nc --out pred.nc`; your own geometry: `sciml pde generate darcy --geometry-file "
        "shape.geojson ...`; your own PDE: `notebooks/04_custom_pde_burgers.ipynb`."
    )
    return section


#: Demo parts in order, fastest first (benchmarks/results/demo_time.md): name -> function.
PARTS: dict[str, Callable[[Path, bool], Section]] = {
    "adme": part_adme,
    "rt": part_rt,
    "deeponet": part_deeponet,
}


def run_demo(
    out: str | os.PathLike = "sciml-demo", parts: list[str] | None = None, fast: bool | None = None
) -> Path:
    """Run the demo parts and write ``report.md`` plus figures into ``out``.

    Parameters
    ----------
    out : path-like
        Output folder (created).
    parts : list of str, optional
        Subset of :data:`PARTS` (default: all).
    fast : bool, optional
        Smaller data and fewer epochs (default: ``$SCIML_FAST == "1"``).

    Returns
    -------
    pathlib.Path
        The report file.
    """
    from tqdm.auto import tqdm

    fast = _fast() if fast is None else fast
    names = list(PARTS) if not parts else parts
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        raise ValueError(f"unknown demo part(s) {unknown}; choose from: {', '.join(PARTS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report.md"
    sections: list[Section] = []
    # report.md is rewritten after every part, so an interrupted demo keeps what finished.
    _write_report(report, sections, pending=[PARTS[n].__doc__ for n in names])
    for k, name in enumerate(tqdm(names, desc="sciml demo", unit="part")):
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        try:
            section = PARTS[name](out, fast)
        except BaseException as exc:
            failed = f"part {name!r} stopped with {type(exc).__name__}: {exc}".rstrip(": ")
            _write_report(
                report, sections, pending=[PARTS[n].__doc__ for n in names[k:]], note=failed
            )
            raise
        section.seconds = time.perf_counter() - start
        section.cpu_seconds = _cpu_seconds() - cpu_start
        sections.append(section)
        _write_report(report, sections, pending=[PARTS[n].__doc__ for n in names[k + 1 :]])
    return report


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children (all threads)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _write_report(
    report: Path, sections: list[Section], pending: list[str | None], note: str | None = None
) -> None:
    """Atomically (re)write ``report`` with the finished sections and the parts still to come."""
    from sciml._io import atomic_write

    body = ["# sciml demo report", ""]
    for i, section in enumerate(sections, 1):
        body.append(f"## {i}. {section.title}")
        body.append("")
        if section.skipped:
            body.append(f"*Skipped:* {section.skipped}")
        else:
            body.append(section.text)
            body += [f"\n![{fig}]({fig})" for fig in section.figures]
            if section.anchor:
                body.append(f"\n**Against the reference:** {section.anchor}")
            if section.next:
                body.append(f"\n**Next:** {section.next}")
        body.append(f"\n_{section.seconds:.0f} s wall, {section.cpu_seconds:.0f} CPU-s_\n")
    if note:
        body += [f"**Interrupted:** {note}.", ""]
    if pending:
        body += ["## Not run yet" if note else "## Still to come", ""]
        body += [f"- {(doc or '').strip().splitlines()[0]}" for doc in pending]
        body.append("")
    with atomic_write(report) as handle:
        handle.write("\n".join(body) + "\n")


def _cmd_demo(args: argparse.Namespace) -> int:
    parts = args.parts.split(",") if args.parts else None
    report = run_demo(args.out, parts=parts, fast=args.fast or None)
    print(report.read_text())
    print(f"report written to {report}")
    return 0


def register(subparsers) -> None:
    """Add ``sciml demo``."""
    parser = subparsers.add_parser(
        "demo",
        help="run a short tour of all three model families (writes ./sciml-demo/report.md)",
        description="A quick, real tour of the three model families, each led by the model to "
        "use and followed by the seed method beside it: shipped operators on a drawn shape and "
        "a multi-task DeepONet; the Regression Transformer predicting and generating drug-like "
        "molecules; ADME predictions with intervals and applicability domain. Writes report.md "
        "and figures to --out, each part's section as soon as the part ends. Its cost in CPU "
        "and wall seconds is measured in benchmarks/results/demo_time.md.",
    )
    parser.add_argument("--out", default="sciml-demo", help="output folder (default: sciml-demo)")
    parser.add_argument(
        "--parts",
        default=None,
        help=f"comma-separated subset of: {', '.join(PARTS)} (default: all)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="tiny data and few epochs (as SCIML_FAST=1; used by the tests)",
    )
    parser.set_defaults(handler=_cmd_demo)
