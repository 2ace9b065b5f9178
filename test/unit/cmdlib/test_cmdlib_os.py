"""LUOsDiagnose, the "os" query and the OS helpers of cmdlib/os.py.

The nodes' answers come from the real node code: each scripted node runs
ganeti.backend.os.DiagnoseOS / ValidateOS over its own search path (the
definitions of test/data/os, written from the seed page, and variations
made in the test's directory).
"""

import pathlib
import shutil
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import CmdlibKit, opcodes  # noqa: E402
from support.fake_transport import Fail, Ok  # noqa: E402

from ganeti import errors, pathutils, query  # noqa: E402
from ganeti.backend import RPCFail  # noqa: E402
from ganeti.backend import os as bos  # noqa: E402
from ganeti.cmdlib import os as cmdlib_os  # noqa: E402

TEST_OS_DIR = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "os")
N = query.RS_NORMAL
VALID = ["api10", "api15", "api20", "params", "untrusted", "variants"]


def _Node(dirs):
    """A node's noded for os_diagnose and os_validate over dirs."""

    def _Answer(request):
        if request.procedure == "os_diagnose":
            return Ok(bos.DiagnoseOS(dirs))
        if request.procedure == "os_validate":
            old = pathutils.OS_SEARCH_PATH
            pathutils.OS_SEARCH_PATH = dirs
            try:
                return Ok(bos.ValidateOS(*request.args))
            except RPCFail as err:
                return Fail(str(err))
            finally:
                pathutils.OS_SEARCH_PATH = old
        return Fail(f"unexpected call {request.procedure}")

    return _Answer


@pytest.fixture
def kit(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2", "node3"])
    yield kit
    kit.Close()


def _AllNodes(kit, dirs=(TEST_OS_DIR,)):
    for node in ("node1", "node2", "node3"):
        kit.ScriptNode(node, _Node(list(dirs)))


def _Diagnose(kit, fields, names=()):
    return kit.Run(opcodes.OpOsDiagnose(output_fields=fields, names=list(names)))


def _CopyOs(tmp_path, name, variants=None):
    """A private copy of a test OS in its own search directory."""
    top = tmp_path / f"alt-{name}"
    shutil.copytree(pathlib.Path(TEST_OS_DIR) / name, top / name, symlinks=False)
    if variants is not None:
        (top / name / "variants.list").write_text("".join(f"{v}\n" for v in variants))
    return str(top)


def test_diagnose_lists_valid_oses_with_their_variants(kit):
    _AllNodes(kit)
    rows = _Diagnose(kit, ["name", "variants"])
    assert rows == [["api10", []], ["api15", ["default"]], ["api20", ["default"]],
                    ["params", []], ["untrusted", []],
                    ["variants", ["default", "full", "minimal"]]]
    # every vm-capable online node was asked once
    for node in ("node1", "node2", "node3"):
        assert len(kit.RequestsTo(node, "os_diagnose")) == 1


def test_invalid_oses_show_when_valid_is_asked_for(kit):
    _AllNodes(kit)
    rows = _Diagnose(kit, ["name", "valid", "api_versions", "parameters",
                           "trusted"])
    by_name = {row[0]: row[1:] for row in rows}
    assert by_name["broken-api"][0] is False and by_name["broken-missing"][0] is False
    assert by_name["api15"] == [True, [10, 15], [], True]
    assert by_name["params"][2] == [
        ["dhcp", "Whether to enable (yes) or disable (no) dhcp"],
        ["fail", "If yes, the create script fails on purpose"]]
    assert by_name["untrusted"][3] is False


def test_node_status_is_per_node_uuid(kit):
    _AllNodes(kit)
    (row,) = _Diagnose(kit, ["name", "node_status"], names=["api10"])
    status = row[1]
    assert sorted(status) == sorted(kit.NodeUuid(n) for n in ("node1", "node2",
                                                              "node3"))
    entry = status[kit.NodeUuid("node2")]
    assert entry == [[f"{TEST_OS_DIR}/api10", True, "", [], [], [10], True]]


def test_an_os_missing_on_one_node_is_invalid(kit, tmp_path):
    kit.ScriptNode("node1", _Node([TEST_OS_DIR]))
    kit.ScriptNode("node2", _Node([TEST_OS_DIR]))
    kit.ScriptNode("node3", _Node([_CopyOs(tmp_path, "api10")]))
    assert _Diagnose(kit, ["name"]) == [["api10"]]
    rows = dict(_Diagnose(kit, ["name", "valid"]))
    assert rows["api20"] is False and rows["api10"] is True
    (row,) = _Diagnose(kit, ["name", "valid", "node_status"], names=["api20"])
    assert row[2][kit.NodeUuid("node3")] == []


def test_variants_are_those_all_nodes_have(kit, tmp_path):
    kit.ScriptNode("node1", _Node([TEST_OS_DIR]))
    kit.ScriptNode("node2", _Node([TEST_OS_DIR]))
    alt = _CopyOs(tmp_path, "variants", ["minimal", "default", "extra"])
    kit.ScriptNode("node3", _Node([alt, TEST_OS_DIR]))
    assert _Diagnose(kit, ["variants"], names=["variants"]) == [
        [["default", "minimal"]]]


def test_failed_and_offline_nodes_do_not_spoil_the_result(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2", "node3"], offline=["node3"])
    try:
        kit.ScriptNode("node1", _Node([TEST_OS_DIR]))
        kit.ScriptNode("node2", Fail("noded is unwell"))
        assert [row[0] for row in _Diagnose(kit, ["name"])] == VALID
        assert kit.RequestsTo("node3") == []
    finally:
        kit.Close()


def test_hidden_and_blacklisted_are_left_out_unless_asked(kit):
    _AllNodes(kit)
    cluster = kit.cfg.GetClusterInfo()
    cluster.hidden_os = ["api10"]
    cluster.blacklisted_os = ["api15"]
    kit.cfg.Update(cluster)
    names = [row[0] for row in _Diagnose(kit, ["name"])]
    assert "api10" not in names and "api15" not in names and "api20" in names
    rows = {row[0]: row[1:] for row in _Diagnose(kit, ["name", "hidden",
                                                       "blacklisted"])}
    assert rows["api10"] == [True, False] and rows["api15"] == [False, True]


def test_os_hvp_and_osparams_of_the_variants(kit):
    _AllNodes(kit)
    cluster = kit.cfg.GetClusterInfo()
    cluster.osparams = {"variants+minimal": {"dhcp": "no"}, "other+x": {"a": "b"}}
    cluster.os_hvp = {"variants+default": {"kvm": {"acpi": False}}}
    kit.cfg.Update(cluster)
    (row,) = _Diagnose(kit, ["os_hvp", "osparams"], names=["variants"])
    assert row == [{"variants+default": {"kvm": {"acpi": False}}},
                   {"variants+minimal": {"dhcp": "no"}}]


def test_unknown_output_field_is_refused(kit):
    with pytest.raises(errors.OpPrereqError, match="nosuchfield"):
        _Diagnose(kit, ["name", "nosuchfield"])


def test_query_resource_os(kit):
    _AllNodes(kit)
    result = kit.Run(opcodes.OpQuery(what="os", fields=["name", "valid", "variants"],
                                     qfilter=["=", "name", "variants"]))
    assert [fdef["name"] for fdef in result["fields"]] == ["name", "valid",
                                                           "variants"]
    assert result["data"] == [[[N, "variants"], [N, True],
                               [N, ["default", "full", "minimal"]]]]
    with pytest.raises(errors.OpPrereqError, match="Unknown operating system"):
        kit.Run(opcodes.OpQuery(what="os", fields=["name"],
                                qfilter=["=", "name", "nosuch"]))


def test_query_fields_of_os(kit):
    result = kit.Run(opcodes.OpQueryFields(what="os", fields=None))
    fields = {fdef["name"]: fdef for fdef in result["fields"]}
    assert sorted(fields) == sorted(["name", "valid", "hidden", "blacklisted",
                                     "variants", "api_versions", "parameters",
                                     "node_status", "os_hvp", "osparams",
                                     "trusted"])
    assert fields["os_hvp"]["title"] == "OsHypervisorParams"
    assert fields["valid"]["kind"] == "bool"


def test_modify_hides_and_unhides_an_os(kit):
    _AllNodes(kit)
    kit.Run(opcodes.OpClusterSetParams(hidden_os=[["add", "api10"]]))
    assert "api10" not in [row[0] for row in _Diagnose(kit, ["name"])]
    kit.Run(opcodes.OpClusterSetParams(hidden_os=[["remove", "api10"]]))
    assert "api10" in [row[0] for row in _Diagnose(kit, ["name"])]


class _Lu:
    """What the helpers use of an LU: cfg, rpc and LogInfo."""

    def __init__(self, kit):
        self.cfg = kit.cfg
        self.rpc = kit.context.GetRpc(kit.cfg)
        self.messages = []

    def LogInfo(self, msg, *args):
        self.messages.append(msg % args)


def test_check_node_has_os(kit):
    _AllNodes(kit)
    lu = _Lu(kit)
    node = kit.NodeUuid("node2")
    assert cmdlib_os.CheckNodeHasOS(lu, node, "variants+full", False).name == \
        "variants"
    for name, text in (("nosuch", "not in supported OS list"),
                       ("broken-api", "is invalid on node"),
                       ("variants", "must include a variant"),
                       ("variants+odd", "does not support variant 'odd'")):
        with pytest.raises(errors.OpPrereqError, match=text):
            cmdlib_os.CheckNodeHasOS(lu, node, name, False)
    assert cmdlib_os.CheckNodeHasOS(lu, node, "variants+odd", True)


def test_check_os_params(kit):
    _AllNodes(kit)
    lu = _Lu(kit)
    nodes = [kit.NodeUuid("node2"), kit.NodeUuid("node3")]
    cmdlib_os.CheckOSParams(lu, True, nodes, "params", {"dhcp": "yes"}, False)
    with pytest.raises(errors.OpPrereqError, match="Invalid value 'maybe'"):
        cmdlib_os.CheckOSParams(lu, True, nodes, "params", {"dhcp": "maybe"}, False)
    cmdlib_os.CheckOSParams(lu, False, nodes, "nosuch", {}, False)
    assert lu.messages == [
        f"OS nosuch not found on node {kit.cfg.GetNodeName(n)}, validation skipped"
        for n in nodes]
