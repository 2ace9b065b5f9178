"""gnt-cluster against captured exchanges with Ganeti 3.0.2 and its samples."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from clitestlib import LoadCapture, RunMain, SampleOutput

from ganeti import bootstrap, constants, defaults, pathutils
from ganeti.client import gnt_cluster

_SAMPLE_OS_PATH = ["/srv/ganeti/os", "/usr/local/lib/ganeti/os",
                   "/usr/lib/ganeti/os", "/usr/share/ganeti/os"]
_SAMPLE_ES_PATH = [path.replace("/os", "/extstorage") for path in _SAMPLE_OS_PATH]


def _Reply(result: Any) -> bytes:
    return json.dumps({"success": True, "result": result}).encode()


def _ClusterInfo() -> dict[str, Any]:
    (reply,) = LoadCapture("luxi-cluster-info.txt").replies
    return json.loads(reply)["result"]


@pytest.fixture
def sample_paths(monkeypatch):
    monkeypatch.setattr(pathutils, "OS_SEARCH_PATH", _SAMPLE_OS_PATH)
    monkeypatch.setattr(pathutils, "ES_SEARCH_PATH", _SAMPLE_ES_PATH)


def test_info_matches_sample(luxi_replay, capsys, utc, sample_paths):
    info = _ClusterInfo()
    # The sample was taken 27 s before the capture: only mtime differs.
    info["mtime"] = 1795236221.5
    server = luxi_replay([_Reply(info)])
    code, out, _ = RunMain(gnt_cluster, ["gnt-cluster", "info"], capsys)
    expected, expected_code = SampleOutput("gnt-cluster-info.txt")
    assert (code, out) == (expected_code, expected)
    assert server.ParsedRequests() == [
        {"method": "QueryClusterInfo", "args": [], "version": 3000000}]


def test_info_prints_integral_ratios_as_luxid_does(luxi_replay, capsys,
                                                   sample_paths):
    info = _ClusterInfo()
    info["ipolicy"]["vcpu-ratio"] = 4.0
    info["ipolicy"]["spindle-ratio"] = 2.5
    info["tags"] = ["b", "a10", "a9"]
    luxi_replay([_Reply(info)])
    _, out, _ = RunMain(gnt_cluster, ["gnt-cluster", "info"], capsys)
    assert "\n  vcpu-ratio: 4\n  spindle-ratio: 2.5\n" in out
    assert "\nTags: a9, a10, b\n" in out


def test_version_matches_sample(luxi_replay, capsys):
    luxi_replay([_Reply(_ClusterInfo())])
    code, out, _ = RunMain(gnt_cluster, ["gnt-cluster", "version"], capsys)
    expected, expected_code = SampleOutput("gnt-cluster-version.txt")
    assert (code, out) == (expected_code, expected)


def test_getmaster_reads_ssconf(tmp_path, monkeypatch, capsys):
    (tmp_path / "ssconf_master_node").write_text("node1.ganeti.test\n")
    monkeypatch.setattr(pathutils, "DATA_DIR", str(tmp_path))
    code, out, _ = RunMain(gnt_cluster, ["gnt-cluster", "getmaster"], capsys)
    assert (code, out) == SampleOutput("gnt-cluster-getmaster.txt")[::-1]


def test_getmaster_without_cluster(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pathutils, "DATA_DIR", str(tmp_path))
    code, out, err = RunMain(gnt_cluster, ["gnt-cluster", "getmaster"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("Corrupt configuration file: Can't read ssconf file")
    assert err.endswith("\nAborting.\n")


@pytest.mark.parametrize(("command", "request_args", "reply", "output"), [
    ("drain", ["SetDrainFlag", [True]], True, ""),
    ("undrain", ["SetDrainFlag", [False]], True, ""),
    ("info", ["QueryConfigValues", [["drain_flag"]]], [True],
     "The drain flag is set\n"),
    ("info", ["QueryConfigValues", [["drain_flag"]]], [False],
     "The drain flag is unset\n"),
])
def test_queue(command, request_args, reply, output, luxi_replay, capsys):
    server = luxi_replay([_Reply(reply)])
    code, out, _ = RunMain(gnt_cluster, ["gnt-cluster", "queue", command], capsys)
    assert (code, out) == (0, output)
    (request,) = server.ParsedRequests()
    assert [request["method"], request["args"]] == request_args


def test_queue_rejects_unknown_subcommand(luxi_replay, capsys):
    luxi_replay([])
    code, _, err = RunMain(gnt_cluster, ["gnt-cluster", "queue", "flush"], capsys)
    assert code == 1 and "Command 'flush' is not valid." in err


def test_watcher(luxi_replay, capsys, utc):
    until = time.time() + 3600
    server = luxi_replay([_Reply(until), _Reply(None), _Reply([None])])
    code, out, _ = RunMain(gnt_cluster, ["gnt-cluster", "watcher", "pause", "1h"],
                           capsys)
    assert (code, out) == (0, f"The watcher is paused until {time.ctime(until)}.\n")
    assert abs(server.ParsedRequests()[0]["args"][0] - until) < 60
    assert RunMain(gnt_cluster, ["gnt-cluster", "watcher", "continue"], capsys) == (
        0, "The watcher is no longer paused.\n", "")
    assert RunMain(gnt_cluster, ["gnt-cluster", "watcher", "info"], capsys) == (
        0, "The watcher is not paused.\n", "")


def test_watcher_pause_needs_a_duration(luxi_replay, capsys):
    luxi_replay([])
    code, _, err = RunMain(gnt_cluster, ["gnt-cluster", "watcher", "pause"], capsys)
    assert code == 1 and "Missing pause duration" in err


def _PostInitReplies() -> list[bytes]:
    return [_Reply(1), _Reply([["success"], []]),
            _Reply([["success", ["success"], [True]]])]


@pytest.fixture
def fake_init(monkeypatch):
    """Record the arguments of bootstrap.InitCluster instead of running it."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(bootstrap, "InitCluster",
                        lambda **kwargs: calls.append(kwargs))
    return calls


def test_init_prepares_parameters_as_ganeti(fake_init, luxi_replay, capsys):
    server = luxi_replay(_PostInitReplies())
    code, out, err = RunMain(gnt_cluster, [
        "gnt-cluster", "init", "--enabled-hypervisors=fake",
        "--enabled-disk-templates=diskless,file", "--master-netdev=lo",
        "-H", "fake:migration_mode=non-live", "-B", "maxmem=256M",
        "-N", "link=br7", "--uid-pool", "1000-1009,1020", "--no-etc-hosts",
        "--disk-state", "lvm-vg/xenvg:disk_total=100", "--ssh-key-type=ecdsa",
        "--specs-mem-size", "min=64,std=256", "cluster.example.com"], capsys)
    assert (code, out, err) == (0, "", "")
    (kwargs,) = fake_init
    assert kwargs["cluster_name"] == "cluster.example.com"
    assert kwargs["enabled_hypervisors"] == ["fake"]
    assert kwargs["enabled_disk_templates"] == ["diskless", "file"]
    assert kwargs["vg_name"] is None and kwargs["drbd_helper"] is None
    assert kwargs["master_netdev"] == "lo"
    assert kwargs["mac_prefix"] == constants.DEFAULT_MAC_PREFIX
    assert kwargs["candidate_pool_size"] == constants.MASTER_POOL_SIZE_DEFAULT
    assert kwargs["hvparams"]["fake"] == {"migration_mode": "non-live"}
    assert kwargs["hvparams"]["kvm"] == defaults.HVC_DEFAULTS["kvm"]
    assert set(kwargs["diskparams"]) == constants.DISK_TEMPLATES
    assert kwargs["beparams"]["maxmem"] == 256
    assert kwargs["beparams"]["vcpus"] == defaults.BEC_DEFAULTS["vcpus"]
    assert kwargs["nicparams"] == {"mode": "bridged", "link": "br7", "vlan": ""}
    assert kwargs["uid_pool"] == [(1000, 1009), (1020, 1020)]
    assert kwargs["modify_etc_hosts"] is False
    assert kwargs["modify_ssh_setup"] is True
    assert kwargs["disk_state"] == {"lvm-vg": {"xenvg": {"disk_total": "100"}}}
    assert kwargs["ssh_key_type"] == "ecdsa" and kwargs["ssh_key_bits"] is None
    ipolicy = kwargs["ipolicy"]
    assert ipolicy["minmax"][0]["min"]["memory-size"] == 64
    assert ipolicy["std"]["memory-size"] == 256
    assert ipolicy["vcpu-ratio"] == defaults.IPOLICY_DEFAULTS["vcpu-ratio"]
    (submit, *_) = server.ParsedRequests()
    (op,) = submit["args"][0]
    assert op["OP_ID"] == "OP_CLUSTER_POST_INIT"
    assert op["reason"][0][:2] == ["gnt:client:gnt-cluster", "init"]


def test_init_defaults_are_ganeti_ones(fake_init, luxi_replay, capsys):
    luxi_replay(_PostInitReplies())
    assert RunMain(gnt_cluster, ["gnt-cluster", "init", "c1"], capsys)[0] == 0
    (kwargs,) = fake_init
    assert kwargs["enabled_hypervisors"] == ["xen-pvm"]
    assert kwargs["enabled_disk_templates"] == ["drbd", "plain"]
    assert (kwargs["vg_name"], kwargs["drbd_helper"]) == ("xenvg", "/bin/true")
    assert kwargs["master_netdev"] == constants.DEFAULT_BRIDGE
    assert kwargs["primary_ip_version"] == 4 and kwargs["master_netmask"] is None


@pytest.mark.parametrize(("args", "message"), [
    (["--vg-name="], "LVM disk templates are enabled, but vg name not set.\n"),
    (["--enabled-disk-templates=drbd", "--drbd-usermode-helper="],
     "Unsetting the drbd usermode helper while enabling DRBD is not allowed.\n"),
    (["-D", "foo:a=1"], "Disk templates unknown: foo\n"),
    (["--master-netmask=abc"],
     "Invalid master netmask value: invalid literal for int() with base 10:"
     " 'abc'\n"),
])
def test_init_rejects_bad_options(args, message, fake_init, capsys):
    code, _, err = RunMain(gnt_cluster, ["gnt-cluster", "init", *args, "c1"],
                           capsys)
    assert (code, err) == (1, message)
    assert fake_init == []


def test_init_with_unknown_parameter_fails_cleanly(fake_init, capsys):
    code, _, err = RunMain(gnt_cluster, ["gnt-cluster", "init", "-B", "color=red",
                                         "c1"], capsys)
    assert (code, fake_init) == (1, [])
    assert err.startswith("Parameter Error: ")


def test_destroy_needs_yes_do_it(capsys):
    code, _, err = RunMain(gnt_cluster, ["gnt-cluster", "destroy"], capsys)
    assert code == 1
    assert err.startswith("Destroying a cluster is irreversible.")


def test_destroy_runs_the_opcode_then_finalizes(luxi_replay, monkeypatch, capsys):
    finalized: list[str] = []
    monkeypatch.setattr(bootstrap, "FinalizeClusterDestroy", finalized.append)
    server = luxi_replay([_Reply(9), _Reply([["success"], []]),
                          _Reply([["success", ["success"], ["uuid-1"]]])])
    code, _, _ = RunMain(gnt_cluster, ["gnt-cluster", "destroy", "--yes-do-it"],
                         capsys)
    assert (code, finalized) == (0, ["uuid-1"])
    assert server.ParsedRequests()[0]["args"][0][0]["OP_ID"] == "OP_CLUSTER_DESTROY"


def test_master_ping(luxi_replay, capsys):
    luxi_replay([_Reply(_ClusterInfo())])
    assert RunMain(gnt_cluster, ["gnt-cluster", "master-ping"], capsys) == (0, "", "")


def test_tags_use_the_cluster_kind(luxi_replay, capsys):
    server = luxi_replay([_Reply(["b", "a"])])
    assert RunMain(gnt_cluster, ["gnt-cluster", "list-tags"], capsys) == (
        0, "a\nb\n", "")
    assert server.ParsedRequests()[0]["args"] == ["cluster", ""]


def test_parse_uid_pool_errors():
    with pytest.raises(gnt_cluster.errors.OpPrereqError):
        gnt_cluster.ParseUidPool("10-5")
    with pytest.raises(gnt_cluster.errors.OpPrereqError):
        gnt_cluster.ParseUidPool("a")
    assert gnt_cluster.FormatUidPool([[1, 1], [3, 9]]) == "1, 3-9"


def _VerifyLogReplies(job_id: int, lines: list[str],
                      result: bool) -> list[bytes]:
    """WaitForJobChange and QueryJobs answers of one verify job from the
    sample's "<ctime> <message>" lines."""
    times = {"04:43:56": 1795236236, "04:43:57": 1795236237}
    entries = [[serial, [times[line[11:19]], 0], "message", line[25:]]
               for serial, line in enumerate(lines, start=1)]
    return [_Reply([["success"], entries]), _Reply([["success"], []]),
            _Reply([["success", ["success"], [result]]])]


def test_verify_output_matches_sample(luxi_replay, capsys, utc):
    expected, expected_code = SampleOutput("gnt-cluster-verify.txt")
    lines = expected.splitlines()
    config_logs, group_logs = lines[2:6], lines[7:]
    server = luxi_replay(
        [_Reply(1325), _Reply([["success"], []]),
         _Reply([["success", ["success"],
                  [{"jobs": [[True, 1326], [True, 1327]]}]]]),
         _Reply([["success"], ["success"]])]
        + _VerifyLogReplies(1326, config_logs, True)
        + [_Reply([["success"]])]
        + _VerifyLogReplies(1327, group_logs, False))
    code, out, _ = RunMain(gnt_cluster, ["gnt-cluster", "verify"], capsys)
    assert (code, out) == (expected_code, expected)
    requests = server.ParsedRequests()
    assert requests[0]["args"][0][0]["OP_ID"] == "OP_CLUSTER_VERIFY"
    assert requests[3] == {"method": "QueryJobs", "version": 3000000,
                           "args": [[1326, 1327], ["status"]]}
