"""The user-facing Regression Transformer: ``fit``, ``predict``, ``generate``, ``save``, ``load``.

Examples
--------
>>> from sciml.rt import RegressionTransformer                        # doctest: +SKIP
>>> rt = RegressionTransformer(["qed"]).fit(smiles, qed_values)      # doctest: +SKIP
>>> rt.predict(["CCO"])                                              # doctest: +SKIP
>>> rt.generate(["CCOc1ccccc1"], targets={"qed": 0.8}, n=10)         # doctest: +SKIP

Targets outside a property's trained range are **refused** (``ValueError`` naming the
range) unless ``out_of_range="clip"`` is passed, which clips them with a warning: the
number format of a property cannot represent values beyond its range, and the model
has never seen them.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from sciml.chem.corpus import TokenCorpus
from sciml.chem.domain import TrainingDomain, domain_columns
from sciml.chem.smiles import (
    Errors,
    InvalidSmiles,
    InvalidSmilesError,
    canonicalize_batch,
    check_errors_arg,
    randomized_smiles,
)
from sciml.chem.tokenizer import SmilesTokenizer, VocabularyMismatchError, pad_ids
from sciml.encoder import LengthBucketBatchSampler
from sciml.rt import generation
from sciml.rt.data import RTDataset, build_tokenizer
from sciml.rt.decoding import sequential_slot_ids
from sciml.rt.generation import RDKIT_PROPERTIES, GenerationConfig, true_property
from sciml.rt.language import resolve_language
from sciml.rt.model import RegressionTransformerNet, RTObjective, SelfConsistency, check_decoding
from sciml.rt.numbers import NumberTokenizer, PropertySpec
from sciml.train import (
    StaticWeighting,
    TrainConfig,
    Trainer,
    dataclass_from_dict,
    load_checkpoint,
    rebuild_model,
    save_checkpoint,
)
from sciml.train.device import default_device, seed_everything

__all__ = [
    "RDKIT_PROPERTIES",
    "EncodedMolecules",
    "GenerationConfig",
    "RTConfig",
    "RegressionTransformer",
    "extend_tokenizer",
    "transfer_state",
    "true_property",
]

_FORMAT = "sciml.rt.RegressionTransformer"


@dataclass(frozen=True)
class EncodedMolecules:
    """What :meth:`RegressionTransformer.encode` made of a list of molecules.

    Attributes
    ----------
    canonical : list of str or None
        Canonical SMILES per input (None where invalid).
    ids : list of list of int or None
        ``[CLS] block molecule [SEP]`` ids per input (None where invalid).
    invalid : list of InvalidSmiles
        The invalid inputs, each with why (unparsable, too long, a token outside the
        vocabulary, named).
    """

    canonical: list[str | None]
    ids: list[list[int] | None]
    invalid: list[InvalidSmiles]


#: Training molecules whose fingerprints the applicability domain keeps (a seeded sample),
#: so that a model trained on a million molecules stays a few megabytes.
DOMAIN_REFERENCE = 10_000


@dataclass(frozen=True)
class RTConfig:
    """Model and objective settings of a :class:`RegressionTransformer`.

    Attributes
    ----------
    size : {"tiny", "small", "base"}
        Encoder size (:data:`sciml.encoder.ENCODER_SIZES`).
    encoder_overrides : dict
        Fields replacing those of the named size (e.g. ``{"d_model": 128}``).
    precision : int
        Decimals of properties whose range is inferred from the data.
    numerical_encoding : bool
        Add fixed numerical encodings to digit tokens.
    digit_distance : float
        Weight of the Number-Token-Loss-style digit-distance term (0 turns it off).
    self_consistency : float
        Weight of the self-consistency hook (0 turns it off; it costs two extra passes on
        every generation-mode batch).
    mask_fraction : (float, float)
        Range of the molecule fraction masked in generation-mode training batches.
    max_tokens : int
        Cap on ``batch size x longest sequence`` per training batch.
    reveal_digits : float
        Fraction of property-mode training rows that see the leading digits of a value and
        predict only the rest (:class:`~sciml.rt.data.RTDataset`); it teaches the context
        of ``predict(decoding="sequential")``. 0 masks every value token.
    span_slack : float
        Extra ``[MASK]`` slots (up to this fraction of a span's length, labelled ``[PAD]``)
        after each masked span in generation-mode training, so that :meth:`generate` can
        grow or shrink the molecule (:class:`~sciml.rt.data.RTDataset`).
    language : {"smiles", "selfies"}
        The molecule language the model reads and writes (:mod:`sciml.rt.language`);
        inputs and outputs are SMILES either way.
    objective : {"alternate", "property"}
        What :meth:`RegressionTransformer.fit` trains: ``"alternate"`` switches between the
        regression and the generation objective batch by batch (the RT's two tasks);
        ``"property"`` trains regression only (predict-only fine-tuning,
        :func:`sciml.rt.finetune.fine_tune`), so generation is not trained further.
    context : tuple of str
        Properties the model is always given, never asked for: their values stay visible
        in regression training (and validation scores only the others), so the model
        learns to predict the other properties given them; at prediction they are passed
        as primers (:meth:`RegressionTransformer.score`), e.g. RDKit-computed logP
        (:func:`sciml.rt.finetune.fine_tune` ``context=``).
    tta : int
        Encodings of a molecule that :meth:`RegressionTransformer.predict` averages by
        default (test-time augmentation): its canonical SMILES and ``tta - 1`` randomised
        ones (:func:`sciml.chem.smiles.randomized_smiles`). 1 (default) reads the canonical
        SMILES only; more helps a model trained on randomised SMILES too
        (``benchmarks/train_qed_rt.py --augment``), which sets it from validation molecules.
    """

    size: str = "small"
    encoder_overrides: Mapping[str, Any] = field(default_factory=dict)
    precision: int = 4
    numerical_encoding: bool = True
    digit_distance: float = 0.5
    self_consistency: float = 0.0
    mask_fraction: tuple[float, float] = (0.1, 0.6)
    max_tokens: int | None = None
    reveal_digits: float = 0.0
    span_slack: float = 0.5
    language: str = "smiles"
    objective: str = "alternate"
    context: tuple[str, ...] = ()
    tta: int = 1

    def __post_init__(self):
        object.__setattr__(self, "tta", _checked_tta(self.tta))  # a plain int, JSON-writable


def _checked_tta(value) -> int:
    """``value`` as an int if it is a test-time augmentation count (an integer >= 1)."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise ValueError(f"tta must be an integer >= 1, got {value!r}")
    return int(value)


def extend_tokenizer(
    base: SmilesTokenizer, smiles: Sequence[str], numbers: NumberTokenizer
) -> SmilesTokenizer:
    """``base``'s vocabulary (same ids) plus the tokens of ``smiles`` and ``numbers`` it lacks.

    Examples
    --------
    >>> from sciml.rt.numbers import PropertySpec
    >>> qed = NumberTokenizer([PropertySpec("qed", 0, 1, 2)])
    >>> base = build_tokenizer(["CCO"], qed)
    >>> wide = extend_tokenizer(base, ["CCN"], NumberTokenizer([PropertySpec("logs", -9, 2, 1)]))
    >>> wide.vocab[: base.vocab_size] == base.vocab, "N" in wide.vocab, "<logs>" in wide.vocab
    (True, True, True)
    """
    wide = build_tokenizer(list(smiles), numbers)
    known = set(base.vocab)
    new = [t for t in wide.vocab if t not in known]
    extra = list(base._extra) + [t for t in numbers.vocabulary() if t not in set(base._extra)]
    return SmilesTokenizer(list(base.vocab) + new, extra_tokens=extra)


def transfer_state(
    source: torch.nn.Module,
    source_tokenizer: SmilesTokenizer,
    target: torch.nn.Module,
    target_tokenizer: SmilesTokenizer,
) -> dict[str, torch.Tensor]:
    """``target``'s state dict with every weight ``source`` has in the same shape copied.

    Per-token tensors (embedding, output layer) are copied row by row for the tokens both
    vocabularies hold, so a vocabulary that grew (:func:`extend_tokenizer`) keeps what the
    source learned; tensors of other shapes (e.g. another property block) stay as built.
    """
    state, src = target.state_dict(), source.state_dict()
    n_src, n_tgt = source_tokenizer.vocab_size, target_tokenizer.vocab_size
    where = {t: i for i, t in enumerate(target_tokenizer.vocab)}
    rows = [(i, where[t]) for i, t in enumerate(source_tokenizer.vocab) if t in where]
    src_rows = torch.tensor([i for i, _ in rows], dtype=torch.long)
    tgt_rows = torch.tensor([j for _, j in rows], dtype=torch.long)
    for key, value in src.items():
        if key not in state:
            continue
        if value.shape == state[key].shape and n_src == n_tgt:
            state[key] = value.clone()
        elif (
            value.dim()
            and value.shape[0] == n_src
            and state[key].shape[0] == n_tgt
            and value.shape[1:] == state[key].shape[1:]
        ):
            state[key] = state[key].clone()
            state[key][tgt_rows] = value[src_rows]
        elif value.shape == state[key].shape:
            state[key] = value.clone()
    return state


def _infer_spec(name: str, values: np.ndarray, precision: int) -> PropertySpec:
    finite = values[np.isfinite(values)]
    if not len(finite):
        raise ValueError(f"property {name!r} has no finite training value")
    low = math.floor(finite.min())
    return PropertySpec(name, float(low), float(max(math.ceil(finite.max()), low + 1)), precision)


def _as_frame(y, names: Sequence[str] | None, n: int) -> pd.DataFrame:
    if isinstance(y, pd.DataFrame):
        frame = y.reset_index(drop=True)
    elif isinstance(y, pd.Series):
        frame = y.reset_index(drop=True).to_frame(y.name or (names[0] if names else "y"))
    elif isinstance(y, Mapping):
        frame = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in y.items()})
    else:
        arr = np.asarray(y, dtype=float)
        arr = arr[:, None] if arr.ndim == 1 else arr
        if not names or len(names) != arr.shape[1]:
            raise ValueError("pass properties=[...] names for an unnamed target array")
        frame = pd.DataFrame(arr, columns=list(names))
    if len(frame) != n:
        raise ValueError(f"{n} SMILES but {len(frame)} target rows")
    return frame.astype(float)


class RegressionTransformer:
    """Property prediction and property-primed generation with one masked-LM transformer.

    Parameters
    ----------
    properties : sequence of str or PropertySpec, optional
        Properties in sequence order. Names get their range from the training data at
        :meth:`fit` (floor of the minimum to ceiling of the maximum); pass a
        :class:`~sciml.rt.PropertySpec` to fix range and precision. Default: the columns
        of ``y`` at :meth:`fit`.
    config : RTConfig
        Model and objective settings.
    tokenizer : SmilesTokenizer, optional
        A vocabulary from :func:`sciml.rt.data.build_tokenizer` (needed when models
        should share weights, e.g. ``fit(..., init_from=pretrained)``). Default: built
        from the training molecules at :meth:`fit`.
    language : {"smiles", "selfies"}, optional
        Molecule language (sets ``config.language``; :mod:`sciml.rt.language`): SELFIES
        makes every generated token string a molecule.
    """

    def __init__(
        self,
        properties: Sequence[str | PropertySpec] | None = None,
        config: RTConfig = RTConfig(),
        tokenizer: SmilesTokenizer | None = None,
        *,
        language: str | None = None,
    ):
        if language is not None:
            config = replace(config, language=language)
        self.properties = list(properties) if properties is not None else None
        self.config = config
        #: The :class:`~sciml.rt.language.MoleculeLanguage` the model reads and writes.
        self.language = resolve_language(config.language)
        self.tokenizer = tokenizer
        self.net: RegressionTransformerNet | None = None
        self.history: pd.DataFrame | None = None
        #: Training molecules' fingerprints and descriptor ranges (applicability domain).
        self.domain: TrainingDomain | None = None
        #: How a saved model was made (corpus, molecules seen, command, history), if recorded.
        self.provenance: dict | None = None

    # ----------------------------------------------------------------- state
    @property
    def numbers(self) -> NumberTokenizer:
        return self._require().numbers

    @property
    def property_names(self) -> list[str]:
        """Properties the model predicts and can be primed with."""
        return self.numbers.names

    def _require(self) -> RegressionTransformerNet:
        if self.net is None:
            raise RuntimeError(
                "the model is not trained: call fit() or RegressionTransformer.load()"
            )
        return self.net

    def _device(self) -> torch.device:
        return next(self._require().parameters()).device

    # ------------------------------------------------------------------- fit
    def fit(
        self,
        smiles: Sequence[str],
        y,
        *,
        val_smiles: Sequence[str] | None = None,
        val_y=None,
        train_config: TrainConfig | None = None,
        init_from: RegressionTransformer | None = None,
        errors: Errors = "raise",
        resume: str | os.PathLike | None = None,
        epoch_size: int | None = None,
        canonical: bool = False,
        cache_tokens: bool = False,
    ) -> RegressionTransformer:
        """Train on molecules with property values (NaN = missing) through the common Trainer.

        Parameters
        ----------
        smiles : sequence of str
            Training molecules (canonicalised before use).
        y : DataFrame, mapping, Series or array ``(N, T)``
            Property values, one column per property.
        val_smiles, val_y : optional
            Validation set, decoded each epoch in property mode (``val_rmse``, ...);
            labels beyond the trained range are clipped into it for the loss.
        train_config : TrainConfig, optional
            Epochs, batch size, learning rate, early stopping, ... (default: 20 epochs,
            lr 5e-4).
        init_from : RegressionTransformer, optional
            Start from this model's weights (fine-tuning a pre-trained RT, e.g. the shipped
            QED model, on other properties). Without a tokenizer given to the constructor,
            the vocabulary is ``init_from``'s extended by the new SMILES and number tokens:
            known tokens keep their trained embeddings and output rows, new ones start
            fresh (:func:`extend_tokenizer`, :func:`transfer_state`). A tokenizer given to
            the constructor must equal ``init_from``'s, else
            :class:`~sciml.chem.VocabularyMismatchError`. A model of another language (e.g.
            a SELFIES model started from a SMILES one) gets its own vocabulary and keeps
            ``init_from``'s transformer weights and the rows of the tokens both share
            (special and digit tokens, common bracket atoms).
        errors : {"raise", "skip", "nan"}
            Invalid training SMILES: raise, or drop them ("skip" and "nan" both drop).
        resume : path, optional
            ``last.pt`` of an interrupted run with the same data and settings
            (``train_config.checkpoint_dir`` writes one per epoch); training continues
            where it stopped.
        epoch_size : int, optional
            Molecules per epoch for corpora too large for one epoch between checkpoints
            and validations (:class:`~sciml.encoder.LengthBucketBatchSampler`); every
            molecule is still seen once per pass.
        canonical : bool
            The SMILES are already RDKit canonical (e.g. the ``canonical`` column of
            :func:`sciml.chem.corpus.property_table`): skip canonicalising them again, which
            takes minutes for a million molecules. Unparsable rows still raise, when
            tokenised.
        cache_tokens : bool
            Keep the molecules' token ids in a :class:`~sciml.chem.corpus.TokenCorpus` on
            disk (reused by a resumed or repeated run) instead of in memory.

        Returns
        -------
        RegressionTransformer
            ``self``, trained; :attr:`history` holds the per-epoch log.
        """
        train_config = train_config or TrainConfig(max_epochs=20, lr=5e-4)
        texts, values, names, specs = self._training_data(
            smiles, y, errors, canonical, train_config.seed
        )
        numbers = NumberTokenizer(specs)
        net = self._build_net(texts, specs, numbers, init_from, train_config.seed)
        texts, values = self._fit_lengths(texts, values, net, numbers, errors, "training")
        cfg = self.config
        mol_ids = TokenCorpus.cached(texts, self.tokenizer, "rt") if cache_tokens else None
        train_ds = RTDataset(
            texts,
            values,
            numbers,
            self.tokenizer,
            mode=cfg.objective,
            mask_fraction=cfg.mask_fraction,
            reveal_digits=cfg.reveal_digits,
            span_slack=cfg.span_slack,
            mol_ids=mol_ids,
            max_length=net.encoder.max_len,
            given=self._given(names),
        )
        val_ds = None
        if val_smiles is not None:
            val_ds = self._validation_set(val_smiles, val_y, names, net, numbers, errors)
        train_loader, val_loader = self._loaders(train_ds, val_ds, train_config, epoch_size)
        if train_config.monitor is None:
            train_config = train_config.replace(
                monitor="val_rmse" if val_ds is not None else "train_loss"
            )
        hooks = [SelfConsistency()] if cfg.self_consistency > 0 else []
        weighting = StaticWeighting(
            {"digit_distance": cfg.digit_distance, "self_consistency": cfg.self_consistency}
        )
        trainer = Trainer(
            net,
            RTObjective(digit_distance=cfg.digit_distance > 0),
            train_config,
            weighting=weighting,
            extra_losses=hooks,
            unit="mol",
        )
        self.history = trainer.fit(train_loader, val_loader, resume=resume)
        #: True when training stopped at ``train_config.max_minutes`` (``on_budget="stop"``).
        self.stopped_by_budget = trainer.stopped_by_budget
        self.net = trainer.raw_model.eval()
        return self

    def _training_data(self, smiles, y, errors: str, canonical: bool, seed: int):
        """Model texts, values ``(N, T)``, property names and specs of the training molecules.

        Also fits the applicability domain on the canonical SMILES.
        """
        if canonical:
            canon = list(smiles)
            names = [p.name if isinstance(p, PropertySpec) else p for p in self.properties or ()]
            frame = _as_frame(y, names, len(canon))
        else:
            canon, frame = self._clean(smiles, y, errors)
        self.domain = TrainingDomain.fit(canon, max_reference=DOMAIN_REFERENCE, seed=seed)
        names = [
            p.name if isinstance(p, PropertySpec) else p for p in (self.properties or frame.columns)
        ]
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise KeyError(f"targets lack columns {missing}; got {list(frame.columns)}")
        specs = [
            p
            if isinstance(p, PropertySpec)
            else _infer_spec(p, frame[p].to_numpy(), self.config.precision)
            for p in self.properties or names
        ]
        texts, values = self._language_texts(canon, frame[names].to_numpy(), errors, "training")
        return texts, values, names, specs

    def _build_net(
        self,
        texts: list[str],
        specs: list[PropertySpec],
        numbers: NumberTokenizer,
        init_from: RegressionTransformer | None,
        seed: int,
    ) -> RegressionTransformerNet:
        """The vocabulary (unless given) and the initial network, ``init_from``'s weights copied."""
        explicit_tokenizer = self.tokenizer is not None
        same_language = init_from is not None and init_from.language is self.language
        if self.tokenizer is None:
            self.tokenizer = (
                extend_tokenizer(init_from.tokenizer, texts, numbers)
                if same_language
                else build_tokenizer(texts, numbers)
            )
        cfg = self.config
        seed_everything(seed)  # the initial weights, not only the batch order
        net = RegressionTransformerNet(
            self.tokenizer.vocab,
            [s.to_dict() for s in specs],
            size=cfg.size,
            encoder_overrides=dict(cfg.encoder_overrides),
            numerical_encoding=cfg.numerical_encoding,
        )
        if init_from is not None:
            if explicit_tokenizer and same_language:
                init_from.tokenizer.check_fingerprint(self.tokenizer.fingerprint)
            net.load_state_dict(
                transfer_state(init_from._require(), init_from.tokenizer, net, self.tokenizer)
            )
        return net

    def _validation_set(
        self, val_smiles, val_y, names: list[str], net, numbers, errors: str
    ) -> RTDataset:
        v_canon, v_frame = self._clean(val_smiles, val_y, errors)
        v_texts, v_values = self._language_texts(
            v_canon, v_frame[names].to_numpy(), errors, "validation"
        )
        v_texts, v_values = self._fit_lengths(v_texts, v_values, net, numbers, errors, "validation")
        return RTDataset(
            v_texts,
            v_values,
            numbers,
            self.tokenizer,
            mode="property",
            out_of_range="clip",
            given=self._given(names),
        )

    def _given(self, names: list[str]) -> list[int]:
        """Indices of the context properties (:attr:`RTConfig.context`) among ``names``."""
        missing = [c for c in self.config.context if c not in names]
        if missing:
            raise KeyError(f"context properties {missing} are not among the properties {names}")
        return [names.index(c) for c in self.config.context]

    def _loaders(
        self,
        train_ds: RTDataset,
        val_ds: RTDataset | None,
        train_config: TrainConfig,
        epoch_size: int | None,
    ):
        train_loader = DataLoader(
            train_ds,
            collate_fn=train_ds.collate,
            batch_sampler=LengthBucketBatchSampler(
                train_ds.lengths(),
                train_config.batch_size,
                shuffle=True,
                seed=train_config.seed,
                max_tokens=self.config.max_tokens,
                epoch_size=epoch_size,
            ),
        )
        if val_ds is None:
            return train_loader, None
        return train_loader, DataLoader(
            val_ds,
            collate_fn=val_ds.collate,
            batch_sampler=LengthBucketBatchSampler(
                val_ds.lengths(), 2 * train_config.batch_size, shuffle=False
            ),
        )

    def _language_texts(
        self, canon: list[str], values: np.ndarray, errors: str, what: str
    ) -> tuple[list[str], np.ndarray]:
        """The model texts of ``canon`` (:attr:`language`); unwritable molecules follow ``errors``."""
        if self.language.smiles_syntax:  # SMILES: the canonical SMILES are the texts
            return list(canon), values
        texts, keep, bad = [], [], []
        for i, smi in enumerate(canon):
            try:
                texts.append(self.language.encode(smi))
                keep.append(i)
            except ValueError as err:
                bad.append(f"  [{i}] {err}")
        if bad and errors == "raise":
            raise ValueError(
                f"{len(bad)} {what} molecules cannot be written as "
                f"{self.language.name}:\n" + "\n".join(bad[:20])
            )
        if bad:
            warnings.warn(
                f"{len(bad)} {what} molecules left out (not writable as {self.language.name})",
                stacklevel=3,
            )
        return texts, values[np.asarray(keep, dtype=int)]

    def _fit_lengths(
        self, texts: list[str], values: np.ndarray, net, numbers, errors: str, what: str
    ) -> tuple[list[str], np.ndarray]:
        """Molecules whose sequence fits ``max_len`` and the vocabulary; others follow ``errors``.

        Raises
        ------
        ValueError
            ``errors="raise"`` and some molecules are too long or hold a token outside the
            vocabulary (the first 20 are named, with the token).
        """
        limit = net.encoder.max_len - 2 - numbers.block_length
        known = self.tokenizer.token_to_id
        problems = {}
        for i, text in enumerate(texts):
            tokens = self.tokenizer.tokenize(text)
            unknown = next((t for t in tokens if t not in known), None)
            if unknown is not None:
                problems[i] = f"token {unknown!r} is not in the vocabulary"
            elif len(tokens) > limit:
                problems[i] = f"{len(tokens)} tokens, longer than the maximum of {limit}"
        if not problems:
            return texts, values
        if errors == "raise":
            listed = "\n".join(
                f"  [{i}] {texts[i]!r}: {why}" for i, why in list(problems.items())[:20]
            )
            raise ValueError(
                f"{len(problems)} {what} molecules do not fit the model (encoder max_len "
                f"{net.encoder.max_len}, {self.tokenizer.vocab_size} tokens); drop them with "
                f"errors='skip':\n{listed}"
            )
        keep = np.array([i for i in range(len(texts)) if i not in problems], dtype=int)
        warnings.warn(
            f"{len(problems)} {what} molecules left out (too long or holding a token "
            "outside the vocabulary)",
            stacklevel=3,
        )
        return [texts[i] for i in keep], values[keep]

    def _clean(self, smiles, y, errors: str) -> tuple[list[str], pd.DataFrame]:
        check_errors_arg(errors)
        smiles = list(smiles)
        names = [p.name if isinstance(p, PropertySpec) else p for p in self.properties or ()]
        frame = _as_frame(y, names, len(smiles))
        batch = canonicalize_batch(smiles, errors="raise" if errors == "raise" else "skip")
        return list(batch.values), frame.iloc[batch.index].reset_index(drop=True)

    # ------------------------------------------- public seam: encode, score, fill
    def encode(
        self,
        smiles: Sequence[object],
        primers: Sequence[Mapping[str, float]] | None = None,
        *,
        errors: Errors = "raise",
        out_of_range: str = "raise",
        canonicalize: bool = True,
    ) -> EncodedMolecules:
        """Canonicalise molecules and write them as id rows ``[CLS] block molecule [SEP]``.

        Parameters
        ----------
        smiles : sequence of str
            Molecules. Unparsable ones, ones longer than the model, ones the language cannot
            write and ones holding a token outside the vocabulary are invalid: with
            ``errors="raise"`` an :class:`~sciml.chem.InvalidSmilesError` names each (and
            the token); otherwise their row is None.
        primers : sequence of mapping, optional
            Property values per molecule for the block (missing properties are ``[MASK]``
            slots); default: every value masked (the prediction input).
        out_of_range : {"raise", "clip"}
            Primer values outside a property's range.
        canonicalize : bool
            Write each molecule from its RDKit canonical SMILES (default). False writes the
            SMILES as given, e.g. the randomised SMILES of test-time augmentation
            (:mod:`sciml.rt.finetune`); unparsable ones are still invalid.
        """
        check_errors_arg(errors)
        net = self._require()
        smiles = list(smiles)
        batch = canonicalize_batch(smiles, errors="nan")
        canon = list(batch.values)
        invalid = list(batch.invalid)
        if not canonicalize:
            canon = [s if c is not None else None for s, c in zip(smiles, canon, strict=True)]
        limit = net.encoder.max_len - 1 - self.numbers.block_length - 1
        known = self.tokenizer.token_to_id
        rows: list[list[int] | None] = [None] * len(smiles)
        for i, smi in enumerate(canon):
            if smi is None:
                continue
            why, tokens = self._molecule_tokens(smi, known, limit)
            if why is not None:
                invalid.append(InvalidSmiles(i, smiles[i], why))
                canon[i] = None
                continue
            block = self.numbers.encode(
                primers[i] if primers is not None else {}, out_of_range=out_of_range
            )
            rows[i] = [
                self.tokenizer.cls_id,
                *self.tokenizer.convert_tokens_to_ids(block),
                *(known[t] for t in tokens),
                self.tokenizer.sep_id,
            ]
        invalid.sort(key=lambda bad: bad.index)
        if invalid and errors == "raise":
            raise InvalidSmilesError(invalid, total=len(canon))
        return EncodedMolecules(canon, rows, invalid)

    def _molecule_tokens(
        self, smi: str, known: Mapping[str, int], limit: int
    ) -> tuple[str | None, list[str]]:
        """Why ``smi`` cannot be encoded (None if it can) and its tokens."""
        try:
            tokens = self.tokenizer.tokenize(self.language.encode(smi))
        except ValueError as err:
            return str(err), []
        unknown = [t for t in dict.fromkeys(tokens) if t not in known]
        if unknown:
            return (
                f"token {unknown[0]!r} is not in the model's vocabulary"
                + (f" (nor {', '.join(map(repr, unknown[1:]))})" if unknown[1:] else ""),
                tokens,
            )
        if len(tokens) > limit:
            return f"longer than the model's maximum of {limit} tokens", tokens
        return None, tokens

    def score(
        self,
        canonical: Sequence[str],
        *,
        batch_size: int = 256,
        canonicalize: bool = True,
        primers: Sequence[Mapping[str, float]] | None = None,
    ) -> np.ndarray:
        """The model's predicted properties ``(N, T)`` of SMILES (expected decoding).

        The self-consistency score of generation: how the model itself reads a molecule.
        Rows the model cannot read (e.g. a generated molecule whose canonical SMILES holds a
        token outside the vocabulary) are NaN. ``canonicalize=False`` reads the SMILES as
        given (:meth:`encode`); ``primers`` gives known values per molecule (the
        :attr:`RTConfig.context` properties), clipped into their ranges.
        """
        out = np.full((len(canonical), len(self.property_names)), np.nan)
        encoded = self.encode(
            canonical,
            primers,
            errors="nan",
            canonicalize=canonicalize,
            out_of_range="clip",
        )
        ok = [i for i, row in enumerate(encoded.ids) if row is not None]
        if ok:
            out[ok] = self._predict_rows([encoded.ids[i] for i in ok], batch_size=batch_size)[
                "pred"
            ]
        return out

    def fill(
        self,
        rows: Sequence[Sequence[int]],
        *,
        temperature: float,
        generator: torch.Generator,
        n_steps: int | None = None,
        batch_size: int = 256,
        pad: bool = False,
        allowed: Sequence[np.ndarray | None] | None = None,
        repair: bool = False,
    ) -> tuple[list[str | None], int]:
        """Fill the ``[MASK]`` positions of id rows and decode each to a SMILES.

        Parameters
        ----------
        rows : sequence of id rows
            From :meth:`encode`, with some molecule ids replaced by ``[MASK]``.
        temperature, generator, n_steps, pad
            As in :func:`sciml.rt.decoding.iterative_unmask`.
        allowed : sequence of arrays, optional
            Per row, an atom class per position (1 aromatic atom, 0 aliphatic atom, -1 any
            token): a masked atom is refilled with an atom of its class (SMILES only).
        repair : bool
            Swap tokens of fills that do not sanitize for other top-5 candidates
            (:func:`sciml.rt._repair.repair`; SMILES only).

        Returns
        -------
        list of str or None, int
            The SMILES of each filled row (None where the language cannot decode it; not
            yet checked by RDKit) and how many fills the repair made valid.
        """
        from sciml.rt._fill import fill_rows

        return fill_rows(
            self,
            rows,
            temperature=temperature,
            generator=generator,
            n_steps=n_steps,
            batch_size=batch_size,
            pad=pad,
            allowed=allowed,
            repair=repair and self.language.smiles_syntax,
        )

    @staticmethod
    def _pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        return pad_ids(rows, pad_id)

    # -------------------------------------------------------------- predict
    @torch.no_grad()
    def _predict_rows(
        self,
        rows: Sequence[Sequence[int]],
        n_samples: int = 0,
        batch_size: int = 256,
        seed: int = 0,
        decoding: str = "expected",
    ) -> dict[str, np.ndarray]:
        check_decoding(decoding)
        net = self._require().eval()
        device = self._device()
        order = np.argsort([len(r) for r in rows], kind="stable")
        generator = torch.Generator(device=device).manual_seed(seed)
        parts: dict[str, np.ndarray] = {}
        for start in range(0, len(rows), batch_size):
            idx = order[start : start + batch_size]
            ids, attention = self._pad([rows[i] for i in idx], self.tokenizer.pad_id)
            ids, attention = ids.to(device), attention.to(device)
            logits = net({"input_ids": ids, "attention_mask": attention})["logits"]
            one_pass = "greedy" if decoding == "sequential" else decoding
            decoded = net.decode_values(logits, n_samples, generator, decoding=one_pass)
            if decoding == "sequential":
                decoded["pred"] = net.decode_slots(
                    sequential_slot_ids(net, ids, attention, logits)
                )[0]
            for key, value in decoded.items():
                parts.setdefault(key, np.full((len(rows), value.shape[1]), np.nan))[idx] = value
        return parts

    def predict(
        self,
        smiles: Sequence[str],
        *,
        errors: Errors = "raise",
        n_samples: int = 0,
        batch_size: int = 256,
        seed: int = 0,
        decoding: str = "expected",
        domain: bool = False,
        tta: int | None = None,
    ) -> pd.DataFrame:
        """Predict every property by decoding its digit tokens.

        Parameters
        ----------
        smiles : sequence of str
            Molecules.
        errors : {"raise", "skip", "nan"}
            Invalid SMILES (or longer than the model): raise listing them, drop the rows,
            or keep NaN rows.
        n_samples : int
            With > 0, also sample that many digit sequences per molecule and report their
            mean and standard deviation (``<name>_mean``, ``<name>_std``): an uncertainty.
        batch_size : int
            Molecules per forward pass.
        seed : int
            Seed of the sampling.
        decoding : {"expected", "greedy", "sequential"}
            How a value is read from its digit slots: ``"expected"`` (default), the
            expectation of the value under the slots' predicted distributions (one forward
            pass; continuous, no rounding to the likeliest digit); ``"greedy"``, the most
            likely token of each slot independently (the RT paper's decoding; values on
            the precision grid); ``"sequential"``, left to right, one forward pass per
            slot, each slot's argmax conditioned on the digits fixed before it. The
            benchmark (``benchmarks/results/regression_transformer.md``) compares them.
        domain : bool
            Add ``max_tanimoto``, ``in_domain`` and ``note`` (applicability domain, see
            :mod:`sciml.chem.domain`) and warn when a molecule is out of domain.
        tta : int, optional
            Test-time augmentation: average the values decoded from this many encodings of
            each molecule, its canonical SMILES and ``tta - 1`` randomised ones (seeded by
            ``seed``; an encoding the model cannot read, e.g. one longer than the model, is
            left out of the mean). Default: the model's :attr:`RTConfig.tta` (1 unless the
            model was trained on randomised SMILES and the value chosen on validation
            molecules). With ``n_samples`` the mean and standard deviation are those of
            the samples pooled over the encodings.

        Returns
        -------
        pandas.DataFrame
            Index: input row; columns ``smiles`` (as given) and one per property (plus
            the domain columns).
        """
        tta = self.config.tta if tta is None else _checked_tta(tta)
        smiles = list(smiles)
        encoded = self.encode(smiles, errors=errors)
        canon, invalid = encoded.canonical, encoded.invalid
        ok = [i for i, s in enumerate(canon) if s is not None]
        names = self.property_names
        frame = pd.DataFrame({"smiles": smiles})
        if ok:
            rows = [encoded.ids[i] for i in ok]
            parts = (
                self._augmented_parts(
                    [canon[i] for i in ok], rows, tta, n_samples, batch_size, seed, decoding
                )
                if tta > 1
                else self._predict_rows(rows, n_samples, batch_size, seed, decoding)
            )
        for t, name in enumerate(names):
            frame[name] = np.nan
            if ok:
                frame.loc[ok, name] = parts["pred"][:, t]
            if n_samples > 0:
                for stat in ("mean", "std"):
                    frame[f"{name}_{stat}"] = np.nan
                    if ok:
                        frame.loc[ok, f"{name}_{stat}"] = parts[stat][:, t]
        if domain:
            columns = domain_columns(self.domain, canon, stacklevel=3)
            for name in columns.columns:
                frame[name] = columns[name].array
        if errors == "skip":
            frame = frame.loc[ok]
        frame.attrs["invalid"] = invalid
        return frame

    def _augmented_parts(
        self,
        canonical: list[str],
        rows: list[list[int]],
        tta: int,
        n_samples: int,
        batch_size: int,
        seed: int,
        decoding: str,
    ) -> dict[str, np.ndarray]:
        """Values of ``tta`` encodings per molecule, its canonical ``rows`` first, averaged.

        Every encoding goes through one :meth:`_predict_rows` call; randomised ones the model
        cannot read are left out of the mean (the canonical one always can be).
        """
        variants = randomized_smiles(canonical, tta, seed=seed)
        extra = self.encode(
            [s for row in variants for s in row[1:]], errors="nan", canonicalize=False
        ).ids
        k = tta - 1  # randomised encodings per molecule, after its canonical one
        every = [r for i, first in enumerate(rows) for r in (first, *extra[i * k : (i + 1) * k])]
        readable = [j for j, row in enumerate(every) if row is not None]
        decoded = self._predict_rows(
            [every[j] for j in readable], n_samples, batch_size, seed, decoding
        )
        stacks = {}
        for key, value in decoded.items():
            full = np.full((len(every), value.shape[1]), np.nan)
            full[readable] = value
            stacks[key] = full.reshape(len(rows), tta, value.shape[1])
        out = {key: np.nanmean(value, axis=1) for key, value in stacks.items()}
        if "std" in stacks:  # the samples pooled over encodings: a mixture's spread
            second = np.nanmean(stacks["std"] ** 2 + stacks["mean"] ** 2, axis=1)
            out["std"] = np.sqrt(np.maximum(second - out["mean"] ** 2, 0.0))
        return out

    # ------------------------------------------------------------- generate
    def generate(
        self,
        seed_smiles: Sequence[str],
        targets: Mapping[str, float | Sequence[float]],
        config: GenerationConfig | None = None,
        **options,
    ) -> pd.DataFrame:
        """Edit seed molecules towards target property values by iterative unmasking.

        For every seed and every target (a property may take a list of values; lists of
        several properties are zipped), ``n`` candidates are made: part of the seed's
        molecule tokens is masked (by default spans in its side chains, keeping its
        scaffold: :class:`~sciml.rt.generation.Masker`), the property block is set to the
        target (properties not in ``targets`` get the model's prediction for the seed), and
        the masks are filled. Each candidate is filled ``best_of`` times and keeps the fill
        the model itself predicts closest to the target (self-consistency reranking; with
        ``pool`` > 1, ``pool * n`` candidates are made and the ``n`` best kept); a
        candidate with no valid fill (RDKit cannot parse it, or a chemistry filter refuses
        it) is filled again up to ``max_retries`` times. While a seed and target have fewer
        than ``n`` distinct accepted molecules, further rounds make new candidates, up to
        ``max_rounds``; a shortfall left is reported in a
        :class:`~sciml.rt.generation.GenerationWarning` and in ``attrs["shortfall"]``.

        Parameters
        ----------
        seed_smiles : sequence of str
            Starting molecules; invalid ones (unparsable, too long, or holding a token
            outside the model's vocabulary, named) follow ``errors``.
        targets : mapping
            ``{"qed": 0.8}`` or ``{"qed": [0.2, 0.5, 0.8]}``. Unknown names raise
            :class:`~sciml.rt.UnknownPropertyError` listing the known ones.
        config : GenerationConfig, optional
            Every generation option (:class:`~sciml.rt.generation.GenerationConfig`: ``n``,
            ``mask_fraction`` -- the locality knob --, ``mask``, ``temperature``,
            ``best_of``, ``exclude``, ``errors``, ``seed``, ...).
        **options
            Fields of :class:`~sciml.rt.generation.GenerationConfig` replacing those of
            ``config``, e.g. ``generate(seeds, {"qed": 0.8}, n=5, mask_fraction=0.4)``.

        Returns
        -------
        pandas.DataFrame
            One row per valid, distinct (canonical) molecule per seed and target, with
            columns ``seed``, ``target_<p>``, ``smiles``, ``predicted_<p>`` (the model's
            prediction for the generated molecule), ``true_<p>`` (RDKit value where
            computable, e.g. QED; else NaN) and ``is_seed``; at most ``n`` rows per seed and
            target. ``attrs``: ``n_asked``, ``n_returned``, ``n_rounds``, ``n_generated``
            (candidates) = ``n_returned`` + ``n_invalid`` + ``n_filtered`` (``filtered_by``
            per filter) + ``n_duplicates`` + ``n_unchanged`` + ``n_surplus``;
            ``n_retried``, ``n_fills``, ``n_invalid_fills`` and ``n_filtered_fills`` (every
            fill made and how many RDKit could not parse or a filter refused: the quality
            of a single fill), ``n_repaired_fills``, ``shortfall`` and ``invalid_seeds``.
        """
        self._require()
        return generation.generate(
            self, seed_smiles, targets, GenerationConfig.from_options(config, options)
        )

    # ---------------------------------------------------------- persistence
    def save(
        self,
        path: str | os.PathLike,
        *,
        provenance: Mapping | None = None,
        dtype: torch.dtype | None = None,
    ) -> Path:
        """Write a weights-only checkpoint holding the vocabulary, specs and config.

        Parameters
        ----------
        provenance : mapping, optional
            JSON-serialisable record of how the model was made (corpus, molecules seen,
            command, training history), kept in the checkpoint (:attr:`provenance`).
        dtype : torch.dtype, optional
            Store floating-point weights in this type (e.g. ``torch.bfloat16`` halves the
            file); :meth:`load` casts them back to the model's float32.
        """
        net = self._require()
        if dtype is not None:
            import copy

            net = copy.deepcopy(net).to(dtype)
        config = asdict(self.config)
        config["encoder_overrides"] = dict(config["encoder_overrides"])
        config["mask_fraction"] = list(config["mask_fraction"])
        config["context"] = list(config["context"])
        extra = {
            "format": _FORMAT,
            "tokenizer": json.dumps(self.tokenizer.to_dict()),
            "fingerprint": self.tokenizer.fingerprint,
            "config": json.dumps(config),
        }
        if provenance is not None or self.provenance is not None:
            extra["provenance"] = json.dumps(
                provenance if provenance is not None else self.provenance, default=float
            )
        if self.domain is not None:
            # Packed fingerprints as a uint8 tensor: weights-only loadable, no pickle.
            extra["domain"] = json.dumps(self.domain.describe())
            extra["domain_fingerprints"] = torch.from_numpy(self.domain.fingerprints.copy())
        return save_checkpoint(path, net, extra=extra)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        *,
        tokenizer: SmilesTokenizer | None = None,
        map_location: str | torch.device | None = None,
    ) -> RegressionTransformer:
        """Rebuild a saved model (``torch.load(weights_only=True)``).

        Parameters
        ----------
        tokenizer : SmilesTokenizer, optional
            Check that the model was trained with this vocabulary; a different one is
            refused with :class:`~sciml.chem.VocabularyMismatchError`.
        """
        payload = load_checkpoint(path, map_location=map_location or default_device())
        extra = payload.get("extra") or {}
        if extra.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a saved RegressionTransformer")
        saved = SmilesTokenizer.from_dict(json.loads(extra["tokenizer"]))
        saved.check_fingerprint(extra["fingerprint"])
        if tokenizer is not None and tokenizer.fingerprint != saved.fingerprint:
            raise VocabularyMismatchError(
                f"{path} was trained with vocabulary {saved.fingerprint[:12]}, not the given "
                f"{tokenizer.fingerprint[:12]}; token ids would mean different tokens"
            )
        if (payload["model"].get("hparams") or {}).get("vocab") != saved.vocab:
            raise VocabularyMismatchError(f"{path}: model vocabulary and stored tokenizer differ")
        config = json.loads(extra["config"])
        if isinstance(config, dict) and "mask_fraction" in config:
            config["mask_fraction"] = tuple(config["mask_fraction"])
        if isinstance(config, dict) and "context" in config:
            config["context"] = tuple(config["context"])
        if isinstance(config, dict):
            # Saved before span slack existed: trained without [PAD] slots, so generation
            # must not offer them (the dataclass default is for new training runs).
            config.setdefault("span_slack", 0.0)
        config = dataclass_from_dict(RTConfig, config, path)
        net = rebuild_model(payload, expected=RegressionTransformerNet, source=path)
        specs = [dataclass_from_dict(PropertySpec, s, path) for s in net.hparams["specs"]]
        rt = cls(specs, config, saved)
        rt.net = net.float().eval()
        if "provenance" in extra:
            rt.provenance = json.loads(extra["provenance"])
        if "domain_fingerprints" in extra:  # checkpoints saved before sciml stored one have none
            rt.domain = TrainingDomain.from_arrays(
                extra["domain_fingerprints"].cpu().numpy(), json.loads(extra["domain"])
            )
        return rt

    def __repr__(self) -> str:
        if self.net is None:
            return f"RegressionTransformer(untrained, size={self.config.size!r})"
        return f"RegressionTransformer({self.numbers!r}, size={self.config.size!r})"
