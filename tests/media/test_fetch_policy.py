"""The fetch policy (SSRF): which resolved addresses inputs may come from, one lookup per hop, nothing sent to a
refused address. Servers here are loopback threads that count every connection they accept; no real DNS is used
(numeric hosts and ``localhost`` never leave the machine, other names go through a stand-in resolver)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import itertools
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from dashscope_mock.media import MediaFailure
from dashscope_mock.media import fetch as fetch_module
from dashscope_mock.media import policy as policy_module
from dashscope_mock.media.fetch import POLICY_DETAIL_PREFIX, Fetcher, FetchPolicy, FetchRefused
from dashscope_mock.media.policy import PRIVATE, IPAddress, category
from dashscope_openapi import model_limits

MODEL, INPUT = "liveportrait", "image"
DOWNLOAD_CODE = model_limits(MODEL)[INPUT]["errors"]["download"]
STRICT = FetchPolicy(allow_private=False)
ip = ipaddress.ip_address


def _can_bind(family: socket.AddressFamily, host: str) -> bool:
    try:
        with socket.socket(family) as sock:
            sock.bind((host, 0))
        return True
    except OSError:
        return False


HAS_IPV6_LOOPBACK = socket.has_ipv6 and _can_bind(socket.AF_INET6, "::1")
HAS_127_0_0_2 = _can_bind(socket.AF_INET, "127.0.0.2")  # Linux answers on all of 127/8


class Recorder(ThreadingHTTPServer):
    """Counts every connection it accepts (``accepted``) and records each request's path and Host. ``/f`` answers
    ``ok``, ``/redirect`` a 302 to ``location``."""

    daemon_threads = True
    location = ""

    def __init__(self, host: str, port: int = 0) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.accepted = 0
        self.requests: list[tuple[str, str]] = []
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.accepted += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up (TLS handshakes refused on purpose) are not errors


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Recorder

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        redirect = self.path == "/redirect"
        self.send_response(302 if redirect else 200 if self.path == "/f" else 404)
        if redirect:
            self.send_header("Location", self.server.location)
        self.send_header("Content-Length", "0" if redirect else "2")
        self.end_headers()
        self.wfile.write(b"" if redirect else b"ok")


class Serve(Protocol):
    def __call__(self, host: str = ..., port: int = ...) -> Recorder: ...


@pytest.fixture
def serve() -> Iterator[Serve]:
    started: list[Recorder] = []

    def start(host: str = "127.0.0.1", port: int = 0) -> Recorder:
        server = Recorder(host, port)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


Connects = list[tuple[str, int]]


@pytest.fixture
async def connects(monkeypatch: pytest.MonkeyPatch) -> Connects:
    """Every TCP connect the event loop makes (httpcore → anyio → ``loop.create_connection``), as (host, port)."""
    loop = asyncio.get_running_loop()
    original = loop.create_connection
    seen: list[tuple[str, int]] = []

    async def spy(factory: Any, host: str, port: int, **kwargs: Any) -> Any:
        seen.append((host, port))
        return await original(factory, host, port, **kwargs)

    monkeypatch.setattr(loop, "create_connection", spy)
    return seen


def stand_in_resolver(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[Sequence[str]]]) -> list[str]:
    """Replace the fetcher's one resolution function: ``names[host]`` lists the answers of successive lookups (the
    last repeats); other hosts go to the real one (numeric and ``localhost`` only, here). Returns the hosts looked
    up, one entry per call."""
    real = policy_module.resolve
    calls: list[str] = []

    async def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
        calls.append(host)
        if host not in names:
            return await real(host, port)
        answers = names[host]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return tuple(ip(text) for text in answer)

    monkeypatch.setattr(policy_module, "resolve", resolve)
    return calls


_serial = itertools.count()


async def failing(url: str, tmp_path: Path, policy: FetchPolicy = STRICT, **kwargs: Any) -> MediaFailure:
    dest = tmp_path / f"failed-{next(_serial)}"
    with pytest.raises(MediaFailure) as caught:
        await Fetcher(timeout=5, policy=policy, **kwargs).fetch(url, dest, model=MODEL, input=INPUT)
    assert (caught.value.kind, caught.value.code) == ("download", DOWNLOAD_CODE)
    assert not dest.exists()
    return caught.value


async def refused(url: str, tmp_path: Path, policy: FetchPolicy = STRICT, **kwargs: Any) -> MediaFailure:
    failure = await failing(url, tmp_path, policy, **kwargs)
    assert failure.detail.startswith(POLICY_DETAIL_PREFIX)
    assert isinstance(failure.__cause__, FetchRefused)
    return failure


async def fetched(url: str, tmp_path: Path, policy: FetchPolicy = STRICT, **kwargs: Any) -> bytes:
    dest = tmp_path / f"fetched-{next(_serial)}"
    result = await Fetcher(timeout=5, policy=policy, **kwargs).fetch(url, dest, model=MODEL, input=INPUT)
    return result.path.read_bytes()


# --- the policy itself ---------------------------------------------------------------------------------------------


CATEGORIES = {
    "loopback": "127.0.0.1 127.255.0.9 ::1 ::ffff:127.0.0.1 64:ff9b::7f00:1",  # mapped, NAT64: judged as the IPv4
    "private": "10.0.0.1 172.31.255.255 192.168.1.1 fd12:3456::1",
    "shared (CGNAT)": "100.64.0.1",
    "cloud metadata": "100.100.100.200 169.254.169.254 ::ffff:169.254.169.254 169.254.170.2 fd00:ec2::254",
    "link-local": "169.254.1.1 fe80::1",
    "unspecified": "0.0.0.0 0.1.2.3 ::",
    "multicast": "224.0.0.1 ff02::1",
    "broadcast": "255.255.255.255",
    "reserved": "240.0.0.1 ::127.0.0.1",  # IPv4-compatible (deprecated) is no way round the mapped rule
    "special-purpose": "203.0.113.7",
    "public": "93.184.215.14 2606:4700::1111 ::ffff:8.8.8.8",
}


@pytest.mark.parametrize(
    ("address", "expected"), [(address, name) for name, spaced in CATEGORIES.items() for address in spaced.split()]
)
def test_addresses_fall_into_categories(address: str, expected: str) -> None:
    assert category(ip(address)) == expected


@pytest.mark.parametrize(
    ("address", "strict", "private", "cidr"),
    [
        # refused with allow_private=False, with allow_private=True, with allowed=(a CIDR holding it,)
        ("127.0.0.1", "loopback", None, None),
        ("10.0.0.1", "private", None, None),
        ("8.8.8.8", None, None, None),
        ("169.254.1.1", "link-local", "link-local", None),  # never by allow_private, only by an explicit CIDR
        ("240.0.0.1", "reserved", "reserved", None),
        ("169.254.169.254", "cloud metadata", "cloud metadata", "cloud metadata"),  # never, whatever the config
        ("100.100.100.200", "cloud metadata", "cloud metadata", "cloud metadata"),
        ("0.0.0.0", "unspecified", "unspecified", "unspecified"),
        ("224.0.0.1", "multicast", "multicast", "multicast"),
    ],
)
def test_the_tiers(address: str, strict: str | None, private: str | None, cidr: str | None) -> None:
    addr = ip(address)
    assert FetchPolicy(allow_private=False).refused(addr) == strict
    assert FetchPolicy(allow_private=True).refused(addr) == private
    assert FetchPolicy.from_config(False, [f"{address}/32"]).refused(addr) == cidr
    assert FetchPolicy.from_config(False, ["0.0.0.0/0"]).refused(addr) == cidr  # even the broadest CIDR


def test_from_config_reads_cidrs_addresses_and_mapped_networks() -> None:
    policy = FetchPolicy.from_config(False, ["10.1.2.3/8", "192.168.7.7", " fd00::/8 ", "::ffff:172.16.0.0/108"])
    # Addresses are judged unmapped, so are the networks: ::ffff:172.16.0.0/108 is 172.16.0.0/12.
    networks = ["10.0.0.0/8", "192.168.7.7/32", "fd00::/8", "172.16.0.0/12"]
    assert policy.allowed == tuple(map(ipaddress.ip_network, networks))
    checked = ("10.9.9.9", "::ffff:10.9.9.9", "172.16.5.5", "192.168.7.8")
    assert [policy.refused(ip(address)) for address in checked] == [None, None, None, "private"]
    assert policy == FetchPolicy(allow_private=False, allowed=policy.allowed)  # frozen, comparable
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        FetchPolicy.from_config(True, ["10.0.0.0/33"])
    assert FetchPolicy.from_config(True, ()).allow_private
    assert Fetcher().policy == FetchPolicy(allow_private=True, allowed=())  # the default: in process, loopback


def test_one_refused_address_refuses_the_whole_answer() -> None:
    refusal = STRICT.check("mixed.example", [ip("8.8.8.8"), ip("10.0.0.1")])
    assert refusal is not None
    assert (refusal.address, refusal.category) == (ip("10.0.0.1"), "private")
    assert refusal.detail == (
        "fetch policy: address 10.0.0.1 (private) refused by the fetch policy (host 'mixed.example')"
    )
    assert STRICT.check("public.example", [ip("8.8.8.8"), ip("2606:4700::1111")]) is None


# --- refusals: before any connect ------------------------------------------------------------------------------------


SPELLINGS = ["127.0.0.1", "localhost", "0.0.0.0", "2130706433", "0x7f000001", "0x7f.1", "017700000001", "127.1"]


@pytest.mark.parametrize("host", [*SPELLINGS, "[::ffff:127.0.0.1]"])
async def test_loopback_in_any_spelling_is_refused_and_nothing_connects(
    host: str, serve: Serve, connects: Connects, tmp_path: Path
) -> None:
    server = serve("127.0.0.1")  # 0.0.0.0 would reach it too (Linux connects it to the local host)
    failure = await refused(f"http://{host}:{server.port}/f", tmp_path)
    expected = "0.0.0.0 (unspecified)" if host == "0.0.0.0" else "127.0.0.1 (loopback)"
    assert expected in failure.detail
    assert failure.message == "Failed to download input files."
    assert server.accepted == 0 and server.requests == []
    assert connects == []


@pytest.mark.skipif(not HAS_IPV6_LOOPBACK, reason="no IPv6 loopback on this machine")
async def test_ipv6_loopback_is_refused_and_allowed_with_allow_private(
    serve: Serve, connects: Connects, tmp_path: Path
) -> None:
    server = serve("::1")
    url = f"http://[::1]:{server.port}/f"
    assert "address ::1 (loopback)" in (await refused(url, tmp_path)).detail
    assert server.accepted == 0 and connects == []
    assert await fetched(url, tmp_path, FetchPolicy(allow_private=True)) == b"ok"
    assert server.requests == [("/f", f"[::1]:{server.port}")]


ELSEWHERE = "169.254.169.254 100.100.100.200 [fd00:ec2::254] 169.254.1.1 224.0.0.1 10.0.0.1 192.168.1.1 100.64.1.1"


@pytest.mark.parametrize("host", [*ELSEWHERE.split(), "0.0.0.0", "[::ffff:169.254.169.254]"])
async def test_metadata_link_local_and_private_addresses_are_refused_before_any_connect(
    host: str, connects: Connects, tmp_path: Path
) -> None:
    expected = category(ip(host.strip("[]")))
    assert f"({expected})" in (await refused(f"http://{host}/latest/meta-data/", tmp_path)).detail
    if expected not in PRIVATE:  # allow_private opens none of the others
        assert f"({expected})" in (await refused(f"http://{host}/", tmp_path, FetchPolicy(allow_private=True))).detail
    assert connects == []


async def test_allow_private_fetches_from_loopback(serve: Serve, tmp_path: Path) -> None:
    server = serve("127.0.0.1")
    for host in ("127.0.0.1", "localhost", "2130706433"):
        assert await fetched(f"http://{host}:{server.port}/f", tmp_path, FetchPolicy(allow_private=True)) == b"ok"
    hosts = [seen_host for _, seen_host in server.requests]
    assert hosts == [f"{h}:{server.port}" for h in ("127.0.0.1", "localhost", "2130706433")]  # Host as named


async def test_an_allowed_cidr_lets_one_server_through(serve: Serve, tmp_path: Path) -> None:
    server = serve("127.0.0.1")
    policy = FetchPolicy.from_config(False, ["127.0.0.1/32"])
    assert await fetched(f"http://localhost:{server.port}/f", tmp_path, policy) == b"ok"
    assert server.requests == [("/f", f"localhost:{server.port}")]
    await refused("http://127.0.0.2/f", tmp_path, policy)  # the rest of loopback stays refused


# --- redirects, and one lookup per hop (DNS rebinding) ---------------------------------------------------------------


@pytest.mark.skipif(not HAS_127_0_0_2, reason="127.0.0.2 is not a local address here")
@pytest.mark.parametrize("target", ["127.0.0.2", "2130706434", "0x7f000002", "[::ffff:127.0.0.2]"])
async def test_a_redirect_to_a_refused_address_is_refused_before_connecting(
    target: str, serve: Serve, connects: Connects, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    public, hidden = serve("127.0.0.1"), serve("127.0.0.2")
    public.location = f"http://{target}:{hidden.port}/f"
    calls = stand_in_resolver(monkeypatch, {"images.example": [["127.0.0.1"]]})
    policy = FetchPolicy.from_config(False, ["127.0.0.1/32"])  # images.example's address, and nothing else
    failure = await refused(f"http://images.example:{public.port}/redirect", tmp_path, policy)
    assert "(loopback)" in failure.detail
    assert public.requests == [("/redirect", f"images.example:{public.port}")]
    assert hidden.accepted == 0 and hidden.requests == []
    assert connects == [("127.0.0.1", public.port)]
    assert calls == ["images.example", target.strip("[]")]  # one lookup per hop


async def test_a_relative_redirect_stays_on_the_named_host(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = serve("127.0.0.1")
    server.location = "/f"
    calls = stand_in_resolver(monkeypatch, {"images.example": [["127.0.0.1"]]})
    policy = FetchPolicy.from_config(False, ["127.0.0.1"])
    assert await fetched(f"http://images.example:{server.port}/redirect", tmp_path, policy) == b"ok"
    named = f"images.example:{server.port}"
    assert server.requests == [("/redirect", named), ("/f", named)]  # joined to the name, not to the IP literal
    assert calls == ["images.example", "images.example"]


async def test_each_hop_resolves_once_on_the_real_resolver(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = serve("127.0.0.1")
    server.location = f"http://localhost:{server.port}/f"
    loop = asyncio.get_running_loop()
    original = loop.getaddrinfo
    lookups: list[str | bytes | None] = []

    async def spy(host: str | bytes | None, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return await original(host, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", spy)
    assert await fetched(f"http://localhost:{server.port}/redirect", tmp_path, FetchPolicy(allow_private=True)) == b"ok"
    assert lookups == ["localhost", "localhost"]  # the connects went to the IP literals: no second lookup


class _Body(httpx.AsyncByteStream):
    """A streamed body, as a real transport's (httpx reads a ``content=`` body at once, and it cannot stream)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"ok"


class SpyTransport(httpx.AsyncBaseTransport):
    """Stands in for the network: records each request and answers ``ok``."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, stream=_Body())


async def test_dns_rebinding_the_address_checked_is_the_address_connected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = stand_in_resolver(monkeypatch, {"rebind.example": [["93.184.215.14"], ["127.0.0.1"]]})
    spy = SpyTransport()
    assert await fetched("https://rebind.example/a.png", tmp_path, transport=spy) == b"ok"
    assert calls == ["rebind.example"]  # a single lookup: its second answer (loopback) is never asked for
    [request] = spy.requests
    assert request.url == httpx.URL("https://93.184.215.14/a.png")
    assert request.headers["Host"] == "rebind.example"
    assert request.extensions["sni_hostname"] == "rebind.example"  # TLS sends and verifies the name


@pytest.mark.skipif(not HAS_127_0_0_2, reason="127.0.0.2 is not a local address here")
async def test_dns_rebinding_against_real_servers(
    serve: Serve, connects: Connects, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    allowed = serve("127.0.0.1")
    hidden = serve("127.0.0.2", allowed.port)  # where the name's second answer would lead
    calls = stand_in_resolver(monkeypatch, {"rebind.example": [["127.0.0.1"], ["127.0.0.2"]]})
    policy = FetchPolicy.from_config(False, ["127.0.0.1/32"])
    assert await fetched(f"http://rebind.example:{allowed.port}/f", tmp_path, policy) == b"ok"
    assert calls == ["rebind.example"]
    assert allowed.requests == [("/f", f"rebind.example:{allowed.port}")]
    assert hidden.accepted == 0
    assert connects == [("127.0.0.1", allowed.port)]


@pytest.mark.parametrize("answers", [[["127.0.0.1"], ["93.184.215.14"]], [["93.184.215.14", "10.0.0.1"]]])
async def test_an_answer_with_a_refused_address_is_refused_after_one_lookup(
    answers: list[Sequence[str]], monkeypatch: pytest.MonkeyPatch, connects: Connects, tmp_path: Path
) -> None:  # rebinding the other way round (a second answer would be public), and a mixed answer
    calls = stand_in_resolver(monkeypatch, {"name.example": answers})
    await refused("http://name.example/a.png", tmp_path)
    assert calls == ["name.example"] and connects == []


@pytest.mark.skipif(not HAS_127_0_0_2, reason="127.0.0.2 is not a local address here")
async def test_an_address_that_refuses_the_connection_falls_through_to_the_next(
    serve: Serve, connects: Connects, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = serve("127.0.0.1")  # nobody listens on 127.0.0.2 at that port: like localhost's ::1 before 127.0.0.1
    stand_in_resolver(monkeypatch, {"two.example": [["127.0.0.2", "127.0.0.1"]]})
    assert await fetched(f"http://two.example:{server.port}/f", tmp_path, FetchPolicy(allow_private=True)) == b"ok"
    assert connects == [("127.0.0.2", server.port), ("127.0.0.1", server.port)]


# --- TLS: the IP literal on the wire, the name in SNI and in the certificate check ------------------------------------


@pytest.fixture
def tls_server(serve: Serve, tmp_path: Path) -> tuple[Recorder, ssl.SSLContext, list[str]]:
    """A loopback HTTPS server with a self-signed certificate for ``fixture.test``; the client context that trusts it,
    and the SNI names the server received."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fixture.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("fixture.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "cert.pem").write_bytes(pem)
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    names: list[str] = []
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    def record(sock: ssl.SSLObject, sni: str | None, context: ssl.SSLContext) -> None:
        names.append(str(sni))

    server_context.sni_callback = record
    server = serve("127.0.0.1")
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    return server, ssl.create_default_context(cadata=pem.decode()), names


async def test_https_connects_to_the_checked_address_and_verifies_the_name(
    tls_server: tuple[Recorder, ssl.SSLContext, list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, trusting, names = tls_server
    monkeypatch.setattr(fetch_module, "_ssl_context", lambda: trusting)
    calls = stand_in_resolver(monkeypatch, {"fixture.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
    policy = FetchPolicy.from_config(False, ["127.0.0.1/32"])
    assert await fetched(f"https://fixture.test:{server.port}/f", tmp_path, policy) == b"ok"
    assert names == ["fixture.test"]
    assert server.requests == [("/f", f"fixture.test:{server.port}")]
    failure = await failing(f"https://other.test:{server.port}/f", tmp_path, policy)  # same address, another name
    assert "certificate" in failure.detail.lower()  # the certificate is checked against the name
    assert calls == ["fixture.test", "other.test"]


# --- not network fetches ----------------------------------------------------------------------------------------------


async def test_oss_and_the_mocks_own_files_are_not_subject_to_the_policy(tmp_path: Path) -> None:
    own = tmp_path / "upload.bin"
    own.write_bytes(b"xyz")
    fetcher = Fetcher(timeout=5, policy=STRICT)
    assert (await fetcher.fetch_raw(own.as_uri(), tmp_path / "a", 10, local_files=True)).size == 3
    store = {"oss://bucket/a.png": b"abc"}
    oss = await fetcher.fetch(
        "oss://bucket/a.png", tmp_path / "b", model=MODEL, input=INPUT, oss_resolve=True, resolve_oss=store.get
    )
    assert oss.path.read_bytes() == b"abc"
