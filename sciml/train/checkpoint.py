"""Self-describing checkpoints that never unpickle arbitrary objects.

A checkpoint is a plain ``dict`` of tensors, numbers, strings, lists and dicts saved
with :func:`torch.save` and read back with ``torch.load(weights_only=True)``. It holds
the model's class path and constructor arguments (``model.hparams``), its state dict
(which carries fitted normalisers as buffers), and, for training checkpoints, the
optimizer, scheduler, loss-weighting and RNG states and the epoch.

Rebuilding constructs a class named in the file, so it is the one place where a hostile
checkpoint could make sciml run code. Only ``nn.Module`` subclasses declared rebuildable
with :func:`register_model` can be constructed, and every loader names the classes it
expects: the class name is looked up in that explicit registry and checked against the
expected classes, and the stored constructor arguments are checked against the class's
signature, all **before** anything is imported or constructed. Nothing is ever imported by
name from a checkpoint.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import pickle
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sciml._io import atomic_path
from sciml.hygiene import check_field_types

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CheckpointError",
    "class_path",
    "dataclass_from_dict",
    "get_rng_state",
    "load_checkpoint",
    "load_model",
    "model_hparams",
    "rebuild_model",
    "register_model",
    "registered_models",
    "save_checkpoint",
    "set_rng_state",
]

FORMAT = "sciml.checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file is not a sciml checkpoint, has another format version, or holds another model."""


#: Rebuildable model classes by class path (and alias); filled only by :func:`register_model`.
_REGISTRY: dict[str, type[nn.Module]] = {}


def register_model(cls: type[nn.Module] | None = None, *, aliases: tuple[str, ...] = ()):
    """Declare an ``nn.Module`` subclass rebuildable from checkpoints (usable as a decorator).

    Parameters
    ----------
    cls : type
        A subclass of ``torch.nn.Module`` whose ``hparams`` are its constructor arguments.
    aliases : tuple of str
        Former class paths (e.g. before a module moved) that old checkpoints may hold.

    Examples
    --------
    >>> from torch import nn
    >>> @register_model
    ... class Tiny(nn.Module):
    ...     def __init__(self, width: int = 2):
    ...         super().__init__()
    ...         self.hparams = {"width": width}
    ...         self.lin = nn.Linear(width, 1)
    >>> class_path(Tiny) in registered_models()
    True
    """
    if cls is None:
        return lambda c: register_model(c, aliases=aliases)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"only torch.nn.Module subclasses can be registered, not {cls!r}")
    # A class defined again under the same path (a notebook cell run twice) replaces the old one.
    for name in (class_path(cls), *aliases):
        _REGISTRY[name] = cls
    return cls


def registered_models() -> dict[str, type[nn.Module]]:
    """A copy of the registry: class path (or alias) -> class."""
    return dict(_REGISTRY)


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
        # torch's message ends by advising weights_only=False, i.e. running the file's code;
        # sciml never does that, so only the name of what the file asked for is kept.
        wanted = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if wanted or isinstance(exc, pickle.UnpicklingError):
            what = f" ({wanted[1]})" if wanted else ""
            raise CheckpointError(
                f"{path} is not a sciml checkpoint: it holds pickled Python objects{what}, "
                "and sciml only loads tensors and plain data from checkpoints; refusing it"
            ) from None
        raise CheckpointError(
            f"{path} is not a readable sciml checkpoint (a truncated, "
            f"corrupt or foreign file: {type(exc).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a sciml checkpoint (no '{FORMAT}' format tag)")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {payload.get('format_version')}; this "
            f"sciml reads version {FORMAT_VERSION}"
        )
    return payload


def _expected_classes(expected) -> tuple[type[nn.Module], ...]:
    classes = expected if isinstance(expected, tuple) else (expected,)
    if not classes:
        raise TypeError("expected must name at least one model class")
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"expected must be torch.nn.Module subclasses, not {cls!r}")
        if _REGISTRY.get(class_path(cls)) is not cls:
            raise TypeError(
                f"{class_path(cls)} is not registered as rebuildable; decorate it with "
                "sciml.train.register_model"
            )
    return classes


def _check_hparams(cls: type[nn.Module], hparams: Any, where: str) -> dict[str, Any]:
    """Constructor arguments that fit ``cls``'s signature, or a CheckpointError."""
    if not isinstance(hparams, dict) or not all(isinstance(k, str) for k in hparams):
        raise CheckpointError(f"{where}: the model's hparams are not a dict of named arguments")
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        named = {
            n
            for n, p in params.items()
            if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        unknown = sorted(set(hparams) - named)
        if unknown:
            raise CheckpointError(
                f"{where}: {class_path(cls)} takes no argument(s) {', '.join(unknown)}; "
                f"it takes {', '.join(sorted(named))}"
            )
    missing = [
        n
        for n, p in params.items()
        if n != "self"
        and p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and n not in hparams
    ]
    if missing:
        raise CheckpointError(
            f"{where}: the hparams lack required argument(s) {', '.join(missing)} of "
            f"{class_path(cls)}"
        )
    return hparams


def rebuild_model(
    payload: dict,
    *,
    expected: type[nn.Module] | tuple[type[nn.Module], ...],
    source: str | os.PathLike = "checkpoint",
) -> nn.Module:
    """Rebuild a model from a loaded checkpoint: look up its class, construct, load weights.

    The class named in the checkpoint must be registered (:func:`register_model`) and be one
    of ``expected`` (or a subclass); both are checked, with the constructor arguments,
    before anything is constructed.

    Parameters
    ----------
    payload : dict
        What :func:`load_checkpoint` returned.
    expected : type or tuple of type
        The registered model classes this caller accepts.
    source : str or path-like
        Where the payload came from, for error messages.

    Raises
    ------
    CheckpointError
        The checkpoint names an unregistered or unexpected class, or its arguments or
        weights do not fit that class.
    """
    classes = _expected_classes(expected)
    accepted = ", ".join(class_path(c) for c in classes)
    model_info = payload.get("model") if isinstance(payload, dict) else None
    cls_name = model_info.get("cls") if isinstance(model_info, dict) else None
    if not isinstance(cls_name, str):
        raise CheckpointError(f"{source} names no model class")
    cls = _REGISTRY.get(cls_name)
    if cls is None or not issubclass(cls, classes):
        # A registered class of another kind and an unknown name get the same answer: what
        # the file holds and what this loader expects (the registry is filled as modules are
        # imported, so "not registered" would also be said of sciml's own classes).
        known = "" if cls is not None else ", not a registered sciml model class"
        raise CheckpointError(
            f"{source} holds {cls_name}{known}; this loader expects {accepted}; refusing "
            "to construct it"
        )
    hparams = _check_hparams(cls, model_info.get("hparams"), str(source))
    try:
        model = cls(**hparams)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: invalid arguments for {cls_name}: {exc}") from exc
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{source}: weights do not fit {cls_name}: {exc}") from exc
    return model


def dataclass_from_dict(config_cls: type, data: Any, source: str | os.PathLike) -> Any:
    """Build a configuration dataclass from stored JSON, with errors that name the file.

    Unknown or missing fields, values of the wrong type for their field's annotation
    (:func:`sciml.hygiene.check_field_types`) and values the dataclass rejects raise
    :class:`CheckpointError` naming ``source``, instead of a ``TypeError`` traceback.
    """
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise CheckpointError(f"{source}: the stored {config_cls.__name__} is not a JSON object")
    fields = {f.name for f in dataclasses.fields(config_cls) if f.init}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise CheckpointError(
            f"{source}: unknown {config_cls.__name__} field(s) {', '.join(unknown)}; "
            f"known fields: {', '.join(sorted(fields))}"
        )
    try:
        check_field_types(config_cls, data, source)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    try:
        return config_cls(**data)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: invalid {config_cls.__name__}: {exc}") from exc


def load_model(
    path: str | os.PathLike,
    *,
    expected: type[nn.Module] | tuple[type[nn.Module], ...],
    map_location: str | torch.device = "cpu",
) -> nn.Module:
    """Rebuild a model of one of the ``expected`` registered classes from a file, in eval mode."""
    return rebuild_model(load_checkpoint(path, map_location), expected=expected, source=path).eval()
