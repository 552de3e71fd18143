"""Writing ``sciml rt predict`` results: one function for a checkpoint and a fine-tuned folder."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

__all__ = ["write_predictions"]


def write_predictions(
    frame: pd.DataFrame, preds: pd.DataFrame, args: argparse.Namespace
) -> pd.DataFrame:
    """Join ``preds`` to the input ``frame`` and write ``args.out`` atomically.

    A predicted column the input already has is named ``<name>_pred``; the row index is
    ``row`` (``row_pred`` if the input has a ``row`` column). Invalid SMILES listed in
    ``preds.attrs["invalid"]`` are reported on stderr (the first 20), as ``--errors`` left
    them. Returns the frame that was written.
    """
    from sciml._io import atomic_write

    row = "row" if "row" not in frame.columns else "row_pred"
    preds = preds.rename(columns={c: f"{c}_pred" for c in preds.columns if c in frame.columns})
    out = frame.loc[preds.index].join(preds)
    out.index.name = row
    with atomic_write(args.out, "w", newline="") as handle:
        out.to_csv(handle)
    invalid = preds.attrs.get("invalid", [])
    if invalid:
        action = "left out of the output" if args.errors == "skip" else "kept with empty values"
        print(f"{args.input}: {len(invalid)} invalid SMILES {action}:", file=sys.stderr)
        for bad in invalid[:20]:
            print(f"  row {bad.index}: {bad.value!r}: {bad.reason}", file=sys.stderr)
    print(f"wrote {len(out)} predictions to {args.out}")
    return out
