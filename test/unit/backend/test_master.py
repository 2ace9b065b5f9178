"""Node side of the master role (ganeti/backend/master.py).

Commands that would change the host (ip address add/del, starting a real
masterd) go through a recording runner; scripts that only report what they
received (daemon-util, the external master IP script) run for real.
"""

import json
import os
import stat

import pytest

from ganeti import backend, pathutils
from ganeti.backend import RPCFail
from ganeti.backend import master
from ganeti.rpc import defs
from ganeti.utils.process import RunResult

PARAMS = {"uuid": "u1", "ip": "127.0.1.100", "netmask": 32, "netdev": "lo",
          "ip_family": 2}
LO_SHOW = ("1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n"
           "1: lo    inet6 ::1/128 scope host \\       valid_lft forever\n")


def _Result(stdout="", exit_code=0, stderr=""):
    return RunResult(exit_code, None, stdout, stderr, "cmd")


class Runner:
    """Records commands; `ip ... show` prints the addresses it holds."""

    def __init__(self, addresses=("127.0.0.1/8",), fail=()):
        self.addresses = set(addresses)
        self.fail = set(fail)
        self.commands = []

    def __call__(self, argv, env=None, reset_env=False, timeout=None):
        self.commands.append(argv)
        if argv[0] in self.fail:
            return _Result(exit_code=2, stderr=f"{argv[0]}: failed")
        if argv[:3] == ["ip", "-o", "address"]:
            lines = [f"1: lo    inet {addr} scope host lo" for addr in
                     sorted(self.addresses)]
            return _Result("\n".join(lines) + "\n")
        if argv[:3] == ["ip", "address", "add"]:
            self.addresses.add(argv[3])
        elif argv[:3] == ["ip", "address", "del"]:
            self.addresses.discard(argv[3])
        return _Result()

    def Changes(self):
        return [argv for argv in self.commands if argv[:2] == ["ip", "address"]]


def testProceduresAreRegisteredAndInTheTable():
    procedures = backend.LoadAll()
    for name in ("node_start_master_daemons", "node_stop_master",
                 "node_activate_master_ip", "node_deactivate_master_ip",
                 "node_change_master_netmask", "config_serial_no"):
        assert name in procedures
        assert name in defs.CALLS
    assert defs.CALLS["config_serial_no"].mode == defs.MULTI


def testParseAddresses():
    assert master.ParseAddresses(LO_SHOW) == {"127.0.0.1", "::1"}


def testActivateAddsTheAddressOnce():
    runner = Runner()
    master.RunMasterSetup(PARAMS, master.MASTER_START, False, _run_fn=runner,
                          _virtual=True)
    assert "127.0.1.100/32" in runner.addresses
    assert runner.Changes() == [["ip", "address", "add", "127.0.1.100/32", "dev",
                                 "lo", "label", "lo:0"]]
    master.RunMasterSetup(PARAMS, master.MASTER_START, False, _run_fn=runner,
                          _virtual=True)
    assert len(runner.Changes()) == 1


def testDeactivateRemovesTheAddressOnce():
    runner = Runner(addresses=("127.0.0.1/8", "127.0.1.100/32"))
    for _ in range(2):
        master.RunMasterSetup(PARAMS, master.MASTER_STOP, False, _run_fn=runner,
                              _virtual=True)
    assert runner.Changes() == [["ip", "address", "del", "127.0.1.100/32", "dev",
                                 "lo"]]
    assert runner.addresses == {"127.0.0.1/8"}


@pytest.mark.parametrize("changes, message", [
    ({"ip": "192.0.2.10"}, "only loopback addresses"),
    ({"netdev": "eth0"}, "only 'lo'"),
    ({"ip": "::1", "netmask": 128, "ip_family": 10}, "only loopback addresses"),
])
def testVirtualNodeRefusesNonLoopback(changes, message):
    runner = Runner()
    with pytest.raises(RPCFail, match=message):
        master.RunMasterSetup(dict(PARAMS, **changes), master.MASTER_START, False,
                              _run_fn=runner, _virtual=True)
    assert runner.commands == []


def testVirtualNodeRefusesExternalScript():
    runner = Runner()
    with pytest.raises(RPCFail, match="external master IP setup script"):
        master.RunMasterSetup(PARAMS, master.MASTER_START, True, _run_fn=runner,
                              _virtual=True)
    assert runner.commands == []


def testRealNodeAnnouncesTheAddress():
    runner = Runner(fail={"arping"})
    params = dict(PARAMS, ip="192.0.2.10", netmask=24, netdev="eth0")
    master.RunMasterSetup(params, master.MASTER_START, False, _run_fn=runner,
                          _virtual=False)
    assert runner.commands[-1][:2] == ["arping", "-q"]
    assert "192.0.2.10/24" in runner.addresses


def testFailingIpToolIsReported():
    runner = Runner(fail={"ip"})
    with pytest.raises(RPCFail, match="Cannot list the addresses of lo"):
        master.RunMasterSetup(PARAMS, master.MASTER_START, False, _run_fn=runner,
                              _virtual=True)


@pytest.mark.parametrize("changes, message", [
    ({"ip": "not-an-ip"}, "Invalid master IP"),
    ({"netmask": 33}, "Invalid master netmask"),
    ({"ip_family": 99}, "Invalid master IP family"),
    ({"netdev": "lo; rm -rf /"}, "Invalid master netdev"),
    ({"netmask": "32"}, "expected an integer"),
])
def testMalformedParamsAreRefused(changes, message):
    with pytest.raises(RPCFail, match=message):
        master.RunMasterSetup(dict(PARAMS, **changes), master.MASTER_START, False,
                              _run_fn=Runner(), _virtual=True)


def testMissingParamIsNamed():
    params = dict(PARAMS)
    del params["netdev"]
    with pytest.raises(RPCFail, match="missing netdev"):
        master.RunMasterSetup(params, master.MASTER_START, False, _run_fn=Runner())


def _WriteScript(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def testExternalScriptGetsGanetiEnvironment(tmp_path, monkeypatch):
    script = tmp_path / "etc" / "scripts" / "master-ip-setup"
    report = tmp_path / "report.json"
    _WriteScript(script, f"""python3 -c 'import json, os, sys
json.dump([sys.argv[1], dict(os.environ)], open("{report}", "w"))' "$1"
""")
    monkeypatch.setattr(pathutils, "EXTERNAL_MASTER_SETUP_SCRIPT", str(script))
    params = dict(PARAMS, ip="192.0.2.10", netmask=24, netdev="eth0")
    monkeypatch.setenv("PATH", os.environ["PATH"])
    master.RunMasterSetup(params, master.MASTER_STOP, True, _virtual=False)
    action, env = json.loads(report.read_text())
    assert action == "stop"
    assert env["MASTER_IP"] == "192.0.2.10"
    assert env["MASTER_NETMASK"] == "24"
    assert env["MASTER_NETDEV"] == "eth0"
    assert env["CLUSTER_IP_VERSION"] == "4"
    assert "HOME" not in env  # the environment is reset, as in Ganeti


def testExternalScriptFailureIsReported(tmp_path, monkeypatch):
    script = tmp_path / "master-ip-setup"
    _WriteScript(script, "echo 'no such device' >&2; exit 3\n")
    monkeypatch.setattr(pathutils, "EXTERNAL_MASTER_SETUP_SCRIPT", str(script))
    with pytest.raises(RPCFail, match="return value: 3.*no such device"):
        master.RunMasterSetup(PARAMS, master.MASTER_START, True, _virtual=False)


def testMissingExternalScript(tmp_path, monkeypatch):
    monkeypatch.setattr(pathutils, "EXTERNAL_MASTER_SETUP_SCRIPT",
                        str(tmp_path / "absent"))
    with pytest.raises(RPCFail, match="missing or not executable"):
        master.RunMasterSetup(PARAMS, master.MASTER_START, True, _virtual=False)


@pytest.fixture
def daemon_util(tmp_path, monkeypatch):
    """A daemon-util that logs its arguments; fails for daemons in $FAIL."""
    log = tmp_path / "calls"
    script = tmp_path / "daemon-util"
    _WriteScript(script, f"""echo "$*" >> {log}
case " ${{FAIL:-none}} " in
  *" $2 "*) echo "cannot $1 $2: vote failed" >&2; exit 1;;
esac
exit 0
""")
    monkeypatch.setattr(master, "DAEMON_UTIL", str(script))
    monkeypatch.setattr(master, "_RapiInstalled", lambda: True)
    return log


def testStartMasterDaemons(daemon_util):
    master.StartMasterDaemons(False)
    master.StartMasterDaemons(True)
    assert daemon_util.read_text().splitlines() == [
        "start ganeti-masterd", "start ganeti-rapi",
        "start ganeti-masterd --no-voting --yes-do-it", "start ganeti-rapi"]


def testStartMasterDaemonsReportsMasterdFailure(daemon_util, monkeypatch):
    monkeypatch.setenv("FAIL", "ganeti-masterd")
    with pytest.raises(RPCFail, match="vote failed"):
        master.StartMasterDaemons(False)
    assert "ganeti-rapi" not in daemon_util.read_text()


def testRapiFailureDoesNotFailTheStart(daemon_util, monkeypatch):
    monkeypatch.setenv("FAIL", "ganeti-rapi")
    master.StartMasterDaemons(False)


def testStartMasterDaemonsChecksItsArgument(daemon_util):
    with pytest.raises(RPCFail, match="expected a boolean"):
        master.StartMasterDaemons("yes")
    assert not daemon_util.exists()


def testStopMaster(daemon_util, monkeypatch):
    master.StopMasterDaemons()
    assert daemon_util.read_text().splitlines() == ["stop ganeti-rapi",
                                                    "stop ganeti-masterd"]
    monkeypatch.setenv("FAIL", "ganeti-masterd")
    with pytest.raises(RPCFail, match="Could not stop ganeti-masterd"):
        master.StopMasterDaemons()


def testChangeMasterNetmask():
    runner = Runner(addresses=("127.0.1.100/32",))
    master.ChangeMasterNetmask(32, 24, "127.0.1.100", "lo", _run_fn=runner,
                               _virtual=True)
    assert runner.addresses == {"127.0.1.100/24"}
    # Not configured here: nothing to do.
    runner = Runner()
    master.ChangeMasterNetmask(32, 24, "127.0.1.100", "lo", _run_fn=runner,
                               _virtual=True)
    assert runner.Changes() == []


def testConfigSerial(tmp_path):
    path = tmp_path / "config.data"
    path.write_text(json.dumps({"serial_no": 42, "cluster": {}}))
    assert master.ReadConfigSerial(str(path)) == 42


@pytest.mark.parametrize("content, message", [
    (None, "has no cluster configuration"),
    ("{not json", "Cannot read the configuration"),
    ('{"serial_no": "7"}', "no valid serial number"),
    ("[]", "no valid serial number"),
])
def testConfigSerialErrors(tmp_path, content, message):
    path = tmp_path / "config.data"
    if content is not None:
        path.write_text(content)
    with pytest.raises(RPCFail, match=message):
        master.ReadConfigSerial(str(path))
