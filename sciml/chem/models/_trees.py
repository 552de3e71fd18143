"""A regression forest as plain arrays: built from scikit-learn, stored as ``.npz``.

scikit-learn forests can only be persisted by pickling, and a checkpoint must never
unpickle arbitrary objects. A fitted forest is fully described by its trees' node arrays
(children, split feature, threshold, leaf value), so those are copied out and a small
vectorised traversal predicts from them, reproducing scikit-learn's predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ForestArrays"]

_LEAF = -1
_FIELDS = ("left", "right", "feature", "threshold", "value", "roots")
# Rows traversed at once; bounds the (rows, trees) node-index work array.
_CHUNK = 4096


@dataclass(frozen=True)
class ForestArrays:
    """All trees of a forest, concatenated.

    Attributes
    ----------
    left, right : numpy.ndarray
        ``(M,)`` int64 child node of each of the ``M`` nodes (global numbering); -1 at leaves.
    feature : numpy.ndarray
        ``(M,)`` int64 split feature (unused at leaves).
    threshold : numpy.ndarray
        ``(M,)`` float64; a sample goes left when ``float32(x[feature]) <= threshold``,
        as in scikit-learn, which compares float32 inputs.
    value : numpy.ndarray
        ``(M,)`` float64 mean training target of each node (read at leaves).
    roots : numpy.ndarray
        ``(n_trees,)`` int64 root node of each tree.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    roots: np.ndarray

    @classmethod
    def from_sklearn(cls, forest) -> ForestArrays:
        """Copy the node arrays out of a fitted single-output ``RandomForestRegressor``."""
        parts: dict[str, list[np.ndarray]] = {name: [] for name in _FIELDS}
        offset = 0
        for estimator in forest.estimators_:
            tree = estimator.tree_
            if tree.n_outputs != 1:
                raise ValueError("ForestArrays holds single-output regression forests only")
            left = tree.children_left.astype(np.int64)
            right = tree.children_right.astype(np.int64)
            parts["left"].append(np.where(left == _LEAF, _LEAF, left + offset))
            parts["right"].append(np.where(right == _LEAF, _LEAF, right + offset))
            parts["feature"].append(tree.feature.astype(np.int64))
            parts["threshold"].append(tree.threshold.astype(np.float64))
            parts["value"].append(tree.value.reshape(tree.node_count).astype(np.float64))
            parts["roots"].append(np.array([offset], dtype=np.int64))
            offset += tree.node_count
        return cls(**{name: np.concatenate(arrays) for name, arrays in parts.items()})

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return len(self.roots)

    def leaf_values(self, x: np.ndarray) -> np.ndarray:
        """Each tree's prediction.

        Parameters
        ----------
        x : numpy.ndarray
            ``(n, D)`` features, no NaN.

        Returns
        -------
        numpy.ndarray
            ``(n, n_trees)`` float64 leaf values.
        """
        x = np.asarray(x, dtype=np.float32)
        out = np.empty((len(x), self.n_trees))
        for start in range(0, len(x), _CHUNK):
            block = x[start : start + _CHUNK]
            rows = np.arange(len(block))[:, None]
            node = np.broadcast_to(self.roots, (len(block), self.n_trees)).copy()
            while True:
                inner = self.left[node] != _LEAF
                if not inner.any():
                    break
                go_left = block[rows, self.feature[node]] <= self.threshold[node]
                child = np.where(go_left, self.left[node], self.right[node])
                node = np.where(inner, child, node)
            out[start : start + len(block)] = self.value[node]
        return out

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forest mean and the standard deviation over trees, both ``(n,)``."""
        leaves = self.leaf_values(x)
        return leaves.mean(axis=1), leaves.std(axis=1)

    def to_dict(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays keyed ``prefix + field`` for :func:`numpy.savez`."""
        return {prefix + name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, arrays, prefix: str) -> ForestArrays:
        """Inverse of :meth:`to_dict` (``arrays`` may be an open ``NpzFile``)."""
        return cls(**{name: np.asarray(arrays[prefix + name]) for name in _FIELDS})
