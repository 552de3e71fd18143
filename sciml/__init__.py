"""sciml: scientific machine learning on molecules and physics.

Three model families share one multi-output :class:`sciml.train.Trainer` and one
metrics module (:mod:`sciml.metrics`):

- :mod:`sciml.chem` -- molecular data, baselines and property transformers with
  domain adaptation;
- :mod:`sciml.rt` -- the Regression Transformer (regression as sequence modelling);
- :mod:`sciml.physics` -- PDE reference solvers and multi-task DeepONets with PINN losses.

Shipped checkpoints (``sciml/assets``, provenance in its README) are found with
:func:`asset_path`.
"""

from pathlib import Path

__version__ = "0.1.0"

__all__ = ["__version__", "asset_path"]

_ASSETS = Path(__file__).parent / "assets"


def asset_path(name: str) -> Path:
    """Path of a checkpoint, file or model folder shipped in ``sciml/assets``.

    Parameters
    ----------
    name : str
        File name, e.g. ``"demo_encoder.pt"`` (pre-trained SMILES encoder) or
        ``"demo_rt.pt"`` (Regression Transformer trained on QED).

    Raises
    ------
    FileNotFoundError
        No such asset; the message lists the shipped ones.

    Examples
    --------
    >>> asset_path("demo_rt.pt").name
    'demo_rt.pt'
    """
    path = _ASSETS / name
    if (
        not name
        or Path(name).name != name
        or not (path.is_file() or (path / "model.json").is_file())
    ):
        shipped = sorted(
            p.name
            for p in _ASSETS.iterdir()
            if p.suffix in (".pt", ".smi") or (p / "model.json").is_file()
        )
        raise FileNotFoundError(f"sciml ships no asset {name!r}; shipped: {', '.join(shipped)}")
    return path
