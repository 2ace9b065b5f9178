"""gnt-node against a scripted master (LUXI replay) and Ganeti 3.0.2's samples.

The replies are those a Ganeti 3.0.2 master gave the real gnt-node
(spec/samples/luxi-node-list.txt, gnt-node-info.txt); the tests check the
requests the command sends and its output, byte for byte.
"""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest
from clitestlib import RunMain

from ganeti import constants, errors
from ganeti.client import gnt_node

_NODE = "node1.ganeti.test"

# The node query fields of the default list, as luxid describes them.
_LIST_FIELDS = [
    {"name": "name", "title": "Node", "kind": "text", "doc": "Node name"},
    {"name": "dtotal", "title": "DTotal", "kind": "unit",
     "doc": "Total storage space on storage unit for instance disk allocation"},
    {"name": "dfree", "title": "DFree", "kind": "unit",
     "doc": "Available storage space on storage unit"},
    {"name": "mtotal", "title": "MTotal", "kind": "unit",
     "doc": "Total amount of memory of physical machine"},
    {"name": "mnode", "title": "MNode", "kind": "unit",
     "doc": "Amount of memory used by node (dom0 for Xen)"},
    {"name": "mfree", "title": "MFree", "kind": "unit",
     "doc": "Memory available for instance allocations"},
    {"name": "pinst_cnt", "title": "Pinst", "kind": "number",
     "doc": "Number of instances with this node as primary"},
    {"name": "sinst_cnt", "title": "Sinst", "kind": "number",
     "doc": "Number of instances with this node as secondary"},
]
_LIST_ROW = [[0, _NODE], [0, 258019], [0, 80385], [0, 24105], [0, 334],
             [0, 22764], [0, 4], [0, 0]]

# spec/samples/gnt-node-info.txt (the trailing spaces are Ganeti's).
_INFO_SAMPLE = """\
- Node name: node1.ganeti.test
  primary ip: 198.18.0.1
  secondary ip: 198.18.0.1
  master candidate: True
  drained: False
  offline: False
  master_capable: True
  vm_capable: True
  primary for instances: 
    - sample-a.ganeti.test
    - sample-b.ganeti.test
    - sample-c.ganeti.test
    - sample-r.ganeti.test
  secondary for instances: 
  node parameters: 
    cpu_speed: default (1)
    exclusive_storage: default (False)
    oob_program: default ()
    ovs: default (False)
    ovs_link: default ()
    ovs_name: default (switch1)
    spindle_count: default (1)
    ssh_port: default (22)
"""  # noqa: W291

_NDPARAMS = {"cpu_speed": 1.0, "exclusive_storage": False, "oob_program": "",
             "ovs": False, "ovs_link": "", "ovs_name": "switch1",
             "spindle_count": 1, "ssh_port": 22}


def _Reply(result: Any) -> bytes:
    return json.dumps({"success": True, "result": result}).encode()


def _Error(cls: str, args: list[Any]) -> bytes:
    return json.dumps({"success": False, "result": [cls, args]}).encode()


def _JobReplies(job_id: int, status: str, result: Any) -> list[bytes]:
    """SubmitJob, WaitForJobChange and QueryJobs replies of one job."""
    return [_Reply(job_id), _Reply([[status], []]),
            _Reply([[status, [status], [result]]])]


def _InfoRow(**changes: Any) -> list[Any]:
    row = {"name": _NODE, "pip": "198.18.0.1", "sip": "198.18.0.1",
           "pinst_list": ["sample-r.ganeti.test", "sample-a.ganeti.test",
                          "sample-c.ganeti.test", "sample-b.ganeti.test"],
           "sinst_list": [], "master_candidate": True, "drained": False,
           "offline": False, "master_capable": True, "vm_capable": True,
           "powered": None, "ndparams": _NDPARAMS, "custom_ndparams": {}}
    row.update(changes)
    return [row[field] for field in gnt_node._INFO_FIELDS]


# --- list ---------------------------------------------------------------------


def test_list_matches_sample(luxi_replay, capsys):
    server = luxi_replay([_Reply({"fields": _LIST_FIELDS, "data": [_LIST_ROW]})])
    code, out, _ = RunMain(gnt_node, ["gnt-node", "list"], capsys)
    assert code == 0
    assert out == ("Node              DTotal DFree MTotal MNode MFree Pinst Sinst\n"
                   "node1.ganeti.test 252.0G 78.5G  23.5G  334M 22.2G     4     0\n")
    assert server.ParsedRequests() == [{
        "method": "Query", "version": constants.LUXI_VERSION,
        "args": ["node", ["name", "dtotal", "dfree", "mtotal", "mnode", "mfree",
                          "pinst_cnt", "sinst_cnt"], None]}]


def test_list_separator_units_and_no_headers(luxi_replay, capsys):
    luxi_replay([_Reply({"fields": _LIST_FIELDS, "data": [_LIST_ROW]})])
    code, out, _ = RunMain(gnt_node, ["gnt-node", "list", "--no-headers",
                                      "--separator=|"], capsys)
    assert (code, out) == (0, "node1.ganeti.test|258019|80385|24105|334|22764|4|0\n")


def test_list_output_fields_and_names(luxi_replay, capsys):
    fields = [{"name": "name", "title": "Node", "kind": "text", "doc": ""},
              {"name": "role", "title": "Role", "kind": "text", "doc": ""},
              {"name": "master_candidate", "title": "MasterC", "kind": "bool",
               "doc": ""}]
    server = luxi_replay([_Reply({"fields": fields, "data": [
        [[0, "node2.example.com"], [0, "C"], [0, True]]]})])
    code, out, _ = RunMain(gnt_node, ["gnt-node", "list", "-o",
                                      "name,role,master_candidate", "node2"],
                           capsys)
    assert code == 0
    assert out == ("Node              Role MasterC\n"
                   "node2.example.com C    Y\n")
    (request,) = server.ParsedRequests()
    assert request["args"] == ["node", ["name", "role", "master_candidate"],
                               ["|", ["==", "name", "node2"]]]


def test_list_appends_to_default_fields(luxi_replay, capsys):
    server = luxi_replay([_Reply({"fields": _LIST_FIELDS, "data": []})])
    RunMain(gnt_node, ["gnt-node", "list", "-o", "+group"], capsys)
    (request,) = server.ParsedRequests()
    assert request["args"][1][-1] == "group" and len(request["args"][1]) == 9


def test_list_unknown_field_exit_code(luxi_replay, capsys):
    fields = [{"name": "nope", "title": "nope", "kind": "unknown", "doc": ""}]
    luxi_replay([_Reply({"fields": fields, "data": [[[2, None]]]})])
    code, _, err = RunMain(gnt_node, ["gnt-node", "list", "-o", "nope"], capsys)
    assert code == 14
    assert "Warning: Queried for unknown fields nope" in err


def test_list_fields(luxi_replay, capsys):
    server = luxi_replay([_Reply({"fields": _LIST_FIELDS[:1]})])
    code, out, _ = RunMain(gnt_node, ["gnt-node", "list-fields", "name"], capsys)
    assert code == 0
    assert out.splitlines() == ["Name Type Title Description",
                                "name Text Node  Node name"]
    assert server.ParsedRequests()[0]["args"] == ["node", ["name"]]


# --- info ---------------------------------------------------------------------


def test_info_matches_sample(luxi_replay, capsys):
    server = luxi_replay([_Reply([_InfoRow()])])
    code, out, _ = RunMain(gnt_node, ["gnt-node", "info"], capsys)
    assert (code, out) == (0, _INFO_SAMPLE)
    assert server.ParsedRequests() == [{
        "method": "QueryNodes", "version": constants.LUXI_VERSION,
        "args": [[], gnt_node._INFO_FIELDS, False]}]


def test_info_alias_and_custom_parameters(luxi_replay, capsys):
    server = luxi_replay([_Reply([_InfoRow(
        name="node2.example.com", vm_capable=False, powered=True,
        custom_ndparams={"ssh_port": 2222},
        ndparams=dict(_NDPARAMS, ssh_port=2222))])])
    code, out, _ = RunMain(gnt_node, ["gnt-node", "show", "node2"], capsys)
    assert code == 0
    assert "  powered: True\n  master_capable: True\n  vm_capable: False\n" \
        "  node parameters: \n" in out
    assert "primary for instances" not in out
    assert "    ssh_port: 2222\n" in out
    assert server.ParsedRequests()[0]["args"][0] == ["node2"]


def test_info_unknown_node(luxi_replay, capsys):
    luxi_replay([_Error("OpPrereqError", ["Node 'node9' not known",
                                          "unknown_entity"])])
    code, _, err = RunMain(gnt_node, ["gnt-node", "info", "node9"], capsys)
    assert code == 1
    assert "Node 'node9' not known" in err


# --- modify -------------------------------------------------------------------


def test_modify_submits_and_prints_changes(luxi_replay, capsys):
    server = luxi_replay(_JobReplies(17, "success", [
        ["master_candidate", "False"], ["offline", "True"]]))
    code, out, _ = RunMain(gnt_node, ["gnt-node", "modify", "-O", "yes",
                                      "--auto-promote", "node2"], capsys)
    assert code == 0
    assert out == ("Modified node node2\n"
                   " - master_candidate -> False\n"
                   " - offline -> True\n")
    (op,) = server.ParsedRequests()[0]["args"][0]
    assert op["OP_ID"] == "OP_NODE_SET_PARAMS"
    assert (op["node_name"], op["offline"], op["auto_promote"],
            op["master_candidate"], op["drained"]) == ("node2", True, True,
                                                        None, None)


def test_modify_role_and_capability_options(luxi_replay, capsys):
    server = luxi_replay(_JobReplies(18, "success", []))
    code, out, _ = RunMain(gnt_node, [
        "gnt-node", "modify", "--master-candidate=no", "--master-capable=no",
        "--vm-capable=yes", "--node-parameters", "ssh_port=2222", "-f", "node3"],
        capsys)
    assert (code, out) == (0, "")
    (op,) = server.ParsedRequests()[0]["args"][0]
    assert (op["master_candidate"], op["master_capable"], op["vm_capable"],
            op["ndparams"], op["force"]) == (False, False, True,
                                             {"ssh_port": "2222"}, True)


def test_modify_without_changes(capsys):
    code, _, err = RunMain(gnt_node, ["gnt-node", "modify", "node2"], capsys)
    assert code == 1
    assert "Please give at least one of the parameters." in err


def test_modify_bad_boolean(capsys):
    code, _, err = RunMain(gnt_node, ["gnt-node", "modify", "-D", "maybe",
                                      "node2"], capsys)
    assert code == 1
    assert "Invalid boolean value 'maybe'" in err


def test_modify_refused_by_master(luxi_replay, capsys):
    msg = "The master role can be changed only via master-failover"
    luxi_replay([_Reply(19), _Reply([["error"], []]),
                 _Reply([["error", ["error"], [["OpPrereqError",
                                                [msg, "wrong_input"]]]]])])
    code, _, err = RunMain(gnt_node, ["gnt-node", "modify", "--offline=yes",
                                      "node1"], capsys)
    assert code == 1
    assert err == ("Failure: prerequisites not met for this operation:\n"
                   f"error type: wrong_input, error details:\n{msg}\n")


# --- remove, tags -------------------------------------------------------------


def test_remove(luxi_replay, capsys):
    server = luxi_replay(_JobReplies(20, "success", None))
    code, out, _ = RunMain(gnt_node, ["gnt-node", "remove", "node3"], capsys)
    assert (code, out) == (0, "")
    (op,) = server.ParsedRequests()[0]["args"][0]
    assert (op["OP_ID"], op["node_name"]) == ("OP_NODE_REMOVE", "node3")


def test_tags(luxi_replay, capsys):
    server = luxi_replay([_Reply(["b", "a"])])
    code, out, _ = RunMain(gnt_node, ["gnt-node", "list-tags", "node2"], capsys)
    assert (code, out) == (0, "a\nb\n")
    assert server.ParsedRequests()[0] == {
        "method": "QueryTags", "args": ["node", "node2"],
        "version": constants.LUXI_VERSION}
    server = luxi_replay(_JobReplies(21, "success", None))
    code, _, _ = RunMain(gnt_node, ["gnt-node", "add-tags", "node2", "rack:1"],
                         capsys)
    (op,) = server.ParsedRequests()[0]["args"][0]
    assert (code, op["OP_ID"], op["kind"], op["name"], op["tags"]) == (
        0, "OP_TAGS_SET", "node", "node2", ["rack:1"])


# --- add ----------------------------------------------------------------------


def test_add_without_the_add_module(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, gnt_node._ADD_MODULE, None)
    with pytest.raises(errors.OpPrereqError, match="Adding nodes is not"
                       " available: the module ganeti.client.gnt_node_add"):
        gnt_node.AddNode(types.SimpleNamespace(), ["node4"])


def test_add_runs_the_add_module(monkeypatch):
    calls = []
    fake = types.ModuleType(gnt_node._ADD_MODULE)
    fake.AddNode = lambda opts, args: calls.append(args) or 0
    monkeypatch.setitem(sys.modules, gnt_node._ADD_MODULE, fake)
    assert gnt_node.AddNode(types.SimpleNamespace(), ["node4"]) == 0
    assert calls == [["node4"]]


def test_add_accepts_the_documented_options():
    _, args, options, _, _ = gnt_node.commands["add"]
    flags = {name for opt in options for name in opt._long_opts}
    assert {"--secondary-ip", "--readd", "--no-ssh-key-check", "--master-capable",
            "--vm-capable", "--node-parameters"} <= flags
    assert len(args) == 1
