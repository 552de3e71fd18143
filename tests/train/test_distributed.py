import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch


@pytest.mark.slow
def test_ddp_two_cpu_ranks_end_identical_and_only_rank0_writes(tmp_path):
    script = Path(__file__).with_name("_ddp_script.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SCIML_DEVICE": "cpu"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            str(script),
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank_{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world"] == 2 for r in ranks)
    assert ranks[1]["saves"] == []
    assert any(s.endswith("last.pt") for s in ranks[0]["saves"])
    w0 = torch.load(tmp_path / "weights_0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "weights_1.pt", weights_only=True)
    for key in w0:
        assert torch.equal(w0[key], w1[key]), key
    # the model actually moved away from its initialisation
    torch.manual_seed(0)
    from sciml.train import RegressionMLP

    init = RegressionMLP(8, 3, hidden=(16,)).state_dict()
    assert not torch.equal(init["net.0.weight"], w0["net.0.weight"])
