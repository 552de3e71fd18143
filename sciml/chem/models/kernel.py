"""Kernel ridge regression on fingerprints and descriptors: the Gaussian-process mean.

A prediction is a weighted sum over training molecules, weighted by a similarity kernel
that mixes two views of a molecule:

- the **MinMax** similarity of Morgan count fingerprints, ``sum_k min(a_k, b_k) /
  sum_k max(a_k, b_k)`` (the Tanimoto similarity generalised to counts);
- a **Gaussian (RBF) kernel on RDKit descriptors**, each descriptor signed-log scaled
  (``sign(x) log(1 + |x|)``), standardised on the training molecules and clipped at
  five standard deviations; undefined values take the training median.

``K = (1 - w) K_minmax + w K_rbf`` with ``w = descriptor_weight``. Gaussian-process
regression with a Tanimoto kernel is the classic strong model for small molecular data
sets, and its errors differ from those of boosted trees, which is why it is a member of
the default recipe (:func:`~sciml.chem.models.best_recipe`; the evidence is in
``benchmarks/results/adme_best.md``).

Per endpoint, the ridge penalty (the GP's noise-to-signal ratio) is chosen from
``alphas`` by the exact leave-one-out error, which one eigendecomposition of the kernel
gives for every penalty at once; with several ``descriptor_weight`` candidates the pair
with the lowest leave-one-out error is kept (``fit_info["kernel"]`` records the choice).
Validation data passed to ``fit`` is not needed and not used.
The cost grows as the cube of the labelled molecules: an endpoint with more than
``max_train`` labels is fitted on a random subset of that size (the subset-of-data
Gaussian process), which ``fit_info`` reports.

Binary endpoints are fitted as a ridge on their 0/1 labels (a linear probability model,
with the task's class weights as row weights) and predictions are clipped to [0, 1].

Saved as ``.npz`` arrays (training fingerprints as a sparse matrix, scaled descriptors,
dual coefficients per endpoint), loaded without unpickling.

Examples
--------
>>> import pandas as pd
>>> smiles = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "Cc1ccccc1", "CCc1ccccc1"]
>>> y = pd.DataFrame({"logp": [-0.3, 0.3, 0.9, 1.4, 2.1, 2.7, 3.2]})
>>> model = KernelModel(n_jobs=1, descriptor_cache=False).fit(smiles, y)
>>> model.predict(["CCCCCCO"]).columns.tolist()
['logp']
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sciml.chem.descriptors import descriptor_names
from sciml.chem.models.base import LabelledSet, MoleculeModel, file_inside
from sciml.chem.models.gbm import morgan_counts
from sciml.chem.models.rf import checked_descriptor_names, physchem_features, training_medians
from sciml.train.checkpoint import CheckpointError

__all__ = ["KernelConfig", "KernelModel", "minmax_kernel"]

_WEIGHTS = "kernel.npz"
# Query rows whose kernel against the training set is built at once (bounds memory:
# 512 x 30,000 stored molecules is 120 MB).
_CHUNK = 512
# Scaled descriptors are clipped at this many training standard deviations.
_CLIP = 5.0


def minmax_kernel(a, b, cap: int) -> np.ndarray:
    """``(n, m)`` MinMax similarity of count fingerprints ``a`` ``(n, F)`` and ``b`` ``(m, F)``.

    ``a`` and ``b`` are scipy sparse matrices of non-negative integer counts at most
    ``cap``. ``min(x, y)`` summed over features equals the number of thresholds
    ``t = 1..cap`` that both counts reach, so the numerator is a sum of sparse binary
    products. Two empty fingerprints have similarity 1.

    Examples
    --------
    >>> from scipy import sparse
    >>> a = sparse.csr_matrix(np.array([[2, 0, 1], [0, 0, 0]]))
    >>> b = sparse.csr_matrix(np.array([[1, 1, 1]]))
    >>> minmax_kernel(a, b, cap=4).round(3).tolist()  # (1 + 0 + 1) / (2 + 1 + 1)
    [[0.5], [0.0]]
    """
    shared = np.zeros((a.shape[0], b.shape[0]))
    for t in range(1, cap + 1):
        at, bt = _at_least(a, t), _at_least(b, t)
        if at.nnz == 0 or bt.nnz == 0:
            break
        shared += (at @ bt.T).toarray()
    total = np.asarray(a.sum(axis=1)).ravel()[:, None] + np.asarray(b.sum(axis=1)).ravel()[None]
    union = total - shared
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, shared / np.maximum(union, 1e-12), 1.0)


def _at_least(m, t: int):
    """Binary sparse matrix of the entries of ``m`` that are ``>= t``."""
    out = m.copy()
    out.data = (out.data >= t).astype(np.float64)
    out.eliminate_zeros()
    return out


@dataclass(frozen=True)
class KernelConfig:
    """Hyper-parameters of :class:`KernelModel`.

    Attributes
    ----------
    radius, n_bits : int
        Morgan count fingerprint settings.
    count_cap : int
        Counts above this are read as this (bounds the MinMax computation).
    descriptor_weight : float or tuple of float
        Weight ``w`` in [0, 1] of the descriptor RBF kernel (``1 - w`` for MinMax). A
        tuple: each endpoint keeps the weight with the lowest leave-one-out error.
    length_scale : float
        RBF length scale, in standard deviations per descriptor (the squared distance is
        divided by ``2 length_scale² D`` for ``D`` descriptors).
    alphas : tuple of float
        Ridge penalties tried per endpoint (leave-one-out picks one).
    max_train : int
        Largest number of labelled molecules one endpoint is fitted on (a random subset
        above it).
    seed : int
        Seed of that subset.
    n_jobs : int or None
        Processes for descriptors and threads for linear algebra (None: all cores).
    descriptor_cache : bool
        Use the on-disk descriptor cache (:func:`~sciml.chem.descriptors.compute_descriptors`).
    """

    radius: int = 2
    n_bits: int = 2048
    count_cap: int = 16
    descriptor_weight: float | tuple[float, ...] = 0.5
    length_scale: float = 1.0
    alphas: tuple[float, ...] = tuple(float(a) for a in np.logspace(-3, 1, 13))
    max_train: int = 5000
    seed: int = 0
    n_jobs: int | None = None
    descriptor_cache: bool = True

    def __post_init__(self):
        for name in ("descriptor_weight", "alphas"):
            value = getattr(self, name)
            if isinstance(value, list):  # model.json and --set store lists
                object.__setattr__(self, name, tuple(value))
        weights = self.candidate_weights
        if not weights or any(_not_number(w) or not 0 <= w <= 1 for w in weights):
            raise ValueError(
                f"descriptor_weight must be in [0, 1] or a non-empty tuple of such, "
                f"got {self.descriptor_weight!r}"
            )
        if not self.alphas or any(_not_number(a) or not a > 0 for a in self.alphas):
            raise ValueError(f"alphas must be positive numbers, got {self.alphas!r}")
        for name, low in (("radius", 0), ("n_bits", 1), ("count_cap", 1), ("max_train", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if _not_number(self.length_scale) or not self.length_scale > 0:
            raise ValueError(f"length_scale must be positive, got {self.length_scale!r}")

    @property
    def candidate_weights(self) -> tuple[float, ...]:
        """The descriptor weights to try (one unless a tuple was given)."""
        if isinstance(self.descriptor_weight, tuple):
            return self.descriptor_weight
        return (self.descriptor_weight,)


def _not_number(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value)


class KernelModel(MoleculeModel):
    """Kernel ridge regression (GP mean) on Morgan counts and RDKit descriptors.

    Parameters
    ----------
    config : KernelConfig, optional
        Hyper-parameters.
    **overrides
        Fields of :class:`KernelConfig` to change.
    """

    name = "kernel"
    config_cls = KernelConfig

    def __init__(self, config: KernelConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.descriptor_names: list[str] = []
        self._train_counts = None  # scipy CSR (n, n_bits), integer counts <= count_cap
        self._train_desc = np.empty((0, 0), dtype=np.float32)  # (n, D) scaled descriptors
        self._medians = np.empty(0)
        self._center = np.empty(0)
        self._scale = np.empty(0)
        self._keep = np.empty(0, dtype=np.int64)
        # per endpoint: training rows, dual coefficients, offset, descriptor weight
        self._fits: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------ features
    def _counts(self, smiles: list[str]):
        from scipy import sparse

        x = morgan_counts(smiles, self.config.radius, self.config.n_bits)
        return sparse.csr_matrix(np.minimum(x, self.config.count_cap).astype(np.float64))

    def _descriptors(self, smiles: list[str]) -> np.ndarray:
        """``(n, D)`` scaled descriptors (training statistics must be set)."""
        x = physchem_features(
            smiles, self._medians, n_jobs=self.config.n_jobs, cache=self.config.descriptor_cache
        )
        return self._scaled(x)

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        x = np.where(np.isfinite(x), x, self._medians)[:, self._keep]
        z = (np.sign(x) * np.log1p(np.abs(x)) - self._center) / self._scale
        return np.clip(z, -_CLIP, _CLIP)

    def _mix(self, counts_a, desc_a: np.ndarray, counts_b, desc_b: np.ndarray, weight: float):
        """``(len(a), len(b))`` kernel: MinMax of counts and RBF of descriptors, mixed."""
        k = np.zeros((desc_a.shape[0], desc_b.shape[0]))
        if weight < 1:
            k += (1 - weight) * minmax_kernel(counts_a, counts_b, self.config.count_cap)
        if weight > 0:
            k += weight * self._rbf(desc_a, desc_b)
        return k

    def _rbf(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = a.astype(np.float64), b.astype(np.float64)
        d2 = (a**2).sum(1)[:, None] + (b**2).sum(1)[None] - 2 * a @ b.T
        width = 2 * self.config.length_scale**2 * max(a.shape[1], 1)
        return np.exp(-np.maximum(d2, 0) / width)

    # ------------------------------------------------------------ fitting
    def _fit(self, train: LabelledSet, val: LabelledSet | None, checkpoints=None) -> None:
        with _blas_threads(self.config.n_jobs):
            self._fit_kernels(train)

    def _fit_kernels(self, train: LabelledSet) -> None:
        self.descriptor_names = descriptor_names()
        raw = physchem_features(
            train.smiles, n_jobs=self.config.n_jobs, cache=self.config.descriptor_cache
        )
        raw = np.where(np.isfinite(raw), raw, np.nan)
        self._medians = training_medians(raw)
        filled = np.where(np.isnan(raw), self._medians, raw)
        logged = np.sign(filled) * np.log1p(np.abs(filled))
        spread = logged.std(axis=0)
        self._keep = np.flatnonzero(spread > 0)
        self._center = logged[:, self._keep].mean(axis=0)
        self._scale = spread[self._keep]
        # float32, as saved: a loaded model predicts exactly what the fitted one did
        self._train_desc = self._scaled(raw).astype(np.float32)
        self._train_counts = self._counts(train.smiles)

        rng = np.random.default_rng(self.config.seed)
        chosen = {}
        for t, target in enumerate(self.targets):
            rows = np.flatnonzero(~np.isnan(train.y[:, t]))
            if len(rows) > self.config.max_train:
                rows = np.sort(rng.choice(rows, self.config.max_train, replace=False))
            chosen[target] = rows
        # Keep only the molecules some endpoint is fitted on (fewer when subsets were drawn).
        used = np.unique(np.concatenate(list(chosen.values())))
        self._train_counts, self._train_desc = self._train_counts[used], self._train_desc[used]
        labels = train.y[used]
        chosen = {target: np.searchsorted(used, rows) for target, rows in chosen.items()}
        # One training kernel per descriptor weight when it fits in memory, else per endpoint.
        shared = len(used) <= self.config.max_train
        grams = {}
        if shared:
            grams = {w: self._gram(None, w) for w in self.config.candidate_weights}
        self._fits, report = {}, {}
        for t, target in enumerate(self.targets):
            rows = chosen[target]
            y = labels[rows, t]
            weights = self.tasks[t].sample_weight(y)
            best = None
            for w in self.config.candidate_weights:
                gram = grams[w][np.ix_(rows, rows)] if shared else self._gram(rows, w)
                fit = _loo_ridge(gram, y, weights, self.config.alphas)
                if best is None or fit["loo_mse"] < best[1]["loo_mse"]:
                    best = (w, fit)
            w, fit = best
            self._fits[target] = {
                "rows": rows,
                "coef": fit["coef"],
                "offset": fit["offset"],
                "weight": float(w),
            }
            report[target] = {
                "descriptor_weight": float(w),
                "alpha": fit["alpha"],
                "loo_rmse": float(np.sqrt(fit["loo_mse"])),
                "n_train": int(len(rows)),
                "subset": bool(len(rows) < np.count_nonzero(~np.isnan(train.y[:, t]))),
            }
        self.fit_info["kernel"] = report

    def _gram(self, rows: np.ndarray | None, weight: float) -> np.ndarray:
        """Kernel among training ``rows`` (None: all stored molecules)."""
        counts, desc = self._train_counts, self._train_desc
        if rows is not None:
            counts, desc = counts[rows], desc[rows]
        return self._mix(counts, desc, counts, desc, weight)

    # ------------------------------------------------------------ prediction
    def _predict(self, smiles: list[str], return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if return_std:
            raise ValueError(
                "the kernel model gives no spread; use a stack or an ensemble "
                "(e.g. --model best) for a standard deviation"
            )
        mean = np.empty((len(smiles), len(self.targets)))
        with _blas_threads(self.config.n_jobs):
            desc = self._descriptors(smiles)
            counts = self._counts(smiles)
            for start in range(0, len(smiles), _CHUNK):
                part = slice(start, start + _CHUNK)
                # one kernel against every stored molecule per descriptor weight
                cache: dict[float, np.ndarray] = {}
                for t, target in enumerate(self.targets):
                    fit = self._fits[target]
                    if fit["weight"] not in cache:
                        cache[fit["weight"]] = self._mix(
                            counts[part],
                            desc[part],
                            self._train_counts,
                            self._train_desc,
                            fit["weight"],
                        )
                    value = fit["offset"] + cache[fit["weight"]][:, fit["rows"]] @ fit["coef"]
                    if self.tasks[t].kind == "binary":
                        value = np.clip(value, 0.0, 1.0)
                    mean[part, t] = value
        return mean, None

    # ------------------------------------------------------------ persistence
    def _save(self, directory: Path) -> dict[str, Any]:
        c = self._train_counts
        arrays = {
            "counts_indptr": c.indptr.astype(np.int64),
            "counts_indices": c.indices.astype(np.int32),
            "counts_data": c.data.astype(np.uint8),
            "descriptors": self._train_desc.astype(np.float32),
            "medians": self._medians,
            "center": self._center,
            "scale": self._scale,
            "keep": self._keep.astype(np.int64),
        }
        for t, target in enumerate(self.targets):
            fit = self._fits[target]
            arrays[f"t{t}_rows"] = fit["rows"].astype(np.int64)
            arrays[f"t{t}_coef"] = fit["coef"]
            arrays[f"t{t}_offset"] = np.array([fit["offset"], fit["weight"]])
        np.savez_compressed(directory / _WEIGHTS, **arrays)
        return {
            "weights": _WEIGHTS,
            "descriptor_names": self.descriptor_names,
            "kernel": self.fit_info.get("kernel", {}),
        }

    def _load(self, directory: Path, extra: dict[str, Any]) -> None:
        self.descriptor_names = checked_descriptor_names(directory, extra)
        if isinstance(extra.get("kernel"), dict):
            self.fit_info["kernel"] = extra["kernel"]
        path = file_inside(directory, extra.get("weights"), "weights")
        try:
            with np.load(path, allow_pickle=False) as arrays:
                a = {key: np.asarray(arrays[key]) for key in arrays.files}
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{path} is not a kernel model's arrays: {exc}") from exc
        try:
            self._restore(a)
        except (KeyError, ValueError, IndexError) as exc:
            raise CheckpointError(f"{path}: malformed kernel model arrays ({exc})") from exc

    def _restore(self, a: dict[str, np.ndarray]) -> None:
        from scipy import sparse

        desc = a["descriptors"]
        n, n_bits = desc.shape[0], self.config.n_bits
        indptr, indices = a["counts_indptr"], a["counts_indices"]
        if indptr.shape != (n + 1,) or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise ValueError("fingerprint row pointers do not match the descriptor rows")
        if indptr[-1] != len(indices) or len(indices) != len(a["counts_data"]):
            raise ValueError("fingerprint arrays have inconsistent lengths")
        if len(indices) and (indices.min() < 0 or indices.max() >= n_bits):
            raise ValueError(f"fingerprint columns outside 0..{n_bits - 1}")
        self._train_counts = sparse.csr_matrix(
            (a["counts_data"].astype(np.float64), indices, indptr), shape=(n, n_bits)
        )
        d = len(descriptor_names())
        keep = a["keep"]
        if a["medians"].shape != (d,) or len(keep) and (keep.min() < 0 or keep.max() >= d):
            raise ValueError("descriptor statistics do not match this RDKit's descriptors")
        if not desc.shape[1] == len(keep) == len(a["center"]) == len(a["scale"]):
            raise ValueError("descriptor columns and statistics differ in length")
        self._train_desc, self._medians, self._keep = desc.astype(np.float32), a["medians"], keep
        self._center, self._scale = a["center"], a["scale"]
        self._fits = {}
        for t, target in enumerate(self.targets):
            rows, coef, (offset, weight) = a[f"t{t}_rows"], a[f"t{t}_coef"], a[f"t{t}_offset"]
            if rows.shape != coef.shape or len(rows) == 0 or rows.min() < 0 or rows.max() >= n:
                raise ValueError(f"endpoint {target!r}: rows and coefficients do not match")
            if not np.all(np.isfinite(coef)) or not 0 <= weight <= 1:
                raise ValueError(f"endpoint {target!r}: non-finite coefficients or bad weight")
            self._fits[target] = {
                "rows": rows,
                "coef": coef,
                "offset": float(offset),
                "weight": float(weight),
            }


def _loo_ridge(
    gram: np.ndarray, y: np.ndarray, weights: np.ndarray | None, alphas: tuple[float, ...]
) -> dict[str, Any]:
    """Weighted kernel ridge with the penalty of lowest exact leave-one-out error.

    Minimises ``sum_i w_i (y_i - f_i)² + alpha ||f||²_K``. With ``s = sqrt(w)``,
    ``G = s K s`` and its eigendecomposition ``Q diag(l) Qᵀ``, the hat matrix for penalty
    ``alpha`` is ``Q diag(l / (l + alpha)) Qᵀ``, so every penalty's leave-one-out
    residuals cost one matrix-vector product.
    """
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    offset = float(np.average(y, weights=w))
    s = np.sqrt(w)
    target = s * (y - offset)
    values, vectors = np.linalg.eigh(s[:, None] * gram * s[None])
    values = np.maximum(values, 0.0)
    projected = vectors.T @ target
    squares = vectors**2
    best = None
    for alpha in alphas:
        shrink = values / (values + alpha)
        leverage = np.minimum(squares @ shrink, 1 - 1e-9)
        residual = (target - vectors @ (shrink * projected)) / (1 - leverage)
        loo = float(np.sum(residual**2) / np.sum(w))
        if best is None or loo < best[0]:
            best = (loo, float(alpha))
    loo, alpha = best
    coef = s * (vectors @ (projected / (values + alpha)))
    return {"coef": coef, "offset": offset, "alpha": alpha, "loo_mse": loo}


def _blas_threads(n: int | None):
    """A context limiting BLAS to ``n`` threads (no limit for None or a non-positive n)."""
    if n is None or n <= 0:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="blas")
