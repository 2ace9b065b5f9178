"""LUXI on a real master daemon: raw protocol, both sockets, bad clients.

Raw AF_UNIX sockets send what a broken or foreign client might (spec/luxi.md):
each bad message gets its error reply and the connection, and every other
client, keeps being served. The documented replies: a request that cannot
be parsed gets the plain string "Failed to parse request: ..." (luxid's
answer, Ganeti's src/Ganeti/UDSServer.hs); a request of another LUXI version
gets the encoded LuxiError Ganeti 2.x's masterd sent.
"""

import json
import os
import socket
import stat
import threading
import time

import pytest

pytest.importorskip("ganeti.jqueue")

from support import cluster  # noqa: E402

from ganeti import constants, errors, luxi, opcodes  # noqa: E402

EOM = b"\x03"
PARSE_ERROR = "Failed to parse request: "
# QueryClusterInfo keys every client may rely on (spec/luxi.md section 4).
CLUSTER_INFO_KEYS = {
    "software_version", "protocol_version", "config_version", "os_api_version",
    "export_version", "vcs_version", "architecture", "name", "master",
    "default_hypervisor", "enabled_hypervisors", "hvparams", "os_hvp",
    "beparams", "osparams", "ipolicy", "nicparams", "ndparams", "diskparams",
    "candidate_pool_size", "max_running_jobs", "max_tracked_jobs", "mac_prefix",
    "master_netdev", "master_netmask", "use_external_mip_script",
    "volume_group_name", "drbd_usermode_helper", "file_storage_dir",
    "shared_file_storage_dir", "gluster_storage_dir", "maintain_node_health",
    "ctime", "mtime", "uuid", "tags", "uid_pool", "default_iallocator",
    "default_iallocator_params", "reserved_lvs", "primary_ip_version",
    "prealloc_wipe_disks", "hidden_os", "blacklisted_os",
    "enabled_disk_templates", "install_image", "instance_communication_network",
    "zeroing_image", "compression_tools", "enabled_user_shutdown",
    "enabled_data_collectors", "data_collector_interval", "modify_ssh_setup",
    "ssh_key_type", "ssh_key_bits",
}


@pytest.fixture(scope="module")
def vc(tmp_path_factory):
    with cluster.RunningCluster(tmp_path_factory.mktemp("luxi")) as running:
        yield running


class RawConnection:
    """One AF_UNIX connection speaking LUXI by hand."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self._buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.sock.close()

    def Send(self, payload):
        self.sock.sendall(payload)

    def Receive(self):
        """The next reply, decoded; fails if the server closed the stream."""
        while EOM not in self._buf:
            data = self.sock.recv(65536)
            assert data, "server closed the connection"
            self._buf += data
        msg, self._buf = self._buf.split(EOM, 1)
        return json.loads(msg)

    def Call(self, payload):
        self.Send(payload + EOM)
        return self.Receive()

    def CallJson(self, request):
        return self.Call(json.dumps(request).encode())


def _ClusterInfoRequest(**extra):
    return dict({"method": "QueryClusterInfo", "args": []}, **extra)


def _CheckServed(conn, vc):
    """A valid request on conn still gets its answer."""
    reply = conn.CallJson(_ClusterInfoRequest(version=constants.LUXI_VERSION))
    assert reply["success"] is True
    assert reply["result"]["name"] == vc.cluster_name


# --- malformed messages ---------------------------------------------------------

@pytest.mark.parametrize("payload", [
    pytest.param(b"{this is not json", id="garbage"),
    pytest.param(b"\xff\xfe\x00binary", id="binary"),
    pytest.param(b"[1, 2, 3]", id="list"),
    pytest.param(b'"QueryClusterInfo"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b'{"method": "QueryClusterInfo"}', id="no-args"),
    pytest.param(b'{"args": []}', id="no-method"),
    pytest.param(b'{"method": "QueryClusterInfo", "args": {}}', id="args-not-list"),
    pytest.param(b'{"method": 7, "args": []}', id="method-not-string"),
    pytest.param(b"", id="empty"),
])
def test_unparsable_request_gets_parse_error_and_connection_lives(vc, payload):
    with RawConnection(vc.Socket()) as conn:
        reply = conn.Call(payload)
        assert reply["success"] is False
        assert isinstance(reply["result"], str)
        assert reply["result"].startswith(PARSE_ERROR)
        _CheckServed(conn, vc)


def test_unknown_method_is_refused_and_connection_lives(vc):
    with RawConnection(vc.Socket()) as conn:
        reply = conn.CallJson({"method": "NoSuchMethod", "args": [],
                               "version": constants.LUXI_VERSION})
        assert reply["success"] is False
        assert "NoSuchMethod" in json.dumps(reply["result"])
        _CheckServed(conn, vc)
    with vc.Client() as client:
        with pytest.raises(errors.LuxiError, match="NoSuchMethod"):
            client.CallMethod("NoSuchMethod", [])


def test_wrong_version_is_refused_with_luxi_error(vc):
    with RawConnection(vc.Socket()) as conn:
        reply = conn.CallJson(_ClusterInfoRequest(version=2160000))
        assert reply == {"success": False, "result": [
            "LuxiError",
            [f"LUXI version mismatch, server {constants.LUXI_VERSION},"
             " request 2160000"]]}
        _CheckServed(conn, vc)


@pytest.mark.parametrize("extra", [
    pytest.param({"version": 3000000}, id="ganeti-3.0"),
    pytest.param({}, id="no-version"),
])
def test_accepted_versions(vc, extra):
    assert constants.LUXI_VERSION == 3000000
    with RawConnection(vc.Socket()) as conn:
        reply = conn.CallJson(_ClusterInfoRequest(**extra))
    # luxid's reply shape: no "version" key.
    assert sorted(reply) == ["result", "success"]
    assert reply["success"] is True
    assert reply["result"]["protocol_version"] == 3000000


def test_errors_of_valid_requests_are_encoded_exceptions(vc):
    with RawConnection(vc.Socket()) as conn:
        reply = conn.CallJson({"method": "WaitForJobChange",
                               "args": [99999, ["status"], None, None, 1]})
        assert reply["success"] is False
        assert reply["result"][0] == "JobLost"
        reply = conn.CallJson({"method": "PickupJob", "args": [1]})
        assert reply["success"] is False
        _CheckServed(conn, vc)
    with vc.Client() as client:
        with pytest.raises(errors.JobLost):
            client.WaitForJobChangeOnce(99999, ["status"], None, None, timeout=1)


def test_several_requests_in_one_write_are_answered_in_order(vc):
    requests = [
        {"method": "QueryConfigValues", "args": [["cluster_name"]]},
        {"method": "QueryConfigValues", "args": [["master_node"]]},
        {"method": "QueryConfigValues", "args": [["drain_flag"]]},
    ]
    with RawConnection(vc.Socket()) as conn:
        conn.Send(b"".join(json.dumps(r).encode() + EOM for r in requests))
        replies = [conn.Receive() for _ in requests]
    assert [r["result"] for r in replies] == [["cluster"], ["node1"], [False]]


def test_request_split_across_writes(vc):
    body = json.dumps(_ClusterInfoRequest()).encode() + EOM
    with RawConnection(vc.Socket()) as conn:
        for i in range(0, len(body), 7):
            conn.Send(body[i:i + 7])
            time.sleep(0.001)
        assert conn.Receive()["success"] is True


def test_half_sent_request_does_not_block_other_clients(vc):
    with RawConnection(vc.Socket()) as stalled:
        stalled.Send(b'{"method": "QueryConfigValues", "args": [["clus')
        with RawConnection(vc.Socket()) as other, vc.Client() as client:
            _CheckServed(other, vc)
            assert client.QueryConfigValues(["cluster_name"]) == ["cluster"]
            # A garbage message from the stalled client harms nobody either.
            stalled.Send(b'ter_name"]]} trailing garbage' + EOM)
            reply = stalled.Receive()
            assert reply["success"] is False
            assert reply["result"].startswith(PARSE_ERROR)
            _CheckServed(other, vc)
            _CheckServed(stalled, vc)


def test_client_dropping_mid_request_leaves_server_serving(vc):
    for _ in range(5):
        with RawConnection(vc.Socket()) as dropped:
            dropped.Send(b'{"method": "QueryClusterInfo", "ar')
    with RawConnection(vc.Socket()) as conn:
        _CheckServed(conn, vc)


def test_many_clients_at_once(vc):
    failures = []

    def Worker():
        try:
            with vc.Client() as client:
                for _ in range(20):
                    assert client.QueryConfigValues(["cluster_name"]) == ["cluster"]
        except Exception as err:  # reported in the test's thread
            failures.append(err)

    threads = [threading.Thread(target=Worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures and not any(t.is_alive() for t in threads)


# --- the two sockets ------------------------------------------------------------

@pytest.mark.parametrize("which", ["query", "master"])
def test_both_sockets_answer(vc, which):
    with vc.Client(which) as client:
        info = client.QueryClusterInfo()
        assert CLUSTER_INFO_KEYS <= set(info)
        assert (info["name"], info["master"]) == ("cluster", "node1")
        assert info["protocol_version"] == constants.LUXI_VERSION
        assert client.QueryConfigValues(
            ["cluster_name", "master_node", "drain_flag", "watcher_pause",
             "no_such_value"]) == ["cluster", "node1", False, None, None]
        job_id = client.SubmitJob([opcodes.OpTestDelay(duration=0.01)])
        assert cluster.WaitJob(client, job_id) == "success"
    # spec/samples/run-dir-listing.txt: srw-rw---- in a drwxrwx--- directory.
    mode = os.stat(vc.Socket(which)).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660
    assert stat.S_IMODE(os.stat(os.path.dirname(vc.Socket(which))).st_mode) == 0o770


def test_force_luxi_socket_master_makes_the_cli_use_ganeti_master(vc):
    query = vc.Socket("query")
    away = query + ".away"
    # With the query socket out of the way, only FORCE_LUXI_SOCKET=master
    # can reach the master daemon (the listening socket stays bound).
    os.rename(query, away)
    try:
        proc = vc.Cmd(["gnt-cluster", "getmaster"], FORCE_LUXI_SOCKET="master")
        jobs = vc.Cmd(["gnt-job", "list", "--no-headers", "-o", "id"],
                      FORCE_LUXI_SOCKET="master")
    finally:
        os.rename(away, query)
    assert (proc.returncode, proc.stdout) == (0, "node1\n"), proc.stderr
    assert jobs.returncode == 0 and jobs.stdout.split(), jobs.stderr
    proc = vc.Cmd(["gnt-cluster", "getmaster"])
    assert (proc.returncode, proc.stdout) == (0, "node1\n"), proc.stderr


def test_wait_for_job_change_on_a_finished_job_returns_at_once(vc):
    with vc.Client() as client:
        job_id = client.SubmitJob([opcodes.OpTestDelay(duration=0.01)])
        assert cluster.WaitJob(client, job_id) == "success"
        start = time.monotonic()
        result = client.WaitForJobChangeOnce(job_id, ["status"], ["success"], None,
                                             timeout=30)
        assert time.monotonic() - start < 2
        assert result == [["success"], []]
        assert client.QueryJobs([job_id, 99999], ["id", "status"]) == \
            [[job_id, "success"], None]
    assert luxi.JOB_NOTCHANGED == "nochange"
