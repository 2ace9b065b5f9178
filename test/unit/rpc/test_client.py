"""The RPC runner (ganeti/rpc/client.py) against a scripted transport."""

import os
import pathlib
import stat
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.fake_transport import Fail, FakeTransport, Ok  # noqa: E402

from ganeti import constants, errors, objects, serializer, ssconf  # noqa: E402
from ganeti import config as config_mod  # noqa: E402
from ganeti.rpc import client, encoding  # noqa: E402
from ganeti.rpc import node as rpc_node  # noqa: E402
from ganeti.rpc.resolver import (  # noqa: E402
    ConfigResolver,
    SsconfResolver,
    StaticResolver,
)

NODES = {f"node{i}.example.com": f"192.0.2.{i}" for i in range(1, 11)}
N1, N2, N3 = "node1.example.com", "node2.example.com", "node3.example.com"
IP1, IP2, IP3 = NODES[N1], NODES[N2], NODES[N3]
PORT = 41811


_RUNNERS = []


def _Runner(transport, offline=(), **kwargs):
    runner = client.RpcRunner(StaticResolver(NODES, offline=offline), transport,
                              port=PORT, **kwargs)
    _RUNNERS.append(runner)
    return runner


@pytest.fixture(autouse=True)
def _CloseRunners():
    """Stop the worker threads of every runner a test made."""
    yield
    while _RUNNERS:
        _RUNNERS.pop().Close()


@pytest.fixture
def fake():
    return FakeTransport({ip: [Ok(constants.PROTOCOL_VERSION)]
                          for ip in NODES.values()})


# --- RpcResult -------------------------------------------------------------------

def test_result_of_a_successful_call():
    res = client.RpcResult(data=[True, {"a": 1}], call="node_info", node=N1)
    assert (res.failed, res.fail_msg, res.payload) == (False, None, {"a": 1})
    res.Raise("never raised")
    messages = []
    res.Warn("never warned", messages.append)
    assert messages == []


def test_failed_result_raises_exec_error_with_context():
    res = client.RpcResult(data="disk on fire", failed=True, call="x", node=N1)
    assert res.payload is None
    with pytest.raises(errors.OpExecError) as err:
        res.Raise("Could not shut down web1")
    assert err.value.args == ("Could not shut down web1: disk on fire",)


def test_raise_as_prereq_error_with_code():
    res = client.RpcResult(data=[False, "no such bridge"], call="x", node=N1)
    with pytest.raises(errors.OpPrereqError) as err:
        res.Raise("Bridge check failed", prereq=True, ecode=errors.ECODE_ENVIRON)
    assert err.value.args == ("Bridge check failed: no such bridge",
                              errors.ECODE_ENVIRON)


def test_raise_without_message_names_call_and_node():
    res = client.RpcResult(fail_msg="boom", call="version", node=N2)
    with pytest.raises(errors.OpExecError,
                       match=f"Call 'version' to node '{N2}' has failed: boom"):
        res.Raise("")


def test_offline_result_is_failed_with_the_offline_message():
    res = client.RpcResult(offline=True, call="node_info", node=N1)
    assert res.offline and res.failed
    assert res.fail_msg == "Node is marked offline"
    messages = []
    res.Warn("Cannot get node info", messages.append)
    assert messages == ["Cannot get node info: Node is marked offline"]


@pytest.mark.parametrize("data, fragment", [
    ("junk", "invalid result type"),
    ([True], "invalid result length (1)"),
    ([False, ""], "No error information"),
])
def test_malformed_data_is_a_failure(data, fragment):
    assert fragment in client.RpcResult(data=data).fail_msg


# --- calls ------------------------------------------------------------------------

def test_multi_call_returns_a_result_per_node(fake):
    runner = _Runner(fake)
    results = runner.call_version([N1, N2, N3])
    assert list(results) == [N1, N2, N3]
    assert {n: r.payload for n, r in results.items()} == \
        dict.fromkeys([N1, N2, N3], constants.PROTOCOL_VERSION)
    assert results[N2].node == N2 and results[N2].call == "version"
    assert sorted(req.host for req in fake.requests) == sorted([IP1, IP2, IP3])
    req = fake.RequestsTo(IP1)[0]
    assert (req.method, req.path, req.port, req.body) == ("POST", "/version", PORT,
                                                          b"[]")
    assert req.timeout == constants.RPC_TMO_URGENT
    assert req.headers["Content-Type"] == "application/json"


def test_single_call_returns_one_result():
    fake = FakeTransport({IP1: [Ok(True)]})
    result = _Runner(fake).call_node_has_ip_address(N1, "192.0.2.99")
    assert isinstance(result, client.RpcResult) and result.payload is True
    assert fake.requests[0].args == ["192.0.2.99"]
    assert fake.requests[0].timeout == constants.RPC_TMO_FAST


def test_arguments_go_in_table_order():
    fake = FakeTransport({IP1: [Ok([])]})
    _Runner(fake).call_hooks_runner([N1], "instance-start", "pre", {"A": "1"})
    assert fake.requests[0].args == ["instance-start", "pre", {"A": "1"}]
    assert fake.requests[0].path == "/hooks_runner"


def test_wrong_node_argument_shapes_are_programmer_errors(fake):
    runner = _Runner(fake)
    with pytest.raises(errors.ProgrammerError, match="list of nodes"):
        runner.call_version(N1)
    with pytest.raises(errors.ProgrammerError, match="takes one node"):
        runner.call_get_watcher_pause([N1])
    with pytest.raises(errors.ProgrammerError, match=r"takes 1 arguments \(duration\)"):
        runner.call_test_delay([N1])
    with pytest.raises(errors.ProgrammerError, match="Unknown RPC procedure"):
        runner.Call("no_such_call", [N1])
    with pytest.raises(errors.ProgrammerError, match="timeout of RPC test_delay"):
        runner.call_test_delay([N1], "soon")
    assert fake.requests == []


def test_duplicate_nodes_are_contacted_once(fake):
    results = _Runner(fake).call_version([N1, N1, N2])
    assert list(results) == [N1, N2]
    assert len(fake.requests) == 2


def test_generic_call_matches_generated_method(fake):
    assert _Runner(fake).Call("version", [N1])[N1].payload == \
        constants.PROTOCOL_VERSION


def test_node_failure_message_is_the_nodes():
    fake = FakeTransport({IP1: [Fail("Hook script failed")], IP2: [Ok([])]})
    results = _Runner(fake).call_hooks_runner([N1, N2], "x", "pre", {})
    assert results[N1].fail_msg == "Hook script failed"
    assert not results[N2].failed


def test_non_200_reply_is_a_failure_with_status():
    fake = FakeTransport({IP1: [(404, b"No such procedure")]})
    result = _Runner(fake).call_version([N1])[N1]
    assert result.fail_msg == "Error 404: No such procedure"


def test_unreachable_node_fails_alone_naming_the_node():
    fake = FakeTransport({IP1: [Ok(1)], IP2: [errors.RpcNetworkError("refused")],
                          IP3: [errors.RpcTimeoutError("timed out after 60 s")]})
    results = _Runner(fake).call_version([N1, N2, N3])
    assert results[N1].payload == 1
    assert results[N2].failed and N2 in results[N2].fail_msg
    assert f"{IP2}:{PORT}" in results[N2].fail_msg
    assert "refused" in results[N2].fail_msg
    assert "timed out" in results[N3].fail_msg


def test_offline_node_is_not_contacted(fake):
    results = _Runner(fake, offline=[N2]).call_node_info([N1, N2], [], [])
    assert results[N2].offline and results[N2].fail_msg == "Node is marked offline"
    assert not results[N1].failed
    assert [req.host for req in fake.requests] == [IP1]


def test_version_is_sent_to_offline_nodes_too(fake):
    results = _Runner(fake, offline=[N2]).call_version([N1, N2])
    assert results[N2].payload == constants.PROTOCOL_VERSION
    assert not results[N2].offline


def test_unknown_node_fails_without_stopping_the_others(fake):
    results = _Runner(fake).call_version([N1, "ghost.example.com"])
    assert results["ghost.example.com"].fail_msg == "Unknown node ghost.example.com"
    assert results[N1].payload == constants.PROTOCOL_VERSION


def test_test_delay_timeout_follows_the_duration():
    fake = FakeTransport({IP1: [Ok(None)]})
    _Runner(fake).call_test_delay([N1], 7.5)
    assert fake.requests[0].timeout == 12


def _SlowReply(delay, payload):
    def _Reply(_request):
        time.sleep(delay)
        return Ok(payload)
    return _Reply


def test_fan_out_runs_in_parallel():
    fake = FakeTransport({ip: [_SlowReply(0.3, ip)] for ip in NODES.values()})
    start = time.monotonic()
    results = _Runner(fake).call_node_info(list(NODES), [], [])
    elapsed = time.monotonic() - start
    assert {n: r.payload for n, r in results.items()} == NODES
    assert elapsed < 0.9  # serially it would take 3 s


def test_a_slow_node_does_not_delay_the_others_results():
    fake = FakeTransport({IP1: [_SlowReply(0.5, "slow")], IP2: [Ok("fast")]})
    runner = _Runner(fake)
    got = {}
    slow = threading.Thread(target=lambda: got.update(runner.call_version([N1])))
    slow.start()
    start = time.monotonic()
    assert runner.call_version([N2])[N2].payload == "fast"
    assert time.monotonic() - start < 0.3
    slow.join()
    assert got[N1].payload == "slow"


def test_warm_fan_out_reuses_threads():
    fake = FakeTransport({ip: [_SlowReply(0.02, ip)] for ip in NODES.values()})
    runner = _Runner(fake)
    runner.call_version(list(NODES))
    assert runner._pool._threads == len(NODES) - 1  # the caller serves one
    before = threading.active_count()
    for _ in range(5):
        runner.call_version(list(NODES))
    assert threading.active_count() == before
    assert runner._pool._threads == len(NODES) - 1
    runner.Close()


def test_pool_retires_idle_threads_and_drains_a_backlog():
    pool = client._WorkerPool(max_workers=2, idle_timeout=0.1)
    futures = [pool.Submit(time.sleep, 0.05) for _ in range(6)]
    assert [f.result(timeout=5) for f in futures] == [None] * 6
    assert pool._threads == 2
    deadline = time.monotonic() + 3
    while pool._threads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool._threads == 0
    assert pool.Submit(lambda: 42).result(timeout=5) == 42
    pool.Close()
    with pytest.raises(errors.ProgrammerError, match="after Close"):
        pool.Submit(lambda: 1)


def test_close_closes_only_a_transport_the_runner_made(fake):
    runner = _Runner(fake)
    runner.Close()
    assert not fake.closed


# --- argument encoding -------------------------------------------------------------

def test_jobqueue_update_sends_a_virtual_path_and_compressed_content(tmp_path):
    root = str(tmp_path / N1)
    fake = FakeTransport({IP1: [Ok(None)]})
    runner = _Runner(fake, node_root=root)
    job_file = f"{root}/var/lib/ganeti/queue/job-17"
    content = "x" * 5000
    runner.call_jobqueue_update([N1], job_file, content)
    file_name, packed = fake.requests[0].args
    assert file_name == constants.VIRTUAL_PATH_PREFIX + "/var/lib/ganeti/queue/job-17"
    assert packed[0] == constants.RPC_ENCODING_ZLIB_BASE64
    assert encoding.Decompress(packed) == content.encode()


def test_virtual_paths_are_not_virtualised_twice(tmp_path):
    fake = FakeTransport({IP1: [Ok(None)]})
    runner = _Runner(fake, node_root=str(tmp_path / N1))
    virtual = constants.VIRTUAL_PATH_PREFIX + "/var/lib/ganeti/queue/job-1"
    runner.call_jobqueue_update([N1], virtual, [0, "done"])
    assert fake.requests[0].args == [virtual, [0, "done"]]


def test_jobqueue_rename_virtualises_both_paths(tmp_path):
    root = str(tmp_path / N1)
    fake = FakeTransport({IP1: [Ok([])]})
    q = f"{root}/var/lib/ganeti/queue"
    _Runner(fake, node_root=root).call_jobqueue_rename(
        [N1], [(f"{q}/job-1", f"{q}/archive/0/job-1")])
    vq = constants.VIRTUAL_PATH_PREFIX + "/var/lib/ganeti/queue"
    assert fake.requests[0].args == [[[f"{vq}/job-1", f"{vq}/archive/0/job-1"]]]


def test_upload_file_sends_the_file_details(tmp_path):
    root = tmp_path / N1
    target = root / "var/lib/ganeti/ssconf_cluster_name"
    target.parent.mkdir(parents=True)
    target.write_text("cluster.example.com\n")
    os.chmod(target, 0o444)
    os.utime(target, (1000000000, 1200000000))
    fake = FakeTransport({IP1: [Ok(None)], IP2: [Ok(None)]})
    _Runner(fake, node_root=str(root)).call_upload_file([N1, N2], str(target))
    args = fake.requests[0].args
    assert fake.requests[1].body == fake.requests[0].body  # encoded once
    name, packed, mode, owner, group, atime, mtime = args[0]
    assert name == constants.VIRTUAL_PATH_PREFIX + "/var/lib/ganeti/ssconf_cluster_name"
    assert encoding.Decompress(packed) == b"cluster.example.com\n"
    assert stat.S_IMODE(mode) == 0o444 and stat.S_ISREG(mode)
    st = os.stat(target)
    assert owner == rpc_node._UserName(st.st_uid)
    assert group == rpc_node._GroupName(st.st_gid)
    assert (atime, mtime) == (1000000000, 1200000000)


def test_upload_of_a_missing_file_fails_before_sending(tmp_path, fake):
    with pytest.raises(errors.OpExecError, match="Cannot read .*nothere"):
        _Runner(fake, node_root="").call_upload_file([N1], str(tmp_path / "nothere"))
    assert fake.requests == []


def test_node_info_sends_each_node_its_own_storage_units():
    fake = FakeTransport({IP1: [Ok(["b1", [], []])], IP2: [Ok(["b2", [], []])]})
    units = {N1: [["lvm-vg", "xenvg", [False]]], N2: [["file", "/srv", []]]}
    _Runner(fake).call_node_info([N1, N2], units, [["fake", {}]])
    assert fake.RequestsTo(IP1)[0].args == [units[N1], [["fake", {}]]]
    assert fake.RequestsTo(IP2)[0].args == [units[N2], [["fake", {}]]]


def test_configuration_encoders_need_a_configuration(fake):
    with pytest.raises(errors.ProgrammerError, match="needs the cluster config"):
        _Runner(fake).call_instance_shutdown(N1, object(), 60, ["user", "x", 0])
    assert fake.requests == []


def _Track(runner):
    _RUNNERS.append(runner)
    return runner


def _Config(tmp_path):
    data = config_mod.MakeMinimalConfig("cluster.example.com", N1, IP1)
    return config_mod.ConfigWriter(str(tmp_path / "config.data"), offline=True,
                                   _data=data)


def test_instance_dict_is_filled_with_cluster_defaults(tmp_path):
    cfg = _Config(tmp_path)
    node_uuid = cfg.GetNodeInfoByName(N1).uuid
    inst = objects.Instance(name="web1.example.com", primary_node=node_uuid,
                            os="debootstrap+default", hypervisor=constants.HT_FAKE,
                            beparams={"maxmem": 256}, osparams={"dhcp": "yes"},
                            nics=[objects.NIC(mac="aa:00:00:00:00:01",
                                              nicparams={})])
    cfg.AddInstance(inst)
    fake = FakeTransport({IP1: [Ok(None)]})
    runner = _Track(client.ConfigRunner(cfg, transport=fake, port=PORT))
    runner.call_instance_shutdown(node_uuid, inst, 120, ["user", "test", 0])
    idict, timeout, reason = fake.requests[0].args
    assert (timeout, reason) == (120, ["user", "test", 0])
    assert idict["name"] == "web1.example.com"
    assert idict["beparams"]["maxmem"] == 256
    assert "minmem" in idict["beparams"] and "vcpus" in idict["beparams"]
    assert idict["hvparams"] == cfg.GetClusterInfo().FillHV(inst)
    assert idict["osparams"] == {"dhcp": "yes"}
    assert idict["secondary_nodes"] == [] and idict["disks_info"] == []
    assert idict["nics"][0]["nicparams"]["mode"] == constants.NIC_MODE_BRIDGED


# --- resolvers ------------------------------------------------------------------------

def test_config_resolver_uses_uuid_or_name_and_the_offline_flag(tmp_path):
    cfg = _Config(tmp_path)
    node = cfg.GetNodeInfoByName(N1)
    resolver = ConfigResolver(cfg, nslookup_fn={"new.example.com": "192.0.2.77"}.get)
    by_uuid, by_name, new = resolver.Resolve([node.uuid, N1, "new.example.com"])
    assert by_uuid == (N1, IP1, False, None) and by_name == by_uuid
    assert (new.name, new.ip) == ("new.example.com", "192.0.2.77")
    node.offline = True
    assert resolver.Resolve([node.uuid])[0].offline


def test_config_runner_results_are_keyed_by_what_the_caller_passed(tmp_path):
    cfg = _Config(tmp_path)
    uuid = cfg.GetNodeInfoByName(N1).uuid
    fake = FakeTransport({IP1: [Ok(constants.PROTOCOL_VERSION)]})
    runner = _Track(client.ConfigRunner(cfg, transport=fake, port=PORT))
    results = runner.call_version([uuid])
    assert list(results) == [uuid] and results[uuid].node == N1


def _NoDns(name):
    raise errors.ResolverError(name, 0, f"Host name '{name}' does not resolve")


def test_ssconf_resolver_reads_ips_and_offline_nodes(tmp_path):
    store = ssconf.SimpleStore(str(tmp_path), _lockfile=str(tmp_path / "lock"))
    store.WriteFiles({"node_primary_ips": f"{N1} {IP1}\n{N2} {IP2}\n",
                      "offline_nodes": f"{N2}\n"})
    got = SsconfResolver(store, nslookup_fn=_NoDns).Resolve([N1, N2, "x.example"])
    assert got[0] == (N1, IP1, False, None)
    assert got[1] == (N2, IP2, True, None)
    assert got[2].ip is None and "does not resolve" in got[2].error


def test_ssconf_resolver_without_ssconf_falls_back_to_name_lookup(tmp_path):
    store = ssconf.SimpleStore(str(tmp_path / "none"))
    got = SsconfResolver(store, nslookup_fn={N1: IP1}.get).Resolve([N1])
    assert got[0] == (N1, IP1, False, None)


def test_noded_port_defaults_to_1811_or_services():
    assert client.GetNodedPort() in (constants.DEFAULT_NODED_PORT,
                                     _ServicesPort())


def _ServicesPort():
    import socket
    try:
        return socket.getservbyname(constants.NODED, "tcp")
    except OSError:
        return None


def test_default_transport_uses_server_pem_as_ca_and_client_cert(tmp_path):
    from ganeti.http import client as http_client
    from ganeti.utils import x509
    pem = str(tmp_path / "server.pem")
    x509.GenerateSelfSignedSslCert(pem, 1, "ganeti.example.com")
    transport = client.MakeDefaultTransport(cafile=pem, certfile=pem)
    assert isinstance(transport, http_client.HttpClientPool)
    transport.Close()
    with pytest.raises(errors.X509CertError):
        client.MakeDefaultTransport(cafile=str(tmp_path / "missing.pem"),
                                    certfile=pem)


def test_reply_bodies_decode_as_sent():
    body = serializer.DumpJsonBytes([True, {"x": [1, 2]}])
    fake = FakeTransport({IP1: [(200, body)]})
    assert _Runner(fake).call_version([N1])[N1].payload == {"x": [1, 2]}
