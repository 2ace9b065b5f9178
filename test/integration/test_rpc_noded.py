"""Node RPC through real ganeti-noded processes over real mutual TLS."""

import os
import socket
import ssl
import threading
import time

import pytest
from support import vnodes

from ganeti import constants
from ganeti.http import tls
from ganeti.rpc import client as rpc_client
from ganeti.rpc import encoding

VERSION = constants.PROTOCOL_VERSION
HV_SPECS = [[constants.HT_FAKE, {}]]


def _CheckNodeInfo(results, names):
    assert list(results) == names
    for name, result in results.items():
        assert not result.failed, f"{name}: {result.fail_msg}"
        boot_id, storage, (hv_info,) = result.payload
        assert boot_id and storage == []
        assert hv_info["memory_total"] > 0 and hv_info["cpu_total"] >= 1


class _CountingTransport:
    """The real transport, recording which hosts were contacted."""

    def __init__(self, transport):
        self._transport = transport
        self.hosts = []

    def Request(self, host, *args, **kwargs):
        self.hosts.append(host)
        return self._transport.Request(host, *args, **kwargs)


# --- fan-out -------------------------------------------------------------------

def test_version_and_node_info_on_3_nodes(cluster3):
    runner = cluster3.Runner()
    results = runner.call_version(cluster3.names)
    assert {n: r.payload for n, r in results.items()} == \
        dict.fromkeys(cluster3.names, VERSION)
    _CheckNodeInfo(runner.call_node_info(cluster3.names, [], HV_SPECS),
                   cluster3.names)


def test_version_and_node_info_on_20_nodes(cluster20):
    runner = cluster20.Runner()
    start = time.monotonic()
    results = runner.call_version(cluster20.names)
    assert time.monotonic() - start < 5
    assert [r.payload for r in results.values()] == [VERSION] * 20
    _CheckNodeInfo(runner.call_node_info(cluster20.names, [], HV_SPECS),
                   cluster20.names)


def test_stopped_node_fails_cleanly_while_the_others_answer(cluster20):
    runner = cluster20.Runner()
    runner.call_version(cluster20.names)  # warm connections, also to node7
    down = "node7.example.com"
    cluster20.StopNode(down)
    try:
        start = time.monotonic()
        results = runner.call_version(cluster20.names)
        elapsed = time.monotonic() - start
        assert elapsed < 3
        assert results[down].failed and down in results[down].fail_msg
        assert all(r.payload == VERSION for n, r in results.items() if n != down)
    finally:
        cluster20.StartNode(down)
    # The stale connection to the restarted node is replaced transparently.
    assert runner.call_version([down])[down].payload == VERSION


def test_offline_node_is_not_contacted(cluster3):
    offline = cluster3.names[2]
    transport = _CountingTransport(cluster3.Transport())
    runner = rpc_client.RpcRunner(cluster3.Resolver(offline=[offline]), transport,
                                  port=cluster3.port)
    results = runner.call_node_info(cluster3.names, [], HV_SPECS)
    assert results[offline].offline
    assert results[offline].fail_msg == "Node is marked offline"
    _CheckNodeInfo({n: r for n, r in results.items() if n != offline},
                   cluster3.names[:2])
    assert cluster3.Node(offline).ip not in transport.hosts
    # version is the exception: Ganeti sends it to offline nodes too.
    assert runner.call_version([offline])[offline].payload == VERSION
    runner.Close()


def test_long_call_does_not_delay_a_short_one_on_the_same_node(cluster3):
    runner = cluster3.Runner()
    node = cluster3.names[0]
    delayed = {}
    worker = threading.Thread(
        target=lambda: delayed.update(runner.call_test_delay([node], 1.0)))
    start = time.monotonic()
    worker.start()
    time.sleep(0.1)
    assert runner.call_version([node])[node].payload == VERSION
    assert time.monotonic() - start < 0.6
    worker.join()
    assert not delayed[node].failed
    assert time.monotonic() - start >= 1.0


# --- authentication ---------------------------------------------------------------

def test_client_with_another_certificate_is_refused(cluster3, tmp_path):
    other = str(tmp_path / "other.pem")
    vnodes.GenerateClusterCert(other, "intruder.example.com")
    transport = rpc_client.MakeDefaultTransport(cafile=cluster3.server_pem,
                                                certfile=other)
    runner = rpc_client.RpcRunner(cluster3.Resolver(), transport, port=cluster3.port)
    node = cluster3.names[1]
    result = runner.call_version([node])[node]
    assert result.failed and result.payload is None
    assert node in result.fail_msg
    transport.Close()
    runner.Close()
    assert cluster3.Runner().call_version([node])[node].payload == VERSION


def _BareTls(cluster, node_name, certfile=None):
    """Send a version request over TLS, optionally without a client cert."""
    node = cluster.Node(node_name)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cluster.server_pem)
    if certfile:
        ctx.load_cert_chain(certfile)
    request = (b"POST /version HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
               b"Connection: close\r\n\r\n[]")
    with socket.create_connection((node.ip, cluster.port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as sock:
            sock.sendall(request)
            return _ReadAll(sock)


def _ReadAll(sock):
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_tls_client_without_certificate_is_refused(cluster3):
    node = cluster3.names[0]
    assert _BareTls(cluster3, node, cluster3.server_pem).startswith(b"HTTP/1.1 200")
    try:
        reply = _BareTls(cluster3, node)
    except (ssl.SSLError, ConnectionError):
        reply = b""
    assert not reply.startswith(b"HTTP/1.1 200")


# --- malformed requests -------------------------------------------------------------

def _Raw(cluster, node_name, method, path, body):
    transport = cluster.Transport()
    return transport.Request(cluster.Node(node_name).ip, cluster.port, method,
                             path, body, timeout=10)


@pytest.mark.parametrize("method, path, body, status, fragment", [
    ("POST", "/version", b"{not json", 400, b"Invalid"),
    ("POST", "/version", b'{"a": 1}', 400, b"JSON list"),
    ("POST", "/no_such_procedure", b"[]", 404, b"no_such_procedure"),
    ("GET", "/version", b"", 400, b"Only the POST method"),
])
def test_bad_requests_get_their_status_and_noded_keeps_serving(
        cluster3, method, path, body, status, fragment):
    node = cluster3.names[1]
    got_status, reply = _Raw(cluster3, node, method, path, body)
    assert got_status == status
    assert fragment in reply
    assert cluster3.Runner().call_version([node])[node].payload == VERSION


def test_oversized_body_is_refused_with_413(cluster3):
    node = cluster3.Node(cluster3.names[2])
    ctx = tls.MakeClientSslContext(cluster3.server_pem, cluster3.server_pem)
    head = (f"POST /version HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            f"\r\nContent-Length: {constants.NODED_MAX_BODY_SIZE + 1}\r\n\r\n")
    with socket.create_connection((node.ip, cluster3.port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as sock:
            sock.sendall(head.encode() + b"[" * 4096)
            reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413")
    assert cluster3.Runner().call_version([node.name])[node.name].payload == VERSION


# --- files, queue, hooks ------------------------------------------------------------

def test_upload_file_writes_an_allowed_file_on_every_node(cluster3):
    master = cluster3.master
    source = master.Path("/var/lib/ganeti/known_hosts")
    with open(source, "w", encoding="utf-8") as handle:
        handle.write("node1.example.com ssh-rsa AAAA\n")
    os.chmod(source, 0o644)
    os.utime(source, (1500000000, 1600000000))
    runner = cluster3.Runner()
    results = runner.call_upload_file(cluster3.names[1:], source)
    for name in cluster3.names[1:]:
        assert not results[name].failed, results[name].fail_msg
        target = cluster3.Node(name).Path("/var/lib/ganeti/known_hosts")
        with open(target, encoding="utf-8") as handle:
            assert handle.read() == "node1.example.com ssh-rsa AAAA\n"
        assert os.stat(target).st_mtime == 1600000000
        assert os.stat(target).st_mode & 0o777 == 0o644


def test_upload_of_a_file_not_allowed_fails_on_each_node(cluster3):
    source = cluster3.master.Path("/var/lib/ganeti/not-allowed")
    with open(source, "w", encoding="utf-8") as handle:
        handle.write("x")
    results = cluster3.Runner().call_upload_file(cluster3.names[1:], source)
    for name in cluster3.names[1:]:
        assert "not allowed" in results[name].fail_msg
        assert not os.path.exists(cluster3.Node(name).Path(
            "/var/lib/ganeti/not-allowed"))


def test_write_ssconf_files_reaches_every_node(cluster3):
    results = cluster3.Runner().call_write_ssconf_files(
        cluster3.names, {"cluster_tags": "env:test\nrole:ci\n"})
    assert all(not r.failed for r in results.values())
    for name in cluster3.names:
        path = cluster3.Node(name).Path("/var/lib/ganeti/ssconf_cluster_tags")
        with open(path, encoding="utf-8") as handle:
            assert handle.read() == "env:test\nrole:ci\n"


def test_jobqueue_update_and_rename_round_trip(cluster3):
    runner = cluster3.Runner()
    queue = cluster3.master.Path("/var/lib/ganeti/queue")
    content = '{"id": 42, "ops": []}' * 100  # large enough to be compressed
    assert encoding.Compress(content)[0] == constants.RPC_ENCODING_ZLIB_BASE64
    results = runner.call_jobqueue_update(cluster3.names, f"{queue}/job-42", content)
    assert all(not r.failed for r in results.values())
    for name in cluster3.names:
        with open(cluster3.Node(name).Path("/var/lib/ganeti/queue/job-42")) as fh:
            assert fh.read() == content
    results = runner.call_jobqueue_rename(
        cluster3.names, [(f"{queue}/job-42", f"{queue}/archive/0/job-42")])
    assert all(not r.failed for r in results.values())
    for name in cluster3.names:
        node = cluster3.Node(name)
        assert not os.path.exists(node.Path("/var/lib/ganeti/queue/job-42"))
        assert os.path.exists(node.Path("/var/lib/ganeti/queue/archive/0/job-42"))


def test_jobqueue_update_outside_the_queue_is_refused(cluster3):
    outside = cluster3.master.Path("/var/lib/ganeti/config.data")
    results = cluster3.Runner().call_jobqueue_update(cluster3.names[:1], outside, "x")
    assert "does not belong to the queue" in results[cluster3.names[0]].fail_msg


def test_hooks_runner_runs_a_real_script(cluster3):
    node2 = cluster3.Node(cluster3.names[1])
    hooks_dir = node2.Path("/etc/ganeti/hooks/instance-start-pre.d")
    os.makedirs(hooks_dir, exist_ok=True)
    for name, body in (("10-echo", 'echo "hook $GANETI_FOO"\n'),
                       ("20-fail", "echo failing >&2; exit 3\n")):
        script = os.path.join(hooks_dir, name)
        with open(script, "w", encoding="utf-8") as handle:
            handle.write("#!/bin/sh\n" + body)
        os.chmod(script, 0o755)
    results = cluster3.Runner().call_hooks_runner(
        cluster3.names[:2], "instance-start", "pre", {"GANETI_FOO": "bar"})
    assert results[cluster3.names[0]].payload == []
    assert results[node2.name].payload == [
        ["instance-start-pre.d/10-echo", constants.HKR_SUCCESS, "hook bar"],
        ["instance-start-pre.d/20-fail", constants.HKR_FAIL, "failing"],
    ]
