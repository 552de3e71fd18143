"""A fine-tuning recipe that makes the Regression Transformer a regressor of a user property.

:func:`fine_tune` turns a pre-trained RT (by default the shipped SELFIES QED + logP model,
``sciml/assets/rt_qed_logp.pt``) into a :class:`FineTunedRT`: an ensemble of RTs that predict
one property, each read with test-time augmentation. The recipe
(:class:`FineTuneRecipe`):

1. **Target scaling into the digit-token range.** The property is mapped affinely onto
   ``[0, 1]`` (training range widened by ``margin`` on both sides) and written with
   ``decimals`` digits, the notation of the pre-trained QED block: every digit slot the
   fine-tuned model fills is one the QED model learned, and the scale is undone at
   prediction (users see physical units).
2. **Predict-only objective.** ``objective="property"`` masks and trains only the value
   tokens (:class:`~sciml.rt.RTConfig`), not the generation objective.
3. **SMILES enumeration.** Each training molecule is written ``augment`` more times from
   randomised SMILES (RDKit ``MolToRandomSmilesVect``, seeded), each turned into the
   model's language (SELFIES for the shipped model): :func:`randomized_smiles`.
4. **Test-time augmentation.** A prediction is the mean of the values decoded from ``tta``
   encodings of the molecule: the canonical one and ``tta - 1`` randomised ones.
5. **Validation choices, an ensemble.** A validation part (``val_fraction`` of the training
   molecules, or the ``val_smiles`` given) picks each model's best epoch, and one model
   per learning rate in ``lrs`` picks the learning rate; ``n_models - 1`` further seeds at
   that rate make the ensemble, whose mean is the prediction and whose spread is
   ``<name>_std``. The test molecules are never seen.

The budget is in epochs (``epochs`` x ``(augment + 1)`` passes over the training molecules
per model). With ``checkpoint_dir`` every finished model is saved there and an unfinished
one keeps its ``last.pt``, so calling :func:`fine_tune` again with the same arguments
resumes where a killed run stopped.

Examples
--------
>>> from sciml.rt.finetune import FineTuneRecipe, fine_tune          # doctest: +SKIP
>>> from sciml.rt import RegressionTransformer                        # doctest: +SKIP
>>> base = RegressionTransformer.load("sciml/assets/rt_qed_logp.pt")  # doctest: +SKIP
>>> model = fine_tune(smiles, y, "logs", init_from=base)             # doctest: +SKIP
>>> model.predict(["CCO"])                                           # doctest: +SKIP

The benchmark against RF and GBM on ESOL and Biogen solubility is
``benchmarks/rt_finetune.py`` (``benchmarks/results/rt_finetune.md``).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sciml.chem.smiles import randomized_smiles

if TYPE_CHECKING:
    import pandas as pd

    from sciml.chem.smiles import Errors

__all__ = [
    "FineTuneRecipe",
    "FineTunedRT",
    "context_values",
    "fine_tune",
    "fine_tune_select",
    "fits",
    "randomized_smiles",
]

_FORMAT = "sciml.rt.FineTunedRT"
_META = "finetune.json"
#: Properties a recipe may give as context: those of :data:`sciml.rt.generation.RDKIT_PROPERTIES`
#: (named here so that reading a recipe does not import torch; a test checks they agree).
_CONTEXT_PROPERTIES = ("logp", "qed", "tpsa")


#: The shipped RT that :func:`fine_tune` starts from by default: the SELFIES QED + logP model.
#: Chosen by validation RMSE (session 5: on the validation molecules of ESOL and Biogen
#: solubility its fine-tuned ensembles beat those started from the QED model, 0.903 vs 0.917
#: and 0.599 vs 0.608; ``benchmarks/results/rt_finetune_qed_logp.md`` and ``rt_finetune.md``).
DEFAULT_START = "rt_qed_logp.pt"


@dataclass(frozen=True)
class FineTuneRecipe:
    """Settings of :func:`fine_tune` (see the module docstring for what each step does).

    Attributes
    ----------
    epochs : int
        Epochs per model (each epoch sees every training molecule ``augment + 1`` times);
        the best epoch on validation is kept.
    lrs : tuple of float
        Peak learning rates tried (one model each, seed ``seed``); the best on validation
        is used for the other ensemble members.
    n_models : int
        Models in the ensemble (all at the chosen learning rate).
    batch_size : int
        Sequences per batch.
    augment : int
        Randomised SMILES per training molecule added to its canonical one (0: none).
    tta : int
        Encodings averaged per predicted molecule (1: the canonical one only).
    objective : {"property", "alternate"}
        ``"property"``: train the value tokens only; ``"alternate"``: keep alternating
        with the generation objective (:class:`~sciml.rt.RTConfig`).
    dropout : float
        Encoder dropout during fine-tuning.
    margin : float
        The ``[0, 1]`` scale spans the training range widened by this fraction of it on
        each side, so that test values a little beyond it stay representable.
    decimals : int
        Digits after the decimal point of the scaled value.
    val_fraction : float
        Share of the training molecules held out for validation when no ``val_smiles``
        are given.
    warmup : float
        Fraction of the steps with a linearly rising learning rate.
    precision : {"auto", "fp32", "bf16"}
        Training autocast (:class:`~sciml.train.TrainConfig`).
    seed : int
        Seeds the validation split, the enumeration and the first model (model ``i`` of the
        ensemble uses ``seed + i``).
    context : tuple of str
        RDKit properties (names of :data:`sciml.rt.generation.RDKIT_PROPERTIES`: ``"qed"``,
        ``"logp"``, ``"tpsa"``) computed for every molecule and written, visible, into its
        property block next to the masked target, in training and at prediction
        (:class:`~sciml.rt.RTConfig` ``context``): the RT predicts the property *given*
        them, as a multi-property RT is primed. Empty: the molecule alone.
    """

    epochs: int = 20
    lrs: tuple[float, ...] = (2e-3,)
    n_models: int = 3
    batch_size: int = 32
    augment: int = 4
    tta: int = 8
    objective: str = "property"
    dropout: float = 0.0
    margin: float = 0.05
    decimals: int = 3
    val_fraction: float = 0.1
    warmup: float = 0.1
    precision: str = "auto"
    seed: int = 0
    context: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.n_models < 1 or self.batch_size < 1:
            raise ValueError("epochs, n_models and batch_size must be at least 1")
        if not self.lrs or any(lr <= 0 for lr in self.lrs):
            raise ValueError(f"lrs must hold positive learning rates, got {self.lrs}")
        if self.augment < 0 or self.tta < 1:
            raise ValueError(f"augment must be >= 0 and tta >= 1, got {self.augment}, {self.tta}")
        if self.objective not in ("property", "alternate"):
            raise ValueError(f"objective must be 'property' or 'alternate', got {self.objective!r}")
        if not 0 <= self.margin < 1 or not 0 < self.val_fraction < 1:
            raise ValueError("margin must be in [0, 1) and val_fraction in (0, 1)")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        unknown = [c for c in self.context if c not in _CONTEXT_PROPERTIES]
        if unknown:
            raise ValueError(
                f"context properties {unknown} are not RDKit properties; known: "
                f"{sorted(_CONTEXT_PROPERTIES)}"
            )

    def to_dict(self) -> dict:
        out = asdict(self)
        out["lrs"] = list(self.lrs)
        out["context"] = list(self.context)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> FineTuneRecipe:
        data = dict(data)
        data["lrs"] = tuple(data.get("lrs", (2e-3,)))
        data["context"] = tuple(data.get("context", ()))
        return cls(**data)


def context_values(canonical: Sequence[str], names: Sequence[str]) -> list[dict[str, float]]:
    """RDKit values of the context properties ``names`` of each molecule (one dict per row)."""
    from sciml.rt.generation import true_property

    columns = {name: true_property(name, list(canonical)) for name in names}
    return [{name: float(columns[name][i]) for name in names} for i in range(len(canonical))]


def _context_specs(canonical: Sequence[str], names: Sequence[str], margin: float) -> list:
    """Number formats of the context properties: QED as the pre-trained block, others inferred."""
    from sciml.rt.numbers import PropertySpec

    specs = []
    for name in names:
        if name == "qed":
            specs.append(PropertySpec("qed", 0.0, 1.0, 3))
            continue
        from sciml.rt.generation import true_property

        v = true_property(name, list(canonical))
        v = v[np.isfinite(v)]
        pad = margin * float(v.max() - v.min()) + 1.0
        specs.append(
            PropertySpec(name, float(math.floor(v.min() - pad)), float(math.ceil(v.max() + pad)), 2)
        )
    return specs


def _clean_targets(
    smiles: Sequence[str], y, name: str, errors: Errors, what: str
) -> tuple[list[str], np.ndarray]:
    """Canonical SMILES and finite float targets; bad rows raise or are dropped (``errors``)."""
    import pandas as pd

    from sciml.chem.smiles import InvalidSmilesError, canonicalize_batch, check_errors_arg

    check_errors_arg(errors)
    smiles = list(smiles)
    values = np.asarray(y[name] if isinstance(y, pd.DataFrame) else y, dtype=float).reshape(-1)
    if len(values) != len(smiles):
        raise ValueError(f"{what}: {len(smiles)} SMILES but {len(values)} target values")
    batch = canonicalize_batch(smiles, errors="nan")
    if batch.invalid and errors == "raise":
        raise InvalidSmilesError(batch.invalid, total=len(smiles))
    bad_y = np.flatnonzero(~np.isfinite(values))
    if len(bad_y) and errors == "raise":
        listed = ", ".join(f"[{i}] {smiles[i]!r}" for i in bad_y[:20])
        raise ValueError(
            f"{what}: {len(bad_y)} rows have a missing or non-finite {name!r} value "
            f"({listed}); drop them with errors='skip'"
        )
    keep = [i for i, c in enumerate(batch.values) if c is not None and np.isfinite(values[i])]
    if not keep:
        raise ValueError(f"{what}: no molecule with a valid SMILES and a finite {name!r} value")
    return [batch.values[i] for i in keep], values[keep]


@dataclass
class FineTunedRT:
    """An ensemble of fine-tuned RTs predicting one property with test-time augmentation.

    Made by :func:`fine_tune`; :meth:`save` / :meth:`load` a folder (``finetune.json`` plus
    one weights-only RT checkpoint per member).

    Attributes
    ----------
    name : str
        The property.
    members : list of RegressionTransformer
        The ensemble; each predicts the property scaled onto ``[0, 1]``.
    low, high : float
        The scale: ``value = low + scaled * (high - low)``.
    recipe : FineTuneRecipe
        How it was made (its ``tta`` is the default of :meth:`predict`).
    selection : dict
        What the validation molecules chose (learning rate, best epochs, validation RMSE).
    """

    name: str
    members: list
    low: float
    high: float
    recipe: FineTuneRecipe
    selection: dict = field(default_factory=dict)

    def unscale(self, scaled: np.ndarray) -> np.ndarray:
        return self.low + np.asarray(scaled, dtype=float) * (self.high - self.low)

    def predict_variants(
        self, smiles: Sequence[str], *, tta: int | None = None, seed: int = 0
    ) -> np.ndarray:
        """Every member's value for every encoding of every molecule, in physical units.

        Parameters
        ----------
        smiles : sequence of str
            Valid SMILES (see :meth:`predict` for invalid ones). The randomised encodings
            are drawn from the molecule as written here (RDKit's random atom orders start
            from its atom order); :meth:`predict` passes canonical SMILES, so its encodings
            do not depend on how a molecule was written.
        tta : int, optional
            Encodings per molecule (default: the recipe's).
        seed : int
            Seed of the randomised encodings.

        Returns
        -------
        numpy.ndarray
            ``(n_models, N, tta)``; NaN where a member cannot read an encoding (too long,
            or a SELFIES token outside its vocabulary).
        """
        k = self.recipe.tta if tta is None else int(tta)
        variants = randomized_smiles(smiles, k, seed=seed)
        flat = [s for row in variants for s in row]
        primers = None
        if self.recipe.context:
            known = context_values([row[0] for row in variants], self.recipe.context)
            primers = [row for row in known for _ in range(k)]
        out = np.full((len(self.members), len(variants), k), np.nan)
        for m, member in enumerate(self.members):
            with warnings.catch_warnings():  # context values beyond the trained range: clipped
                warnings.simplefilter("ignore")
                scaled = member.score(flat, canonicalize=False, primers=primers)[:, 0]
            out[m] = self.unscale(scaled).reshape(len(variants), k)
        return out

    def predict(
        self,
        smiles: Sequence[str],
        *,
        errors: Errors = "raise",
        tta: int | None = None,
        seed: int = 0,
    ) -> pd.DataFrame:
        """Predict the property: mean over members of each member's mean over encodings.

        Parameters
        ----------
        smiles : sequence of str
            Molecules.
        errors : {"raise", "skip", "nan"}
            Invalid SMILES, or ones no member can read: raise
            :class:`~sciml.chem.InvalidSmilesError` naming them, drop their rows, or keep
            NaN rows.
        tta : int, optional
            Encodings averaged per molecule (default: the recipe's; 1 = canonical only).
        seed : int
            Seed of the randomised encodings.

        Returns
        -------
        pandas.DataFrame
            Columns ``smiles`` (as given), ``<name>`` and ``<name>_std`` (spread of the
            members' values: an uncertainty), one row per input (``errors="skip"``: per
            valid input).
        """
        import pandas as pd

        from sciml.chem.smiles import InvalidSmilesError, check_errors_arg

        check_errors_arg(errors)
        smiles = list(smiles)
        # The first member's encode names invalid molecules and out-of-vocabulary tokens.
        encoded = self.members[0].encode(smiles, errors="nan")
        if encoded.invalid and errors == "raise":
            raise InvalidSmilesError(encoded.invalid, total=len(smiles))
        ok = [i for i, c in enumerate(encoded.canonical) if c is not None]
        value = np.full(len(smiles), np.nan)
        spread = np.full(len(smiles), np.nan)
        if ok:
            per = self.predict_variants([encoded.canonical[i] for i in ok], tta=tta, seed=seed)
            member_means = np.nanmean(per, axis=2)  # (M, n): canonical always readable
            value[ok] = member_means.mean(axis=0)
            spread[ok] = member_means.std(axis=0)
        frame = pd.DataFrame({"smiles": smiles, self.name: value, f"{self.name}_std": spread})
        if errors == "skip":
            frame = frame.loc[ok]
        frame.attrs["invalid"] = encoded.invalid
        return frame

    # ---------------------------------------------------------- persistence
    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``finetune.json`` and ``member_<i>.pt`` (weights only) into ``directory``."""
        from sciml._io import atomic_write

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = []
        for i, member in enumerate(self.members):
            member.save(directory / f"member_{i}.pt")
            files.append(f"member_{i}.pt")
        meta = {
            "format": _FORMAT,
            "name": self.name,
            "low": self.low,
            "high": self.high,
            "recipe": self.recipe.to_dict(),
            "selection": self.selection,
            "members": files,
        }
        with atomic_write(directory / _META) as handle:
            handle.write(json.dumps(meta, indent=1, default=float))
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> FineTunedRT:
        """Rebuild a saved :class:`FineTunedRT` (each member with ``weights_only=True``)."""
        from sciml.rt.predictor import RegressionTransformer

        directory = Path(directory)
        meta_path = directory / _META
        if not meta_path.is_file():
            raise FileNotFoundError(f"{directory} holds no {_META}: not a fine-tuned RT folder")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{meta_path} is not a saved FineTunedRT")
        members = [RegressionTransformer.load(directory / f) for f in meta["members"]]
        return cls(
            meta["name"],
            members,
            float(meta["low"]),
            float(meta["high"]),
            FineTuneRecipe.from_dict(meta["recipe"]),
            meta.get("selection", {}),
        )

    @staticmethod
    def is_saved(path: str | os.PathLike) -> bool:
        """Whether ``path`` is a folder written by :meth:`save`."""
        return (Path(path) / _META).is_file()


def _augmented(
    canon: list[str], language, limit: int, recipe: FineTuneRecipe, seed: int
) -> tuple[list[str], np.ndarray]:
    """Training SMILES (canonical + randomised) and the row of ``canon`` each comes from.

    Randomised encodings longer than ``limit`` tokens in the model's language are left out
    (a canonical one too long follows ``errors`` in :meth:`RegressionTransformer.fit`).
    """
    from sciml.chem.tokenizer import tokenize_smiles

    texts, source = [], []
    for i, row in enumerate(randomized_smiles(canon, recipe.augment + 1, seed)):
        for j, smi in enumerate(dict.fromkeys(row)):
            if j and len(tokenize_smiles(language.encode(smi))) > limit:
                continue
            texts.append(smi)
            source.append(i)
    return texts, np.asarray(source, dtype=int)


def fine_tune(
    smiles: Sequence[str],
    y,
    name: str,
    *,
    init_from=None,
    recipe: FineTuneRecipe = FineTuneRecipe(),
    val_smiles: Sequence[str] | None = None,
    val_y=None,
    checkpoint_dir: str | os.PathLike | None = None,
    errors: Errors = "raise",
    log: Callable[[str], None] | None = None,
) -> FineTunedRT:
    """Fine-tune an RT on one property with the recipe of this module.

    Parameters
    ----------
    smiles : sequence of str
        Training molecules.
    y : array-like ``(N,)`` or DataFrame with a column ``name``
        Property values in physical units.
    name : str
        The property's name (the prediction column).
    init_from : RegressionTransformer, optional
        The pre-trained RT whose weights, vocabulary (grown by the new tokens) and language
        are the start; default: :data:`DEFAULT_START`, the shipped SELFIES QED + logP model
        (``sciml/assets/rt_qed_logp.pt``). Pass ``False`` to start from random weights (a
        tiny SELFIES RT of the shipped model's shape).
    recipe : FineTuneRecipe
        Epochs, learning rates, ensemble size, augmentation, ...
    val_smiles, val_y : optional
        Validation molecules (best epoch, learning rate); default: ``recipe.val_fraction``
        of the training molecules, drawn with ``recipe.seed``.
    checkpoint_dir : path, optional
        Where each finished model and each unfinished model's ``last.pt`` go; calling
        again with the same arguments resumes (finished models are read back, not
        retrained).
    errors : {"raise", "skip", "nan"}
        Invalid SMILES or missing (NaN, infinite) targets, in training or validation data:
        raise naming the rows, or drop them ("skip" and "nan" both drop).
    log : callable, optional
        Receives one line per trained model.

    Returns
    -------
    FineTunedRT
        The ensemble; ``selection`` records the validation RMSE per learning rate, the
        best epoch per model and the CPU seconds spent.
    """
    log = log or (lambda _line: None)
    if name in recipe.context:
        raise ValueError(f"the target {name!r} cannot also be a context property")
    canon, values = _clean_targets(smiles, y, name, errors, "training data")
    if val_smiles is None:
        (canon, values), (val_canon, val_values) = _hold_out(canon, values, recipe)
    else:
        val_canon, val_values = _clean_targets(val_smiles, val_y, name, errors, "validation data")
    if init_from is None:
        from sciml import asset_path
        from sciml.rt.predictor import RegressionTransformer

        init_from = RegressionTransformer.load(asset_path(DEFAULT_START))
    run = _Run(name, recipe, init_from or None, canon, values, val_canon, val_values, errors)
    run.folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if run.folder is not None:
        run.folder.mkdir(parents=True, exist_ok=True)
    trials = []
    for lr in recipe.lrs:
        rt, record = run.train(lr, recipe.seed)
        record["val_rmse"] = run.val_rmse([rt])
        trials.append((record["val_rmse"], lr, rt, record))
        log(f"lr {lr:g} seed {recipe.seed}: validation RMSE {record['val_rmse']:.4f}")
    _, best_lr, first, first_record = min(trials, key=lambda t: t[0])
    members, records = [first], [first_record]
    for i in range(1, recipe.n_models):
        rt, record = run.train(best_lr, recipe.seed + i)
        members.append(rt)
        records.append(record)
        log(f"lr {best_lr:g} seed {recipe.seed + i}: trained ({record['cpu_seconds']:.0f} CPU-s)")
    others = [t[3] for t in trials if t[1] != best_lr]
    selection = {
        "lr_val_rmse": {f"{lr:g}": rec["val_rmse"] for _, lr, _, rec in trials},
        "lr": best_lr,
        "models": records + others,
        "val_rmse_ensemble": run.val_rmse(members),
        "n_train": len(canon),
        "n_val": len(val_canon),
        "cpu_seconds": float(sum(r["cpu_seconds"] for r in records + others)),
    }
    log(f"ensemble of {len(members)}: validation RMSE {selection['val_rmse_ensemble']:.4f}")
    return FineTunedRT(name, members, run.low, run.high, recipe, selection)


def _hold_out(canon: list[str], values: np.ndarray, recipe: FineTuneRecipe):
    """``(train_canon, train_values), (val_canon, val_values)``: ``recipe.val_fraction`` held out."""
    order = np.random.default_rng(recipe.seed).permutation(len(canon))
    n_val = max(1, int(round(recipe.val_fraction * len(canon))))
    if len(canon) - n_val < 2:
        raise ValueError(f"{len(canon)} training molecules are too few to hold out validation")
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    return (
        ([canon[i] for i in train_idx], values[train_idx]),
        ([canon[i] for i in val_idx], values[val_idx]),
    )


def _config(base, recipe: FineTuneRecipe):
    """The :class:`~sciml.rt.RTConfig` of the fine-tuned models (``base``'s, or a tiny SELFIES RT)."""
    from sciml.rt.predictor import RTConfig

    if base is not None:
        overrides = {**dict(base.config.encoder_overrides), "dropout": recipe.dropout}
        return replace(
            base.config,
            objective=recipe.objective,
            encoder_overrides=overrides,
            context=tuple(recipe.context),
        )
    shape = {"d_model": 128, "n_layers": 4, "n_heads": 4, "d_ff": 512, "max_len": 128}
    return RTConfig(
        size="tiny",
        encoder_overrides={**shape, "dropout": recipe.dropout},
        language="selfies",
        objective=recipe.objective,
        context=tuple(recipe.context),
    )


class _Run:
    """What the models of one :func:`fine_tune` call share: data, scale, specs and config."""

    def __init__(self, name, recipe, base, canon, values, val_canon, val_values, errors):
        from sciml.rt.language import resolve_language
        from sciml.rt.numbers import NumberTokenizer, PropertySpec

        self.name, self.recipe, self.base, self.errors = name, recipe, base, errors
        self.canon, self.val_canon, self.val_values = canon, val_canon, val_values
        self.folder: Path | None = None
        span = float(values.max() - values.min()) or 1.0
        self.low = float(values.min() - recipe.margin * span)
        self.high = float(values.max() + recipe.margin * span)
        # The target first: its block sits where the pre-trained model's QED block was.
        self.specs = [PropertySpec(name, 0.0, 1.0, recipe.decimals)]
        self.specs += _context_specs(canon, recipe.context, recipe.margin)
        self.config = _config(base, recipe)
        self.language = resolve_language(self.config.language)
        max_len = self.config.encoder_overrides.get("max_len") or base.net.encoder.max_len
        self.limit = int(max_len) - 2 - NumberTokenizer(self.specs).block_length
        self.train_frame = self.frame(canon, values)
        self.val_frame = self.frame(val_canon, val_values)

    def frame(self, rows: list[str], targets: np.ndarray) -> pd.DataFrame:
        """Scaled targets and the context properties' RDKit values of ``rows``."""
        import pandas as pd

        scaled = np.clip((targets - self.low) / (self.high - self.low), 0.0, 1.0)
        columns = {self.name: scaled}
        known = context_values(rows, self.recipe.context)
        for c in self.recipe.context:
            columns[c] = [k[c] for k in known]
        return pd.DataFrame(columns)

    def train(self, lr: float, seed: int):
        """One model (read back when ``folder`` holds it finished) and its record."""
        from sciml.rt.predictor import RegressionTransformer

        tag = f"lr{lr:g}_seed{seed}"
        folder = self.folder
        if folder is not None and (folder / f"{tag}.pt").is_file():
            if (folder / f"{tag}.json").is_file():
                record = json.loads((folder / f"{tag}.json").read_text())
                return RegressionTransformer.load(folder / f"{tag}.pt"), record
        texts, source = _augmented(self.canon, self.language, self.limit, self.recipe, seed)
        run_dir = folder / f"{tag}.checkpoints" if folder is not None else None
        last = run_dir / "last.pt" if run_dir is not None else None
        cpu0 = time.process_time()
        rt = RegressionTransformer(self.specs, self.config).fit(
            texts,
            self.train_frame.iloc[source].reset_index(drop=True),
            val_smiles=self.val_canon,
            val_y=self.val_frame,
            train_config=self._train_config(lr, seed, run_dir),
            init_from=self.base,
            canonical=True,
            errors=self.errors,
            resume=last if last is not None and last.is_file() else None,
        )
        history = rt.history
        best = int(history["val_rmse"].idxmin()) if "val_rmse" in history else None
        record = {
            "lr": lr,
            "seed": seed,
            "best_epoch": int(history.loc[best, "epoch"]) if best is not None else None,
            "epochs": int(len(history)),
            "train_sequences": len(texts),
            "cpu_seconds": time.process_time() - cpu0,  # of this process (a resumed run: the rest)
        }
        if folder is not None:
            from sciml._io import atomic_write

            rt.save(folder / f"{tag}.pt")
            with atomic_write(folder / f"{tag}.json") as handle:
                handle.write(json.dumps(record))
        return rt, record

    def _train_config(self, lr: float, seed: int, run_dir: Path | None):
        from sciml.train import TrainConfig

        r = self.recipe
        return TrainConfig(
            max_epochs=r.epochs,
            batch_size=r.batch_size,
            lr=lr,
            warmup=r.warmup,
            progress=False,
            seed=seed,
            precision=r.precision,
            monitor="val_rmse",
            checkpoint_dir=str(run_dir) if run_dir is not None else None,
        )

    def val_rmse(self, members: list) -> float:
        """Validation RMSE (physical units) of an ensemble of ``members``, with TTA."""
        model = FineTunedRT(self.name, members, self.low, self.high, self.recipe)
        pred = model.predict(self.val_canon, errors="nan")[self.name].to_numpy()
        return float(np.sqrt(np.nanmean((pred - self.val_values) ** 2)))


def fine_tune_select(
    smiles: Sequence[str],
    y,
    name: str,
    candidates: Sequence[FineTuneRecipe],
    *,
    init_from=None,
    checkpoint_dir: str | os.PathLike | None = None,
    errors: Errors = "raise",
    log: Callable[[str], None] | None = None,
) -> FineTunedRT:
    """Choose among recipes on validation molecules, then build the winner's ensemble.

    Each candidate's first model (``n_models=1``) is trained and scored on the validation
    part; the candidate with the lowest validation RMSE gets its remaining ensemble members
    (its first model is reused, not retrained). Candidates must share ``seed`` and
    ``val_fraction``, so that they are scored on the same validation molecules.

    Parameters
    ----------
    candidates : sequence of FineTuneRecipe
        The recipes to choose from (e.g. with and without ``context``).
    checkpoint_dir : path, optional
        Each candidate trains in its own subfolder ``candidate_<i>``; calling again resumes.
    smiles, y, name, init_from, errors, log
        As in :func:`fine_tune`.

    Returns
    -------
    FineTunedRT
        The chosen ensemble; ``selection["candidates"]`` lists each candidate's settings and
        validation RMSE, ``selection["chosen"]`` the index of the winner.
    """
    candidates = list(candidates)
    if not candidates:
        raise ValueError("no candidate recipe given")
    if len({(c.seed, c.val_fraction) for c in candidates}) > 1:
        raise ValueError("candidates must share seed and val_fraction (one validation split)")
    if init_from is None:
        from sciml import asset_path
        from sciml.rt.predictor import RegressionTransformer

        init_from = RegressionTransformer.load(asset_path(DEFAULT_START))
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    log = log or (lambda _line: None)

    def run(i: int, recipe: FineTuneRecipe) -> FineTunedRT:
        return fine_tune(
            smiles,
            y,
            name,
            init_from=init_from,
            recipe=recipe,
            checkpoint_dir=folder / f"candidate_{i}" if folder is not None else None,
            errors=errors,
            log=log,
        )

    scores = []
    for i, recipe in enumerate(candidates):
        first = run(i, replace(recipe, n_models=1))
        scores.append(
            {
                "recipe": recipe.to_dict(),
                "val_rmse": first.selection["val_rmse_ensemble"],
                "cpu_seconds": first.selection["cpu_seconds"],
            }
        )
        log(f"candidate {i}: validation RMSE {scores[-1]['val_rmse']:.4f}")
    chosen = int(np.argmin([s["val_rmse"] for s in scores]))
    model = run(chosen, candidates[chosen])
    model.selection["candidates"] = scores
    model.selection["chosen"] = chosen
    return model


def fits(smiles: Sequence[str], name: str, recipe: FineTuneRecipe, init_from=None) -> np.ndarray:
    """Which molecules a model of ``recipe`` can read: valid, and short enough.

    A molecule's sequence is ``[CLS]``, the property block (the target and ``recipe.context``,
    with ranges from these molecules) and its tokens in the model's language, ``[SEP]``; it
    must fit the encoder of ``init_from`` (default: the shipped RT, 128 tokens; ``False``: the
    from-scratch RT of :func:`fine_tune`, SELFIES, 128 tokens).

    Returns
    -------
    numpy.ndarray
        ``(N,)`` bool.
    """
    from sciml.chem.smiles import canonicalize_batch
    from sciml.chem.tokenizer import tokenize_smiles
    from sciml.rt.numbers import NumberTokenizer, PropertySpec

    if init_from is None:
        from sciml import asset_path
        from sciml.rt.predictor import RegressionTransformer

        init_from = RegressionTransformer.load(asset_path(DEFAULT_START))
    canon = canonicalize_batch(list(smiles), errors="nan").values
    valid = [c for c in canon if c is not None]
    specs = [PropertySpec(name, 0.0, 1.0, recipe.decimals)]
    specs += _context_specs(valid, recipe.context, recipe.margin) if valid else []
    if init_from is False:
        from sciml.rt.language import resolve_language

        config = _config(None, recipe)
        max_len, language = config.encoder_overrides["max_len"], resolve_language(config.language)
    else:
        max_len, language = init_from.net.encoder.max_len, init_from.language
    limit = max_len - 2 - NumberTokenizer(specs).block_length
    out = np.zeros(len(canon), dtype=bool)
    for i, c in enumerate(canon):
        if c is None:
            continue
        try:
            out[i] = len(tokenize_smiles(language.encode(c))) <= limit
        except ValueError:
            out[i] = False
    return out
