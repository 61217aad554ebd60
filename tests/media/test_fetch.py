"""Bounded downloads: size limits, overall timeout (slow drip), redirects, schemes, oss:// through the upload store."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from dashscope_mock.media import Fetcher, MediaFailure
from dashscope_mock.media.fetch import (
    CHUNK_SIZE,
    SYNC_DOWNLOAD_TIMEOUT,
    FetchError,
    default_download_timeout,
    synchronous,
)
from dashscope_openapi import limits, model_limits

from .conftest import FileServer

LP_AUDIO_MAX = int(model_limits("liveportrait")["audio"]["max_bytes"])


async def test_downloads_a_file_into_dest(http_server: FileServer, tmp_path: Path) -> None:
    http_server.files["a.bin"] = b"hello" * 1000
    fetched = await Fetcher(timeout=5).fetch(
        http_server.url("a.bin"), tmp_path / "a", model="liveportrait", input="audio"
    )
    assert fetched.size == 5000
    assert fetched.path.read_bytes() == b"hello" * 1000


def test_the_default_timeout_is_the_specs() -> None:
    assert Fetcher().timeout == default_download_timeout() == float(limits()["download_timeout_seconds"])


async def test_an_oversize_file_with_content_length_is_refused_before_its_body(
    http_server: FileServer, tmp_path: Path
) -> None:
    http_server.files["big.wav"] = b"\0" * (16 * 2**20)
    with pytest.raises(MediaFailure) as caught:
        await Fetcher(timeout=10).fetch(http_server.url("big.wav"), tmp_path / "a", model="liveportrait", input="audio")
    assert caught.value.kind == "bytes"
    assert caught.value.bytes_read == 0
    assert caught.value.code == model_limits("liveportrait")["audio"]["errors"]["bytes"]
    assert not (tmp_path / "a").exists()


async def test_a_16_mb_audio_streamed_without_length_stops_at_the_15_mb_limit(
    http_server: FileServer, tmp_path: Path
) -> None:
    http_server.files["big.wav"] = b"\0" * (16 * 2**20)
    fetcher = Fetcher(timeout=10)
    with pytest.raises(MediaFailure) as caught:
        await fetcher.fetch(
            http_server.url("big.wav", chunked=True), tmp_path / "a", model="liveportrait", input="audio"
        )
    failure = caught.value
    assert failure.kind == "bytes"
    assert failure.bytes_read is not None
    assert LP_AUDIO_MAX < failure.bytes_read <= LP_AUDIO_MAX + fetcher.chunk_size
    assert not (tmp_path / "a").exists()  # the partial file is not kept


async def test_emo_audio_over_15_mb_is_the_audio_bytes_invalid_url(http_server: FileServer, tmp_path: Path) -> None:
    http_server.files["big.mp3"] = b"\0" * (16 * 2**20)
    with pytest.raises(MediaFailure) as caught:
        await Fetcher(timeout=10).fetch(
            http_server.url("big.mp3", chunked=True), tmp_path / "a", model="emo-v1", input="audio"
        )
    assert (caught.value.code, caught.value.reason) == ("InvalidURL", "audio_bytes")
    assert caught.value.message == "File size is larger than 15MB."


async def test_videoretalk_oversize_renders_the_limit_in_mb(http_server: FileServer, tmp_path: Path) -> None:
    limit = int(model_limits("videoretalk")["ref_image"]["max_bytes"])
    http_server.files["big.jpg"] = b"\0" * (limit + 1)
    with pytest.raises(MediaFailure) as caught:
        await Fetcher(timeout=10).fetch(
            http_server.url("big.jpg"), tmp_path / "a", model="videoretalk", input="ref_image"
        )
    assert caught.value.code == "InvalidFile.Size"
    assert caught.value.message == "Invalid file size. The video/audio/image file size must be less than 10MB."


async def test_a_slow_drip_server_is_cut_off_at_the_timeout_and_the_loop_stays_responsive(
    http_server: FileServer, tmp_path: Path
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    try:
        with pytest.raises(MediaFailure) as caught:
            await Fetcher(timeout=1.5).fetch(
                f"{http_server.base}/drip", tmp_path / "a", model="videoretalk", input="video"
            )
    finally:
        task.cancel()
    assert time.monotonic() - started >= 1.4  # cut off by the timeout, not before (how fast: not a test's concern)
    assert ticks >= 20  # the loop ticked every 50 ms meanwhile
    failure = caught.value
    assert failure.kind == "timeout"
    assert failure.code == "InvalidURL.Timeout"
    assert failure.message == f"Download {http_server.base}/drip timeout, please check network connection."


async def test_a_timeout_falls_back_to_the_download_code_where_the_model_has_none(
    http_server: FileServer, tmp_path: Path
) -> None:
    with pytest.raises(MediaFailure) as caught:
        await Fetcher(timeout=0.5).fetch(
            f"{http_server.base}/drip", tmp_path / "a", model="liveportrait", input="image"
        )
    assert caught.value.code == "InvalidParameter.InputDownloadFailed"
    assert caught.value.message == "Failed to download input files."


@pytest.mark.parametrize("hops", [1, 3])
async def test_up_to_three_redirects_are_followed(http_server: FileServer, tmp_path: Path, hops: int) -> None:
    http_server.files["a.bin"] = b"abc"
    fetched = await Fetcher(timeout=5).fetch(
        f"{http_server.base}/redirect/{hops}/a.bin", tmp_path / "a", model="liveportrait", input="image"
    )
    assert fetched.path.read_bytes() == b"abc"


async def test_a_fourth_redirect_is_a_download_failure(http_server: FileServer, tmp_path: Path) -> None:
    http_server.files["a.bin"] = b"abc"
    url = f"{http_server.base}/redirect/4/a.bin"
    with pytest.raises(MediaFailure) as caught:
        await Fetcher(timeout=5).fetch(url, tmp_path / "a", model="videoretalk", input="video")
    assert caught.value.code == "InvalidURL.ConnectionRefused"
    assert caught.value.message == f"Connection to {url} refused, please provide avaiable URL"
    assert "redirects" in caught.value.detail


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/a.jpg", "data:image/png;base64,AAAA", "a.jpg"]
)
async def test_other_schemes_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(MediaFailure) as caught:
        await Fetcher(timeout=5).fetch(url, tmp_path / "a", model="liveportrait", input="image")
    assert caught.value.code == "InvalidParameter.InputDownloadFailed"
    assert not (tmp_path / "a").exists()


async def test_a_redirect_to_file_is_refused(http_server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(MediaFailure) as caught:
        await Fetcher(timeout=5).fetch(f"{http_server.base}/to-file", tmp_path / "a", model="emo-v1", input="image")
    assert (caught.value.code, caught.value.reason) == ("InvalidURL", "image_download")
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("status", [403, 404, 500])
async def test_an_error_status_is_a_download_failure(http_server: FileServer, tmp_path: Path, status: int) -> None:
    with pytest.raises(MediaFailure) as caught:
        await Fetcher(timeout=5).fetch(
            f"{http_server.base}/status/{status}", tmp_path / "a", model="liveportrait", input="audio"
        )
    assert caught.value.kind == "download"


async def test_a_refused_connection_is_a_download_failure(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/a.mp4"
    with pytest.raises(MediaFailure) as caught:
        await Fetcher(timeout=5).fetch(url, tmp_path / "a", model="videoretalk", input="video")
    assert caught.value.message == f"Connection to {url} refused, please provide avaiable URL"


async def test_oss_urls_are_resolved_through_the_upload_store(tmp_path: Path) -> None:
    stored = tmp_path / "stored.wav"
    stored.write_bytes(b"RIFF....")
    store: dict[str, bytes | Path] = {"oss://bucket/bytes.wav": b"abc", "oss://bucket/path.wav": stored}
    fetcher = Fetcher(timeout=5)
    fetched = await fetcher.fetch(
        "oss://bucket/bytes.wav",
        tmp_path / "a",
        model="liveportrait",
        input="audio",
        oss_resolve=True,
        resolve_oss=store.get,
    )
    assert fetched.path.read_bytes() == b"abc"

    async def async_store(url: str) -> bytes | Path | None:
        return store.get(url)

    fetched = await fetcher.fetch(
        "oss://bucket/path.wav",
        tmp_path / "b",
        model="liveportrait",
        input="audio",
        oss_resolve=True,
        resolve_oss=async_store,
    )
    assert fetched.path.read_bytes() == b"RIFF...."


async def test_oss_urls_fail_without_the_resolve_header_or_upload(tmp_path: Path) -> None:
    fetcher = Fetcher(timeout=5)
    for oss_resolve, url in [(False, "oss://bucket/a.wav"), (True, "oss://bucket/missing.wav")]:
        with pytest.raises(MediaFailure) as caught:
            await fetcher.fetch(
                url,
                tmp_path / "a",
                model="liveportrait",
                input="audio",
                oss_resolve=oss_resolve,
                resolve_oss={"oss://bucket/a.wav": b"abc"}.get,
            )
        assert caught.value.code == "InvalidParameter.InputDownloadFailed"


async def test_an_oversize_upload_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    with big.open("wb") as handle:
        handle.truncate(LP_AUDIO_MAX + 1)  # sparse: nothing to read
    with pytest.raises(MediaFailure) as caught:
        await Fetcher().fetch(
            "oss://bucket/big.wav",
            tmp_path / "a",
            model="liveportrait",
            input="audio",
            oss_resolve=True,
            resolve_oss=lambda url: big,
        )
    assert caught.value.kind == "bytes"
    assert caught.value.bytes_read == 0


async def test_file_urls_are_read_only_when_the_mock_says_they_are_its_own(tmp_path: Path) -> None:
    own = tmp_path / "upload.bin"
    own.write_bytes(b"xyz")
    fetcher = Fetcher(timeout=5)
    with pytest.raises(FetchError):
        await fetcher.fetch_raw(own.as_uri(), tmp_path / "a", 10)
    fetched = await fetcher.fetch_raw(own.as_uri(), tmp_path / "a", 10, local_files=True)
    assert fetched.path.read_bytes() == b"xyz"
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch_raw(own.as_uri(), tmp_path / "b", 2, local_files=True)
    assert caught.value.kind == "bytes"


def test_the_chunk_size_bounds_over_reading() -> None:
    assert CHUNK_SIZE <= 256 * 1024


def test_a_detectors_download_is_bounded_by_seconds_a_tasks_by_the_spec() -> None:
    fetcher = Fetcher()
    assert fetcher.timeout == default_download_timeout()  # task inputs: the documented 60 s
    assert fetcher.sync_timeout == SYNC_DOWNLOAD_TIMEOUT <= 5  # face-detect answers within seconds
    assert synchronous("emo-detect-v1") and synchronous("liveportrait-detect")
    assert not synchronous("emo-v1") and not synchronous("no-such-model")
    assert Fetcher(timeout=1).sync_timeout == 1  # never longer than the overall bound


@pytest.mark.parametrize("model", ["emo-detect-v1", "liveportrait-detect"])
async def test_a_silent_host_fails_a_detectors_download_fast(tmp_path: Path, model: str) -> None:
    with socket.socket() as sock:  # accepts connections (the kernel's backlog) and never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/a.jpg"
        started = time.monotonic()
        with pytest.raises(MediaFailure) as caught:
            await Fetcher(sync_timeout=0.5).fetch(url, tmp_path / "a", model=model, input="image")
        assert time.monotonic() - started < 3  # cut off at the synchronous bound, not the task timeout (60 s)
    assert caught.value.kind == "timeout"
    assert (caught.value.code, caught.value.reason) == ("InvalidURL", "detect_download")  # the detectors' download code


async def test_a_resolver_that_never_answers_fails_a_detectors_download_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never(*args: object, **kwargs: object) -> object:
        await asyncio.Event().wait()  # a lookup stuck behind a resolver that drops queries
        raise AssertionError("unreachable")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", never)
    started = time.monotonic()
    with pytest.raises(MediaFailure) as caught:
        await Fetcher(sync_timeout=0.5).fetch("http://0/a.jpg", tmp_path / "a", model="emo-detect-v1", input="image")
    assert time.monotonic() - started < 3
    assert (caught.value.code, caught.value.reason) == ("InvalidURL", "detect_download")
