"""A model's parameters object as command-line flags, derived from the generated class and the spec.

Each field of ``LivePortraitParameters`` / ``EmoParameters`` / ``VideoRetalkParameters`` becomes ``--field-name``:
a literal gives the choices, a bool ``--x/--no-x``, a number is parsed as its type; the help text is the spec's
description. A parameter added to the spec therefore reaches the CLI by regeneration alone.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from dashscope_openapi import load_spec

from ._wire import Parameters, parameter_fields

__all__ = ["add_parameter_flags", "parameters_from_args"]

P = TypeVar("P", bound=Parameters)
_PREFIX = "param_"  # argparse destinations of parameter flags, apart from the command's other options


def _value_type(annotation: Any) -> Any:
    """The field's type without ``Unset`` (``float | Unset`` -> ``float``)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kept = [a for a in typing.get_args(annotation) if getattr(a, "__name__", "") != "Unset"]
        if len(kept) == 1:
            return kept[0]
    return annotation


def _schema(cls: type[Parameters]) -> Mapping[str, Any]:
    schema: Mapping[str, Any] = load_spec()["components"]["schemas"][cls.__name__]
    return schema


def add_parameter_flags(parser: argparse.ArgumentParser, cls: type[Parameters]) -> None:
    """One flag per field of ``cls``, in a group of their own."""
    hints = typing.get_type_hints(cls)
    properties: Mapping[str, Any] = _schema(cls).get("properties", {})
    group = parser.add_argument_group("parameters (unset: the service's default)")
    for field in parameter_fields(cls):
        value_type = _value_type(hints[field.name])
        prop = properties.get(field.name, {})
        help_text = " ".join(str(prop.get("description", "")).split())
        if "default" in prop:
            help_text += f" (service default: {prop['default']})"
        flag = "--" + field.name.replace("_", "-")
        options: dict[str, Any] = {"dest": _PREFIX + field.name, "default": None, "help": help_text or None}
        if typing.get_origin(value_type) is Literal:
            options["choices"] = [str(choice) for choice in typing.get_args(value_type)]
        elif value_type is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif value_type in (int, float, str):
            options["type"] = value_type
            options["metavar"] = value_type.__name__.upper()
        else:  # pragma: no cover - a schema the flags cannot express yet
            raise TypeError(f"{cls.__name__}.{field.name}: no command-line form for {value_type!r}")
        group.add_argument(flag, **options)


def parameters_from_args(args: argparse.Namespace, cls: type[P]) -> P | None:
    """The parameters object of the flags given, or ``None`` when none was (the service's defaults apply)."""
    given = {
        field.name: getattr(args, _PREFIX + field.name)
        for field in parameter_fields(cls)
        if getattr(args, _PREFIX + field.name, None) is not None
    }
    return typing.cast(P, cls.from_dict(given)) if given else None
