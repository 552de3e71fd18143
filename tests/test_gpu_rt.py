"""benchmarks/gpu_rt.py: refuses without a GPU, and its plan runs end to end at smoke size."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gpu_rt", ROOT / "benchmarks" / "gpu_rt.py")
gpu_rt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_rt)


def test_refuses_without_cuda(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_rt.main([]) == 2
    assert "no CUDA GPU here" in capsys.readouterr().err


def test_plan_trains_the_large_model_then_evaluates_it(tmp_path):
    args = gpu_rt.parse_args(
        ["--out", str(tmp_path / "rt.pt"), "--record", str(tmp_path / "r.json")]
    )
    train, tta, evaluate = gpu_rt.plan(args)
    assert train[train.index("--size") + 1] == "512x8"
    assert train[train.index("--max-minutes") + 1] == "10.0"
    assert train[train.index("--augment") + 1] == "3"  # SMILES enumeration, then its tta
    assert tta[0] == "--choose-tta" and tta[tta.index("--out") + 1] == str(tmp_path / "rt.pt")
    assert evaluate[0] == "--eval-only" and "--record" in evaluate
    plain = gpu_rt.plan(gpu_rt.parse_args(["--augment", "0"]))
    assert len(plain) == 2 and "--augment" not in plain[0]
    for stage in (train, tta, evaluate):  # issue 25's model: the drug corpus, SELFIES
        assert stage[stage.index("--corpus") + 1] == "drug"
        assert stage[stage.index("--language") + 1] == "selfies"
    smoke = gpu_rt.plan(gpu_rt.parse_args(["--dry-run"]))[0]
    assert smoke[smoke.index("--corpus") + 1] == "moses"


def test_dry_run_writes_a_report(tmp_path, shared_data):
    record = tmp_path / "gpu_rt.json"
    assert (
        gpu_rt.main(["--dry-run", "--out", str(tmp_path / "rt.pt"), "--record", str(record)]) == 0
    )
    data = json.loads(record.read_text())
    assert data["train"]["size"] == "32x2" and data["train"]["n_train"] == 2000 * 4
    assert data["choose_tta_rt"]["chosen"] in (1, 2, 4, 8, 16)
    assert data["eval"]["expected"]["scores"]["qed"]["n"] == 50
    assert "## Held-out prediction: QED model" in record.with_suffix(".md").read_text()
