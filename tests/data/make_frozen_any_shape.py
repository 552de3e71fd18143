"""Write tests/data/frozen_any_shape.json: the shipped any-shape Darcy model's predictions.

Run after an intended change of ``sciml/assets/darcy_any_shape.pt``:
``python tests/data/make_frozen_any_shape.py``; the test is
``tests/physics/test_any_shape_asset.py``.
"""

import json
import warnings
from pathlib import Path

import numpy as np

from sciml.physics.any_shape import AnyShapeDarcy

NODES = [(32, 32), (20, 40), (45, 15), (10, 10)]
CASES = {"l_shape": 1.0, "annulus": 2.0, "circle": 0.5}


def frozen() -> dict:
    model = AnyShapeDarcy.load_shipped()
    out = {}
    for shape, k in CASES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            u = model.predict(shape, k)
        values = np.nan_to_num(u.values, nan=0.0)
        out[shape] = {
            "permeability": k,
            "mean": float(np.nanmean(u.values)),
            "nodes": {f"{i},{j}": float(values[i, j]) for i, j in NODES},
            "in_domain": bool(u.in_domain),
        }
    return out


if __name__ == "__main__":
    path = Path(__file__).with_name("frozen_any_shape.json")
    path.write_text(json.dumps(frozen(), indent=1) + "\n")
    print(f"wrote {path}")
