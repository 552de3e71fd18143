"""The seed's domain-adapted transformer as features of the boosted trees (issue 27, item 3).

The study's "+physchem" arm done with boosting: does the pooled embedding of the MOSES
encoder, domain-adapted by multi-task regression of RDKit descriptors (MTR-DA, the seed
method of Sultan et al. 2025), add to LightGBM on the MapLight-like feature mix of the
default recipe's ``gbm_rich`` member (Morgan counts r=2 + Avalon counts + ErG + MACCS + 216
RDKit descriptors)?

Arms, on the study protocol's random folds (``biogen_adme``, censored HLM/RLM dropped,
``kfold(n, 5, seed=0)``, the folds of ``adme_best.py --parts random``):

- ``rich``: LightGBM (``GBMModel`` defaults, one booster per endpoint) on the ``gbm_rich``
  features;
- ``rich + MLM``: the same plus the frozen [CLS] embedding of the pre-trained encoder
  (``moses_mlm_small.pt``, no adaptation);
- ``rich + DA``: the same plus the embedding after MTR-DA on the training fold's molecules
  only (30 epochs at 1e-3: ``TransformerConfig`` defaults; bf16 autocast on a CPU with
  AVX512-BF16/AMX, fp32 elsewhere). The test fold's molecules are never seen by the
  adaptation.

Nothing is tuned: every setting is a default declared before this run. Per endpoint, the
corrected resampled t-test (Nadeau & Bengio 2003) of ``rich + DA`` against ``rich`` on the
five folds' R² decides the issue's goal ("beats without on at least 4 of 6 endpoints").

Each fold is stored in ``benchmarks/.cache/adme_da_features/`` as it ends (the adaptation
checkpoints its epochs there too), so a killed run resumes. Regenerate with (about 15
CPU-minutes per fold, most of it the adaptation)::

    SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/adme_da_features.py

Writes ``benchmarks/results/adme_da_features.md`` and ``adme_da_features.csv``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._machine import command_line, git_commit, load_average, machine_info  # noqa: E402
from sciml._io import atomic_write  # noqa: E402

RESULTS = ROOT / "results"
CACHE = ROOT / ".cache" / "adme_da_features"
STEM = "adme_da_features"
ENDPOINTS = ["HLM", "RLM", "MDR1_ER", "Sol", "hPPB", "rPPB"]
FOLDS = 5
ARMS = ("rich", "rich + MLM", "rich + DA")
ALPHA = 0.05


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _precision() -> str:
    """bf16 autocast where the CPU has native bf16 (AVX512-BF16 or AMX), else fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "fp32"
    return "bf16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "fp32"


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    keep = ~np.isnan(y)
    y, pred = y[keep], pred[keep]
    return 1.0 - float(((y - pred) ** 2).sum()) / float(((y - y.mean()) ** 2).sum())


def _boost(x_train, y_train, x_test, threads: int) -> np.ndarray:
    """One LightGBM per endpoint with ``GBMModel``'s default parameters and rounds."""
    import lightgbm as lgb

    from sciml.chem.models import GBMModel

    model = GBMModel(n_jobs=threads)
    params = model._params()
    pred = np.full((len(x_test), y_train.shape[1]), np.nan)
    for t in range(y_train.shape[1]):
        keep = ~np.isnan(y_train[:, t])
        booster = lgb.train(
            params,
            lgb.Dataset(x_train[keep], y_train[keep, t]),
            num_boost_round=model.config.n_estimators,
        )
        pred[:, t] = booster.predict(x_test)
    return pred


def adapted_stage(base, train_smiles: list[str], k: int, threads: int, precision: str):
    """MTR-DA of ``base`` on fold ``k``'s training molecules, checkpointed in the cache.

    A finished adaptation is read back from its checkpoints without training again.
    """
    from sciml.chem.models.transformer import TransformerConfig
    from sciml.chem.transformer import adapt
    from sciml.train import Checkpoints

    cfg = TransformerConfig()
    plan_dir = CACHE / f"fold{k}_adapt"
    return adapt(
        base,
        train_smiles,
        objective="mtr",
        epochs=cfg.adapt_epochs,
        lr=cfg.adapt_lr,
        batch_size=cfg.batch_size,
        seed=0,
        progress=False,
        n_jobs=threads,
        checkpoints=Checkpoints(plan_dir, resume=plan_dir.is_dir()),
        precision=precision,
    )


def run_fold(data: pd.DataFrame, k: int, threads: int, rich: np.ndarray) -> dict:
    from sciml.chem.models.transformer import TransformerConfig, resolve_pretrained
    from sciml.chem.splits import kfold
    from sciml.chem.transformer import embed, load_stage

    done = CACHE / f"fold{k}.json"
    if done.is_file():
        _log(f"fold {k}: stored")
        return json.loads(done.read_text())
    train, test = kfold(len(data), FOLDS, seed=0)[k]
    smiles = data["smiles"].tolist()
    y = data[ENDPOINTS].to_numpy(float)
    cfg = TransformerConfig()
    precision = _precision()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    base = load_stage(resolve_pretrained(cfg.pretrained))
    mlm = embed(base, smiles, errors="nan", precision=precision)
    stage = adapted_stage(base, [smiles[i] for i in train], k, threads, precision)
    adapt_cpu = time.process_time() - cpu0
    da = embed(stage, smiles, errors="nan", precision=precision)
    features = {
        "rich": rich,
        "rich + MLM": np.hstack([rich, mlm]),
        "rich + DA": np.hstack([rich, da]),
    }
    out = {"fold": k, "n_train": len(train), "n_test": len(test), "r2": {}, "n": {}}
    out["trees_cpu_s"] = {}
    for arm, x in features.items():
        start = time.process_time()
        pred = _boost(x[train], y[train], x[test], threads)
        out["trees_cpu_s"][arm] = time.process_time() - start
        out["r2"][arm] = {e: _r2(y[test, j], pred[:, j]) for j, e in enumerate(ENDPOINTS)}
    out["n"] = {e: int((~np.isnan(y[test, j])).sum()) for j, e in enumerate(ENDPOINTS)}
    out.update(
        precision=precision,
        adapt_cpu_s=adapt_cpu,
        cpu_s=time.process_time() - cpu0,
        wall_s=time.perf_counter() - wall0,
        command=command_line(),
        git=git_commit(),
        load_at_end=load_average(),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    with atomic_write(done, "w") as handle:
        json.dump(out, handle)
    _log(f"fold {k}: {out['cpu_s']:.0f} CPU-s ({adapt_cpu:.0f} adaptation); {out['r2']}")
    return out


def endpoint_table(frame: pd.DataFrame, rows, label: str) -> list[str]:
    """Markdown rows of ``frame`` (index: ``rows``; columns: the endpoints) with their mean."""
    lines = [
        f"| {label} | " + " | ".join(ENDPOINTS) + " | mean |",
        "|---" * (len(ENDPOINTS) + 2) + "|",
    ]
    for name in rows:
        row = frame.loc[name, ENDPOINTS]
        lines.append(
            f"| {name} | " + " | ".join(f"{v:.3f}" for v in row) + f" | **{row.mean():.3f}** |"
        )
    return lines


def _table(folds: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"fold": f["fold"], "arm": arm, "endpoint": e, "r2": r, "n": f["n"][e]}
            for f in folds
            for arm, scores in f["r2"].items()
            for e, r in scores.items()
        ]
    )


def goal_rows(table: pd.DataFrame) -> tuple[list[dict], str]:
    """Per endpoint, the corrected resampled t-test of ``rich + DA`` against ``rich``, and the
    one-line verdict on issue 27's goal (``table``: the rows of :func:`_table`, or the CSV)."""
    from sciml.metrics.stats import corrected_resampled_ttest

    n_folds = int(table["fold"].nunique())
    mean = table.groupby(["arm", "endpoint"])["r2"].mean().unstack()[ENDPOINTS]
    rows = []
    for e in ENDPOINTS:
        sub = table[table.endpoint == e]
        a = sub[sub.arm == "rich + DA"].sort_values("fold")
        b = sub[sub.arm == "rich"].sort_values("fold")
        n_test = a["n"].to_numpy(float)
        ratio = float(np.mean(n_test / (n_test.sum() - n_test)))
        res = corrected_resampled_ttest(a["r2"].to_numpy(), b["r2"].to_numpy(), ratio)
        better = bool(res.mean_diff > 0 and res.pvalue < ALPHA)
        rows.append(
            {
                "endpoint": e,
                "diff": res.mean_diff,
                "t": res.statistic,
                "p": res.pvalue,
                "better": better,
            }
        )
    wins = sum(r["better"] for r in rows)
    n_up = int((mean.loc["rich + DA"] > mean.loc["rich"]).sum())
    part = "" if n_folds == FOLDS else f"; {n_folds} of {FOLDS} folds run, undecided"
    verdict = (
        f"**{wins} of 6** endpoints better by the corrected t-test (higher mean R² on {n_up} "
        f"of 6); mean R² over endpoints rich {mean.loc['rich'].mean():.3f}, rich + MLM "
        f"{mean.loc['rich + MLM'].mean():.3f}, rich + DA {mean.loc['rich + DA'].mean():.3f}" + part
    )
    return rows, verdict


def report(folds: list[dict], command: str) -> str:
    table = _table(folds)
    mean = table.groupby(["arm", "endpoint"])["r2"].mean().unstack()[ENDPOINTS]
    lines = [
        "# The domain-adapted transformer as boosted-tree features (issue 27)",
        "",
        machine_info(("numpy", "lightgbm", "torch", "rdkit"), command=command),
        "",
        "LightGBM (`GBMModel` defaults, one booster per endpoint) on the `gbm_rich` features "
        "of the default recipe, alone and with the [CLS] embedding of the MOSES encoder "
        "added: frozen (`rich + MLM`) or after MTR domain adaptation on the training fold's "
        "molecules (`rich + DA`, 30 epochs at 1e-3). Study protocol random folds "
        f"(`kfold(n, 5, seed=0)`); {len(folds)} of {FOLDS} folds run. Nothing was tuned.",
        "",
        f"## Mean R² over {len(folds)} test fold(s)",
        "",
        *endpoint_table(mean, ARMS, "arm"),
    ]
    if len(folds) >= 2:
        rows, verdict = goal_rows(table)
        lines += [
            "",
            "## rich + DA against rich, per endpoint (corrected resampled t-test on the folds' R²)",
            "",
            "| endpoint | mean difference | t | p | better at p < 0.05 |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['endpoint']} | {r['diff']:+.3f} | {r['t']:.2f} | {r['p']:.3f} | "
            f"{'yes' if r['better'] else 'no'} |"
            for r in rows
        ]
        wins = sum(r["better"] for r in rows)
        lines += [
            "",
            "Goal (issue 27): the recipe with transformer features beats the one without on "
            f"at least 4 of 6 endpoints by the corrected t-test: {verdict} "
            f"({'met' if wins >= 4 and len(folds) == FOLDS else 'not met' if len(folds) == FOLDS else 'undecided'}).",
        ]
        m = mean.mean(axis=1)
        lines += [
            "",
            f"Reading: adding the frozen MLM embedding changes the trees' mean R² by "
            f"{m['rich + MLM'] - m['rich']:+.3f}, the domain-adapted one by "
            f"{m['rich + DA'] - m['rich']:+.3f}; domain adaptation "
            + (
                "makes the embedding more useful than the frozen one"
                if m["rich + DA"] > m["rich + MLM"]
                else "does not make the embedding more useful than the frozen one"
            )
            + (
                ", and the trees are better with it: the seed's transformer earns its place "
                "as a feature."
                if m["rich + DA"] > m["rich"]
                else ", but the trees are better without it: the seed's transformer stays out "
                "of the default recipe (its contribution is measured here and in "
                "`adme_domain_adaptation.md`, where averaged with a forest it added to the "
                "forest)."
            ),
        ]
    cpu = [f["cpu_s"] for f in folds]
    adapt_cpu = [f["adapt_cpu_s"] for f in folds]
    lines += [
        "",
        f"Cost per fold: {np.mean(cpu):.0f} CPU-s, of which {np.mean(adapt_cpu):.0f} the "
        f"domain adaptation ({folds[0]['precision']} autocast); the six boosters of the "
        f"`rich` arm alone take {np.mean([f['trees_cpu_s']['rich'] for f in folds]):.0f} "
        "CPU-s.",
        "",
        "## Runs",
        "",
        "| fold | command | git commit | finished | CPU s | wall s | load at the end |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {f['fold']} | `{f['command']}` | {f['git']} | {f['date']} | {f['cpu_s']:.0f} | "
        f"{f['wall_s']:.0f} | {f['load_at_end']} |"
        for f in folds
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default="0,1,2,3,4", help="folds to run (comma-separated)")
    parser.add_argument("--threads", type=int, default=1, help="threads for torch and LightGBM")
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild the report from the stored folds"
    )
    args = parser.parse_args(argv)
    folds_wanted = [int(f) for f in args.folds.split(",")]
    if any(not 0 <= f < FOLDS for f in folds_wanted):
        parser.error(f"--folds must be in 0..{FOLDS - 1}")
    import torch

    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        from sciml.chem.datasets import load_dataset
        from sciml.chem.models import GBMModel
        from sciml.chem.models.stack import BEST_MEMBERS

        data = load_dataset("biogen_adme", drop_censored=True).reset_index(drop=True)
        rich_cfg = dict(BEST_MEMBERS["gbm_rich"][1])
        gbm = GBMModel(n_jobs=args.threads, **rich_cfg)
        rich = gbm._features(data["smiles"].tolist())
        _log(f"gbm_rich features {rich.shape} ({rich_cfg})")
        for k in folds_wanted:
            run_fold(data, k, args.threads, rich)
    folds = [json.loads(p.read_text()) for p in sorted(CACHE.glob("fold*.json"))]
    if not folds:
        sys.exit("no stored folds: run without --report-only first")
    command = (
        "python benchmarks/adme_da_features.py --report-only (folds from the runs below)"
        if args.report_only
        else command_line()
    )
    text = report(folds, command)
    with atomic_write(RESULTS / f"{STEM}.md", "w") as handle:
        handle.write(text)
    with atomic_write(RESULTS / f"{STEM}.csv", "w") as handle:
        _table(folds).to_csv(handle, index=False, float_format="%.5g")
    print(text)


if __name__ == "__main__":
    main()
