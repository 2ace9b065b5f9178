"""The "group" field table (ganeti/query/group.py) against luxid's answers."""

from __future__ import annotations

import json
import pathlib
import shutil
from types import SimpleNamespace

import pytest

from ganeti import config, query
from ganeti.query import RS_NORMAL

SAMPLES = pathlib.Path("/work/shared/spec/samples")
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(),
                                   reason="spec samples not available")

# Every field of luxid's group table (src/Ganeti/Query/Group.hs, Ganeti 3.0):
# name -> (title, kind, doc).
LUXID_FIELDS = {
    "alloc_policy": ("AllocPolicy", "text", "Allocation policy for group"),
    "custom_diskparams": ("CustomDiskParameters", "other",
                          "Custom disk parameters"),
    "custom_ipolicy": ("CustomInstancePolicy", "other",
                       "Custom instance policy limitations"),
    "custom_ndparams": ("CustomNDParams", "other", "Custom node parameters"),
    "diskparams": ("DiskParameters", "other", "Disk parameters (merged)"),
    "ipolicy": ("InstancePolicy", "other", "Instance policy limitations (merged)"),
    "name": ("Group", "text", "Group name"),
    "ndparams": ("NDParams", "other", "Node parameters"),
    "node_cnt": ("Nodes", "number", "Number of nodes"),
    "node_list": ("NodeList", "other", "List of nodes"),
    "pinst_cnt": ("Instances", "number", "Number of primary instances"),
    "pinst_list": ("InstanceList", "other", "List of primary instances"),
    "ctime": ("CTime", "timestamp", "Creation timestamp"),
    "mtime": ("MTime", "timestamp", "Modification timestamp"),
    "uuid": ("UUID", "text", "Group UUID"),
    "serial_no": ("SerialNo", "number",
                  "Group object serial number, incremented on each modification"),
    "tags": ("Tags", "other", "Tags"),
    "ndp/ssh_port": ("ndp/ssh_port", "number", 'The "ssh_port" node parameter'),
    "ndp/spindle_count": ("SpindleCount", "number",
                          'The "spindle_count" node parameter'),
}


def _Rows(ctx, fields, qfilter=None):
    qry = query.Query(query.GROUP_FIELDS, fields, qfilter)
    return qry.Query(ctx)


def _Values(ctx, fields, qfilter=None):
    rows = _Rows(ctx, fields, qfilter)
    assert all(status == RS_NORMAL for row in rows for (status, _) in row)
    return [[value for (_, value) in row] for row in rows]


def test_fields_match_luxid():
    for name, (title, kind, doc) in LUXID_FIELDS.items():
        definition = query.GROUP_FIELDS[name].definition
        assert (definition.title, definition.kind, definition.doc) == (
            title, kind, doc), name
    ndp = {name for name in query.GROUP_FIELDS if name.startswith("ndp/")}
    assert ndp == {name for name in query.NODE_FIELDS if name.startswith("ndp/")}
    assert set(query.GROUP_FIELDS) == set(LUXID_FIELDS) | ndp
    assert query.ALL_FIELDS["group"] is query.GROUP_FIELDS


def test_spec_catalog_is_covered():
    spec = pathlib.Path("/work/shared/spec/query2.md")
    if not spec.exists():
        pytest.skip("spec not available")
    line = next(text for text in spec.read_text().splitlines()
                if text.startswith("**group**"))
    names = set(line.replace("`", " ").replace(",", " ").split()) & set(
        LUXID_FIELDS)
    assert len(names) >= 12
    assert names <= set(query.GROUP_FIELDS)


@pytest.fixture(scope="module")
def sample_cfg(tmp_path_factory):
    """The sample cluster's configuration (one group, one node, 4 instances)."""
    if not SAMPLES.is_dir():
        pytest.skip("spec samples not available")
    path = tmp_path_factory.mktemp("cfg") / "config.data"
    shutil.copy(SAMPLES / "config.data.json", path)
    return config.ConfigWriter(cfg_file=str(path), offline=True)


@needs_samples
def test_values_match_the_rapi_sample(sample_cfg):
    expected = json.loads((SAMPLES / "rapi-2-groups-bulk.json").read_text())
    fields = list(expected[0])
    rows = _Values(query.MakeGroupQueryData(sample_cfg), fields)
    assert [dict(zip(fields, row)) for row in rows] == expected


@needs_samples
def test_counts_match_the_list_sample(sample_cfg):
    # samples/gnt-group-list.txt: "default     1         4 preferred   ..."
    rows = _Values(query.MakeGroupQueryData(sample_cfg),
                   ["name", "node_cnt", "pinst_cnt", "alloc_policy", "pinst_list"])
    assert rows == [["default", 1, 4, "preferred",
                     ["sample-a.ganeti.test", "sample-b.ganeti.test",
                      "sample-c.ganeti.test", "sample-r.ganeti.test"]]]


def _Group(uuid, name, **kwargs):
    values = {"ndparams": {}, "ipolicy": {}, "diskparams": {},
              "alloc_policy": "preferred", "tags": [], "serial_no": 1,
              "ctime": 0, "mtime": 0}
    values.update(kwargs)
    return SimpleNamespace(uuid=uuid, name=name, **values)


def _Ctx():
    cluster = SimpleNamespace(
        ndparams={"ssh_port": 22, "spindle_count": 1, "oob_program": ""},
        ipolicy={"minmax": [{"min": {"cpu-count": 1}, "max": {"cpu-count": 8}}],
                 "std": {"cpu-count": 1}, "disk-templates": ["diskless"],
                 "vcpu-ratio": 4.0},
        diskparams={"drbd": {"resync-rate": 61440, "protocol": "C"},
                    "plain": {"stripes": 1}})
    groups = {
        "g-1": _Group("g-1", "default"),
        "g-2": _Group("g-2", "rack10", alloc_policy="last_resort",
                      ndparams={"ssh_port": 2222},
                      ipolicy={"vcpu-ratio": 2.0},
                      diskparams={"drbd": {"resync-rate": 1000}}, tags=["b", "a"]),
        "g-3": _Group("g-3", "rack9"),
    }
    nodes = {
        "n-c": SimpleNamespace(name="node1", group="g-2"),
        "n-a": SimpleNamespace(name="node3", group="g-2"),
        "n-b": SimpleNamespace(name="node2", group="g-1"),
    }
    instances = {
        "i1": SimpleNamespace(name="web10", primary_node="n-a"),
        "i2": SimpleNamespace(name="web9", primary_node="n-c"),
        "i3": SimpleNamespace(name="db", primary_node="n-b"),
    }
    return query.GroupQueryData(groups=groups, cluster=cluster, nodes=nodes,
                                instances=instances)


def test_rows_are_nice_sorted_by_name():
    assert _Values(_Ctx(), ["name"]) == [["default"], ["rack9"], ["rack10"]]


def test_members_and_instances():
    rows = _Values(_Ctx(), ["name", "node_cnt", "node_list", "pinst_cnt",
                            "pinst_list"])
    assert rows == [
        ["default", 1, ["node2"], 1, ["db"]],
        ["rack9", 0, [], 0, []],
        # node_list in node UUID order as luxid; instances nice-sorted
        ["rack10", 2, ["node3", "node1"], 2, ["web9", "web10"]],
    ]


def test_merged_and_custom_parameters():
    ctx = _Ctx()
    (row,) = _Values(ctx, ["ndparams", "custom_ndparams", "ndp/ssh_port",
                           "ipolicy", "custom_ipolicy", "diskparams",
                           "custom_diskparams", "tags"], ["==", "name", "rack10"])
    (ndparams, custom_nd, ssh_port, ipolicy, custom_ipolicy, diskparams,
     custom_dp, tags) = row
    assert ndparams == {"ssh_port": 2222, "spindle_count": 1, "oob_program": ""}
    assert custom_nd == {"ssh_port": 2222} and ssh_port == 2222
    assert ipolicy["vcpu-ratio"] == 2.0 and ipolicy["disk-templates"] == [
        "diskless"]
    assert ipolicy["minmax"] == ctx.cluster.ipolicy["minmax"]
    assert custom_ipolicy == {"vcpu-ratio": 2.0}
    # luxid merges disk parameters per template, not per key
    assert diskparams == {"drbd": {"resync-rate": 1000}, "plain": {"stripes": 1}}
    assert custom_dp == {"drbd": {"resync-rate": 1000}}
    assert tags == ["a", "b"]
    # the answer is a copy: changing it leaves the group alone
    custom_nd["ssh_port"] = 1
    assert ctx.groups["g-2"].ndparams == {"ssh_port": 2222}


def test_filters():
    ctx = _Ctx()
    assert _Values(ctx, ["name"], ["==", "alloc_policy", "last_resort"]) == [
        ["rack10"]]
    assert _Values(ctx, ["name"], [">", "node_cnt", 0]) == [["default"],
                                                             ["rack10"]]
    assert _Values(ctx, ["name"], ["=[]", "node_list", "node2"]) == [["default"]]
    assert _Values(ctx, ["name"], ["==", "ndp/ssh_port", 22]) == [["default"],
                                                                 ["rack9"]]


def test_requested_data_and_names():
    qry = query.Query(query.GROUP_FIELDS, ["name", "node_cnt"],
                      ["|", ["=", "name", "a"], ["=", "name", "b"]])
    assert qry.RequestedNames() == ["a", "b"]
    assert qry.RequestedData() == {query.GQ_CONFIG, query.GQ_NODE}


def test_unknown_field_and_old_style_query():
    rows = _Rows(_Ctx(), ["name", "nosuch"], ["==", "name", "rack9"])
    assert rows == [[[RS_NORMAL, "rack9"], [query.RS_UNKNOWN, None]]]
    qry = query.Query(query.GROUP_FIELDS, ["name", "nosuch"])
    with pytest.raises(Exception, match="Unknown output fields selected: nosuch"):
        qry.OldStyleQuery(_Ctx())


def test_make_group_query_data_selects_groups(sample_cfg):
    (uuid,) = sample_cfg.GetNodeGroupList()
    ctx = query.MakeGroupQueryData(sample_cfg, [uuid, "no-such-uuid"])
    assert list(ctx.groups) == [uuid]
    assert query.MakeGroupQueryData(sample_cfg, []).groups == {}
