"""Tests of ganeti-noded: request handling, client authentication, the daemon.

The handler runs in a real HttpServer with real mutual TLS on 127.0.0.1;
certificates come from ganeti.utils.x509, as gnt-cluster init makes them.
The procedures are a small table of test functions, except in the test that
starts the real daemons/ganeti-noded program.
"""

import optparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from ganeti import backend, constants, errors, serializer
from ganeti.http import client as http_client
from ganeti.http import server as http_server
from ganeti.http import tls
from ganeti.server import noded
from ganeti.utils import x509

_TREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
_NODED = os.path.join(_TREE, "daemons", "ganeti-noded")


def _Add(a, b):
    return a + b


def _Fail(msg):
    raise backend.RPCFail(msg)


def _Crash():
    raise ValueError("disk on fire")


def _Quit():
    raise errors.QuitGanetiException(True, "Shutdown scheduled")


_PROCEDURES = {
    "add": _Add,
    "echo": lambda *args: list(args),
    "fail": _Fail,
    "crash": _Crash,
    "sleep": time.sleep,
    "quit": _Quit,
    "unserialisable": lambda: {1, 2},
}


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    base = tmp_path_factory.mktemp("certs")
    paths = {name: str(base / f"{name}.pem")
             for name in ("server", "client", "stranger", "other_ca")}
    x509.GenerateSelfSignedSslCert(paths["server"], 1, "cluster.example.com")
    x509.GenerateSignedSslCert(paths["client"], 2, paths["server"], "node1")
    x509.GenerateSignedSslCert(paths["stranger"], 3, paths["server"], "node9")
    x509.GenerateSelfSignedSslCert(paths["other_ca"], 4, "other.example.com")
    return paths


def _WriteCandidateCerts(ssconf_dir, digests):
    path = os.path.join(ssconf_dir, "ssconf_master_candidates_certs")
    text = "".join(f"uuid-{i}={digest}\n" for i, digest in enumerate(digests))
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(path + ".tmp", path)


class _Noded:
    """The noded request handler served over mutual TLS in a thread."""

    def __init__(self, certs, ssconf_dir, max_body_size=constants.NODED_MAX_BODY_SIZE):
        self.quit_calls = 0
        self.handler = noded.NodeRequestHandler(_PROCEDURES, shutdown_fn=self._OnQuit)
        self.checker = noded.CandidateCertChecker(certs["server"],
                                                  ssconf_dir=ssconf_dir)
        self.connections = 0

        def _Check(der):
            self.connections += 1
            return self.checker(der)

        ctx = http_server.MakeServerSslContext(certs["server"], None, certs["server"],
                                               require_client_cert=True)
        self.server = http_server.HttpServer(
            "127.0.0.1", 0, self.handler, ssl_context=ctx, peer_check=_Check,
            max_body_size=max_body_size)
        self.server.Start()
        self.port = self.server.port
        self.thread = threading.Thread(target=self.server.ServeForever)
        self.thread.start()

    def _OnQuit(self):
        self.quit_calls += 1

    def Stop(self):
        self.server.Shutdown()
        self.thread.join(10)


@pytest.fixture
def node(certs, tmp_path):
    started = []

    def _Start(**kwargs):
        srv = _Noded(certs, str(tmp_path), **kwargs)
        started.append(srv)
        return srv

    yield _Start
    for srv in started:
        srv.Stop()


@pytest.fixture
def clients(certs):
    pools = []

    def _Make(certname="server"):
        pool = http_client.HttpClientPool(
            http_client.MakeClientSslContext(certs["server"], certs[certname]))
        pools.append(pool)
        return pool

    yield _Make
    for pool in pools:
        pool.Close()


def _Call(pool, port, name, args, method="POST"):
    body = args if isinstance(args, bytes) else serializer.DumpJsonBytes(args)
    status, reply = pool.Request("127.0.0.1", port, method, f"/{name}", body)
    if status == 200:
        return status, serializer.LoadJson(reply)
    return status, reply.decode()


# --- protocol ------------------------------------------------------------------

def test_round_trip(node, clients):
    srv = node()
    pool = clients()
    assert _Call(pool, srv.port, "add", [2, 3]) == (200, [True, 5])
    assert _Call(pool, srv.port, "echo", []) == (200, [True, []])
    assert _Call(pool, srv.port, "echo", [{"a": [1, None]}, "x"]) == (
        200, [True, [{"a": [1, None]}, "x"]])


def test_many_requests_share_one_connection(node, clients):
    srv = node()
    pool = clients()
    for i in range(30):
        assert _Call(pool, srv.port, "add", [i, 1]) == (200, [True, i + 1])
    assert srv.connections == 1


def test_failures_are_reported_in_the_reply(node, clients):
    srv = node()
    pool = clients()
    assert _Call(pool, srv.port, "fail", ["no such volume"]) == (
        200, [False, "no such volume"])
    assert _Call(pool, srv.port, "crash", []) == (
        200, [False, "Error while executing backend function: disk on fire"])
    status, (ok, message) = _Call(pool, srv.port, "unserialisable", [])
    assert status == 200 and not ok
    assert message.startswith("Error while executing backend function:")


def test_wrong_argument_count(node, clients):
    srv = node()
    pool = clients()
    status, (ok, message) = _Call(pool, srv.port, "add", [1])
    assert status == 200 and ok is False
    assert message == "RPC procedure 'add' takes 2 argument(s) (a, b), got 1"


def test_only_post_is_supported(node, clients):
    srv = node()
    pool = clients()
    for method in ("GET", "PUT", "DELETE"):
        assert _Call(pool, srv.port, "add", [1, 2], method=method) == (
            400, "Only the POST method is supported")


def test_unknown_procedure_is_404(node, clients):
    srv = node()
    status, text = _Call(clients(), srv.port, "no_such_call", [])
    assert status == 404
    assert "no_such_call" in text


@pytest.mark.parametrize("body, expected", [
    (b"[1, 2", "Invalid request body"),
    (b"", "Invalid request body"),
    (b'{"a": 1}', "must be a JSON list of arguments, not dict"),
    (b"42", "must be a JSON list of arguments, not int"),
])
def test_body_must_be_a_json_list(node, clients, body, expected):
    srv = node()
    pool = clients()
    status, text = _Call(pool, srv.port, "add", body)
    assert status == 400
    assert expected in text
    assert _Call(pool, srv.port, "add", [1, 1]) == (200, [True, 2])


def test_oversized_body_is_refused_and_noded_keeps_serving(node, clients):
    srv = node(max_body_size=4096)
    pool = clients()
    status, text = _Call(pool, srv.port, "echo", ["x" * 10000])
    assert status == 413
    assert "exceeds the limit of 4096 bytes" in text
    assert _Call(pool, srv.port, "echo", ["x"]) == (200, [True, ["x"]])


def test_slow_procedure_does_not_block_a_fast_one(node, clients):
    srv = node()
    pool = clients()
    slow_result = []
    slow = threading.Thread(target=lambda: slow_result.append(
        _Call(pool, srv.port, "sleep", [1.0])))
    slow.start()
    time.sleep(0.1)
    start = time.monotonic()
    assert _Call(pool, srv.port, "add", [1, 2]) == (200, [True, 3])
    assert time.monotonic() - start < 0.5
    slow.join(5)
    assert slow_result == [(200, [True, None])]


def test_quit_request_answers_then_asks_for_shutdown(node, clients):
    srv = node()
    assert _Call(clients(), srv.port, "quit", []) == (200, [True, "Shutdown scheduled"])
    assert srv.quit_calls == 1


# --- client authentication ---------------------------------------------------------

def test_bootstrap_accepts_the_cluster_certificate(node, clients):
    srv = node()  # no ssconf_master_candidates_certs at all
    assert _Call(clients("server"), srv.port, "add", [1, 1]) == (200, [True, 2])


def test_listed_candidate_certificate_is_accepted(node, clients, certs, tmp_path):
    _WriteCandidateCerts(str(tmp_path), [tls.GetCertFileDigest(certs["client"])])
    srv = node()
    assert _Call(clients("client"), srv.port, "add", [1, 1]) == (200, [True, 2])


def test_client_without_certificate_is_refused(node, certs):
    srv = node()
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(certs["server"])
    pool = http_client.HttpClientPool(ctx)
    try:
        with pytest.raises(errors.RpcNetworkError):
            pool.Request("127.0.0.1", srv.port, "POST", "/add", b"[1, 1]")
    finally:
        pool.Close()


def test_certificate_of_another_ca_is_refused(node, clients, certs, tmp_path):
    # Even when its digest is listed: the chain must lead to server.pem.
    _WriteCandidateCerts(str(tmp_path), [tls.GetCertFileDigest(certs["other_ca"])])
    srv = node()
    with pytest.raises(errors.RpcNetworkError):
        _Call(clients("other_ca"), srv.port, "add", [1, 1])


def test_signed_but_unlisted_certificate_is_refused(node, clients, certs, tmp_path):
    _WriteCandidateCerts(str(tmp_path), [tls.GetCertFileDigest(certs["client"])])
    srv = node()
    with pytest.raises(errors.RpcNetworkError, match=f"127.0.0.1:{srv.port}"):
        _Call(clients("stranger"), srv.port, "add", [1, 1])
    # Once a candidate list exists, server.pem itself is no longer enough.
    with pytest.raises(errors.RpcNetworkError):
        _Call(clients("server"), srv.port, "add", [1, 1])


def test_candidate_list_changes_are_picked_up(certs, tmp_path):
    checker = noded.CandidateCertChecker(certs["server"], ssconf_dir=str(tmp_path))
    server_digest = tls.GetCertFileDigest(certs["server"])
    client_digest = tls.GetCertFileDigest(certs["client"])
    assert checker.GetAllowedDigests() == {server_digest}
    _WriteCandidateCerts(str(tmp_path), [client_digest])
    assert checker.GetAllowedDigests() == {client_digest}
    _WriteCandidateCerts(str(tmp_path), [])
    assert checker.GetAllowedDigests() == {server_digest}
    assert not checker(None)


def _NodedOptions(certs, ssl=True):
    return optparse.Values({
        "mlock": False, "ssl": ssl, "ssl_cert": certs["server"],
        "ssl_key": certs["server"], "bind_address": "127.0.0.1", "port": 0})


def test_prep_noded_without_ssl_serves_plain_http(certs):
    server = noded.PrepNoded(_NodedOptions(certs, ssl=False), [])
    thread = threading.Thread(target=server.ServeForever)
    thread.start()
    pool = http_client.HttpClientPool(None)
    try:
        assert _Call(pool, server.port, "version", []) == (
            200, [True, constants.PROTOCOL_VERSION])
    finally:
        pool.Close()
        server.Shutdown()
        thread.join(10)


def test_prep_noded_with_missing_certificate_fails_clearly(certs, tmp_path):
    options = _NodedOptions(certs)
    options.ssl_cert = options.ssl_key = str(tmp_path / "nothing.pem")
    with pytest.raises(errors.X509CertError, match="nothing.pem"):
        noded.PrepNoded(options, [])


# --- the real daemon -----------------------------------------------------------------

def _FreePort():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _NodeRoot(tmp_path, certs):
    root = tmp_path / "node1"
    data_dir = root / "var" / "lib" / "ganeti"
    data_dir.mkdir(parents=True)
    with open(certs["server"], "rb") as src:
        (data_dir / "server.pem").write_bytes(src.read())
    env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME="node1",
               PYTHONPATH=_TREE)
    return root, env


def _WaitForPort(port, proc, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("noded did not start listening")


def test_real_noded_serves_and_stops_cleanly_on_sigterm(tmp_path, certs, clients):
    root, env = _NodeRoot(tmp_path, certs)
    port = _FreePort()
    pidfile = root / "var" / "run" / "ganeti" / "ganeti-noded.pid"
    proc = subprocess.Popen(
        [sys.executable, _NODED, "-f", "--no-mlock", "-b", "127.0.0.1",
         "-p", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _WaitForPort(port, proc)
        assert pidfile.read_text().strip() == str(proc.pid)
        pool = clients("server")
        assert _Call(pool, port, "version", []) == (
            200, [True, constants.PROTOCOL_VERSION])
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert not pidfile.exists()
    log = (root / "var" / "log" / "ganeti" / "node-daemon.log").read_text()
    assert "ganeti-noded daemon startup" in log
    assert "ganeti-noded daemon shutdown" in log


def test_real_noded_rejects_extra_arguments(tmp_path, certs):
    _, env = _NodeRoot(tmp_path, certs)
    result = subprocess.run([sys.executable, _NODED, "-f", "junk"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "Usage:" in result.stderr


def _StatusKb(pid, field):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field)


def test_real_noded_with_mlock_stays_small_under_load(tmp_path, certs):
    root, env = _NodeRoot(tmp_path, certs)
    port = _FreePort()
    proc = subprocess.Popen(
        [sys.executable, _NODED, "-f", "-b", "127.0.0.1", "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pools = []
    try:
        _WaitForPort(port, proc)

        def _Worker():
            # One pool per thread: 50 connections open at the same time.
            pool = http_client.HttpClientPool(
                http_client.MakeClientSslContext(certs["server"], certs["server"]))
            pools.append(pool)
            for _ in range(5):
                assert _Call(pool, port, "version", [])[1][0] is True

        workers = [threading.Thread(target=_Worker) for _ in range(50)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert len(pools) == 50
        assert _StatusKb(proc.pid, "VmRSS") < 60 * 1024
        assert _StatusKb(proc.pid, "VmHWM") < 60 * 1024
    finally:
        for pool in pools:
            pool.Close()
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
