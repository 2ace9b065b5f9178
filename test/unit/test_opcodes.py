"""Tests of the opcode catalog (ganeti/opcodes.py) against spec and samples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ganeti import errors, ht, opcodes, serializer
from ganeti.opcodes_base import OpCode, _NameToId

_REPO = Path(__file__).resolve().parents[2]
# CI checks the shared/ tree out beside the repository.
_SPEC_DIR = _REPO.parent / "shared" / "spec"
_COMMON = ["dry_run", "debug_level", "priority", "depends", "comment", "reason"]

# Opcodes exactly as the unmodified Ganeti 3.0.2 CLI sent them
# (spec/samples/luxi-debug-delay.txt, luxi-instance-remove.txt,
# luxi-instance-info.txt) and as the job queue stored one
# (queue-job-1298.json "input").
_WIRE_OPCODES = [
    '{"duration": 0.001, "on_master": true, "on_nodes": [], "on_node_uuids":'
    ' null, "repeat": 0, "interruptible": false, "no_locks": false, "dry_run":'
    ' false, "debug_level": 0, "priority": 0, "depends": null, "comment": null,'
    ' "reason": [["gnt:client:gnt-debug", "delay", 1795236266187246592]],'
    ' "OP_ID": "OP_TEST_DELAY"}',
    '{"instance_name": "luxi-capture2.ganeti.test", "instance_uuid": null,'
    ' "shutdown_timeout": 120, "ignore_failures": false, "dry_run": false,'
    ' "debug_level": 0, "priority": 0, "depends": null, "comment": null,'
    ' "reason": [["gnt:client:gnt-instance", "remove", 1795236268156127744]],'
    ' "OP_ID": "OP_INSTANCE_REMOVE"}',
    '{"use_locking": true, "instances": ["luxi-capture.ganeti.test"], "static":'
    ' false, "dry_run": null, "debug_level": 0, "priority": 0, "depends": null,'
    ' "comment": null, "reason": [["gnt:client:gnt-instance", "info",'
    ' 1795236267492184064]], "OP_ID": "OP_INSTANCE_QUERY_DATA"}',
]
_JOB_1298_INPUT = (
    '{"instance_name": "sample-b.ganeti.test", "force_variant": false,'
    ' "wait_for_sync": true, "name_check": false, "ignore_ipolicy": false,'
    ' "opportunistic_locking": false, "beparams": {"maxmem": 64, "minmem": 64},'
    ' "disks": [{"size": 1024}], "disk_template": "file", "group_name": null,'
    ' "file_driver": "loop", "file_storage_dir": null, "hvparams": {},'
    ' "hypervisor": "fake", "iallocator": null, "identify_defaults": false,'
    ' "ip_check": false, "conflicts_check": true, "mode": "create", "nics":'
    ' [{}], "no_install": false, "osparams": {}, "osparams_private": {},'
    ' "osparams_secret": {}, "os_type": "noop+default", "pnode":'
    ' "node1.ganeti.test", "pnode_uuid": "ff2df26a-d9c3-4726-80d6-308cd718fb5c",'
    ' "snode": null, "snode_uuid": null, "source_handshake": null,'
    ' "source_instance_name": null, "source_shutdown_timeout": 120,'
    ' "source_x509_ca": null, "src_node": null, "src_node_uuid": null,'
    ' "src_path": null, "compress": "none", "start": true, "forthcoming": false,'
    ' "commit": false, "tags": [], "instance_communication": false,'
    ' "helper_startup_timeout": 300, "helper_shutdown_timeout": 7200,'
    ' "dry_run": false, "debug_level": 0, "priority": 0, "depends": null,'
    ' "comment": null, "reason": [["gnt:client:gnt-instance", "add",'
    ' 1795236202780992000], ["gnt:opcode:instance_create", "job=1298;index=0",'
    ' 1795236202782856000]], "OP_ID": "OP_INSTANCE_CREATE"}')
# The same opcode as luxid shows it in the job query field "ops"
# (spec/samples/rapi-2-jobs-id.json): common parameters first, no nulls.
_JOB_1298_QUERY_OPS = (
    '{"dry_run": false, "debug_level": 0, "priority": 0, "depends": null,'
    ' "comment": null, "reason": [["gnt:client:gnt-instance", "add",'
    ' 1795236202780992000], ["gnt:opcode:instance_create", "job=1298;index=0",'
    ' 1795236202782856000]], "OP_ID": "OP_INSTANCE_CREATE", "instance_name":'
    ' "sample-b.ganeti.test", "force_variant": false, "wait_for_sync": true,'
    ' "name_check": false, "ignore_ipolicy": false, "opportunistic_locking":'
    ' false, "beparams": {"maxmem": 64, "minmem": 64}, "disks": [{"size":'
    ' 1024}], "disk_template": "file", "file_driver": "loop", "hvparams": {},'
    ' "hypervisor": "fake", "identify_defaults": false, "ip_check": false,'
    ' "conflicts_check": true, "mode": "create", "nics": [{}], "no_install":'
    ' false, "osparams": {}, "osparams_private": {}, "osparams_secret": {},'
    ' "os_type": "noop+default", "pnode": "node1.ganeti.test", "pnode_uuid":'
    ' "ff2df26a-d9c3-4726-80d6-308cd718fb5c", "source_shutdown_timeout": 120,'
    ' "compress": "none", "start": true, "forthcoming": false, "commit": false,'
    ' "tags": [], "instance_communication": false, "helper_startup_timeout":'
    ' 300, "helper_shutdown_timeout": 7200}')


def _ReadOpIdList() -> list[str]:
    lines = (_REPO / "test" / "data" / "opcodes-3.0.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def _SpecCatalogOpIds() -> list[str]:
    spec = _SPEC_DIR / "opcodes.md"
    if not spec.exists():
        pytest.skip(f"{spec} not found (the shared/ tree is not beside the repo)")
    text = spec.read_text()
    catalog = text[text.index("## 5. Catalog"):]
    return re.findall(r"^\| `(OP_[A-Z0-9_]+)` \|", catalog, re.MULTILINE)


def _SampleSubmittedOpcodes() -> list[dict[str, Any]]:
    """Every opcode dict of a SubmitJob request in spec/samples/luxi-*.txt."""
    samples = _SPEC_DIR / "samples"
    if not samples.is_dir():
        pytest.skip(f"{samples} not found (the shared/ tree is not beside the repo)")
    found = []
    for path in sorted(samples.glob("luxi-*.txt")):
        for line in path.read_text().splitlines():
            if line.startswith('{"method": "SubmitJob"'):
                found.extend(json.loads(line)["args"][0])
    return found


# --- the catalog ------------------------------------------------------------------

def test_catalog_has_every_ganeti_3_0_opcode() -> None:
    expected = _ReadOpIdList()
    assert len(expected) == 75
    assert set(expected) <= set(opcodes.OP_MAPPING)
    assert set(opcodes.OP_MAPPING) - set(expected) == {"OP_NETWORK_RENAME"}


def test_catalog_matches_spec_table() -> None:
    spec_ids = _SpecCatalogOpIds()
    assert sorted(spec_ids) == sorted(opcodes.OP_MAPPING)
    assert [op_id for op_id in spec_ids if op_id != "OP_NETWORK_RENAME"] == \
        _ReadOpIdList()


@pytest.mark.parametrize("op_id", sorted(opcodes.OP_MAPPING))
def test_opcode_class_is_consistent(op_id: str) -> None:
    cls = opcodes.OP_MAPPING[op_id]
    assert getattr(opcodes, cls.__name__) is cls
    assert _NameToId(cls.__name__) == op_id == cls.OP_ID
    assert cls.__doc__ and cls.__doc__.strip()
    names = cls.GetAllSlots()
    assert names[-len(_COMMON):] == _COMMON
    assert len(set(names)) == len(names)
    assert cls.OP_DSC_FIELD is None or cls.OP_DSC_FIELD in names
    assert cls.OP_RESULT is not None and callable(cls.OP_RESULT)
    for param in cls.GetAllParams():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", param.name)
        assert callable(param.check) and param.doc
        if param.default is not ht.NoDefault:
            assert param.check(param.default), (op_id, param.name)


def test_shared_params_are_defined_once() -> None:
    # A parameter used by several opcodes is one module-level _P row.
    rows: dict[str, set[int]] = {}
    for cls in opcodes.OP_MAPPING.values():
        for param in cls.OP_PARAMS:
            rows.setdefault(param.name, set()).add(id(param))
    for name in ("instance_name", "instance_uuid", "node_name", "force",
                 "shutdown_timeout", "iallocator", "early_release",
                 "ignore_ipolicy", "conflicts_check", "output_fields"):
        assert len(rows[name]) == 1, name
    assert len(rows["group_name"]) == 2  # required and optional


# --- wire format -------------------------------------------------------------------

@pytest.mark.parametrize("text", [*_WIRE_OPCODES, _JOB_1298_INPUT])
def test_round_trip_is_byte_identical(text: str) -> None:
    data = json.loads(text)
    op = OpCode.LoadOpCode(data)
    op.Validate(False)
    assert op.ToDict() == data
    assert serializer.DumpJson(op.ToDict()) == text


def test_round_trip_of_every_sample_submission() -> None:
    submitted = _SampleSubmittedOpcodes()
    assert len(submitted) >= 5
    for data in submitted:
        op = OpCode.LoadOpCode(data)
        op.Validate(False)
        assert serializer.DumpJson(op.ToDict()) == serializer.DumpJson(data)


def test_query_form_as_luxid_shows_it() -> None:
    op = OpCode.LoadOpCode(json.loads(_JOB_1298_INPUT))
    assert serializer.DumpJson(op.ToQueryDict()) == _JOB_1298_QUERY_OPS


def test_defaults_complete_an_opcode_like_the_3_0_client() -> None:
    # gnt-instance add sends every parameter (luxi-instance-add-submit.txt);
    # Validate(True) produces the same key set and order from a sparse opcode.
    op = opcodes.OpInstanceCreate(instance_name="i1", mode="create", disks=[],
                                  nics=[{}])
    op.Validate(True)
    sent = json.loads(_JOB_1298_INPUT)
    assert list(op.ToDict()) == list(sent)


# --- opcodes with required shapes ----------------------------------------------------

def _Defaults(cls: type[OpCode]) -> dict[str, Any]:
    return {param.name: param.default for param in cls.OP_PARAMS}


def test_test_delay_parameters() -> None:
    assert _Defaults(opcodes.OpTestDelay) == {
        "duration": ht.NoDefault, "on_master": True, "on_nodes": [],
        "on_node_uuids": None, "repeat": 0, "interruptible": False,
        "no_locks": True}
    op = opcodes.OpTestDelay(duration=10)
    op.Validate(True)
    assert op.duration == 10.0 and isinstance(op.duration, float)
    assert op.Summary() == "TEST_DELAY(10.0)"
    assert op.OP_DSC_FIELD == "duration"


def test_query_and_jqueue_parameters() -> None:
    assert _Defaults(opcodes.OpQuery) == {
        "what": ht.NoDefault, "use_locking": False, "fields": ht.NoDefault,
        "qfilter": None}
    opcodes.OpQuery(what="node", fields=["name"],
                    qfilter=["=", "name", "n1"]).Validate(False)
    with pytest.raises(errors.OpPrereqError, match="OP_QUERY.what"):
        opcodes.OpQuery(what="nodes", fields=["name"]).Validate(False)
    assert _Defaults(opcodes.OpTestJqueue) == {
        "notify_waitlock": False, "notify_exec": False, "log_messages": [],
        "fail": False}
    assert opcodes.OpTestJqueue.OP_RESULT(True)


def test_ganeti_3_0_defaults() -> None:
    # spec/opcodes.md section 4, column 3.0.x
    for cls in (opcodes.OpInstanceCreate, opcodes.OpInstanceRename):
        assert _Defaults(cls)["name_check"] is True
        assert _Defaults(cls)["ip_check"] is True
    set_params = _Defaults(opcodes.OpInstanceSetParams)
    assert set_params["hotplug"] is False
    assert set_params["hotplug_if_possible"] is False
    names = opcodes.OpInstanceSetParams.GetAllSlots()
    assert names.index("hotplug_if_possible") == names.index("hotplug") + 1


@pytest.mark.parametrize(("op", "summary"), [
    (opcodes.OpInstanceCreate(instance_name="sample-a.ganeti.test"),
     "INSTANCE_CREATE(sample-a.ganeti.test)"),
    (opcodes.OpInstanceQueryData(instances=["x"]), "INSTANCE_QUERY_DATA"),
    (opcodes.OpOsDiagnose(output_fields=["name"]), "OS_DIAGNOSE"),
    (opcodes.OpClusterVerify(), "CLUSTER_VERIFY"),
    (opcodes.OpClusterVerifyConfig(), "CLUSTER_VERIFY_CONFIG"),
    (opcodes.OpClusterVerifyGroup(
        group_name="1743f6e6-4ffe-44a4-84b8-42f92c899889"),
     "CLUSTER_VERIFY_GROUP(1743f6e6-4ffe-44a4-84b8-42f92c899889)"),
    (opcodes.OpTestDelay(duration=0), "TEST_DELAY(0.0)"),
    (opcodes.OpTestDelay(duration=0.001), "TEST_DELAY(1.0e-3)"),
    (opcodes.OpInstanceStartup(instance_name="sample-c.ganeti.test"),
     "INSTANCE_STARTUP(sample-c.ganeti.test)"),
    (opcodes.OpInstanceRemove(instance_name="luxi-capture2.ganeti.test"),
     "INSTANCE_REMOVE(luxi-capture2.ganeti.test)"),
])
def test_summaries_of_the_job_list_sample(op: OpCode, summary: str) -> None:
    # Every expected string appears in spec/samples/gnt-job-list.txt.
    assert op.Summary() == summary


@pytest.mark.parametrize(("op", "summary"), [
    # luxid (src/Ganeti/OpCodes.hs opSummaryVal) shows the tag kind's
    # constructor name, "None" for a missing iallocator, no rename target.
    (opcodes.OpTagsGet(kind="cluster"), "TAGS_GET(TagKindCluster)"),
    (opcodes.OpTagsGet(kind="nodegroup", name="g"), "TAGS_GET(TagKindGroup)"),
    (opcodes.OpTestAllocator(direction="in"), "TEST_ALLOCATOR(None)"),
    (opcodes.OpTestAllocator(iallocator="hail"), "TEST_ALLOCATOR(hail)"),
    (opcodes.OpInstanceRename(instance_name="a", new_name="b"),
     "INSTANCE_RENAME"),
    (opcodes.OpQuery(what="node"), "QUERY(node)"),
    (opcodes.OpTestDelay(duration="x"), "TEST_DELAY"),
    (opcodes.OpNetworkConnect(network_name="net1"), "NETWORK_CONNECT(net1)"),
])
def test_luxid_summary_special_cases(op: OpCode, summary: str) -> None:
    assert op.Summary() == summary


def test_tiny_summary() -> None:
    assert opcodes.OpInstanceCreate().TinySummary() == "I_CREATE"
    assert opcodes.OpClusterVerifyGroup().TinySummary() == "C_VERIFY_GROUP"
    assert opcodes.OpTestDelay().TinySummary() == "TEST_DELAY"


# --- validation of real parameters ---------------------------------------------------

def _Create(**extra: Any) -> opcodes.OpInstanceCreate:
    params = {"instance_name": "i1", "mode": "create", "disks": [{"size": "1G"}],
              "nics": [{"mode": "bridged", "link": "br0"}], **extra}
    return opcodes.OpInstanceCreate(**params)


@pytest.mark.parametrize(("extra", "message"), [
    ({"mode": "clone"}, "'OP_INSTANCE_CREATE.mode' fails validation: expected"
                        " OneOf ['create', 'import', 'remote-import'], got 'clone'"),
    ({"disk_template": "lvm"}, "OP_INSTANCE_CREATE.disk_template"),
    ({"hypervisor": "vmware"}, "OP_INSTANCE_CREATE.hypervisor"),
    ({"disks": [{"size": 1, "mode": "rx"}]}, "IDiskParams"),
    ({"nics": [{"colour": "red"}]}, "OP_INSTANCE_CREATE.nics"),
    ({"nics": "eth0"}, "OP_INSTANCE_CREATE.nics"),
    ({"source_shutdown_timeout": -1}, "source_shutdown_timeout"),
    ({"tags": ["ok", ""]}, "OP_INSTANCE_CREATE.tags"),
])
def test_instance_create_rejects_bad_values(extra: dict, message: str) -> None:
    with pytest.raises(errors.OpPrereqError) as excinfo:
        _Create(**extra).Validate(True)
    assert message in excinfo.value.args[0]
    assert excinfo.value.args[1] == errors.ECODE_INVAL


def test_instance_create_requires_disks_nics_and_mode() -> None:
    for missing in ("disks", "nics", "mode", "instance_name"):
        op = _Create()
        delattr(op, missing)
        with pytest.raises(errors.OpPrereqError,
                           match=f"OP_INSTANCE_CREATE.{missing}' fails validation:"
                                 " required parameter missing"):
            op.Validate(False)


def test_load_opcode_rejects_unknown_parameter() -> None:
    data = json.loads(_WIRE_OPCODES[0])
    data["sleep_harder"] = True
    with pytest.raises(errors.OpPrereqError,
                       match="OP_TEST_DELAY got unknown parameter.*sleep_harder"):
        OpCode.LoadOpCode(data)


@pytest.mark.parametrize(("cls", "params", "good"), [
    (opcodes.OpNetworkAdd, {"network": "192.0.2.0/24", "gateway": "192.0.2.1",
                            "network6": "2001:db8::/64",
                            "add_reserved_ips": ["192.0.2.5"]}, True),
    (opcodes.OpNetworkAdd, {"network": "192.0.2.0"}, False),
    (opcodes.OpNetworkAdd, {"network": "192.0.2.0/33"}, False),
    (opcodes.OpNetworkAdd, {"network": "10.0.0.0/8", "gateway": "10.0.0.256"},
     False),
    (opcodes.OpNetworkSetParams, {"remove_reserved_ips": ["::1"]}, False),
    (opcodes.OpNetworkConnect, {"group_name": "g", "network_mode": "routed",
                                "network_link": "rt1"}, True),
    (opcodes.OpNetworkConnect, {"group_name": "g", "network_mode": "pool",
                                "network_link": "rt1"}, False),
])
def test_network_parameters(cls: type[OpCode], params: dict, good: bool) -> None:
    op = cls(network_name="net1", **params)
    if good:
        op.Validate(True)
    else:
        with pytest.raises(errors.OpPrereqError, match=cls.OP_ID):
            op.Validate(True)


@pytest.mark.parametrize(("mods", "good"), [
    ([], True), ([["add", -1, {"size": 1024}]], True),
    ([["modify", "disk-name", {"mode": "ro"}]], True),
    ([["attach", 0, {"name": "d"}]], True),
    ([["add", {"size": 1024}]], True), ([[0, {"mode": "ro"}]], True),
    ([["resize", 0, {}]], False), ([["modify", {}]], False), ([["add"]], False),
])
def test_instance_set_params_modifications(mods: list, good: bool) -> None:
    op = opcodes.OpInstanceSetParams(instance_name="i1", disks=mods)
    if good:
        op.Validate(False)
    else:
        with pytest.raises(errors.OpPrereqError,
                           match="OP_INSTANCE_SET_PARAMS.disks"):
            op.Validate(False)


@pytest.mark.parametrize(("disks", "good"), [
    ([], True), ([0, 2], True), ([[0, {"size": 2048}]], True),
    ([16], False), ([-1], False), ([[0, 5]], False),
])
def test_recreate_disks_info(disks: list, good: bool) -> None:
    op = opcodes.OpInstanceRecreateDisks(instance_name="i1", disks=disks)
    assert (op.GetAllParams()[2].check(disks)) is good


def test_cluster_verify_checks_error_codes() -> None:
    opcodes.OpClusterVerify(ignore_errors=["ENODEDRBD"],
                            skip_checks=["nplusone_mem"]).Validate(True)
    with pytest.raises(errors.OpPrereqError, match="ignore_errors"):
        opcodes.OpClusterVerify(ignore_errors=["ENOSUCHCODE"]).Validate(True)


def test_multi_alloc_holds_create_opcodes() -> None:
    create = _Create()
    op = opcodes.OpInstanceMultiAlloc(instances=[create], iallocator="hail")
    data = op.ToDict()
    assert data["instances"] == [create.ToDict()]
    loaded = OpCode.LoadOpCode(json.loads(serializer.DumpJson(data)))
    assert isinstance(loaded.instances[0], opcodes.OpInstanceCreate)
    assert loaded.ToDict() == data
    loaded.Validate(True)
    assert loaded.instances[0].name_check is True
    bad = OpCode.LoadOpCode(dict(data, instances=[dict(data["instances"][0],
                                                       mode="bogus")]))
    with pytest.raises(errors.OpPrereqError, match="OP_INSTANCE_CREATE.mode"):
        bad.Validate(False)
    with pytest.raises(errors.OpPrereqError, match="must be OP_INSTANCE_CREATE"):
        OpCode.LoadOpCode(dict(data, instances=[{"OP_ID": "OP_TEST_DELAY"}]))


def test_result_checks() -> None:
    jobs = {"jobs": [[True, 12], [False, "Queue drained"]]}
    assert opcodes.OpClusterVerify.OP_RESULT(jobs)
    assert not opcodes.OpClusterVerify.OP_RESULT({"jobs": [[True]]})
    assert not opcodes.OpClusterVerify.OP_RESULT({"jobs": [], "x": 1})
    assert opcodes.OpClusterSetParams.OP_RESULT(None)
    assert opcodes.OpClusterSetParams.OP_RESULT(jobs)
    assert opcodes.OpTestDelay.OP_RESULT(None)
    assert not opcodes.OpTestDelay.OP_RESULT(0)
    assert opcodes.OpInstanceCreate.OP_RESULT(["node1.ganeti.test"])
    assert opcodes.OpQuery.OP_RESULT({"fields": [{"name": "name"}],
                                      "data": [[[0, "n1"]]]})
    assert opcodes.OpGroupVerifyDisks.OP_RESULT([{}, [], {"i1": [["n1", "lv"]]}])
    assert opcodes.OpInstanceMultiAlloc.OP_RESULT(
        {"jobs": [[True, 3]], "allocatable": ["i1"], "failed": []})
    assert opcodes.OpTestDummy.WITH_LU is False
    assert opcodes.OpTestDelay.WITH_LU is True
