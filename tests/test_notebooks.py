"""Notebooks are documentation that runs: CI executes them (pytest --nbmake); here we check
that they are committed clean."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_one_notebook_per_capability():
    names = [p.name for p in NOTEBOOKS]
    assert names[0] == "00_quickstart.ipynb"
    for stem in ("adme_domain_adaptation", "regression_transformer", "multitask_deeponet"):
        assert any(stem in name for name in names), names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_cleared(path):
    notebook = json.loads(path.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code, "a notebook without code"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
