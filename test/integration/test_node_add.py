"""gnt-node add over SSH on a 3-node virtual cluster, with a real sshd per node.

tools/vcluster-setup makes node1..node3 on a random 127.x.y prefix;
`node1/cmd gnt-cluster init -C 2 ...` starts noded and masterd on node1 with
GANETI_NODED_PORT set to a free port. node2 and node3 each get their own
OpenSSH sshd on their address (test/support/sshd.py) whose sessions run as
that virtual node. `gnt-node add` runs through node1's cmd helper, as an
operator types it, with GANETI_SSH_KEY_FILE naming the test key.

The candidate pool size is 2, as in `make demo`: with Ganeti's default of
10 every added node would become a candidate; at 2, node2 joins as
candidate and node3 as a regular node that auto-promotion can pick later.

Every process is stopped by pid at the end (sshd by the fixture, the
cluster's daemons by support.cluster's StopAll).
"""

import json
import os
import shlex

import pytest

from support import sshd as sshd_support
from support.cluster import FreePort, MasterCluster

from ganeti.utils import x509

pytestmark = pytest.mark.skipif(not sshd_support.Available(),
                                reason="OpenSSH sshd is not installed")

# `gnt-node add` through the real command line: scripts/gnt-node when the
# gnt-node program exists, else the same AddNode in a GenericMain table.
_ADD_DRIVER = (
    "import sys; from ganeti import cli; from ganeti.client import gnt_node_add"
    " as a; sys.exit(cli.GenericMain({'add': (a.AddNode, a.ADD_ARGS, a.ADD_OPTS,"
    " a.ADD_USAGE, a.ADD_HELP)}, argv=['gnt-node', *sys.argv[1:]]))")
_GNT_NODE = os.path.join(sshd_support.PROGRAM_DIRS[1], "gnt-node")


class NodeAddCluster:
    """The virtual cluster, the sshds of node2 and node3, and helpers."""

    def __init__(self, base):
        self.base = base
        self.vc = MasterCluster.VclusterSetup(base, count=3)
        self.key = sshd_support.ClientKey(base / "ssh-key")
        self.sshd = {}

    def Start(self):
        self.vc.InitWithCli(["-C", "2"])
        for node in ("node2", "node3"):
            env = sshd_support.NodeEnv(self.vc.Root(node), node,
                                       self.base / "hosts")
            self.sshd[node] = sshd_support.Sshd(
                self.base / f"sshd-{node}", self.vc.ips[node], self.key,
                node_env=env)
            self.sshd[node].Start()

    def Stop(self):
        for server in self.sshd.values():
            server.Stop()
        return self.vc.StopAll()

    def GntNode(self, *args, port=None):
        """Run `gnt-node ...` on node1; port: the ssh_port node parameter."""
        argv = list(args)
        if port is not None:
            argv[1:1] = ["--node-parameters", f"ssh_port={port}"]
        if os.access(_GNT_NODE, os.X_OK):
            line = shlex.join(["gnt-node", *argv])
        else:
            line = shlex.join(["python3", "-c", _ADD_DRIVER, *argv])
        return self.vc.Cmd(line + " </dev/null", timeout=120,
                           GANETI_SSH_KEY_FILE=str(self.key.path))

    def Config(self, node="node1"):
        path = self.vc.Root(node) / "var/lib/ganeti/config.data"
        return json.loads(path.read_text())

    def Serial(self):
        return self.Config()["serial_no"]

    def DataFile(self, node, name):
        return self.vc.Root(node) / "var/lib/ganeti" / name

    def KnownHosts(self):
        path = self.DataFile("node1", "known_hosts")
        return path.read_text() if path.exists() else ""

    def Roles(self):
        with self.vc.Client() as client:
            rows = client.QueryNodes([], ["name", "role"], False)
        return dict(rows)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    nac = NodeAddCluster(tmp_path_factory.mktemp("nodeadd"))
    try:
        nac.Start()
        yield nac
    finally:
        left = nac.Stop()
    assert not [pid for pid in left if pid in nac.vc.pids], left


def _Refused(cluster, proc, *texts):
    assert proc.returncode != 0, proc.stdout
    for text in texts:
        assert text in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_host_key_is_refused_without_no_ssh_key_check(cluster):
    serial, known = cluster.Serial(), cluster.KnownHosts()
    fingerprint = cluster.sshd["node2"].Fingerprint()
    proc = cluster.GntNode("add", "node2", port=cluster.sshd["node2"].port)
    _Refused(cluster, proc, "is not known", fingerprint, "--no-ssh-key-check")
    assert cluster.Serial() == serial and cluster.KnownHosts() == known
    assert not cluster.DataFile("node2", "server.pem").exists()


def test_unknown_parameter_is_refused_before_anything(cluster):
    serial = cluster.Serial()
    proc = cluster.GntNode("add", "--no-ssh-key-check", "--node-parameters",
                           "no_such_param=1", "node2")
    _Refused(cluster, proc, "Unknown parameter 'no_such_param'")
    assert cluster.Serial() == serial
    assert not cluster.DataFile("node2", "server.pem").exists()


def test_unreachable_sshd_is_refused(cluster):
    serial = cluster.Serial()
    port = FreePort(cluster.vc.ips["node2"])
    proc = cluster.GntNode("add", "--no-ssh-key-check", "node2", port=port)
    _Refused(cluster, proc, "Cannot connect to the SSH daemon of node2",
             f"port {port}")
    assert cluster.Serial() == serial


def test_add_node2_as_candidate_and_node3_as_regular(cluster):
    serial = cluster.Serial()
    for node in ("node2", "node3"):
        proc = cluster.GntNode("add", "--no-ssh-key-check", node,
                               port=cluster.sshd[node].port)
        assert proc.returncode == 0, proc.stderr
        assert cluster.vc.Pid("ganeti-noded", node=node)
    assert cluster.Serial() > serial
    assert cluster.Roles() == {"node1": "M", "node2": "C", "node3": "R"}
    config = cluster.Config()
    nodes = {node["name"]: node for node in config["nodes"].values()}
    assert nodes["node2"]["ndparams"] == {"ssh_port": cluster.sshd["node2"].port}
    assert nodes["node3"]["primary_ip"] == cluster.vc.ips["node3"]
    # node2's client certificate is trusted by the cluster (candidate_certs).
    digest = x509.GetCertificateDigest(
        str(cluster.DataFile("node2", "client.pem")))
    certs = config["cluster"]["candidate_certs"]
    assert certs[nodes["node2"]["uuid"]] == digest
    assert nodes["node3"]["uuid"] not in certs
    assert digest in cluster.DataFile(
        "node3", "ssconf_master_candidates_certs").read_text()


def test_added_nodes_got_the_cluster_files(cluster):
    server_pem = cluster.DataFile("node1", "server.pem").read_text()
    for node in ("node2", "node3"):
        assert cluster.DataFile(node, "server.pem").read_text() == server_pem
        assert cluster.DataFile(node, "ssconf_node_list").read_text() == \
            "node1\nnode2\nnode3\n"
        assert cluster.DataFile(node, "ssconf_cluster_name").read_text() == \
            "cluster\n"
        assert x509.CheckCertificateSignedBy(
            cluster.DataFile(node, "client.pem").read_text(), server_pem)
    # config.data goes to the candidate only, and is the master's.
    assert cluster.Config("node2")["serial_no"] == cluster.Serial()
    assert not cluster.DataFile("node3", "config.data").exists()
    # Host keys were recorded and the file copied to the other nodes.
    known = cluster.KnownHosts()
    for node in ("node2", "node3"):
        assert f"[{node}]:{cluster.sshd[node].port}," in known
        assert cluster.DataFile(node, "known_hosts").read_text() == known


def test_existing_node_needs_readd(cluster):
    serial = cluster.Serial()
    proc = cluster.GntNode("add", "node3", port=cluster.sshd["node3"].port)
    assert proc.returncode == 1
    assert "already in the cluster (as node3) - please retry with '--readd'" in \
        proc.stderr
    assert cluster.Serial() == serial


def test_readd_with_known_host_key(cluster):
    serial = cluster.Serial()
    old_pid = cluster.vc.Pid("ganeti-noded", node="node3")
    proc = cluster.GntNode("add", "--readd", "node3",
                           port=cluster.sshd["node3"].port)
    assert proc.returncode == 0, proc.stderr
    assert cluster.Serial() > serial
    new_pid = cluster.vc.Pid("ganeti-noded", node="node3")
    assert new_pid and new_pid != old_pid
    assert cluster.Roles()["node3"] == "R"


def test_changed_host_key_is_refused_even_without_key_check(cluster):
    server = cluster.sshd["node3"]
    server.ReplaceHostKey()
    serial, known = cluster.Serial(), cluster.KnownHosts()
    for extra in ([], ["--no-ssh-key-check"]):
        proc = cluster.GntNode("add", "--readd", *extra, "node3", port=server.port)
        _Refused(cluster, proc, "does not match the one recorded",
                 server.Fingerprint())
    assert cluster.Serial() == serial and cluster.KnownHosts() == known


def test_readd_of_master_is_refused(cluster):
    serial = cluster.Serial()
    proc = cluster.GntNode("add", "--readd", "node1")
    assert proc.returncode == 1
    assert "Node node1 is the master, cannot readd" in proc.stderr
    assert cluster.Serial() == serial
