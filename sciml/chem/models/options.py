"""Option names of model configurations: flat for users, possibly composed inside.

A model's configuration is a frozen dataclass. It may hold another configuration (the
D-MPNN's ``train``, a :class:`sciml.train.TrainConfig`) and expose some of that one's
fields under flat option names, declared by a class attribute ``composed``::

    composed = {"train": {"epochs": "max_epochs", "lr": "lr"}}

Users (``GNNModel(epochs=30)``, ``sciml fit --set epochs=30``), saved ``model.json`` files
and the help text see only the flat names; these functions translate, so an option is
defined (type, default, description) once, in the class that uses it.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from typing import Any

from sciml.hygiene import check_field_types
from sciml.train.checkpoint import CheckpointError, dataclass_from_dict

__all__ = [
    "config_from_options",
    "option_defaults",
    "option_sources",
    "options_dict",
    "with_options",
]


def _composed(config_cls: type) -> dict[str, dict[str, str]]:
    return dict(getattr(config_cls, "composed", {}))


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def option_sources(config_cls: type) -> dict[str, tuple[type, str]]:
    """Each flat option name, in order, with the dataclass and field that define it.

    Examples
    --------
    >>> from sciml.chem.models import GNNConfig
    >>> option_sources(GNNConfig)["epochs"]
    (<class 'sciml.train.trainer.TrainConfig'>, 'max_epochs')
    """
    composed = _composed(config_cls)
    hints = typing.get_type_hints(config_cls) if composed else {}
    out: dict[str, tuple[type, str]] = {}
    for field in dataclasses.fields(config_cls):
        if field.name in composed:
            inner = hints[field.name]
            out.update({name: (inner, target) for name, target in composed[field.name].items()})
        else:
            out[field.name] = (config_cls, field.name)
    return out


def option_defaults(config_cls: type) -> dict[str, Any]:
    """Each flat option's default (options without one are left out)."""
    composed = _composed(config_cls)
    out: dict[str, Any] = {}
    for field in dataclasses.fields(config_cls):
        default = _default(field)
        if field.name in composed:
            out.update({n: getattr(default, t) for n, t in composed[field.name].items()})
        elif default is not dataclasses.MISSING:
            out[field.name] = default
    return out


def with_options(config: Any, **options: Any) -> Any:
    """A copy of ``config`` with flat options changed (as ``dataclasses.replace``).

    Raises
    ------
    TypeError
        An option ``config`` does not have (naming it and the valid ones).
    """
    sources = option_sources(type(config))
    unknown = sorted(set(options) - set(sources))
    if unknown:
        raise TypeError(
            f"{type(config).__name__} has no option(s) {unknown}; options: {', '.join(sources)}"
        )
    changes = {k: v for k, v in options.items() if sources[k][0] is type(config)}
    for field_name, names in _composed(type(config)).items():
        inner = {names[k]: v for k, v in options.items() if k in names}
        if inner:
            changes[field_name] = dataclasses.replace(getattr(config, field_name), **inner)
    return dataclasses.replace(config, **changes)


def options_dict(config: Any) -> dict[str, Any]:
    """The flat options of ``config`` as plain data (``dataclasses.asdict`` of a flat one)."""
    composed = _composed(type(config))
    data = dataclasses.asdict(config)
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name in composed:
            out.update({n: value[t] for n, t in composed[name].items()})
        else:
            out[name] = value
    return out


def config_from_options(config_cls: type, data: Any, source: str | os.PathLike) -> Any:
    """Build ``config_cls`` from stored flat options (``model.json``), errors naming ``source``.

    Options left out take their defaults. Raises
    :class:`~sciml.train.checkpoint.CheckpointError` for an unknown option, a value of the
    wrong type or one the configuration rejects, as
    :func:`~sciml.train.checkpoint.dataclass_from_dict` does for a flat configuration.
    """
    composed = _composed(config_cls)
    if not composed or not isinstance(data, dict):
        return dataclass_from_dict(config_cls, data, source)
    sources = option_sources(config_cls)
    unknown = sorted(set(data) - set(sources))
    if unknown:
        raise CheckpointError(
            f"{source}: unknown {config_cls.__name__} option(s) {', '.join(unknown)}; "
            f"known options: {', '.join(sorted(sources))}"
        )
    own = {k: v for k, v in data.items() if sources[k][0] is config_cls}
    config = dataclass_from_dict(config_cls, own, source)
    for field_name, names in composed.items():
        inner = getattr(config, field_name)
        given = {names[k]: v for k, v in data.items() if k in names}
        try:
            check_field_types(type(inner), given, source)
        except ValueError as exc:
            raise CheckpointError(str(exc)) from None
        try:
            inner = dataclasses.replace(inner, **given)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{source}: invalid {type(inner).__name__}: {exc}") from exc
        config = dataclasses.replace(config, **{field_name: inner})
    return config
