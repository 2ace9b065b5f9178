"""Tests of ganeti.rapi.baserlib: helpers and the generic opcode handler."""

import pytest

from ganeti import errors, http, opcodes
from ganeti.rapi import baserlib


def test_build_uri_list_sorts_and_formats():
    assert baserlib.BuildUriList([12, 3], "/2/jobs/%s", ("id", "uri")) == [
        {"id": 3, "uri": "/2/jobs/3"}, {"id": 12, "uri": "/2/jobs/12"}]
    assert baserlib.BuildUriList(["b", "a"], "/2/groups/%s") == [
        {"name": "a", "uri": "/2/groups/a"}, {"name": "b", "uri": "/2/groups/b"}]


def test_map_fields_and_bad_master_rows():
    assert baserlib.MapFields(["a", "b"], [1, 2]) == {"a": 1, "b": 2}
    assert baserlib.MapBulkFields([[1], [2]], ["x"]) == [{"x": 1}, {"x": 2}]
    with pytest.raises(baserlib.HttpBadGateway, match="2 values for 1 fields"):
        baserlib.MapFields(["a"], [1, 2])


def test_check_type_and_parameter():
    assert baserlib.CheckType({}, dict, "Body") == {}
    with pytest.raises(http.HttpBadRequest,
                       match="Body: Type is 'list', but 'dict' is expected"):
        baserlib.CheckType([], dict, "Body")
    with pytest.raises(http.HttpBadRequest, match="Type is 'bool'"):
        baserlib.CheckType(True, int, "'n' parameter")
    assert baserlib.CheckParameter({"a": 1}, "a", exptype=int) == 1
    assert baserlib.CheckParameter({}, "a", default=None) is None
    assert baserlib.CheckParameter(None, "a", default=5) == 5
    with pytest.raises(http.HttpBadRequest, match="'a' is missing"):
        baserlib.CheckParameter({}, "a")
    with pytest.raises(http.HttpBadRequest, match="must be a JSON object"):
        baserlib.CheckParameter("text", "a")


def test_fill_opcode_renames_statics_and_validates():
    op = baserlib.FillOpcode(opcodes.OpGroupAdd, {"name": "g1"},
                             {"dry_run": True}, rename={"name": "group_name"})
    assert op.ToDict() == {"OP_ID": "OP_GROUP_ADD", "group_name": "g1",
                           "dry_run": True}
    assert baserlib.FillOpcode(opcodes.OpClusterRedistConf, None, {}).ToDict() == {
        "OP_ID": "OP_CLUSTER_REDIST_CONF"}
    with pytest.raises(http.HttpBadRequest, match="fails validation"):
        baserlib.FillOpcode(opcodes.OpTestDelay, {"duration": "long"}, {})
    with pytest.raises(http.HttpBadRequest, match="static parameters: dry_run"):
        baserlib.FillOpcode(opcodes.OpTestDelay, {"dry_run": False,
                                                  "duration": 1},
                            {"dry_run": True})


def test_handle_item_query_errors():
    with pytest.raises(http.HttpNotFound, match="gone"):
        baserlib.HandleItemQueryErrors(_Raise(errors.OpPrereqError(
            "gone", errors.ECODE_NOENT)))
    with pytest.raises(errors.OpPrereqError):
        baserlib.HandleItemQueryErrors(_Raise(errors.OpPrereqError(
            "bad", errors.ECODE_INVAL)))
    with pytest.raises(http.HttpNotFound):
        baserlib.HandleItemQueryErrors(lambda: [])
    assert baserlib.HandleItemQueryErrors(lambda x: [[x]], 3) == [[3]]


def _Raise(err):
    def _Fn(*_args):
        raise err
    return _Fn


def test_error_text_is_readable():
    assert baserlib.ErrorText(errors.OpPrereqError("Node x unknown",
                                                   "unknown_entity")) == \
        "Node x unknown"
    assert baserlib.ErrorText(errors.OpExecError("boom")) == "boom"
    assert baserlib.ErrorText(errors.JobQueueFull()) == "JobQueueFull"


class _Resource(baserlib.OpcodeResource):
    PUT_OPCODE = opcodes.OpTestDelay
    PUT_FORBIDDEN = ["on_nodes", ("repeat", [7, 8])]
    PUT_RENAME = {"time": "duration"}
    GET_ALIASES = {"a": "b"}

    def GET(self):
        return {"a": 1}


class _Client:
    def __init__(self):
        self.jobs = []

    def SubmitJob(self, ops):
        self.jobs.append([op.ToDict() for op in ops])
        return 42


def _Handle(method, uri_args, body, client):
    ctx = baserlib.RequestContext(method=method, path="/x", body_data=body,
                                  get_client=lambda: client)
    return _Resource([], uri_args, ctx).Handle(method)


def test_generated_handler_submits_with_reason_trail_and_forbidden_checks():
    client = _Client()
    assert _Handle("PUT", {"reason": ["because"]}, {"time": 1.5}, client) == 42
    (op, ) = client.jobs[0]
    assert op["duration"] == 1.5
    assert [entry[:2] for entry in op["reason"]] == [
        ["gnt:user", "because"], ["gnt:library:rlib2:_Resource", ""]]
    with pytest.raises(http.HttpForbidden, match="on_nodes cannot be set"):
        _Handle("PUT", {}, {"time": 1, "on_nodes": []}, client)
    with pytest.raises(http.HttpForbidden, match="repeat cannot be set to the"
                       " value 7"):
        _Handle("PUT", {}, {"time": 1, "repeat": 7}, client)
    with pytest.raises(http.HttpForbidden):
        _Handle("PUT", {"on_nodes": ["x"]}, {"time": 1}, client)
    assert _Handle("PUT", {}, {"time": 1, "repeat": 1}, client) == 42
    assert len(client.jobs) == 2


def test_get_aliases_and_method_discovery():
    assert _Handle("GET", {}, None, None) == {"a": 1, "b": 1}
    assert baserlib.HasMethod(_Resource, "PUT")
    assert baserlib.HasMethod(_Resource, "GET")
    assert not baserlib.HasMethod(_Resource, "POST")
    assert not baserlib.HasMethod(_Resource, "HEAD")
    assert not baserlib.HasMethod(_Resource, "__init__")
