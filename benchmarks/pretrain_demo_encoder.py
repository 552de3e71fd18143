"""Pre-train the small demo encoder shipped as ``sciml/assets/demo_encoder.pt``.

A ``tiny`` encoder (~0.1M parameters, < 1 MB) pre-trained by MLM on 20,000 molecules of
``chembl30_sample`` (seed 0) for 3 epochs, with a vocabulary built from the whole
``chembl30_sample``. It is what the demo and notebooks adapt and fine-tune when no larger
checkpoint is given; it is not meant to be competitive.

Run: ``SCIML_DATA_DIR=../shared/data .venv/bin/python benchmarks/pretrain_demo_encoder.py``
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

ASSET = Path(__file__).resolve().parents[1] / "sciml" / "assets" / "demo_encoder.pt"


def main() -> None:
    from sciml.chem.datasets import load_dataset
    from sciml.chem.tokenizer import SmilesTokenizer
    from sciml.chem.transformer import pretrain

    torch.set_num_threads(1)  # fastest for a tiny model on a small shared CPU
    corpus = load_dataset("chembl30_sample")["smiles"].tolist()
    start = time.perf_counter()
    stage = pretrain(
        corpus,
        size="tiny",
        n_molecules=20_000,
        epochs=3,
        batch_size=128,
        lr=1e-3,
        seed=0,
        tokenizer=SmilesTokenizer.build_vocab(corpus),
        output=ASSET,
        progress=False,
        corpus_name="chembl30_sample",
    )
    final = stage.info["stages"][-1]["final"]
    print(
        f"wrote {ASSET} ({ASSET.stat().st_size / 1e6:.2f} MB) in "
        f"{time.perf_counter() - start:.0f} s; final val MLM loss {final.get('val_mlm'):.3f}"
    )


if __name__ == "__main__":
    main()
