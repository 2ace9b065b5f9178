"""Tests of ganeti.rapi.client against an in-process RAPI server over HTTPS.

The server is the real RAPI handler on a real TLS socket; only the master
daemon behind it is a small scripted object (a LUXI client stand-in).
"""

import threading
import time

import pytest

from ganeti.http import server as http_server
from ganeti.rapi import auth, client, connector
from ganeti.server import rapi
from ganeti.utils import x509


class _Master:
    """The LUXI side: canned cluster state, recorded jobs."""

    def __init__(self):
        self.jobs = {}
        self.statuses = {}

    def Close(self):
        pass

    def QueryClusterInfo(self):
        return {"name": "cluster.example.com"}

    def SubmitJob(self, ops):
        job_id = 100 + len(self.jobs)
        self.jobs[job_id] = [op.ToDict() for op in ops]
        self.statuses[job_id] = ["running", "success"]
        return job_id

    def _Advance(self, job_id):
        """The job's next status (each look at a job moves it on)."""
        statuses = self.statuses[job_id]
        if len(statuses) > 1:
            statuses.pop(0)
        return statuses[0]

    def QueryJobs(self, ids, fields):
        ids = sorted(self.jobs) if ids is None else [int(i) for i in ids]
        return [[{"id": job_id, "status": self._Advance(job_id)}.get(f)
                 for f in fields] if job_id in self.jobs else None
                for job_id in ids]

    def WaitForJobChangeOnce(self, job_id, fields, prev_info, prev_serial,
                             timeout):
        return [[self._Advance(int(job_id))], []]


class _Server:
    def __init__(self, tmp_path, mapper=None, **server_args):
        self.cert = str(tmp_path / "rapi.pem")
        x509.GenerateSelfSignedSslCert(self.cert, 1, "cluster.example.com")
        (tmp_path / "users").write_text("admin adminpw write\nreader rpw read\n")
        users = auth.RapiUsers(str(tmp_path / "users"))
        users.Load()
        self.master = _Master()
        pool = rapi.LuxiClientPool(
            "unused", client_cls=lambda address, timeouts: self.master)
        handler = rapi.RemoteApiHandler(users.Get, False, pool, mapper=mapper)
        ctx = http_server.MakeServerSslContext(self.cert, self.cert, None, False)
        self.server = http_server.HttpServer(
            "127.0.0.1", 0, handler, ssl_context=ctx,
            error_formatter=rapi.FormatErrorMessage, **server_args)
        self.server.Start()
        self.port = self.server.port
        self.thread = threading.Thread(target=self.server.ServeForever)
        self.thread.start()

    def Client(self, user=("admin", "adminpw"), **kwargs):
        kwargs.setdefault("cafile", self.cert)
        (username, password) = user or (None, None)
        return client.GanetiRapiClient("127.0.0.1", self.port, username, password,
                                       **kwargs)

    def Stop(self):
        self.server.Shutdown()
        self.thread.join(10)


@pytest.fixture
def server(tmp_path):
    made = []

    def _Make(**kwargs):
        made.append(_Server(tmp_path, **kwargs))
        return made[-1]

    yield _Make
    for srv in made:
        srv.Stop()


def test_verifies_against_given_ca_and_refuses_others(server, tmp_path):
    srv = server()
    assert srv.Client().GetVersion() == 2
    assert srv.Client(curl_config_fn=client.GenericCurlConfig(
        cafile=srv.cert)).GetInfo() == {"name": "cluster.example.com"}
    other = str(tmp_path / "other.pem")
    x509.GenerateSelfSignedSslCert(other, 2, "evil.example.com")
    with pytest.raises(client.CertificateError, match="certificate verify failed"):
        srv.Client(cafile=other).GetVersion()
    assert srv.Client(cafile=other, insecure=True).GetVersion() == 2
    with pytest.raises(client.CertificateError):
        srv.Client(verify_hostname=True).GetVersion()


def test_default_ca_is_the_cluster_certificate(server, tmp_path, monkeypatch):
    srv = server()
    monkeypatch.setattr(client, "_DefaultCaFile", lambda: srv.cert)
    assert srv.Client(cafile=None).GetVersion() == 2
    monkeypatch.setattr(client, "_DefaultCaFile",
                        lambda: str(tmp_path / "missing.pem"))
    with pytest.raises(client.CertificateError, match="insecure=True"):
        srv.Client(cafile=None).GetVersion()


def test_constructor_argument_checks():
    with pytest.raises(client.Error, match="Password not specified"):
        client.GanetiRapiClient("h", username="u")
    with pytest.raises(client.Error, match="without username"):
        client.GanetiRapiClient("h", password="p")
    with pytest.raises(client.Error, match="GenericCurlConfig"):
        client.GanetiRapiClient("h", curl_config_fn=lambda curl, logger: None)
    with pytest.raises(client.Error, match="CA bundle"):
        client.GenericCurlConfig(use_curl_cabundle=True, cafile="x")


def test_errors_carry_the_http_status(server):
    srv = server()
    with pytest.raises(client.GanetiApiError) as info:
        srv.Client().GetNodeRole("n1/../x")
    assert info.value.code == 404
    assert str(info.value) == "404 Not Found: Nothing matches the given URI"
    with pytest.raises(client.GanetiApiError) as info:
        srv.Client(user=("admin", "wrong")).AddClusterTags(["a"])
    assert info.value.code == 401
    with pytest.raises(client.GanetiApiError) as info:
        srv.Client(user=("reader", "rpw")).AddClusterTags(["a"])
    assert info.value.code == 403
    assert srv.master.jobs == {}


def test_write_sends_query_arguments_and_returns_job_id(server):
    srv = server()
    job_id = srv.Client().AddClusterTags(["a", "b c"], dry_run=True, reason="r1")
    assert job_id == 100
    (op, ) = srv.master.jobs[job_id]
    assert (op["OP_ID"], op["tags"], op["dry_run"]) == ("OP_TAGS_SET",
                                                        ["a", "b c"], True)
    assert op["reason"][0][:2] == ["gnt:user", "r1"]
    srv.Client().SetNodeRole("n1", "drained", force=True, auto_promote=False)
    op = srv.master.jobs[101][0]
    assert (op["drained"], op["force"], op["auto_promote"]) == (True, True, False)


def test_jobs_and_waiting(server):
    srv = server()
    cl = srv.Client()
    first = cl.RedistributeConfig()
    second = cl.RedistributeConfig()
    assert cl.GetJobs() == [first, second]
    assert [job["id"] for job in cl.GetJobs(bulk=True)] == [first, second]
    status = cl.WaitForJob(first, timeout=10)
    assert (status["id"], status["status"]) == (first, "success")
    assert cl.WaitForJobCompletion(second, period=0) is True
    reader = srv.Client(user=("reader", "rpw"))
    srv.master.statuses[second] = ["running", "error"]
    assert reader.WaitForJob(second, timeout=10, period=0.01)["status"] == "error"
    srv.master.statuses[second] = ["error"]
    assert cl.WaitForJobCompletion(second, period=0) is False


def test_wait_for_job_times_out(server):
    srv = server()
    cl = srv.Client()
    job_id = cl.RedistributeConfig()
    srv.master.statuses[job_id] = ["running"]
    with pytest.raises(client.GanetiApiError, match="not finished after"):
        cl.WaitForJob(job_id, timeout=0.2)


def test_old_server_without_features(server):
    srv = server(mapper=connector.Mapper(({}, [])))
    cl = srv.Client()
    assert cl.GetFeatures() == []
    with pytest.raises(client.GanetiApiError, match="version 1"):
        cl.CreateInstance("create", "i1", "diskless", [], [])


def test_reconnects_after_server_closed_idle_connection(server):
    srv = server(idle_timeout=0.2)
    cl = srv.Client()
    assert cl.GetVersion() == 2
    time.sleep(0.6)
    assert cl.GetVersion() == 2
    cl.Close()
    assert cl.GetVersion() == 2


def test_concurrent_use_from_threads(server):
    srv = server()
    cl = srv.Client()
    results = []

    def _Work():
        for _ in range(10):
            results.append(cl.GetInfo()["name"])

    threads = [threading.Thread(target=_Work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == ["cluster.example.com"] * 60
