"""Tests of ganeti.server.rapi: the RAPI request handler over real HTTPS.

An in-process HttpServer with the RAPI handler and a TLS certificate made
for the test talks real LUXI to an in-process LuxiServer whose answers the
test scripts; requests are written with http.client or, for malformed or
slow ones, on raw TLS sockets. No daemon is started.
"""

import base64
import http.client
import json
import socket
import ssl
import threading
import time

import pytest

from ganeti import errors
from ganeti.http import server as http_server
from ganeti.rapi import auth
from ganeti.server import luxi as luxi_server
from ganeti.server import rapi
from ganeti.utils import x509

_USERS = "admin adminpw write\nreader readpw read\n"


class RapiKit:
    """A RAPI server on 127.0.0.1 backed by a scripted LUXI server."""

    def __init__(self, tmp_path, reqauth=False, luxi_timeouts=(2.0, 2.0),
                 luxi_address=None, **server_args):
        self.cert = str(tmp_path / "rapi.pem")
        x509.GenerateSelfSignedSslCert(self.cert, 1, "cluster.example.com")
        (tmp_path / "users").write_text(_USERS)
        self.users = auth.RapiUsers(str(tmp_path / "users"))
        self.users.Load()
        self.script = {}
        self.calls = []
        sock_path = str(tmp_path / "luxi.sock")
        self.luxi = luxi_server.LuxiServer([sock_path], self._Luxi)
        self.luxi.Start()
        self.pool = rapi.LuxiClientPool(luxi_address or sock_path,
                                        timeouts=luxi_timeouts)
        handler = rapi.RemoteApiHandler(self.users.Get, reqauth, self.pool)
        ctx = http_server.MakeServerSslContext(self.cert, self.cert, None, False)
        self.server = http_server.HttpServer(
            "127.0.0.1", 0, handler, ssl_context=ctx,
            max_body_size=rapi.RAPI_MAX_BODY_SIZE,
            error_formatter=rapi.FormatErrorMessage, **server_args)
        self.server.Start()
        self.port = self.server.port
        self._thread = threading.Thread(target=self.server.ServeForever)
        self._thread.start()

    def _Luxi(self, method, args, _ctx):
        self.calls.append((method, args))
        answer = self.script[method]
        if isinstance(answer, Exception):
            raise answer
        return answer(*args) if callable(answer) else answer

    def SslContext(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        return ctx

    def Request(self, method, path, body=None, user=None, headers=None,
                ctype="application/json"):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                           context=self.SslContext(), timeout=10)
        hdrs = dict(headers or {})
        if body is not None:
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            hdrs["Content-Type"] = ctype
        if user:
            creds = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
            hdrs["Authorization"] = "Basic " + creds
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def RawSocket(self):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return self.SslContext().wrap_socket(raw)

    def Stop(self):
        self.server.Shutdown()
        self._thread.join(10)
        self.pool.Close()
        self.luxi.Shutdown()


@pytest.fixture
def kit(tmp_path):
    kits = []

    def _Make(**kwargs):
        kits.append(RapiKit(tmp_path, **kwargs))
        return kits[-1]

    yield _Make
    for made in kits:
        made.Stop()


_ADMIN = ("admin", "adminpw")
_READER = ("reader", "readpw")


def _Error(body):
    data = json.loads(body)
    assert list(data) == ["code", "message", "explain"]
    return data


def test_version_answer_bytes_and_headers(kit):
    k = kit()
    (status, headers, body) = k.Request("GET", "/version")
    assert (status, body) == (200, b"2\n")
    assert headers["Content-Type"] == "application/json"
    assert headers["Server"] == "Ganeti 3.0.2"
    assert headers["Content-Length"] == "2"
    (status, _, body) = k.Request("GET", "/2/features")
    assert body == (b'["node-migrate-reqv1", "node-evac-res1", '
                    b'"instance-create-reqv1", "instance-reinstall-reqv1"]\n')


def test_info_comes_from_luxi(kit):
    k = kit()
    k.script["QueryClusterInfo"] = {"name": "c1", "volume_group_name": "vg"}
    (status, _, body) = k.Request("GET", "/2/info")
    assert status == 200
    assert json.loads(body) == {"name": "c1", "volume_group_name": "vg",
                                "vg_name": "vg"}


def test_unauthenticated_write_matches_ganeti_answer(kit):
    k = kit()
    k.script["SubmitJob"] = 1
    (status, headers, body) = k.Request("PUT", "/2/tags?tag=a")
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="Ganeti Remote API"'
    assert body == (b'{"code": 401, "message": "Unauthorized", "explain": '
                    b'"No permission -- see authorization schemes"}\n')
    (status, _, _) = k.Request("PUT", "/2/tags?tag=a", user=("admin", "wrong"))
    assert status == 401
    (status, _, body) = k.Request("PUT", "/2/tags?tag=a", user=_READER)
    assert status == 403
    assert "reader" in _Error(body)["message"]
    assert k.calls == []


def test_authorised_write_submits_job_with_reason_trail(kit):
    k = kit()
    k.script["SubmitJob"] = lambda ops: 77
    (status, _, body) = k.Request("PUT", "/2/tags?tag=a&tag=b&reason=why",
                                  user=_ADMIN)
    assert (status, body) == (200, b"77\n")
    ((method, (ops, )), ) = k.calls
    assert method == "SubmitJob"
    (op, ) = ops
    assert (op["OP_ID"], op["kind"], op["tags"]) == ("OP_TAGS_SET", "cluster",
                                                     ["a", "b"])
    assert [entry[:2] for entry in op["reason"]] == [
        ["gnt:user", "why"], ["gnt:library:rlib2:tags", ""]]


def test_read_option_grants_query_but_anonymous_does_not(kit):
    k = kit()
    k.script["Query"] = {"fields": [], "data": []}
    assert k.Request("GET", "/2/query/node?fields=name")[0] == 401
    assert k.Request("GET", "/2/query/node?fields=name", user=_READER)[0] == 200
    assert k.Request("PUT", "/2/query/node", {"fields": ["name"]},
                     user=_READER)[0] == 200


def test_require_authentication(kit):
    k = kit(reqauth=True)
    assert k.Request("GET", "/version")[0] == 401
    assert k.Request("GET", "/version", user=_READER)[0] == 200


def test_unknown_path_and_unsupported_method(kit):
    k = kit()
    (status, _, body) = k.Request("GET", "/2/nosuch")
    assert status == 404
    assert _Error(body) == {"code": 404, "message": "Not Found",
                            "explain": "Nothing matches the given URI"}
    (status, _, body) = k.Request("POST", "/2/info", {}, user=_ADMIN)
    assert status == 501
    assert _Error(body)["message"] == "Method POST is unsupported for path /2/info"
    assert k.Request("HEAD", "/2/info")[0] == 501


def test_body_content_type_and_json_errors(kit):
    k = kit()
    k.script["SubmitJob"] = 1
    (status, _, body) = k.Request("PUT", "/2/modify", b"x=1", user=_ADMIN,
                                  ctype="application/x-www-form-urlencoded")
    assert status == 415
    assert "application/json" in _Error(body)["message"]
    (status, _, body) = k.Request("PUT", "/2/modify", b"{not json", user=_ADMIN)
    assert (status, _Error(body)["message"]) == (400, "Unable to parse JSON data")
    (status, _, body) = k.Request("PUT", "/2/modify", [1, 2], user=_ADMIN)
    assert status == 400
    assert "Type is 'list'" in _Error(body)["message"]
    assert k.Request("PUT", "/2/modify", {"candidate_pool_size": 3},
                     user=_ADMIN, ctype="application/json; charset=utf-8")[0] == 200
    assert len(k.calls) == 1


def test_huge_body_is_413_without_reading_it(kit):
    k = kit()
    sock = k.RawSocket()
    size = rapi.RAPI_MAX_BODY_SIZE + 1
    sock.sendall(f"PUT /2/modify HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 f"application/json\r\nContent-Length: {size}\r\n\r\n".encode())
    answer = sock.recv(65536)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"code": 413' in answer
    assert k.calls == []


@pytest.mark.parametrize("failure,status", [
    (errors.OpPrereqError("Node n9 unknown", errors.ECODE_NOENT), 404),
    (errors.OpPrereqError("Bad kind", errors.ECODE_INVAL), 400),
    (errors.OpPrereqError("Not now", errors.ECODE_STATE), 500),
    (errors.OpExecError("it broke"), 500),
    (errors.JobLost("Job 5 lost"), 404),
])
def test_master_errors_map_to_status_codes(kit, failure, status):
    k = kit()
    k.script["QueryTags"] = failure
    (got, _, body) = k.Request("GET", "/2/nodes/n9/tags")
    assert got == status
    assert _Error(body)["message"] == failure.args[0]


@pytest.mark.parametrize("failure", [errors.JobQueueFull(),
                                     errors.GenericError("Queue drained")])
def test_full_or_drained_queue_is_503(kit, failure):
    k = kit()
    k.script["SubmitJob"] = failure
    (status, _, body) = k.Request("PUT", "/2/redistribute-config", user=_ADMIN)
    assert status == 503
    assert "Job queue is" in _Error(body)["message"]


def test_unreachable_master_is_502(kit, tmp_path):
    k = kit(luxi_address=str(tmp_path / "no-such-socket"))
    (status, _, body) = k.Request("GET", "/2/info")
    assert status == 502
    assert "master daemon" in _Error(body)["message"]


def test_luxi_timeout_is_504(kit):
    k = kit(luxi_timeouts=(2.0, 0.3))
    release = threading.Event()
    k.script["QueryClusterInfo"] = lambda: release.wait(5)
    try:
        (status, _, body) = k.Request("GET", "/2/info")
    finally:
        release.set()
    assert status == 504
    assert "Timeout" in _Error(body)["message"]


def test_slow_client_does_not_block_others(kit):
    k = kit()
    k.script["QueryTags"] = ["t"]
    slow = k.RawSocket()
    slow.sendall(b"GET /2/tags HTTP/1.1\r\nHost: x\r\n")   # never finished
    start = time.monotonic()
    for _ in range(5):
        assert k.Request("GET", "/2/tags")[0] == 200
    assert time.monotonic() - start < 5
    slow.close()


def test_keep_alive_serves_several_requests_on_one_connection(kit):
    k = kit()
    k.script["QueryTags"] = ["t"]
    conn = http.client.HTTPSConnection("127.0.0.1", k.port,
                                       context=k.SslContext(), timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", "/2/tags")
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b'["t"]\n')
    finally:
        conn.close()
    assert len(k.calls) == 3


def test_luxi_clients_are_pooled(tmp_path):
    made = []

    class _Client:
        def __init__(self, address, timeouts):
            made.append(self)
            self.closed = False

        def Close(self):
            self.closed = True

    pool = rapi.LuxiClientPool("sock", max_idle=1, client_cls=_Client)
    first = pool.Get()
    second = pool.Get()
    pool.Put(first)
    pool.Put(second)
    assert second.closed and not first.closed
    assert pool.Get() is first
    pool.Put(first)
    pool.Close()
    assert first.closed and len(made) == 2
