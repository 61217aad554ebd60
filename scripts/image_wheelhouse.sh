#!/usr/bin/env bash
# The wheelhouse an image installs from with `pip install --no-index` (builds need no package index):
#   scripts/image_wheelhouse.sh full|slim [DIR]        (default DIR: out/image/wheelhouse/VARIANT)
# The project's wheel plus the wheels of what the variant needs, pinned by requirements.lock (a constraints file):
#   full  the `mock` extra (media checks: PyAV, OpenCV, dlib, dlib's models, NumPy, Pillow, ...)
#   slim  the `serve` extra (what serving needs: connexion, uvicorn, rfc3987, jsonschema-rs, redis), no media stack:
#         the image runs with media checks off, which import none of it; see docs/BENCHMARKS.md, "Container images".
# Wheels are made for the Python running .venv (3.11, x86_64, glibc), the Python Debian bookworm's python3 has;
# IMAGE_PYTHON_VERSION (default 3.11.2, bookworm's) decides the environment markers.
# A file `requirements.txt` in DIR lists what the image installs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:?usage: scripts/image_wheelhouse.sh full|slim [DIR]}
case $variant in full | slim) ;; *) echo "unknown variant $variant (full or slim)" >&2; exit 2 ;; esac
dir=${2:-$root/out/image/wheelhouse/$variant}
py=$root/.venv/bin/python
image_python=${IMAGE_PYTHON_VERSION:-3.11.2}  # Debian bookworm's python3
rm -rf "$dir"
mkdir -p "$dir"
# What the variant installs: the project (by name, from its wheel) with the variant's extra as pyproject.toml
# defines it (full: `mock`, slim: `serve`).
"$py" - "$root/pyproject.toml" "$variant" >"$dir/requirements.txt" <<'PY'
import sys
import tomllib

with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f)["project"]
extra = {"full": "mock", "slim": "serve"}[sys.argv[2]]
assert extra in project["optional-dependencies"], f"pyproject.toml has no {extra!r} extra"
print(f"{project['name']}[{extra}]")
PY
pip=("$py" -m pip --disable-pip-version-check --quiet)
# The project's own wheel (setuptools from the lock, as `make venv` installs it), then its dependencies.
"${pip[@]}" wheel --no-deps --no-build-isolation --wheel-dir "$dir" "$root"
"${pip[@]}" wheel --wheel-dir "$dir" --find-links "$dir" --constraint "$root/requirements.lock" \
  --requirement "$dir/requirements.txt"
# pip evaluates environment markers for the Python running it (3.11.x of .venv); the image's python3 may be an older
# 3.11 (bookworm: 3.11.2), for which some wheels want more (redis: async-timeout below 3.11.3). Add those until none.
for _ in 1 2 3 4 5; do
  more=$("$py" - "$dir" "$image_python" <<'PY'
import sys
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

folder, version = Path(sys.argv[1]), sys.argv[2]
env = default_environment() | {"python_full_version": version, "python_version": ".".join(version.split(".")[:2])}
present = {canonicalize_name(w.name.split("-")[0]) for w in folder.glob("*.whl")}
wanted = set()
for wheel in folder.glob("*.whl"):
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        lines = z.read(meta).decode().splitlines()
    for line in lines:
        if not line.startswith("Requires-Dist:"):
            continue
        req = Requirement(line.split(":", 1)[1].strip())
        if req.marker and "extra" not in str(req.marker) and req.marker.evaluate(env | {"extra": ""}):
            if canonicalize_name(req.name) not in present:
                wanted.add(f"{req.name}{req.specifier}")
print("\n".join(sorted(wanted)))
PY
)
  [ -n "$more" ] || break
  echo "for Python $image_python also: $(echo $more)"
  mapfile -t extra <<<"$more"
  "${pip[@]}" wheel --wheel-dir "$dir" --find-links "$dir" --constraint "$root/requirements.lock" "${extra[@]}"
done
echo "wheelhouse $variant: $(ls "$dir"/*.whl | wc -l) wheels, $(du -sh "$dir" | cut -f1) in ${dir#"$root"/}"
