"""gnt-group against a replayed master daemon (LUXI on a real unix socket)."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from clitestlib import MaskReason, RunMain

from ganeti import query
from ganeti.client import gnt_group

SAMPLE = pathlib.Path("/work/shared/spec/samples/gnt-group-list.txt")

# samples/gnt-group-list.txt (Ganeti 3.0.2), without its exit code line.
LIST_SAMPLE = (
    "Group   Nodes Instances AllocPolicy NDParams\n"
    "default     1         4 preferred   oob_program=, spindle_count=1,"
    " exclusive_storage=False, ovs=False, ovs_name=switch1, ovs_link=,"
    " ssh_port=22, cpu_speed=1\n")

NDPARAMS = {"oob_program": "", "spindle_count": 1, "exclusive_storage": False,
            "ovs": False, "ovs_name": "switch1", "ovs_link": "", "ssh_port": 22,
            "cpu_speed": 1.0}


def _Reply(result: Any) -> bytes:
    return json.dumps({"success": True, "result": result}).encode()


def _Fields(names: list[str]) -> list[dict[str, str]]:
    """The real field definitions, as the master daemon sends them."""
    return [query.GROUP_FIELDS[name].definition.ToDict() for name in names]


def _JobReplies(job_id: int, status: str, result: Any) -> list[bytes]:
    """SubmitJob, one WaitForJobChange and the final QueryJobs of a job."""
    return [_Reply(job_id), _Reply([[status], []]),
            _Reply([[status, [status], [result]]])]


def _SubmittedOp(server) -> dict[str, Any]:
    (submit,) = [req for req in server.ParsedRequests()
                 if req["method"] == "SubmitJob"]
    (op,) = submit["args"][0]
    return op


def _ListReply(names: list[str], rows: list[list[Any]]) -> bytes:
    return _Reply({"fields": _Fields(names),
                   "data": [[[0, value] for value in row] for row in rows]})


def test_list_default_output_matches_the_sample(luxi_replay, capsys):
    fields = gnt_group._LIST_DEF_FIELDS
    server = luxi_replay([_ListReply(fields, [["default", 1, 4, "preferred",
                                                NDPARAMS]])])
    code, out, err = RunMain(gnt_group, ["gnt-group", "list"], capsys)
    assert (code, out, err) == (0, LIST_SAMPLE, "")
    assert server.ParsedRequests()[0]["method"] == "Query"
    assert server.ParsedRequests()[0]["args"] == [
        "group", ["name", "node_cnt", "pinst_cnt", "alloc_policy", "ndparams"],
        None]
    if SAMPLE.exists():
        assert SAMPLE.read_text().startswith(LIST_SAMPLE)


def test_list_names_fields_and_separator(luxi_replay, capsys):
    fields = ["name", "node_list", "pinst_list", "custom_ndparams"]
    server = luxi_replay([_ListReply(fields, [
        ["rack2", ["node3", "node2"], ["web1", "web2"], {}]])])
    code, out, _ = RunMain(gnt_group, [
        "gnt-group", "list", "--no-headers", "--separator=|",
        "-o", "name,node_list,pinst_list,custom_ndparams", "rack2"], capsys)
    assert (code, out) == (0, "rack2|node3,node2|web1,web2|{}\n")
    assert server.ParsedRequests()[0]["args"] == [
        "group", fields, ["|", ["==", "name", "rack2"]]]


def test_list_empty_ndparams_and_unknown_field(luxi_replay, capsys):
    reply = {"fields": _Fields(["name", "ndparams"]) + [
        {"name": "bogus", "title": "bogus", "kind": "unknown",
         "doc": "Unknown field 'bogus'"}],
        "data": [[[0, "g"], [0, {}], [1, None]]]}
    luxi_replay([_Reply(reply)])
    code, out, err = RunMain(gnt_group, ["gnt-group", "list", "-o",
                                         "name,ndparams,bogus"], capsys)
    assert code == 14
    assert err == "Warning: Queried for unknown fields bogus\n"
    assert out == "Group NDParams bogus\ng     (empty)  ??\n"


def test_list_fields(luxi_replay, capsys):
    server = luxi_replay([_Reply({"fields": _Fields(["name", "node_cnt"])})])
    code, out, _ = RunMain(gnt_group, ["gnt-group", "list-fields", "name",
                                       "node_cnt"], capsys)
    assert code == 0
    assert out.splitlines() == [
        "Name     Type   Title Description",
        "name     Text   Group Group name",
        "node_cnt Number Nodes Number of nodes"]
    assert server.ParsedRequests()[0]["args"] == ["group", ["name", "node_cnt"]]


def test_info_shows_own_and_inherited_values(luxi_replay, capsys):
    ipolicy = {"minmax": [{"min": {"cpu-count": 1}, "max": {"cpu-count": 8}}],
               "std": {"cpu-count": 1}, "disk-templates": ["diskless", "file"],
               "vcpu-ratio": 2.0, "spindle-ratio": 32.0}
    row = ["rack2", {"ssh_port": 2222, "cpu_speed": 1.0},
           {"ssh_port": 2222}, {"drbd": {"resync-rate": 1000}, "file": {}},
           {"drbd": {"resync-rate": 1000}}, ipolicy, {"vcpu-ratio": 2.0}]
    server = luxi_replay([_Reply([row])])
    code, out, _ = RunMain(gnt_group, ["gnt-group", "info", "rack2"], capsys)
    assert code == 0
    assert out == (
        "- Node group: rack2\n"
        "  Node parameters: \n"
        "    cpu_speed: default (1)\n"
        "    ssh_port: 2222\n"
        "  Disk parameters: \n"
        "    drbd: \n"
        "      resync-rate: 1000\n"
        "    file: default ({})\n"
        "  Instance policy: \n"
        "    bounds specs: \n"
        "      - min/0: \n"
        "          cpu-count: default (1)\n"
        "        max/0: \n"
        "          cpu-count: default (8)\n"
        "    allowed disk templates: default (diskless, file)\n"
        "    vcpu-ratio: 2\n"
        "    spindle-ratio: default (32)\n")
    request = server.ParsedRequests()[0]
    assert request["method"] == "QueryGroups"
    assert request["args"] == [["rack2"], gnt_group._INFO_FIELDS, False]


def test_show_ispecs_cmd(luxi_replay, capsys):
    spec = {"cpu-count": 1, "memory-size": 128}
    server = luxi_replay([_Reply([
        ["default", {}],
        ["rack2", {"minmax": [{"min": spec, "max": dict(spec, **{"cpu-count": 4})}],
                   "vcpu-ratio": 2.0}]])])
    code, out, _ = RunMain(gnt_group, ["gnt-group", "show-ispecs-cmd"], capsys)
    assert code == 0
    assert out == (
        "gnt-group add default\n"
        "gnt-group add --ipolicy-bounds-specs min:cpu-count=1,memory-size=128"
        "/max:cpu-count=4,memory-size=128 rack2\n")
    assert server.ParsedRequests()[0]["args"] == [[], ["name", "custom_ipolicy"],
                                                  False]


def test_add_sends_the_options(luxi_replay, capsys):
    server = luxi_replay([_Reply(9)])
    code, out, err = RunMain(gnt_group, [
        "gnt-group", "add", "--submit", "--alloc-policy=last_resort",
        "--node-parameters=ssh_port=2222", "-D", "drbd:resync-rate=1000",
        "--ipolicy-vcpu-ratio=2.5", "--ipolicy-disk-templates=diskless,file",
        "--hypervisor-state=fake:mem_total=1024",
        "--disk-state=lvm-vg/xenvg:disk_total=10", "rack2"], capsys)
    assert (code, out, err) == (0, "", "JobID: 9\n")
    op = _SubmittedOp(server)
    assert op["OP_ID"] == "OP_GROUP_ADD"
    assert {key: op[key] for key in ("group_name", "alloc_policy", "ndparams",
                                     "diskparams", "ipolicy", "hv_state",
                                     "disk_state")} == {
        "group_name": "rack2", "alloc_policy": "last_resort",
        "ndparams": {"ssh_port": "2222"},
        "diskparams": {"drbd": {"resync-rate": "1000"}},
        "ipolicy": {"vcpu-ratio": 2.5, "disk-templates": ["diskless", "file"]},
        "hv_state": {"fake": {"mem_total": "1024"}},
        "disk_state": {"lvm-vg": {"xenvg": {"disk_total": "10"}}}}
    assert op["reason"][0][:2] == ["gnt:client:gnt-group", "add"]


def test_add_refuses_a_bad_allocation_policy(capsys):
    with pytest.raises(SystemExit) as exc:
        RunMain(gnt_group, ["gnt-group", "add", "--alloc-policy=sometimes", "g"],
                capsys)
    assert exc.value.code == 2
    assert "invalid choice: 'sometimes'" in capsys.readouterr().err


def test_add_failure_is_reported(luxi_replay, capsys):
    error = ["OpPrereqError", ["Desired group name 'default' already exists as a"
                               " node group (UUID: u-1)", "already_exists"]]
    luxi_replay(_JobReplies(3, "error", error))
    code, out, err = RunMain(gnt_group, ["gnt-group", "add", "default"], capsys)
    assert (code, out) == (1, "")
    assert err == ("Failure: prerequisites not met for this operation:\n"
                   "error type: already_exists, error details:\n"
                   "Desired group name 'default' already exists as a node group"
                   " (UUID: u-1)\n")


def test_modify_needs_a_change(capsys):
    code, out, err = RunMain(gnt_group, ["gnt-group", "modify", "rack2"], capsys)
    assert (code, out, err) == (1, "",
                                "Please give at least one of the parameters.\n")


def test_modify_prints_the_changes(luxi_replay, capsys):
    server = luxi_replay(_JobReplies(
        5, "success", [["ndparams", "{'spindle_count': 2}"]]))
    code, out, err = RunMain(gnt_group, [
        "gnt-group", "modify", "--node-parameters=spindle_count=2,ssh_port=default",
        "--ipolicy-vcpu-ratio=default", "--alloc-policy=unallocable", "rack2"],
        capsys)
    assert (code, err) == (0, "")
    assert out == "Modified node group rack2\n - ndparams -> {'spindle_count': 2}\n"
    op = _SubmittedOp(server)
    assert (op["OP_ID"], op["group_name"], op["alloc_policy"]) == (
        "OP_GROUP_SET_PARAMS", "rack2", "unallocable")
    assert op["ndparams"] == {"spindle_count": "2", "ssh_port": "default"}
    assert op["ipolicy"] == {"vcpu-ratio": "default"}


@pytest.mark.parametrize("argv, opid, expected", [
    (["rename", "rack2", "rack3"], "OP_GROUP_RENAME",
     {"group_name": "rack2", "new_name": "rack3"}),
    (["remove", "rack2"], "OP_GROUP_REMOVE", {"group_name": "rack2"}),
    (["assign-nodes", "--force", "rack2", "node1", "node2"],
     "OP_GROUP_ASSIGN_NODES",
     {"group_name": "rack2", "nodes": ["node1", "node2"], "force": True}),
    (["add-tags", "rack2", "a", "b"], "OP_TAGS_SET",
     {"kind": "nodegroup", "name": "rack2", "tags": ["a", "b"]}),
    (["remove-tags", "rack2", "a"], "OP_TAGS_DEL",
     {"kind": "nodegroup", "name": "rack2", "tags": ["a"]}),
])
def test_commands_submit_their_opcode(luxi_replay, capsys, argv, opid, expected):
    server = luxi_replay(_JobReplies(8, "success", None))
    code, out, err = RunMain(gnt_group, ["gnt-group"] + argv, capsys)
    assert (code, out, err) == (0, "", "")
    op = _SubmittedOp(server)
    assert op["OP_ID"] == opid
    assert {key: op[key] for key in expected} == expected
    methods = [req["method"] for req in server.ParsedRequests()]
    assert methods == ["SubmitJob", "WaitForJobChange", "QueryJobs"]


def test_remove_failure_names_the_nodes(luxi_replay, capsys):
    error = ["OpPrereqError", ["Group 'default' not empty, has the following"
                               " nodes: node1", "wrong_state"]]
    luxi_replay(_JobReplies(4, "error", error))
    code, _, err = RunMain(gnt_group, ["gnt-group", "remove", "default"], capsys)
    assert code == 1
    assert err.splitlines()[-1] == ("Group 'default' not empty, has the"
                                    " following nodes: node1")


def test_list_tags(luxi_replay, capsys):
    server = luxi_replay([_Reply(["b", "a"])])
    code, out, _ = RunMain(gnt_group, ["gnt-group", "list-tags", "rack2"], capsys)
    assert (code, out) == (0, "a\nb\n")
    assert MaskReason(server.ParsedRequests())[0]["args"] == ["nodegroup", "rack2"]
