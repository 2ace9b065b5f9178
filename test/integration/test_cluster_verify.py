"""gnt-cluster verify and verify-disks on real virtual clusters.

tools/vcluster-setup and `node1/cmd gnt-cluster init` (support.cluster) make
a one-node cluster with noded and masterd running, and a three-node one whose
node2 and node3 are added with `gnt-node add` over a real sshd per node
(support.sshd; skipped without OpenSSH). The commands run through node1's
cmd helper, as an operator types them. The cluster's NICs are routed
(-N mode=routed): the default bridged mode would have verify report the
missing bridge of this machine, as Ganeti does.

On a machine without /proc/sysrq-trigger (containers) Ganeti's verify
reports a node setup error (spec/samples/gnt-cluster-verify.txt); there the
"clean" runs pass -I ENODESETUP, which turns that one finding into a
warning, and check that it is reported as such.

Every process is stopped by pid at the end (the sshds by their pid, the
daemons by support.cluster's StopAll).
"""

import os
import re

import pytest

from support import sshd as sshd_support
from support.cluster import DAEMON_UTIL, MasterCluster

SSCONF = "var/lib/ganeti/ssconf_node_list"
PROCFS_COMPLETE = (os.path.isdir("/proc/sys")
                   and os.path.isfile("/proc/sysrq-trigger"))
IGNORE_SETUP = [] if PROCFS_COMPLETE else ["-I", "ENODESETUP"]
STAMP = r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}"


@pytest.fixture(scope="module")
def vc(tmp_path_factory):
    vc = MasterCluster.VclusterSetup(tmp_path_factory.mktemp("verify"), count=1)
    ok = False
    try:
        vc.InitWithCli(["-N", "mode=routed,link=main"])
        yield vc
        ok = True
    finally:
        left = vc.StopAll()
    if ok:
        assert not [pid for pid in left if pid in vc.pids], left


def Verify(vc, *args):
    proc = vc.Cmd(["gnt-cluster", "verify", *IGNORE_SETUP, *args], timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def Findings(output):
    """The finding lines, without their timestamps."""
    return [line.split("   - ", 1)[1] for line in output.splitlines()
            if re.match(STAMP + "   - ", line)]


def CheckSetupFinding(findings):
    """The only finding allowed on a healthy cluster: this machine's procfs."""
    if PROCFS_COMPLETE:
        assert findings == []
        return
    assert findings == [
        "WARNING: node node1: node setup error: The procfs filesystem doesn't"
        " seem to be mounted under /proc, missing required directory /proc/sys"
        " and the file /proc/sysrq-trigger"]


def testCleanVerify(vc):
    proc = Verify(vc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert re.fullmatch(r"Submitted jobs \d+, \d+", lines[0])
    assert re.fullmatch(r"Waiting for job \d+ \.\.\.", lines[1])
    steps = [re.sub("^" + STAMP + " ", "", line) for line in lines
             if re.match(STAMP + r" \* ", line)]
    assert steps == [
        "* Verifying cluster config", "* Verifying cluster certificate files",
        "* Verifying hypervisor parameters",
        "* Verifying all nodes belong to an existing group",
        "* Verifying group 'default'", "* Gathering data (1 nodes)",
        "* Gathering information about nodes (1 nodes)",
        "* Gathering disk information (1 nodes)",
        "* Verifying configuration file consistency", "* Verifying node status",
        "* Verifying instance status", "* Verifying orphan volumes",
        "* Verifying N+1 Memory redundancy", "* Other Notes", "* Hooks Results"]
    CheckSetupFinding(Findings(proc.stdout))


def testCorruptedSsconfFile(vc):
    path = vc.Root("node1") / SSCONF
    original = path.read_bytes()
    try:
        path.write_text("node1\nintruder\n")
        proc = Verify(vc)
        assert proc.returncode == 1, proc.stdout
        findings = Findings(proc.stdout)
        assert ("ERROR: node node1: ssconf file ssconf_node_list differs from the"
                " master's values") in findings
        coded = Verify(vc, "--error-codes")
        assert coded.returncode == 1
        assert ("ERROR:ENODEFILECHECK:node:node1:ssconf file ssconf_node_list"
                " differs from the master's values") in Findings(coded.stdout)
        path.unlink()
        missing = Verify(vc)
        assert missing.returncode == 1
        assert ("ERROR: node node1: ssconf file ssconf_node_list is missing"
                in Findings(missing.stdout))
    finally:
        path.write_bytes(original)
        os.chmod(path, 0o444)
    healed = Verify(vc)
    assert healed.returncode == 0, healed.stdout
    CheckSetupFinding(Findings(healed.stdout))


def testStoppedNodeDaemon(vc):
    stop = vc.Run([DAEMON_UTIL, "stop", "ganeti-noded"], node="node1")
    assert stop.returncode == 0, stop.stderr
    try:
        proc = Verify(vc, "--error-codes")
        assert proc.returncode == 1, proc.stdout
        findings = Findings(proc.stdout)
        rpc = [line for line in findings if line.startswith("ERROR:ENODERPC:")]
        assert len(rpc) == 1, findings
        assert rpc[0].startswith("ERROR:ENODERPC:node:node1:while contacting"
                                 " node: Error contacting node node1")
        assert any(line.startswith("ERROR:ENODEHOOKS:node:node1:Communication"
                                   " failure in hooks execution") for line in findings)
    finally:
        start = vc.Run([DAEMON_UTIL, "start", "ganeti-noded"], node="node1")
        assert start.returncode == 0, start.stderr
        vc.RecordDaemons()
    again = Verify(vc)
    assert again.returncode == 0, again.stdout


def testVerifyDisksNothingToDo(vc):
    proc = vc.Cmd(["gnt-cluster", "verify-disks"], timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "No disks need to be activated."


def testUnknownIgnoredCode(vc):
    proc = vc.Cmd(["gnt-cluster", "verify", "-I", "ENOSUCHCODE"], timeout=60)
    assert proc.returncode != 0
    assert "ENOSUCHCODE" in proc.stderr and "Traceback" not in proc.stderr


# --- three nodes, added over ssh ---------------------------------------------------


@pytest.fixture(scope="module")
def vc3(tmp_path_factory):
    """node1 (master), node2 (candidate), node3 (regular), added with
    `gnt-node add` over a real sshd per node, as in make demo."""
    if not sshd_support.Available():
        pytest.skip("OpenSSH sshd is not installed")
    base = tmp_path_factory.mktemp("verify3")
    vc = MasterCluster.VclusterSetup(base, count=3)
    key = sshd_support.ClientKey(base / "ssh-key")
    servers = []
    ok = False
    try:
        vc.InitWithCli(["-C", "2", "-N", "mode=routed,link=main"])
        for node in ("node2", "node3"):
            env = sshd_support.NodeEnv(vc.Root(node), node, base / "hosts")
            server = sshd_support.Sshd(base / f"sshd-{node}", vc.ips[node], key,
                                       node_env=env)
            servers.append(server)
            server.Start()
            proc = vc.Cmd(["gnt-node", "add", "--no-ssh-key-check",
                           "--node-parameters", f"ssh_port={server.port}", node],
                          timeout=120, GANETI_SSH_KEY_FILE=str(key.path))
            assert proc.returncode == 0, proc.stdout + proc.stderr
        vc.RecordDaemons()
        yield vc
        ok = True
    finally:
        for server in servers:
            server.Stop()
        left = vc.StopAll()
    if ok:
        assert not [pid for pid in left if pid in vc.pids], left


def ErrorLines(findings):
    return [line for line in findings if not line.startswith("WARNING")]


def testThreeNodesClean(vc3):
    proc = Verify(vc3)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "* Gathering data (3 nodes)" in proc.stdout
    assert ErrorLines(Findings(proc.stdout)) == []


def testThreeNodesCorruptedSsconfOnCandidate(vc3):
    path = vc3.Root("node2") / SSCONF
    original = path.read_bytes()
    try:
        path.write_text("node1\nnode2\n")
        proc = Verify(vc3)
    finally:
        path.write_bytes(original)
    assert proc.returncode == 1, proc.stdout
    assert ErrorLines(Findings(proc.stdout)) == [
        "ERROR: node node2: ssconf file ssconf_node_list differs from the"
        " master's values"]


def testThreeNodesConfigDataDiffersOnCandidate(vc3):
    path = vc3.Root("node2") / "var/lib/ganeti/config.data"
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n")
        proc = Verify(vc3)
    finally:
        path.write_bytes(original)
    assert proc.returncode == 1, proc.stdout
    master_path = vc3.Root("node1") / "var/lib/ganeti/config.data"
    (line,) = ErrorLines(Findings(proc.stdout))
    assert re.fullmatch(
        f"ERROR: cluster: File {re.escape(str(master_path))} found with 2"
        r" different checksums \(variant 1 on node[12]; variant 2 on node[12]\)",
        line), line


def testThreeNodesStoppedNodeDaemon(vc3):
    stop = vc3.Run([DAEMON_UTIL, "stop", "ganeti-noded"], node="node3")
    assert stop.returncode == 0, stop.stderr
    try:
        proc = Verify(vc3, "--error-codes")
    finally:
        start = vc3.Run([DAEMON_UTIL, "start", "ganeti-noded"], node="node3")
        assert start.returncode == 0, start.stderr
        vc3.RecordDaemons()
    assert proc.returncode == 1, proc.stdout
    errors = ErrorLines(Findings(proc.stdout))
    assert [line for line in errors if line.startswith("ERROR:ENODERPC:")] == [
        line for line in errors
        if line.startswith("ERROR:ENODERPC:node:node3:while contacting node:")]
    assert len([line for line in errors if line.startswith("ERROR:ENODERPC:")]) == 1
    for node in ("node1", "node2"):
        assert any(line.startswith(f"ERROR:ENODESSH:node:{node}:ssh communication"
                                   " with node 'node3': node daemon not"
                                   " reachable") for line in errors), errors
    again = Verify(vc3)
    assert again.returncode == 0, again.stdout
