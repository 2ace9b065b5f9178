"""Tests for ganeti.query: field tables, the filter compiler, the engine."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ganeti import errors, query, serializer
from ganeti.query import (
    RS_NODATA,
    RS_NORMAL,
    RS_OFFLINE,
    RS_UNAVAIL,
    RS_UNKNOWN,
)

# --- a small field table of our own to test the engine and the filter ---------

_ITEMS = [
    {"name": "node10.example.com", "mem": 512, "up": True, "tags": ["a", "b"],
     "ratio": 0.5, "ts": [100, 5], "live": 7},
    {"name": "node2.example.com", "mem": 128, "up": False, "tags": [],
     "ratio": 1.5, "ts": [200, 0], "live": None},
    {"name": "node1.example.com", "mem": 256, "up": True, "tags": ["b"],
     "ratio": 2.0, "ts": [300, 9], "live": 3},
]


def _Live(_ctx, item):
    return query._FS_NODATA if item["live"] is None else item["live"]


def _Key(key):
    return lambda _ctx, item: item[key]


def _Resolve(name):
    # parameterised fields "tag/N": the N-th tag, unavailable when missing
    prefix, _, index = name.partition("/")
    if prefix != "tag" or not index.isdigit():
        return None
    idx = int(index)

    def _Getter(_ctx, item):
        tags = item["tags"]
        return tags[idx] if idx < len(tags) else query._FS_UNAVAIL

    return query.FieldDef(query._MakeField(name, f"Tag/{idx}", query.QFT_TEXT,
                                           f"Tag number {idx}"),
                          None, 0, _Getter)


_TEST_FIELDS = query._PrepareFieldList([
    query.FieldDef(query._MakeField("name", "Name", query.QFT_TEXT, "Item name"),
                   1, query.QFF_HOSTNAME, _Key("name")),
    query.FieldDef(query._MakeField("mem", "Memory", query.QFT_UNIT, "Memory"),
                   2, 0, _Key("mem")),
    query.FieldDef(query._MakeField("up", "Up", query.QFT_BOOL, "Whether up"),
                   2, 0, _Key("up")),
    query.FieldDef(query._MakeField("tags", "Tags", query.QFT_OTHER, "Tags"),
                   None, 0, _Key("tags")),
    query.FieldDef(query._MakeField("ratio", "Ratio", query.QFT_NUMBER_FLOAT,
                                    "Ratio"), None, 0, _Key("ratio")),
    query.FieldDef(query._MakeField("ts", "Stamp", query.QFT_OTHER, "Stamp"),
                   None, query.QFF_SPLIT_TIMESTAMP, _Key("ts")),
    query.FieldDef(query._MakeField("live", "Live", query.QFT_NUMBER,
                                    "Live value"), 3, 0, _Live),
], [("memory", "mem")], resolver=_Resolve)


def _Names(qfilter, items=_ITEMS):
    qry = query.Query(_TEST_FIELDS, ["name"], qfilter)
    return [row[0][1].split(".")[0] for row in qry.Query(items)]


# --- field tables -------------------------------------------------------------

@pytest.mark.parametrize("table", [query.JOB_FIELDS, query.LOCK_FIELDS,
                                   query.NODE_FIELDS, _TEST_FIELDS])
def test_field_tables_follow_the_naming_rules(table):
    for name, fdef in table.items():
        assert fdef.definition.name == name
        assert query.CheckFieldDefinition(fdef) == []


def test_prepare_field_list_rejects_bad_rows():
    good = query.FieldDef(query._MakeField("a", "A", query.QFT_TEXT, "Doc"),
                          None, 0, _Key("a"))
    bad_rows = [
        [good, good],
        [good, good._replace(definition=query._MakeField(
            "b", "a", query.QFT_TEXT, "Doc"))],
        [good._replace(definition=query._MakeField("A", "A", query.QFT_TEXT,
                                                   "Doc"))],
        [good._replace(definition=query._MakeField("a", "A b", query.QFT_TEXT,
                                                   "Doc"))],
        [good._replace(definition=query._MakeField("a", "A", query.QFT_TEXT,
                                                   "doc"))],
        [good._replace(definition=query._MakeField("a", "A", query.QFT_TEXT,
                                                   "Doc."))],
        [good._replace(definition=query._MakeField("a", "A", "weird", "Doc"))],
        [good._replace(flags=0x1000)],
    ]
    for rows in bad_rows:
        with pytest.raises(errors.ProgrammerError, match="Invalid field list"):
            query._PrepareFieldList(rows, [])
    for aliases in [[("a", "a")], [("x", "missing")]]:
        with pytest.raises(errors.ProgrammerError, match="invalid alias"):
            query._PrepareFieldList([good], aliases)


def test_aliases_copy_the_target_under_a_new_name():
    alias = _TEST_FIELDS["memory"]
    assert alias.definition == query.QueryFieldDefinition(
        "memory", "Memory", query.QFT_UNIT, "Memory")
    rows = query.Query(_TEST_FIELDS, ["memory"]).Query(_ITEMS)
    assert rows == [[[0, 256]], [[0, 128]], [[0, 512]]]


def test_field_definition_dict_round_trip():
    fdef = query.QueryFieldDefinition("id", "ID", "number", "Job ID")
    assert fdef.ToDict() == {"name": "id", "title": "ID", "kind": "number",
                             "doc": "Job ID"}
    assert query.QueryFieldDefinition.FromDict(fdef.ToDict()) == fdef
    with pytest.raises(errors.ParameterError):
        query.QueryFieldDefinition.FromDict({"name": "id"})


# --- Query: rows, sorting, unknown fields -------------------------------------

def test_rows_are_nicely_sorted_by_name():
    qry = query.Query(_TEST_FIELDS, ["name", "mem", "live"])
    assert qry.Query(_ITEMS) == [
        [[RS_NORMAL, "node1.example.com"], [RS_NORMAL, 256], [RS_NORMAL, 3]],
        [[RS_NORMAL, "node2.example.com"], [RS_NORMAL, 128], [RS_NODATA, None]],
        [[RS_NORMAL, "node10.example.com"], [RS_NORMAL, 512], [RS_NORMAL, 7]],
    ]


def test_rows_keep_input_order_without_sorting():
    qry = query.Query(_TEST_FIELDS, ["mem"])
    assert qry.Query(_ITEMS, sort_by_name=False) == [[[0, 512]], [[0, 128]],
                                                     [[0, 256]]]
    qry = query.Query(_TEST_FIELDS, ["mem"], namefield=None)
    assert qry.Query(_ITEMS) == [[[0, 512]], [[0, 128]], [[0, 256]]]


def test_unknown_fields_are_reported_not_refused():
    qry = query.Query(_TEST_FIELDS, ["name", "nosuchfield"])
    assert qry.GetFields()[1].ToDict() == {
        "name": "nosuchfield", "title": "nosuchfield", "kind": "unknown",
        "doc": "Unknown field 'nosuchfield'"}
    assert [row[1] for row in qry.Query(_ITEMS)] == [[RS_UNKNOWN, None]] * 3


def test_old_style_query():
    qry = query.Query(_TEST_FIELDS, ["name", "live"])
    assert qry.OldStyleQuery(_ITEMS) == [
        ["node1.example.com", 3], ["node2.example.com", None],
        ["node10.example.com", 7]]
    qry = query.Query(_TEST_FIELDS, ["name", "foo", "bar"])
    with pytest.raises(errors.OpPrereqError) as info:
        qry.OldStyleQuery(_ITEMS)
    assert info.value.args == ("Unknown output fields selected: foo, bar",
                               errors.ECODE_INVAL)


def test_resolver_fields_are_selectable_and_filterable():
    qry = query.Query(_TEST_FIELDS, ["tag/1", "tag/x"])
    assert [fdef.kind for fdef in qry.GetFields()] == ["text", "unknown"]
    assert [row[0] for row in qry.Query(_ITEMS)] == [
        [RS_UNAVAIL, None], [RS_UNAVAIL, None], [RS_NORMAL, "b"]]
    # node2 has no tag 0: unavailable data lets it through
    assert _Names(["==", "tag/0", "b"]) == ["node1", "node2"]
    assert _Names(["==", "tag/0", "a"]) == ["node2", "node10"]


def test_requested_data_includes_the_filter():
    assert query.Query(_TEST_FIELDS, ["name"]).RequestedData() == {1}
    qry = query.Query(_TEST_FIELDS, ["name", "tags"], ["?", "live"])
    assert qry.RequestedData() == {1, 3}
    assert query.Query(_TEST_FIELDS, ["foo"]).RequestedData() == frozenset()


@pytest.mark.parametrize("qfilter,names", [
    (None, None),
    (["|", ["==", "name", "a"], ["=", "name", "b"], ["==", "name", "a"]],
     ["a", "b"]),
    (["==", "name", "x"], ["x"]),
    (["|", ["|", ["==", "name", "a"]], ["==", "name", "b"]], ["a", "b"]),
    (["|"], None),
    (["&", ["==", "name", "a"]], None),
    (["|", ["==", "name", "a"], ["==", "mem", 1]], None),
    (["|", ["=~", "name", "a"]], None),
    (["!", ["==", "name", "a"]], None),
])
def test_requested_names(qfilter, names):
    assert query.Query(_TEST_FIELDS, ["mem"], qfilter).RequestedNames() == names


def test_query_needs_a_known_namefield_and_a_field_list():
    with pytest.raises(errors.ProgrammerError):
        query.Query(_TEST_FIELDS, ["mem"], namefield="nope")
    with pytest.raises(errors.ParameterError):
        query.Query(_TEST_FIELDS, "name,mem")


def test_query_fields():
    result = query.QueryFields(_TEST_FIELDS, ["up", "zzz"])
    assert [f["name"] for f in result["fields"]] == ["up", "zzz"]
    assert result["fields"][1]["kind"] == "unknown"
    for selected in [None, []]:
        names = [f["name"] for f in query.QueryFields(_TEST_FIELDS,
                                                      selected)["fields"]]
        assert names == sorted(_TEST_FIELDS)


def test_get_query_response_shape():
    qry = query.Query(_TEST_FIELDS, ["name", "up"], ["==", "mem", 128])
    result = query.GetQueryResponse(qry, _ITEMS)
    assert serializer.DumpJson(result, compact=True) == (
        '{"fields":[{"name":"name","title":"Name","kind":"text",'
        '"doc":"Item name"},{"name":"up","title":"Up","kind":"bool",'
        '"doc":"Whether up"}],"data":[[[0,"node2.example.com"],[0,false]]]}')


# --- the filter: semantics ----------------------------------------------------

@pytest.mark.parametrize("qfilter,names", [
    (["|"], []),
    (["&"], ["node1", "node2", "node10"]),
    (["?", "up"], ["node1", "node10"]),
    (["?", "tags"], ["node1", "node10"]),
    (["!", ["?", "up"]], ["node2"]),
    (["==", "mem", 256], ["node1"]),
    (["=", "mem", 256], ["node1"]),
    (["!=", "mem", 256], ["node2", "node10"]),
    (["<", "mem", 256], ["node2"]),
    (["<=", "mem", 256], ["node1", "node2"]),
    ([">", "mem", 256], ["node10"]),
    ([">=", "mem", 256], ["node1", "node10"]),
    ([">", "ratio", 1], ["node1", "node2"]),
    (["==", "up", False], ["node2"]),
    (["<", "name", "node2"], ["node1", "node10"]),
    (["=~", "name", "^node1"], ["node1", "node10"]),
    (["=~", "name", "(?i)NODE2"], ["node2"]),
    (["=~", "name", "1\\."], ["node1"]),
    (["=[]", "tags", "b"], ["node1", "node10"]),
    (["!", ["=[]", "tags", "a"]], ["node1", "node2"]),
    (["==", "tags", "b"], []),
    (["|", ["==", "mem", 128], ["==", "mem", 512]], ["node2", "node10"]),
    (["&", ["?", "up"], [">", "mem", 300]], ["node10"]),
    # hostname fields match a leading part of the name
    (["==", "name", "node1"], ["node1"]),
    (["==", "name", "node1.example"], ["node1"]),
    (["==", "name", "node1.exam"], []),
    (["==", "name", "node1.example.com"], ["node1"]),
    # split timestamps compare their seconds
    ([">", "ts", 150], ["node1", "node2"]),
    (["==", "ts", 100], ["node10"]),
    # a condition on unavailable data lets the item through; "!=" is "not =="
    (["==", "live", 3], ["node1", "node2"]),
    ([">", "live", 100], ["node2"]),
    (["?", "live"], ["node1", "node2", "node10"]),
    (["!=", "live", 3], ["node10"]),
])
def test_filter_semantics(qfilter, names):
    assert _Names(qfilter) == names


def test_filter_ordering_between_types_is_an_error():
    items = [dict(_ITEMS[0], tags="x")]
    qry = query.Query(_TEST_FIELDS, ["name"], ["<", "tags", 5])
    with pytest.raises(errors.ParameterError, match="Invalid types in comparison"):
        qry.Query(items)


# --- the filter: validation ---------------------------------------------------

@pytest.mark.parametrize("qfilter,message", [
    (["==", "nosuchfield", 1], "Can't find field named 'nosuchfield'"),
    (["?", "nosuchfield"], "Can't find field named 'nosuchfield'"),
    (["=~", "tag/x", "a"], "Can't find field named 'tag/x'"),
    (["~~", "name", 1], "Unknown operator '~~'"),
    ([1, "name"], "Unknown operator 1"),
    ([], "Invalid filter on level 0"),
    ("name", "Invalid filter on level 0"),
    (["&", "name"], "Invalid filter on level 1"),
    (["!"], "Unary operator '!' expects exactly one operand"),
    (["?", "up", "mem"], "Unary operator '?' expects exactly one operand"),
    (["==", "mem"], "Invalid binary operator '==', expected exactly two operands"),
    (["<", "mem", 1, 2], "Invalid binary operator '<', expected exactly two"),
    (["?", 5], "Invalid field name 5"),
    (["==", "mem", "big"],
     "Unable to compare field 'mem' (type 'unit') with 'str', expected an"
     " integer"),
    (["==", "mem", True], "Unable to compare field 'mem' (type 'unit')"),
    (["==", "name", 1], "Unable to compare field 'name' (type 'text') with 'int'"),
    (["==", "up", 1], "Unable to compare field 'up' (type 'bool') with 'int'"),
    (["==", "tags", ["a"]], "(type 'other') with 'list'"),
    (["==", "ts", "x"], "Unable to compare field 'ts'"),
    (["=~", "mem", "1"], "Unable to compare field 'mem' (type 'unit')"),
    (["=~", "name", 1], "with 'int', expected a string"),
    (["=~", "name", "(abc"], "Invalid regex pattern (missing ), unterminated"),
])
def test_filter_validation_errors(qfilter, message):
    with pytest.raises(errors.ParameterError) as info:
        query.Query(_TEST_FIELDS, ["name"], qfilter)
    assert message in info.value.args[0]
    assert len(info.value.args) == 1


def test_filter_nesting_is_limited():
    qfilter = ["?", "up"]
    for _ in range(9):
        qfilter = ["!", qfilter]
    assert _Names(qfilter) == ["node2"]
    with pytest.raises(errors.ParameterError,
                       match="Only up to 10 levels are allowed"):
        query.Query(_TEST_FIELDS, ["name"], ["!", qfilter])


def test_filter_error_matches_luxid_on_the_wire():
    # samples/luxi-query-filter-error.txt
    with pytest.raises(errors.ParameterError) as info:
        query.Query(query.NODE_FIELDS, ["name"], ["==", "nosuchfield", 1])
    encoded = serializer.DumpJson(errors.EncodeException(info.value), compact=True)
    assert encoded == '["ParameterError",["Can\'t find field named \'nosuchfield\'"]]'


# --- jobs -----------------------------------------------------------------------

class _FakeOpCode:
    def __init__(self, op_id, summary):
        self._op_id, self._summary = op_id, summary

    def ToDict(self):
        return {"OP_ID": self._op_id}

    def Summary(self):
        return self._summary


class _FakeJob:
    """Implements the job protocol documented in ganeti.query.job."""

    def __init__(self, status, ops, received=(1795236201, 990657), archived=False):
        self._status = status
        self.ops = ops
        self.received_timestamp = list(received) if received else None
        self.start_timestamp = [1795236202, 130021]
        self.end_timestamp = None
        self.archived = archived

    def CalcStatus(self):
        return self._status

    def CalcPriority(self):
        return min(op.priority for op in self.ops)


def _Op(summary, op_id="OP_TEST_DELAY", status="success", priority=0):
    return SimpleNamespace(
        input=_FakeOpCode(op_id, summary), status=status, result=None,
        log=[(1, [1795236202, 5], "message", "hello")], priority=priority,
        start_timestamp=[1795236202, 1], exec_timestamp=None,
        end_timestamp=(1795236203, 2))


_JOBS = [
    (1309, _FakeJob("error", [_Op("TEST_DELAY(0.0)")])),
    (1297, _FakeJob("success", [_Op("INSTANCE_CREATE(sample-a.ganeti.test)",
                                    "OP_INSTANCE_CREATE")])),
    (99, _FakeJob("running", [_Op("A", priority=5), _Op("B", priority=-1)],
                  received=None, archived=True)),
    (1400, None),
]


def test_job_fields_match_luxid_sample():
    # samples/luxi-job-list-o.txt, byte for byte
    fields = query.QueryFields(query.JOB_FIELDS, ["id", "status", "priority",
                                                  "summary", "received_ts"])
    assert serializer.DumpJson(fields["fields"], compact=True) == (
        '[{"name":"id","title":"ID","kind":"number","doc":"Job ID"},'
        '{"name":"status","title":"Status","kind":"text","doc":"Job status"},'
        '{"name":"priority","title":"Priority","kind":"number",'
        '"doc":"Current job priority (19 to -20)"},'
        '{"name":"summary","title":"Summary","kind":"other",'
        '"doc":"List of per-opcode summaries"},'
        '{"name":"received_ts","title":"Received","kind":"other",'
        '"doc":"Timestamp of when job was received (tuple containing seconds'
        ' and microseconds)"}]')


def test_job_list_response_matches_luxid_sample():
    # samples/luxi-job-list.txt: gnt-job list on two of its jobs
    qry = query.Query(query.JOB_FIELDS, ["id", "status", "summary"],
                      namefield="id")
    result = query.GetQueryResponse(qry, _JOBS[:2])
    assert serializer.DumpJson(result, compact=True) == (
        '{"fields":[{"name":"id","title":"ID","kind":"number","doc":"Job ID"},'
        '{"name":"status","title":"Status","kind":"text","doc":"Job status"},'
        '{"name":"summary","title":"Summary","kind":"other",'
        '"doc":"List of per-opcode summaries"}],'
        '"data":[[[0,1297],[0,"success"],'
        '[0,["INSTANCE_CREATE(sample-a.ganeti.test)"]]],'
        '[[0,1309],[0,"error"],[0,["TEST_DELAY(0.0)"]]]]}')


def test_job_rows_sorted_by_numeric_id_and_unavailable_jobs():
    qry = query.Query(query.JOB_FIELDS, ["id", "status", "priority", "archived",
                                         "received_ts"], namefield="id")
    rows = qry.Query(_JOBS)
    assert [row[0][1] for row in rows] == [99, 1297, 1309, 1400]
    assert rows[0][1:] == [[0, "running"], [0, -1], [0, True], [RS_UNAVAIL, None]]
    assert rows[3][1:] == [[RS_UNAVAIL, None]] * 4
    for row in rows:
        assert query._VerifyResultRow(qry._fields, row) == []


def test_job_per_opcode_fields():
    fields = ["ops", "opresult", "opstatus", "oplog", "opstart", "opexec",
              "opend", "oppriority", "summary", "start_ts", "end_ts"]
    qry = query.Query(query.JOB_FIELDS, fields, ["==", "id", 99], namefield="id")
    assert qry.RequestedNames() == [99]
    (row,) = qry.Query(_JOBS)
    assert [value for (_, value) in row] == [
        [{"OP_ID": "OP_TEST_DELAY"}] * 2, [None, None], ["success", "success"],
        [[(1, [1795236202, 5], "message", "hello")]] * 2,
        [[1795236202, 1]] * 2, [None, None], [[1795236203, 2]] * 2, [5, -1],
        ["A", "B"], [1795236202, 130021], None]
    assert row[-1] == [RS_UNAVAIL, None]


def test_job_summary_of_unloadable_opcodes():
    ops = [SimpleNamespace(input={"OP_ID": "OP_CLUSTER_VERIFY"}),
           SimpleNamespace(input={"foo": 1}), SimpleNamespace(input=[1])]
    job = SimpleNamespace(ops=ops)
    getter = query.JOB_FIELDS["summary"].getter
    assert getter(None, (1, job)) == ["CLUSTER_VERIFY", "INVALID_OP", "INVALID_OP"]


def test_job_filters():
    def _Ids(qfilter):
        qry = query.Query(query.JOB_FIELDS, ["id"], qfilter, namefield="id")
        return [row[0][1] for row in qry.Query(_JOBS)]

    assert _Ids(["==", "status", "error"]) == [1309, 1400]
    assert _Ids(["<", "received_ts", 1795236202]) == [99, 1297, 1309, 1400]
    assert _Ids(["==", "received_ts", 1795236201]) == [99, 1297, 1309, 1400]
    assert _Ids([">", "id", 1300]) == [1309, 1400]
    assert _Ids(["?", "archived"]) == [99, 1400]
    assert query.Query(query.JOB_FIELDS, ["id"], ["?", "archived"],
                       namefield="id").RequestedData() == {query.JQ_ARCHIVED}


# --- locks ----------------------------------------------------------------------

def test_lock_fields():
    rows = [("instance/b", None, [], []),
            ("cluster/BGL", "shared", ["job-10", "job-9"],
             [("exclusive", ["job-12", "job-11"])])]
    qry = query.Query(query.LOCK_FIELDS, ["name", "mode", "owner", "pending"])
    assert qry.Query(rows) == [
        [[0, "cluster/BGL"], [0, "shared"], [0, ["job-9", "job-10"]],
         [0, [["exclusive", ["job-11", "job-12"]]]]],
        [[0, "instance/b"], [0, None], [0, []], [0, []]]]
    assert qry.RequestedData() == {query.LQ_MODE, query.LQ_OWNER,
                                   query.LQ_PENDING}
    assert query.LOCK_FIELDS["pending"].definition.doc == "Jobs waiting for the lock"


# --- nodes ----------------------------------------------------------------------

def _Node(name, uuid, **kwargs):
    attrs = dict(name=name, uuid=uuid, primary_ip="192.0.2.1",
                 secondary_ip="198.51.100.1", master_candidate=False,
                 offline=False, drained=False, group="g1", master_capable=True,
                 vm_capable=True, ndparams={}, powered=True, serial_no=3,
                 ctime=1700000000.5, mtime=1700000001.25, tags=["z", "a"])
    attrs.update(kwargs)
    return SimpleNamespace(**attrs)


def _NodeData(live=True):
    nodes = {
        "u1": _Node("node1.ganeti.test", "u1", master_candidate=True),
        "u2": _Node("node2.ganeti.test", "u2", offline=True, ctime=None,
                    ndparams={"oob_program": "/bin/oob"}),
        "u3": _Node("node3.ganeti.test", "u3", drained=True, group="gone"),
        "u4": _Node("node4.ganeti.test", "u4"),
    }
    groups = {"g1": SimpleNamespace(name="default", ndparams={"spindle_count": 2})}
    instances = {
        f"i{n}": SimpleNamespace(name=f"inst{n}.ganeti.test", primary_node="u1")
        for n in (10, 2, 1, 3)}
    instances["i5"] = SimpleNamespace(name="inst5", primary_node="u4")
    live_data = None
    if live:
        live_data = {
            "u1": {"storage_size": 258019, "storage_free": 80385,
                   "memory_total": 24105, "memory_dom0": 334,
                   "memory_free": 22764, "bootid": "b-1", "cpu_total": 2,
                   "spindles_free": None},
            "u2": {"memory_total": 1},
        }
    return query.NodeQueryData(
        nodes=nodes, groups=groups, instances=instances, master_uuid="u1",
        cluster_ndparams={"oob_program": "", "spindle_count": 1, "ssh_port": 22},
        live_data=live_data, inst_secondaries={"i5": ["u1"], "i2": ["u4"]})


def test_node_list_response_matches_luxid_sample():
    # samples/luxi-node-list.txt, byte for byte (one node of the sample)
    fields = ["name", "dtotal", "dfree", "mtotal", "mnode", "mfree", "pinst_cnt",
              "sinst_cnt"]
    full = _NodeData()
    ctx = query.NodeQueryData(
        nodes={"u1": full.nodes["u1"]}, groups=full.groups,
        instances={uuid: inst for (uuid, inst) in full.instances.items()
                   if inst.primary_node == "u1"},
        master_uuid="u1", live_data=full.live_data)
    result = query.GetQueryResponse(query.Query(query.NODE_FIELDS, fields), ctx)
    assert serializer.DumpJson(result, compact=True) == (
        '{"fields":[{"name":"name","title":"Node","kind":"text",'
        '"doc":"Node name"},{"name":"dtotal","title":"DTotal","kind":"unit",'
        '"doc":"Total storage space on storage unit for instance disk'
        ' allocation"},{"name":"dfree","title":"DFree","kind":"unit",'
        '"doc":"Available storage space on storage unit"},{"name":"mtotal",'
        '"title":"MTotal","kind":"unit","doc":"Total amount of memory of'
        ' physical machine"},{"name":"mnode","title":"MNode","kind":"unit",'
        '"doc":"Amount of memory used by node (dom0 for Xen)"},'
        '{"name":"mfree","title":"MFree","kind":"unit","doc":"Memory'
        ' available for instance allocations"},{"name":"pinst_cnt",'
        '"title":"Pinst","kind":"number","doc":"Number of instances with this'
        ' node as primary"},{"name":"sinst_cnt","title":"Sinst",'
        '"kind":"number","doc":"Number of instances with this node as'
        ' secondary"}],"data":[[[0,"node1.ganeti.test"],[0,258019],[0,80385],'
        '[0,24105],[0,334],[0,22764],[0,4],[0,0]]]}')


def test_node_unknown_field_matches_luxid_sample():
    # samples/luxi-query-error.txt
    qry = query.Query(query.NODE_FIELDS, ["name", "nosuchfield"])
    result = query.GetQueryResponse(qry, _NodeData())
    assert serializer.DumpJson(result["fields"][1], compact=True) == (
        '{"name":"nosuchfield","title":"nosuchfield","kind":"unknown",'
        '"doc":"Unknown field \'nosuchfield\'"}')
    assert [row[1] for row in result["data"]] == [[1, None]] * 4


def _NodeRows(fields, live=True, qfilter=None):
    qry = query.Query(query.NODE_FIELDS, ["name"] + fields, qfilter)
    rows = qry.Query(_NodeData(live))
    for row in rows:
        assert query._VerifyResultRow(qry._fields, row) == []
    return {row[0][1].split(".")[0]: row[1:] for row in rows}


def test_node_config_fields():
    rows = _NodeRows(["master", "role", "group", "group.uuid", "pip", "sip",
                      "master_candidate", "drained", "offline", "vm_capable"])
    assert rows["node1"] == [[0, True], [0, "M"], [0, "default"], [0, "g1"],
                             [0, "192.0.2.1"], [0, "198.51.100.1"], [0, True],
                             [0, False], [0, False], [0, True]]
    assert [rows[n][1] for n in ("node2", "node3", "node4")] == [
        [0, "O"], [0, "D"], [0, "R"]]
    assert rows["node3"][2:4] == [[RS_NODATA, None], [0, "gone"]]


def test_node_role_prefers_candidate_and_drained_over_offline():
    node = _Node("n", "x", master_candidate=True, drained=True, offline=True)
    assert query.node._GetNodeRole(node, "m") == "C"
    node.master_candidate = False
    assert query.node._GetNodeRole(node, "m") == "D"


def test_node_instance_fields():
    rows = _NodeRows(["pinst_cnt", "pinst_list", "sinst_cnt", "sinst_list"])
    assert rows["node1"] == [
        [0, 4], [0, ["inst1.ganeti.test", "inst2.ganeti.test",
                     "inst3.ganeti.test", "inst10.ganeti.test"]],
        [0, 1], [0, ["inst5"]]]
    assert rows["node4"] == [[0, 1], [0, ["inst5"]], [0, 1],
                             [0, ["inst2.ganeti.test"]]]
    assert rows["node2"] == [[0, 0], [0, []], [0, 0], [0, []]]


def test_node_secondaries_from_instance_attribute():
    ctx = query.NodeQueryData(
        nodes={}, instances={"i": SimpleNamespace(name="a", primary_node="p",
                                                  secondary_nodes=["s"])})
    assert ctx.node_to_secondary == {"s": ["a"]}
    assert ctx.node_to_primary == {"p": ["a"]}


def test_node_parameters():
    rows = _NodeRows(["ndparams", "custom_ndparams", "ndp/spindle_count",
                      "ndp/ssh_port", "ndp/ovs", "powered"])
    assert rows["node1"] == [
        [0, {"oob_program": "", "spindle_count": 2, "ssh_port": 22}], [0, {}],
        [0, 2], [0, 22], [RS_NODATA, None], [RS_UNAVAIL, None]]
    assert rows["node2"][1] == [0, {"oob_program": "/bin/oob"}]
    assert rows["node2"][5] == [0, True]
    assert rows["node3"] == [[RS_NODATA, None], [0, {}]] + [[RS_NODATA, None]] * 4


def test_node_parameter_fields_definitions():
    assert query.NODE_FIELDS["ndp/spindle_count"].definition.ToDict() == {
        "name": "ndp/spindle_count", "title": "SpindleCount", "kind": "number",
        "doc": 'The "spindle_count" node parameter'}
    assert query.NODE_FIELDS["ndp/ssh_port"].definition.title == "ndp/ssh_port"


def test_node_live_fields():
    fields = ["dtotal", "mfree", "bootid", "ctotal", "spfree", "cnodes"]
    rows = _NodeRows(fields)
    assert rows["node1"] == [[0, 258019], [0, 22764], [0, "b-1"], [0, 2],
                             [RS_NODATA, None], [RS_NODATA, None]]
    assert rows["node2"] == [[RS_OFFLINE, None]] * 6
    assert rows["node4"] == [[RS_NODATA, None]] * 6
    rows = _NodeRows(fields, live=False)
    assert rows["node1"] == [[RS_NODATA, None]] * 6


def test_node_common_fields():
    rows = _NodeRows(["ctime", "mtime", "uuid", "serial_no", "tags",
                      "hv_state", "disk_state"])
    assert rows["node1"] == [[0, 1700000000.5], [0, 1700000001.25], [0, "u1"],
                             [0, 3], [0, ["a", "z"]], [RS_UNAVAIL, None],
                             [RS_UNAVAIL, None]]
    assert rows["node2"][0] == [RS_UNAVAIL, None]
    assert query.NODE_FIELDS["serial_no"].definition.doc == (
        "Node object serial number, incremented on each modification")


def test_node_filters():
    assert list(_NodeRows([], qfilter=["==", "name", "node1"])) == ["node1"]
    assert list(_NodeRows([], qfilter=["?", "master_candidate"])) == ["node1"]
    # unavailable live data lets the item through, as luxid does
    assert list(_NodeRows([], qfilter=[">", "mfree", 30000])) == [
        "node2", "node3", "node4"]
    assert list(_NodeRows([], qfilter=["=[]", "pinst_list", "inst5"])) == ["node4"]
    qry = query.Query(query.NODE_FIELDS, ["name"], ["<", "mfree", 5])
    assert qry.RequestedData() == {query.NQ_CONFIG, query.NQ_LIVE}


def test_all_fields_map():
    assert query.ALL_FIELDS == {"job": query.JOB_FIELDS, "lock": query.LOCK_FIELDS,
                                "node": query.NODE_FIELDS,
                                "group": query.GROUP_FIELDS,
                                "instance": query.INSTANCE_FIELDS}
