"""Bounded work (issue 10, item 5): hostile inputs cost bounded memory, bytes and render time, and fail with the
documented codes.

The hostile files are made here: a 16-bit 7000x7000 PNG of ~110 KB (deflate at its best), a JPEG whose header
claims 4096x4096 with 16 bytes of picture data, a WAV at 1 Hz, an endless HTTP body. Memory is measured as the peak
resident size (``ru_maxrss``: Pillow's, numpy's and FFmpeg's C buffers included) of a fresh subprocess per case,
above its resident size once idle; the bounds are generous, nothing is timed.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageFile

from dashscope_mock.media import (
    Fetcher,
    MediaFailure,
    MemoryBudget,
    check_audio,
    check_image,
    check_video,
    detect_faces,
    media_budget,
)
from dashscope_mock.media.checks import max_render_seconds
from dashscope_mock.media.errors import input_limits
from dashscope_mock.media.render import render_portrait
from dashscope_mock.testing import async_mock_dashscope
from dashscope_openapi import load_control_spec, model_limits

from . import factory
from .conftest import FileServer
from .harness import ModelMedia

DETECT_PATH = "/api/v1/services/aigc/image2video/face-detect"
MB = 2**20


# ------------------------------------------------------------------------------------------------ hostile files
def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def deep_png(side: int = 7000, grey: int = 0x4000) -> bytes:
    """A ``side`` x ``side`` 16-bit grey PNG, one shade: ~98 MB of pixels in ~110 KB (compressed row by row)."""
    header = struct.pack(">IIBBBBB", side, side, 16, 0, 0, 0, 0)
    deflate = zlib.compressobj(9)
    first = b"\x01" + struct.pack(">H", grey) + bytes(2 * side - 2)  # "Sub": every pixel as the one before
    parts = [deflate.compress(first)]
    same = b"\x02" + bytes(2 * side)  # "Up": every row as the one above
    parts.extend(deflate.compress(same) for _ in range(side - 1))
    parts.append(deflate.flush())
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def lying_png(side: int = 7000) -> bytes:
    """A PNG header claiming ``side`` x ``side`` 8-bit RGB with 16 bytes of data."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", bytes(16)) + _chunk(b"IEND", b"")


def lying_jpeg(side: int = 4096, data: int = 16, *, eoi: bool = False) -> bytes:
    """A real small JPEG whose frame header is rewritten to ``side`` x ``side``, cut ``data`` bytes into its scan
    (with ``eoi``, closed by an end-of-image marker: libjpeg then fills the rest in grey, without an error)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 90, 80)).save(buffer, "JPEG")
    raw = bytearray(buffer.getvalue())
    sof = raw.find(b"\xff\xc0")
    raw[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    sos = raw.find(b"\xff\xda")
    length = struct.unpack(">H", raw[sos + 2 : sos + 4])[0]
    return bytes(raw[: sos + 2 + length + data]) + (b"\xff\xd9" if eoi else b"")


def slow_wav(rate: int = 1, seconds: int = 170) -> bytes:
    """16-bit mono PCM at ``rate`` Hz: at 1 Hz, 384 bytes that "last" 170 s."""
    pcm = bytes(seconds * rate * 2)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------------------------ memory, measured
_MEASURE = """
import gc, json, os, sys, threading
from pathlib import Path
from dashscope_mock.media import MediaFailure, check_image, media_budget, portrait_face

def rss():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

face_jpg, model, path = sys.argv[1], sys.argv[2], Path(sys.argv[3])
faces, parallel = sys.argv[4] == "1", int(sys.argv[5])
warm = check_image("liveportrait", "image", Path(face_jpg))  # loads the decoders and the face models
portrait_face("liveportrait", "image", warm.rgb)
del warm
gc.collect()
idle = rss()
with open("/proc/self/clear_refs", "w") as handle:  # the high-water mark restarts here: the warm-up's peak is not ours
    handle.write("5")
results = []

def one():
    try:
        image = check_image(model, "image", path)
        if faces:
            portrait_face(model, "image", image.rgb, ratio="1:1" if model.startswith("emo") else None)
        results.append("passed")
    except MediaFailure as failure:
        results.append(failure.code)

threads = [threading.Thread(target=one) for _ in range(parallel)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with open("/proc/self/status") as handle:
    peak = next(int(line.split()[1]) for line in handle if line.startswith("VmHWM:")) / 1024
print(json.dumps({"above_idle_mb": peak - idle, "results": sorted(set(results)), "budget_peak": media_budget().peak}))
"""


def measure(model: str, path: Path, *, faces: bool = True, parallel: int = 1) -> dict[str, Any]:
    """Check ``path`` as ``model``'s image (``parallel`` times at once) in a fresh process: its peak memory above
    idle, the outcomes, the most the budget lent at once."""
    argv = [str(factory.FACE_JPG), model, str(path), "1" if faces else "0", str(parallel)]
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_deep_png_face_detect_stays_small(tmp_path: Path) -> None:
    """It used to take +900 MB (black) to +1.2 GB (grey) per face-detect: a float64 copy of 49 Mpx, and Pillow
    decoding it twice (once looking for EXIF)."""
    path = write(tmp_path, "deep.png", deep_png())
    assert 90_000 < path.stat().st_size < 130_000
    measured = measure("emo-detect-v1", path)
    assert measured["results"] == ["InvalidFile.NoHuman"]  # one shade: decoded, looked at, no face
    assert measured["above_idle_mb"] < 300, measured


def test_twelve_deep_pngs_at_once_share_the_budget(tmp_path: Path) -> None:
    """12 worst-case decodes (they took +13.7 GB at once) wait for each other's memory: under 1 GB above idle."""
    measured = measure("emo-detect-v1", write(tmp_path, "deep.png", deep_png()), faces=False, parallel=12)
    assert measured["results"] == ["passed"]
    assert 0 < measured["budget_peak"] <= media_budget().total
    assert measured["above_idle_mb"] < 1024, measured


@pytest.mark.parametrize("eoi", [False, True], ids=["cut", "closed"])
def test_a_lying_jpeg_fails_before_its_frame_is_allocated(tmp_path: Path, eoi: bool) -> None:
    """The closed one used to decode "successfully" into a 4096x4096 grey frame (+224 MB)."""
    measured = measure("liveportrait", write(tmp_path, "lie.jpg", lying_jpeg(eoi=eoi)), faces=False)
    assert measured["results"] == ["InvalidParameter.UnsupportedFileFormat"]
    assert measured["above_idle_mb"] < 32, measured  # a 4096x4096 frame alone is 64 MB


# ------------------------------------------------------------------------------------------------ codes, in process
@pytest.mark.parametrize("eoi", [False, True], ids=["cut", "closed"])
@pytest.mark.parametrize(
    ("model", "input", "code"),
    [
        ("liveportrait", "image", "InvalidParameter.UnsupportedFileFormat"),
        ("emo-v1", "image", "InvalidURL"),
        ("videoretalk", "ref_image", "InvalidFile.Openerror"),
    ],
)
def test_a_lying_jpeg_is_the_models_open_failure(tmp_path: Path, model: str, input: str, code: str, eoi: bool) -> None:
    with pytest.raises(MediaFailure) as caught:
        check_image(model, input, write(tmp_path, "lie.jpg", lying_jpeg(eoi=eoi)))
    assert (caught.value.code, caught.value.kind) == (code, "open")
    assert "needs at least" in caught.value.detail


def test_a_lying_png_is_an_open_failure(tmp_path: Path) -> None:
    with pytest.raises(MediaFailure) as caught:
        check_image("emo-v1", "image", write(tmp_path, "lie.png", lying_png()))
    assert (caught.value.code, caught.value.kind) == ("InvalidURL", "open")


def test_pillow_keeps_refusing_truncated_files() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert Image.MAX_IMAGE_PIXELS is not None  # the bomb check stays on (the inputs' own max_pixels are lower)
    for model, inputs in _inputs():
        for name, spec in inputs:
            if "max_pixels" in spec:
                assert spec["max_pixels"] == spec["max_side"] ** 2 <= Image.MAX_IMAGE_PIXELS, (model, name)


def _inputs() -> Iterator[tuple[str, list[tuple[str, Any]]]]:
    from dashscope_openapi import limits

    for model in limits()["models"]:
        yield model, [(name, spec) for name, spec in model_limits(model).items() if "formats" in spec]


def test_every_input_of_every_model_is_bounded() -> None:
    for model, inputs in _inputs():
        for name, spec in inputs:
            assert isinstance(spec.get("max_bytes"), int), (model, name)
            if name in ("image", "ref_image", "video"):
                assert spec["max_pixels"] == spec["max_side"] ** 2, (model, name)
            if name == "audio":
                assert spec["min_sample_rate"] == 8000, model
    assert input_limits("emo-detect-v1", "image")["max_bytes"] == input_limits("liveportrait", "image")["max_bytes"]
    budget = load_control_spec()["x-media-budget"]
    assert media_budget().total == budget["memory_bytes"] <= 1024 * MB


def test_large_images_decode_reduced_and_boxes_come_back_in_the_images_pixels(tmp_path: Path) -> None:
    face = factory.face_rgb()
    small_box = detect_faces(face)[0]
    large = Image.fromarray(face).resize((512 * 5, 600 * 5), Image.Resampling.BICUBIC)
    for fmt in ("JPEG", "PNG"):
        checked = check_image("emo-v1", "image", write(tmp_path, f"large.{fmt}", factory.image_bytes(large, fmt)))
        assert (checked.width, checked.height) == (2560, 3000)
        assert max(checked.rgb.shape[:2]) <= load_control_spec()["x-media-budget"]["decode_max_side"]
        box = checked.to_image(detect_faces(checked.rgb)[0])
        assert np.allclose(box, [5 * v for v in small_box], atol=0.05 * 5 * (small_box[2] - small_box[0]))


async def test_a_large_portrait_is_detected_in_its_own_pixels(tmp_path: Path, http_server: FileServer) -> None:
    face = factory.face_rgb()
    small_box = detect_faces(face)[0]
    large = Image.fromarray(face).resize((512 * 5, 600 * 5), Image.Resampling.BICUBIC)
    http_server.files["large.jpg"] = factory.image_bytes(large, "JPEG", quality=90)
    answer = await ModelMedia(work_root=tmp_path / "work").detect("emo-detect-v1", http_server.url("large.jpg"), "1:1")
    assert isinstance(answer, dict) and answer["output"]["check_pass"] is True, answer
    x1, y1, x2, y2 = answer["output"]["ext_bbox"]
    assert x2 - x1 == y2 - y1 and x2 <= 2560 and y2 <= 3000
    tolerance = 0.05 * 5 * (small_box[2] - small_box[0])
    assert np.allclose(answer["output"]["face_bbox"], [5 * v for v in small_box], atol=tolerance)


def test_a_video_too_large_by_its_header_is_refused_by_its_sides_without_decoding(tmp_path: Path) -> None:
    size = (4112, 1040)  # 4.3 Mpx: more than the 2048x2048 a frame may have, so not even its first frame decodes
    assert size[0] * size[1] > input_limits("videoretalk", "video")["max_pixels"]
    data = factory.video_bytes(1.0, fps=15, size=size, picture=np.zeros((size[1], size[0], 3), np.uint8))
    with pytest.raises(MediaFailure) as caught:
        check_video("videoretalk", "video", write(tmp_path, "wide.mp4", data))
    assert (caught.value.code, caught.value.reason) == ("InvalidFile.Resolution", "video")


# ------------------------------------------------------------------------------------------------ through the mock
async def test_hostile_images_through_the_mocks_face_detect(http_server: FileServer) -> None:
    http_server.files["deep.png"] = deep_png()
    http_server.files["lie.jpg"] = lying_jpeg(eoi=True)
    async with async_mock_dashscope(media_checks=True, rate_limit=False) as mock:
        headers = {k: v for k, v in mock.headers.items() if k.lower() != "x-dashscope-async"}
        async with mock.async_client(headers=headers) as client:

            async def detect(model: str, name: str, status: int = 200) -> dict[str, Any]:
                body = {"model": model, "input": {"image_url": http_server.url(name)}, "parameters": {"ratio": "1:1"}}
                answer = await client.post(DETECT_PATH, json=body)
                assert answer.status_code == status, answer.text
                found: dict[str, Any] = answer.json()
                return found

            deep = await detect("emo-detect-v1", "deep.png")  # decoded within bounds, looked at: no face
            assert (deep["output"]["check_pass"], deep["output"]["code"]) == (False, "InvalidFile.NoHuman")
            # emo-detect-v1's open/format code is its download code: a failed request, as for an unreadable URL.
            assert (await detect("emo-detect-v1", "lie.jpg", 400))["code"] == "InvalidURL"
            live = await detect("liveportrait-detect", "lie.jpg")
            assert live["output"] == {"pass": False, "message": "Input files format not supported."}
            live = await detect("liveportrait-detect", "deep.png")  # 7000 px: refused from the header
            assert live["output"] == {"pass": False, "message": "The size of image is beyond limit."}


# ------------------------------------------------------------------------------------------------ endless body
class _Endless(BaseHTTPRequestHandler):
    """Zeros, chunked, for as long as the client reads; ``sent`` counts them."""

    protocol_version = "HTTP/1.1"
    sent = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = bytes(64 * 1024)
        try:
            while True:
                self.wfile.write(b"10000\r\n" + piece + b"\r\n")
                type(self).sent += len(piece)
        except OSError:  # the client hung up: what the test wants
            pass


@pytest.fixture
def endless() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    server.daemon_threads = True
    _Endless.sent = 0
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/endless.png"
    finally:
        server.shutdown()
        server.server_close()


async def test_an_endless_body_stops_at_max_bytes(tmp_path: Path, endless: str) -> None:
    limit = input_limits("emo-detect-v1", "image")["max_bytes"]
    fetcher = Fetcher(timeout=30)
    dest = tmp_path / "image"
    with pytest.raises(MediaFailure) as caught:
        await fetcher.fetch(endless, dest, model="emo-detect-v1", input="image")
    assert caught.value.kind == "bytes"
    assert caught.value.bytes_read is not None
    assert limit < caught.value.bytes_read <= limit + fetcher.chunk_size
    assert not dest.exists()  # nothing of it stays on disk
    work = tmp_path / "work"
    answer = await ModelMedia(fetcher=fetcher, work_root=work).detect("emo-detect-v1", endless, "1:1")
    assert isinstance(answer, dict), answer  # the emo images map `bytes` to their `size` code: a failed check
    assert (answer["output"]["check_pass"], answer["output"]["code"]) == (False, "InvalidFile.Resolution")
    assert list(work.iterdir()) == []


# ------------------------------------------------------------------------------------------------ audio and renders
@pytest.mark.parametrize(
    ("model", "code"),
    [
        ("liveportrait", "InvalidParameter.UnsupportedFileFormat"),
        ("emo-v1", "InvalidURL"),
        ("videoretalk", "InvalidFile.Format"),
    ],
)
def test_audio_below_8_khz_is_the_models_format_failure(tmp_path: Path, model: str, code: str) -> None:
    path = write(tmp_path, "slow.wav", slow_wav(1, 170))
    assert path.stat().st_size == 384
    with pytest.raises(MediaFailure) as caught:
        check_audio(model, "audio", path)
    assert (caught.value.code, caught.value.kind) == (code, "format")
    assert check_audio(model, "audio", write(tmp_path, "ok.wav", slow_wav(8000, 3))).sample_rate == 8000


def test_a_render_never_outlasts_the_models_longest_input(tmp_path: Path) -> None:
    assert {m: max_render_seconds(m) for m in ("liveportrait", "emo-v1", "videoretalk")} == {
        "liveportrait": 180,
        "emo-v1": 60,
        "videoretalk": 120,
    }
    audio = write(tmp_path, "a.wav", factory.wav_bytes(3.0))
    out = tmp_path / "out.mp4"
    frame = np.full((64, 64, 3), 128, np.uint8)
    render_portrait(out, frame=frame, face=None, audio_path=audio, duration=3.0, fps=25, max_seconds=1.0)
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(container.streams.video[0])) == 25


# ------------------------------------------------------------------------------------------------ the budget
def test_the_budget_makes_work_wait_not_fail() -> None:
    budget = MemoryBudget(100)
    holding, release = threading.Event(), threading.Event()
    order: list[str] = []

    def hold(name: str, amount: int) -> None:
        with budget.reserve(amount):
            order.append(name)
            holding.set()
            release.wait()

    first = threading.Thread(target=hold, args=("first", 80))
    first.start()
    holding.wait()
    later = [threading.Thread(target=hold, args=(name, amount)) for name, amount in (("big", 500), ("small", 10))]
    for thread in later:
        thread.start()
        while len(budget._waiters) < later.index(thread) + 1:  # queued behind "first" (FIFO: small waits too)
            threading.Event().wait(0.01)
    assert (budget.used, order) == (80, ["first"])
    release.set()
    for thread in [first, *later]:
        thread.join()
    assert order == ["first", "big", "small"]  # the oversized one ran alone, cut to the whole budget
    assert (budget.used, budget.peak) == (0, 100)
