"""LUXI server transport: real unix sockets, real client, fake handler."""

from __future__ import annotations

import glob
import json
import os
import re
import socket
import stat
import threading
import time
from typing import Any

import pytest

from ganeti import constants, errors, luxi
from ganeti.server import luxi as luxi_server

_SAMPLES = "/work/shared/spec/samples"
_RECORD = re.compile(rb"^=== conn \d+ C->S t=\S+ len=(\d+)\n", re.M)


def _SampleRequests() -> list[bytes]:
    found = []
    for path in sorted(glob.glob(os.path.join(_SAMPLES, "luxi-*.txt"))):
        with open(path, "rb") as fh:
            data = fh.read()
        for match in _RECORD.finditer(data):
            found.append(data[match.end():match.end() + int(match.group(1))])
    return found


class _Handler:
    """Records calls; answers per method; raises what the test asks for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Any], luxi_server.ClientContext]] = []
        self.lock = threading.Lock()
        self.raise_next: BaseException | None = None

    def __call__(self, method: str, args: list[Any],
                 ctx: luxi_server.ClientContext) -> Any:
        with self.lock:
            self.calls.append((method, args, ctx))
        if method == luxi.REQ_QUERY_TAGS and args and args[0] == "raise":
            raise errors.OpPrereqError(f"Instance '{args[1]}' not known",
                                       errors.ECODE_NOENT)
        if method == luxi.REQ_QUERY_TAGS and args and args[0] == "bug":
            raise KeyError("missing")
        if method == luxi.REQ_QUERY_TAGS and args and args[0] == "object":
            return object()
        if method == luxi.REQ_WAIT_FOR_JOB_CHANGE and args[4] == 0:
            return luxi.JOB_NOTCHANGED
        if method == luxi.REQ_SUBMIT_JOB:
            return 1342
        return {"method": method, "args": args}


@pytest.fixture
def handler() -> _Handler:
    return _Handler()


@pytest.fixture
def server(tmp_path, handler):
    paths = [str(tmp_path / "socket" / "ganeti-query"),
             str(tmp_path / "socket" / "ganeti-master")]
    srv = luxi_server.LuxiServer(paths, handler, max_message_size=256 * 1024)
    srv.Start()
    yield srv
    srv.Shutdown()


def _Client(server: luxi_server.LuxiServer, index: int = 0) -> luxi.Client:
    return luxi.Client(server.socket_paths[index], timeouts=(5, 10))


def _Raw(server: luxi_server.LuxiServer) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(server.socket_paths[0])
    return sock


def _RawCall(sock: socket.socket, msg: bytes) -> tuple[bool, Any]:
    sock.sendall(msg + luxi.EOM)
    data = b""
    while not data.endswith(luxi.EOM):
        chunk = sock.recv(65536)
        assert chunk, "server closed the connection"
        data += chunk
    success, result, version = luxi.ParseResponse(data[:-1])
    assert version is None  # luxid never sends one
    return success, result


_VALID = b'{"method": "QueryClusterInfo", "args": [], "version": 3000000}'


def test_round_trips_on_every_socket(server, handler):
    for index in (0, 1):
        with _Client(server, index) as cl:
            assert cl.SubmitJob([{"OP_ID": "OP_TEST_DELAY"}]) == 1342
            assert cl.WaitForJobChangeOnce(1342, ["status"], None, None,
                                           timeout=0) == luxi.JOB_NOTCHANGED
            assert cl.Query("node", ["name"], None) == {
                "method": "Query", "args": ["node", ["name"], None]}
            assert cl.QueryClusterInfo() == {"method": "QueryClusterInfo",
                                             "args": []}
    assert [c[0] for c in handler.calls[:4]] == [
        "SubmitJob", "WaitForJobChange", "Query", "QueryClusterInfo"]
    assert handler.calls[0][1] == [[{"OP_ID": "OP_TEST_DELAY"}]]
    assert {c[2].socket_path for c in handler.calls} == set(server.socket_paths)


def test_handler_sees_peer_credentials(server, handler):
    with _Client(server) as cl:
        cl.QueryConfigValues(["cluster_name"])
    ctx = handler.calls[0][2]
    assert (ctx.pid, ctx.uid, ctx.gid) == (os.getpid(), os.getuid(), os.getgid())
    assert str(os.getpid()) in str(ctx)


def test_socket_files_have_safe_modes(server, tmp_path):
    for path in server.socket_paths:
        st = os.lstat(path)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660
    assert stat.S_IMODE(os.stat(tmp_path / "socket").st_mode) == 0o770
    assert sorted(os.listdir(tmp_path / "socket")) == ["ganeti-master",
                                                       "ganeti-query"]


def test_every_sample_request_is_accepted(server, handler):
    samples = _SampleRequests()
    assert len(samples) > 30
    with _Raw(server) as sock:
        for body in samples:
            success, _ = _RawCall(sock, body)
            assert success
    assert [[m, a] for m, a, _ in handler.calls] == [
        [json.loads(b)["method"], json.loads(b)["args"]] for b in samples]


def test_handler_errors_reach_client_as_same_class(server):
    with _Client(server) as cl:
        with pytest.raises(errors.OpPrereqError) as info:
            cl.QueryTags("raise", "nosuch")
        assert info.value.args == ("Instance 'nosuch' not known",
                                   errors.ECODE_NOENT)
        with pytest.raises(errors.GenericError,
                           match="Internal error: KeyError: 'missing'"):
            cl.QueryTags("bug", "")
        with pytest.raises(errors.GenericError, match="cannot be encoded"):
            cl.QueryTags("object", "")
        # The connection survived all of that.
        assert cl.QueryTags("cluster", "")["method"] == "QueryTags"


@pytest.mark.parametrize("msg,check", [
    (b"{this is not json", lambda r: r.startswith("Failed to parse request:")),
    (b'["QueryTags", []]', lambda r: "not an object" in r),
    (b'{"method": "QueryTags"}', lambda r: "no method or arguments" in r),
    (b'{"method": "QueryTags", "args": 5}', lambda r: "not a list" in r),
    (b'{"method": "QueryTags", "args": [], "version": 2160000}',
     lambda r: r == ["LuxiError", ["LUXI version mismatch, server 3000000,"
                                   " request 2160000"]]),
    (b'{"method": "FormatDisk", "args": []}',
     lambda r: r == ["LuxiError", ["Unknown LUXI method 'FormatDisk'"]]),
])
def test_bad_requests_get_clear_errors_and_service_goes_on(server, handler,
                                                           msg, check):
    with _Raw(server) as sock, _Raw(server) as other:
        success, result = _RawCall(sock, msg)
        assert success is False
        assert check(result), result
        assert _RawCall(sock, _VALID)[0] is True
        assert _RawCall(other, _VALID)[0] is True
    assert all(m == "QueryClusterInfo" for m, _, _ in handler.calls)


def test_plain_parse_error_is_request_error_for_client(server):
    with _Raw(server) as sock:
        success, result = _RawCall(sock, b"nope")
    with pytest.raises(luxi.RequestError, match="Failed to parse request"):
        luxi.CheckResponse(success, result, None, constants.LUXI_VERSION)


def test_missing_version_is_accepted(server, handler):
    with _Raw(server) as sock:
        assert _RawCall(sock, b'{"method": "QueryClusterInfo", "args": []}') == (
            True, {"method": "QueryClusterInfo", "args": []})


def test_pipelined_and_split_messages(server, handler):
    with _Raw(server) as sock:
        # Two requests in one write, then one request in three writes.
        sock.sendall(_VALID + luxi.EOM + _VALID + luxi.EOM + _VALID[:10])
        time.sleep(0.05)
        sock.sendall(_VALID[10:30])
        time.sleep(0.05)
        sock.sendall(_VALID[30:] + luxi.EOM)
        data = b""
        while data.count(luxi.EOM) < 3:
            data += sock.recv(65536)
    assert len(handler.calls) == 3


def test_huge_message_cuts_off_only_that_client(server, handler):
    with _Raw(server) as bad, _Client(server) as good:
        assert good.QueryClusterInfo()["method"] == "QueryClusterInfo"
        try:
            bad.sendall(b"x" * (2 * 1024 * 1024))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: expected
        data = b""
        while True:
            try:
                chunk = bad.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        assert b"Request too large" in data
        assert good.QueryClusterInfo()["method"] == "QueryClusterInfo"
    assert [m for m, _, _ in handler.calls] == ["QueryClusterInfo"] * 2


def test_many_concurrent_clients(server, handler):
    failures: list[BaseException] = []

    def Work(worker: int) -> None:
        try:
            with _Client(server, worker % 2) as cl:
                for call in range(20):
                    got = cl.QueryTags("node", f"n{worker}-{call}")
                    assert got["args"] == ["node", f"n{worker}-{call}"]
        except BaseException as err:  # collected and reported below
            failures.append(err)

    threads = [threading.Thread(target=Work, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures[:3]
    assert len(handler.calls) == 50 * 20


def test_shutdown_with_idle_clients_is_prompt(tmp_path, handler):
    paths = [str(tmp_path / "q"), str(tmp_path / "m")]
    srv = luxi_server.LuxiServer(paths, handler)
    srv.Start()
    clients = [luxi.Client(paths[i % 2], timeouts=(5, 10)) for i in range(5)]
    for cl in clients:
        cl.QueryClusterInfo()
    raw = _Raw(srv)
    raw.sendall(b'{"method": "Query')  # half a message
    deadline = time.monotonic() + 5
    while srv.ClientCount() < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.ClientCount() == 6
    start = time.monotonic()
    srv.Shutdown()
    assert time.monotonic() - start < 1.5
    assert srv.ClientCount() == 0
    assert not os.path.exists(paths[0]) and not os.path.exists(paths[1])
    try:
        assert raw.recv(10) == b""  # disconnected
    except ConnectionResetError:
        pass  # also disconnected: the half message was still unread
    raw.close()
    with pytest.raises(luxi.NoMasterError):
        clients[0].QueryClusterInfo()  # reconnect fails: nothing listens
    for cl in clients:
        cl.Close()
    srv.Shutdown()  # idempotent


def test_idle_connection_closed_and_client_reconnects(tmp_path, handler):
    path = str(tmp_path / "q")
    with luxi_server.LuxiServer([path], handler, client_timeout=0.2) as srv:
        with luxi.Client(path, timeouts=(5, 10)) as cl:
            cl.QueryClusterInfo()
            time.sleep(0.5)
            assert srv.ClientCount() == 0
            # Not idempotent, yet safe: the request never reached the server.
            assert cl.SubmitJob([{"OP_ID": "OP_TEST_DELAY"}]) == 1342
    assert [m for m, _, _ in handler.calls] == ["QueryClusterInfo", "SubmitJob"]


def test_stale_socket_is_replaced_live_one_is_not(tmp_path, handler):
    path = str(tmp_path / "q")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    with luxi_server.LuxiServer([path], handler):
        with luxi.Client(path, timeouts=(5, 10)) as cl:
            assert cl.QueryClusterInfo()
        second = luxi_server.LuxiServer([path], handler)
        with pytest.raises(errors.LuxiError, match="already listening"):
            second.Start()
        with luxi.Client(path, timeouts=(5, 10)) as cl:
            assert cl.QueryClusterInfo()  # the first server still serves


def test_failed_start_leaves_nothing_behind(tmp_path, handler):
    good = str(tmp_path / "q")
    blocker = tmp_path / "m"
    blocker.write_text("not a socket")
    srv = luxi_server.LuxiServer([good, str(blocker)], handler)
    with pytest.raises(errors.LuxiError, match="is not a socket"):
        srv.Start()
    assert sorted(os.listdir(tmp_path)) == ["m"]
    assert blocker.read_text() == "not a socket"


def test_message_buffer_limits_unterminated_data():
    buf = luxi_server.MessageBuffer(max_size=10)
    assert buf.Feed(b"ab\x03cd") == [b"ab"]
    assert buf.Feed(b"e\x03\x03") == [b"cde", b""]
    assert not buf.HasPartial()
    assert buf.Feed(b"0123456789") == []
    with pytest.raises(errors.LuxiError, match="more than 10 bytes"):
        buf.Feed(b"A")
    # A long message is fine once terminated within the limit.
    big = luxi_server.MessageBuffer(max_size=100)
    for _ in range(9):
        assert big.Feed(b"0123456789") == []
    assert big.Feed(b"\x03") == [b"0123456789" * 9]
