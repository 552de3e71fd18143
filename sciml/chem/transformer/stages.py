"""Training stages: pre-training, domain adaptation, frozen embeddings.

Every stage trains through :class:`sciml.train.Trainer` (MLM is a
:class:`~sciml.train.TokenCrossEntropy` term, descriptor MTR a
:class:`~sciml.chem.transformer.model.DescriptorRegression` term, both at once through
:class:`~sciml.train.Combined`) and saves a self-describing checkpoint: model class and
arguments, weights, fitted scalers, the tokenizer vocabulary and the stage's provenance.

Examples
--------
>>> corpus = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC"] * 8
>>> pre = pretrain(corpus, size="tiny", epochs=1, progress=False)
>>> emb = embed(pre, ["CCO", "CCCO"])
>>> emb.shape
(2, 64)
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from sciml.chem.smiles import check_errors_arg
from sciml.chem.tokenizer import SmilesTokenizer, VocabularyMismatchError, pad_ids
from sciml.chem.transformer.data import CorpusTokenDataset, SmilesTokenDataset, encode_smiles
from sciml.chem.transformer.model import DescriptorRegression, MolecularTransformer
from sciml.encoder import ENCODER_SIZES, LengthBucketBatchSampler
from sciml.train import (
    CheckpointError,
    Checkpoints,
    Combined,
    TokenCrossEntropy,
    TrainConfig,
    Trainer,
    load_checkpoint,
    rebuild_model,
    save_checkpoint,
)
from sciml.train.device import autocast, default_device, seed_everything

__all__ = [
    "PRECISIONS",
    "OBJECTIVES",
    "Stage",
    "adapt",
    "descriptor_targets",
    "embed",
    "load_stage",
    "pretrain",
    "run_batches",
    "save_stage",
    "select_corpus",
]

#: Stage objectives: masked tokens, descriptor regression, or both on one forward pass.
OBJECTIVES = ("mlm", "mtr", "both")


@dataclass
class Stage:
    """A trained model with its tokenizer and provenance (what a stage checkpoint holds).

    Attributes
    ----------
    model : MolecularTransformer
        In evaluation mode, on the CPU.
    tokenizer : SmilesTokenizer
        The vocabulary the model was trained with.
    info : dict
        Provenance: stages so far (``"stages"``, a list of dicts with stage name, objective,
        molecule count, epochs, final losses, date).
    history : pandas.DataFrame
        Per-epoch history of the last stage (empty when nothing was trained).
    path : Path or None
        Where the checkpoint was written.
    """

    model: MolecularTransformer
    tokenizer: SmilesTokenizer
    info: dict[str, Any] = field(default_factory=dict)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    path: Path | None = None


def save_stage(stage: Stage, path: str | os.PathLike) -> Path:
    """Write ``stage`` as a weights-only checkpoint (tokenizer vocabulary included)."""
    extra = {
        "tokenizer": json.dumps(stage.tokenizer.to_dict()),
        "info": json.dumps(stage.info, default=str),
    }
    stage.path = save_checkpoint(path, stage.model, extra=extra)
    return stage.path


def load_stage(path: str | os.PathLike, tokenizer: SmilesTokenizer | None = None) -> Stage:
    """Read a stage checkpoint.

    Parameters
    ----------
    path : path
        Written by :func:`save_stage` (e.g. by :func:`pretrain` or :func:`adapt`).
    tokenizer : SmilesTokenizer, optional
        The tokenizer the caller means to use. Refused unless it has the very vocabulary
        the checkpoint was trained with, because the same id would mean another token.

    Raises
    ------
    CheckpointError
        Not a molecular-transformer checkpoint, or its stored vocabulary is inconsistent.
    VocabularyMismatchError
        ``tokenizer`` differs from the checkpoint's vocabulary.
    """
    payload = load_checkpoint(path)
    extra = payload.get("extra") or {}
    if "tokenizer" not in extra:
        raise CheckpointError(
            f"{path} has no tokenizer vocabulary; it was not written by sciml.chem.transformer"
        )
    stored = SmilesTokenizer.from_dict(json.loads(extra["tokenizer"]))
    if tokenizer is not None and tokenizer.fingerprint != stored.fingerprint:
        raise VocabularyMismatchError(
            f"{path} was trained with another tokenizer vocabulary ({stored.vocab_size} tokens, "
            f"fingerprint {stored.fingerprint[:12]}) than the one given ({tokenizer.vocab_size} "
            f"tokens, fingerprint {tokenizer.fingerprint[:12]}); token ids would mean different "
            "tokens. Use the checkpoint's own tokenizer: load_stage(path).tokenizer"
        )
    model = rebuild_model(payload, expected=MolecularTransformer, source=path).eval()
    if model.hparams["encoder"]["vocab_size"] != stored.vocab_size:
        raise CheckpointError(
            f"{path}: the encoder has {model.hparams['encoder']['vocab_size']} "
            f"token embeddings but the stored vocabulary {stored.vocab_size}"
        )
    info = json.loads(extra.get("info", "{}"))
    return Stage(model=model, tokenizer=stored, info=info, path=Path(path))


def _as_stage(
    stage_or_path: Stage | str | os.PathLike, tokenizer: SmilesTokenizer | None = None
) -> Stage:
    if isinstance(stage_or_path, Stage):
        if tokenizer is not None and tokenizer.fingerprint != stage_or_path.tokenizer.fingerprint:
            raise VocabularyMismatchError("the given tokenizer differs from the model's vocabulary")
        return stage_or_path
    return load_stage(stage_or_path, tokenizer)


def select_corpus(smiles: Sequence[str], size: int | float | None, seed: int = 0) -> list[str]:
    """Pick ``size`` molecules (a count, or a fraction in ``(0, 1]``) at random."""
    smiles = list(smiles)
    if size is None:
        return smiles
    if isinstance(size, float) and 0 < size <= 1:
        n = round(size * len(smiles))
    elif float(size).is_integer() and size >= 0:
        n = int(size)
    else:
        raise ValueError(f"size must be a count >= 0 or a fraction in (0, 1], got {size!r}")
    if n > len(smiles):
        raise ValueError(f"asked for {n} molecules but the corpus holds {len(smiles)}")
    order = np.random.default_rng(seed).permutation(len(smiles))[:n]
    return [smiles[i] for i in np.sort(order)]


def descriptor_targets(
    smiles: Sequence[str], n_jobs: int | None = None
) -> tuple[np.ndarray, list[str]]:
    """RDKit descriptors ``(N, D)`` for MTR, dropping columns constant or empty here.

    Unparsable molecules get NaN rows (no MTR label). Columns without spread in these
    molecules carry no signal and could not be z-scored, so they are left out.
    """
    from sciml.chem.descriptors import compute_descriptors

    frame = compute_descriptors(smiles, errors="nan", n_jobs=n_jobs, progress=False)
    values = frame.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        spread = np.nanstd(values, axis=0) if len(values) > 1 else np.zeros(values.shape[1])
    keep = np.isfinite(spread) & (spread > 0)
    names = [c for c, k in zip(frame.columns, keep, strict=True) if k]
    return values[:, keep].astype(np.float32), names


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of: {', '.join(OBJECTIVES)}")


def _objective(objective: str, descriptor_names: Sequence[str]):
    _check_objective(objective)
    parts = []
    if objective in ("mlm", "both"):
        parts.append(TokenCrossEntropy("mlm"))
    if objective in ("mtr", "both"):
        parts.append(DescriptorRegression(descriptor_names))
    return parts[0] if len(parts) == 1 else Combined(*parts)


def _train(
    stage: Stage,
    smiles: Sequence[str],
    objective: str,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    val_fraction: float,
    seed: int,
    progress: bool,
    n_jobs: int | None,
    checkpoints: Checkpoints | None,
    run: str = "",
    precision: str = "auto",
    token_cache: str | None = None,
    epoch_size: int | None = None,
) -> tuple[MolecularTransformer, pd.DataFrame, int]:
    descriptors, names = (None, None)
    model = stage.model
    seed_everything(seed)  # new heads' initial weights: the same run twice gives the same model
    if objective in ("mtr", "both"):
        descriptors, names = descriptor_targets(smiles, n_jobs=n_jobs)
        model = model.with_heads(descriptor_names=names)
        # The z-scoring must come from this stage's molecules, even if an earlier stage
        # regressed the same descriptors on other data.
        model.descriptor_scaler.fitted.fill_(False)
    max_len = model.encoder.max_len
    if token_cache is not None and objective == "mlm":
        from sciml.chem.corpus import TokenCorpus

        corpus = TokenCorpus.cached(smiles, stage.tokenizer, token_cache, progress=progress)
        dataset = CorpusTokenDataset(corpus, stage.tokenizer, max_len)
    else:
        dataset = SmilesTokenDataset(
            smiles,
            stage.tokenizer,
            max_len,
            descriptors=descriptors,
            mlm=objective != "mtr",
            errors="skip",
        )
    if len(dataset) == 0:
        raise ValueError("no molecule of the training set could be encoded")
    order = np.random.default_rng(seed).permutation(len(dataset))
    n_val = int(round(val_fraction * len(dataset))) if len(dataset) >= 20 else 0
    train_ds = torch.utils.data.Subset(dataset, order[n_val:].tolist())
    lengths = dataset.lengths
    train = torch.utils.data.DataLoader(
        train_ds,
        collate_fn=dataset.collate,
        batch_sampler=LengthBucketBatchSampler(
            lengths[order[n_val:]], batch_size, seed=seed, epoch_size=epoch_size
        ),
    )
    val = None
    if n_val:
        val = torch.utils.data.DataLoader(
            torch.utils.data.Subset(dataset, order[:n_val].tolist()),
            collate_fn=dataset.collate,
            batch_sampler=LengthBucketBatchSampler(
                lengths[order[:n_val]], batch_size, shuffle=False
            ),
        )
    config = TrainConfig(
        max_epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=0.01,
        warmup=0.05,
        schedule="cosine",
        grad_clip=1.0,
        seed=seed,
        progress=progress,
        precision=precision,
    )
    resume = None
    if checkpoints is not None:
        config, resume = checkpoints.apply(config, run)
    trainer = Trainer(model, _objective(objective, names or ()), config)
    history = trainer.fit(train, val, resume=resume)
    return model.cpu().eval(), history, len(dataset)


def _record(
    info: dict, name: str, objective: str, n: int, epochs: int, history: pd.DataFrame, **more: Any
) -> dict:
    last = {k: float(v) for k, v in history.iloc[-1].items()} if len(history) else {}
    entry = {
        "stage": name,
        "objective": objective,
        "n_molecules": n,
        "epochs": epochs,
        "final": last,
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        **more,
    }
    return {**info, "stages": [*info.get("stages", []), entry]}


def pretrain(
    corpus_smiles: Sequence[str],
    *,
    size: str = "small",
    objective: str = "mlm",
    n_molecules: int | float | None = None,
    tokenizer: SmilesTokenizer | None = None,
    epochs: int = 5,
    batch_size: int = 128,
    lr: float = 5e-4,
    val_fraction: float = 0.02,
    seed: int = 0,
    encoder_overrides: dict[str, Any] | None = None,
    output: str | os.PathLike | None = None,
    progress: bool = True,
    n_jobs: int | None = None,
    corpus_name: str = "",
    checkpoints: Checkpoints | None = None,
    precision: str = "auto",
    vocab_smiles: Sequence[str] | None = None,
    token_cache: bool = False,
    epoch_size: int | None = None,
) -> Stage:
    """Pre-train an encoder on a SMILES corpus (stage 1).

    Parameters
    ----------
    corpus_smiles : sequence of str
        General-chemistry corpus (e.g. ``chembl30_sample`` or GuacaMol).
    size : {"tiny", "small", "base"}
        Encoder size (:data:`sciml.encoder.ENCODER_SIZES`).
    objective : {"mlm", "mtr", "both"}
        Pre-training task(s).
    n_molecules : int or float, optional
        Use this many molecules (or this fraction) of the corpus, chosen at random. ``0``
        writes a randomly initialised model (the study's "0 %" arm).
    tokenizer : SmilesTokenizer, optional
        Vocabulary; built from the selected corpus when not given.
    epochs, batch_size, lr : training length, batch size and peak learning rate.
    val_fraction : float
        Held-out share for the validation loss (early-stopping monitor and history).
    seed : int
        Seeds corpus selection, initialisation, shuffling and masking.
    encoder_overrides : dict, optional
        Replace fields of the named size (e.g. ``{"max_len": 128}``).
    output : path, optional
        Write the checkpoint here.
    progress : bool
        Progress bars.
    n_jobs : int, optional
        Processes for descriptors (MTR objectives).
    corpus_name : str
        Recorded in the provenance.
    checkpoints : Checkpoints, optional
        Write a checkpoint per epoch into its folder; with ``resume``, continue an
        interrupted run from it.
    precision : {"auto", "fp32", "bf16"}
        Training autocast (:class:`sciml.train.TrainConfig`): ``"bf16"`` roughly doubles
        throughput on CPUs with AVX-512 BF16 or AMX, with fp32 master weights.
    vocab_smiles : sequence of str, optional
        More SMILES whose tokens join the vocabulary built from the corpus (when
        ``tokenizer`` is not given). A corpus such as MOSES has no charged atoms or
        iodine; adding e.g. ``chembl30_sample`` keeps drug-like molecules encodable.
    token_cache : bool
        MLM only: read token ids from a :class:`~sciml.chem.corpus.TokenCorpus` cached on
        disk under ``corpus_name`` (built on the first run, memory-mapped after), instead
        of tokenising the corpus in memory.
    epoch_size : int, optional
        Molecules per epoch (default: the training split). On a large corpus a smaller
        epoch gives finer-grained checkpoints, validation and time-budget checks; epochs
        walk through successive shuffled passes, so ``epochs * epoch_size`` molecules are
        seen in all.

    Returns
    -------
    Stage
    """
    if size not in ENCODER_SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of: {', '.join(ENCODER_SIZES)}")
    _check_objective(objective)
    corpus = select_corpus(corpus_smiles, n_molecules, seed)
    if tokenizer is None:
        if not corpus:
            raise ValueError("an empty corpus needs an explicit tokenizer")
        tokenizer = SmilesTokenizer.build_vocab([*corpus, *(vocab_smiles or ())])
    torch.manual_seed(seed)
    encoder = {
        **ENCODER_SIZES[size],
        **(encoder_overrides or {}),
        "vocab_size": tokenizer.vocab_size,
        "pad_id": tokenizer.pad_id,
    }
    stage = Stage(MolecularTransformer(encoder), tokenizer)
    history = pd.DataFrame()
    if corpus:
        stage.model, history, n = _train(
            stage,
            corpus,
            objective,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            val_fraction=val_fraction,
            seed=seed,
            progress=progress,
            n_jobs=n_jobs,
            checkpoints=checkpoints,
            precision=precision,
            token_cache=(corpus_name or "corpus") if token_cache else None,
            epoch_size=epoch_size,
        )
    else:
        n, epochs = 0, 0
    per_epoch = epoch_size or (n - int(round(val_fraction * n)) if n >= 20 else n)
    stage.info = _record(
        {"size": size},
        "pretrain",
        objective,
        n,
        epochs,
        history,
        corpus=corpus_name,
        molecules_seen=int(per_epoch * len(history)),
        batch_size=batch_size,
        lr=lr,
        precision=precision,
    )
    stage.history = history
    stage.model.eval()
    if output is not None:
        save_stage(stage, output)
    return stage


def adapt(
    checkpoint: Stage | str | os.PathLike,
    smiles: Sequence[str],
    *,
    objective: str = "mtr",
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 1e-3,
    val_fraction: float = 0.0,
    seed: int = 0,
    output: str | os.PathLike | None = None,
    progress: bool = True,
    n_jobs: int | None = None,
    tokenizer: SmilesTokenizer | None = None,
    checkpoints: Checkpoints | None = None,
    run: str = "",
    precision: str = "auto",
) -> Stage:
    """Domain adaptation on a data set's own training molecules (stage 2).

    Parameters
    ----------
    checkpoint : Stage or path
        A pre-trained (or earlier adapted) model.
    smiles : sequence of str
        The target data set's *training* molecules (never the test fold).
    objective : {"mtr", "mlm", "both"}
        MTR regresses z-scored RDKit descriptors (scaler fitted on these molecules) from
        the pooled embedding, as in Sultan et al. (2025); MLM continues masked-token
        training; both adds the two terms.
    epochs, lr : int, float
        Length and peak learning rate. 30 epochs at 1e-3 is the recipe with which MTR-DA
        helped in ``benchmarks/results/adme_domain_adaptation.md``; the first defaults
        (5 or 20 epochs at 2e-4) made the embeddings worse there.
    batch_size, val_fraction, seed, output, progress, n_jobs, checkpoints, precision
        As in :func:`pretrain`.
    tokenizer : SmilesTokenizer, optional
        Checked against the checkpoint's vocabulary (refused when different).
    run : str
        Subfolder of ``checkpoints`` for this stage (when it is one of several runs).

    Returns
    -------
    Stage
    """
    base = _as_stage(checkpoint, tokenizer)
    _check_objective(objective)
    stage = Stage(base.model, base.tokenizer, dict(base.info))
    stage.model, stage.history, n = _train(
        stage,
        list(smiles),
        objective,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        val_fraction=val_fraction,
        seed=seed,
        progress=progress,
        n_jobs=n_jobs,
        checkpoints=checkpoints,
        run=run,
        precision=precision,
    )
    stage.info = _record(stage.info, "adapt", objective, n, epochs, stage.history)
    if output is not None:
        save_stage(stage, output)
    return stage


#: Inference precisions: ``auto`` is bf16 (fp16 without bf16) autocast on CUDA and fp32
#: elsewhere; ``bf16`` forces bf16 autocast, worth it on CPUs with AVX512-BF16 or AMX.
PRECISIONS = ("auto", "fp32", "bf16")


def _precision_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context of an inference ``precision`` (one of :data:`PRECISIONS`)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS)}")
    if precision == "auto":
        return autocast(device)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@torch.no_grad()
def run_batches(
    model: MolecularTransformer,
    ids: Sequence[np.ndarray],
    batch_size: int,
    keys: Sequence[str] = ("embedding",),
    device: str | None = None,
    pad_id: int = 0,
    train: bool = False,
    precision: str = "auto",
) -> dict[str, np.ndarray]:
    """Forward encoded rows in length-sorted batches; outputs ``(N, ...)`` float32 in input order.

    ``train=True`` keeps dropout active (MC-dropout sampling); gradients are never kept.
    ``precision`` is one of :data:`PRECISIONS`.
    """
    device = default_device(device)
    precision_context = _precision_context(device, precision)
    model = model.to(device).train(train)
    lengths = np.fromiter((len(r) for r in ids), dtype=np.int64, count=len(ids))
    out: dict[str, np.ndarray] = {}
    for batch_idx in LengthBucketBatchSampler(lengths, batch_size, shuffle=False):
        input_ids, attention_mask = pad_ids([ids[i] for i in batch_idx], pad_id)
        batch = {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}
        with precision_context:
            result = model(batch)
        for key in keys:
            value = result[key].float().cpu().numpy()
            if key not in out:
                out[key] = np.empty((len(ids), *value.shape[1:]), dtype=np.float32)
            out[key][batch_idx] = value
    return out


def embed(
    model: Stage | str | os.PathLike,
    smiles: Sequence[object],
    *,
    batch_size: int = 256,
    errors: str = "raise",
    device: str | None = None,
    precision: str = "auto",
) -> np.ndarray:
    """Frozen pooled ([CLS]) embeddings ``(N, d)``.

    Parameters
    ----------
    model : Stage or path
        A stage (or its checkpoint).
    smiles : sequence
        Molecules.
    batch_size : int
        Molecules per forward pass (length-bucketed, so padding costs little).
    errors : {"raise", "skip", "nan"}
        Rows that cannot be encoded: raise listing all, drop them, or give NaN rows.
    device : str, optional
        Defaults to :func:`sciml.train.default_device`.
    precision : {"auto", "fp32", "bf16"}
        Autocast of the forward pass (see :data:`PRECISIONS`); the output is float32.
    """
    check_errors_arg(errors)
    stage = _as_stage(model)
    smiles = list(smiles)
    ids, index, invalid = encode_smiles(
        smiles, stage.tokenizer, stage.model.encoder.max_len, errors
    )
    valid = [k for k, r in enumerate(ids) if len(r)]
    result = np.full((len(ids), stage.model.d_model), np.nan, dtype=np.float32)
    if valid:
        result[valid] = run_batches(
            stage.model,
            [ids[k] for k in valid],
            batch_size,
            device=device,
            pad_id=stage.tokenizer.pad_id,
            precision=precision,
        )["embedding"]
    return result
