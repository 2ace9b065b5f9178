"""Tests of ganeti.http.server: a real threaded server on 127.0.0.1.

Requests are written by hand on raw sockets where the test is about what
the server does with exact bytes (malformed HTTP, oversized bodies, slow
clients), and sent with ganeti.http.client elsewhere.
"""

import socket
import ssl
import threading
import time

import pytest

from ganeti import errors
from ganeti import http
from ganeti.http import client as http_client
from ganeti.http import server as http_server
from ganeti.http import tls
from ganeti.utils import x509


def _Echo(req: http_server.HttpRequest) -> http_server.HttpResponse:
    if req.path == "/fail":
        raise http.HttpForbidden("Not for you")
    if req.path == "/crash":
        raise RuntimeError("handler bug")
    if req.path == "/sleep":
        time.sleep(float(req.body))
    body = f"{req.method} {req.path} {len(req.body)} {req.peer_cert_digest}"
    return http_server.HttpResponse(body=body.encode(),
                                    headers={"Content-Type": "text/plain"})


class _Running:
    """An HttpServer serving in a background thread."""

    def __init__(self, **kwargs):
        handler = kwargs.pop("handler", _Echo)
        self.server = http_server.HttpServer("127.0.0.1", 0, handler, **kwargs)
        self.server.Start()
        self.port = self.server.port
        self.thread = threading.Thread(target=self.server.ServeForever)
        self.thread.start()

    def Stop(self):
        self.server.Shutdown()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def running():
    servers = []

    def _Start(**kwargs):
        srv = _Running(**kwargs)
        servers.append(srv)
        return srv

    yield _Start
    for srv in servers:
        srv.Stop()


class _RawConn:
    """A raw client socket that reads responses one at a time."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.sock.close()

    def sendall(self, data):
        self.sock.sendall(data)

    def recv(self, size):
        if self.buf:
            data, self.buf = self.buf[:size], self.buf[size:]
            return data
        return self.sock.recv(size)

    def _Fill(self, cond):
        while not cond():
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk


def _Connect(port):
    return _RawConn(port)


def _ReadResponse(conn):
    """Read one response (head + Content-Length body) from a _RawConn."""
    conn._Fill(lambda: b"\r\n\r\n" in conn.buf)
    head, _, conn.buf = conn.buf.partition(b"\r\n\r\n")
    parsed = http.ParseResponseHead(head)
    length = int(parsed.headers["content-length"])
    conn._Fill(lambda: len(conn.buf) >= length)
    body, conn.buf = conn.buf[:length], conn.buf[length:]
    return parsed, body


def _Post(path, body, extra=b""):
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            .encode() + extra + b"\r\n" + body)


def test_round_trip_and_keep_alive_on_one_connection(running):
    srv = running()
    with _Connect(srv.port) as sock:
        for i in range(5):
            sock.sendall(_Post("/x", b"a" * i))
            head, body = _ReadResponse(sock)
            assert head.status == 200
            assert body == f"POST /x {i} None".encode()
            assert head.headers["connection"] == "keep-alive"
            assert head.headers["server"].startswith("Ganeti ")


def test_pipelined_requests_are_answered_in_order(running):
    srv = running()
    with _Connect(srv.port) as sock:
        sock.sendall(_Post("/a", b"1") + _Post("/b", b"22"))
        assert _ReadResponse(sock)[1] == b"POST /a 1 None"
        assert _ReadResponse(sock)[1] == b"POST /b 2 None"


def test_connection_close_is_honoured(running):
    srv = running()
    with _Connect(srv.port) as sock:
        sock.sendall(_Post("/x", b"", b"Connection: close\r\n"))
        head, _ = _ReadResponse(sock)
        assert head.headers["connection"] == "close"
        assert sock.recv(10) == b""


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\n\r\n",
    b"GET / FTP/1.0\r\n\r\n",
    b"POST / HTTP/1.1\r\nno colon here\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
])
def test_malformed_http_gets_400_and_server_keeps_serving(running, raw):
    srv = running()
    with _Connect(srv.port) as sock:
        sock.sendall(raw)
        head, body = _ReadResponse(sock)
        assert head.status == 400
        assert body
        assert sock.recv(10) == b""  # connection closed after the error
    with _Connect(srv.port) as sock:
        sock.sendall(_Post("/x", b""))
        assert _ReadResponse(sock)[0].status == 200


def test_http2_version_is_refused(running):
    srv = running()
    with _Connect(srv.port) as sock:
        sock.sendall(b"GET / HTTP/2.0\r\n\r\n")
        assert _ReadResponse(sock)[0].status == 505


def test_post_without_content_length_gets_411(running):
    srv = running()
    with _Connect(srv.port) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = _ReadResponse(sock)
        assert head.status == 411
        assert b"Content-Length" in body


def test_oversized_body_gets_413_without_being_read(running):
    srv = running(max_body_size=1000)
    with _Connect(srv.port) as sock:
        # Only the head is sent: the server must answer without the body.
        sock.sendall(b"POST /x HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n")
        head, body = _ReadResponse(sock)
        assert head.status == 413
        assert b"5000000" in body and b"1000" in body
    pool = http_client.HttpClientPool(None)
    assert pool.Request("127.0.0.1", srv.port, "POST", "/x", b"y" * 1000)[0] == 200
    status, body = pool.Request("127.0.0.1", srv.port, "POST", "/x", b"y" * 20000)
    assert status == 413
    assert pool.Request("127.0.0.1", srv.port, "POST", "/x", b"")[0] == 200
    pool.Close()


def test_expect_100_continue(running):
    srv = running()
    with _Connect(srv.port) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"abc")
        assert _ReadResponse(sock)[1] == b"POST /x 3 None"


def test_handler_errors_become_statuses(running):
    srv = running()
    pool = http_client.HttpClientPool(None)
    assert pool.Request("127.0.0.1", srv.port, "GET", "/fail", b"") == (
        403, b"Not for you")
    status, body = pool.Request("127.0.0.1", srv.port, "GET", "/crash", b"")
    assert status == 500
    assert b"handler bug" not in body  # internals are logged, not sent
    assert pool.Request("127.0.0.1", srv.port, "GET", "/x", b"")[0] == 200
    pool.Close()


def test_head_request_has_no_body(running):
    srv = running()
    with _Connect(srv.port) as sock:
        sock.sendall(b"HEAD /x HTTP/1.1\r\n\r\n" + _Post("/y", b""))
        data = b""
        while data.count(b"\r\n\r\n") < 2 or not data.endswith(b"None"):
            data += sock.recv(4096)
        first, second = data.split(b"HTTP/1.1 200", 2)[1:]
        assert first.endswith(b"\r\n\r\n")  # head only
        assert second.endswith(b"POST /y 0 None")


def test_slow_client_does_not_block_others(running):
    srv = running()
    with _Connect(srv.port) as slow:
        slow.sendall(b"POST /x HTTP/1.1\r\nContent-Le")  # and nothing more
        pool = http_client.HttpClientPool(None)
        start = time.monotonic()
        assert pool.Request("127.0.0.1", srv.port, "POST", "/x", b"")[0] == 200
        assert time.monotonic() - start < 1
        pool.Close()


def test_request_must_complete_within_request_timeout(running):
    srv = running(request_timeout=0.3)
    with _Connect(srv.port) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        start = time.monotonic()
        head, _ = _ReadResponse(sock)
        assert head.status == 408
        assert time.monotonic() - start < 2


def test_idle_connection_is_closed(running):
    srv = running(idle_timeout=0.2)
    with _Connect(srv.port) as sock:
        start = time.monotonic()
        assert sock.recv(10) == b""
        assert time.monotonic() - start < 2


def test_bind_failure_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        srv = http_server.HttpServer("127.0.0.1", port, _Echo)
        with pytest.raises(errors.HttpError, match=f"127.0.0.1:{port}.*in use"):
            srv.Start()


def test_shutdown_lets_in_flight_request_finish(running):
    srv = running()
    pool = http_client.HttpClientPool(None)
    results = []
    worker = threading.Thread(target=lambda: results.append(
        pool.Request("127.0.0.1", srv.port, "POST", "/sleep", b"0.5")))
    worker.start()
    time.sleep(0.2)
    start = time.monotonic()
    srv.Stop()
    worker.join(5)
    assert results == [(200, b"POST /sleep 3 None")]
    assert time.monotonic() - start < 3
    with pytest.raises(errors.RpcNetworkError, match="refused"):
        pool.Request("127.0.0.1", srv.port, "POST", "/x", b"")
    pool.Close()


def test_shutdown_closes_idle_keep_alive_connections(running):
    srv = running()
    with _Connect(srv.port) as sock:
        sock.sendall(_Post("/x", b""))
        _ReadResponse(sock)
        start = time.monotonic()
        srv.Stop()
        assert sock.recv(10) == b""
        assert time.monotonic() - start < 2


# --- TLS -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    base = tmp_path_factory.mktemp("certs")
    paths = {name: str(base / f"{name}.pem") for name in ("server", "other")}
    x509.GenerateSelfSignedSslCert(paths["server"], 1, "cluster.example.com")
    x509.GenerateSelfSignedSslCert(paths["other"], 2, "intruder.example.com")
    return paths


def test_tls_round_trip_reports_client_certificate_digest(running, certs):
    ctx = http_server.MakeServerSslContext(certs["server"], None, certs["server"],
                                           require_client_cert=True)
    srv = running(ssl_context=ctx)
    pool = http_client.HttpClientPool(
        http_client.MakeClientSslContext(certs["server"], certs["server"]))
    status, body = pool.Request("127.0.0.1", srv.port, "POST", "/x", b"abc")
    assert status == 200
    digest = tls.GetCertFileDigest(certs["server"])
    assert body == f"POST /x 3 {digest}".encode()
    assert digest == x509.GetCertificateDigest(certs["server"])
    pool.Close()


def test_peer_check_refuses_connection(running, certs):
    ctx = http_server.MakeServerSslContext(certs["server"], None, certs["server"],
                                           require_client_cert=True)
    seen = []
    srv = running(ssl_context=ctx,
                  peer_check=lambda der: seen.append(der) or False)
    pool = http_client.HttpClientPool(
        http_client.MakeClientSslContext(certs["server"], certs["server"]))
    with pytest.raises(errors.RpcNetworkError, match=f"127.0.0.1:{srv.port}"):
        pool.Request("127.0.0.1", srv.port, "POST", "/x", b"")
    assert len(seen) == 1 and seen[0]
    pool.Close()


def test_tls_client_without_certificate_is_refused(running, certs):
    ctx = http_server.MakeServerSslContext(certs["server"], None, certs["server"],
                                           require_client_cert=True)
    srv = running(ssl_context=ctx)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.load_verify_locations(certs["server"])
    pool = http_client.HttpClientPool(client_ctx)
    with pytest.raises(errors.RpcNetworkError, match="TLS|closed|reset"):
        pool.Request("127.0.0.1", srv.port, "POST", "/x", b"")
    pool.Close()


def test_plain_http_client_to_tls_server_fails_cleanly(running, certs):
    ctx = http_server.MakeServerSslContext(certs["server"], None, None,
                                           require_client_cert=False)
    srv = running(ssl_context=ctx, handshake_timeout=1)
    pool = http_client.HttpClientPool(None)
    with pytest.raises(errors.RpcError):
        pool.Request("127.0.0.1", srv.port, "POST", "/x", b"", timeout=3)
    pool.Close()


def test_server_context_errors_name_the_file(tmp_path):
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(errors.X509CertError, match="missing.pem"):
        http_server.MakeServerSslContext(missing, None, None, False)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(errors.X509CertError, match="bad.pem"):
        tls.GetCertFileDigest(str(bad))


# --- the pure protocol part (ganeti.http) ---------------------------------------

def test_parse_request_head():
    head = http.ParseRequestHead(b"POST /node_info HTTP/1.1\r\nHost: a:1\r\n"
                                 b"X-A: 1\r\nx-a: 2\r\nContent-Length: 7\r\n"
                                 b"Content-Length: 7")
    assert (head.method, head.path, head.version) == ("POST", "/node_info", "HTTP/1.1")
    assert head.headers == {"host": "a:1", "x-a": "1, 2", "content-length": "7"}
    assert http.GetContentLength(head.headers) == 7


@pytest.mark.parametrize("version, connection, expected", [
    ("HTTP/1.1", None, True),
    ("HTTP/1.1", "close", False),
    ("HTTP/1.1", "Keep-Alive, Close", False),
    ("HTTP/1.0", None, False),
    ("HTTP/1.0", "keep-alive", True),
])
def test_keep_alive_rules(version, connection, expected):
    headers = {"connection": connection} if connection else {}
    assert http.WantsKeepAlive(version, headers) is expected


def test_format_response_announces_length_and_connection():
    data = http.FormatResponse(404, {"Content-Type": "text/plain"}, b"gone",
                               keep_alive=False)
    head, _, body = data.partition(b"\r\n\r\n")
    parsed = http.ParseResponseHead(head)
    assert (parsed.status, parsed.reason, body) == (404, "Not Found", b"gone")
    assert parsed.headers["content-length"] == "4"
    assert parsed.headers["connection"] == "close"
    with pytest.raises(errors.ProgrammerError):
        http.FormatResponse(200, {"X-Bad": "a\r\nInjected: 1"}, b"", True)
