"""Master failover (ganeti/failover.py) against simulated nodes.

The node being failed over to is node2 of a three-node cluster (node1 the
master, node2 a candidate, node3 a regular node); its config.data and ssconf
files are real files in a temporary directory, the other nodes' noded are
simulated behind the RPC runner's transport (SimNode below): each answers
the procedures failover uses and keeps the state a real node would (who it
names as master, its config serial number, whether masterd runs).
"""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from support.fake_transport import FakeTransport, Fail, Ok  # noqa: E402

from ganeti import config, errors, failover, objects, pathutils  # noqa: E402
from ganeti import serializer, ssconf  # noqa: E402
from ganeti.rpc import encoding  # noqa: E402

DOMAIN = "example.com"
NODE1, NODE2, NODE3 = (f"node{i}.{DOMAIN}" for i in (1, 2, 3))
IPS = {NODE1: "192.0.2.1", NODE2: "192.0.2.2", NODE3: "192.0.2.3"}


class SimNode:
    """The noded of one node, as far as failover talks to it."""

    def __init__(self, name, master, serial):
        self.name = name
        self.master = master
        self.serial = serial
        self.masterd = name == master
        self.ip_up = name == master
        self.calls = []
        self.on_stop = None

    def __call__(self, request):
        proc, args = request.procedure, request.args
        self.calls.append(proc)
        if proc == "master_node_name":
            return Ok(self.master)
        if proc == "config_serial_no":
            return Ok(self.serial)
        if proc == "node_deactivate_master_ip":
            self.ip_up = False
        elif proc == "node_activate_master_ip":
            self.ip_up = True
        elif proc == "node_stop_master":
            self.masterd = False
            if self.on_stop is not None:
                self.on_stop(self)
        elif proc == "node_start_master_daemons":
            self.masterd = True
        elif proc == "upload_file":
            data = serializer.LoadJson(encoding.Decompress(args[0][1]))
            self.serial = data["serial_no"]
        elif proc == "write_ssconf_files":
            self.master = args[0]["master_node"]
        return Ok(None)


class Cluster:
    """node2's files plus simulated node1 and node3 (see module doc)."""

    def __init__(self, tmp_path, monkeypatch, node_names=(NODE1, NODE2, NODE3),
                 myself=NODE2):
        monkeypatch.setattr(pathutils, "JOB_QUEUE_DRAIN_FILE",
                            str(tmp_path / "drain"))
        self.cfg_file = str(tmp_path / "config.data")
        data = config.MakeMinimalConfig("cluster." + DOMAIN, NODE1, IPS[NODE1])
        cfg = config.ConfigWriter(self.cfg_file, offline=True, _data=data)
        for name in node_names[1:]:
            cfg.AddNode(objects.Node(
                name=name, primary_ip=IPS[name], secondary_ip=IPS[name],
                master_candidate=name == NODE2, offline=False, drained=False,
                master_capable=True, vm_capable=True, group=None))
        self.store = ssconf.SimpleStore(cfg_location=str(tmp_path),
                                        _lockfile=str(tmp_path / "ssconf.lock"))
        self.store.WriteFiles(cfg.GetSsconfValues())
        serial = cfg.GetConfigSerialNo()
        self.uuids = {node.name: node.uuid for node in cfg.GetAllNodesInfo().values()}
        self.nodes = {name: SimNode(name, NODE1, serial) for name in node_names}
        self.transport = FakeTransport()
        self.started = []
        self.ip_stuck = False
        self.env = failover.FailoverEnv(
            store=self.store, cfg_file=self.cfg_file, myself=myself,
            transport=self.transport, port=1811,
            start_master_fn=self.started.append,
            master_ip_up_fn=self._MasterIpUp, ip_timeout=0.01)
        for name, node in self.nodes.items():
            self.transport.Script(IPS[name], node)

    def _MasterIpUp(self, ip, netdev):
        assert (ip, netdev) == (IPS[NODE1], "lo")
        return self.ip_stuck or any(node.ip_up for node in self.nodes.values())

    def Down(self, name):
        """The node is off: noded does not answer, its IP is gone."""
        self.transport._scripts.pop(IPS[name])
        self.nodes[name].ip_up = False

    def LocalConfig(self):
        return serializer.LoadJson(pathlib.Path(self.cfg_file).read_text())

    def Requests(self, name, procedure=None):
        return [req for req in self.transport.RequestsTo(IPS[name])
                if procedure is None or req.procedure == procedure]

    def Failover(self, no_voting=False):
        return failover.MasterFailover(no_voting=no_voting, env=self.env)


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    return Cluster(tmp_path, monkeypatch)


def testFailoverMovesTheMasterRole(cluster):
    before = cluster.LocalConfig()
    rcode, warnings = cluster.Failover()
    assert (rcode, warnings) == (0, [])
    node1 = cluster.nodes[NODE1]
    assert not node1.masterd and not node1.ip_up
    after = cluster.LocalConfig()
    assert after["cluster"]["master_node"] == cluster.uuids[NODE2]
    assert after["serial_no"] == before["serial_no"] + 1
    # config.data went to the old master (a candidate), ssconf everywhere.
    assert node1.serial == after["serial_no"]
    assert node1.master == NODE2 and cluster.nodes[NODE3].master == NODE2
    assert cluster.store.GetMasterNode() == NODE2
    assert cluster.started == [False]
    (activate,) = cluster.Requests(NODE2, "node_activate_master_ip")
    assert activate.args[0]["uuid"] == cluster.uuids[NODE2]
    assert activate.args[0]["ip"] == IPS[NODE1]
    # The old master was stopped before the configuration changed.
    assert node1.calls.index("node_stop_master") < node1.calls.index("upload_file")


def testFailoverUndrainsTheQueue(cluster):
    drain = pathlib.Path(pathutils.JOB_QUEUE_DRAIN_FILE)
    drain.write_text("")
    cluster.Failover()
    assert not drain.exists()


def testRefusedOnTheMaster(tmp_path, monkeypatch):
    cluster = Cluster(tmp_path, monkeypatch, myself=NODE1)
    with pytest.raises(errors.OpPrereqError, match="already the master"):
        cluster.Failover()
    with pytest.raises(errors.OpPrereqError, match="already the master"):
        cluster.Failover(no_voting=True)
    assert {req.procedure for req in cluster.transport.requests} == {
        "master_node_name"}


def testFormerMasterThatMissedTheFailoverIsTold(tmp_path, monkeypatch):
    """node1 was down while node2 took over; back up, it still takes itself
    for the master."""
    cluster = Cluster(tmp_path, monkeypatch, myself=NODE1)
    for node in cluster.nodes.values():
        node.master = NODE2
    with pytest.raises(errors.OpPrereqError) as err:
        cluster.Failover()
    assert "most nodes name node2" in str(err.value)
    assert "'gnt-cluster redist-conf' on node2" in str(err.value)


def testRefusedOnANonCandidate(tmp_path, monkeypatch):
    cluster = Cluster(tmp_path, monkeypatch, myself=NODE3)
    with pytest.raises(errors.OpPrereqError, match="not a master candidate") as err:
        cluster.Failover()
    assert NODE2 in str(err.value)
    assert {req.procedure for req in cluster.transport.requests} == {
        "master_node_name"}


def testRefusedWhenTheVotesNameAnotherMaster(cluster):
    cluster.nodes[NODE1].master = NODE3
    cluster.nodes[NODE3].master = NODE3
    serial = cluster.LocalConfig()["serial_no"]
    with pytest.raises(errors.OpPrereqError, match="most nodes name node3"):
        cluster.Failover()
    assert cluster.LocalConfig()["serial_no"] == serial
    assert cluster.nodes[NODE1].masterd


def testNoVotingSkipsTheVote(cluster):
    cluster.nodes[NODE1].master = NODE3
    cluster.nodes[NODE3].master = NODE3
    rcode, _ = cluster.Failover(no_voting=True)
    assert rcode == 0
    assert cluster.Requests(NODE1, "master_node_name") == []
    assert cluster.started == [True]


def testRefusedWithAnOlderConfiguration(cluster):
    """Ganeti issue #1242: node2 missed updates; taking over loses them."""
    before = cluster.LocalConfig()
    cluster.nodes[NODE1].serial = before["serial_no"] + 3
    with pytest.raises(errors.OpPrereqError) as err:
        cluster.Failover()
    message = str(err.value)
    assert "older" in message and NODE1 in message
    assert f"serial number {before['serial_no'] + 3}" in message
    assert "redist-conf" in message
    assert cluster.LocalConfig() == before
    node1 = cluster.nodes[NODE1]
    assert node1.masterd and "node_stop_master" not in node1.calls


def testRefusedWhenTheOldMasterSavedMeanwhile(cluster):
    """A change saved between the check and the stop is detected and the
    old master gets its role back."""
    before = cluster.LocalConfig()

    def _SaveOnStop(node):
        node.serial += 1

    cluster.nodes[NODE1].on_stop = _SaveOnStop
    with pytest.raises(errors.OpPrereqError, match="given back to node1"):
        cluster.Failover()
    node1 = cluster.nodes[NODE1]
    assert node1.masterd and node1.ip_up
    assert cluster.LocalConfig() == before
    assert cluster.started == []


def testFailoverWhileTheOldMasterIsDown(cluster):
    cluster.Down(NODE1)
    rcode, warnings = cluster.Failover()
    assert rcode == 0
    text = "\n".join(warnings)
    assert f"Could not compare the configuration with master candidate {NODE1}" in text
    assert f"Could not stop the master daemons on the old master {NODE1}" in text
    assert f"Copy of file {cluster.cfg_file}" in text
    assert cluster.LocalConfig()["cluster"]["master_node"] == cluster.uuids[NODE2]
    assert cluster.nodes[NODE3].master == NODE2


def testMasterdThatDoesNotStartIsReported(cluster):
    def _Fail(no_voting):
        raise errors.OpExecError("Master daemon didn't answer queries")

    cluster.env.start_master_fn = _Fail
    rcode, warnings = cluster.Failover()
    assert rcode == 1
    assert any("did not start" in warning for warning in warnings)


def testMasterIpThatStaysUpIsReported(cluster):
    cluster.ip_stuck = True
    rcode, warnings = cluster.Failover()
    assert rcode == 1
    assert any("still answers" in warning for warning in warnings)


def testActivationFailureIsReported(cluster):
    cluster.transport._scripts[IPS[NODE2]] = [Fail("RTNETLINK answers: denied")]
    rcode, warnings = cluster.Failover()
    assert rcode == 1
    assert any("RTNETLINK" in warning for warning in warnings)


@pytest.mark.parametrize("down, healthy", [((), True), ((NODE1,), True),
                                           ((NODE1, NODE3), False)])
def testMajorityHealthy(cluster, down, healthy):
    for name in down:
        cluster.Down(name)
    assert failover.MajorityHealthy(env=cluster.env) == (healthy, list(down))


def testMajorityOfTwoNodesNeedsBoth(tmp_path, monkeypatch):
    cluster = Cluster(tmp_path, monkeypatch, node_names=(NODE1, NODE2))
    cluster.Down(NODE1)
    assert failover.MajorityHealthy(env=cluster.env) == (False, [NODE1])


def testCheckConfigFreshnessNamesTheNewest():
    failover.CheckConfigFreshness(NODE2, 7, {NODE1: 7, NODE3: 3})
    with pytest.raises(errors.OpPrereqError) as err:
        failover.CheckConfigFreshness(NODE2, 7, {NODE1: 8, NODE3: 9})
    assert "run 'gnt-cluster master-failover' on node3" in str(err.value)
    assert err.value.args[1] == errors.ECODE_STATE
