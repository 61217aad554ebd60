"""Write ``api.md``: every public class and method of ``dashscope_video``, one line each, from the code itself.

Usage: ``python scripts/generate_api_md.py [--check]``. ``tests/sdk/test_public_surface.py`` fails when ``api.md``
differs from what this renders, so the file cannot drift from the surface it documents.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dashscope_video
from dashscope_video import AsyncClient, Client

API_MD = Path(__file__).resolve().parents[1] / "api.md"

HEADER = """# dashscope_video API

Every public name of `dashscope_video`, one line each, generated from the code by `scripts/generate_api_md.py`
(`tests/sdk/test_public_surface.py` fails when this file and the code differ). `AsyncClient` has the same resources
as `Client`; its methods are coroutines (`tasks.iter` an async iterator). `dashscope_video_client` (the generated
client) is internal: the parameter classes below are the only generated types the SDK exposes.
"""


def _clean(text: str) -> str:
    text = text.replace("typing.", "").replace("collections.abc.", "")
    text = re.sub(r"\bfx\.Plan\[(.*)\]$", r"\1", text)
    return re.sub(r"\b(dashscope_video|dashscope_video_client)(\.\w+)*\.", "", text)


def _parameter(p: inspect.Parameter) -> str:
    text = p.name
    if p.kind is inspect.Parameter.VAR_POSITIONAL:
        text = "*" + text
    elif p.kind is inspect.Parameter.VAR_KEYWORD:
        text = "**" + text
    if p.annotation is not inspect.Parameter.empty:
        text += f": {_clean(str(p.annotation))}"
    if p.default is not inspect.Parameter.empty:
        # the generated client's ``UNSET`` (not sent) has a repr with its address: written by name
        default = "UNSET" if type(p.default).__name__ == "Unset" else repr(p.default)
        text += f" = {default}"
    return text


def _signature(obj: Callable[..., Any]) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    shown: list[str] = []
    for p in sig.parameters.values():
        if p.name in ("self", "cls"):
            continue
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not any(s.startswith("*") for s in shown):
            shown.append("*")
        shown.append(_parameter(p))
    text = f"({', '.join(shown)})"
    own = getattr(obj, "__annotations__", {}).get("return")
    wrapped = getattr(obj, "__wrapped__", None)
    returns = own if own not in (None, "T") or wrapped is None else wrapped.__annotations__.get("return")
    if returns is None and sig.return_annotation is not inspect.Signature.empty:
        returns = sig.return_annotation
    if returns not in (None, "None"):
        text += f" -> {_clean(str(returns))}"
    return text


def _summary(obj: object) -> str:
    doc = inspect.cleandoc(getattr(obj, "__doc__", None) or "") if isinstance(obj, type) else inspect.getdoc(obj) or ""
    if isinstance(obj, type) and doc.startswith(obj.__name__ + "("):  # a dataclass's generated docstring
        doc = ""
    first = doc.strip().split("\n\n", 1)[0].replace("\n", " ").strip()
    return f" — {first}" if first else ""


def _members(cls: type) -> Iterator[tuple[str, object]]:
    for name, value in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if callable(value) or isinstance(value, (property, functools.cached_property)):
            yield name, value


def _class_lines(prefix: str, cls: type) -> list[str]:
    signature = _signature(cls)
    for base in getattr(cls, "__orig_bases__", ()):  # Client(BaseClient[httpx.Client, ...]): name the concrete types
        for var, concrete in zip(("HttpT", "TransportT"), typing.get_args(base), strict=False):
            if not isinstance(concrete, type):
                continue
            signature = re.sub(rf"\b{var}\b", f"{concrete.__module__}.{concrete.__qualname__}", signature)
    lines = [f"- `{prefix}{cls.__name__}{signature}`{_summary(cls)}"]
    for name, value in _members(cls):
        if name == "__init__" or isinstance(value, type):
            continue
        if isinstance(value, (property, functools.cached_property)):
            getter = value.fget if isinstance(value, property) else value.func
            returns = _clean(str(getter.__annotations__.get("return", "")))
            lines.append(f"  - `.{name}: {returns}`{_summary(getter)}")
        else:
            assert callable(value)
            lines.append(f"  - `.{name}{_signature(value)}`{_summary(value)}")
    return lines


def _resource_lines(client: type, label: str) -> list[str]:
    lines: list[str] = []
    for name, value in vars(client).items():
        if not isinstance(value, functools.cached_property):
            continue
        resource = value.func.__annotations__["return"]
        cls = getattr(sys.modules[value.func.__module__], resource) if isinstance(resource, str) else resource
        lines.append(f"\n### `{label}.{name}` ({cls.__name__}){_summary(sys.modules[cls.__module__])}\n")
        for method_name, method in _members(cls):
            assert callable(method)
            lines.append(f"- `{label}.{name}.{method_name}{_signature(method)}`{_summary(method)}")
    return lines


def render() -> str:
    names = sorted(dashscope_video.__all__)
    objects = {name: getattr(dashscope_video, name) for name in names}
    exceptions = [o for o in objects.values() if isinstance(o, type) and issubclass(o, BaseException)]
    clients = [Client, AsyncClient]
    classes = [o for o in objects.values() if isinstance(o, type) and o not in exceptions and o not in clients]
    others = [n for n, o in objects.items() if not isinstance(o, type)]
    out = [HEADER, "## Clients\n"]
    for cls in clients:
        out += _class_lines("", cls)
    out += ["\n## Resources"]
    out += _resource_lines(Client, "client")
    out += ["\n## Types\n"]
    for cls in classes:
        out += _class_lines("", cls)
    out += ["\n## Exceptions\n"]
    for exc in exceptions:
        bases = ", ".join(b.__name__ for b in exc.__bases__)
        out.append(f"- `{exc.__name__}({bases})`{_summary(exc)}")
    out += ["\n## Other names\n"]
    for name in others:
        obj = objects[name]
        if inspect.ismodule(obj):
            out.append(f"- `{name}` (module){_summary(obj)}")
        elif typing.get_origin(obj) is not None or isinstance(obj, types.UnionType):
            out.append(f"- `{name} = {_clean(str(obj))}`")
        elif callable(obj):
            out.append(f"- `{name}{_signature(obj)}`{_summary(obj)}")
        else:
            out.append(f"- `{name}`: `{_clean(type(obj).__name__)}`")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when api.md differs instead of writing it")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if API_MD.read_text(encoding="utf-8") != text:
            print("api.md differs from the public surface: run python scripts/generate_api_md.py", file=sys.stderr)
            return 1
        return 0
    API_MD.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
