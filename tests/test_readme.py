"""The README's code examples run and do what the text says."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _trainer_example() -> str:
    text = README.read_text()
    section = text.split("## The Trainer in ten lines", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_trainer_example_is_reproducible(tmp_path, monkeypatch):
    code = _trainer_example()
    assert "max_epochs=50" in code and 'checkpoint_dir="runs/mlp"' in code
    code = code.replace("max_epochs=50", "max_epochs=2").replace(
        "TrainConfig(", "TrainConfig(progress=False, "
    )
    monkeypatch.chdir(tmp_path)
    preds = []
    for _ in range(2):
        namespace: dict = {}
        exec(compile(code, str(README), "exec"), namespace)
        preds.append(namespace["pred"])
    assert preds[0].shape == (200, 3)
    np.testing.assert_array_equal(preds[0], preds[1])
