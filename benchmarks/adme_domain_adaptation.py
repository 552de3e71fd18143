"""Domain adaptation for ADME property prediction: Sultan et al. (2025) at CPU scale.

Design (default, CPU scale):

- data: ``biogen_adme`` with censored HLM/RLM values dropped (as in the study), 6 endpoints;
- pre-training: MLM on 0 / 10K / 30K molecules of ``chembl30_sample`` (``--pretrain-sizes``),
  encoder ``tiny`` by default (``--size``); one tokenizer vocabulary for every arm, built from
  ``chembl30_sample`` plus the Biogen SMILES (a vocabulary is a token list, not learning);
- domain adaptation: MTR on z-scored RDKit descriptors of each fold's *training* molecules
  (the scaler is fitted on them), versus none;
- head: frozen [CLS] embeddings + one random forest per endpoint, as in the study;
- baseline: random forest on RDKit physicochemical descriptors (``sciml.chem.models.rf``);
- 5-fold random CV (``--split scaffold`` or ``both`` for Murcko-scaffold CV);
- MAE, RMSE, R², Pearson, Spearman per endpoint; RM-ANOVA + Tukey HSD over folds on R².

``--full`` switches to the study's scale (``base`` encoder, GuacaMol fractions 0/30/60/100 %,
longer training); it needs a GPU and the GuacaMol file. ``--finetune`` adds the fine-tuned
head. ``--arms best`` runs only the "best model" arms (random forest on the [CLS]
embedding concatenated with the RDKit descriptors, ``features="embedding+descriptors"``,
and its average with RF-physchem, ``EnsembleModel``) on the same folds, merges their per-fold scores into the existing CSV and regenerates the
tables from it, keeping the pre-training and speed sections of the existing report. The
speed section times ``small``-model prediction (10K and, with ``--speed-100k``,
100K SMILES) and pre-training throughput.

Run: ``SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/adme_domain_adaptation.py``
(then ``... --arms best --no-speed`` to add the best-model rows).
Writes ``benchmarks/results/adme_domain_adaptation.md`` and ``adme_domain_adaptation_*.png``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
STEM = "adme_domain_adaptation"
ENDPOINTS = ["HLM", "RLM", "MDR1_ER", "Sol", "hPPB", "rPPB"]

#: Mean R² over the authors' random 5-fold results (issue 5), for comparison.
REFERENCE = pd.DataFrame(
    [[0.219, 0.281, 0.428, 0.311, 0.377, 0.293],
     [0.230, 0.299, 0.488, 0.322, 0.388, 0.362],
     [0.252, 0.339, 0.490, 0.312, 0.494, 0.434]],
    index=["study: MLM-30% + MTR-DA (BERT-base)", "study: MolBERT (1.3M molecules)",
           "study: RF on RDKit physchem"],
    columns=ENDPOINTS)


def _args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="tiny", help="encoder size (tiny, small, base)")
    p.add_argument("--pretrain-sizes", default="0,10000,30000",
                   help="comma-separated molecule counts of chembl30_sample (or fractions of "
                        "GuacaMol with --full)")
    p.add_argument("--pretrain-epochs", type=int, default=2)
    p.add_argument("--adapt-epochs", type=int, default=5)
    p.add_argument("--n-estimators", type=int, default=100)
    p.add_argument("--split", default="random", choices=["random", "scaffold", "both"])
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--arms", default="study", choices=["study", "best"],
                   help="study: the paper's arms (rewrites the results); best: embedding + "
                        "descriptor forests on MLM-0 and the largest pre-training, merged into "
                        "the existing per-fold CSV")
    p.add_argument("--finetune", action="store_true", help="add the fine-tuned head arm")
    p.add_argument("--finetune-epochs", type=int, default=15)
    p.add_argument("--full", action="store_true",
                   help="study scale: base encoder, GuacaMol 0/30/60/100 %%, more epochs")
    p.add_argument("--speed-100k", action="store_true", help="also time 100K SMILES")
    p.add_argument("--no-speed", action="store_true")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 is fastest on a small, shared CPU)")
    p.add_argument("--output", default=str(RESULTS / f"{STEM}.md"))
    args = p.parse_args(argv)
    if args.full:
        args.size = "base"
        args.pretrain_sizes = "0,0.3,0.6,1.0"
        args.pretrain_epochs, args.adapt_epochs, args.n_estimators = 10, 20, 500
    return args


def _md(frame: pd.DataFrame, index: bool = True) -> str:
    """Markdown table (pandas' to_markdown needs the optional tabulate package)."""
    frame = frame.reset_index() if index else frame

    def cell(v) -> str:
        return f"{v:.3g}" if isinstance(v, float) and abs(v) < 1e4 else str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + " --- |" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _folds(smiles: list[str], kind: str, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sciml.chem.splits import group_kfold, kfold, murcko_scaffolds

    if kind == "random":
        return kfold(len(smiles), k, seed=0)
    return group_kfold(murcko_scaffolds(smiles), k, seed=0)


def _score(y_true: pd.DataFrame, y_pred: pd.DataFrame) -> pd.DataFrame:
    from sciml.metrics import regression_report

    report = regression_report(y_true[ENDPOINTS], y_pred[ENDPOINTS])
    return report.drop(index="mean")


def _pretrain_arms(args, tokenizer, workdir: Path) -> dict[str, str]:
    from sciml.chem.datasets import load_dataset
    from sciml.chem.transformer import pretrain

    if args.full:
        corpus = load_dataset("guacamol", split="train")["smiles"].tolist()
        corpus_name = "guacamol"
    else:
        corpus = load_dataset("chembl30_sample")["smiles"].tolist()
        corpus_name = "chembl30_sample"
    arms, timing = {}, []
    tokens = args.pretrain_sizes.split(",")
    if args.arms == "best":  # no pre-training, and the largest one
        tokens = [tokens[0], tokens[-1]]
    for token in tokens:
        size = float(token) if "." in token else int(token)
        if isinstance(size, float):
            label = f"{size:.0%}"
        else:
            label = f"{size // 1000}K" if size >= 1000 and size % 1000 == 0 else str(size)
        start = time.perf_counter()
        stage = pretrain(corpus, size=args.size, n_molecules=size, tokenizer=tokenizer,
                         epochs=args.pretrain_epochs, batch_size=128, lr=1e-3,
                         progress=False, output=workdir / f"pre_{label}.pt",
                         corpus_name=corpus_name)
        seconds = time.perf_counter() - start
        n = stage.info["stages"][-1]["n_molecules"]
        if n:
            final = stage.info["stages"][-1]["final"]
            timing.append({"arm": label, "molecules": n, "epochs": args.pretrain_epochs,
                           "seconds": round(seconds, 1),
                           "molecules/s": round(n * args.pretrain_epochs / seconds, 1),
                           "final val MLM loss": round(final.get("val_mlm", float("nan")), 3)})
        _log(f"pre-trained {label} ({n} molecules) in {seconds:.0f} s")
        arms[label] = str(stage.path)
    return arms, pd.DataFrame(timing)


def _best_methods(args, arms: dict[str, str]) -> dict:
    """Forests on the [CLS] embedding + RDKit descriptors: MLM-0, and the largest
    pre-training with MTR-DA (the study's best transformer recipe); and the mean of the
    descriptor forest and the first of them (:class:`~sciml.chem.models.EnsembleModel`)."""
    from sciml.chem.models import EnsembleModel, RandomForestModel
    from sciml.chem.transformer import TransformerModel

    (first, first_path), (last, last_path) = list(arms.items())[0], list(arms.items())[-1]
    methods = {}
    for label, path, adapt in ((first, first_path, "none"), (last, last_path, "mtr")):
        name = f"MLM-{label}" + (" + MTR-DA" if adapt == "mtr" else "") + " + physchem"
        methods[name] = (lambda p=path, a=adapt: TransformerModel(
            pretrained=p, adapt=a, adapt_epochs=args.adapt_epochs,
            n_estimators=args.n_estimators, n_jobs=2, head="rf",
            features="embedding+descriptors"))
    no_pretraining = methods[f"MLM-{first} + physchem"]
    methods[f"ensemble: RF-physchem + MLM-{first} + physchem"] = lambda: EnsembleModel(
        members=[RandomForestModel(n_estimators=args.n_estimators, n_jobs=2, seed=0),
                 no_pretraining()])
    return methods


def _study_methods(args, arms: dict[str, str]) -> dict:
    from sciml.chem.models.rf import RandomForestModel
    from sciml.chem.transformer import TransformerModel

    methods = {"RF-physchem": lambda: RandomForestModel(n_estimators=args.n_estimators,
                                                        n_jobs=2, seed=0)}
    for label, path in arms.items():
        for adapt in ("none", "mtr"):
            name = f"MLM-{label}" + (" + MTR-DA" if adapt == "mtr" else "")
            methods[name] = (lambda p=path, a=adapt: TransformerModel(
                pretrained=p, adapt=a, adapt_epochs=args.adapt_epochs,
                n_estimators=args.n_estimators, n_jobs=2, head="rf"))
    if args.finetune:
        best = list(arms.values())[-1]
        methods[f"MLM-{list(arms)[-1]} + MTR-DA + finetune"] = lambda: TransformerModel(
            pretrained=best, adapt="mtr", adapt_epochs=args.adapt_epochs, head="finetune",
            finetune_epochs=args.finetune_epochs, mc_samples=2)
    return methods


def _cv(args, data: pd.DataFrame, split: str, arms: dict[str, str]) -> pd.DataFrame:
    smiles = data["smiles"].tolist()
    rows = []
    methods = _best_methods(args, arms) if args.arms == "best" else _study_methods(args, arms)
    for fold, (train, test) in enumerate(_folds(smiles, split, args.folds)):
        y_train = data.iloc[train][ENDPOINTS]
        y_test = data.iloc[test][ENDPOINTS].reset_index(drop=True)
        for name, make in methods.items():
            start = time.perf_counter()
            model = make().fit([smiles[i] for i in train], y_train)
            pred = model.predict([smiles[i] for i in test]).reset_index(drop=True)
            score = _score(y_test, pred)
            for endpoint, row in score.iterrows():
                rows.append({"split": split, "fold": fold, "method": name,
                             "endpoint": endpoint, **row.to_dict()})
            _log(f"{split} fold {fold} {name}: mean R2 {score['r2'].mean():.3f} "
                 f"({time.perf_counter() - start:.0f} s)")
    return pd.DataFrame(rows)


def _stats_tables(scores: pd.DataFrame) -> str:
    from sciml.metrics.stats import compare_methods

    lines = []
    for split, part in scores.groupby("split"):
        lines.append(f"\n### RM-ANOVA and Tukey HSD on R² over folds ({split} split)\n")
        lines.append("| endpoint | ANOVA F | ANOVA p | significant Tukey pairs (p < 0.05) |")
        lines.append("| --- | --- | --- | --- |")
        tukey_rows = []
        for endpoint in ENDPOINTS:
            cmp = compare_methods(part[part.endpoint == endpoint], "r2")
            tukey = cmp.tukey.copy()
            tukey.insert(0, "endpoint", endpoint)
            tukey_rows.append(tukey)
            sig = tukey[tukey["pvalue"] < 0.05]
            pairs = "; ".join(f"{r.method_a} vs {r.method_b} (p={r.pvalue:.3g})"
                              for r in sig.itertuples()) or "none"
            lines.append(f"| {endpoint} | {cmp.anova.F:.2f} | {cmp.anova.pvalue:.3g} | {pairs} |")
        lines.append("\n<details><summary>All Tukey HSD pairs</summary>\n")
        lines.append(_md(pd.concat(tukey_rows).drop(columns=["ci_low", "ci_high"]), index=False))
        lines.append("\n</details>\n")
    return "\n".join(lines)


def _boxplots(scores: pd.DataFrame) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for split, part in scores.groupby("split"):
        methods = list(dict.fromkeys(part["method"]))
        fig, axes = plt.subplots(2, 3, figsize=(15, 8), sharey=False)
        for ax, endpoint in zip(axes.flat, ENDPOINTS, strict=True):
            data = [part[(part.endpoint == endpoint) & (part.method == m)]["r2"] for m in methods]
            ax.boxplot(data)
            ax.set_xticks(range(1, len(methods) + 1), methods, rotation=60, ha="right",
                          fontsize=7)
            ax.set_title(endpoint)
            ax.set_ylabel("R² over folds")
        fig.suptitle(f"biogen_adme, {split} {scores.fold.nunique()}-fold CV")
        fig.tight_layout()
        name = f"{STEM}_{split}_r2.png"
        fig.savefig(RESULTS / name, dpi=110)
        plt.close(fig)
        files.append(name)
    return files


def _speed(args, tokenizer, workdir: Path) -> str:
    import torch

    from sciml.chem.datasets import load_dataset
    from sciml.chem.transformer import embed, pretrain

    corpus = load_dataset("chembl30_sample")["smiles"].tolist()
    lines = ["\n## Speed (CPU)\n"]
    start = time.perf_counter()
    n_pre = 2000
    pretrain(corpus, size="small", n_molecules=n_pre, tokenizer=tokenizer, epochs=1,
             batch_size=64, val_fraction=0.0, progress=False)
    seconds = time.perf_counter() - start
    lines.append(f"- `small` MLM pre-training: {n_pre} molecules, 1 epoch, "
                 f"{n_pre / seconds:.0f} molecules/s ({torch.get_num_threads()} torch thread(s)).")
    stage = pretrain([], size="small", n_molecules=0, tokenizer=tokenizer, progress=False)
    counts = [10_000] + ([100_000] if args.speed_100k else [])
    rows = []
    rng = np.random.default_rng(0)
    for threads in sorted({1, 2}):
        torch.set_num_threads(threads)
        for n in counts:
            picked = [corpus[i] for i in rng.integers(0, len(corpus), n)]
            before = _peak_rss_mb()
            start = time.perf_counter()
            for k in range(0, n, 10_000):  # the predictor's chunking: bounded memory
                embed(stage, picked[k:k + 10_000], batch_size=256, errors="nan")
            seconds = time.perf_counter() - start
            rows.append({"SMILES": n, "torch threads": threads, "seconds": round(seconds, 1),
                         "molecules/s": round(n / seconds), "peak RSS MB (process)":
                         round(_peak_rss_mb()), "RSS growth MB": round(_peak_rss_mb() - before)})
            _log(f"speed: {n} SMILES, {threads} threads: {n / seconds:.0f} mol/s")
    torch.set_num_threads(args.threads)
    lines.append("\n`small` encoder ([CLS] embeddings, tokenisation included, length-bucketed "
                 "batches of 256, fp32), randomly initialised weights (speed does not depend on "
                 "them):\n")
    lines.append(_md(pd.DataFrame(rows), index=False))
    return "\n".join(lines) + "\n"


def _score_sections(scores: pd.DataFrame) -> list[str]:
    """Mean-over-folds tables per split (R² with the study's rows, then other metrics) and
    the RM-ANOVA / Tukey tables, all from the per-fold ``scores``."""
    lines = []
    for split, part in scores.groupby("split"):
        r2 = part.pivot_table(index="method", columns="endpoint", values="r2")[ENDPOINTS]
        r2 = r2.loc[list(dict.fromkeys(part["method"]))]
        r2["mean"] = r2.mean(axis=1)
        r2.index.name = "method"
        lines.append(f"\n## Mean R² over folds, {split} split\n")
        table = r2.round(3)
        if split == "random":
            ref = REFERENCE.copy()
            ref["mean"] = ref.mean(axis=1)
            ref.index.name = "method"
            table = pd.concat([table, ref.round(3)])
        lines.append(_md(table))
        lines.append("\nRows starting with `study:` are the authors' numbers (BERT-base on a "
                     "GPU, GuacaMol pre-training), not reproduced here.\n")
        for metric in ("mae", "rmse", "pearson", "spearman"):
            m = part.pivot_table(index="method", columns="endpoint", values=metric)[ENDPOINTS]
            m = m.loc[list(dict.fromkeys(part["method"]))]
            lines.append(f"\n<details><summary>{metric.upper()} (mean over folds, {split})"
                         "</summary>\n")
            lines.append(_md(m.round(3)))
            lines.append("\n</details>\n")
    lines.append(_stats_tables(scores))
    return lines


def main(argv=None) -> None:
    args = _args(argv)
    import torch

    from sciml.chem.datasets import load_dataset
    from sciml.chem.tokenizer import SmilesTokenizer
    from sciml.encoder import ENCODER_SIZES, TransformerEncoder, count_parameters

    torch.set_num_threads(args.threads)
    wall = time.perf_counter()
    csv = RESULTS / f"{STEM}_scores.csv"
    if args.arms == "best":
        previous = pd.read_csv(csv)
        if previous["fold"].nunique() != args.folds:
            raise SystemExit(f"{csv} has {previous['fold'].nunique()} folds; the best arms "
                             f"must run on the same folds (--folds {args.folds} given)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = load_dataset("biogen_adme", drop_censored=True).reset_index(drop=True)
    corpus = load_dataset("chembl30_sample")["smiles"].tolist()
    tokenizer = SmilesTokenizer.build_vocab(corpus + data["smiles"].tolist())
    n_params = count_parameters(TransformerEncoder.from_size(args.size, tokenizer.vocab_size))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        arms, pre_timing = _pretrain_arms(args, tokenizer, workdir)
        splits = ["random", "scaffold"] if args.split == "both" else [args.split]
        scores = pd.concat([_cv(args, data, s, arms) for s in splits], ignore_index=True)
        speed = "" if args.no_speed else _speed(args, tokenizer, workdir)
    if args.arms == "best":  # merge: every table below is regenerated from the whole CSV
        scores = pd.concat([previous[~previous["method"].isin(set(scores["method"]))], scores],
                           ignore_index=True)
    scores.to_csv(csv, index=False)
    pngs = _boxplots(scores)
    minutes = (time.perf_counter() - wall) / 60

    if args.arms == "best":
        report = Path(args.output).read_text()
        end = report.find("\nFigures: ")
        start = report.find("\n## Pre-training")
        cut = report.find("\nRows ending in `+ physchem`")  # a previous --arms best note
        head = [report[:cut if cut >= 0 else report.index("\n## Mean R²")].rstrip() + "\n",
                f"\nRows ending in `+ physchem` (random forest on the [CLS] embedding "
                "concatenated with the RDKit descriptors, training-median imputed; `ensemble:` "
                "is the mean of the two named models' predictions) were added "
                f"on the same folds by `--arms best` (arguments used: `{' '.join(sys.argv[1:])}`; "
                f"{minutes:.1f} min wall, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, "
                f"load average {' / '.join(f'{v:.2f}' for v in os.getloadavg())}); "
                "the other rows, the pre-training and the speed sections come from the "
                "earlier run above.\n"]
        tail = [report[start if start >= 0 else end:end]]
    else:
        head = [f"# ADME domain adaptation (Sultan et al., 2025) at "
                f"{'full' if args.full else 'CPU'} scale\n",
                "Regenerate: `SCIML_DATA_DIR=../shared/data .venv/bin/python "
                f"benchmarks/{STEM}.py` (arguments used: "
                f"`{' '.join(sys.argv[1:]) or 'defaults'}`; {minutes:.1f} min wall).\n",
                machine_info(("numpy", "torch", "scikit-learn", "rdkit")),
                f"\nSetup: encoder `{args.size}` {ENCODER_SIZES[args.size]} "
                f"({n_params / 1e6:.2f}M parameters, vocabulary {tokenizer.vocab_size}); MLM "
                f"pre-training {args.pretrain_epochs} epochs on {args.pretrain_sizes} molecules; "
                f"MTR-DA {args.adapt_epochs} epochs on each fold's training molecules; "
                f"random-forest heads with {args.n_estimators} trees; {args.folds}-fold CV; "
                f"censored HLM/RLM dropped; {args.threads} torch thread(s). The 2-core machine "
                "was shared with other jobs while this ran (see the load average), so times "
                "are pessimistic.\n"]
        tail = []
        if len(pre_timing):
            tail += ["\n## Pre-training\n", _md(pre_timing, index=False)]
        tail.append(speed)
    out = head + _score_sections(scores)
    out += tail
    out.append("\nFigures: " + ", ".join(f"[{p}]({p})" for p in pngs) + f"; per-fold scores: "
               f"[{STEM}_scores.csv]({STEM}_scores.csv).\n")
    Path(args.output).write_text("\n".join(out) + "\n")
    _log(f"wrote {args.output} in {minutes:.1f} min")


if __name__ == "__main__":
    os.environ.setdefault("SCIML_FAST", "0")
    main()
