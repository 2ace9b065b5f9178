"""Cluster-wide operations and master failover on a real 3-node virtual cluster.

tools/vcluster-setup makes node1..node3 on a random 127.x.y prefix (the
master IP is <prefix>.1 on "lo"); `node1/cmd gnt-cluster init -C 2` makes
node1 the master. Every node gets its own OpenSSH sshd on its address
(test/support/sshd.py); node2 and node3 join with the real `gnt-node add`
over SSH, node2 as master candidate and node3 as regular node (a bigger
candidate pool promotes it in the first test). Every
gnt-cluster command runs through a node's cmd helper, as an operator types
it.

The tests share the cluster and run in file order; each leaves node1 the
master with all daemons running. A node "down" has its daemons stopped
(daemon-util stop-all) and is brought back by starting its noded. At the
end every process is stopped by pid and the master IP addresses the
cluster put on "lo" are removed.
"""

import json
import shlex
import subprocess

import pytest

from support import sshd as sshd_support
from support.cluster import DAEMON_UTIL, MasterCluster

from ganeti import ssh
from ganeti.utils import x509

pytestmark = [
    pytest.mark.skipif(not sshd_support.Available(),
                       reason="OpenSSH sshd is not installed"),
]
pytest.importorskip("ganeti.client.gnt_node_add",
                    reason="gnt-node add (ganeti/client/gnt_node_add.py) is missing")

DATA = "var/lib/ganeti"
NODES = ("node1", "node2", "node3")


def _LoAddresses():
    out = subprocess.run(["ip", "-o", "address", "show", "dev", "lo"],
                         capture_output=True, text=True, check=True).stdout
    return {line.split()[3].split("/")[0] for line in out.splitlines()
            if " inet " in line}


class FailoverCluster:
    """The cluster, the nodes' sshds and the commands of the tests."""

    def __init__(self, base):
        self.base = base
        self.vc = MasterCluster.VclusterSetup(base, count=3)
        self.prefix = self.vc.ips["node1"].rsplit(".", 1)[0]
        self.key = sshd_support.ClientKey(base / "ssh-key")
        self.sshd = {}

    def Start(self):
        self.vc.InitWithCli(["-C", "2"])
        for node in NODES:
            env = sshd_support.NodeEnv(
                self.vc.Root(node), node, self.base / "hosts",
                GANETI_NODED_PORT=str(self.vc.port),
                GANETI_RAPI_PORT=str(self.vc.rapi_port),
                DAEMON_UTIL_STOP_TIMEOUT="10")
            self.sshd[node] = sshd_support.Sshd(
                self.base / f"sshd-{node}", self.vc.ips[node], self.key,
                node_env=env)
            self.sshd[node].Start()
        for node in ("node2", "node3"):
            proc = self.Gnt("gnt-node", "add", "--no-ssh-key-check",
                            "--node-parameters",
                            f"ssh_port={self.sshd[node].port}", node)
            assert proc.returncode == 0, proc.stderr
        # node1's own sshd: its host key and port, as an operator records them.
        known = ssh.KnownHostsFile(str(self.Data("node1", "known_hosts")))
        port = self.sshd["node1"].port
        known.Record([ssh.KnownHostsName("node1", port),
                      ssh.KnownHostsName(self.vc.ips["node1"], port)],
                     self.sshd["node1"].HostKey())
        proc = self.Gnt("gnt-node", "modify", "--node-parameters",
                        f"ssh_port={port}", "node1")
        assert proc.returncode == 0, proc.stderr

    def Stop(self):
        for server in self.sshd.values():
            server.Stop()
        left = self.vc.StopAll()
        for address in _LoAddresses():
            if address.startswith(self.prefix + "."):
                subprocess.run(["ip", "address", "del", f"{address}/32", "dev",
                                "lo"], capture_output=True, check=False)
        return left

    def Gnt(self, *argv, node="node1", timeout=240):
        """Run a gnt-* command as node (its cmd helper)."""
        return self.vc.Cmd(shlex.join(argv) + " </dev/null", node=node,
                           timeout=timeout, GANETI_SSH_KEY_FILE=str(self.key.path))

    def Cluster(self, *argv, node="node1"):
        return self.Gnt("gnt-cluster", *argv, node=node)

    def Data(self, node, name):
        return self.vc.Root(node) / DATA / name

    def Config(self, node="node1"):
        return json.loads(self.Data(node, "config.data").read_text())

    def Serial(self, node="node1"):
        return self.Config(node)["serial_no"]

    def Ssconf(self, node, key):
        return self.Data(node, f"ssconf_{key}").read_text().strip()

    def Masterd(self, node):
        return self.vc.Pid("ganeti-masterd", node=node)

    def Down(self, node):
        """Stop every daemon of node (the node is "off")."""
        proc = self.vc.Run([DAEMON_UTIL, "stop-all"], node=node, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert not self.vc.Pid("ganeti-noded", node=node)

    def Up(self, node):
        """Start node's noded again (what booting the node does first)."""
        proc = self.vc.Run([DAEMON_UTIL, "start", "ganeti-noded"], node=node,
                           timeout=60)
        assert proc.returncode == 0, proc.stderr
        self.vc.RecordDaemons()

    def MasterIp(self):
        return self.Ssconf("node1", "master_ip")


@pytest.fixture(scope="module")
def fc(tmp_path_factory):
    cluster = FailoverCluster(tmp_path_factory.mktemp("failover"))
    try:
        cluster.Start()
        yield cluster
    finally:
        left = cluster.Stop()
    assert not [pid for pid in left if pid in cluster.vc.pids], left


def _Ok(proc):
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    return proc


def _Refused(proc, *texts):
    assert proc.returncode != 0, proc.stdout
    for text in texts:
        assert text in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


# --- modify, rename, master IP --------------------------------------------------


def test_modify_round_trip(fc):
    serial = fc.Serial()
    _Ok(fc.Cluster("modify", "--max-running-jobs", "7"))
    assert fc.Serial() == serial + 1
    assert fc.Config()["cluster"]["max_running_jobs"] == 7
    assert fc.Serial("node2") == serial + 1
    assert not fc.Data("node3", "config.data").exists()
    # A bigger pool promotes node3 (brought up to date first).
    _Ok(fc.Cluster("modify", "-C", "3"))
    assert fc.Config()["cluster"]["candidate_pool_size"] == 3
    assert fc.Serial("node3") == fc.Serial() == fc.Serial("node2")
    _Ok(fc.Cluster("modify", "--max-running-jobs", "20"))
    assert fc.Config("node3")["cluster"]["max_running_jobs"] == 20


@pytest.mark.parametrize("argv, message", [
    (["-H", "fake:no_such_param=1"], "Unknown parameter 'no_such_param'"),
    (["-B", "vcpus=lots"], "not a valid integer"),
    (["--vg-name", "xenvg"], "no lvm-based disk template"),
    (["--mac-prefix", "zz:00:00"], "Invalid MAC address prefix"),
    (["--enabled-disk-templates", "plain"], "specify a volume group"),
])
def test_bad_modify_leaves_the_config_alone(fc, argv, message):
    serial = fc.Serial()
    _Refused(fc.Cluster("modify", *argv), message)
    assert fc.Serial() == serial and fc.Serial("node2") == serial


def test_tags_and_watcher(fc):
    _Ok(fc.Cluster("add-tags", "web-prod"))
    assert _Ok(fc.Cluster("search-tags", "^web")).stdout == "/cluster web-prod\n"
    _Ok(fc.Cluster("watcher", "pause", "1h"))
    assert "The watcher is paused until" in _Ok(fc.Cluster("watcher", "info")).stdout
    _Ok(fc.Cluster("watcher", "continue"))
    assert _Ok(fc.Cluster("watcher", "info")).stdout == "The watcher is not paused.\n"
    _Ok(fc.Cluster("remove-tags", "web-prod"))


def test_master_ip_on_and_off(fc):
    master_ip = fc.MasterIp()
    _Ok(fc.Cluster("activate-master-ip"))
    assert master_ip in _LoAddresses()
    _Ok(fc.Cluster("deactivate-master-ip", "--yes"))
    assert master_ip not in _LoAddresses()
    _Ok(fc.Cluster("activate-master-ip"))


def test_rename_round_trip(fc):
    old_ip = fc.MasterIp()
    new_ip = f"{fc.prefix}.201"
    hosts = fc.base / "hosts"
    hosts.write_text(hosts.read_text() + f"{new_ip} cluster2\n")
    serial = fc.Serial()
    _Refused(fc.Cluster("rename", "-f", "nosuchname"), "does not resolve")
    assert fc.Serial() == serial
    proc = _Ok(fc.Cluster("rename", "-f", "cluster2"))
    assert "Cluster renamed from 'cluster' to 'cluster2'" in proc.stdout
    assert fc.Serial() == serial + 1
    for node in NODES:
        assert fc.Ssconf(node, "cluster_name") == "cluster2"
        assert fc.Ssconf(node, "master_ip") == new_ip
    addresses = _LoAddresses()
    assert new_ip in addresses and old_ip not in addresses
    _Ok(fc.Cluster("rename", "-f", "cluster"))
    assert fc.Ssconf("node3", "cluster_name") == "cluster"
    addresses = _LoAddresses()
    assert old_ip in addresses and new_ip not in addresses


# --- command, copyfile, renew-crypto ----------------------------------------------


def test_command_runs_on_every_node(fc):
    proc = _Ok(fc.Cluster("command", "echo on $GANETI_HOSTNAME"))
    # Master last, as Ganeti.
    assert [line for line in proc.stdout.splitlines()
            if line.startswith("node: ")] == ["node: node2", "node: node3",
                                              "node: node1"]
    assert "on node3\n" in proc.stdout and "return code = 0" in proc.stdout
    proc = _Ok(fc.Cluster("command", "-M", "--failure-only", "-n", "node2",
                          "-n", "node3", "test $GANETI_HOSTNAME = node2"))
    assert proc.stdout.splitlines() == ["-" * 48, "return code = 1"]


def test_copyfile(fc):
    source = fc.vc.Root("node1") / "etc/ganeti/copied.txt"
    source.write_text("hello nodes\n")
    source.chmod(0o640)
    _Ok(fc.Cluster("copyfile", str(source)))
    for node in ("node2", "node3"):
        target = fc.vc.Root(node) / "etc/ganeti/copied.txt"
        assert target.read_text() == "hello nodes\n"
        assert target.stat().st_mode & 0o777 == 0o640
    _Refused(fc.Cluster("copyfile", "/etc/hostname"), "below the node root")


def test_renew_crypto_keeps_rpc_working(fc):
    old_server = fc.Data("node1", "server.pem").read_text()
    old_rapi = fc.Data("node1", "rapi.pem").read_text()
    _Ok(fc.Cluster("renew-crypto", "-f", "--new-cluster-certificate",
                   "--new-rapi-certificate", "--new-cluster-domain-secret"))
    server = fc.Data("node1", "server.pem").read_text()
    assert server != old_server
    assert fc.Data("node1", "rapi.pem").read_text() != old_rapi
    for node in NODES:
        assert fc.Data(node, "server.pem").read_text() == server
        assert x509.CheckCertificateSignedBy(
            fc.Data(node, "client.pem").read_text(), server)
        assert fc.vc.Pid("ganeti-noded", node=node)
    certs = fc.Config()["cluster"]["candidate_certs"]
    digest2 = x509.GetCertificateDigest(str(fc.Data("node2", "client.pem")))
    assert digest2 in certs.values()
    assert digest2 in fc.Ssconf("node3", "master_candidates_certs")
    # RPC works with the new certificates: the next change reaches node2.
    _Ok(fc.Cluster("modify", "--max-tracked-jobs", "30"))
    assert fc.Serial("node2") == fc.Serial()
    assert fc.Masterd("node1")
    # Node certificates alone, and a new confd key.
    old_client = fc.Data("node2", "client.pem").read_text()
    _Ok(fc.Cluster("renew-crypto", "-f", "--new-node-certificates",
                   "--new-confd-hmac-key"))
    assert fc.Data("node2", "client.pem").read_text() != old_client
    assert fc.Data("node1", "server.pem").read_text() == server
    hmac = fc.Data("node1", "hmac.key").read_text()
    assert all(fc.Data(node, "hmac.key").read_text() == hmac for node in NODES)
    _Ok(fc.Cluster("modify", "--max-tracked-jobs", "25"))
    assert fc.Serial("node3") == fc.Serial()


# --- master failover --------------------------------------------------------------


def _AssertMaster(fc, master):
    for node in NODES:
        assert fc.Ssconf(node, "master_node") == master, node
    assert fc.Masterd(master)
    for node in NODES:
        if node != master:
            assert not fc.Masterd(node)
    proc = _Ok(fc.Cluster("getmaster", node=master))
    assert proc.stdout.strip() == master
    assert fc.MasterIp() in _LoAddresses()


def test_failover_to_node2_and_back(fc):
    serial = fc.Serial()
    _Ok(fc.Cluster("master-failover", node="node2"))
    _AssertMaster(fc, "node2")
    assert fc.Serial("node2") == serial + 1
    assert fc.Serial("node1") == fc.Serial("node2")
    # The new master works: a change is saved and distributed.
    _Ok(fc.Cluster("modify", "--max-running-jobs", "9", node="node2"))
    assert fc.Config("node1")["cluster"]["max_running_jobs"] == 9
    _Refused(fc.Cluster("master-failover", node="node2"), "already the master")
    _Ok(fc.Cluster("master-failover", node="node1"))
    _AssertMaster(fc, "node1")


def test_failover_while_the_old_master_is_down(fc):
    fc.Down("node1")
    proc = _Ok(fc.Cluster("master-failover", node="node2"))
    assert "Could not stop the master daemons on the old master node1" in \
        proc.stderr
    for node in ("node2", "node3"):
        assert fc.Ssconf(node, "master_node") == "node2"
    assert fc.Masterd("node2")
    # node1 comes back with its old view: it still takes itself for the
    # master, and is told it is out of date. Its masterd does not start.
    fc.Up("node1")
    assert fc.Ssconf("node1", "master_node") == "node1"
    assert fc.Serial("node1") < fc.Serial("node2")
    _Refused(fc.Cluster("master-failover", node="node1"), "most nodes name node2",
             "redist-conf' on node2")
    proc = fc.vc.Run([DAEMON_UTIL, "start", "ganeti-masterd"], node="node1")
    assert proc.returncode != 0 and not fc.Masterd("node1")
    assert fc.Masterd("node2")
    # The master brings node1 up to date; then node1 may take over again.
    _Ok(fc.Cluster("redist-conf", node="node2"))
    assert fc.Serial("node1") == fc.Serial("node2")
    _Ok(fc.Cluster("master-failover", node="node1"))
    _AssertMaster(fc, "node1")


def test_stale_candidate_cannot_take_over(fc):
    """Ganeti issue #1242: node2 misses a change while down; a failover to
    it must not lose the change."""
    fc.Down("node2")
    _Ok(fc.Cluster("modify", "--max-running-jobs", "5"))
    changed = fc.Serial()
    fc.Up("node2")
    assert fc.Serial("node2") < changed
    proc = fc.Cluster("master-failover", node="node2")
    _Refused(proc, "older", "node1", f"serial number {changed}")
    assert fc.Serial() == changed
    assert fc.Config()["cluster"]["max_running_jobs"] == 5
    _AssertMaster(fc, "node1")
    # Brought up to date, node2 may take over; the change is kept.
    _Ok(fc.Cluster("redist-conf"))
    _Ok(fc.Cluster("master-failover", node="node2"))
    _AssertMaster(fc, "node2")
    assert fc.Config("node2")["cluster"]["max_running_jobs"] == 5
    _Ok(fc.Cluster("master-failover", node="node1"))
    _AssertMaster(fc, "node1")


def test_no_voting_failover_with_most_nodes_down(fc):
    """The two-node case: without a majority only --no-voting takes over."""
    fc.Down("node1")
    fc.Down("node3")
    _Refused(fc.Cluster("master-failover", node="node2"), "more than half",
             "--no-voting")
    assert fc.Ssconf("node2", "master_node") == "node1"
    _Ok(fc.Cluster("master-failover", "--no-voting", "--yes-do-it", node="node2"))
    assert fc.Masterd("node2") and fc.Ssconf("node2", "master_node") == "node2"
    fc.Up("node1")
    fc.Up("node3")
    _Ok(fc.Cluster("redist-conf", node="node2"))
    assert fc.Ssconf("node3", "master_node") == "node2"
    _Ok(fc.Cluster("master-failover", node="node1"))
    _AssertMaster(fc, "node1")
