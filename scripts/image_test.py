"""``make image-test``: the images ``make image`` built, run and tested (buildah; no container runtime needed).

    .venv/bin/python scripts/image_test.py [--image localhost/dashscope-mock] [--contract full,slim] full slim

For each variant, the image's own ENTRYPOINT runs with ``buildah run --isolation chroot`` (the image's filesystem,
user and environment, the host's network) on a free loopback port, with host folders mounted on the image's state and
upload volumes and the control token in a mounted file (``DASHSCOPE_MOCK_CONTROL_TOKEN_FILE``), then:

- the media stack is in the full image and not in the slim one (``serve`` extra; its console script is the
  entrypoint and media checks default to off);
- the first healthy answer is timed (start-up); the image's HEALTHCHECK command, run inside the image, passes against
  it (and fails where nothing answers); ``/_mock/health`` needs no token, ``/_mock/clock`` wants it;
- ``make contract BASE_URL=...`` (schemathesis' CLI: the public API; the control plane is token-guarded on this bind);
- the official ``dashscope`` SDK example (scripts/image_official_sdk.py): uploads, detect, a liveportrait task;
- full: ``examples/liveportrait.py`` (this SDK; media checks on) renders an MP4, checked with PyAV;
- restart: the server stopped (SIGTERM) and started again on the same state folder (SQLite) still has the tasks;
  this time with no token given: it makes one and prints it (the documented behaviour), and that token works;
- an unwritable state folder stops the start with status 2, the folder named.

Writes the measurements to out/image/test-results.json (docs/BENCHMARKS.md, "Container images").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
STATE = "/var/lib/dashscope-mock/state"
UPLOADS = "/var/lib/dashscope-mock/uploads"
TOKEN = "image-test-token-0123456789"
KEY = "sk-image-test"
SDK_KEY = "sk-official-sdk"  # scripts/image_official_sdk.py's: a task answers to the key that made it
START_GUARD = 120.0  # seconds: only turns a hang into a failure
MEDIA = ("av", "cv2", "dlib", "face_recognition_models", "numpy", "PIL")  # dashscope_mock._entry.MEDIA_MODULES


def log(message: str) -> None:
    print(f"image-test: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(method: str, url: str, token: str | None = None, key: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, method=method)
    if token or key:
        request.add_header("Authorization", f"Bearer {token or key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def image_config(image: str) -> dict[str, Any]:
    out = subprocess.run(["buildah", "inspect", "--type", "image", image], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    docker = info.get("Docker") or {}
    return {
        "entrypoint": info["OCIv1"]["config"]["Entrypoint"],
        "user": info["OCIv1"]["config"].get("User"),
        "labels": info["OCIv1"]["config"].get("Labels") or {},
        "volumes": info["OCIv1"]["config"].get("Volumes") or {},
        "healthcheck": (docker.get("config") or {}).get("Healthcheck"),
    }


class Server:
    """The image's entrypoint under ``buildah run``, its stderr collected in a file."""

    def __init__(self, container: str, entrypoint: list[str], port: int, mounts: dict[Path, str], env: dict[str, str]):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.stderr_file = tempfile.NamedTemporaryFile(prefix="image-test-", suffix=".log", delete=False)  # noqa: SIM115
        command = ["buildah", "run", "--isolation", "chroot"]
        for host, inside in mounts.items():
            command += ["--volume", f"{host}:{inside}"]
        for name, value in env.items():
            command += ["--env", f"{name}={value}"]
        command += [container, "--", *entrypoint, "--port", str(port)]
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=self.stderr_file, start_new_session=True
        )

    @property
    def stderr(self) -> str:
        return Path(self.stderr_file.name).read_text(errors="replace")

    def wait_healthy(self) -> float:
        """Seconds from the start to the first ``200`` of ``/_mock/health``."""
        while time.monotonic() - self.started < START_GUARD:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited ({self.process.returncode}) before answering:\n{self.stderr}")
            with contextlib.suppress(OSError):
                if http("GET", f"{self.base}/_mock/health")[0] == 200:
                    return time.monotonic() - self.started
            time.sleep(0.05)
        raise AssertionError(f"no healthy answer within {START_GUARD} s:\n{self.stderr}")

    def _server_pids(self) -> list[int]:
        """The mock's processes under ``buildah run`` (its descendants serving this port)."""
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if b"serve" in argv and str(self.port).encode() in argv and b"buildah" not in argv[0]:
                    found.append(pid)
        return found

    def stop(self) -> int | None:
        """SIGTERM to the mock, as a container runtime stops a container (``buildah run`` would SIGKILL it on its
        own SIGTERM); SIGKILL to the group after 30 s."""
        if self.process.poll() is None:
            for pid in self._server_pids() or [self.process.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._await_port_free()
        return self.process.returncode

    def _await_port_free(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.1)
        raise AssertionError(f"something still listens on {self.port} after the server stopped")

    def close(self) -> None:
        self.stop()
        Path(self.stderr_file.name).unlink(missing_ok=True)


@contextlib.contextmanager
def container(image: str, variant: str) -> Iterator[str]:
    name = f"dashscope-mock-image-test-{variant}-{os.getpid()}"
    subprocess.run(["buildah", "rm", name], capture_output=True, check=False)
    subprocess.run(["buildah", "from", "--pull-never", "--name", name, image], capture_output=True, check=True)
    # `buildah run` (1.28) mounts an anonymous volume on each VOLUME of the image and, in no fixed order, over the
    # --volume binds given for the same paths; without them in the working container the binds are what is mounted.
    unvolume = [arg for path in (STATE, UPLOADS) for arg in ("--volume", f"{path}-")]
    subprocess.run(["buildah", "config", *unvolume, name], capture_output=True, check=True)
    try:
        yield name
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True, check=False)


def run_healthcheck(name: str, healthcheck: dict[str, Any], port: int) -> int:
    test = healthcheck["Test"]
    assert test[0] == "CMD", test  # exec form: no shell in the check
    url = f"http://127.0.0.1:{port}/_mock/health"
    command = ["buildah", "run", "--isolation", "chroot", "--env", f"DASHSCOPE_MOCK_HEALTH_URL={url}", name, "--"]
    return subprocess.run([*command, *test[1:]], capture_output=True, check=False, timeout=60).returncode


def media_packages(name: str) -> list[str]:
    """The media stack's modules the image's Python finds (without importing them)."""
    probe = "import importlib.util, sys; print(' '.join(n for n in sys.argv[1:] if importlib.util.find_spec(n)))"
    command = ["buildah", "run", "--isolation", "chroot", name, "--", "python3", "-c", probe, *MEDIA]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=START_GUARD)
    return done.stdout.split()


def test_variant(image: str, variant: str, contract: bool, results: dict[str, Any]) -> None:
    ref = f"{image}:{variant}"
    config = image_config(ref)
    log(f"{ref}: entrypoint {config['entrypoint']}, user {config['user']}")
    assert config["user"] and config["user"] not in ("root", "0"), "the image runs as root"
    for label in ("source", "version", "licenses"):
        assert config["labels"].get(f"org.opencontainers.image.{label}"), f"no OCI label {label}"
    assert config["healthcheck"], "no HEALTHCHECK (build with --format docker)"
    assert {STATE, UPLOADS} <= set(config["volumes"]), f"the state and upload folders are not volumes: {config}"
    measured: dict[str, Any] = results.setdefault(variant, {})
    work = Path(tempfile.mkdtemp(prefix=f"image-test-{variant}-"))
    try:
        state, uploads, secret = work / "state", work / "uploads", work / "token"
        for folder in (state, uploads):
            folder.mkdir()
            folder.chmod(0o777)  # the image's user (uid 10001) writes here
        secret.write_text(TOKEN + "\n")
        secret.chmod(0o644)
        mounts = {state: STATE, uploads: UPLOADS, secret: "/run/secrets/dashscope-mock-token"}
        token_env = {"DASHSCOPE_MOCK_CONTROL_TOKEN_FILE": "/run/secrets/dashscope-mock-token"}
        with container(ref, variant) as name:
            found = media_packages(name)
            assert found == ([] if variant == "slim" else list(MEDIA)), f"{variant}: media packages {found}"
            log(f"{variant}: media packages: {' '.join(found) or 'none'}")
            port = free_port()
            server = Server(name, config["entrypoint"], port, mounts, token_env)
            try:
                measured["startup_s"] = round(server.wait_healthy(), 2)
                log(f"{variant}: first healthy answer after {measured['startup_s']} s")
                assert "control-plane token" not in server.stderr, "a token was made although one was given"
                assert run_healthcheck(name, config["healthcheck"], port) == 0, "the image's HEALTHCHECK fails"
                assert run_healthcheck(name, config["healthcheck"], free_port()) != 0, "HEALTHCHECK passes on nothing"
                assert http("GET", f"{server.base}/_mock/clock")[0] == 401, "the control plane answers without token"
                assert http("GET", f"{server.base}/_mock/clock", token=TOKEN)[0] == 200, "the token file is not used"
                log(f"{variant}: HEALTHCHECK passes; /_mock/health open, /_mock/clock wants the token from the file")
                if contract:
                    started = time.monotonic()
                    subprocess.run(["make", "-s", "contract", f"BASE_URL={server.base}"], cwd=ROOT, check=True)
                    measured["contract_s"] = round(time.monotonic() - started, 1)
                    log(f"{variant}: make contract passed ({measured['contract_s']} s)")
                sdk_out = work / "official-sdk.json"
                started = time.monotonic()
                subprocess.run(
                    [PY, str(ROOT / "scripts" / "image_official_sdk.py"), server.base, str(sdk_out)], check=True
                )
                measured["official_sdk_s"] = round(time.monotonic() - started, 1)
                task_id = json.loads(sdk_out.read_text())["task_id"]
                log(f"{variant}: the official dashscope SDK example passed (task {task_id})")
                if variant == "full":
                    mp4 = work / "liveportrait.mp4"
                    started = time.monotonic()
                    subprocess.run(
                        [PY, str(ROOT / "examples" / "liveportrait.py"), "--base-url", server.base,
                         "--api-key", KEY, "--out", str(mp4), "--timeout", "300"],
                        check=True,
                    )  # fmt: skip
                    measured["liveportrait_s"] = round(time.monotonic() - started, 1)
                    probe = (
                        "import av, sys; c = av.open(sys.argv[1]); v = c.streams.video[0]; "
                        "print(v.codec_context.name, v.width, v.height, float(c.duration or 0) / 1e6)"
                    )
                    info = subprocess.run([PY, "-c", probe, str(mp4)], capture_output=True, text=True, check=True)
                    codec, width, height, seconds = info.stdout.split()
                    assert float(seconds) > 0 and int(width) > 0, info.stdout
                    measured["liveportrait_mp4"] = f"{codec} {width}x{height}, {float(seconds):.1f} s"
                    log(f"{variant}: media-on liveportrait task rendered an MP4 ({measured['liveportrait_mp4']})")
                status = server.stop()
                last = server.stderr.strip().splitlines()[-3:]
                log(f"{variant}: stopped with SIGTERM (exit status {status}; the log ends {last})")
                written = sorted(p.name for p in state.iterdir())
                assert "mock.db" in written, f"no mock.db in the mounted state folder ({written}):\n{server.stderr}"
            finally:
                server.close()

            # The same state folder again, and no token this time: the mock makes one and prints it.
            port = free_port()
            server = Server(name, config["entrypoint"], port, mounts, {})
            try:
                measured["restart_s"] = round(server.wait_healthy(), 2)
                made = re.search(r"control-plane token \(Authorization: Bearer …\): (\S+)", server.stderr)
                assert made, f"no token was made on a 0.0.0.0 bind without one:\n{server.stderr}"
                assert http("GET", f"{server.base}/_mock/clock", token=made.group(1))[0] == 200
                code, task = http("GET", f"{server.base}/api/v1/tasks/{task_id}", key=SDK_KEY)
                assert code == 200 and task["output"]["task_status"] == "SUCCEEDED", (code, task)
                log(f"{variant}: restarted on the same state folder: task {task_id} still SUCCEEDED; made token works")
            finally:
                server.close()

            # A state folder the image's user cannot write: status 2 at start, the folder named.
            locked = work / "locked"
            locked.mkdir(mode=0o755)  # root's: not writable by uid 10001
            done = subprocess.run(
                ["buildah", "run", "--isolation", "chroot", "--volume", f"{locked}:{STATE}", name, "--",
                 *config["entrypoint"], "--port", str(free_port())],
                capture_output=True, text=True, timeout=START_GUARD, check=False,
            )  # fmt: skip
            assert done.returncode == 2, (done.returncode, done.stderr)
            assert f"--state: cannot write to {STATE}" in done.stderr, done.stderr
            said = [line for line in done.stderr.splitlines() if line.startswith("dashscope-mock:")]
            log(f"{variant}: an unwritable state folder: exit status 2, {said!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="localhost/dashscope-mock")
    parser.add_argument("--contract", default="full,slim", help="variants make contract runs against")
    parser.add_argument("variants", nargs="*", default=["full", "slim"])
    args = parser.parse_args()
    out = ROOT / "out" / "image" / "test-results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    started = time.monotonic()
    for variant in args.variants:
        begun = time.monotonic()
        test_variant(args.image, variant, variant in args.contract.split(","), results)
        results[variant]["test_s"] = round(time.monotonic() - begun, 1)
        log(f"{variant}: passed in {results[variant]['test_s']} s")
    results["total_s"] = round(time.monotonic() - started, 1)
    out.write_text(json.dumps(results, indent=2) + "\n")
    log(f"all passed in {results['total_s']} s: {json.dumps(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
