"""Write the client view of a spec: what this toolkit's clients send (``dashscope_openapi.load_client_spec``).

    python scripts/client_spec.py [SPEC] OUT

The public spec (default ``openapi/dashscope-video.yaml``) states what the service accepts: the ``input`` and
``parameters`` objects of request bodies are open to undocumented keys (``x-leniency.unknown_keys``). The view closes
exactly those schemas again (``additionalProperties: false``), so that the client generated from it
(scripts/generate_client.sh) keeps parameter classes that refuse unknown fields. Nothing else changes.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

from dashscope_openapi import SPEC_FILE, client_closed_schemas


def client_view(spec: dict[str, Any]) -> dict[str, Any]:
    view = copy.deepcopy(spec)
    for name in client_closed_schemas(view):
        view["components"]["schemas"][name]["additionalProperties"] = False
    return view


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: client_spec.py [SPEC] OUT", file=sys.stderr)
        return 2
    source = Path(argv[0]) if len(argv) == 2 else SPEC_FILE
    out = Path(argv[-1])
    spec = yaml.safe_load(source.read_text(encoding="utf-8"))
    out.write_text(yaml.safe_dump(client_view(spec), sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
