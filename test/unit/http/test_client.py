"""Tests of ganeti.http.client: the pooled keep-alive client.

The peers are real: an HttpServer from ganeti.http.server, or a scripted
raw TCP server where the test needs bytes no correct server would send.
"""

import os
import socket
import ssl
import statistics
import threading
import time

import pytest

from ganeti import errors
from ganeti.http import client as http_client
from ganeti.http import server as http_server
from ganeti.http import tls
from ganeti.utils import x509


class _CountingServer:
    """An HttpServer in a thread that counts accepted TCP connections."""

    def __init__(self, handler=None, **kwargs):
        self.connections = 0
        self.server = http_server.HttpServer(
            "127.0.0.1", 0, handler or self._Handle, **kwargs)
        self.server.Start()
        self.port = self.server.port
        # Count connections by wrapping the server's accept.
        original = self.server._Accept

        def _CountingAccept():
            self.connections += 1
            original()

        self.server._Accept = _CountingAccept
        self.thread = threading.Thread(target=self.server.ServeForever)
        self.thread.start()

    @staticmethod
    def _Handle(req):
        if req.path == "/sleep":
            time.sleep(float(req.body))
        return http_server.HttpResponse(body=req.path.encode() + b":" + req.body)

    def Stop(self):
        self.server.Shutdown()
        self.thread.join(10)


@pytest.fixture
def server():
    started = []

    def _Start(**kwargs):
        srv = _CountingServer(**kwargs)
        started.append(srv)
        return srv

    yield _Start
    for srv in started:
        srv.Stop()


@pytest.fixture
def pool():
    created = []

    def _Make(ssl_context=None, **kwargs):
        new = http_client.HttpClientPool(ssl_context, **kwargs)
        created.append(new)
        return new

    yield _Make
    for item in created:
        item.Close()


class _ScriptedPeer:
    """A raw TCP server answering each connection with fixed bytes."""

    def __init__(self, reply: bytes, close: bool = True):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.reply = reply
        self.close = close
        self.thread = threading.Thread(target=self._Serve, daemon=True)
        self.thread.start()

    def _Serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            if self.reply:
                conn.sendall(self.reply)
            if not self.close:
                time.sleep(2)

    def Stop(self):
        self.listener.close()
        self.thread.join(5)


def test_requests_reuse_one_connection(server, pool):
    srv = server()
    client = pool()
    for i in range(20):
        assert client.Request("127.0.0.1", srv.port, "POST", "/p", b"%d" % i) == (
            200, b"/p:%d" % i)
    assert srv.connections == 1


def test_reuse_works_with_descriptors_above_1024(server, pool):
    srv = server()
    client = pool()
    null_fd = os.open(os.devnull, os.O_RDONLY)
    fillers = [os.dup(null_fd) for _ in range(1100)]
    try:
        for _ in range(5):
            assert client.Request("127.0.0.1", srv.port, "POST", "/p", b"")[0] == 200
    finally:
        for fd in fillers + [null_fd]:
            os.close(fd)
    assert srv.connections == 1


def test_concurrent_requests_each_own_a_connection(server, pool):
    srv = server()
    client = pool(max_idle_per_host=4)
    results = []
    lock = threading.Lock()

    def _Worker(n):
        for i in range(10):
            body = b"%d-%d" % (n, i)
            reply = client.Request("127.0.0.1", srv.port, "POST", "/w", body)
            with lock:
                results.append((reply, b"/w:%d-%d" % (n, i)))

    threads = [threading.Thread(target=_Worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 80
    assert all(reply == (200, expected) for reply, expected in results)
    assert srv.connections <= 8


def test_stale_idle_connection_is_retried_on_a_fresh_one(server, pool):
    srv = server(idle_timeout=0.1)
    client = pool()
    assert client.Request("127.0.0.1", srv.port, "POST", "/a", b"")[0] == 200
    time.sleep(0.4)  # the server has closed the idle connection meanwhile
    assert client.Request("127.0.0.1", srv.port, "POST", "/b", b"") == (200, b"/b:")
    assert srv.connections == 2


def test_reused_connection_dropped_before_answering_is_retried_once(pool):
    # The peer answers the first request, then closes the connection when
    # the second one arrives (as a server does when its idle timer fires at
    # that moment); a fresh connection gets the answer.
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    requests = []

    def _Serve():
        first, _ = listener.accept()
        with first:
            requests.append(first.recv(65536))
            first.sendall(ok)
            requests.append(first.recv(65536))  # then drop it unanswered
        second, _ = listener.accept()
        with second:
            requests.append(second.recv(65536))
            second.sendall(ok)
            second.recv(10)

    thread = threading.Thread(target=_Serve, daemon=True)
    thread.start()
    client = pool()
    try:
        assert client.Request("127.0.0.1", port, "POST", "/a", b"") == (200, b"ok")
        assert client.Request("127.0.0.1", port, "POST", "/b", b"") == (200, b"ok")
    finally:
        client.Close()
        listener.close()
        thread.join(5)
    assert [r.split(b" ")[1] for r in requests] == [b"/a", b"/b", b"/b"]


def test_server_restart_between_requests_is_transparent(pool):
    first = _CountingServer()
    port = first.port
    client = pool()
    assert client.Request("127.0.0.1", port, "POST", "/a", b"")[0] == 200
    first.Stop()
    second = http_server.HttpServer("127.0.0.1", port, _CountingServer._Handle)
    second.Start()
    thread = threading.Thread(target=second.ServeForever)
    thread.start()
    try:
        assert client.Request("127.0.0.1", port, "POST", "/b", b"x") == (200, b"/b:x")
    finally:
        second.Shutdown()
        thread.join(10)


def test_connection_refused_names_host_and_port(pool):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(errors.RpcNetworkError, match=f"127.0.0.1:{port}.*refused"):
        pool().Request("127.0.0.1", port, "POST", "/x", b"")


def test_read_timeout_is_not_retried(server, pool):
    srv = server()
    client = pool()
    assert client.Request("127.0.0.1", srv.port, "POST", "/a", b"")[0] == 200
    start = time.monotonic()
    with pytest.raises(errors.RpcTimeoutError, match=f"127.0.0.1:{srv.port}"):
        client.Request("127.0.0.1", srv.port, "POST", "/sleep", b"1", timeout=0.3)
    assert time.monotonic() - start < 0.9
    # the timed-out connection is discarded; the pool still works
    assert client.Request("127.0.0.1", srv.port, "POST", "/c", b"") == (200, b"/c:")


def test_connect_timeout(pool):
    # A listener whose backlog is full does not complete new handshakes.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            client = pool(ssl_context=http_client.MakeClientSslContext(
                _CERTS["server"], _CERTS["server"]), connect_timeout=0.3)
            start = time.monotonic()
            with pytest.raises(errors.RpcTimeoutError, match="timed out"):
                client.Request("127.0.0.1", port, "POST", "/x", b"")
            assert time.monotonic() - start < 2
        finally:
            for filler in fillers:
                filler.close()


@pytest.mark.parametrize("reply", [
    b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    b"HTTP/1.1 abc Bad\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
])
def test_garbage_is_a_protocol_error(pool, reply):
    peer = _ScriptedPeer(reply)
    try:
        with pytest.raises(errors.RpcProtocolError):
            pool().Request("127.0.0.1", peer.port, "POST", "/x", b"")
    finally:
        peer.Stop()


def test_connection_closed_mid_body_is_a_network_error(pool):
    peer = _ScriptedPeer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
    try:
        with pytest.raises(errors.RpcNetworkError, match="closed"):
            pool().Request("127.0.0.1", peer.port, "POST", "/x", b"")
    finally:
        peer.Stop()


def test_chunked_and_close_delimited_bodies(pool):
    peer = _ScriptedPeer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n")
    try:
        assert pool().Request("127.0.0.1", peer.port, "GET", "/", b"") == (
            200, b"abcde")
    finally:
        peer.Stop()
    peer = _ScriptedPeer(b"HTTP/1.0 404 Not Found\r\n\r\nno such thing")
    try:
        assert pool().Request("127.0.0.1", peer.port, "GET", "/", b"") == (
            404, b"no such thing")
    finally:
        peer.Stop()


# --- TLS ---------------------------------------------------------------------

_CERTS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def certs(tmp_path_factory):
    base = tmp_path_factory.mktemp("certs")
    for name, serial in (("server", 1), ("other", 2)):
        _CERTS[name] = str(base / f"{name}.pem")
        x509.GenerateSelfSignedSslCert(_CERTS[name], serial, f"{name}.example.com")
    yield _CERTS
    _CERTS.clear()


def _TlsServer(server):
    ctx = http_server.MakeServerSslContext(_CERTS["server"], None, _CERTS["server"],
                                           require_client_cert=True)
    return server(ssl_context=ctx)


def test_tls_keep_alive_round_trip_is_fast(server, pool):
    srv = _TlsServer(server)
    client = pool(http_client.MakeClientSslContext(_CERTS["server"],
                                                   _CERTS["server"]))
    client.Request("127.0.0.1", srv.port, "POST", "/warm", b"")
    times = []
    for _ in range(200):
        start = time.perf_counter()
        client.Request("127.0.0.1", srv.port, "POST", "/version", b"[]")
        times.append(time.perf_counter() - start)
    assert srv.connections == 1
    # Nagle + delayed ACK would make this ~40 ms; a warm call takes ~0.2 ms.
    assert statistics.median(times) < 0.002


def test_server_with_untrusted_certificate_is_refused(server, pool):
    srv = _TlsServer(server)
    client = pool(http_client.MakeClientSslContext(_CERTS["other"],
                                                   _CERTS["server"]))
    with pytest.raises(errors.RpcNetworkError,
                       match=f"127.0.0.1:{srv.port}.*(TLS|certificate)"):
        client.Request("127.0.0.1", srv.port, "POST", "/x", b"")


def test_host_name_is_not_verified(server, pool):
    # The certificate says server.example.com; we connect to 127.0.0.1.
    srv = _TlsServer(server)
    client = pool(http_client.MakeClientSslContext(_CERTS["server"],
                                                   _CERTS["server"]))
    assert client.Request("127.0.0.1", srv.port, "POST", "/x", b"1") == (200, b"/x:1")


def test_client_context_loads_separate_key_file(tmp_path):
    key_pem, cert_pem = x509.GenerateSelfSignedX509Cert("c.example.com", 3600, 5)
    (tmp_path / "key.pem").write_text(key_pem)
    (tmp_path / "cert.pem").write_text(cert_pem)
    ctx = http_client.MakeClientSslContext(_CERTS["server"], str(tmp_path / "cert.pem"),
                                           str(tmp_path / "key.pem"))
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and not ctx.check_hostname
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    with pytest.raises(errors.X509CertError, match="key.pem"):
        http_client.MakeClientSslContext(_CERTS["server"], str(tmp_path / "key.pem"))


def test_digest_format_matches_openssl():
    digest = tls.GetCertFileDigest(_CERTS["server"])
    assert digest == x509.GetCertificateDigest(_CERTS["server"])
    assert len(digest) == 59 and digest == digest.upper() and digest.count(":") == 19
