"""Run by torchrun in test_distributed.py: train on 2 CPU ranks with gloo."""

import json
import sys
from pathlib import Path

import torch

import sciml.train.trainer as trainer_module
from sciml.train import (
    ArrayDataset,
    MultiTaskRegression,
    RegressionMLP,
    TrainConfig,
    Trainer,
    distributed,
)
from sciml.train.synthetic import make_multitask_regression


def main() -> None:
    """Train with a counting checkpoint writer and save this rank's weights."""
    out = Path(sys.argv[1])
    calls = []
    original = trainer_module.save_checkpoint

    def counting_save(path, *args, **kwargs):
        calls.append(str(path))
        return original(path, *args, **kwargs)

    trainer_module.save_checkpoint = counting_save
    x, y, _ = make_multitask_regression(256, seed=1)
    torch.manual_seed(0)
    model = RegressionMLP(8, 3, hidden=(16,))
    config = TrainConfig(
        max_epochs=3, batch_size=32, progress=False, checkpoint_dir=str(out / "ckpt")
    )
    trainer = Trainer(model, MultiTaskRegression(["a", "b", "c"]), config)
    trainer.fit(ArrayDataset(x=x, y=y))
    rank = distributed.rank()
    torch.save(trainer.raw_model.state_dict(), out / f"weights_{rank}.pt")
    (out / f"rank_{rank}.json").write_text(
        json.dumps({"world": distributed.world_size(), "saves": calls})
    )


if __name__ == "__main__":
    main()
