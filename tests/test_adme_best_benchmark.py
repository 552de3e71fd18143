"""benchmarks/adme_best.py: the Fang pool of all endpoints never holds a scored test molecule.

``--parts fang_multi`` fits each Fang endpoint from the authors' training sets of all six
endpoints; the endpoint being scored must not see its test molecules (under any notation),
and no test label of any endpoint may enter the pool. The report's weights-only combination
is the members' weighted sum. ``adme_kernel_probe``'s declared rule decides as written.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def test_fang_pool_leaves_out_the_scored_test_set_and_every_test_label(shared_data):
    import adme_best as bench

    from sciml.chem import load_fang_split
    from sciml.chem.smiles import canonicalize_batch

    def canon(frame):
        return set(canonicalize_batch(frame["smiles"].tolist(), errors="nan").values) - {None}

    splits = {e: load_fang_split(e) for e in bench.ENDPOINTS}
    full = bench._fang_pool(set())
    for e, split in splits.items():
        train, test = canon(split.train), canon(split.test)
        labelled = set(full.index[full[e].notna()])
        assert labelled == train, e  # labels of e come from e's training set only
        assert not (test - train) & labelled  # no test label of e, whatever the notation
    scored = "rPPB"
    test = canon(splits[scored].test)
    pool = bench._fang_pool(test)
    assert not set(pool.index) & test and len(pool) == len(full) - len(set(full.index) & test)
    assert pool.index.is_unique and list(pool.columns) == bench.ENDPOINTS


def test_weights_only_is_the_weighted_sum_of_the_members():
    import adme_best as bench

    rng = np.random.default_rng(0)
    members = {m: rng.normal(size=(4, len(bench.ENDPOINTS))) for m in ("a", "b")}
    weights = {e: {"a": 0.25, "b": 0.75} for e in bench.ENDPOINTS}
    fold = {"members": {m: p.tolist() for m, p in members.items()}, "weights": weights}
    np.testing.assert_allclose(bench.weights_only(fold), 0.25 * members["a"] + 0.75 * members["b"])
    fold["pred"] = bench.weights_only(fold).copy()
    fold["pred"][:, 1] += 0.1  # RLM corrected, the others not
    assert bench.corrected(fold) == ["RLM"]
    fold["cross_endpoint"] = {"HLM": {"kept": True}, "RLM": {"kept": False}}
    assert bench.corrected(fold) == ["HLM"]  # the stored decisions win when present
    with pytest.raises(KeyError):
        bench.weights_only({"members": fold["members"], "weights": {}})


def test_kernel_probe_rule_needs_a_mean_gain_and_no_endpoint_losing():
    import adme_kernel_probe as probe
    import pandas as pd

    def table(gains):
        return pd.DataFrame(
            [
                {"fold": 0, "endpoint": e, "without kept": 0.4, "with kernel kept": 0.4 + g}
                for e, g in zip(probe.ENDPOINTS, gains, strict=True)
            ]
        )

    met, gain = probe.decide(table([0.01] * 6))
    assert met and gain.mean() == pytest.approx(0.01)
    assert not probe.decide(table([0.004] * 6))[0]  # mean gain below 0.005
    assert not probe.decide(table([0.03, 0.03, 0.03, 0.03, 0.03, -0.006]))[0]  # one loses
