"""Node roles on a real 3-node virtual cluster, through the real gnt-node.

tools/vcluster-setup makes three virtual nodes; `node1/cmd gnt-cluster init
-C 2` makes node1 the master with a candidate pool of two. node2 and node3
join without SSH: node-daemon-setup runs as each of them with the data
gnt-node add would send (the cluster certificate, ssconf), which starts
their noded, and OP_NODE_ADD is submitted over LUXI. node2 becomes a master
candidate, node3 a regular node.

The tests then change roles with `gnt-node modify` (as node1/cmd runs it)
and check what the nodes hold: config.data only on candidates and always the
master's, candidate certificates in ssconf, refusals leaving the
configuration as it was (serial_no identical). They share the cluster and
run in file order; each leaves node2 a candidate and node3 regular, except
the last, which removes node3. Every process is stopped by pid at the end.
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("ganeti.cmdlib.node_add",
                    reason="LUNodeAdd (ganeti/cmdlib/node_add.py) is missing")
pytest.importorskip("ganeti.client.gnt_node_add",
                    reason="ganeti/client/gnt_node_add.py is missing")

from support.cluster import TOP, MasterCluster, WaitJob  # noqa: E402

from ganeti import opcodes  # noqa: E402

NODE_DAEMON_SETUP = os.path.join(TOP, "tools", "node-daemon-setup")
DATA = "var/lib/ganeti"

_SETUP_DATA = """
import json
from ganeti.client import gnt_node_add
print(json.dumps(gnt_node_add.BuildSetupData({cluster!r}, {node!r})))
"""

# Calls node1's noded "version" with this node's client certificate.
_CALL_NODE1 = """
from ganeti.rpc import client, resolver
runner = client.RpcRunner(resolver.StaticResolver({{"node1": {ip!r}}}))
result = runner.call_version(["node1"])["node1"]
runner.Close()
print("refused" if result.failed else "accepted")
"""


def _WaitForPort(address, port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _JoinWithoutSsh(vc, node):
    """What gnt-node add does, minus SSH: node-daemon-setup, OP_NODE_ADD."""
    data = vc.Run([sys.executable, "-c",
                   _SETUP_DATA.format(cluster=vc.cluster_name, node=node)])
    assert data.returncode == 0, data.stderr
    setup = subprocess.run([sys.executable, NODE_DAEMON_SETUP], input=data.stdout,
                           env=vc.Env(node), capture_output=True, text=True,
                           timeout=60)
    assert setup.returncode == 0, setup.stderr
    _WaitForPort(vc.ips[node], vc.port)
    vc.RecordDaemons()
    with vc.Client() as client:
        job_id = client.SubmitJob([opcodes.OpNodeAdd(node_name=node)])
        assert WaitJob(client, job_id) == "success", \
            client.QueryJobs([job_id], ["opresult"])


@pytest.fixture(scope="module")
def vc(tmp_path_factory):
    cluster = MasterCluster.VclusterSetup(tmp_path_factory.mktemp("roles"),
                                          count=3)
    try:
        cluster.InitWithCli(["-C", "2"])
        for node in ("node2", "node3"):
            _JoinWithoutSsh(cluster, node)
        yield cluster
    finally:
        left = cluster.StopAll()
    assert not left, f"processes left after daemon-util stop-all: {left}"


def _GntNode(vc, *args):
    return vc.Cmd(["gnt-node", *args])


def _Roles(vc):
    out = _GntNode(vc, "list", "--no-headers", "-o", "name,role").stdout
    return dict(line.split() for line in out.splitlines())


def _ConfigBytes(vc, node="node1"):
    path = vc.Root(node) / DATA / "config.data"
    return path.read_bytes() if path.exists() else None


def _Serial(vc):
    return json.loads(_ConfigBytes(vc))["serial_no"]


def _Ssconf(vc, key, node="node1"):
    return (vc.Root(node) / DATA / f"ssconf_{key}").read_text()


def _JobFiles(vc, node, timeout=10.0):
    """{job file: content} of a node's queue (waiting for writes to settle)."""
    queue = vc.Root(node) / DATA / "queue"
    deadline = time.monotonic() + timeout
    while True:
        files = {path.name: path.read_text() for path in queue.glob("job-*")}
        if all(json.loads(text)["end_timestamp"] for text in files.values()) \
                or time.monotonic() > deadline:
            return files
        time.sleep(0.1)


def _NodeUuids(vc):
    with vc.Client() as client:
        rows = client.QueryNodes([], ["name", "uuid"], False)
    return dict(rows)


def _Modify(vc, node, *options):
    proc = _GntNode(vc, "modify", *options, node)
    return proc.returncode, proc.stdout + proc.stderr


def _AssertRefused(vc, proc_result, message):
    code, output = proc_result
    assert code == 1, output
    assert message in output


# --- the tests, in order ---------------------------------------------------------


def test_nodes_joined_with_their_roles(vc):
    assert _Roles(vc) == {"node1": "M", "node2": "C", "node3": "R"}
    listing = _GntNode(vc, "list")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["Node", "DTotal", "DFree", "MTotal", "MNode",
                                "MFree", "Pinst", "Sinst"]
    assert [line.split()[0] for line in lines[1:]] == ["node1", "node2", "node3"]
    # config.data lives on the master and the candidate only.
    assert _ConfigBytes(vc, "node2") == _ConfigBytes(vc)
    assert _ConfigBytes(vc, "node3") is None


def test_info_output(vc):
    info = _GntNode(vc, "info", "node3")
    assert info.returncode == 0, info.stderr
    lines = info.stdout.splitlines()
    assert lines[0] == "- Node name: node3"
    assert lines[1] == f"  primary ip: {vc.ips['node3']}"
    assert lines[3:10] == ["  master candidate: False", "  drained: False",
                           "  offline: False", "  master_capable: True",
                           "  vm_capable: True", "  primary for instances: ",
                           "  secondary for instances: "]
    assert lines[10] == "  node parameters: "
    assert "    ssh_port: default (22)" in lines


def test_offlining_the_candidate_needs_auto_promote(vc):
    serial, data = _Serial(vc), _ConfigBytes(vc)
    _AssertRefused(vc, _Modify(vc, "node2", "--offline=yes"),
                   "Not enough master candidates")
    assert (_Serial(vc), _ConfigBytes(vc)) == (serial, data)
    assert _Roles(vc)["node2"] == "C"


def test_auto_promotion_and_candidates_kept_up_to_date(vc):
    uuids = _NodeUuids(vc)
    code, output = _Modify(vc, "node2", "--offline=yes", "--auto-promote")
    assert code == 0, output
    assert "Promoted nodes to master candidate role: node3" in output
    assert " - offline -> True" in output
    assert _Roles(vc) == {"node1": "M", "node2": "O", "node3": "C"}
    # The promoted node holds the master's configuration; the candidate
    # certificates follow the roles.
    assert _ConfigBytes(vc, "node3") == _ConfigBytes(vc)
    certs = _Ssconf(vc, "master_candidates_certs")
    assert uuids["node3"] in certs and uuids["node2"] not in certs
    assert _Ssconf(vc, "master_candidates_certs", "node3") == certs
    # It also got the job queue, so that it can take it over.
    assert _JobFiles(vc, "node3") == _JobFiles(vc, "node1")
    # Back online: the pool is full, so node2 is a regular node and its
    # stale config.data is gone.
    code, output = _Modify(vc, "node2", "--offline=no")
    assert code == 0, output
    assert _Roles(vc)["node2"] == "R"
    assert _ConfigBytes(vc, "node2") is None
    # Demoting node3 promotes node2, which gets the current configuration.
    code, output = _Modify(vc, "node3", "--master-candidate=no", "--auto-promote")
    assert code == 0, output
    assert _Roles(vc) == {"node1": "M", "node2": "C", "node3": "R"}
    assert _ConfigBytes(vc, "node2") == _ConfigBytes(vc)
    assert _ConfigBytes(vc, "node3") is None


def test_noded_accepts_only_candidates(vc):
    verdicts = {}
    for node in ("node2", "node3"):
        proc = vc.Run([sys.executable, "-c", _CALL_NODE1.format(
            ip=vc.ips["node1"])], node=node)
        assert proc.returncode == 0, proc.stderr
        verdicts[node] = proc.stdout.strip()
    assert verdicts == {"node2": "accepted", "node3": "refused"}


def test_last_candidate_is_not_taken_offline(vc):
    code, output = _Modify(vc, "node3", "--offline=yes")
    assert code == 0, output
    serial, data = _Serial(vc), _ConfigBytes(vc)
    _AssertRefused(vc, _Modify(vc, "node2", "--offline=yes", "--auto-promote"),
                   "node2 is the last master candidate besides the master")
    assert (_Serial(vc), _ConfigBytes(vc)) == (serial, data)
    # --force takes it out of the pool anyway.
    code, output = _Modify(vc, "node2", "--master-candidate=no", "--force")
    assert code == 0, output
    assert _Roles(vc) == {"node1": "M", "node2": "R", "node3": "O"}
    # node3 missed those changes while offline; coming back it is promoted
    # (the pool is short) and gets the current configuration.
    code, output = _Modify(vc, "node3", "--offline=no")
    assert code == 0, output
    assert " - master_candidate -> True" in output
    assert _Roles(vc)["node3"] == "C"
    assert _ConfigBytes(vc, "node3") == _ConfigBytes(vc)
    for node, option in (("node2", "--master-candidate=yes"),
                         ("node3", "--master-candidate=no")):
        code, output = _Modify(vc, node, option)
        assert code == 0, output
    assert _Roles(vc) == {"node1": "M", "node2": "C", "node3": "R"}
    assert _ConfigBytes(vc, "node3") is None


def test_master_and_bad_input_refused(vc):
    serial, data = _Serial(vc), _ConfigBytes(vc)
    _AssertRefused(vc, _Modify(vc, "node1", "--offline=yes"),
                   "The master role can be changed only via master-failover")
    _AssertRefused(vc, _Modify(vc, "node1", "--drained=yes"),
                   "The master role can be changed only via master-failover")
    proc = _GntNode(vc, "remove", "node1")
    assert proc.returncode == 1
    assert ("Node is the master node, failover to another node is required"
            in proc.stderr)
    _AssertRefused(vc, _Modify(vc, "node2", "--node-parameters", "colour=blue"),
                   "Unknown parameter 'colour'")
    _AssertRefused(vc, _Modify(vc, "node9", "--drained=yes"),
                   "Node 'node9' not known")
    assert (_Serial(vc), _ConfigBytes(vc)) == (serial, data)


def test_remove_node(vc):
    pid = vc.Pid("ganeti-noded", node="node3")
    assert pid
    proc = _GntNode(vc, "remove", "node3")
    assert proc.returncode == 0, proc.stderr
    assert _Roles(vc) == {"node1": "M", "node2": "C"}
    assert "node3" not in _Ssconf(vc, "node_list").split()
    # The node forgot the cluster and its node daemon stopped.
    deadline = time.monotonic() + 15
    while vc.Pid("ganeti-noded", node="node3") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not vc.Pid("ganeti-noded", node="node3")
    left = sorted(os.listdir(vc.Root("node3") / DATA))
    assert not [name for name in left if name.startswith("ssconf_")
                or name.endswith(".pem") or name == "config.data"], left
