"""benchmarks/gpu_pretrain.py: refuses a CPU, plans to the budget, and runs dry on a CPU."""

import sys
from argparse import Namespace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

pytestmark = pytest.mark.usefixtures("one_thread")


def test_refuses_without_a_gpu(monkeypatch, tmp_path):
    import gpu_pretrain
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA GPU is visible.*--dry-run"):
        gpu_pretrain.main(["--results", str(tmp_path)])
    assert not list(tmp_path.iterdir())  # refused before writing anything


def test_plan_fills_ninety_percent_of_the_budget():
    from gpu_pretrain import _plan

    args = Namespace(epoch_size=100_000)
    assert _plan(5_000.0, 540.0, args) == 24  # 0.9 * 5000 * 540 = 2.43M molecules
    assert _plan(10.0, 60.0, args) == 1  # always at least one epoch


def test_dry_run_end_to_end(shared_data, tmp_path, monkeypatch):
    import gpu_pretrain

    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))
    gpu_pretrain.main(
        [
            "--dry-run",
            "--results",
            str(tmp_path / "results"),
            "--checkpoint",
            str(tmp_path / "tiny.pt"),
        ]
    )
    report = (tmp_path / "results" / "gpu_pretrain.md").read_text()
    assert "| molecules seen |" in report and "CPU (dry run)" in report
    study = tmp_path / "results" / "gpu_tiny" / "adme_domain_adaptation.md"
    assert "MLM-MOSES + MTR-DA + fine-tuning" in study.read_text()
    assert (tmp_path / "tiny.pt").is_file()
