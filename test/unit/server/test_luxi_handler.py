"""The LUXI methods of masterd, over a real configuration and lock manager
and a scripted job queue and RPC runner."""

import json

import pytest

from ganeti import config, errors, locking, luxi, objects
from ganeti.rpc.client import RpcResult
from ganeti.server.luxi_handler import LuxiHandler

SAMPLE_CLUSTER_INFO = "/work/shared/spec/samples/luxi-cluster-info.txt"


class _Queue:
    """Records calls; answers with what the test put into `answers`."""

    def __init__(self):
        self.calls = []
        self.answers = {}
        self.drained = False

    def __getattr__(self, name):
        def _Call(*args):
            self.calls.append((name, args))
            answer = self.answers.get(name)
            return answer(*args) if callable(answer) else answer
        return _Call

    def SetDrainFlag(self, flag):
        self.calls.append(("SetDrainFlag", (flag,)))
        self.drained = flag
        return True

    def IsDrained(self):
        return self.drained


class _Runner:
    """node_info answers per node name: a payload or an error message."""

    def __init__(self, node_info):
        self.node_info = node_info
        self.calls = []

    def call_node_info(self, nodes, storage_units, hv_specs):
        self.calls.append((list(nodes), storage_units, hv_specs))
        return {node: (RpcResult(fail_msg=self.node_info[node], node=node)
                       if isinstance(self.node_info[node], str)
                       else RpcResult(data=[True, self.node_info[node]]))
                for node in nodes}


class _Distributor:
    def __init__(self):
        self.paused = []

    def SetWatcherPause(self, until):
        self.paused.append(until)


class _Context:
    def __init__(self, cfg, runner):
        self.cfg = cfg
        self.glm = locking.GanetiLockManager(cfg.GetNodeList(),
                                             cfg.GetNodeGroupList(), [], [])
        self.jobqueue = _Queue()
        self.distributor = _Distributor()
        self._runner = runner

    def GetRpc(self, cfg):
        assert cfg is self.cfg
        return self._runner


_LIVE = ["boot-1", [{"type": "file", "name": "/srv", "storage_size": 1000,
                     "storage_free": 600}],
         [{"memory_total": 4096, "memory_free": 2048, "memory_dom0": 512,
           "cpu_total": 4}]]


@pytest.fixture
def handler(tmp_path):
    data = config.MakeMinimalConfig("cluster.example.com", "node1.example.com",
                                    "192.0.2.1")
    group = next(iter(data.nodegroups))
    for name, ip, offline in (("node2.example.com", "192.0.2.2", False),
                              ("node3.example.com", "192.0.2.3", True)):
        node = objects.Node(name=name, primary_ip=ip, offline=offline, group=group,
                            uuid=f"uuid-{name.split('.')[0]}", tags=["rack1"])
        node.UpgradeConfig()
        data.nodes[node.uuid] = node
    cfg = config.ConfigWriter(str(tmp_path / "config.data"), offline=True,
                              _data=data)
    runner = _Runner({"node1.example.com": _LIVE,
                      "node2.example.com": "Connection refused"})
    ctx = _Context(cfg, runner)
    return LuxiHandler(ctx, _time_fn=lambda: 1000.0, _arch=["64bits", "x86_64"])


def _QueueOf(handler):
    return handler._context.jobqueue


# --- dispatch ----------------------------------------------------------------


def test_every_luxi_method_is_implemented(handler):
    for method in luxi.REQ_ALL:
        assert callable(getattr(handler, method)), method


@pytest.mark.parametrize("method, args", [
    ("QueryClusterInfo", [1]), ("SubmitJob", []), ("CancelJob", [1, False, 3]),
    ("Query", ["node", ["name"]]), ("NoSuchMethod", []),
])
def test_wrong_method_or_argument_count_is_a_luxi_error(handler, method, args):
    with pytest.raises(errors.LuxiError):
        handler(method, args)


# --- jobs --------------------------------------------------------------------


def test_submit_job_passes_the_opcodes_and_returns_the_id(handler):
    queue = _QueueOf(handler)
    queue.answers["SubmitJob"] = 17
    ops = [{"OP_ID": "OP_TEST_DELAY", "duration": 1.0}]
    assert handler("SubmitJob", [ops]) == 17
    assert queue.calls == [("SubmitJob", (ops,))]
    with pytest.raises(errors.LuxiError, match="list of opcodes"):
        handler("SubmitJob", ["OP_TEST_DELAY"])


def test_submit_many_jobs_answers_lists(handler):
    queue = _QueueOf(handler)
    queue.answers["SubmitManyJobs"] = [(True, 1), (False, "bad opcode")]
    result = handler("SubmitManyJobs", [[[{"OP_ID": "OP_TEST_DELAY"}], [{}]]])
    assert result == [[True, 1], [False, "bad opcode"]]


def test_wait_for_job_change_caps_the_timeout_at_89_seconds(handler):
    queue = _QueueOf(handler)
    queue.answers["WaitForJobChanges"] = (["running"], [])
    result = handler("WaitForJobChange", [5, ["status"], ["queued"], None, 600])
    assert result == [["running"], []]
    assert queue.calls == [("WaitForJobChanges", (5, ["status"], ["queued"],
                                                  None, 89))]


def test_wait_for_unknown_job_raises_job_lost(handler):
    _QueueOf(handler).answers["WaitForJobChanges"] = None
    with pytest.raises(errors.JobLost, match="Job 99 not found"):
        handler("WaitForJobChange", [99, ["status"], None, None, 10])


def test_cancel_job_accepts_the_old_single_argument_form(handler):
    queue = _QueueOf(handler)
    queue.answers["CancelJob"] = (True, "Dequeued job 4")
    assert handler("CancelJob", ["4"]) == [True, "Dequeued job 4"]
    assert handler("CancelJob", [4, True]) == [True, "Dequeued job 4"]
    assert [args for _, args in queue.calls] == [(4, False), (4, True)]
    with pytest.raises(errors.LuxiError, match="job id"):
        handler("CancelJob", ["four"])


def test_job_methods_return_the_queue_answers(handler):
    queue = _QueueOf(handler)
    queue.answers.update(ChangeJobPriority=(False, "Job 3 has finished"),
                         ArchiveJob=True, AutoArchiveJobs=(2, 0),
                         QueryJobs=[["success"], None])
    assert handler("ChangeJobPriority", [3, 10]) == [False, "Job 3 has finished"]
    assert handler("ArchiveJob", [3]) is True
    assert handler("AutoArchiveJobs", [-1, 89]) == [2, 0]
    assert handler("QueryJobs", [[3, "4"], ["status"]]) == [["success"], None]
    assert queue.calls[-1] == ("QueryJobs", ([3, 4], ["status"]))


def test_pickup_job_is_internal(handler):
    with pytest.raises(errors.GenericError, match="internal use only"):
        handler("PickupJob", [1])


def test_drain_flag_is_set_in_the_queue_and_reported(handler):
    assert handler("QueryConfigValues", [["drain_flag"]]) == [False]
    assert handler("SetDrainFlag", [True]) is True
    assert handler("QueryConfigValues", [["drain_flag"]]) == [True]


# --- queries -----------------------------------------------------------------


def test_node_query_collects_live_data_from_online_nodes(handler):
    result = handler("Query", ["node", ["name", "role", "dfree", "mtotal",
                                        "offline"], None])
    assert [f["name"] for f in result["fields"]] == ["name", "role", "dfree",
                                                     "mtotal", "offline"]
    assert result["data"] == [
        [[0, "node1.example.com"], [0, "M"], [0, 600], [0, 4096], [0, False]],
        [[0, "node2.example.com"], [0, "R"], [2, None], [2, None], [0, False]],
        [[0, "node3.example.com"], [0, "O"], [4, None], [4, None], [0, True]],
    ]
    runner = handler._context._runner
    assert runner.calls[0][0] == ["node1.example.com", "node2.example.com"]


def test_node_query_without_live_fields_contacts_no_node(handler):
    handler("Query", ["node", ["name", "pip"], None])
    assert handler._context._runner.calls == []


def test_node_query_by_name_refuses_unknown_nodes(handler):
    qfilter = ["|", ["=", "name", "node2.example.com"], ["=", "name", "nosuch"]]
    with pytest.raises(errors.OpPrereqError) as err:
        handler("Query", ["node", ["name"], qfilter])
    assert err.value.args == ("Node name nosuch not found", "unknown_entity")


def test_classic_node_query_keeps_the_order_of_the_names(handler):
    rows = handler("QueryNodes", [["node3", "uuid-node2"], ["name", "tags"], False])
    assert rows == [["node3.example.com", ["rack1"]],
                    ["node2.example.com", ["rack1"]]]
    with pytest.raises(errors.OpPrereqError, match="Unknown output fields"):
        handler("QueryNodes", [[], ["name", "nosuchfield"], False])


@pytest.mark.parametrize("method", ["QueryNodes", "QueryInstances", "QueryGroups",
                                    "QueryNetworks"])
def test_sync_classic_queries_are_refused(handler, method):
    with pytest.raises(errors.OpPrereqError) as err:
        handler(method, [[], ["name"], True])
    assert err.value.args == ("Sync queries are not allowed", "wrong_input")


@pytest.mark.parametrize("what, message", [
    ("network", "not supported yet"), ("export", "not supported yet"),
    ("cluster", "OP_QUERY"), ("nosuch", "Resource type 'nosuch' unknown"),
])
def test_unserved_resources_are_refused_clearly(handler, what, message):
    for method, args in (("Query", [what, ["name"], None]),
                         ("QueryFields", [what, None])):
        with pytest.raises(errors.OpPrereqError, match=message) as err:
            handler(method, args)
        assert err.value.args[1] == "wrong_input"


def test_job_query_goes_to_the_queue(handler):
    queue = _QueueOf(handler)
    queue.answers["QueryJobsNew"] = {"fields": [], "data": []}
    assert handler("Query", ["job", ["id"], ["=", "id", 1]]) == \
        {"fields": [], "data": []}
    assert queue.calls == [("QueryJobsNew", (["id"], ["=", "id", 1]))]


def test_lock_query_lists_the_lock_manager_locks(handler):
    result = handler("Query", ["lock", ["name", "mode"], None])
    names = [row[0][1] for row in result["data"]]
    assert "cluster/BGL" in names and "node/uuid-node2" in names
    assert all(row[1] == [0, None] for row in result["data"])


def test_query_fields_lists_definitions(handler):
    fields = handler("QueryFields", ["lock", None])["fields"]
    assert [f["name"] for f in fields] == ["mode", "name", "owner", "pending"]
    fields = handler("QueryFields", ["node", ["name", "nosuch"]])["fields"]
    assert fields[1]["kind"] == "unknown"


# --- cluster, configuration, tags --------------------------------------------


def _SampleClusterInfo():
    with open(SAMPLE_CLUSTER_INFO, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith('{"success":true'):
                return json.loads(line)["result"]
    raise AssertionError("no reply in the sample")


def test_cluster_info_has_exactly_the_keys_and_types_of_luxid(handler):
    info = handler("QueryClusterInfo", [])
    sample = _SampleClusterInfo()
    assert list(info) == list(sample)
    wrong = {key: (info[key], sample[key]) for key in sample
             if sample[key] is not None and type(info[key]) is not type(sample[key])}
    assert wrong == {}
    assert info["master"] == "node1.example.com"
    assert info["architecture"] == ["64bits", "x86_64"]
    assert info["protocol_version"] == 3000000
    json.dumps(info)


def test_config_values_answer_in_order_with_null_for_unknown(handler):
    values = handler("QueryConfigValues", [["master_node", "nosuch", "cluster_name",
                                            "watcher_pause", "ssh_key_type"]])
    assert values == ["node1.example.com", None, "cluster.example.com", None,
                      "rsa"]


def test_tags_of_cluster_and_objects(handler):
    assert handler("QueryTags", ["cluster", ""]) == []
    assert handler("QueryTags", ["node", "node2"]) == ["rack1"]
    assert handler("QueryTags", ["node", "uuid-node3"]) == ["rack1"]
    with pytest.raises(errors.OpPrereqError) as err:
        handler("QueryTags", ["node", "nosuch"])
    assert err.value.args == ("Node name nosuch not found", "unknown_entity")
    with pytest.raises(errors.OpPrereqError, match="Invalid tag kind"):
        handler("QueryTags", ["disk", "x"])


def test_watcher_pause_goes_through_the_distributor(handler):
    assert handler("SetWatcherPause", [2000.5]) == 2000.5
    assert handler("SetWatcherPause", [None]) is None
    assert handler._context.distributor.paused == [2000.5, None]


# --- job filters -------------------------------------------------------------


def test_filters_are_added_replaced_and_deleted_in_the_config(handler, tmp_path):
    uuid = handler("ReplaceFilter", [None, 10, [["jobid", [">", "id", 5]]],
                                     "REJECT", [["user", "maintenance", 1]]])
    rows = handler("QueryFilters", [None, ["uuid", "priority", "action",
                                           "reason_trail"]])
    assert rows == [[uuid, 10, "REJECT", [["user", "maintenance", 1],
                                          ["luxid", "", 1000 * 10**9]]]]
    saved = json.loads((tmp_path / "config.data").read_text())["filters"]
    assert saved[uuid]["action"] == "REJECT"
    assert handler("ReplaceFilter", [uuid, 0, [], ["RATE_LIMIT", 2], []]) == uuid
    assert handler("Query", ["filter", ["action"], None])["data"] == \
        [[[0, ["RATE_LIMIT", 2]]]]
    assert handler("DeleteFilter", [uuid]) is None
    assert handler("QueryFilters", [None, ["uuid"]]) == []
    with pytest.raises(errors.GenericError, match="does not exist"):
        handler("DeleteFilter", [uuid])


@pytest.mark.parametrize("args, message", [
    (["not-a-uuid", 0, [], "ACCEPT", []], "Unable to parse UUID"),
    ([None, -1, [], "ACCEPT", []], "priority"),
    ([None, 0, [["nosuch", []]], "ACCEPT", []], "predicates"),
    ([None, 0, [], "DESTROY", []], "action"),
])
def test_bad_filter_rules_are_refused(handler, args, message):
    with pytest.raises(errors.GenericError, match=message):
        handler("ReplaceFilter", args)
    assert handler("QueryFilters", [None, ["uuid"]]) == []
