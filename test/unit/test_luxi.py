"""LUXI client side: wire format against real samples, transport, reconnects."""

from __future__ import annotations

import glob
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable

import pytest

from ganeti import constants, errors, luxi, pathutils

_SAMPLES = "/work/shared/spec/samples"
_RECORD = re.compile(rb"^=== conn (\d+) (C->S|S->C) t=\S+ len=(\d+)\n", re.M)


def _SampleRecords(direction: bytes) -> list[tuple[str, bytes]]:
    """(file name, message) of every record in the samples' LUXI captures."""
    found = []
    for path in sorted(glob.glob(os.path.join(_SAMPLES, "luxi-*.txt"))):
        with open(path, "rb") as fh:
            data = fh.read()
        for match in _RECORD.finditer(data):
            if match.group(2) == direction:
                body = data[match.end():match.end() + int(match.group(3))]
                found.append((os.path.basename(path), body))
    return found


_REQUESTS = _SampleRecords(b"C->S")
_RESPONSES = _SampleRecords(b"S->C")


# --- pure protocol -------------------------------------------------------------


def test_samples_were_found():
    assert len(_REQUESTS) >= 30 and len(_RESPONSES) >= 30


@pytest.mark.parametrize("name,body", _REQUESTS)
def test_format_request_reproduces_real_client_bytes(name, body):
    method, args, version = luxi.ParseRequest(body)
    assert version == constants.LUXI_VERSION
    assert luxi.FormatRequest(method, args, version) == body


@pytest.mark.parametrize("name,body", _RESPONSES)
def test_format_response_matches_luxid(name, body):
    success, result, version = luxi.ParseResponse(body)
    assert version is None
    ours = luxi.FormatResponse(success, result)
    assert json.loads(ours) == json.loads(body)
    if b"e9," not in body:  # Haskell prints large floats as 1.79e9
        assert ours == body


def test_request_shape_and_no_eom_inside():
    msg = luxi.FormatRequest("Query", ["instance", ["name"], None], 3000000)
    assert msg == (b'{"method": "Query", "args": ["instance", ["name"], null],'
                   b' "version": 3000000}\n')
    # A 0x03 inside a string is escaped, so it cannot end the message early.
    assert luxi.EOM not in luxi.FormatRequest("QueryTags", ["node", "a\x03b"])
    assert b"version" not in luxi.FormatRequest("QueryClusterInfo", [])


@pytest.mark.parametrize("msg,text", [
    (b"{not json", "parsing error"),
    (b"[1, 2]", "not an object"),
    (b'{"args": []}', "no method or arguments"),
    (b'{"method": "Query"}', "no method or arguments"),
    (b'{"method": "Query", "args": {"a": 1}}', "not a list"),
    (b'{"method": 7, "args": []}', "method is not a string"),
    (b"\xff\xfe", "parsing error"),
])
def test_parse_request_rejects_bad_messages(msg, text):
    with pytest.raises(errors.LuxiError, match=text):
        luxi.ParseRequest(msg)


def test_parse_request_without_version():
    assert luxi.ParseRequest(b'{"method": "QueryClusterInfo", "args": []}') == (
        "QueryClusterInfo", [], None)


@pytest.mark.parametrize("msg", [b"nope", b"[]", b'{"success": true}',
                                 b'{"result": 1}'])
def test_parse_response_rejects_bad_messages(msg):
    with pytest.raises(luxi.ProtocolError):
        luxi.ParseResponse(msg)


def test_check_response_reraises_encoded_error_with_args():
    body = dict(_RESPONSES)["luxi-query-filter-error.txt"]
    with pytest.raises(errors.ParameterError) as info:
        luxi.CheckResponse(*luxi.ParseResponse(body), constants.LUXI_VERSION)
    assert info.value.args == ("Can't find field named 'nosuchfield'",)
    with pytest.raises(errors.OpPrereqError) as info:
        luxi.CheckResponse(False, ["OpPrereqError", ["x", "unknown_entity"]],
                           None, 1)
    assert info.value.args == ("x", errors.ECODE_NOENT)


def test_check_response_plain_failure_and_version_mismatch():
    with pytest.raises(luxi.RequestError) as info:
        luxi.CheckResponse(False, "Failed to parse request: x", None, 1)
    assert info.value.args == ("Failed to parse request: x",)
    with pytest.raises(errors.LuxiError, match="version mismatch"):
        luxi.CheckResponse(True, 1, 2160000, constants.LUXI_VERSION)
    assert luxi.CheckResponse(True, 5, constants.LUXI_VERSION,
                              constants.LUXI_VERSION) == 5


def test_constants():
    assert luxi.LUXI_WFJC_TIMEOUT == 89
    assert luxi.JOB_NOTCHANGED == "nochange"
    assert {json.loads(b)["method"] for _, b in _REQUESTS} <= luxi.REQ_ALL
    assert len(luxi.REQ_ALL) == 25
    for name in ("ProtocolError", "NoMasterError", "TimeoutError",
                 "ConnectionClosedError", "RequestError", "PermissionError"):
        assert issubclass(getattr(luxi, name), errors.LuxiError)


# --- a scripted peer on a real socket ------------------------------------------


Responder = Callable[[int, bytes], bytes | None]


class _Peer:
    """A unix socket server answering each request via respond(conn_no, msg).

    respond returns the reply (without EOM) or None to drop the connection.
    """

    def __init__(self, path: str, respond: Responder) -> None:
        self.path = path
        self.received: list[tuple[int, bytes]] = []
        self._respond = respond
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        self._sock.listen(8)
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._Run, daemon=True)
        self._thread.start()

    def _Run(self) -> None:
        conn_no = 0
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            conn_no += 1
            self._conns.append(conn)
            threading.Thread(target=self._Serve, args=(conn, conn_no),
                             daemon=True).start()

    def _Serve(self, conn: socket.socket, conn_no: int) -> None:
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while luxi.EOM in buf:
                    msg, buf = buf.split(luxi.EOM, 1)
                    self.received.append((conn_no, msg))
                    reply = self._respond(conn_no, msg)
                    if reply is None:
                        return
                    conn.sendall(reply)

    def Close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
        except OSError:
            pass
        self._sock.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)


def _Ok(result) -> bytes:
    return luxi.FormatResponse(True, result) + luxi.EOM


@pytest.fixture
def peer_factory(tmp_path):
    peers = []

    def Make(respond: Responder) -> _Peer:
        peer = _Peer(str(tmp_path / f"sock{len(peers)}"), respond)
        peers.append(peer)
        return peer

    yield Make
    for peer in peers:
        peer.Close()


def _EchoArgs(_conn_no: int, msg: bytes) -> bytes:
    return _Ok(json.loads(msg)["args"])


def _FileRequests(name: str) -> list[bytes]:
    return [body for file_name, body in _REQUESTS if file_name == name]


def test_client_sends_sample_shaped_requests(peer_factory):
    expected = _FileRequests("luxi-debug-delay-zero.txt")
    expected += _FileRequests("luxi-instance-list.txt")
    submit = json.loads(expected[0])["args"][0]
    peer = peer_factory(_EchoArgs)
    with luxi.Client(peer.path) as cl:
        assert cl.SubmitJob(submit) == [submit]
        cl.WaitForJobChangeOnce(1342, ["status"], None, None, timeout=60)
        cl.WaitForJobChangeOnce("1342", ["status"], ["queued"], None, 60)
        cl.QueryJobs([1342], ["status", "opstatus", "opresult"])
        cl.Query("instance", ["name", "hypervisor", "os", "pnode", "status",
                              "oper_ram"], None)
    assert [msg for _, msg in peer.received] == expected


class _FakeOp:
    def __init__(self, **params) -> None:
        self.params = params

    def __getstate__(self) -> dict:
        return dict(self.params, OP_ID="OP_TEST_DELAY")


class _DictOp:
    def ToDict(self) -> dict:
        return {"OP_ID": "OP_CLUSTER_QUERY"}


def test_client_methods_send_documented_args(peer_factory):
    peer = peer_factory(_EchoArgs)
    with luxi.Client(peer.path, timeouts=(2, 5)) as cl:
        calls = [
            (cl.SetQueueDrainFlag(True), [True]),
            (cl.SetWatcherPause(None), [None]),
            (cl.PickupJob(5), [5]),
            (cl.SubmitJobToDrainedQueue([_FakeOp(duration=0.5)]),
             [[{"duration": 0.5, "OP_ID": "OP_TEST_DELAY"}]]),
            (cl.SubmitManyJobs([[_DictOp()], [{"OP_ID": "OP_X"}]]),
             [[[{"OP_ID": "OP_CLUSTER_QUERY"}], [{"OP_ID": "OP_X"}]]]),
            (cl.CancelJob("7"), [7, False]),
            (cl.CancelJob(7, kill=True), [7, True]),
            (cl.ChangeJobPriority(7, -5), [7, -5]),
            (cl.ArchiveJob(7), [7]),
            (cl.AutoArchiveJobs(-1), [-1, 89]),
            (cl.WaitForJobChangeOnce(3, ["status"], None, 4, timeout=500),
             [3, ["status"], None, 4, 89]),
            (cl.QueryFields("node", None), ["node", None]),
            (cl.QueryInstances([], ["name"], False), [[], ["name"], False]),
            (cl.QueryNodes(["n1"], ["name"], False), [["n1"], ["name"], False]),
            (cl.QueryGroups([], ["uuid"], False), [[], ["uuid"], False]),
            (cl.QueryNetworks([], ["name"], False), [[], ["name"], False]),
            (cl.QueryExports(["n1"], False), [["n1"], False]),
            (cl.QueryClusterInfo(), []),
            (cl.QueryConfigValues(["drain_flag"]), [["drain_flag"]]),
            (cl.QueryTags("cluster", ""), ["cluster", ""]),
            (cl.QueryFilters(None, ["uuid"]), [None, ["uuid"]]),
            (cl.ReplaceFilter(None, 0, [], "ACCEPT", []),
             [None, 0, [], "ACCEPT", []]),
            (cl.DeleteFilter("u1"), ["u1"]),
        ]
    for got, expected in calls:
        assert got == expected
    methods = [json.loads(m)["method"] for _, m in peer.received]
    assert methods[:3] == ["SetDrainFlag", "SetWatcherPause", "PickupJob"]
    assert set(methods) <= luxi.REQ_ALL


def test_client_rejects_bad_arguments_before_sending(peer_factory):
    peer = peer_factory(_EchoArgs)
    with luxi.Client(peer.path) as cl:
        with pytest.raises(luxi.RequestError, match="as job id"):
            cl.CancelJob("twelve")
        with pytest.raises(errors.ProgrammerError, match="list of opcodes"):
            cl.SubmitJob({"OP_ID": "OP_X"})
        with pytest.raises(errors.ProgrammerError, match="dict form"):
            cl.SubmitJob([object.__new__(type("Slotted", (), {"__slots__": ()}))])
        with pytest.raises(errors.ProgrammerError, match="Timeout"):
            cl.WaitForJobChangeOnce(1, ["status"], None, None, timeout=-1)
        with pytest.raises(errors.ProgrammerError, match="must be a list"):
            cl.CallMethod("Query", "instance")
        with pytest.raises(errors.ProgrammerError, match="JSON"):
            cl.QueryTags("node", {1, 2})
    assert peer.received == []


def test_wait_for_job_change_loops_until_changed(peer_factory):
    answers = iter([luxi.JOB_NOTCHANGED, luxi.JOB_NOTCHANGED, [["running"], []]])
    peer = peer_factory(lambda _c, _m: _Ok(next(answers)))
    with luxi.Client(peer.path) as cl:
        assert cl.WaitForJobChange(9, ["status"], ["queued"], None) == [
            ["running"], []]
    assert len(peer.received) == 3


def test_client_reraises_server_errors(peer_factory):
    replies = {
        "QueryTags": luxi.FormatResponse(False, ["OpPrereqError", [
            "Instance 'x' not known", "unknown_entity"]]),
        "Query": luxi.FormatResponse(False, "Failed to parse request: boom"),
        "QueryClusterInfo": b'{"success": true, "result": 1, "version": 2}',
        "ArchiveJob": b"garbage",
    }
    peer = peer_factory(lambda _c, m: replies[json.loads(m)["method"]] + luxi.EOM)
    with luxi.Client(peer.path) as cl:
        with pytest.raises(errors.OpPrereqError) as info:
            cl.QueryTags("instance", "x")
        assert info.value.args == ("Instance 'x' not known", errors.ECODE_NOENT)
        with pytest.raises(luxi.RequestError, match="boom"):
            cl.Query("node", ["name"], None)
        with pytest.raises(errors.LuxiError, match="version mismatch"):
            cl.QueryClusterInfo()
        with pytest.raises(luxi.ProtocolError, match="deserial|parsing"):
            cl.ArchiveJob(1)


def test_recv_splits_messages_and_keeps_surplus(tmp_path):
    # The peer answers the first request with two messages in one write.
    both = _Ok(1) + _Ok(2)[:-5]
    rest = _Ok(2)[-5:]
    peer = _Peer(str(tmp_path / "s"),
                 lambda _c, m: both if b"QueryTags" in m else rest)
    try:
        transport = luxi.Transport(peer.path, timeouts=(2, 5))
        assert luxi.ParseResponse(transport.Call(b'{"method": "QueryTags"}'))[1] == 1
        transport.Send(b'{"method": "Other"}')
        assert luxi.ParseResponse(transport.Recv())[1] == 2
        with pytest.raises(errors.ProgrammerError, match="terminator"):
            transport.Send(b"a\x03b")
        transport.Close()
        with pytest.raises(luxi.ProtocolError, match="closed"):
            transport.Recv()
    finally:
        peer.Close()


def test_recv_timeout(tmp_path):
    peer = _Peer(str(tmp_path / "s"), lambda _c, _m: b"")  # never answers
    try:
        with luxi.Client(peer.path, timeouts=(1, 0.3)) as cl:
            start = time.monotonic()
            with pytest.raises(luxi.TimeoutError):
                cl.QueryClusterInfo()
            assert time.monotonic() - start < 2
            assert cl.transport is None  # a timed-out stream is never reused
    finally:
        peer.Close()


def test_read_request_is_retried_once_after_connection_drop(peer_factory):
    # Connection 1 is dropped after reading the request; connection 2 answers.
    peer = peer_factory(lambda c, m: None if c == 1 else _Ok("fine"))
    with luxi.Client(peer.path) as cl:
        assert cl.Query("node", ["name"], None) == "fine"
    assert [c for c, _ in peer.received] == [1, 2]


def test_submit_is_not_resent_after_connection_drop(peer_factory):
    peer = peer_factory(lambda c, m: None)
    with luxi.Client(peer.path) as cl:
        with pytest.raises(luxi.ConnectionClosedError):
            cl.SubmitJob([{"OP_ID": "OP_TEST_DELAY"}])
    assert len(peer.received) == 1


def test_persistent_drop_gives_up_after_one_retry(peer_factory):
    peer = peer_factory(lambda c, m: None)
    with luxi.Client(peer.path) as cl:
        with pytest.raises(luxi.ConnectionClosedError):
            cl.QueryClusterInfo()
    assert len(peer.received) == 2


def test_request_to_closed_idle_connection_is_resent(tmp_path):
    # The server closed the idle connection: sending fails with EPIPE, so the
    # job was never delivered and may be submitted on a new connection.
    path = str(tmp_path / "s")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)
    try:
        cl = luxi.Client(path, timeouts=(2, 5))
        first, _ = listener.accept()
        first.close()
        time.sleep(0.05)
        peer_result: list[bytes] = []

        def Answer() -> None:
            conn, _ = listener.accept()
            with conn:
                data = b""
                while not data.endswith(luxi.EOM):
                    data += conn.recv(65536)
                peer_result.append(data)
                conn.sendall(_Ok(1234))

        thread = threading.Thread(target=Answer)
        thread.start()
        with cl:
            assert cl.SubmitJob([{"OP_ID": "OP_TEST_DELAY"}]) == 1234
        thread.join(5)
        assert len(peer_result) == 1
    finally:
        listener.close()


# --- connecting ------------------------------------------------------------------


def test_no_master_error_when_socket_missing(tmp_path):
    start = time.monotonic()
    with pytest.raises(luxi.NoMasterError, match="not running"):
        luxi.Client(str(tmp_path / "missing"), timeouts=(5, 5),
                    transport=lambda a, timeouts: luxi.Transport(
                        a, timeouts, _ssconf_master_file=str(tmp_path / "no")))
    assert time.monotonic() - start < 1  # no ssconf: no point in retrying


def test_no_master_error_on_other_node(tmp_path):
    master_file = tmp_path / "ssconf_master_node"
    master_file.write_text("node1.example.com\n")
    with pytest.raises(luxi.NoMasterError, match="node1.example.com"):
        luxi.Transport(str(tmp_path / "missing"), (5, 5),
                       _ssconf_master_file=str(master_file),
                       _hostname="node2.example.com")


def test_master_node_retries_until_connect_timeout(tmp_path):
    master_file = tmp_path / "ssconf_master_node"
    master_file.write_text("node1.example.com\n")
    path = str(tmp_path / "late")
    start = time.monotonic()
    with pytest.raises(luxi.NoMasterError, match="master daemon failed"):
        luxi.Transport(path, (0.5, 5), _ssconf_master_file=str(master_file),
                       _hostname="node1.example.com")
    assert 0.4 < time.monotonic() - start < 2

    # A daemon that comes up within the connect timeout is reached.
    def Listen() -> None:
        time.sleep(0.3)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(1)
        listeners.append(sock)

    listeners: list[socket.socket] = []
    thread = threading.Thread(target=Listen)
    thread.start()
    transport = luxi.Transport(path, (5, 5), _ssconf_master_file=str(master_file),
                               _hostname="node1.example.com")
    thread.join()
    transport.Close()
    listeners[0].close()


def test_refused_connection_is_no_master(tmp_path):
    path = str(tmp_path / "dead")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.close()  # a stale socket file: ECONNREFUSED
    with pytest.raises(luxi.NoMasterError):
        luxi.Transport(path, (5, 5), _ssconf_master_file=str(tmp_path / "no"))


def test_permission_error(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another user")
    path = str(tmp_path / "s")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    os.chmod(path, 0o600)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: become nobody, then try to connect
        status = b"?"
        try:
            os.setgid(65534)
            os.setuid(65534)
            luxi.Transport(path, (2, 2))
        except luxi.PermissionError as err:
            status = b"P" + str(err).encode()
        except BaseException as err:  # report anything else to the parent
            status = repr(err).encode()
        finally:
            os.write(write_fd, status)
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        status = fh.read()
    os.waitpid(pid, 0)
    listener.close()
    assert status.startswith(b"P"), status
    assert b"daemons group" in status


@pytest.mark.parametrize("value,expected", [
    (None, pathutils.QUERY_SOCKET),
    ("query", pathutils.QUERY_SOCKET),
    ("master", pathutils.MASTER_SOCKET),
])
def test_default_address_follows_env(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(luxi.ENV_FORCE_LUXI_SOCKET, raising=False)
    else:
        monkeypatch.setenv(luxi.ENV_FORCE_LUXI_SOCKET, value)
    assert luxi.GetDefaultAddress() == expected
