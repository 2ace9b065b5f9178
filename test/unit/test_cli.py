"""The shared command-line layer: options, GenericMain, errors, tables, jobs."""

from __future__ import annotations

import io
import json
import optparse
import os
import re
import time
from typing import Any

import pytest

from ganeti import cli, errors, luxi, opcodes, pathutils

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), "data", "cli")


def _Sample(name: str) -> tuple[str, int]:
    """(output, exit code) of a gnt-*.txt sample."""
    with open(os.path.join(DATA_DIR, name), encoding="utf-8") as handle:
        body, _, code = handle.read().rpartition("[exit code: ")
    return body, int(code.rstrip("]\n"))


def _CapturedReply(name: str) -> Any:
    """The result of the first reply in a luxi-*.txt capture."""
    with open(os.path.join(DATA_DIR, name), "rb") as handle:
        data = handle.read()
    match = re.search(rb"^=== conn 1 S->C t=\S+ len=(\d+)\n", data, re.M)
    assert match is not None
    return json.loads(data[match.end():match.end() + int(match.group(1))])


@pytest.fixture(autouse=True)
def _commands_log(tmp_path, monkeypatch):
    """Keep the commands' log file in the test's directory."""
    monkeypatch.setattr(pathutils, "LOG_COMMANDS", str(tmp_path / "commands.log"))


# --- option types ------------------------------------------------------------


def _Parse(option: optparse.Option, *argv: str) -> Any:
    parser = optparse.OptionParser(option_list=[option])
    parser.defaults = dict(parser.defaults)
    values, _ = parser.parse_args(list(argv))
    return getattr(values, option.dest)


def test_keyval_option():
    opt = cli.cli_option("-B", dest="be", type="keyval", default={})
    assert _Parse(opt, "-B", "a=1,no_b,-c,d,e=x\\,y,f=g=h") == {
        "a": "1", "b": False, "c": None, "d": True, "e": "x,y", "f": "g=h"}
    assert _Parse(opt, "-B", "") == {}
    with pytest.raises(errors.ParameterError, match="Duplicate key 'a' in option -B"):
        _Parse(opt, "-B", "a=1,a=2")


def test_identkeyval_option():
    opt = cli.cli_option("-H", dest="hv", type="identkeyval", action="append",
                         default=[])
    assert _Parse(opt, "-H", "kvm:a=1,no_b", "-H", "xen", "-H", "no_lxc",
                  "-H", "-fake", "-H", "-1:size=2") == [
        ("kvm", {"a": "1", "b": False}), ("xen", {}), ("lxc", False),
        ("fake", None), ("-1", {"size": "2"})]
    with pytest.raises(errors.ParameterError, match="Cannot pass options"):
        _Parse(opt, "-H", "no_kvm:a=1")


def test_multilist_identkeyval_option():
    opt = cli.cli_option("--b", dest="b", type="multilistidentkeyval")
    assert _Parse(opt, "--b", "min:a=1/max:a=2//min:a=3/max:a=4") == [
        {"min": {"a": "1"}, "max": {"a": "2"}}, {"min": {"a": "3"}, "max": {"a": "4"}}]
    with pytest.raises(errors.ParameterError, match="Missing value for key 'a'"):
        _Parse(opt, "--b", "min:a")
    with pytest.raises(errors.ParameterError, match="Duplicated parameter 'min'"):
        _Parse(opt, "--b", "min:a=1/min:a=2")


@pytest.mark.parametrize(("kind", "text", "value"), [
    ("unit", "2G", 2048), ("unit", "512", 512), ("unit", "1.5t", 1572864),
    ("bool", "Yes", True), ("bool", "false", False),
    ("list", "a,b\\,c", ["a", "b,c"]), ("list", "", []),
    ("maybefloat", "2.5", 2.5), ("maybefloat", "DEFAULT", "default"),
])
def test_value_types(kind, text, value):
    assert _Parse(cli.cli_option("--x", dest="x", type=kind), "--x", text) == value


def test_bad_unit_is_an_optparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        _Parse(cli.cli_option("--x", dest="x", type="unit"), "--x", "2Q")
    assert exc.value.code == 2
    assert "option --x: Unknown unit 'Q'" in capsys.readouterr().err


def test_bad_bool_is_a_parameter_error():
    with pytest.raises(errors.ParameterError, match="Invalid boolean value 'maybe'"):
        _Parse(cli.cli_option("--x", dest="x", type="bool"), "--x", "maybe")


def test_priority_option_gives_numbers():
    assert _Parse(cli.PRIORITY_OPT, "--priority", "high") == -10
    assert _Parse(cli.PRIORITY_OPT, "--priority", "low") == 10


# --- GenericMain -------------------------------------------------------------


def _Commands(calls: list[Any], result: Any = 0) -> dict[str, Any]:
    def _Func(opts: Any, args: list[str]) -> Any:
        calls.append((opts, args))
        if isinstance(result, BaseException):
            raise result
        return result

    return {
        "none": (_Func, cli.ARGS_NONE, [cli.FORCE_OPT], "", "Takes nothing"),
        "one": (_Func, [cli.ArgNode(min=1, max=1)], [], "<node>", "Takes one"),
        "some": (_Func, [cli.ArgNode(min=2)], [cli.BACKEND_OPT], "<a> <b>...",
                 "Takes at least two and has a long help text that has to be"
                 " wrapped over several lines of the command overview"),
        "upto": (_Func, [cli.ArgNode(min=0, max=2)], [], "[a [b]]", "Up to two"),
    }


def _Main(capsys: Any, argv: list[str], result: Any = 0,
          **kwargs: Any) -> tuple[int, str, str, list[Any]]:
    calls: list[Any] = []
    code = cli.GenericMain(_Commands(calls, result), argv=argv, **kwargs)
    out = capsys.readouterr()
    return code, out.out, out.err, calls


_USAGE = """\
Usage: gnt-test {command} [options...] [argument...]
gnt-test <command> --help to see details, or man gnt-test

Commands:
 none - Takes nothing
 one  - Takes one
 some - Takes at least two and has a long help text that has to be wrapped over
        several lines of the command overview
 upto - Up to two

"""


@pytest.mark.parametrize(("argv", "code"), [
    (["gnt-test"], 1), (["gnt-test", "--help"], 0), (["gnt-test", "bogus"], 1),
])
def test_usage(argv, code, capsys):
    assert _Main(capsys, argv)[:3] == (code, _USAGE, "")


def test_version(capsys):
    assert _Main(capsys, ["/usr/sbin/gnt-test", "--version"])[:3] == (
        0, "gnt-test (ganeti (ganeti-py) version 3.0.2) 3.0.2\n", "")


@pytest.mark.parametrize(("argv", "message"), [
    (["none", "x"], "Error: Command none expects no arguments\n"),
    (["one"], "Error: Command one expects 1 argument(s)\n"),
    (["one", "a", "b"], "Error: Command one expects 1 argument(s)\n"),
    (["some", "a"], "Error: Command some expects at least 2 argument(s)\n"),
    (["upto", "a", "b", "c"], "Error: Command upto expects only 2 argument(s)\n"),
])
def test_argument_count_errors(argv, message, capsys):
    assert _Main(capsys, ["gnt-test", *argv]) == (1, "", message, [])


def test_command_gets_options_and_args(capsys):
    code, _, _, calls = _Main(capsys, ["gnt-test", "some", "-B", "a=1", "x", "-f"])
    assert code == 0
    ((opts, args),) = calls
    assert (opts.beparams, args, opts.debug, opts.reason) == (
        {"a": "1"}, ["x", "-f"], 0, None)


def test_option_defaults_are_not_shared_between_runs(capsys):
    opts = _Main(capsys, ["gnt-test", "some", "a", "b"])[3][0][0]
    opts.beparams["changed"] = True
    assert _Main(capsys, ["gnt-test", "some", "a", "b"])[3][0][0].beparams == {}


def test_bad_keyval_is_reported_as_parameter_error(capsys):
    assert _Main(capsys, ["gnt-test", "some", "-B", "a=1,a=2", "x", "y"]) == (
        1, "", "Failure: unknown/wrong parameter name 'Duplicate key 'a' in"
        " option -B'\n", [])


def test_aliases_override_and_env(capsys, monkeypatch):
    monkeypatch.setenv("GNT_TEST_UPTO", "-d --reason 'from env'")
    code, _, _, calls = _Main(capsys, ["gnt-test", "up", "a"],
                              aliases={"up": "upto"}, override={"tag_type": "x"},
                              env_override={"upto"})
    ((opts, args),) = calls
    assert (code, args, opts.debug, opts.reason, opts.tag_type) == (
        0, ["a"], 1, "from env", "x")


@pytest.mark.parametrize(("result", "code", "stderr"), [
    (None, 0, ""),
    (3, 3, ""),
    (cli.JobSubmittedException(5), 0, "JobID: 5\n"),
    (errors.OpExecError("it broke"), 1,
     "Failure: command execution error:\nit broke\n"),
    (ValueError("boom"), 1, "Unhandled exception: boom\n"),
    (KeyboardInterrupt(), 1,
     "Aborted. Note that if the operation created any jobs, they might have"
     " been submitted and will continue to run in the background.\n"),
])
def test_command_results_and_errors(result, code, stderr, capsys):
    assert _Main(capsys, ["gnt-test", "none"], result=result)[:3] == (
        code, "", stderr)


def test_errors_are_logged_to_the_commands_log(capsys, tmp_path):
    _Main(capsys, ["gnt-test", "none"], result=errors.OpExecError("it broke"))
    log = (tmp_path / "commands.log").read_text()
    assert "gnt-test none pid=" in log
    assert "ERROR Error during command processing" in log
    assert "ganeti.errors.OpExecError: it broke" in log


def test_debug_shows_the_traceback_of_a_bug(capsys):
    _, _, err, _ = _Main(capsys, ["gnt-test", "none", "-d"],
                         result=ValueError("boom"))
    assert "Traceback" in err and err.endswith("Unhandled exception: boom\n")


# --- FormatError -------------------------------------------------------------


@pytest.mark.parametrize(("err", "code", "text"), [
    (errors.OpPrereqError("Duration must be greater than zero"), 1,
     "Failure: prerequisites not met for this operation:\n"
     "Duration must be greater than zero"),
    (errors.OpPrereqError("Instance 'x' not known", errors.ECODE_NOENT), 1,
     "Failure: prerequisites not met for this operation:\n"
     "error type: unknown_entity, error details:\nInstance 'x' not known"),
    (errors.ConfigurationError("bad file"), 2,
     "Corrupt configuration file: bad file\nAborting."),
    (errors.ConfigVerifyError("bad", ["x"]), 2,
     "Corrupt configuration file: ('bad', ['x'])\nAborting."),
    (errors.HooksAbort([["node1", "10-x", "out"], ["node2", "20-y", ""]]), 1,
     "Failure: hooks execution failed:\n"
     "  node: node1, script: 10-x, output: out\n"
     "  node: node2, script: 20-y (no output)"),
    (errors.HooksFailure("no hooks"), 1, "Failure: hooks general failure: no hooks"),
    (errors.ResolverError("nosuch.example", 1, "not found"), 1,
     "Failure: can't resolve hostname 'nosuch.example'"),
    (errors.TagError("bad tag"), 1, "Failure: invalid tag(s) given:\nbad tag"),
    (errors.JobQueueDrainError("drained"), 1,
     "Failure: the job queue is marked for drain and doesn't accept new"
     " requests"),
    (errors.JobQueueFull(), 1,
     "Failure: the job queue is full and doesn't accept new job submissions"
     " until old jobs are archived"),
    (errors.TypeEnforcementError("bad type"), 1, "Parameter Error: bad type"),
    (errors.ParameterError("Can't find field named 'x'"), 1,
     "Failure: unknown/wrong parameter name 'Can't find field named 'x''"),
    (luxi.TimeoutError("read"), 1,
     "Timeout while talking to the master daemon. Jobs might have been"
     " submitted and will continue to run even if the call timed out. Useful"
     " commands in this situation are \"gnt-job list\", \"gnt-job cancel\" and"
     " \"gnt-job watch\". Error:\nread"),
    (luxi.PermissionError("denied"), 1,
     "It seems you don't have permissions to connect to the master daemon.\n"
     "Please retry as a different user."),
    (luxi.ConnectionClosedError("closed"), 1,
     "Unhandled protocol error while talking to the master daemon:\nclosed"),
    (errors.JobLost("Job with id 4 lost"), 1,
     "Error checking job status: Job with id 4 lost"),
    (errors.QueryFilterParseError("Failed", ["Failed", "a ==", "   ^"]), 1,
     "Error while parsing query filter: Failed\nFailed\na ==\n   ^"),
    (errors.LockError("lock"), 1, "Unhandled Ganeti error: lock"),
    (cli.JobSubmittedException(1339), 0, "JobID: 1339"),
    (RuntimeError("odd"), 1, "Unhandled exception: odd"),
])
def test_format_error(err, code, text):
    assert cli.FormatError(err) == (code, text)


def test_format_error_no_master(monkeypatch):
    for path in (pathutils.MASTER_SOCKET, pathutils.QUERY_SOCKET):
        assert cli.FormatError(luxi.NoMasterError(path)) == (
            1, "Cannot communicate with the master daemon.\nIs the process"
            " running and listening for connections?")
    assert cli.FormatError(luxi.NoMasterError("This is not the master node"))[1] == (
        "Cannot communicate with the master daemon.\nThis is not the master node")


def test_get_client_outside_a_cluster(tmp_path, monkeypatch):
    monkeypatch.setattr(pathutils, "QUERY_SOCKET", str(tmp_path / "none.sock"))
    monkeypatch.setattr(pathutils, "DATA_DIR", str(tmp_path))
    monkeypatch.setattr(luxi.pathutils, "GetSsconfFilename",
                        lambda key: str(tmp_path / f"ssconf_{key}"))
    with pytest.raises(errors.OpPrereqError, match="Cluster not initialized"):
        cli.GetClient()
    (tmp_path / "ssconf_master_node").write_text("other.example.com\n")
    with pytest.raises(errors.OpPrereqError,
                       match="please connect to node 'other.example.com'"):
        cli.GetClient()


# --- tables ------------------------------------------------------------------


def test_generate_table_matches_gnt_os_list():
    data = [["debootstrap+default"], ["noop+alt"], ["noop+default"]]
    lines = cli.GenerateTable({"name": "Name"}, ["name"], None, data)
    assert "".join(line + "\n" for line in lines) == _Sample("gnt-os-list.txt")[0]


def test_generate_table_numbers_units_and_separator():
    fields = ["name", "size", "count"]
    rows = [["a", 2048, 3], None, ["long-name", "n/a", 12]]
    assert cli.GenerateTable({"name": "Name", "size": "Size", "count": "N"},
                             fields, None, [list(r) if r else None for r in rows],
                             numfields=["count", "si.*"], unitfields=["size"]) == [
        "Name      Size  N", "a         2.0G  3", "-            -  -",
        "long-name  n/a 12"]
    assert cli.GenerateTable(None, fields, ":", [list(rows[0])],
                             unitfields=["size"]) == ["a:2048:3"]


def _Field(name: str, title: str, kind: str) -> dict[str, str]:
    return {"name": name, "title": title, "kind": kind, "doc": ""}


_NODE_FIELDS = [
    _Field("name", "Node", "text"), _Field("dtotal", "DTotal", "unit"),
    _Field("dfree", "DFree", "unit"), _Field("mtotal", "MTotal", "unit"),
    _Field("mnode", "MNode", "unit"), _Field("mfree", "MFree", "unit"),
    _Field("pinst_cnt", "Pinst", "number"), _Field("sinst_cnt", "Sinst", "number"),
]


def test_query_table_matches_gnt_node_list():
    values = ["node1.ganeti.test", 258048, 80384, 24064, 346, 22733, 4, 0]
    result = {"fields": _NODE_FIELDS, "data": [[[0, v] for v in values]]}
    (status, lines) = cli.FormatQueryResult(result, header=True)
    assert status == cli.QR_NORMAL
    assert "".join(line + "\n" for line in lines) == _Sample("gnt-node-list.txt")[0]
    (_, lines) = cli.FormatQueryResult(result, separator="|", unit="g")
    assert lines == ["node1.ganeti.test|252.0|78.5|23.5|0.3|22.2|4|0"]


_INSTANCES = [("sample-a.ganeti.test", "running", 64, True),
              ("sample-b.ganeti.test", "running", 64, True),
              ("sample-c.ganeti.test", "ADMIN_down", None, False),
              ("sample-r.ganeti.test", "running", 64, True)]


def test_query_table_matches_gnt_instance_list():
    fields = [_Field("name", "Instance", "text"),
              _Field("hypervisor", "Hypervisor", "text"),
              _Field("os", "OS", "text"), _Field("pnode", "Primary_node", "text"),
              _Field("status", "Status", "text"),
              _Field("oper_ram", "Memory", "unit")]
    data = [[[0, name], [0, "fake"], [0, "noop+default"], [0, "node1.ganeti.test"],
             [0, status], [0, ram] if ram else [3, None]]
            for name, status, ram, _ in _INSTANCES]
    (status, lines) = cli.FormatQueryResult({"fields": fields, "data": data},
                                            header=True)
    assert status == cli.QR_INCOMPLETE
    assert "".join(line + "\n" for line in lines) == _Sample(
        "gnt-instance-list.txt")[0]
    (_, lines) = cli.FormatQueryResult({"fields": fields, "data": data},
                                       verbose=True)
    assert lines[2].endswith("ADMIN_down (unavail)")


def test_query_table_with_separator_matches_sample():
    fields = [_Field("name", "Instance", "text"), _Field("status", "Status", "text"),
              _Field("admin_state", "State", "text"),
              _Field("admin_up", "Autostart", "bool")]
    data = [[[0, name], [0, status], [0, "up" if up else "down"], [0, up]]
            for name, status, _, up in _INSTANCES]
    (_, lines) = cli.FormatQueryResult({"fields": fields, "data": data},
                                       separator=":")
    assert "".join(line + "\n" for line in lines) == _Sample(
        "gnt-instance-list-sep.txt")[0]


class _QueryClient:
    def __init__(self, response: Any) -> None:
        self.response = response
        self.calls: list[Any] = []

    def Query(self, *args: Any) -> Any:
        self.calls.append(("Query", *args))
        if isinstance(self.response, Exception):
            raise self.response
        return self.response

    def QueryFields(self, *args: Any) -> Any:
        self.calls.append(("QueryFields", *args))
        return self.response


def test_generic_list_unknown_field_as_captured(capsys):
    cl = _QueryClient(_CapturedReply("luxi-query-error.txt")["result"])
    code = cli.GenericList("instance", ["name", "nosuchfield"], [], None, None,
                           True, cl=cl)
    out = capsys.readouterr()
    assert code == 14
    assert out.err == "Warning: Queried for unknown fields nosuchfield\n"
    assert out.out == ("Instance                 nosuchfield\n"
                       "luxi-capture.ganeti.test ??\n"
                       "sample-a.ganeti.test     ??\n"
                       "sample-b.ganeti.test     ??\n"
                       "sample-c.ganeti.test     ??\n"
                       "sample-r.ganeti.test     ??\n")
    assert cl.calls == [("Query", "instance", ["name", "nosuchfield"], None)]


def test_generic_list_names_globs_and_filters(capsys):
    cl = _QueryClient({"fields": [_Field("name", "Node", "text")], "data": []})
    cli.GenericList("node", ["name"], ["node1", "web*"], None, None, False, cl=cl,
                    qfilter=["?", "master"])
    cli.GenericList("node", ["name"], ["name == 'x'"], None, None, False, cl=cl)
    assert cl.calls[0][3] == ["&", ["|", ["==", "name", "node1"],
                                    ["=~", "name", r"^web[^.]*(\..*)?$"]],
                              ["?", "master"]]
    assert cl.calls[1][3] == ["==", "name", "x"]


def test_generic_list_filter_error_as_captured(capsys):
    encoded = _CapturedReply("luxi-query-filter-error.txt")["result"]
    cl = _QueryClient(errors.GetEncodedError(encoded))
    commands = {"list": (lambda opts, args: cli.GenericList(
        "instance", ["name"], args, None, None, True, cl=cl,
        force_filter=opts.force_filter), [cli.ArgUnknown()],
        [cli.FORCE_FILTER_OPT], "", "")}
    code = cli.GenericMain(commands, argv=["gnt-instance", "list", "-F",
                                           "nosuchfield == 1"])
    assert code == 1
    assert capsys.readouterr().err == (
        "Failure: unknown/wrong parameter name 'Can't find field named"
        " 'nosuchfield''\n")


def test_generic_list_fields(capsys):
    cl = _QueryClient({"fields": [
        _Field("id", "ID", "number"), _Field("summary", "Summary", "other"),
        _Field("x", "x", "unknown")]})
    assert cli.GenericListFields("job", [], None, True, cl=cl) == 14
    out = capsys.readouterr()
    assert out.out == ("Name    Type    Title   Description\n"
                       "id      Number  ID      \n"
                       "summary Custom  Summary \n"
                       "x       Unknown x       \n")
    assert cl.calls == [("QueryFields", "job", None)]


# --- info trees --------------------------------------------------------------


def test_generic_info_layout():
    data = [
        ("Name", "x"),
        ("Times", [("Start", "1", "grp"), ("Processing end", "2", "grp"),
                   ("Other", "3")]),
        ("Params", {"b": "2", "a": {}, "c": {"d": "4"}}),
        ("List", ["one", {"k": "v", "j": "w"}, [1, 2], []]),
        ("Tuple", (1, "message", "text")),
        ("Empty", []),
    ]
    assert cli.FormatGenericInfo(data) == "\n".join([
        'Name: x',
        'Times: ',
        '  Start:          1',
        '  Processing end: 2',
        '  Other: 3',
        'Params: ',
        '  a: ',
        '  b: 2',
        '  c: ',
        '    d: 4',
        'List: ',
        '  - one',
        '  - j: w',
        '    k: v',
        '  - - 1',
        '    - 2',
        '  - ',
        'Tuple: [1, message, text]',
        'Empty: ',
    ])


def test_policy_info():
    ipolicy = {"minmax": [{"min": {"cpu-count": 1}, "max": {"cpu-count": 8}}],
               "std": {"cpu-count": 1}, "disk-templates": ["file"],
               "vcpu-ratio": 4, "spindle-ratio": 32}
    info = cli.FormatPolicyInfo(ipolicy, None, True)
    assert cli.FormatGenericInfo(info) == "\n".join([
        'bounds specs: ',
        '  - min/0: ',
        '      cpu-count: 1',
        '    max/0: ',
        '      cpu-count: 8',
        'std: ',
        '  cpu-count: 1',
        'allowed disk templates: file',
        'vcpu-ratio: 4',
        'spindle-ratio: 32',
    ])


# --- jobs --------------------------------------------------------------------


class _JobClient:
    """Scripted WaitForJobChangeOnce and QueryJobs answers, calls recorded."""

    def __init__(self, changes: list[Any], query: Any,
                 submit_result: int = 17) -> None:
        self.changes = list(changes)
        self.query = query
        self.submit_result = submit_result
        self.calls: list[Any] = []

    def SubmitJob(self, ops: list[Any]) -> int:
        self.calls.append(("SubmitJob", [op.ToDict() for op in ops]))
        return self.submit_result

    def WaitForJobChangeOnce(self, job_id: int, fields: list[str],
                             prev_job_info: Any, prev_log_serial: Any,
                             timeout: float = 0) -> Any:
        self.calls.append(("Wait", job_id, fields, prev_job_info, prev_log_serial,
                           timeout))
        return self.changes.pop(0)

    def QueryJobs(self, job_ids: list[int], fields: list[str]) -> Any:
        self.calls.append(("QueryJobs", job_ids, fields))
        return self.query


def _Log(serial: int, message: str, ts: int = 1795236236) -> list[Any]:
    return [serial, [ts, 5], "message", message]


def test_poll_job_prints_log_and_returns_results(capsys, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        cl = _JobClient([
            [["queued"], []], "nochange", "nochange",
            [["running"], [_Log(1, "* Verifying cluster config"),
                           _Log(2, "  - ERROR: bad\tthing")]],
            [["success"], [_Log(3, "done", 1795236237)]],
            [["success"], []],
        ], [["success", ["success"], [{"ok": True}]]])
        assert cli.PollJob(5, cl=cl) == [{"ok": True}]
    finally:
        monkeypatch.undo()
        time.tzset()
    out = capsys.readouterr()
    assert out.out == ("Sat Nov 21 04:43:56 2026 * Verifying cluster config\n"
                       "Sat Nov 21 04:43:56 2026   - ERROR: bad\\tthing\n"
                       "Sat Nov 21 04:43:57 2026 done\n")
    assert out.err == "Job 5 is waiting in queue\n"
    waits = [call for call in cl.calls if call[0] == "Wait"]
    assert [call[3:5] for call in waits] == [
        (None, None), (["queued"], None), (["queued"], None), (["queued"], None),
        (["running"], 2), (["success"], 3)]
    assert all(call[2] == ["status"] and call[5] == 60 for call in waits)
    assert cl.calls[-1] == ("QueryJobs", [5], ["status", "opstatus", "opresult"])


def test_poll_job_feedback_fn_gets_entries():
    seen: list[Any] = []
    cl = _JobClient([[["success"], [_Log(1, "x")]], [["success"], []]],
                    [["success", ["success"], [None]]])
    assert cli.PollJob(1, cl=cl, feedback_fn=seen.append) == [None]
    assert seen == [([1795236236, 5], "message", "x")]
    with pytest.raises(errors.ProgrammerError):
        cli.PollJob(1, cl=cl, feedback_fn=seen.append,
                    reporter=cli.StdioJobPollReportCb())


@pytest.mark.parametrize(("query", "exc", "message"), [
    ([["error", ["error"], [["OpPrereqError", ["Duration must be greater than"
                                               " zero"]]]]],
     errors.OpPrereqError, "Duration must be greater than zero"),
    ([["error", ["success", "error"], [1, ["OpExecError", ["disk failed"]]]]],
     errors.OpExecError, "disk failed"),
    ([["error", ["success", "error"], [1, "not encoded"]]],
     errors.OpExecError, "partial failure \\(opcode 1\\): not encoded"),
    ([["error", ["error"], ["plain text"]]], errors.OpExecError, "plain text"),
    ([["canceled", ["canceled"], [None]]], errors.OpExecError, "Job was canceled"),
    ([None], errors.JobLost, "Job with id 8 lost"),
])
def test_poll_job_raises_the_jobs_error(query, exc, message):
    cl = _JobClient([[[query[0][0] if query[0] else "error"], []]], query)
    with pytest.raises(exc, match=message):
        cli.PollJob(8, cl=cl, feedback_fn=lambda _: None)


def test_poll_job_lost_while_waiting():
    with pytest.raises(errors.JobLost):
        cli.PollJob(8, cl=_JobClient([None], None), feedback_fn=lambda _: None)


def _Options(**kwargs: Any) -> Any:
    values = {"debug": 0, "dry_run": False, "priority": None, "reason": None,
              "submit_only": False, "print_jobid": False,
              "_argv": ["/sbin/gnt-debug", "delay", "1"]}
    values.update(kwargs)
    return optparse.Values(values)


def test_submit_opcode_sets_generic_options_and_waits(capsys):
    cl = _JobClient([[["success"], []]], [["success", ["success"], ["done"]]])
    opts = _Options(dry_run=True, priority=-10, debug=2, reason="why",
                    print_jobid=True)
    assert cli.SubmitOpCode(opcodes.OpTestDelay(duration=1.0), cl=cl,
                            opts=opts) == "done"
    ((_, (op,)), *_) = cl.calls
    assert (op["dry_run"], op["priority"], op["debug_level"]) == (True, -10, 2)
    assert [entry[:2] for entry in op["reason"]] == [
        ["gnt:user", "why"], ["gnt:client:gnt-debug", "delay"]]
    assert op["on_node_uuids"] is None  # defaults are filled before sending
    assert capsys.readouterr().out == "17\n"


def test_submit_or_send_with_submit_only():
    cl = _JobClient([], None, submit_result=1339)
    with pytest.raises(cli.JobSubmittedException) as exc:
        cli.SubmitOrSend(opcodes.OpTestDelay(duration=1.0),
                         _Options(submit_only=True), cl=cl)
    assert exc.value.args == (1339,)
    assert [call[0] for call in cl.calls] == ["SubmitJob"]


def test_submit_rejects_an_invalid_opcode_before_sending():
    cl = _JobClient([], None)
    with pytest.raises(errors.OpPrereqError):
        cli.SendJob([opcodes.OpTestDelay(duration="soon")], cl=cl)
    assert cl.calls == []


# --- misc --------------------------------------------------------------------


def test_ask_user_without_terminal_says_no():
    def _NoTty() -> Any:
        raise OSError("no tty")

    assert cli.AskUser("Continue?", _open_tty=_NoTty) is False


class _Tty(io.StringIO):
    def __enter__(self) -> _Tty:
        return self

    def __exit__(self, *args: Any) -> None:
        pass


def test_ask_user_on_terminal():
    tty = _Tty()
    tty.write("")
    answers = iter(["?\n", "y\n"])
    tty.readline = lambda size=-1: next(answers)  # type: ignore[method-assign]
    assert cli.AskUser("Continue?", _open_tty=lambda: tty) is True
    assert tty.getvalue() == ("Continue?\ny/[n]/?: "
                              " y - Perform the operation\n"
                              " n - Do not perform the operation\n\n"
                              "Continue?\ny/[n]/?: ")


@pytest.mark.parametrize(("text", "seconds"), [
    ("30", 30), ("30s", 30), ("2m", 120), ("1h", 3600), ("1d", 86400),
    ("1w", 604800),
])
def test_parse_timespec(text, seconds):
    assert cli.ParseTimespec(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "x1", "1.5h"])
def test_parse_timespec_errors(text):
    with pytest.raises(errors.OpPrereqError):
        cli.ParseTimespec(text)


def test_parse_fields_and_node_option():
    assert cli.ParseFields(None, ["a", "b"]) == ["a", "b"]
    assert cli.ParseFields("+c,d", ["a"]) == ["a", "c", "d"]
    assert cli.ParseFields("x,y", ["a"]) == ["x", "y"]
    assert cli.SplitNodeOption("n1:n2") == ("n1", "n2")
    assert cli.SplitNodeOption("n1") == ("n1", None)


def test_ipolicy_from_options():
    policy = cli.CreateIPolicyFromOpts(
        minmax_ispecs=[{"min": {"memory-size": "1G", "cpu-count": "1",
                                "disk-count": "1", "disk-size": "1G",
                                "nic-count": "1", "spindle-use": "1"},
                        "max": {"memory-size": "4G", "cpu-count": "8",
                                "disk-count": "4", "disk-size": "100G",
                                "nic-count": "8", "spindle-use": "4"}}],
        std_ispecs={"memory-size": "2G"}, ipolicy_vcpu_ratio=2.0)
    assert policy["minmax"][0]["min"]["memory-size"] == 1024
    assert policy["minmax"][0]["max"]["disk-size"] == 102400
    assert (policy["std"], policy["vcpu-ratio"]) == ({"memory-size": 2048}, 2.0)
    with pytest.raises(errors.OpPrereqError, match="cannot be specified together"):
        cli.CreateIPolicyFromOpts(ispecs_mem_size={"min": "1"},
                                  std_ispecs={"memory-size": "1"})
    with pytest.raises(errors.OpPrereqError, match="Missing parameters"):
        cli.CreateIPolicyFromOpts(minmax_ispecs=[{"min": {}, "max": {}}])


def test_parse_disk_state():
    assert cli.ParseDiskState([("lvm-vg/xenvg", {"disk_total": "10"})]) == {
        "lvm-vg": {"xenvg": {"disk_total": "10"}}}
    with pytest.raises(errors.OpPrereqError, match="expected storage_type/identifier"):
        cli.ParseDiskState([("xenvg", {})])
