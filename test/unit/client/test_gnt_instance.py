"""gnt-instance against a scripted master (LUXI replay) and Ganeti 3.0.2's samples.

The replies are those a Ganeti 3.0.2 master gave the real gnt-instance
(spec/samples/luxi-instance-*.txt, gnt-instance-*.txt); the tests check the
opcodes the commands submit (after Validate(True), as they travel) and their
output, byte for byte where a sample exists. Commands run through GenericMain
against a real unix socket (clitestlib.LuxiReplay); nothing else is faked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from clitestlib import LoadCapture, MaskReason, RunMain

from ganeti import constants, errors
from ganeti.client import gnt_instance, gnt_instance_console, gnt_instance_info
from ganeti.client import gnt_node
from ganeti.utils import process

_TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
_NODE = "node1.ganeti.test"
_GROUP_UUID = "1743f6e6-4ffe-44a4-84b8-42f92c899889"
_VERSION = constants.LUXI_VERSION


def _Reply(result: Any) -> bytes:
    return json.dumps({"success": True, "result": result}).encode()


def _Error(cls: str, args: list[Any]) -> bytes:
    return json.dumps({"success": False, "result": [cls, args]}).encode()


def _JobReplies(job_id: int, result: Any = None, status: str = "success",
                log: list[Any] | None = None) -> list[bytes]:
    """SubmitJob, WaitForJobChange(s) and QueryJobs replies of one job."""
    replies = [_Reply(job_id)]
    if log:
        replies.append(_Reply([["running"], log]))
    replies += [_Reply([[status], []]),
                _Reply([[status, [status], [result]]])]
    return replies


def _ManyReplies(names: list[str], first_id: int = 7) -> list[bytes]:
    """Replies of a mass operation: the name query, SubmitManyJobs, and for
    every job the status query, one wait and the result query."""
    replies = [_Reply([[name] for name in names]),
               _Reply([[True, first_id + idx] for idx in range(len(names))])]
    for idx in range(len(names)):
        replies += [_Reply([["success"]] * (len(names) - idx)),
                    _Reply([["success"], []]),
                    _Reply([["success", ["success"], [None]]])]
    return replies


def _Ops(server: Any) -> list[dict[str, Any]]:
    """The opcodes submitted (reason timestamps zeroed), in order."""
    ops = []
    for request in server.ParsedRequests():
        if request["method"] == "SubmitJob":
            ops += request["args"][0]
        elif request["method"] == "SubmitManyJobs":
            for job in request["args"][0]:
                ops += job
    return [MaskReason(op) for op in ops]


def _Run(luxi_replay, capsys, argv: list[str], replies: list[bytes],
         module: Any = gnt_instance) -> tuple[int, str, str, list[dict]]:
    server = luxi_replay(replies)
    code, out, err = RunMain(module, argv, capsys)
    return code, out, err, _Ops(server)


def _Job(luxi_replay, capsys, *args: str, result: Any = None,
         module: Any = gnt_instance) -> dict[str, Any]:
    """Run a one-job command successfully; its only opcode."""
    program = "gnt-node" if module is gnt_node else "gnt-instance"
    code, _, err, ops = _Run(luxi_replay, capsys, [program, *args],
                             _JobReplies(3, result), module)
    assert code == 0, err
    (op,) = ops
    return op


def _Fails(luxi_replay, capsys, *args: str) -> str:
    """Run a command that must fail before talking to the master; stderr."""
    server = luxi_replay([])
    code, _, err = RunMain(gnt_instance, ["gnt-instance", *args], capsys)
    assert code == 1
    assert server.ParsedRequests() == []
    assert "Traceback" not in err
    return err


def _Prereq(msg: str) -> str:
    return ("Failure: prerequisites not met for this operation:\n"
            f"error type: wrong_input, error details:\n{msg}\n")


# --- add ----------------------------------------------------------------------


def test_add_submit_matches_capture(luxi_replay, capsys):
    capture = LoadCapture("luxi-instance-add-submit.txt")
    server = luxi_replay(capture.replies)
    code, out, err = RunMain(gnt_instance, capture.command, capsys)
    assert (code, out + err) == (capture.exit_code, capture.output)
    assert [MaskReason(req) for req in server.ParsedRequests()] == [
        MaskReason(json.loads(req)) for req in capture.requests]


def test_add_waits_and_prints_the_job_log(luxi_replay, capsys, utc):
    # spec/samples/luxi-instance-add-sync.txt
    log = [[1, [1795236265, 571822], "message", "* creating instance disks..."],
           [2, [1795236265, 574235], "message",
            "adding instance luxi-capture2.ganeti.test to cluster config"],
           [3, [1795236265, 582284], "message", "adding disks to cluster config"]]
    code, out, _, ops = _Run(luxi_replay, capsys, [
        "gnt-instance", "add", "-t", "diskless", "-o", "noop+default", "-n",
        _NODE, "--no-name-check", "--no-ip-check", "--no-start",
        "luxi-capture2.ganeti.test"], _JobReplies(1340, [_NODE], log=log))
    assert code == 0
    assert out == (
        "Sat Nov 21 04:44:25 2026 * creating instance disks...\n"
        "Sat Nov 21 04:44:25 2026 adding instance luxi-capture2.ganeti.test to"
        " cluster config\n"
        "Sat Nov 21 04:44:25 2026 adding disks to cluster config\n")
    assert ops[0]["start"] is False and ops[0]["dry_run"] is False


def test_add_parses_disks_nics_and_parameters(luxi_replay, capsys):
    op = _Job(luxi_replay, capsys, "add", "-t", "file",
              "--disk", "0:size=1G,mode=ro", "--disk", "2:size=512",
              "--net", "1:mac=aa:00:00:11:22:33,link=br0",
              "-B", "memory=256M,vcpus=2", "-H", "kvm:kernel_path=/k",
              "-n", "n1:n2", "-o", "image+raw", "-O", "url=x", "--tags",
              "a,b", "--file-storage-dir", "sub", "--file-driver", "loop",
              "-g", "rack1", "--no-install", "-I", "hail", "inst1")
    assert op["disks"] == [{"size": 1024, "mode": "ro"}, {}, {"size": 512}]
    assert op["nics"] == [{}, {"mac": "aa:00:00:11:22:33", "link": "br0"}]
    assert op["beparams"] == {"memory": 256, "vcpus": 2}
    assert (op["hypervisor"], op["hvparams"]) == ("kvm", {"kernel_path": "/k"})
    assert (op["pnode"], op["snode"], op["iallocator"]) == ("n1", "n2", "hail")
    assert (op["os_type"], op["osparams"], op["tags"]) == (
        "image+raw", {"url": "x"}, ["a", "b"])
    assert (op["file_storage_dir"], op["file_driver"], op["group_name"]) == (
        "sub", "loop", "rack1")
    assert op["no_install"] is True and op["start"] is True
    assert op["name_check"] is True and op["ip_check"] is True


def test_add_single_disk_size_and_no_nics(luxi_replay, capsys):
    op = _Job(luxi_replay, capsys, "add", "-t", "file", "-s", "10G",
              "--no-nics", "-o", "noop", "-n", _NODE, "inst1")
    assert (op["disks"], op["nics"]) == ([{"size": 10240}], [])


@pytest.mark.parametrize(("args", "message"), [
    (["-t", "diskless", "--disk", "0:size=1G"],
     "Diskless instance but disk information passed"),
    (["-t", "file"], "No disk information specified"),
    (["-t", "file", "-s", "1G", "--disk", "0:size=1G"],
     "Please use either the '--disk' or '-s' option"),
    (["-t", "file", "--disk", "0:mode=rw"],
     "Missing size or adoption source for disk 0"),
    (["-t", "file", "--disk", "0:size=1G,adopt=lv"],
     "Only one of 'size' and 'adopt' allowed (disk 0)"),
    (["-t", "file", "--disk", "x:size=1G"], "Invalid disk index passed"),
    (["-t", "diskless", "--net", "no_0"], "Invalid nic/0 value"),
    (["-t", "diskless", "--forthcoming", "--commit"],
     "Creating an instance only forthcoming and commiting it are mutally"
     " exclusive"),
])
def test_add_rejects_bad_disk_and_nic_options(luxi_replay, capsys, args,
                                               message):
    err = _Fails(luxi_replay, capsys, "add", *args, "-o", "noop", "inst1")
    assert err.startswith("Failure: prerequisites not met for this operation:\n"
                          "error type: wrong_input, error details:\n")
    assert message in err


def test_add_rejects_a_disk_size_that_does_not_parse(luxi_replay, capsys):
    err = _Fails(luxi_replay, capsys, "add", "-t", "file", "--disk",
                 "0:size=lots", "-o", "noop", "inst1")
    assert "Invalid disk size for disk 0: Invalid size 'lots'" in err


def test_add_rejects_unknown_backend_parameters(luxi_replay, capsys):
    err = _Fails(luxi_replay, capsys, "add", "-t", "diskless", "-B", "colour=red",
                 "-o", "noop", "inst1")
    assert err == "Parameter Error: Unknown parameter 'colour'\n"
    err = _Fails(luxi_replay, capsys, "add", "-t", "diskless", "-B",
                 "vcpus=many", "-o", "noop", "inst1")
    assert err.startswith("Parameter Error: ") and "vcpus" in err


def test_batch_create_submits_one_multi_alloc(luxi_replay, capsys, tmp_path):
    spec = tmp_path / "instances.json"
    spec.write_text(json.dumps([
        {"instance_name": "a", "disk_template": "diskless", "disks": [],
         "nics": [{}], "mode": "create", "os_type": "noop", "pnode": _NODE},
        {"instance_name": "b", "disk_template": "diskless", "disks": [],
         "nics": [], "mode": "create", "os_type": "noop", "pnode": _NODE}]))
    replies = _JobReplies(3, {"jobs": [[True, 4], [True, 5]], "allocatable": [],
                              "failed": []})
    for job_id in (4, 5):
        replies += [_Reply([["success"]] * (6 - job_id)),
                    _Reply([["success"], []]),
                    _Reply([["success", ["success"], [[_NODE]]]])]
    code, out, _, ops = _Run(luxi_replay, capsys,
                             ["gnt-instance", "batch-create", str(spec)], replies)
    assert code == 0
    assert out == ("Submitted jobs 4, 5\nWaiting for job 4 ...\n"
                   "Waiting for job 5 ...\nAll instances created successfully.\n")
    (op,) = ops
    assert op["OP_ID"] == "OP_INSTANCE_MULTI_ALLOC"
    assert [inst["instance_name"] for inst in op["instances"]] == ["a", "b"]


def test_batch_create_rejects_unknown_fields(luxi_replay, capsys, tmp_path):
    spec = tmp_path / "instances.json"
    spec.write_text(json.dumps([{"instance_name": "a", "colour": "red"}]))
    luxi_replay([])
    code, _, err = RunMain(gnt_instance, ["gnt-instance", "batch-create",
                                          str(spec)], capsys)
    assert code == 1
    assert "Unknown fields in definition 0: colour" in err
    spec.write_text("{not json")
    code, _, err = RunMain(gnt_instance, ["gnt-instance", "batch-create",
                                          str(spec)], capsys)
    assert code == 1 and "Can't parse the instance definition file" in err


# --- remove and rename -----------------------------------------------------------


def test_remove_matches_capture(luxi_replay, capsys):
    # spec/samples/luxi-instance-remove.txt
    code, out, err, ops = _Run(luxi_replay, capsys, [
        "gnt-instance", "remove", "-f", "luxi-capture2.ganeti.test"],
        _JobReplies(1344))
    assert (code, out, err) == (0, "", "")
    assert ops == [{
        "instance_name": "luxi-capture2.ganeti.test", "instance_uuid": None,
        "shutdown_timeout": 120, "ignore_failures": False, "dry_run": False,
        "debug_level": 0, "priority": 0, "depends": None, "comment": None,
        "reason": [["gnt:client:gnt-instance", "remove", 0]],
        "OP_ID": "OP_INSTANCE_REMOVE"}]


def test_remove_without_force_and_terminal_is_declined(luxi_replay, tmp_path):
    # No terminal to ask on: the answer is "no", nothing is submitted.
    server = luxi_replay([_Reply([["inst1"]])])
    script = ("import sys; from ganeti import pathutils;"
              f" pathutils.QUERY_SOCKET = pathutils.MASTER_SOCKET = {server.path!r};"
              f" pathutils.LOG_COMMANDS = {str(tmp_path / 'log')!r};"
              " from ganeti.client import gnt_instance;"
              " sys.argv = ['gnt-instance', 'remove', 'inst1'];"
              " sys.exit(gnt_instance.Main())")
    proc = subprocess.run([sys.executable, "-c", script], cwd=_TOP,
                          capture_output=True, text=True, timeout=60,
                          start_new_session=True,
                          env=dict(os.environ, PYTHONPATH=_TOP))
    assert proc.returncode == 1, proc.stderr
    assert [req["method"] for req in server.ParsedRequests()] == [
        "QueryInstances"]


def test_remove_options(luxi_replay, capsys):
    op = _Job(luxi_replay, capsys, "remove", "-f", "--ignore-failures",
              "--shutdown-timeout", "5", "--dry-run", "--priority", "high", "i1")
    assert (op["ignore_failures"], op["shutdown_timeout"]) == (True, 5)
    assert (op["dry_run"], op["priority"]) == (True, -10)


def test_rename_prints_the_new_name(luxi_replay, capsys):
    code, out, _, ops = _Run(luxi_replay, capsys, [
        "gnt-instance", "rename", "--no-ip-check", "old", "new.example.com"],
        _JobReplies(3, "new.example.com"))
    assert code == 0
    assert out == "Instance 'old' renamed to 'new.example.com'\n"
    assert {key: ops[0][key] for key in ("instance_name", "new_name", "ip_check",
                                         "name_check", "OP_ID")} == {
        "instance_name": "old", "new_name": "new.example.com", "ip_check": False,
        "name_check": True, "OP_ID": "OP_INSTANCE_RENAME"}


# --- list -----------------------------------------------------------------------

_STATUS_DOC = (
    "Instance status; \"running\" if instance is set to be running and actually"
    " is, \"ADMIN_down\" if instance is stopped and is not running,"
    " \"ERROR_wrongnode\" if instance running, but not on its designated primary"
    " node, \"ERROR_up\" if instance should be stopped, but is actually running,"
    " \"ERROR_down\" if instance should run, but doesn't, \"ERROR_nodedown\" if"
    " instance's primary node is down, \"ERROR_nodeoffline\" if instance's"
    " primary node is marked offline, \"ADMIN_offline\" if instance is offline"
    " and does not use dynamic resources")
_FIELDS = {
    "name": {"name": "name", "title": "Instance", "kind": "text",
             "doc": "Instance name"},
    "hypervisor": {"name": "hypervisor", "title": "Hypervisor", "kind": "text",
                   "doc": "Hypervisor name"},
    "os": {"name": "os", "title": "OS", "kind": "text", "doc": "Operating system"},
    "pnode": {"name": "pnode", "title": "Primary_node", "kind": "text",
              "doc": "Primary node"},
    "status": {"name": "status", "title": "Status", "kind": "text",
               "doc": _STATUS_DOC},
    "oper_ram": {"name": "oper_ram", "title": "Memory", "kind": "unit",
                 "doc": "Actual memory usage as seen by hypervisor"},
    "be/memory": {"name": "be/memory", "title": "ConfigMaxMem", "kind": "unit",
                  "doc": "The \"maxmem\" backend parameter"},
    "admin_state": {"name": "admin_state", "title": "InstanceState",
                    "kind": "text", "doc": ""},
    "admin_up": {"name": "admin_up", "title": "Autostart", "kind": "bool",
                 "doc": ""},
}
_INSTANCES = [("sample-a", "running", 64), ("sample-b", "running", 64),
              ("sample-c", "ADMIN_down", None), ("sample-r", "running", 64)]


def _Value(field: str, name: str, status: str, ram: int | None) -> list[Any]:
    values = {"name": f"{name}.ganeti.test", "hypervisor": "fake",
              "os": "noop+default", "pnode": _NODE, "status": status,
              "be/memory": 64, "admin_state": "down" if ram is None else "up",
              "admin_up": ram is not None}
    if field == "oper_ram":
        return [3, None] if ram is None else [0, ram]
    return [0, values[field]]


def _QueryReply(fields: list[str]) -> bytes:
    return _Reply({"fields": [_FIELDS[field] for field in fields],
                   "data": [[_Value(field, *inst) for field in fields]
                            for inst in _INSTANCES]})


def test_list_matches_capture(luxi_replay, capsys):
    # spec/samples/luxi-instance-list.txt
    fields = ["name", "hypervisor", "os", "pnode", "status", "oper_ram"]
    server = luxi_replay([_QueryReply(fields)])
    code, out, _ = RunMain(gnt_instance, ["gnt-instance", "list"], capsys)
    assert code == 0
    assert out == (
        "Instance             Hypervisor OS           Primary_node      Status"
        "     Memory\n"
        "sample-a.ganeti.test fake       noop+default node1.ganeti.test running"
        "       64M\n"
        "sample-b.ganeti.test fake       noop+default node1.ganeti.test running"
        "       64M\n"
        "sample-c.ganeti.test fake       noop+default node1.ganeti.test"
        " ADMIN_down      -\n"
        "sample-r.ganeti.test fake       noop+default node1.ganeti.test running"
        "       64M\n")
    assert server.ParsedRequests() == [{"method": "Query", "version": _VERSION,
                                        "args": ["instance", fields, None]}]


def test_list_output_fields_match_capture(luxi_replay, capsys):
    # spec/samples/luxi-instance-list-o.txt
    fields = ["name", "status", "oper_ram", "be/memory", "pnode"]
    server = luxi_replay([_QueryReply(fields)])
    code, out, _ = RunMain(gnt_instance, ["gnt-instance", "list", "-o",
                                          ",".join(fields)], capsys)
    assert code == 0
    assert out.splitlines() == [
        "Instance             Status     Memory ConfigMaxMem Primary_node",
        "sample-a.ganeti.test running       64M          64M node1.ganeti.test",
        "sample-b.ganeti.test running       64M          64M node1.ganeti.test",
        "sample-c.ganeti.test ADMIN_down      -          64M node1.ganeti.test",
        "sample-r.ganeti.test running       64M          64M node1.ganeti.test"]
    assert server.ParsedRequests()[0]["args"][1] == fields


def test_list_with_separator_matches_sample(luxi_replay, capsys):
    # spec/samples/gnt-instance-list-sep.txt
    fields = ["name", "status", "admin_state", "admin_up"]
    luxi_replay([_QueryReply(fields)])
    code, out, _ = RunMain(gnt_instance, [
        "gnt-instance", "list", "--no-headers", "--separator=:", "-o",
        ",".join(fields)], capsys)
    assert (code, out) == (0, "sample-a.ganeti.test:running:up:Y\n"
                              "sample-b.ganeti.test:running:up:Y\n"
                              "sample-c.ganeti.test:ADMIN_down:down:N\n"
                              "sample-r.ganeti.test:running:up:Y\n")


def test_list_names_filter_and_list_values(luxi_replay, capsys):
    fields = [{"name": "name", "title": "Instance", "kind": "text", "doc": ""},
              {"name": "nic.macs", "title": "NIC_MACs", "kind": "other",
               "doc": ""}]
    server = luxi_replay([_Reply({"fields": fields, "data": [
        [[0, "a.example.com"], [0, ["aa:00:00:00:00:01", "aa:00:00:00:00:02"]]]]})])
    code, out, _ = RunMain(gnt_instance, ["gnt-instance", "list", "-o",
                                          "name,nic.macs", "a*"], capsys)
    assert code == 0
    assert out.splitlines()[1] == ("a.example.com"
                                   " aa:00:00:00:00:01,aa:00:00:00:00:02")
    (qfilter,) = server.ParsedRequests()[0]["args"][2][1:]
    assert qfilter[:2] == ["=~", "name"]


def test_list_fields(luxi_replay, capsys):
    server = luxi_replay([_Reply({"fields": [_FIELDS["name"]]})])
    code, out, _ = RunMain(gnt_instance, ["gnt-instance", "list-fields", "name"],
                           capsys)
    assert code == 0
    assert out.splitlines() == ["Name Type Title    Description",
                                "name Text Instance Instance name"]
    assert server.ParsedRequests()[0]["args"] == ["instance", ["name"]]


# --- info -----------------------------------------------------------------------

_INFO_CAPTURE = {
    "name": "luxi-capture.ganeti.test", "config_state": "down",
    "run_state": "down", "pnode": _NODE, "pnode_group_uuid": _GROUP_UUID,
    "pnode_group_name": "default", "snodes": [], "snodes_group_uuids": [],
    "snodes_group_names": [], "os": "noop+default",
    "nics": [[None, "e7bac677-b93d-4cbc-a5e5-01dca62b645e", None,
              "aa:00:00:a9:27:67", "bridged", "gntbr0", "", None, None]],
    "disk_template": "diskless", "disks": [], "hypervisor": "fake",
    "network_port": None, "hv_instance": {}, "hv_actual": {}, "be_instance": {},
    "be_actual": {"always_failover": False, "auto_balance": True, "maxmem": 128,
                  "minmem": 128, "spindle_use": 1, "vcpus": 1},
    "os_instance": {}, "os_actual": {}, "serial_no": 1,
    "mtime": 1.795236264315138e9, "ctime": 1.795236264315138e9,
    "uuid": "315ec578-b312-47bc-a3a4-8f8640636e97"}

_INFO_CAPTURE_OUTPUT = """\
- Instance name: luxi-capture.ganeti.test
  UUID: 315ec578-b312-47bc-a3a4-8f8640636e97
  Serial number: 1
  Creation time: 2026-11-21 04:44:24
  Modification time: 2026-11-21 04:44:24
  State: configured to be down, actual state is down
  Nodes: 
    - primary: node1.ganeti.test
      group: default (UUID 1743f6e6-4ffe-44a4-84b8-42f92c899889)
    - secondaries: 
  Operating system: noop+default
  Operating system parameters: 
  Allocated network port: None
  Hypervisor: fake
  Hypervisor parameters: 
  Back-end parameters: 
    always_failover: default (False)
    auto_balance: default (True)
    maxmem: default (128)
    memory: default (128)
    minmem: default (128)
    spindle_use: default (1)
    vcpus: default (1)
  NICs: 
    - nic/0: 
      MAC: aa:00:00:a9:27:67
      IP: None
      mode: bridged
      link: gntbr0
      vlan: 
      network: None
      UUID: e7bac677-b93d-4cbc-a5e5-01dca62b645e
      name: None
  Disk template: diskless
  Disks: 
"""  # noqa: W291

# spec/samples/gnt-instance-info-all.txt (@PATH@ is sample-b's disk file).
_INFO_ALL_OUTPUT = """\
- Instance name: sample-a.ganeti.test
  UUID: d0047d94-9e1c-418b-b4f6-682827313260
  Serial number: 2
  Creation time: 2026-11-21 04:43:22
  Modification time: 2026-11-21 04:43:22
  State: configured to be up, actual state is up
  Nodes: 
    - primary: node1.ganeti.test
      group: default (UUID 1743f6e6-4ffe-44a4-84b8-42f92c899889)
    - secondaries: 
  Operating system: noop+default
  Operating system parameters: 
  Allocated network port: None
  Hypervisor: fake
  Hypervisor parameters: 
  Back-end parameters: 
    always_failover: default (False)
    auto_balance: default (True)
    maxmem: 64
    memory: default (64)
    minmem: 64
    spindle_use: default (1)
    vcpus: default (1)
  NICs: 
    - nic/0: 
      MAC: aa:00:00:a5:08:bd
      IP: None
      mode: bridged
      link: gntbr0
      vlan: 
      network: None
      UUID: bd798da9-8dbd-4ae0-a087-2594871c5dc8
      name: None
  Disk template: diskless
  Disks: 
- Instance name: sample-r.ganeti.test
  UUID: 65baec32-af26-4b64-8b83-d94b8679a06d
  Serial number: 2
  Creation time: 2026-11-21 04:43:24
  Modification time: 2026-11-21 04:43:24
  State: configured to be up, actual state is up
  Nodes: 
    - primary: node1.ganeti.test
      group: default (UUID 1743f6e6-4ffe-44a4-84b8-42f92c899889)
    - secondaries: 
  Operating system: noop+default
  Operating system parameters: 
  Allocated network port: None
  Hypervisor: fake
  Hypervisor parameters: 
  Back-end parameters: 
    always_failover: default (False)
    auto_balance: default (True)
    maxmem: 64
    memory: default (64)
    minmem: 64
    spindle_use: default (1)
    vcpus: default (1)
  NICs: 
    - nic/0: 
      MAC: aa:00:00:39:52:85
      IP: None
      mode: bridged
      link: gntbr0
      vlan: 
      network: None
      UUID: 6d73a89e-cd9d-471f-8ce7-941c42829f3a
      name: None
  Disk template: diskless
  Disks: 
- Instance name: sample-b.ganeti.test
  UUID: 1b6c2117-a4dc-4829-8c4d-57222d9a2d15
  Serial number: 3
  Creation time: 2026-11-21 04:43:23
  Modification time: 2026-11-21 04:43:23
  State: configured to be up, actual state is up
  Nodes: 
    - primary: node1.ganeti.test
      group: default (UUID 1743f6e6-4ffe-44a4-84b8-42f92c899889)
    - secondaries: 
  Operating system: noop+default
  Operating system parameters: 
  Allocated network port: None
  Hypervisor: fake
  Hypervisor parameters: 
  Back-end parameters: 
    always_failover: default (False)
    auto_balance: default (True)
    maxmem: 64
    memory: default (64)
    minmem: 64
    spindle_use: default (1)
    vcpus: default (1)
  NICs: 
    - nic/0: 
      MAC: aa:00:00:7d:93:8e
      IP: None
      mode: bridged
      link: gntbr0
      vlan: 
      network: None
      UUID: 303fecde-17b3-4b2e-b9a1-4a7bc186b0ab
      name: None
  Disk template: file
  Disks: 
    - disk/0: file, size 1.0G
      access mode: rw
      logical_id: ['loop', '@PATH@']
      on primary: @PATH@ (N/A:N/A)
      name: None
      UUID: cfefc0af-9713-4fd1-948e-b82376b4532d
- Instance name: sample-c.ganeti.test
  UUID: ec2c7d56-4ca4-4fca-9a62-371106f303e1
  Serial number: 1
  Creation time: 2026-11-21 04:43:24
  Modification time: 2026-11-21 04:43:24
  State: configured to be down, actual state is down
  Nodes: 
    - primary: node1.ganeti.test
      group: default (UUID 1743f6e6-4ffe-44a4-84b8-42f92c899889)
    - secondaries: 
  Operating system: noop+default
  Operating system parameters: 
  Allocated network port: None
  Hypervisor: fake
  Hypervisor parameters: 
  Back-end parameters: 
    always_failover: default (False)
    auto_balance: default (True)
    maxmem: 64
    memory: default (64)
    minmem: 64
    spindle_use: default (1)
    vcpus: default (1)
  NICs: 
    - nic/0: 
      MAC: aa:00:00:a5:dd:52
      IP: None
      mode: bridged
      link: gntbr0
      vlan: 
      network: None
      UUID: d901ebb3-c3ba-4863-b92f-17bd1bac3bd1
      name: None
  Disk template: diskless
  Disks: 
"""  # noqa: W291
_B_PATH = ("/srv/ganeti/file-storage/sample-b.ganeti.test/"
           "f7d99428-fb3b-4e93-b701-f00e076a54b7.file.disk0")


def _SampleInstance(name: str, uuid: str, serial: int, ctime: int, state: str,
                    mac: str, nic_uuid: str, disks: list[Any]) -> dict[str, Any]:
    return dict(
        _INFO_CAPTURE, name=f"{name}.ganeti.test", uuid=uuid, serial_no=serial,
        ctime=float(ctime), mtime=float(ctime), config_state=state,
        run_state=state,
        nics=[[None, nic_uuid, None, mac, "bridged", "gntbr0", "", None, None]],
        disk_template="file" if disks else "diskless", disks=disks,
        be_instance={"maxmem": 64, "minmem": 64},
        be_actual=dict(_INFO_CAPTURE["be_actual"], maxmem=64, minmem=64))


def _InfoAllData() -> dict[str, Any]:
    disk = {"iv_name": "disk/0", "dev_type": "file", "size": 1024, "mode": "rw",
            "spindles": None, "logical_id": ["loop", _B_PATH],
            "pstatus": [_B_PATH, None, None, None, None, False, 1],
            "sstatus": None, "children": [], "name": None,
            "uuid": "cfefc0af-9713-4fd1-948e-b82376b4532d"}
    rows = [
        ("sample-a", "d0047d94-9e1c-418b-b4f6-682827313260", 2, 1795236202, "up",
         "aa:00:00:a5:08:bd", "bd798da9-8dbd-4ae0-a087-2594871c5dc8", []),
        ("sample-r", "65baec32-af26-4b64-8b83-d94b8679a06d", 2, 1795236204, "up",
         "aa:00:00:39:52:85", "6d73a89e-cd9d-471f-8ce7-941c42829f3a", []),
        ("sample-b", "1b6c2117-a4dc-4829-8c4d-57222d9a2d15", 3, 1795236203, "up",
         "aa:00:00:7d:93:8e", "303fecde-17b3-4b2e-b9a1-4a7bc186b0ab", [disk]),
        ("sample-c", "ec2c7d56-4ca4-4fca-9a62-371106f303e1", 1, 1795236204, "down",
         "aa:00:00:a5:dd:52", "d901ebb3-c3ba-4863-b92f-17bd1bac3bd1", []),
    ]
    return {f"{row[0]}.ganeti.test": _SampleInstance(*row) for row in rows}


def test_info_matches_capture(luxi_replay, capsys, utc):
    # spec/samples/luxi-instance-info.txt
    code, out, _, ops = _Run(luxi_replay, capsys, [
        "gnt-instance", "info", "luxi-capture.ganeti.test"],
        _JobReplies(1343, {"luxi-capture.ganeti.test": _INFO_CAPTURE}))
    assert (code, out) == (0, _INFO_CAPTURE_OUTPUT)
    assert ops == [{
        "use_locking": True, "instances": ["luxi-capture.ganeti.test"],
        "static": False, "dry_run": None, "debug_level": 0, "priority": 0,
        "depends": None, "comment": None,
        "reason": [["gnt:client:gnt-instance", "info", 0]],
        "OP_ID": "OP_INSTANCE_QUERY_DATA"}]


def test_info_all_matches_sample(luxi_replay, capsys, utc):
    code, out, _, ops = _Run(luxi_replay, capsys,
                             ["gnt-instance", "info", "--all"],
                             _JobReplies(5, _InfoAllData()))
    assert (code, out) == (0, _INFO_ALL_OUTPUT.replace("@PATH@", _B_PATH))
    assert ops[0]["instances"] == []


def test_info_of_a_missing_instance_matches_capture(luxi_replay, capsys):
    # spec/samples/luxi-instance-info-missing.txt
    error = ["OpPrereqError", ["Instance 'nosuch.ganeti.test' not known",
                               "unknown_entity"]]
    code, out, err, _ = _Run(luxi_replay, capsys,
                             ["gnt-instance", "info", "nosuch.ganeti.test"],
                             _JobReplies(1345, error, status="error"))
    assert (code, out, err) == (1, "", (
        "Failure: prerequisites not met for this operation:\n"
        "error type: unknown_entity, error details:\n"
        "Instance 'nosuch.ganeti.test' not known\n"))


def test_info_needs_names_or_all(luxi_replay, capsys):
    err = _Fails(luxi_replay, capsys, "info")
    assert err.startswith("No instance selected. Please pass in --all")
    err = _Fails(luxi_replay, capsys, "info", "--all", "inst1")
    assert err == "Cannot use --all if you specify instance names.\n"


def test_info_static_and_roman(luxi_replay, capsys, utc):
    data = dict(_INFO_CAPTURE, serial_no=14, network_port=5903,
                hv_actual={"vnc_bind_address": "0.0.0.0"})
    code, out, _, ops = _Run(luxi_replay, capsys, [
        "gnt-instance", "show", "-s", "--roman", "x"],
        _JobReplies(5, {"x": data}))
    assert code == 0
    assert (ops[0]["static"], ops[0]["use_locking"]) == (True, False)
    assert "  Serial number: XIV\n" in out
    # Roman numerals stop at 4999: the port stays a number.
    assert "  Allocated network port: 5903\n" in out
    assert "  console connection: vnc to node1.ganeti.test:5903 (display 3)\n" \
        in out
    assert "    - nic/0: \n" in out


def test_disk_info_of_children_and_drbd():
    drbd = {"iv_name": None, "dev_type": "drbd", "size": 2048, "mode": "rw",
            "spindles": 2, "logical_id": ["n1", "n2", 11000, 0, 1, "secret"],
            "drbd_info": {"primary_node": "n1", "primary_minor": 0,
                          "secondary_node": "n2", "secondary_minor": 1,
                          "port": 11000},
            "pstatus": ["/dev/drbd0", 147, 0, 50.0, 30, True, 3],
            "sstatus": None, "name": "data", "uuid": "u1",
            "children": [{"iv_name": None, "dev_type": "plain", "size": 512,
                          "mode": "rw", "logical_id": ["xenvg", "lv0"],
                          "pstatus": None, "sstatus": None, "children": [],
                          "name": None, "uuid": "u2"}]}
    text = gnt_instance_info.cli.FormatGenericInfo(
        gnt_instance_info._FormatBlockDevInfo(0, True, drbd, False))
    assert text.splitlines() == [
        "disk 0: drbd, size 2.0G",
        "spindles: 2",
        "access mode: rw",
        "nodeA: n1, minor=0",
        "nodeB: n2, minor=1",
        "port: 11000",
        "on primary: /dev/drbd0 (147:0) *RECOVERING* 50.00%, ETA 30s,"
        " status *DEGRADED* *MISSING DISK*",
        "name: data",
        "UUID: u1",
        "child devices: ",
        "  - child 0: plain, size 512M",
        "    logical_id: xenvg/lv0",
        "    name: None",
        "    UUID: u2",
    ]


def test_roman_numerals():
    roman = gnt_instance_info.TryToRoman
    assert [roman(n) for n in (1, 4, 9, 14, 40, 1994, 3999)] == [
        "I", "IV", "IX", "XIV", "XL", "MCMXCIV", "MMMCMXCIX"]
    assert [roman(n) for n in (0, -3, 5000, "x", 2.0, True)] == [
        0, -3, 5000, "x", 2.0, True]
    assert roman(7, convert=False) == 7


# --- startup, shutdown, reboot ---------------------------------------------------


def test_startup_with_temporary_parameters(luxi_replay, capsys):
    code, out, _, ops = _Run(luxi_replay, capsys, [
        "gnt-instance", "start", "-H", "kernel_args=single", "-B", "maxmem=256",
        "--paused", "inst1"], _ManyReplies(["inst1"]))
    assert code == 0
    assert out == "Waiting for job 7 for inst1 ...\n"
    (op,) = ops
    assert op["OP_ID"] == "OP_INSTANCE_STARTUP"
    assert (op["hvparams"], op["beparams"]) == ({"kernel_args": "single"},
                                                {"maxmem": "256"})
    assert (op["startup_paused"], op["force"], op["no_remember"]) == (
        True, False, False)


def test_shutdown_and_reboot_opcodes(luxi_replay, capsys):
    _, _, _, ops = _Run(luxi_replay, capsys, [
        "gnt-instance", "shutdown", "--timeout", "30", "--no-remember",
        "--ignore-offline", "inst1"], _ManyReplies(["inst1"]))
    assert {key: ops[0][key] for key in ("OP_ID", "timeout", "no_remember",
                                         "ignore_offline_nodes")} == {
        "OP_ID": "OP_INSTANCE_SHUTDOWN", "timeout": 30, "no_remember": True,
        "ignore_offline_nodes": True}
    _, _, _, ops = _Run(luxi_replay, capsys, ["gnt-instance", "reboot", "inst1"],
                        _ManyReplies(["inst1"]))
    assert (ops[0]["reboot_type"], ops[0]["shutdown_timeout"]) == ("hard", 120)
    _, _, _, ops = _Run(luxi_replay, capsys, [
        "gnt-instance", "reboot", "--type=soft", "--shutdown-timeout=9",
        "--ignore-secondaries", "inst1"], _ManyReplies(["inst1"]))
    assert (ops[0]["reboot_type"], ops[0]["shutdown_timeout"],
            ops[0]["ignore_secondaries"]) == ("soft", 9, True)


def test_mass_shutdown_of_all_instances(luxi_replay, capsys):
    code, out, _, ops = _Run(luxi_replay, capsys, [
        "gnt-instance", "shutdown", "--all", "--force-multiple"],
        _ManyReplies(["a", "b"]))
    assert code == 0
    assert out == ("Submitted jobs 7, 8\nWaiting for job 7 for a ...\n"
                   "Waiting for job 8 for b ...\n")
    assert [op["instance_name"] for op in ops] == ["a", "b"]


def test_mass_startup_by_primary_node(luxi_replay, capsys):
    replies = [_Reply([["node1", ["a", "b"], ["c"]]]),
               *_ManyReplies(["a", "b"])[1:]]
    server = luxi_replay(replies)
    code, _, _ = RunMain(gnt_instance, ["gnt-instance", "startup", "--primary",
                                        "--force-multiple", "node1"], capsys)
    assert code == 0
    requests = server.ParsedRequests()
    assert requests[0]["args"] == [["node1"], ["name", "pinst_list",
                                               "sinst_list"], False]
    assert [op["instance_name"] for op in _Ops(server)] == ["a", "b"]


def test_mass_operation_selection_errors(luxi_replay, capsys):
    luxi_replay([_Reply([])])
    code, out, _ = RunMain(gnt_instance, ["gnt-instance", "shutdown", "--all"],
                           capsys)
    assert (code, out) == (0, "Cluster is empty, no instances to shutdown\n")
    err = _Fails(luxi_replay, capsys, "startup", "--node")
    assert err == _Prereq("No node names passed")
    err = _Fails(luxi_replay, capsys, "startup", "--all", "x")
    assert err == _Prereq("Cluster filter mode takes no arguments")
    err = _Fails(luxi_replay, capsys, "reboot")
    assert err == _Prereq("No instance names passed")


def test_failed_job_of_mass_operation_gives_exit_code(luxi_replay, capsys):
    error = ["OpPrereqError", ["Instance 'a' is marked to be down", "wrong_input"]]
    replies = [_Reply([["a"]]), _Reply([[True, 7]]), _Reply([["error"]]),
               _Reply([["error"], []]),
               _Reply([["error", ["error"], [error]]])]
    code, out, err, _ = _Run(luxi_replay, capsys,
                             ["gnt-instance", "reboot", "a"], replies)
    assert code == 1
    assert "Job 7 for a has failed: Failure: prerequisites not met" in err


# --- migrate, failover, move ------------------------------------------------------


def test_migrate_failover_and_move_opcodes(luxi_replay, capsys):
    op = _Job(luxi_replay, capsys, "migrate", "-f", "--non-live", "--cleanup",
              "-n", "node2", "--allow-failover", "--no-runtime-changes", "i1")
    assert {key: op[key] for key in ("OP_ID", "mode", "cleanup", "target_node",
                                     "allow_failover", "allow_runtime_changes",
                                     "iallocator")} == {
        "OP_ID": "OP_INSTANCE_MIGRATE", "mode": "non-live", "cleanup": True,
        "target_node": "node2", "allow_failover": True,
        "allow_runtime_changes": False, "iallocator": None}
    op = _Job(luxi_replay, capsys, "migrate", "-f", "--migration-mode=live",
              "-I", "hail", "i1")
    assert (op["mode"], op["iallocator"], op["live"]) == ("live", "hail", None)
    op = _Job(luxi_replay, capsys, "failover", "-f", "--ignore-consistency",
              "--shutdown-timeout", "7", "-n", "node3", "i1")
    assert {key: op[key] for key in ("OP_ID", "ignore_consistency",
                                     "shutdown_timeout", "target_node")} == {
        "OP_ID": "OP_INSTANCE_FAILOVER", "ignore_consistency": True,
        "shutdown_timeout": 7, "target_node": "node3"}
    op = _Job(luxi_replay, capsys, "move", "-f", "-n", "node2", "i1")
    assert (op["OP_ID"], op["target_node"], op["compress"]) == (
        "OP_INSTANCE_MOVE", "node2", "none")


def test_migrate_and_failover_option_conflicts(luxi_replay, capsys):
    err = _Fails(luxi_replay, capsys, "migrate", "-f", "--non-live",
                 "--migration-mode=live", "i1")
    assert err == _Prereq("Only one of the --non-live and --migration-mode"
                          " options can be passed")
    err = _Fails(luxi_replay, capsys, "failover", "-f", "-I", "hail", "-n", "x",
                 "i1")
    assert err == _Prereq("Specify either an iallocator (-I), or a target node"
                          " (-n) but not both")


# --- modify and disks ---------------------------------------------------------------


def test_modify_disk_and_nic_changes(luxi_replay, capsys):
    op = _Job(luxi_replay, capsys, "modify", "--disk", "add:size=1G",
              "--disk", "0:remove", "--disk", "2:add,size=512,mode=ro",
              "--disk", "1:modify,mode=ro", "--disk", "data:name=db",
              "--net", "add", "--net", "0:modify,link=br1", "--net", "1:remove",
              "i1")
    assert op["disks"] == [["add", -1, {"size": 1024}], ["remove", "0", {}],
                           ["add", "2", {"size": 512, "mode": "ro"}],
                           ["modify", "1", {"mode": "ro"}],
                           ["modify", "data", {"name": "db"}]]
    assert op["nics"] == [["add", -1, {}], ["modify", "0", {"link": "br1"}],
                          ["remove", "1", {}]]
    assert (op["hotplug"], op["hotplug_if_possible"]) == (False, False)


def test_modify_parameters(luxi_replay, capsys):
    op = _Job(luxi_replay, capsys, "modify", "-B", "memory=Default,vcpus=2",
              "-H", "kernel_args=ro,usb_devices=a b", "-O", "x=1",
              "--os-type", "image+qcow", "--runtime-memory", "512",
              "--offline", "--hotplug", "--no-wait-for-sync", "i1")
    assert op["beparams"] == {"memory": "default", "vcpus": 2}
    assert op["hvparams"] == {"kernel_args": "ro", "usb_devices": "a,b"}
    assert (op["osparams"], op["os_name"], op["runtime_mem"]) == (
        {"x": "1"}, "image+qcow", 512)
    assert (op["offline"], op["hotplug"], op["wait_for_sync"]) == (
        True, True, False)
    op = _Job(luxi_replay, capsys, "modify", "--online", "i1")
    assert op["offline"] is False


def test_modify_prints_the_changes(luxi_replay, capsys):
    code, out, _, _ = _Run(luxi_replay, capsys, [
        "gnt-instance", "modify", "-B", "maxmem=512", "i1"],
        _JobReplies(3, [["be/maxmem", 512]]))
    assert code == 0
    assert out.splitlines()[:2] == ["Modified instance i1",
                                    " - be/maxmem -> 512"]
    assert out.splitlines()[2].startswith("Please don't forget that most")


@pytest.mark.parametrize(("args", "message"), [
    (["--disk", "0:add,remove"], "Cannot do more than one of the following"
     " operations at the same time: add, attach, remove, detach, modify"),
    (["--disk", "add:mode=ro"], "Missing required parameter 'size'"),
    (["--disk", "0:remove,size=1G"], "Not accepting parameters on"
     " removal/detach"),
    (["--disk", "add:size=huge"], "Invalid disk size for disk -1"),
])
def test_modify_rejects_bad_changes(luxi_replay, capsys, args, message):
    err = _Fails(luxi_replay, capsys, "modify", *args, "i1")
    assert err.startswith(_Prereq("")[:-1]) and message in err


def test_modify_needs_a_change(luxi_replay, capsys):
    assert _Fails(luxi_replay, capsys, "modify", "i1") == (
        "Please give at least one of the parameters.\n")
    err = _Fails(luxi_replay, capsys, "modify", "-B", "colour=red", "i1")
    assert err == "Parameter Error: Unknown parameter 'colour'\n"
    err = _Fails(luxi_replay, capsys, "modify", "-t", "plain", "-e",
                 "provider=x", "i1")
    assert err.startswith("Specifying ExtStorage parameters requires")


def test_grow_disk(luxi_replay, capsys):
    op = _Job(luxi_replay, capsys, "grow-disk", "--absolute", "i1", "0", "2g")
    assert (op["OP_ID"], op["disk"], op["amount"], op["absolute"]) == (
        "OP_INSTANCE_GROW_DISK", 0, 2048, True)
    assert _Fails(luxi_replay, capsys, "grow-disk", "i1", "0", "lots") == (
        _Prereq("Can't parse the given amount 'lots'"))
    assert "Invalid disk index" in _Fails(luxi_replay, capsys, "grow-disk",
                                          "i1", "first", "1G")


def test_disk_activation_commands(luxi_replay, capsys):
    code, out, _, ops = _Run(luxi_replay, capsys, [
        "gnt-instance", "activate-disks", "--ignore-size", "i1"],
        _JobReplies(3, [[_NODE, "disk/0", "/var/run/ganeti/instance-disks/i1:0"]]))
    assert code == 0
    assert out == f"{_NODE}:disk/0:/var/run/ganeti/instance-disks/i1:0\n"
    assert (ops[0]["ignore_size"], ops[0]["wait_for_sync"]) == (True, False)
    op = _Job(luxi_replay, capsys, "deactivate-disks", "-f", "i1")
    assert (op["OP_ID"], op["force"]) == ("OP_INSTANCE_DEACTIVATE_DISKS", True)
    op = _Job(luxi_replay, capsys, "recreate-disks", "--disk", "0:size=2G",
              "-n", "n1", "i1")
    assert (op["disks"], op["nodes"]) == ([[0, {"size": 2048}]], ["n1"])
    assert _Fails(luxi_replay, capsys, "recreate-disks", "-n", "n1", "-I", "h",
                  "i1") == _Prereq("At most one of either --nodes or"
                                   " --iallocator can be passed")


def test_reinstall_and_tags(luxi_replay, capsys):
    replies = [_Reply([["i1"]]), _Reply([[True, 7]]), _Reply([["success"]]),
               _Reply([["success"], []]), _Reply([["success", ["success"], [None]]])]
    code, _, _, ops = _Run(luxi_replay, capsys, [
        "gnt-instance", "reinstall", "-f", "-o", "image+raw", "-O", "a=b", "i1"],
        replies)
    assert code == 0
    assert {key: ops[0][key] for key in ("OP_ID", "os_type", "osparams")} == {
        "OP_ID": "OP_INSTANCE_REINSTALL", "os_type": "image+raw",
        "osparams": {"a": "b"}}
    op = _Job(luxi_replay, capsys, "add-tags", "i1", "t1", "t2")
    assert (op["OP_ID"], op["kind"], op["name"], op["tags"]) == (
        "OP_TAGS_SET", "instance", "i1", ["t1", "t2"])


# --- console ----------------------------------------------------------------------


def _Console(**fields: Any) -> dict[str, Any]:
    return dict({"instance": "i1", "kind": "msg", "message": None, "host": None,
                 "port": None, "user": None, "command": None, "display": None},
                **fields)


def test_console_kinds():
    lines: list[str] = []

    def Feedback(text: str, *args: Any) -> None:
        lines.append(text % args if args else text)

    do = gnt_instance_console.DoConsole
    do(_Console(message="Console not available for fake hypervisor"), False,
       "cluster", feedback_fn=Feedback)
    do(_Console(kind="vnc", host="node1", port=5901, display=1), False, "c",
       feedback_fn=Feedback)
    do(_Console(kind="spice", host="node1", port=6000), False, "c",
       feedback_fn=Feedback)
    assert lines == [
        "Console not available for fake hypervisor",
        "Instance i1 has VNC listening on node1:5901 (display 1),"
        " URL <vnc://node1:5901/>",
        "Instance i1 has SPICE listening on node1:6000"]
    with pytest.raises(errors.GenericError, match="Unknown console type 'tty'"):
        do(_Console(kind="tty"), False, "c", feedback_fn=Feedback)
    with pytest.raises(errors.GenericError, match="lacks host, user, command"):
        do(_Console(kind="ssh"), False, "c", feedback_fn=Feedback)


def test_console_ssh_command():
    lines: list[str] = []
    console = _Console(kind="ssh", host="node2.example.com", user="root", port=22,
                       command=["socat", "STDIO,raw,echo=0,escape=0x1d",
                                "UNIX-CONNECT:/run/i1.serial"])
    gnt_instance_console.DoConsole(console, True, "cluster.example.com",
                                   feedback_fn=lines.append)
    known_hosts = gnt_instance_console.pathutils.SSH_KNOWN_HOSTS_FILE
    assert lines == [
        "ssh -oEscapeChar=none -oHashKnownHosts=no"
        f" -oGlobalKnownHostsFile={known_hosts} -oUserKnownHostsFile=/dev/null"
        " -oCheckHostIp=no -oHostKeyAlias=cluster.example.com -oPort=22"
        " -oBatchMode=yes -oStrictHostKeyChecking=yes -4 -t -t"
        " root@node2.example.com 'socat STDIO,raw,echo=0,escape=0x1d"
        " UNIX-CONNECT:/run/i1.serial'"]


def test_console_ssh_failure_is_reported():
    calls = []

    def RunFails(cmd: list[str], **kwargs: Any) -> Any:
        calls.append((cmd, kwargs))
        return process.RunCmd(["false"])

    console = _Console(kind="ssh", host="node2", user="root", command="cat")
    with pytest.raises(errors.OpExecError, match="Connection to console of"
                       " instance i1 failed, please check cluster"
                       " configuration"):
        gnt_instance_console.DoConsole(console, False, "c", runcmd_fn=RunFails)
    ((cmd, kwargs),) = calls
    assert cmd[0] == "ssh" and cmd[-2:] == ["root@node2", "cat"]
    assert kwargs == {"interactive": True}


def test_console_on_a_virtual_cluster_runs_locally(tmp_path):
    # The command runs here, in the primary node's environment.
    base = tmp_path / "vc"
    (base / "node1").mkdir(parents=True)
    out = tmp_path / "out"
    script = (
        "from ganeti.client import gnt_instance_console as c;"
        " console = {'instance': 'i1', 'kind': 'ssh', 'host': 'node2',"
        " 'user': 'root', 'port': 22, 'message': None, 'display': None,"
        f" 'command': ['sh', '-c', 'echo $GANETI_HOSTNAME $GANETI_ROOTDIR > {out}']}};"
        " c.DoConsole(console, False, 'cluster');"
        " c.DoConsole(console, True, 'cluster')")
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=_TOP, capture_output=True, text=True,
        timeout=60, env=dict(os.environ, PYTHONPATH=_TOP,
                             GANETI_ROOTDIR=str(base / "node1"),
                             GANETI_HOSTNAME="node1"))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == f"node2 {base / 'node2'}\n"
    assert proc.stdout == (
        f"env GANETI_ROOTDIR={base / 'node2'} GANETI_HOSTNAME=node2 sh -c"
        f" 'echo $GANETI_HOSTNAME $GANETI_ROOTDIR > {out}'\n")


def test_console_command_through_the_master(luxi_replay, capsys):
    message = "Console not available for fake hypervisor"
    server = luxi_replay([_Reply(["cluster"]),
                          _Reply([[_Console(message=message), True]])])
    code, out, _ = RunMain(gnt_instance, ["gnt-instance", "console",
                                          "--show-cmd", "i1"], capsys)
    assert (code, out) == (0, message + "\n")
    assert [req["args"] for req in server.ParsedRequests()] == [
        [["cluster_name"]], [["i1"], ["console", "oper_state"], False]]


def test_console_of_a_stopped_instance(luxi_replay, capsys):
    luxi_replay([_Reply(["cluster"]), _Reply([[None, False]])])
    code, _, err = RunMain(gnt_instance, ["gnt-instance", "console", "i1"],
                           capsys)
    assert (code, err) == (1, "Failure: command execution error:\n"
                              "Instance i1 is not running, can't get console\n")


def test_console_falls_back_to_the_console_opcode(luxi_replay, capsys):
    message = "Console not available for fake hypervisor"
    replies = [_Reply(["cluster"]), _Reply([[None, True]]),
               *_JobReplies(3, _Console(message=message))]
    code, out, _, ops = _Run(luxi_replay, capsys,
                             ["gnt-instance", "console", "i1"], replies)
    assert (code, out) == (0, message + "\n")
    assert ops[0]["OP_ID"] == "OP_INSTANCE_CONSOLE"


# --- gnt-node migrate, failover, evacuate ------------------------------------------


def _NodeJobs(result_jobs: list[int]) -> list[bytes]:
    replies = _JobReplies(3, {"jobs": [[True, job] for job in result_jobs]})
    for idx, _ in enumerate(result_jobs):
        replies += [_Reply([["success"]] * (len(result_jobs) - idx)),
                    _Reply([["success"], []]),
                    _Reply([["success", ["success"], [None]]])]
    return replies


def test_node_migrate(luxi_replay, capsys):
    replies = [_Reply([["node1", ["b", "a"]]]), *_NodeJobs([8])]
    code, out, _, ops = _Run(luxi_replay, capsys, [
        "gnt-node", "migrate", "-f", "--non-live", "-n", "node2", "node1"],
        replies, gnt_node)
    assert code == 0
    assert out == ("Submitted jobs 8\nWaiting for job 8 ...\n"
                   "All instances migrated successfully.\n")
    assert {key: ops[0][key] for key in ("OP_ID", "node_name", "mode",
                                         "target_node")} == {
        "OP_ID": "OP_NODE_MIGRATE", "node_name": "node1", "mode": "non-live",
        "target_node": "node2"}


def test_node_migrate_without_instances(luxi_replay, capsys):
    luxi_replay([_Reply([["node1", []]])])
    code, out, _ = RunMain(gnt_node, ["gnt-node", "migrate", "node1"], capsys)
    assert (code, out) == (0, "No primary instances on node node1, exiting.\n")


def test_node_failover(luxi_replay, capsys):
    replies = [_Reply([["node1", ["b", "a"]]]), _Reply([[True, 7], [True, 8]])]
    for idx in range(2):
        replies += [_Reply([["success"]] * (2 - idx)), _Reply([["success"], []]),
                    _Reply([["success", ["success"], [None]]])]
    code, out, _, ops = _Run(luxi_replay, capsys, [
        "gnt-node", "failover", "-f", "--ignore-consistency", "node1"],
        replies, gnt_node)
    assert code == 0
    assert out.endswith("All 2 instance(s) failed over successfully.\n")
    assert [(op["instance_name"], op["ignore_consistency"]) for op in ops] == [
        ("a", True), ("b", True)]


def test_node_evacuate(luxi_replay, capsys):
    replies = [_Reply([[["a"], ["c"]]]), *_NodeJobs([8, 9])]
    code, out, _, ops = _Run(luxi_replay, capsys, [
        "gnt-node", "evacuate", "-f", "-I", "hail", "node1"], replies, gnt_node)
    assert code == 0
    assert out.endswith("All instances evacuated successfully.\n")
    assert {key: ops[0][key] for key in ("OP_ID", "mode", "iallocator",
                                         "remote_node", "ignore_soft_errors")} == {
        "OP_ID": "OP_NODE_EVACUATE", "mode": "all", "iallocator": "hail",
        "remote_node": None, "ignore_soft_errors": None}


def test_node_evacuate_modes(luxi_replay, capsys):
    server = luxi_replay([_Reply([[[]]])])
    code, _, err = RunMain(gnt_node, ["gnt-node", "evacuate", "-n", "node3",
                                      "node1"], capsys)
    assert code == 0
    assert err == ("New secondary node given (disabling iallocator), hence"
                   " evacuating secondary instances only.\n"
                   "No instances to evacuate on node(s) node1, exiting.\n")
    assert server.ParsedRequests()[0]["args"] == [["node1"], ["sinst_list"],
                                                  False]
    code, _, err = RunMain(gnt_node, ["gnt-node", "evacuate", "-p", "-s",
                                      "node1"], capsys)
    assert code == 1 and "Only one of the --primary-only and" in err


def test_vnc_console_connection_in_info():
    vnc = gnt_instance_info._GetVncConsoleInfo
    inst = {"pnode": "node1", "network_port": 5902, "hv_actual": {}}
    assert vnc(inst) is None
    inst["hv_actual"] = {"vnc_bind_address": "192.0.2.7"}
    assert vnc(inst) == "vnc to 192.0.2.7:5902 (node node1) (display 2)"
    inst["hv_actual"] = {"vnc_bind_address": "/run/vnc.sock"}
    assert vnc(inst) == "vnc to node1:/run/vnc.sock"
