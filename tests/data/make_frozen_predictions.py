"""Write ``tests/data/frozen_predictions.json``: the shipped checkpoints' outputs on fixed inputs.

Run once per intended change of a shipped checkpoint (``sciml/assets/*.pt``), from the
repository root::

    python tests/data/make_frozen_predictions.py

and commit the JSON with the new checkpoint. ``tests/test_frozen_predictions.py`` recomputes
the same outputs and fails when any differs by more than its tolerance, so a silent change in
the tokenizer, the encoder, the digit decoding or the generation code is noticed. Everything
runs on the CPU with one torch thread and deterministic algorithms.
"""

from __future__ import annotations

import json
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent / "frozen_predictions.json"

#: Fixed inputs: drugs and small molecules covering aromatic, charged, ring-closure, halogen
#: and stereo tokens.
SMILES = [
    "CCO",
    "CC(=O)Nc1ccc(O)cc1",
    "CC(=O)Oc1ccccc1C(=O)O",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "O=C(O)c1ccccc1Cl",
    "C[C@@H](N)C(=O)O",
    "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O",
    "c1ccc2c(c1)[nH]c1ccccc12",
    "C[N+](C)(C)CCO",
    "FC(F)(F)c1ccc(Br)cc1",
]
GENERATION_SEEDS = SMILES[1:3]
#: Generation settings of the frozen record, spelled out so that changing a default of
#: ``generate`` does not change it: one round of ``n`` candidates, no chemistry filters, the
#: seed kept when given back, spans of fixed length (the settings before issue 16).
GENERATION_SETTINGS = {
    "mask": "spans",
    "mask_fraction": 0.3,
    "temperature": 1.0,
    "best_of": 1,
    "max_rounds": 1,
    "exclude": {},
    "keep_seed": True,
    "span_slack": 0.0,
    "n_steps": None,  # one token per pass (the default before "auto")
    "pool": 1,  # one candidate per molecule asked (the default before session 9)
}


def setup() -> None:
    """One thread, deterministic kernels: the outputs must not depend on the machine's load."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def asset(name: str) -> str:
    return str(files("sciml") / "assets" / name)


def encoder_outputs(stage=None) -> dict:
    """Token ids, [CLS] embeddings ``(10, d)`` and MLM logits of molecule 1 ``(L, V)``."""
    from sciml.chem.transformer import embed, load_stage

    stage = stage or load_stage(asset("demo_encoder.pt"))
    encoded = stage.tokenizer.encode_batch(SMILES)
    with torch.no_grad():
        batch = {
            "input_ids": torch.as_tensor(encoded.input_ids[1:2]),
            "attention_mask": torch.as_tensor(encoded.attention_mask[1:2]),
            "labels": torch.zeros_like(torch.as_tensor(encoded.input_ids[1:2])),
        }
        logits = stage.model(batch)["logits"][0]
    return {
        "input_ids": np.asarray(encoded.input_ids).tolist(),
        "embedding": embed(stage, SMILES, device="cpu", precision="fp32").tolist(),
        "mlm_logits_molecule_1": logits.numpy().tolist(),
    }


def moses_encoder():
    """The shipped ``small`` encoder pre-trained on MOSES (bf16 weights, loaded as fp32)."""
    from sciml.chem.transformer import load_stage

    return load_stage(asset("moses_mlm_small.pt"))


def rt_outputs(rt=None) -> dict:
    """QED by both decodings, and seeded generation (SMILES and predicted QED)."""
    from sciml.rt import RegressionTransformer

    rt = rt or RegressionTransformer.load(asset("demo_rt.pt"), map_location="cpu")
    out = {
        decoding: rt.predict(SMILES, decoding=decoding)["qed"].tolist()
        for decoding in ("expected", "greedy")
    }
    gen = rt.generate(
        GENERATION_SEEDS, {"qed": [0.3, 0.8]}, n=3, seed=0, errors="skip", **GENERATION_SETTINGS
    )
    out["generated_smiles"] = gen["smiles"].tolist()
    out["generated_predicted_qed"] = gen["predicted_qed"].tolist()
    return out


def rt_qed_logp_outputs(rt=None) -> dict:
    """The QED + logP RT: both properties by both decodings, and generation primed on both."""
    from sciml.rt import RegressionTransformer

    rt = rt or RegressionTransformer.load(asset("rt_qed_logp.pt"), map_location="cpu")
    out = {
        decoding: {
            name: values.tolist()
            for name, values in rt.predict(SMILES, decoding=decoding)[rt.property_names].items()
        }
        for decoding in ("expected", "greedy")
    }
    gen = rt.generate(
        GENERATION_SEEDS,
        {"qed": [0.3, 0.8], "logp": [1.0, 4.0]},
        n=3,
        seed=0,
        errors="skip",
        **GENERATION_SETTINGS,
    )
    out["generated_smiles"] = gen["smiles"].tolist()
    out["generated_predicted"] = {p: gen[f"predicted_{p}"].tolist() for p in rt.property_names}
    return out


def main(argv=None) -> None:
    """Write every checkpoint's record, or with ``--only NAME`` rewrite only that one."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        choices=["demo_encoder", "moses_mlm_small", "demo_rt", "rt_qed_logp"],
        help="recompute one checkpoint's record, keep the others as stored",
    )
    args = parser.parse_args(argv)
    setup()
    if args.only:
        record = json.loads(OUT.read_text())
        record[args.only] = {
            "demo_encoder": encoder_outputs,
            "moses_mlm_small": lambda: encoder_outputs(moses_encoder()),
            "demo_rt": rt_outputs,
            "rt_qed_logp": rt_qed_logp_outputs,
        }[args.only]()
        OUT.write_text(json.dumps(record, indent=1) + "\n")
        print(f"rewrote {args.only} in {OUT}")
        return
    record = {
        "note": "made by tests/data/make_frozen_predictions.py; see its docstring",
        "torch": torch.__version__,
        "smiles": SMILES,
        "generation_seeds": GENERATION_SEEDS,
        "demo_encoder": encoder_outputs(),
        "moses_mlm_small": encoder_outputs(moses_encoder()),
        "demo_rt": rt_outputs(),
        "rt_qed_logp": rt_qed_logp_outputs(),
    }
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    sys.exit(main())
