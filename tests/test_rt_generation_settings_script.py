"""benchmarks/rt_generation_settings.py: the rule that picks the pool of candidates."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _row(spearman, tanimoto, cost=30.0, returned=160, asked=160):
    return {
        "spearman": spearman,
        "tanimoto_mean": tanimoto,
        "cpu_seconds_per_200": cost,
        "n_returned": returned,
        "n_asked": asked,
    }


def _results(rows: dict) -> dict:
    from benchmarks.rt_generation_settings import (
        BOUND_INCUMBENT,
        POOL_SWEEP,
        POOL_SWEEP2,
        SEED_SETS,
    )

    out = {}
    for name in (BOUND_INCUMBENT, *POOL_SWEEP, *POOL_SWEEP2):
        for k, s in enumerate(SEED_SETS):
            out[f"{name}/{s}"] = rows.get(name, (_row(0.3, 0.3), _row(0.3, 0.3)))[k]
    return out


def test_goal_score_is_the_worst_goal_ratio_over_both_seed_sets():
    from benchmarks.rt_generation_settings import goal_score

    assert goal_score([_row(0.6, 0.55), _row(0.5, 0.7)]) == pytest.approx(1.0)
    assert goal_score([_row(0.6, 0.4), _row(0.7, 0.7)]) == pytest.approx(0.8)
    assert goal_score([_row(float("nan"), 0.9), _row(0.7, 0.7)]) == float("-inf")


def test_choose_pool_takes_the_best_goal_score_within_cost_and_yield():
    from benchmarks.rt_generation_settings import BOUND_INCUMBENT, choose_pool

    assert choose_pool({}) is None  # nothing measured yet
    rows = {
        BOUND_INCUMBENT: (_row(0.45, 0.39), _row(0.36, 0.40)),
        "pool4_best16_sim1": (_row(0.5, 0.45), _row(0.42, 0.44)),  # score 0.84
    }
    rows["pool2_best32_sim1"] = (_row(0.6, 0.6, cost=61.0), _row(0.6, 0.6))  # over the cap
    assert choose_pool(_results(rows)) == "pool4_best16_sim1"
    # too few molecules returned disqualifies as well
    rows["pool8_best8_sim1"] = (_row(0.7, 0.7), _row(0.7, 0.7, returned=120))
    assert choose_pool(_results(rows)) == "pool4_best16_sim1"
    # a score within 0.01 of the best goes to the cheaper setting
    rows["pool4_best16_sim03"] = (_row(0.42, 0.9, cost=20.0), _row(0.9, 0.9, cost=20.0))
    assert choose_pool(_results(rows)) == "pool4_best16_sim03"
    # nothing affordable: the incumbent stays
    expensive = {n: (_row(0.9, 0.9, cost=99.0),) * 2 for n in _results({})}
    expensive = {k.split("/")[0]: v for k, v in expensive.items()}
    assert choose_pool(_results(expensive)) == BOUND_INCUMBENT
