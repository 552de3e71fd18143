"""The SMILES transformer as a molecular property model: pre-train, domain-adapt, predict.

:class:`TransformerModel` has the interface of the other molecular models
(:class:`sciml.chem.models.base.MoleculeModel`): ``fit(smiles, y_df)``,
``predict(smiles, errors=, return_std=)``, ``save(dir)``, ``load(dir)``. Its ``fit`` runs
the study's pipeline on the training molecules only: load a pre-trained stage (or start
from a random encoder), domain-adapt it, then either

- ``head="rf"``: freeze it and fit one random forest per endpoint on the [CLS] embeddings
  (Sultan et al., 2025), or with ``features="embedding+descriptors"`` on the embeddings
  concatenated with the RDKit physchem descriptors of
  :class:`~sciml.chem.models.rf.RandomForestModel` (undefined values set to the training
  medians); the uncertainty is the spread over the forest's trees;
- ``head="finetune"``: fine-tune encoder and an endpoint head on all endpoints at once,
  missing labels masked; the uncertainty is MC dropout (``mc_samples`` stochastic passes).

The network, its training stages and their checkpoints live in
:mod:`sciml.chem.transformer`; this module only composes them into a model.

Examples
--------
>>> import pandas as pd
>>> smiles = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "Cc1ccccc1"] * 3
>>> y = pd.DataFrame({"logp": [-0.3, 0.1, 0.9, 1.4, 2.1, 2.7] * 3})
>>> model = TransformerModel(pretrained=None, size="tiny", adapt="mtr", adapt_epochs=1,
...                          n_estimators=10)
>>> model.fit(smiles, y).predict(["CCCCCCO"], return_std=True).columns.tolist()
['logp', 'logp_std']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sciml.chem.descriptors import descriptor_names
from sciml.chem.models._trees import ForestArrays
from sciml.chem.models.base import LabelledSet, MoleculeModel, file_inside
from sciml.chem.models.rf import physchem_features, training_medians
from sciml.chem.tokenizer import SmilesTokenizer, TokenizationError
from sciml.chem.transformer.data import SmilesTokenDataset, encode_smiles, make_loader
from sciml.chem.transformer.stages import (
    PRECISIONS,
    Stage,
    adapt,
    embed,
    load_stage,
    pretrain,
    run_batches,
    save_stage,
)
from sciml.train import MultiTaskObjective, TrainConfig, Trainer
from sciml.train.checkpoint import CheckpointError

__all__ = ["FEATURES", "HEADS", "TransformerConfig", "TransformerModel"]

#: Downstream heads: frozen embeddings + random forest, or full fine-tuning.
HEADS = ("rf", "finetune")
#: Inputs of the random-forest head.
FEATURES = ("embedding", "embedding+descriptors")
_ADAPT = ("mtr", "mlm", "both", "none")
_ENCODER_FILE = "encoder.pt"
_FORESTS_FILE = "forests.npz"


@dataclass(frozen=True)
class TransformerConfig:
    """Hyper-parameters of :class:`TransformerModel`.

    Attributes
    ----------
    pretrained : str or None
        The encoder to start from: the file name of an encoder shipped in ``sciml/assets``
        (see :func:`sciml.asset_path`) or a stage checkpoint from
        :func:`~sciml.chem.transformer.pretrain` (or ``adapt``). Default: the ``small``
        encoder pre-trained by MLM on 1M MOSES molecules (``"moses_mlm_small.pt"``,
        ``sciml/assets/README.md``). ``None`` (or ``"none"``) starts from a randomly
        initialised encoder of ``size`` whose vocabulary is built from the training SMILES.
    size : str
        Encoder size when ``pretrained`` is None.
    adapt : {"mtr", "mlm", "both", "none"}
        Domain adaptation on the training molecules before the head.
    adapt_epochs, adapt_lr : int, float
        Length and peak learning rate of domain adaptation (30 at 1e-3: the recipe
        that helped in ``benchmarks/results/adme_domain_adaptation.md``; 5 or 20 epochs at
        2e-4 made the embeddings worse).
    head : {"rf", "finetune"}
        Frozen embeddings + random forest, or multi-task fine-tuning.
    features : {"embedding", "embedding+descriptors"}
        Inputs of the random-forest head: the [CLS] embedding ``(B, d)``, or it concatenated
        with the RDKit descriptors ``(B, d + D)``.
    n_estimators, max_features, min_samples_leaf : random-forest head.
    finetune_epochs, finetune_lr : fine-tuning length and peak learning rate.
    batch_size : int
        Molecules per training batch.
    mc_samples : int
        Stochastic (dropout-on) passes for the fine-tuned head's uncertainty.
    seed : int
        Seeds every stage.
    n_jobs : int or None
        Threads for the forests, processes for descriptors.
    progress : bool
        Progress bars while training.
    descriptor_cache : bool
        Use the on-disk descriptor cache for ``features="embedding+descriptors"``
        (``sciml predict`` switches it off: a prediction file's molecules are seen once).
    precision : {"auto", "fp32", "bf16"}
        Autocast of every encoder pass: domain adaptation and fine-tuning (fp32 master
        weights) as well as embeddings for the forests and predictions. ``auto`` is bf16 on
        CUDA and fp32 elsewhere; ``bf16`` on a CPU with AVX512-BF16 or AMX is faster
        (``benchmarks/adme_domain_adaptation.py``, ``benchmarks/demo_recipe.py``).
    """

    pretrained: str | None = "moses_mlm_small.pt"
    size: str = "small"
    adapt: str = "mtr"
    adapt_epochs: int = 30
    adapt_lr: float = 1e-3
    head: str = "rf"
    features: str = "embedding"
    n_estimators: int = 300
    max_features: float = 1 / 3
    min_samples_leaf: int = 1
    finetune_epochs: int = 30
    finetune_lr: float = 1e-4
    batch_size: int = 64
    mc_samples: int = 20
    seed: int = 0
    n_jobs: int | None = None
    progress: bool = False
    precision: str = "auto"
    descriptor_cache: bool = True

    def __post_init__(self):
        if isinstance(self.pretrained, str) and self.pretrained.strip().lower() in ("", "none"):
            object.__setattr__(self, "pretrained", None)
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"unknown precision {self.precision!r}; choose one of: {', '.join(PRECISIONS)}"
            )
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; choose one of: {', '.join(HEADS)}")
        if self.adapt not in _ADAPT:
            raise ValueError(f"unknown adapt {self.adapt!r}; choose one of: {', '.join(_ADAPT)}")
        if self.features not in FEATURES:
            raise ValueError(
                f"unknown features {self.features!r}; choose one of: {', '.join(FEATURES)}"
            )
        if self.features != "embedding" and self.head != "rf":
            raise ValueError(f"features={self.features!r} needs head='rf'")


def resolve_pretrained(value: str | Path) -> Path:
    """The file of ``TransformerConfig.pretrained``: a path, or a shipped encoder's name.

    Raises
    ------
    FileNotFoundError
        Neither a file nor the name of a checkpoint in ``sciml/assets``; the message lists
        the shipped ones.
    """
    path = Path(value)
    if path.is_file():
        return path
    if path.name == str(value):  # a bare name: look it up among the shipped assets
        from sciml import asset_path

        try:
            return asset_path(str(value))
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f"pretrained={str(value)!r} is neither a file nor a shipped encoder ({err})"
            ) from None
    raise FileNotFoundError(f"pretrained={str(value)!r}: no such file")


class TransformerModel(MoleculeModel):
    """SMILES transformer (optionally pre-trained and domain-adapted) with an endpoint head.

    Parameters
    ----------
    config : TransformerConfig, optional
        Hyper-parameters.
    **overrides
        Fields of :class:`TransformerConfig` to change.
    """

    name = "transformer"
    config_cls = TransformerConfig
    trains_in_epochs = True
    # --epochs sets the length of whichever training stages the configuration runs.
    epoch_fields = ("adapt_epochs", "finetune_epochs")
    inference_options = ("precision",)
    # Where the class lived before it moved here; model.json files written then name it.
    former_class_paths = ("sciml.chem.transformer.predictor.TransformerModel",)

    def __init__(self, config: TransformerConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.stage: Stage | None = None
        self.forests: dict[str, ForestArrays] = {}
        self.medians = np.empty(0)  # training medians of the descriptors (features with them)

    @property
    def uncertainty_method(self) -> str:
        """How ``<endpoint>_std`` is estimated."""
        if self.config.head == "rf":
            return "spread (std) of the random forest's per-tree predictions"
        return f"MC dropout: std over {self.config.mc_samples} dropout-on forward passes"

    # --------------------------------------------------------------- fitting
    def _start(self, smiles: list[str]) -> Stage:
        cfg = self.config
        if cfg.pretrained is not None:
            return load_stage(resolve_pretrained(cfg.pretrained))
        return pretrain(
            [],
            size=cfg.size,
            n_molecules=0,
            seed=cfg.seed,
            progress=False,
            tokenizer=SmilesTokenizer.build_vocab(smiles),
        )

    def _fit(self, train: LabelledSet, val: LabelledSet | None, checkpoints=None) -> None:
        cfg = self.config
        stage = self._start(train.smiles)
        if cfg.adapt != "none":
            stage = adapt(
                stage,
                train.smiles,
                objective=cfg.adapt,
                epochs=cfg.adapt_epochs,
                lr=cfg.adapt_lr,
                batch_size=cfg.batch_size,
                seed=cfg.seed,
                progress=cfg.progress,
                n_jobs=cfg.n_jobs,
                checkpoints=checkpoints,
                run="adapt",
                precision=cfg.precision,
            )
        if cfg.head == "rf":
            self._fit_forests(stage, train)
        else:
            stage = self._finetune(stage, train, val, checkpoints)
        self.stage = stage

    def _fit_forests(self, stage: Stage, train: LabelledSet) -> None:
        from sklearn.ensemble import RandomForestRegressor

        cfg = self.config
        x = embed(stage, train.smiles, errors="nan", precision=self.config.precision)
        usable = ~np.isnan(x).any(1)
        self.medians = np.empty(0)
        if cfg.features == "embedding+descriptors":
            descriptors = physchem_features(
                train.smiles, n_jobs=cfg.n_jobs, cache=cfg.descriptor_cache
            )
            self.medians = training_medians(descriptors[usable])
            x = np.hstack([x, np.where(np.isnan(descriptors), self.medians, descriptors)])
        self.forests = {}
        for t, target in enumerate(self.targets):
            rows = usable & ~np.isnan(train.y[:, t])
            forest = RandomForestRegressor(
                n_estimators=cfg.n_estimators,
                max_features=cfg.max_features,
                min_samples_leaf=cfg.min_samples_leaf,
                random_state=cfg.seed,
                n_jobs=cfg.n_jobs,
            )
            forest.fit(
                x[rows],
                train.y[rows, t],
                sample_weight=self.tasks[t].sample_weight(train.y[rows, t]),
            )
            self.forests[target] = ForestArrays.from_sklearn(forest)

    def _finetune(
        self, stage: Stage, train: LabelledSet, val: LabelledSet | None, checkpoints=None
    ) -> Stage:
        cfg = self.config
        model = stage.model.with_heads(endpoint_names=self.targets)
        max_len = model.encoder.max_len

        def loader(data: LabelledSet, shuffle: bool):
            ds = SmilesTokenDataset(
                data.smiles, stage.tokenizer, max_len, targets=data.y, errors="skip"
            )
            return make_loader(ds, cfg.batch_size, shuffle=shuffle, seed=cfg.seed)

        config = TrainConfig(
            max_epochs=cfg.finetune_epochs,
            batch_size=cfg.batch_size,
            lr=cfg.finetune_lr,
            weight_decay=0.01,
            warmup=0.1,
            seed=cfg.seed,
            progress=cfg.progress,
            patience=10 if val is not None else None,
            precision=cfg.precision,
        )
        resume = None
        if checkpoints is not None:
            config, resume = checkpoints.apply(config, "finetune")
        trainer = Trainer(model, self._objective(), config)
        history = trainer.fit(
            loader(train, True), loader(val, False) if val else None, resume=resume
        )
        self.fit_info["finetune_epochs_run"] = len(history)
        return Stage(model.cpu().eval(), stage.tokenizer, stage.info, history)

    # ------------------------------------------------------------ predicting
    def _input_problems(self, smiles: list[str]) -> dict[int, str]:
        tokenizer, max_len = self.stage.tokenizer, self.stage.model.encoder.max_len
        problems = {}
        for i, text in enumerate(smiles):
            try:
                n_tokens = len(tokenizer.encode(text))
            except TokenizationError as exc:
                problems[i] = str(exc)
                continue
            if n_tokens > max_len:
                problems[i] = (
                    f"{n_tokens} tokens, longer than the model's maximum of {max_len} tokens"
                )
        return problems

    def _predict(self, smiles: list[str], return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        stage = self.stage
        ids, _, _ = encode_smiles(smiles, stage.tokenizer, stage.model.encoder.max_len, "nan")
        ok = np.array([len(r) > 0 for r in ids], dtype=bool)
        mean = np.full((len(smiles), len(self.targets)), np.nan)
        std = np.full_like(mean, np.nan)
        kept = [r for r in ids if len(r)]
        if not kept:
            return mean, std if return_std else None
        pad = stage.tokenizer.pad_id
        if self.config.head == "rf":
            x = run_batches(stage.model, kept, 256, pad_id=pad, precision=self.config.precision)[
                "embedding"
            ]
            if self.config.features == "embedding+descriptors":
                valid = [s for s, keep in zip(smiles, ok, strict=True) if keep]
                x = np.hstack(
                    [
                        x,
                        physchem_features(
                            valid,
                            self.medians,
                            n_jobs=self.config.n_jobs,
                            cache=self.config.descriptor_cache,
                        ),
                    ]
                )
            for t, target in enumerate(self.targets):
                mean[ok, t], std[ok, t] = self.forests[target].predict(x)
        else:
            model = stage.model
            z = run_batches(
                model, kept, 256, keys=("endpoints",), pad_id=pad, precision=self.config.precision
            )["endpoints"]
            mean[ok] = self._decode(z)
            if return_std:
                std[ok] = self._mc_dropout_std(kept, pad)
        return mean, std if return_std else None

    def _objective(self) -> MultiTaskObjective:
        """The fine-tuning objective: each endpoint's loss and decoding from its task."""
        return MultiTaskObjective(self.tasks, output_key="endpoints")

    def _decode(self, z: np.ndarray) -> np.ndarray:
        """Head outputs ``(n, T)`` to model units (regression values, binary probabilities)."""
        outputs = {"endpoints": torch.from_numpy(z)}
        return self._objective().decode(outputs, {}, self.stage.model)["pred"].numpy()

    def _mc_dropout_std(self, ids: list[np.ndarray], pad: int) -> np.ndarray:
        model = self.stage.model
        generator_state = torch.get_rng_state()
        torch.manual_seed(self.config.seed)  # repeatable uncertainties for the same input
        draws = []
        try:
            for _ in range(self.config.mc_samples):
                model.train()  # dropout on; no batch statistics exist to disturb
                z = run_batches(
                    model,
                    ids,
                    256,
                    keys=("endpoints",),
                    pad_id=pad,
                    train=True,
                    precision=self.config.precision,
                )
                draws.append(self._decode(z["endpoints"]))
        finally:
            model.eval()
            torch.set_rng_state(generator_state)
        return np.std(draws, axis=0, ddof=1)

    # ----------------------------------------------------------- persistence
    def _save(self, directory: Path) -> dict[str, Any]:
        save_stage(self.stage, directory / _ENCODER_FILE)
        extra: dict[str, Any] = {"encoder": _ENCODER_FILE, "uncertainty": self.uncertainty_method}
        if self.forests:
            arrays = {}
            for t, target in enumerate(self.targets):
                arrays.update(self.forests[target].to_dict(f"t{t}_"))
            if self.medians.size:
                arrays["medians"] = self.medians
                extra["descriptor_names"] = descriptor_names()
            np.savez_compressed(directory / _FORESTS_FILE, **arrays)
            extra["forests"] = _FORESTS_FILE
        return extra

    def _load(self, directory: Path, extra: dict[str, Any]) -> None:
        self.stage = load_stage(file_inside(directory, extra.get("encoder"), "encoder"))
        if self.config.head == "rf":
            if "forests" not in extra:
                raise CheckpointError(f"{directory} has an rf head but no {_FORESTS_FILE}")
            if self.config.features == "embedding+descriptors":
                if extra.get("descriptor_names") != descriptor_names():
                    raise CheckpointError(
                        f"{directory} was fitted on RDKit descriptors that differ from this "
                        f"RDKit's {len(descriptor_names())}; refit the model"
                    )
            with np.load(
                file_inside(directory, extra["forests"], "forests"), allow_pickle=False
            ) as arrays:
                self.forests = {
                    target: ForestArrays.from_dict(arrays, f"t{t}_")
                    for t, target in enumerate(self.targets)
                }
                self.medians = np.asarray(arrays.get("medians", np.empty(0)))
        elif self.stage.model.endpoint_names != self.targets:
            raise CheckpointError(
                f"{directory}: the network predicts "
                f"{self.stage.model.endpoint_names}, "
                f"model.json says {self.targets}"
            )
