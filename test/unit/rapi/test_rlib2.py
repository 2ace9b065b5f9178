"""Tests of the RAPI v2 resources (ganeti.rapi.rlib2 and rlib2_*).

Each request goes through the URL map to its resource, which talks to a
fake LUXI client that records the calls and the submitted opcodes; the
tests check what the master would receive (LUXI arguments, opcode
parameters) and what the client gets back.
"""

import pytest

from ganeti import errors, http, luxi
from ganeti.rapi import baserlib, connector, rlib2


class FakeLuxi:
    """Stands in for luxi.Client: canned answers, recorded calls and jobs."""

    def __init__(self, **answers):
        self.answers = answers
        self.calls = []
        self.jobs = []

    def SubmitJob(self, ops):
        failure = self.answers.get("SubmitJob")
        if isinstance(failure, Exception):
            raise failure
        self.jobs.append([op.ToDict() for op in ops])
        return 1000 + len(self.jobs)

    def __getattr__(self, name):
        if name.startswith("_") or name not in self.answers:
            raise AttributeError(name)

        def _Call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            answer = self.answers[name]
            if isinstance(answer, Exception):
                raise answer
            return answer(*args) if callable(answer) else answer
        return _Call

    def Op(self, job=-1, index=0):
        """A submitted opcode without its reason trail."""
        op = dict(self.jobs[job][index])
        op.pop("reason")
        return op


def Run(method, uri, body=None, client=None):
    (cls, items, args) = connector.Mapper().getController(uri)
    ctx = baserlib.RequestContext(method=method, path=uri.partition("?")[0],
                                  body_data=body,
                                  get_client=lambda: client)
    return cls(items, args, ctx).Handle(method)


# --- cluster ----------------------------------------------------------------


def test_legacy_root_version_and_features():
    assert Run("GET", "/") is None
    assert Run("GET", "/2") is None
    assert Run("GET", "/version") == 2
    assert Run("GET", "/2/features") == [
        "node-migrate-reqv1", "node-evac-res1", "instance-create-reqv1",
        "instance-reinstall-reqv1"]


def test_info_adds_legacy_aliases():
    info = {"name": "c1", "volume_group_name": "xenvg",
            "drbd_usermode_helper": "/bin/true"}
    client = FakeLuxi(QueryClusterInfo=dict(info))
    result = Run("GET", "/2/info", client=client)
    assert result == dict(info, vg_name="xenvg", drbd_helper="/bin/true")
    assert list(result)[-2:] == ["vg_name", "drbd_helper"]


def test_redistribute_config_submits_opcode_with_reason_trail():
    client = FakeLuxi()
    assert Run("PUT", "/2/redistribute-config?reason=maintenance",
               client=client) == 1001
    (op, ) = client.jobs[0]
    assert op["OP_ID"] == "OP_CLUSTER_REDIST_CONF"
    (user, lib) = op["reason"]
    assert user[:2] == ["gnt:user", "maintenance"]
    assert lib[:2] == ["gnt:library:rlib2:redist_config", ""]
    assert isinstance(lib[2], int) and lib[2] > 1e18


def test_cluster_modify_passes_body_and_forbids_compression_tools():
    client = FakeLuxi()
    Run("PUT", "/2/modify", {"candidate_pool_size": 5}, client=client)
    assert client.Op()["candidate_pool_size"] == 5
    with pytest.raises(http.HttpForbidden, match="compression_tools"):
        Run("PUT", "/2/modify", {"compression_tools": ["gzip"]}, client=client)
    assert len(client.jobs) == 1


def test_os_list_waits_for_the_diagnose_job():
    client = FakeLuxi(
        WaitForJobChangeOnce=[["success"], []],
        QueryJobs=[["success", ["success"],
                    [[["debootstrap", ["default"]], ["noop", ["alt", "default"]],
                      ["plain", []]]]]])
    assert Run("GET", "/2/os", client=client) == [
        "debootstrap+default", "noop+alt", "noop+default", "plain"]
    op = client.Op()
    assert op["OP_ID"] == "OP_OS_DIAGNOSE"
    assert op["output_fields"] == ["name", "variants"]


def test_os_failed_job_raises_its_error():
    client = FakeLuxi(
        WaitForJobChangeOnce=[["error"], []],
        QueryJobs=[["error", ["error"], [["OpExecError", ["no OS found"]]]]])
    with pytest.raises(errors.OpExecError, match="no OS found"):
        Run("GET", "/2/os", client=client)


def test_cluster_tags():
    client = FakeLuxi(QueryTags=["a", "b"])
    assert Run("GET", "/2/tags", client=client) == ["a", "b"]
    assert client.calls == [("QueryTags", ("cluster", ""), {})]
    Run("PUT", "/2/tags?tag=x&tag=y&dry-run=1", {"ignored": 1}, client=client)
    assert client.Op() == {"OP_ID": "OP_TAGS_SET", "kind": "cluster", "name": None,
                           "tags": ["x", "y"], "dry_run": True}
    Run("DELETE", "/2/tags?tag=x", client=client)
    assert client.Op() == {"OP_ID": "OP_TAGS_DEL", "kind": "cluster", "name": None,
                           "tags": ["x"], "dry_run": False}


@pytest.mark.parametrize("uri,kind,name", [
    ("/2/nodes/n1/tags", "node", "n1"),
    ("/2/groups/g1/tags", "nodegroup", "g1"),
    ("/2/instances/i1/tags", "instance", "i1"),
    ("/2/networks/net1/tags", "network", "net1"),
])
def test_object_tags(uri, kind, name):
    client = FakeLuxi(QueryTags=["t"])
    assert Run("GET", uri, client=client) == ["t"]
    assert client.calls[0][1] == (kind, name)
    Run("PUT", uri + "?tag=t2", client=client)
    assert client.Op()["kind"] == kind and client.Op()["name"] == name


def test_query_get_put_and_fields():
    answer = {"fields": [], "data": []}
    client = FakeLuxi(Query=answer, QueryFields={"fields": []})
    assert Run("GET", "/2/query/node?fields=name,%20pip", client=client) == answer
    assert client.calls[-1][1] == ("node", ["name", "pip"], None)
    Run("PUT", "/2/query/job", {"fields": ["id"], "qfilter": ["=", "id", 1]},
        client=client)
    assert client.calls[-1][1] == ("job", ["id"], ["=", "id", 1])
    Run("PUT", "/2/query/job?fields=id", {"filter": ["?", "id"]}, client=client)
    assert client.calls[-1][1] == ("job", ["id"], ["?", "id"])
    Run("GET", "/2/query/lock/fields", client=client)
    assert client.calls[-1][1] == ("lock", None)
    Run("GET", "/2/query/lock/fields?fields=name,mode", client=client)
    assert client.calls[-1][1] == ("lock", ["name", "mode"])


def test_query_errors():
    client = FakeLuxi(Query={})
    with pytest.raises(http.HttpBadRequest, match="Missing 'fields'"):
        Run("GET", "/2/query/node", client=client)
    with pytest.raises(http.HttpBadRequest, match="Body contents"):
        Run("PUT", "/2/query/node", ["name"], client=client)
    with pytest.raises(http.HttpBadRequest, match="'fields' parameter"):
        Run("PUT", "/2/query/node", {"fields": "name"}, client=client)
    assert client.calls == []


def test_filters():
    rows = [["u2", 5, 0, [], "ACCEPT", []], ["u1", 5, 1, [], "PAUSE", []]]
    client = FakeLuxi(QueryFilters=lambda uuids, fields: (
        [[r[0]] for r in rows] if fields == ["uuid"] else
        [[r[1], r[2], r[3], r[4], r[5], r[0]] for r in rows
         if uuids is None or r[0] in uuids]), ReplaceFilter="u3",
        DeleteFilter=None)
    assert Run("GET", "/2/filters", client=client) == [
        {"uuid": "u1", "uri": "/2/filters/u1"},
        {"uuid": "u2", "uri": "/2/filters/u2"}]
    assert Run("GET", "/2/filters/u1", client=client)["action"] == "PAUSE"
    assert Run("POST", "/2/filters", {"priority": 3, "action": "REJECT"},
               client=client) == "u3"
    assert client.calls[-1][1] == (None, 3, [], "REJECT", [])
    with pytest.raises(http.HttpBadRequest, match="'color'"):
        Run("PUT", "/2/filters/u1", {"color": 1}, client=client)
    with pytest.raises(http.HttpBadRequest, match="'priority' parameter"):
        Run("PUT", "/2/filters/u1", {"priority": "high"}, client=client)
    assert Run("DELETE", "/2/filters/u1", client=client) is None


# --- jobs -----------------------------------------------------------------------


def test_jobs_list_and_bulk():
    client = FakeLuxi(QueryJobs=lambda ids, fields: (
        [[12], [3]] if fields == ["id"] else [[3] + [None] * 7]))
    assert Run("GET", "/2/jobs", client=client) == [
        {"id": 3, "uri": "/2/jobs/3"}, {"id": 12, "uri": "/2/jobs/12"}]
    (bulk, ) = Run("GET", "/2/jobs?bulk=1", client=client)
    assert list(bulk) == rlib2.J_FIELDS_BULK and bulk["id"] == 3


def test_job_item_cancel_and_missing_job():
    client = FakeLuxi(QueryJobs=lambda ids, fields: (
        [None] if ids == ["9"] else [list(range(len(fields)))]),
        CancelJob=[True, "Dequeued job 4"])
    assert list(Run("GET", "/2/jobs/4", client=client)) == rlib2.J_FIELDS
    with pytest.raises(http.HttpNotFound):
        Run("GET", "/2/jobs/9", client=client)
    assert Run("DELETE", "/2/jobs/4", client=client) == [True, "Dequeued job 4"]
    assert client.calls[-1][:2] == ("CancelJob", ("4", ))


def test_job_wait():
    answers = iter([luxi.JOB_NOTCHANGED, [["running"], [[1, [1, 2], "message",
                                                          "hello"]]]])
    client = FakeLuxi(WaitForJobChangeOnce=lambda *args: next(answers))
    body = {"fields": ["status"], "previous_job_info": None,
            "previous_log_serial": None}
    assert Run("GET", "/2/jobs/4/wait", body, client=client) is None
    assert Run("GET", "/2/jobs/4/wait", body, client=client) == {
        "job_info": ["running"], "log_entries": [[1, [1, 2], "message", "hello"]]}
    (name, args, kwargs) = client.calls[0]
    assert args == ("4", ["status"], None, None) and kwargs == {"timeout": 10}


@pytest.mark.parametrize("body,message", [
    (None, "'fields' is missing"),
    ({"previous_job_info": None}, "'fields' is missing"),
    ({"fields": "status"}, "should be a list"),
    ({"fields": [], "previous_job_info": "x"}, "previous_job_info"),
    ({"fields": [], "previous_log_serial": "1"}, "previous_log_serial"),
    ({"fields": [], "previous_log_serial": True}, "previous_log_serial"),
])
def test_job_wait_bad_bodies(body, message):
    client = FakeLuxi(WaitForJobChangeOnce=None)
    with pytest.raises(http.HttpBadRequest, match=message):
        Run("GET", "/2/jobs/4/wait", body, client=client)
    assert client.calls == []


def test_job_wait_unknown_job_is_404():
    client = FakeLuxi(WaitForJobChangeOnce=errors.JobLost("Job 4 not found"))
    with pytest.raises(http.HttpNotFound):
        Run("GET", "/2/jobs/4/wait", {"fields": ["status"]}, client=client)


# --- generic opcode handling ---------------------------------------------------------


def test_depends_is_passed_and_static_values_cannot_be_overridden():
    client = FakeLuxi()
    Run("POST", "/2/instances/i1/recreate-disks",
        {"disks": [0], "depends": [[-1, ["success"]]]}, client=client)
    assert client.Op() == {"OP_ID": "OP_INSTANCE_RECREATE_DISKS",
                           "instance_name": "i1", "disks": [0],
                           "depends": [[-1, ["success"]]]}
    with pytest.raises(http.HttpBadRequest, match="static parameters: instance_name"):
        Run("POST", "/2/instances/i1/recreate-disks", {"instance_name": "i2"},
            client=client)
    with pytest.raises(http.HttpBadRequest, match="static parameters: reason"):
        Run("PUT", "/2/instances/i1/migrate", {"reason": []}, client=client)
    assert len(client.jobs) == 1


def test_invalid_parameters_are_400_and_submit_nothing():
    client = FakeLuxi()
    with pytest.raises(http.HttpBadRequest, match="Invalid body parameters:.*amount"):
        Run("POST", "/2/instances/i1/disk/0/grow", {"amount": "lots"},
            client=client)
    with pytest.raises(http.HttpBadRequest, match="unknown parameter"):
        Run("PUT", "/2/instances/i1/migrate", {"speed": 9}, client=client)
    with pytest.raises(http.HttpBadRequest, match="Body contents: Type is 'list'"):
        Run("PUT", "/2/instances/i1/failover", [1], client=client)
    with pytest.raises(http.HttpBadRequest, match="'dry-run'"):
        Run("PUT", "/2/instances/i1/startup?dry-run=yes", client=client)
    assert client.jobs == []


def test_full_or_drained_queue_is_503():
    for failure in (errors.JobQueueFull(), errors.GenericError("Queue drained"),
                    errors.JobQueueDrainError("drained")):
        client = FakeLuxi(SubmitJob=failure)
        with pytest.raises(http.HttpServiceUnavailable):
            Run("PUT", "/2/redistribute-config", client=client)
    client = FakeLuxi(SubmitJob=errors.GenericError("something else"))
    with pytest.raises(errors.GenericError, match="something else"):
        Run("PUT", "/2/redistribute-config", client=client)


def test_unreachable_master_is_502():
    def _NoMaster():
        raise luxi.NoMasterError("socket missing")

    (cls, items, args) = connector.Mapper().getController("/2/info")
    ctx = baserlib.RequestContext(method="GET", path="/2/info",
                                  get_client=_NoMaster)
    with pytest.raises(baserlib.HttpBadGateway, match="socket missing"):
        cls(items, args, ctx).Handle("GET")


# --- nodes ---------------------------------------------------------------------


def _NodeRow(fields):
    values = {"name": "n1", "role": "C", "sip": "192.0.2.1", "pip": "192.0.2.1"}
    return [values.get(field, 0) for field in fields]


def test_nodes_list_item_and_bulk():
    client = FakeLuxi(QueryNodes=lambda names, fields, lock: (
        [["n2"], ["n1"]] if fields == ["name"] else [_NodeRow(fields)]))
    assert Run("GET", "/2/nodes", client=client) == [
        {"id": "n1", "uri": "/2/nodes/n1"}, {"id": "n2", "uri": "/2/nodes/n2"}]
    (node, ) = Run("GET", "/2/nodes?bulk=1", client=client)
    assert list(node) == rlib2.N_FIELDS
    assert client.calls[-1][1] == ([], rlib2.N_FIELDS, False)
    item = Run("GET", "/2/nodes/n1", client=client)
    assert list(item) == rlib2.N_FIELDS + ["secondary_ip"]
    assert item["secondary_ip"] == "192.0.2.1"
    assert client.calls[-1][1] == (["n1"], rlib2.N_FIELDS, False)


def test_unknown_node_is_404_and_other_errors_pass():
    client = FakeLuxi(QueryNodes=errors.OpPrereqError("Node n9 not known",
                                                      errors.ECODE_NOENT))
    with pytest.raises(http.HttpNotFound, match="n9"):
        Run("GET", "/2/nodes/n9", client=client)
    with pytest.raises(http.HttpNotFound):
        Run("GET", "/2/nodes/n9/role", client=client)
    client = FakeLuxi(QueryNodes=errors.OpPrereqError(
        "Sync queries are not allowed", errors.ECODE_INVAL))
    with pytest.raises(errors.OpPrereqError, match="Sync"):
        Run("GET", "/2/nodes/n1?lock=1", client=client)
    assert client.calls[-1][1] == (["n1"], rlib2.N_FIELDS, True)


@pytest.mark.parametrize("letter,role", [
    ("M", "master"), ("C", "master-candidate"), ("R", "regular"),
    ("D", "drained"), ("O", "offline")])
def test_node_role_get(letter, role):
    client = FakeLuxi(QueryNodes=[[letter]])
    assert Run("GET", "/2/nodes/n1/role", client=client) == role


@pytest.mark.parametrize("role,flags", [
    ("regular", (False, False, False)),
    ("master-candidate", (True, None, None)),
    ("drained", (None, None, True)),
    ("offline", (None, True, None)),
])
def test_node_role_put(role, flags):
    client = FakeLuxi()
    Run("PUT", "/2/nodes/n1/role?force=1&auto-promote=1", role, client=client)
    op = client.Op()
    assert op["OP_ID"] == "OP_NODE_SET_PARAMS" and op["node_name"] == "n1"
    assert (op["master_candidate"], op["offline"], op["drained"]) == flags
    assert op["force"] is True and op["auto_promote"] is True


def test_node_role_put_refuses_master_and_non_strings():
    client = FakeLuxi()
    with pytest.raises(http.HttpBadRequest, match="Can't set 'master' role"):
        Run("PUT", "/2/nodes/n1/role", "master", client=client)
    with pytest.raises(http.HttpBadRequest, match="Type is 'dict'"):
        Run("PUT", "/2/nodes/n1/role", {"role": "regular"}, client=client)
    assert client.jobs == []


def test_node_actions():
    client = FakeLuxi()
    Run("POST", "/2/nodes/n1/evacuate?dry-run=1", {"mode": "all",
                                                   "iallocator": "hail"},
        client=client)
    assert client.Op() == {"OP_ID": "OP_NODE_EVACUATE", "node_name": "n1",
                           "mode": "all", "iallocator": "hail", "dry_run": True}
    Run("POST", "/2/nodes/n1/powercycle?force=1", client=client)
    assert client.Op() == {"OP_ID": "OP_NODE_POWERCYCLE", "node_name": "n1",
                           "force": True}
    Run("POST", "/2/nodes/n1/modify", {"drained": True}, client=client)
    assert client.Op() == {"OP_ID": "OP_NODE_SET_PARAMS", "node_name": "n1",
                           "drained": True}


def test_node_migrate_body_and_legacy_query():
    client = FakeLuxi()
    Run("POST", "/2/nodes/n1/migrate", {"mode": "live", "target_node": "n2"},
        client=client)
    assert client.Op() == {"OP_ID": "OP_NODE_MIGRATE", "node_name": "n1",
                           "mode": "live", "target_node": "n2"}
    Run("POST", "/2/nodes/n1/migrate?live=0", {"mode": "live"}, client=client)
    assert client.Op()["mode"] == "non-live"
    Run("POST", "/2/nodes/n1/migrate?mode=live&dry-run=1", client=client)
    assert client.Op()["mode"] == "live" and client.Op()["dry_run"] is True
    with pytest.raises(http.HttpBadRequest, match="Only one of 'live' and 'mode'"):
        Run("POST", "/2/nodes/n1/migrate?live=1&mode=live", client=client)


def test_node_storage_resources():
    client = FakeLuxi()
    Run("GET", "/2/nodes/n1/storage?storage_type=lvm-vg&output_fields=name,size",
        client=client)
    assert client.Op() == {"OP_ID": "OP_NODE_QUERY_STORAGE", "nodes": ["n1"],
                           "storage_type": "lvm-vg",
                           "output_fields": ["name", "size"]}
    with pytest.raises(http.HttpBadRequest, match="'output_fields'"):
        Run("GET", "/2/nodes/n1/storage?storage_type=lvm-vg", client=client)
    Run("PUT", "/2/nodes/n1/storage/modify?storage_type=lvm-pv&name=/dev/sda"
        "&allocatable=0", client=client)
    assert client.Op() == {"OP_ID": "OP_NODE_MODIFY_STORAGE", "node_name": "n1",
                           "storage_type": "lvm-pv", "name": "/dev/sda",
                           "changes": {"allocatable": False}}
    Run("PUT", "/2/nodes/n1/storage/repair?storage_type=lvm-vg&name=xenvg",
        client=client)
    assert client.Op() == {"OP_ID": "OP_REPAIR_NODE_STORAGE", "node_name": "n1",
                           "storage_type": "lvm-vg", "name": "xenvg"}
    with pytest.raises(http.HttpBadRequest, match="'name'"):
        Run("PUT", "/2/nodes/n1/storage/repair?storage_type=lvm-vg",
            client=client)


# --- instances ----------------------------------------------------------------------


def test_instances_list_bulk_and_item_add_memory():
    def _Query(names, fields, lock):
        if fields == ["name"]:
            return [["b"], ["a"]]
        return [[{"maxmem": 128, "minmem": 64} if f == "beparams" else f
                 for f in fields]]

    client = FakeLuxi(QueryInstances=_Query)
    assert Run("GET", "/2/instances", client=client) == [
        {"id": "a", "uri": "/2/instances/a"}, {"id": "b", "uri": "/2/instances/b"}]
    (inst, ) = Run("GET", "/2/instances?bulk=1", client=client)
    assert list(inst) == rlib2.I_FIELDS
    assert inst["beparams"] == {"maxmem": 128, "minmem": 64, "memory": 128}
    item = Run("GET", "/2/instances/a", client=client)
    assert item["beparams"]["memory"] == 128
    assert client.calls[-1][1] == (["a"], rlib2.I_FIELDS, False)


def test_instance_create_version_1():
    client = FakeLuxi()
    body = {"__version__": 1, "name": "i1", "os": "noop+default",
            "mode": "create", "disk_template": "diskless", "disks": [],
            "nics": [{}], "hvparams": {"usb_devices": "a b"}}
    assert Run("POST", "/2/instances?dry-run=1", body, client=client) == 1001
    assert client.Op() == {
        "OP_ID": "OP_INSTANCE_CREATE", "instance_name": "i1",
        "os_type": "noop+default", "mode": "create", "disk_template": "diskless",
        "disks": [], "nics": [{}], "hvparams": {"usb_devices": "a,b"},
        "dry_run": True}
    assert body["hvparams"] == {"usb_devices": "a b"}


@pytest.mark.parametrize("body,message", [
    ({"name": "i1"}, "version 0 is no longer supported"),
    ({"__version__": 0}, "version 0 is no longer supported"),
    ({"__version__": 2}, "Unsupported request data version 2"),
    ([1], "Body contents"),
    ({"__version__": 1, "name": "i1", "instance_name": "i1"},
     "'name' was renamed to 'instance_name'"),
])
def test_instance_create_bad_requests(body, message):
    client = FakeLuxi()
    with pytest.raises(http.HttpBadRequest, match=message):
        Run("POST", "/2/instances", body, client=client)
    assert client.jobs == []


def test_instance_multi_alloc():
    client = FakeLuxi()
    inst = {"name": "i1", "mode": "create", "disks": [], "nics": []}
    Run("POST", "/2/instances-multi-alloc", {"instances": [inst],
                                             "iallocator": "hail"},
        client=client)
    op = client.Op()
    assert op["OP_ID"] == "OP_INSTANCE_MULTI_ALLOC" and op["iallocator"] == "hail"
    assert op["instances"][0]["OP_ID"] == "OP_INSTANCE_CREATE"
    assert op["instances"][0]["instance_name"] == "i1"
    with pytest.raises(http.HttpBadRequest, match="'instances'"):
        Run("POST", "/2/instances-multi-alloc", {}, client=client)


def test_instance_simple_actions():
    client = FakeLuxi()
    cases = [
        ("DELETE", "/2/instances/i1?dry-run=1", None,
         {"OP_ID": "OP_INSTANCE_REMOVE", "ignore_failures": False,
          "dry_run": True}),
        ("GET", "/2/instances/i1/info?static=1", None,
         {"OP_ID": "OP_INSTANCE_QUERY_DATA", "static": True}),
        ("POST", "/2/instances/i1/reboot", {"shutdown_timeout": 5},
         {"OP_ID": "OP_INSTANCE_REBOOT", "reboot_type": "hard",
          "ignore_secondaries": False, "dry_run": False,
          "shutdown_timeout": 5}),
        ("POST", "/2/instances/i1/reboot?type=soft&ignore_secondaries=1", None,
         {"OP_ID": "OP_INSTANCE_REBOOT", "reboot_type": "soft",
          "ignore_secondaries": True, "dry_run": False}),
        ("PUT", "/2/instances/i1/startup?force=1&no_remember=1", None,
         {"OP_ID": "OP_INSTANCE_STARTUP", "force": True, "dry_run": False,
          "no_remember": True}),
        ("PUT", "/2/instances/i1/shutdown?dry-run=1", {"timeout": 30},
         {"OP_ID": "OP_INSTANCE_SHUTDOWN", "timeout": 30, "no_remember": False,
          "dry_run": True}),
        ("PUT", "/2/instances/i1/activate-disks?ignore_size=1", None,
         {"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS", "ignore_size": True}),
        ("PUT", "/2/instances/i1/deactivate-disks?force=1", None,
         {"OP_ID": "OP_INSTANCE_DEACTIVATE_DISKS", "force": True}),
        ("PUT", "/2/instances/i1/prepare-export?mode=local", None,
         {"OP_ID": "OP_BACKUP_PREPARE", "mode": "local"}),
        ("PUT", "/2/instances/i1/export", {"destination": "n2", "mode": "local"},
         {"OP_ID": "OP_BACKUP_EXPORT", "target_node": "n2", "mode": "local"}),
        ("DELETE", "/2/instances/i1/export", None, {"OP_ID": "OP_BACKUP_REMOVE"}),
        ("PUT", "/2/instances/i1/migrate", {"mode": "live", "cleanup": True},
         {"OP_ID": "OP_INSTANCE_MIGRATE", "mode": "live", "cleanup": True}),
        ("PUT", "/2/instances/i1/failover", {"ignore_consistency": True},
         {"OP_ID": "OP_INSTANCE_FAILOVER", "ignore_consistency": True}),
        ("PUT", "/2/instances/i1/rename", {"new_name": "i2"},
         {"OP_ID": "OP_INSTANCE_RENAME", "new_name": "i2"}),
        ("PUT", "/2/instances/i1/modify", {"custom_beparams": {"maxmem": 256}},
         {"OP_ID": "OP_INSTANCE_SET_PARAMS", "beparams": {"maxmem": 256}}),
        ("POST", "/2/instances/i1/disk/2/grow", {"amount": 1024},
         {"OP_ID": "OP_INSTANCE_GROW_DISK", "disk": 2, "amount": 1024}),
    ]
    for (method, uri, body, expected) in cases:
        Run(method, uri, body, client=client)
        op = client.Op()
        name_key = "instances" if "instances" in op else "instance_name"
        assert op.pop(name_key) in ("i1", ["i1"]), uri
        assert op == expected, uri


def test_instance_reinstall_body_and_legacy_query():
    client = FakeLuxi()
    Run("POST", "/2/instances/i1/reinstall", {"os": "noop", "osparams": {"a": 1}},
        client=client)
    assert [op["OP_ID"] for op in client.jobs[-1]] == [
        "OP_INSTANCE_SHUTDOWN", "OP_INSTANCE_REINSTALL", "OP_INSTANCE_STARTUP"]
    reinstall = client.Op(index=1)
    assert (reinstall["os_type"], reinstall["osparams"]) == ("noop", {"a": 1})
    assert all(op["reason"][-1][0] ==
               "gnt:library:rlib2:instances_name_reinstall"
               for op in client.jobs[-1])
    Run("POST", "/2/instances/i1/reinstall?os=debian&nostartup=1", client=client)
    assert [op["OP_ID"] for op in client.jobs[-1]] == [
        "OP_INSTANCE_SHUTDOWN", "OP_INSTANCE_REINSTALL"]
    assert client.Op(index=1)["os_type"] == "debian"
    with pytest.raises(http.HttpBadRequest, match="Can't combine"):
        Run("POST", "/2/instances/i1/reinstall?os=x", {"os": "y"}, client=client)
    with pytest.raises(http.HttpBadRequest, match="'start' parameter"):
        Run("POST", "/2/instances/i1/reinstall", {"start": "no"}, client=client)


def test_instance_replace_disks():
    client = FakeLuxi()
    Run("POST", "/2/instances/i1/replace-disks",
        {"mode": "replace_on_primary", "disks": "0, 2"}, client=client)
    assert client.Op() == {"OP_ID": "OP_INSTANCE_REPLACE_DISKS",
                           "instance_name": "i1", "mode": "replace_on_primary",
                           "disks": [0, 2]}
    Run("POST", "/2/instances/i1/replace-disks?mode=replace_auto&disks=1"
        "&early_release=1", client=client)
    assert client.Op()["disks"] == [1] and client.Op()["early_release"] is True
    with pytest.raises(http.HttpBadRequest, match="Invalid disk index"):
        Run("POST", "/2/instances/i1/replace-disks",
            {"mode": "replace_auto", "disks": "a,b"}, client=client)


def test_instance_console():
    console = {"instance": "i1", "kind": "vnc", "host": "n1", "port": 5901}
    client = FakeLuxi(QueryInstances=[[console, True]])
    assert Run("GET", "/2/instances/i1/console", client=client) == console
    assert client.calls[-1][1] == (["i1"], ["console", "oper_state"], False)
    client = FakeLuxi(QueryInstances=[[None, False]])
    with pytest.raises(http.HttpServiceUnavailable, match="console unavailable"):
        Run("GET", "/2/instances/i1/console", client=client)


# --- groups and networks -----------------------------------------------------------


def test_groups():
    client = FakeLuxi(QueryGroups=lambda names, fields, lock: (
        [["g2"], ["default"]] if fields == ["name"] else [list(fields)]))
    assert Run("GET", "/2/groups", client=client) == [
        {"name": "default", "uri": "/2/groups/default"},
        {"name": "g2", "uri": "/2/groups/g2"}]
    assert list(Run("GET", "/2/groups?bulk=1", client=client)[0]) == rlib2.G_FIELDS
    assert list(Run("GET", "/2/groups/g2", client=client)) == rlib2.G_FIELDS
    Run("POST", "/2/groups?dry-run=1", {"name": "g3", "alloc_policy": None},
        client=client)
    assert client.Op() == {"OP_ID": "OP_GROUP_ADD", "group_name": "g3",
                           "alloc_policy": None, "dry_run": True}
    Run("PUT", "/2/groups/g3/modify", {"custom_ndparams": {"ssh_port": 2222}},
        client=client)
    assert client.Op() == {"OP_ID": "OP_GROUP_SET_PARAMS", "group_name": "g3",
                           "ndparams": {"ssh_port": 2222}}
    Run("PUT", "/2/groups/g3/rename", {"new_name": "g4"}, client=client)
    assert client.Op()["new_name"] == "g4"
    Run("PUT", "/2/groups/g3/assign-nodes?force=1", {"nodes": ["n1"]},
        client=client)
    assert client.Op() == {"OP_ID": "OP_GROUP_ASSIGN_NODES", "group_name": "g3",
                           "nodes": ["n1"], "force": True, "dry_run": False}
    Run("DELETE", "/2/groups/g3", client=client)
    assert client.Op() == {"OP_ID": "OP_GROUP_REMOVE", "group_name": "g3",
                           "dry_run": False}


def test_networks():
    client = FakeLuxi(QueryNetworks=lambda names, fields, lock: (
        [["net1"]] if fields == ["name"] else [list(fields)]))
    assert Run("GET", "/2/networks", client=client) == [
        {"name": "net1", "uri": "/2/networks/net1"}]
    assert list(Run("GET", "/2/networks/net1", client=client)) == rlib2.NET_FIELDS
    Run("POST", "/2/networks", {"name": "net2", "network": "192.0.2.0/24"},
        client=client)
    assert client.Op() == {"OP_ID": "OP_NETWORK_ADD", "network_name": "net2",
                           "network": "192.0.2.0/24", "dry_run": False}
    Run("PUT", "/2/networks/net2/connect",
        {"group_name": "default", "network_mode": "bridged",
         "network_link": "br0"}, client=client)
    assert client.Op()["OP_ID"] == "OP_NETWORK_CONNECT"
    Run("PUT", "/2/networks/net2/disconnect", {"group_name": "default"},
        client=client)
    assert client.Op()["OP_ID"] == "OP_NETWORK_DISCONNECT"
    Run("PUT", "/2/networks/net2/modify", {"gateway": "192.0.2.1"}, client=client)
    assert client.Op()["gateway"] == "192.0.2.1"
    Run("PUT", "/2/networks/net2/rename", {"new_name": "net3"}, client=client)
    assert client.Op()["OP_ID"] == "OP_NETWORK_RENAME"
    Run("DELETE", "/2/networks/net2?dry-run=1", client=client)
    assert client.Op() == {"OP_ID": "OP_NETWORK_REMOVE", "network_name": "net2",
                           "dry_run": True}
