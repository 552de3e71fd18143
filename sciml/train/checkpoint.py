"""Self-describing checkpoints that never unpickle arbitrary objects.

A checkpoint is a plain ``dict`` of tensors, numbers, strings, lists and dicts saved
with :func:`torch.save` and read back with ``torch.load(weights_only=True)``. It holds
the model's class path and constructor arguments (``model.hparams``), its state dict
(which carries fitted normalisers as buffers), and, for training checkpoints, the
optimizer, scheduler, loss-weighting and RNG states and the epoch.

Only classes inside the ``sciml`` package are rebuilt by default; others must be
passed in ``allowed`` explicitly.
"""

from __future__ import annotations

import importlib
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sciml._io import atomic_path

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CheckpointError",
    "class_path",
    "get_rng_state",
    "load_checkpoint",
    "load_model",
    "model_hparams",
    "rebuild_model",
    "save_checkpoint",
    "set_rng_state",
]

FORMAT = "sciml.checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file is not a sciml checkpoint, has another format version, or holds another model."""


def class_path(obj_or_cls) -> str:
    """Return ``"module.QualName"`` of a class or instance."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return f"{cls.__module__}.{cls.__qualname__}"


def model_hparams(model: nn.Module) -> dict[str, Any]:
    """Return ``model.hparams`` (constructor arguments), checking that it exists."""
    hparams = getattr(model, "hparams", None)
    if not isinstance(hparams, dict):
        raise CheckpointError(
            f"{class_path(model)} has no 'hparams' dict of constructor arguments, so a "
            "checkpoint could not rebuild it; set self.hparams = {...} in __init__"
        )
    return hparams


def get_rng_state() -> dict[str, Any]:
    """Python, NumPy and torch RNG states as weights-only-loadable objects."""
    np_state = np.random.get_state()
    state = {
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "numpy": [
            np_state[0],
            torch.from_numpy(np_state[1].astype(np.int64)),
            int(np_state[2]),
            int(np_state[3]),
            float(np_state[4]),
        ],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    training: dict | None = None,
    extra: dict | None = None,
) -> Path:
    """Write a checkpoint atomically (temporary file, then rename).

    Parameters
    ----------
    path : path-like
        Target file.
    model : nn.Module
        Model with an ``hparams`` dict; a DDP wrapper is unwrapped.
    training : dict, optional
        Optimizer, scheduler, RNG state, epoch, history (written by the Trainer).
    extra : dict, optional
        Anything else weights-only-loadable (e.g. a tokenizer vocabulary as JSON text).
    """
    model = getattr(model, "module", model)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": {"cls": class_path(model), "hparams": model_hparams(model)},
        "state_dict": model.state_dict(),
        "training": training,
        "extra": extra or {},
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read and validate a checkpoint with ``torch.load(weights_only=True)``.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    CheckpointError
        Not a sciml checkpoint, unreadable without unpickling arbitrary objects, or of
        another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError or RuntimeError variants
        raise CheckpointError(
            f"{path} is not a sciml checkpoint readable with weights_only=True ({exc})"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a sciml checkpoint (no '{FORMAT}' format tag)")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {payload.get('format_version')}; this "
            f"sciml reads version {FORMAT_VERSION}"
        )
    return payload


def rebuild_model(
    payload: dict, *, expected: type | None = None, allowed: tuple[type, ...] = ()
) -> nn.Module:
    """Rebuild a model from a loaded checkpoint: import its class, construct, load weights.

    Parameters
    ----------
    payload : dict
        What :func:`load_checkpoint` returned.
    expected : type, optional
        Refuse a checkpoint of any other class (with a message naming both).
    allowed : tuple of type
        Classes outside the ``sciml`` package that may be rebuilt.
    """
    cls_name = payload["model"]["cls"]
    if expected is not None and cls_name != class_path(expected):
        raise CheckpointError(f"checkpoint holds a {cls_name}, not a {class_path(expected)}")
    allowed_names = {class_path(c): c for c in allowed}
    if cls_name in allowed_names:
        cls = allowed_names[cls_name]
    elif cls_name.startswith("sciml."):
        module_name, _, qualname = cls_name.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), qualname)
        except (ImportError, AttributeError) as exc:
            raise CheckpointError(
                f"checkpoint class {cls_name} does not exist in this sciml"
            ) from exc
    else:
        raise CheckpointError(
            f"checkpoint class {cls_name} is outside sciml; pass it in allowed=(...) to load it"
        )
    model = cls(**payload["model"]["hparams"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint weights do not fit {cls_name}: {exc}") from exc
    return model


def load_model(
    path: str | os.PathLike,
    *,
    expected: type | None = None,
    allowed: tuple[type, ...] = (),
    map_location: str | torch.device = "cpu",
) -> nn.Module:
    """Rebuild a model from a checkpoint file alone, in evaluation mode."""
    return rebuild_model(
        load_checkpoint(path, map_location), expected=expected, allowed=allowed
    ).eval()
