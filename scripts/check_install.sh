#!/usr/bin/env bash
# make check-install: the package as users install it, in a fresh venv in a temp folder (deleted at the end).
#   1. `pip install .` (pins from requirements.lock): the SDK and its CLI, none of the mock's dependencies; the specs
#      come as package data; `dashscope-video` lists tasks on the repo's own mock (.venv); `dashscope-mock` and the
#      pytest plugin's fixture say how to get the mock instead of failing with a traceback.
#   2. `pip install '.[mock]'` into the same venv: `dashscope-mock serve` runs a liveportrait task to SUCCEEDED.
# The files of the checkout (tracked and untracked, not ignored) are copied first, so a stale build/ or *.egg-info in
# the checkout does not leak into the wheel. Needs the repo's venv (make venv) for the mock, curl, and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
python=${PYTHON:-python3}
started=$SECONDS
hint="pip install 'dashscope-portrait-video[mock]'"
# The mock extra's distributions (pyproject.toml), none of which the light install may bring.
heavy=(connexion uvicorn swagger-ui-bundle rfc3987 jsonschema-rs av opencv-python-headless dlib-bin
  face-recognition-models numpy pillow redis)

say() { echo "check-install: $*"; }
fail() {
  echo "check-install: FAILED: $*" >&2
  exit 1
}
test -x "$repo/.venv/bin/dashscope-mock" || fail "no .venv/bin/dashscope-mock: run make venv first"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dashscope-check-install.XXXXXX")
mock_pid=
stop_mock() {
  [ -n "$mock_pid" ] || return 0
  kill -TERM -- "-$mock_pid" 2>/dev/null || { mock_pid=; return 0; }
  for _ in $(seq 1 50); do
    kill -0 -- "-$mock_pid" 2>/dev/null || { mock_pid=; return 0; }
    sleep 0.2
  done
  kill -KILL -- "-$mock_pid" 2>/dev/null || true
  mock_pid=
}
cleanup() {
  stop_mock
  rm -rf "$tmp"
}
trap cleanup EXIT

src=$tmp/src
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null |
  tar -C "$src" -xf -
test -f "$src/sdk/dashscope_openapi/openapi/dashscope-video.yaml" || fail "the copy of the checkout has no specs"

venv=$tmp/venv
bin=$venv/bin
"$python" -m venv "$venv"
# pip with the lock's pins; its stderr without the notes about configured find-links/index folders that do not exist.
pip_install() {
  local status=0
  "$bin/pip" install --quiet --disable-pip-version-check -c "$repo/requirements.lock" "$@" 2>"$tmp/pip.err" || status=$?
  grep -v "is ignored: it is neither a file nor a directory" "$tmp/pip.err" >&2 || true
  return "$status"
}
cd "$tmp"  # nothing from the checkout on sys.path

say "pip install . (light) into a fresh venv"
pip_install "$src" || fail "pip install . failed"
installed=$("$bin/pip" list --format=freeze --disable-pip-version-check | cut -d= -f1 | sed 's/[_.]/-/g' | tr '[:upper:]' '[:lower:]' | sort)
found=()
for name in "${heavy[@]}"; do
  grep -qx -- "$name" <<<"$installed" && found+=("$name")
done
[ ${#found[@]} -eq 0 ] || fail "the light install brought the mock's dependencies: ${found[*]}"
say "light install: $(wc -l <<<"$installed") distributions: $(grep -vx -e pip -e setuptools <<<"$installed" | paste -sd' ')"

"$bin/python" - "$venv" <<'EOF' || fail "the SDK does not import from the light install, or its specs are not package data"
import sys
from pathlib import Path

import dashscope_openapi
import dashscope_video
import dashscope_video_client  # noqa: F401

venv = Path(sys.argv[1]).resolve()
assert venv in dashscope_openapi.SPEC_FILE.parents, f"spec read from {dashscope_openapi.SPEC_FILE}, not the venv"
assert not dashscope_openapi.SPEC_FILE.is_symlink()
assert dashscope_openapi.load_spec()["openapi"] and dashscope_openapi.load_control_spec()["openapi"]
assert dashscope_openapi.error_catalogue().codes()
assert dashscope_video.__name__ == "dashscope_video"  # imported: the SDK needs nothing beyond the light install
EOF
say "import dashscope_video, dashscope_video_client, dashscope_openapi: ok (specs from the package)"

"$bin/dashscope-video" --help >/dev/null || fail "dashscope-video --help failed"
say "dashscope-video --help: ok"

status=0
out=$("$bin/dashscope-mock" serve --help 2>&1) || status=$?
[ "$status" -ne 0 ] || fail "dashscope-mock serve --help exited 0 without the mock extra: $out"
grep -qF -- "$hint" <<<"$out" || fail "dashscope-mock serve --help (exit $status) does not say \"$hint\": $out"
if grep -q Traceback <<<"$out"; then fail "dashscope-mock serve --help printed a traceback: $out"; fi
say "dashscope-mock without the extra: exit $status, \"$out\""

"$bin/python" - <<'EOF' || fail "import dashscope_mock without the extra: no lazy import, or no install hint"
import dashscope_mock

try:
    dashscope_mock.create_app
except ModuleNotFoundError as error:
    assert "dashscope-portrait-video[mock]" in str(error), error
else:
    raise AssertionError("dashscope_mock.create_app imported without the mock extra")
EOF
say "import dashscope_mock without the extra: imports; using it raises the install hint"

# pytest loads the plugin (pytest11 entry point) wherever the package is installed: no crash, a hint from the fixture.
pip_install pytest || fail "pip install pytest failed"
cat >"$tmp/test_light.py" <<'EOF'
import pytest


def test_fixture_says_how_to_install(request: pytest.FixtureRequest) -> None:
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'dashscope-portrait-video\[mock\]'"):
        request.getfixturevalue("dashscope_mock")
EOF
# Its output stays in a file: this script's own lines are what CI shows, not a second pytest summary.
"$bin/python" -m pytest -q -p no:cacheprovider "$tmp/test_light.py" >"$tmp/pytest.log" 2>&1 ||
  { cat "$tmp/pytest.log" >&2; fail "pytest with the dashscope_mock plugin in the light install"; }
say "pytest in the light install: the plugin loads, the dashscope_mock fixture raises the install hint"

# start_mock <dashscope-mock> <label> [options]: serve on a free port in a process group of its own; sets base_url.
start_mock() {
  local program=$1 label=$2
  shift 2
  local port
  port=$("$bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base_url=http://127.0.0.1:$port
  setsid "$program" serve --host 127.0.0.1 --port "$port" "$@" >"$tmp/mock.log" 2>&1 &
  mock_pid=$!
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "$base_url/_mock/clock" 2>/dev/null && return 0
    kill -0 "$mock_pid" 2>/dev/null || { tail -n 40 "$tmp/mock.log" >&2; fail "$label exited before answering"; }
    sleep 0.25
  done
  fail "$label does not answer at $base_url"
}

# A real call from the light install's CLI to the repo's own mock.
start_mock "$repo/.venv/bin/dashscope-mock" "the repo's mock" --media-checks off
"$bin/dashscope-video" --base-url "$base_url" --api-key sk-test0000 list >"$tmp/list.out" 2>&1 ||
  { cat "$tmp/list.out" >&2; fail "dashscope-video list against the mock at $base_url"; }
say "dashscope-video --base-url $base_url --api-key sk-test0000 list: ok"
stop_mock

say "pip install '.[mock]' into the same venv"
pip_install "$src[mock]" || fail "pip install '.[mock]' failed"
"$bin/dashscope-mock" serve --help >"$tmp/mock-help.out" 2>&1 ||
  { cat "$tmp/mock-help.out" >&2; fail "dashscope-mock serve --help with the mock extra"; }
start_mock "$bin/dashscope-mock" "the installed dashscope-mock" --media-checks off
"$bin/dashscope-video" --base-url "$base_url" --api-key sk-test0000 liveportrait --image https://example.com/face.png \
  --audio https://example.com/voice.mp3 --video-fps 25 --wait --quiet >"$tmp/submit.out" 2>&1 ||
  { cat "$tmp/submit.out" "$tmp/mock.log" >&2; fail "a liveportrait task through the installed dashscope-mock"; }
grep -q SUCCEEDED "$tmp/submit.out" || fail "the liveportrait task did not succeed: $(cat "$tmp/submit.out")"
stop_mock
say "dashscope-mock serve with the extra: a liveportrait task submitted and waited for through it: SUCCEEDED"

# A user's test file: README's "Testing your app with the mock" snippets (the fixture, the SDK wired to it, a scripted
# failure, a fault, verification, media checks on the virtual clock), run under -W error in this fresh venv.
mkdir -p "$tmp/user"
"$repo/.venv/bin/python" -c 'import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);
from tests.test_readme_snippets import write_user_suite; print(write_user_suite(Path(sys.argv[2])))' \
  "$repo" "$tmp/user" >"$tmp/user/count" || fail "could not write the user's test file from README"
(cd "$tmp/user" && "$bin/python" -m pytest -W error -q -p no:cacheprovider test_readme.py) >"$tmp/user.log" 2>&1 ||
  { cat "$tmp/user.log" >&2; fail "a user's test file (README's testing section) under -W error in the fresh venv"; }
grep -q "$(cat "$tmp/user/count") passed" "$tmp/user.log" || fail "the user's tests did not all pass: $(tail -3 "$tmp/user.log")"
say "a user's test file (README's testing section, $(cat "$tmp/user/count") tests) under -W error: passed"

say "passed in $((SECONDS - started)) s"
