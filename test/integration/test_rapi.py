"""The RAPI daemon on a one-node virtual cluster, over real HTTPS.

InitCluster (as gnt-cluster init) starts noded and masterd in a temporary
root; the test writes its own rapi.pem (ganeti.utils.x509) and users file
and starts daemons/ganeti-rapi on a loopback address and a free port. Every
request goes through TLS to the daemon, which talks LUXI to the real master
daemon. Every process started is stopped by its pid at the end.
"""

import base64
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest

pytest.importorskip("ganeti.jqueue")

from ganeti.rapi import client as rapi_client  # noqa: E402
from ganeti.utils import process, x509  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RAPI = os.path.join(TOP, "daemons", "ganeti-rapi")
MASTERD = os.path.join(TOP, "daemons", "ganeti-masterd")
NODE1 = "node1.example.com"
CLUSTER = "cluster.example.com"
ADMIN = ("admin", "s3cret")
READER = ("reader", "readonly")
USERS = ("# test users\nadmin s3cret write\n"
         "reader {cleartext}readonly read\n")

_INIT = """
from ganeti import bootstrap
bootstrap.InitCluster(
    cluster_name="cluster.example.com", mac_prefix="aa:00:00",
    master_netmask=None, master_netdev="lo", file_storage_dir=None,
    shared_file_storage_dir=None, gluster_storage_dir=None,
    candidate_pool_size=10, enabled_hypervisors=["fake"],
    enabled_disk_templates=["diskless", "file"], modify_ssh_setup=False,
    modify_etc_hosts=False)
"""

# The keys of GET /2/info and of a bulk node, in the order a Ganeti 3.0.2
# master sends them (spec/samples/rapi-2-info.json, rapi-2-nodes-bulk.json).
INFO_KEYS = [
    "software_version", "protocol_version", "config_version", "os_api_version",
    "export_version", "vcs_version", "architecture", "name", "master",
    "default_hypervisor", "enabled_hypervisors", "hvparams", "os_hvp",
    "beparams", "osparams", "ipolicy", "nicparams", "ndparams", "diskparams",
    "candidate_pool_size", "max_running_jobs", "max_tracked_jobs",
    "mac_prefix", "master_netdev", "master_netmask", "use_external_mip_script",
    "volume_group_name", "drbd_usermode_helper", "file_storage_dir",
    "shared_file_storage_dir", "gluster_storage_dir", "maintain_node_health",
    "ctime", "mtime", "uuid", "tags", "uid_pool", "default_iallocator",
    "default_iallocator_params", "reserved_lvs", "primary_ip_version",
    "prealloc_wipe_disks", "hidden_os", "blacklisted_os",
    "enabled_disk_templates", "install_image", "instance_communication_network",
    "zeroing_image", "compression_tools", "enabled_user_shutdown",
    "enabled_data_collectors", "data_collector_interval", "modify_ssh_setup",
    "ssh_key_type", "ssh_key_bits", "vg_name", "drbd_helper"]
NODE_KEYS = [
    "name", "offline", "master_candidate", "drained", "dtotal", "dfree",
    "sptotal", "spfree", "mtotal", "mnode", "mfree", "pinst_cnt", "sinst_cnt",
    "ctotal", "cnos", "cnodes", "csockets", "pip", "sip", "role", "pinst_list",
    "sinst_list", "master_capable", "vm_capable", "ndparams", "group.uuid",
    "ctime", "mtime", "uuid", "serial_no", "tags"]
JOB_KEYS = ["id", "ops", "status", "summary", "opstatus", "received_ts",
            "start_ts", "end_ts", "oplog", "opresult"]


def _FreePort(address):
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def _WaitGone(pid, timeout=15.0):
    deadline = time.monotonic() + timeout
    while process.IsProcessAlive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class _Cluster:
    """A one-node cluster plus its RAPI daemon."""

    def __init__(self, base):
        block = 100 + os.getpid() % 50
        self.base = base
        self.ip = f"127.0.{block}.1"
        self.noded_port = _FreePort(self.ip)
        self.port = _FreePort(self.ip)
        (base / "hosts").write_text(f"{self.ip} {NODE1} node1\n"
                                    f"127.0.{block}.100 {CLUSTER} cluster\n")
        self.root = base / NODE1
        self.root.mkdir()
        self.cert = str(base / "rapi-test.pem")
        self.pids = set()

    def Env(self):
        return dict(os.environ, GANETI_ROOTDIR=str(self.root),
                    GANETI_HOSTNAME=NODE1, GANETI_HOSTS_FILE=str(self.base / "hosts"),
                    GANETI_NODED_PORT=str(self.noded_port), PYTHONPATH=TOP)

    def Run(self, args, timeout=90):
        return subprocess.run(args, env=self.Env(), capture_output=True, text=True,
                              timeout=timeout)

    def UsersFile(self):
        return self.root / "var/lib/ganeti/rapi/users"

    def Pid(self, daemon):
        pid = process.ReadPidFile(str(self.root / f"var/run/ganeti/{daemon}.pid"))
        if pid and process.IsProcessAlive(pid):
            self.pids.add(pid)
            return pid
        return 0

    def Start(self):
        proc = self.Run([sys.executable, "-c", _INIT])
        self.Pid("ganeti-noded")
        self.Pid("ganeti-masterd")
        assert proc.returncode == 0, proc.stderr
        x509.GenerateSelfSignedSslCert(self.cert, 7, CLUSTER)
        self.UsersFile().write_text(USERS)
        proc = self.Run([sys.executable, RAPI, "-b", self.ip, "-p", str(self.port),
                         "-C", self.cert, "-K", self.cert])
        assert proc.returncode == 0, proc.stderr
        assert self.Pid("ganeti-rapi")

    def StopDaemon(self, daemon):
        pid = self.Pid(daemon)
        if pid:
            os.kill(pid, signal.SIGTERM)
            assert _WaitGone(pid)

    def StopAll(self):
        for daemon in ("ganeti-rapi", "ganeti-masterd", "ganeti-noded"):
            self.Pid(daemon)
        for pid in self.pids:
            if process.IsProcessAlive(pid):
                os.kill(pid, signal.SIGTERM)
        for pid in self.pids:
            if not _WaitGone(pid):
                os.kill(pid, signal.SIGKILL)
                _WaitGone(pid)

    def Client(self, user=ADMIN):
        (username, password) = user or (None, None)
        return rapi_client.GanetiRapiClient(self.ip, self.port, username, password,
                                            cafile=self.cert)

    def Raw(self, data):
        """Send raw bytes over TLS; return (status line, headers, body)."""
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        with socket.create_connection((self.ip, self.port), timeout=20) as raw:
            with ctx.wrap_socket(raw) as sock:
                sock.sendall(data)
                answer = b""
                while b"\r\n\r\n" not in answer:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
                (head, _, body) = answer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:])
                length = int(headers.get("Content-Length", 0))
                while len(body) < length:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    body += chunk
        return lines[0], headers, body

    def Request(self, method, path, body=b"", user=None,
                ctype="application/json", extra=""):
        auth = ""
        if user:
            token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
            auth = f"Authorization: Basic {token}\r\n"
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.ip}\r\n{auth}{extra}"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n")
        return self.Raw(head.encode() + body)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    vc = _Cluster(tmp_path_factory.mktemp("rapi"))
    try:
        vc.Start()
        yield vc
    finally:
        vc.StopAll()


def _Json(body):
    assert body.endswith(b"\n")
    return json.loads(body)


def test_version_and_features_answer_like_ganeti(cluster):
    (status, headers, body) = cluster.Request("GET", "/version")
    assert (status, body) == ("HTTP/1.1 200 OK", b"2\n")
    assert headers["Content-Type"] == "application/json"
    assert headers["Server"] == "Ganeti 3.0.2"
    assert headers["Content-Length"] == "2"
    (status, headers, body) = cluster.Request("GET", "/2/features")
    assert body == (b'["node-migrate-reqv1", "node-evac-res1", '
                    b'"instance-create-reqv1", "instance-reinstall-reqv1"]\n')
    assert headers["Content-Length"] == "94"


def test_info_nodes_and_groups(cluster):
    cl = cluster.Client(user=None)
    info = cl.GetInfo()
    assert list(info) == INFO_KEYS
    assert (info["name"], info["master"]) == (CLUSTER, NODE1)
    assert info["vg_name"] == info["volume_group_name"]
    assert cl.GetNodes() == [NODE1]
    (node, ) = cl.GetNodes(bulk=True)
    assert list(node) == NODE_KEYS
    assert (node["name"], node["role"], node["pip"]) == (NODE1, "M", cluster.ip)
    assert cl.GetNode(NODE1)["secondary_ip"] == cluster.ip
    assert cl.GetNodeRole(NODE1) == "master"
    (status, _, body) = cluster.Request("GET", "/2/nodes")
    assert _Json(body) == [{"id": NODE1, "uri": f"/2/nodes/{NODE1}"}]
    with pytest.raises(rapi_client.GanetiApiError) as info:
        cl.GetNode("nosuch.example.com")
    assert info.value.code == 404


def test_tags_round_trip_through_jobs(cluster):
    cl = cluster.Client()
    job_id = cl.AddClusterTags(["web", "prod"], reason="integration test")
    assert isinstance(job_id, int)
    job = cl.WaitForJob(job_id, timeout=60)
    assert job["status"] == "success"
    assert list(job) == JOB_KEYS
    assert job["summary"] == ["TAGS_SET"]
    assert job["ops"][0]["reason"][0][:2] == ["gnt:user", "integration test"]
    assert job["ops"][0]["reason"][1][:2] == ["gnt:library:rlib2:tags", ""]
    assert sorted(cl.GetClusterTags()) == ["prod", "web"]
    dry = cl.AddClusterTags(["never"], dry_run=True)
    assert cl.WaitForJob(dry, timeout=60)["status"] == "success"
    assert cl.WaitForJobCompletion(cl.DeleteClusterTags(["web"]), period=0.1)
    assert cl.GetClusterTags() == ["prod"]
    assert cl.WaitForJob(cl.AddNodeTags(NODE1, ["rack1"]), timeout=60)[
        "status"] == "success"
    assert cl.GetNodeTags(NODE1) == ["rack1"]


def test_jobs_list_bulk_and_wait(cluster):
    cl = cluster.Client()
    job_id = cl.RedistributeConfig()
    assert cl.WaitForJob(job_id, timeout=60)["status"] == "success"
    assert job_id in cl.GetJobs()
    (status, _, body) = cluster.Request("GET", "/2/jobs")
    assert {"id": job_id, "uri": f"/2/jobs/{job_id}"} in _Json(body)
    bulk = {job["id"]: job for job in cl.GetJobs(bulk=True)}
    assert list(bulk[job_id]) == JOB_KEYS[:8]
    assert bulk[job_id]["summary"] == ["CLUSTER_REDIST_CONF"]
    change = cl.WaitForJobChange(job_id, ["status", "summary"], None, None)
    assert change["job_info"] == ["success", ["CLUSTER_REDIST_CONF"]]
    (status, _, body) = cluster.Request("GET", "/2/jobs/999999")
    assert status.startswith("HTTP/1.1 404")


def test_query_resource(cluster):
    cl = cluster.Client(user=READER)
    result = cl.Query("node", ["name", "role"], ["=", "name", NODE1])
    assert result["data"] == [[[0, NODE1], [0, "M"]]]
    fields = cl.QueryFields("node", ["name"])["fields"]
    assert [field["name"] for field in fields] == ["name"]


def test_unauthenticated_and_unauthorised_writes_change_nothing(cluster):
    cl = cluster.Client()
    jobs_before = cl.GetJobs()
    tags_before = cl.GetClusterTags()
    (status, headers, body) = cluster.Request("PUT", "/2/tags?tag=evil")
    assert status == "HTTP/1.1 401 Unauthorized"
    assert headers["WWW-Authenticate"] == 'Basic realm="Ganeti Remote API"'
    assert body == (b'{"code": 401, "message": "Unauthorized", "explain": '
                    b'"No permission -- see authorization schemes"}\n')
    (status, _, _) = cluster.Request("PUT", "/2/tags?tag=evil",
                                     user=("admin", "wrong"))
    assert status.startswith("HTTP/1.1 401")
    (status, _, body) = cluster.Request("PUT", "/2/tags?tag=evil", user=READER)
    assert status == "HTTP/1.1 403 Forbidden"
    assert "'write'" in _Json(body)["message"]
    assert cl.GetJobs() == jobs_before
    assert cl.GetClusterTags() == tags_before


@pytest.mark.parametrize("method,path,body,ctype,status,message", [
    ("PUT", "/2/modify", b"{oops", "application/json", 400,
     "Unable to parse JSON data"),
    ("PUT", f"/2/nodes/{NODE1}/role", b'{"role": "regular"}', "application/json",
     400, "Body contents: Type is 'dict', but 'str' is expected"),
    ("PUT", "/2/modify", b"a=b", "text/plain", 415, "application/json"),
    ("GET", "/2/nothing-here", b"", "application/json", 404, "Not Found"),
    ("DELETE", "/2/info", b"", "application/json", 501,
     "Method DELETE is unsupported for path /2/info"),
    ("PUT", "/2/modify", b'{"candidate_pool_size": "many"}', "application/json",
     400, "Invalid body parameters"),
])
def test_bad_requests_get_documented_errors(cluster, method, path, body, ctype,
                                            status, message):
    cl = cluster.Client()
    jobs_before = cl.GetJobs()
    (line, headers, answer) = cluster.Request(method, path, body, user=ADMIN,
                                              ctype=ctype)
    assert line.split()[1] == str(status)
    assert headers["Content-Type"] == "application/json"
    error = _Json(answer)
    assert error["code"] == status and message in error["message"]
    assert cl.GetJobs() == jobs_before


def test_huge_body_is_refused(cluster):
    jobs_before = cluster.Client().GetJobs()
    token = base64.b64encode(":".join(ADMIN).encode()).decode()
    head = ("PUT /2/modify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            f"\r\nAuthorization: Basic {token}"
            f"\r\nContent-Length: {64 * 1024 * 1024}\r\n\r\n")
    (status, _, body) = cluster.Raw(head.encode() + b'{"candidate_pool_size": ')
    assert status.startswith("HTTP/1.1 413 ")
    error = _Json(body)
    assert error["code"] == 413 and "exceeds the limit" in error["message"]
    assert cluster.Client().GetJobs() == jobs_before


def test_slow_client_does_not_block_others(cluster):
    ctx = ssl.create_default_context(cafile=cluster.cert)
    ctx.check_hostname = False
    raw = socket.create_connection((cluster.ip, cluster.port), timeout=20)
    slow = ctx.wrap_socket(raw)
    try:
        slow.sendall(b"PUT /2/tags?tag=slow HTTP/1.1\r\nHost: x\r\n")
        cl = cluster.Client(user=None)
        start = time.monotonic()
        for _ in range(10):
            assert cl.GetVersion() == 2
        assert cl.GetInfo()["name"] == CLUSTER
        assert time.monotonic() - start < 5
    finally:
        slow.close()
    assert "slow" not in cluster.Client().GetClusterTags()


def test_users_file_is_reread_without_restart(cluster):
    newcomer = rapi_client.GanetiRapiClient(cluster.ip, cluster.port, "newcomer",
                                            "pw", cafile=cluster.cert)
    with pytest.raises(rapi_client.GanetiApiError) as info:
        newcomer.AddClusterTags(["x"], dry_run=True)
    assert info.value.code == 401
    users = cluster.UsersFile()
    tmp = users.with_name("users.tmp")
    tmp.write_text(USERS + "newcomer pw write\n")
    os.rename(tmp, users)                      # as editors replace files
    deadline = time.monotonic() + 10
    while True:
        try:
            job_id = newcomer.AddClusterTags(["x"], dry_run=True)
            break
        except rapi_client.GanetiApiError as err:
            assert err.code == 401 and time.monotonic() < deadline
            time.sleep(0.1)
    assert isinstance(job_id, int)
    users.write_text(USERS)


def test_master_down_is_502_and_recovery_is_automatic(cluster):
    cl = cluster.Client()
    assert cl.GetInfo()["name"] == CLUSTER
    cluster.StopDaemon("ganeti-masterd")
    try:
        with pytest.raises(rapi_client.GanetiApiError) as info:
            cl.GetInfo()
        assert info.value.code == 502
        assert "master" in str(info.value).lower()
    finally:
        proc = cluster.Run([sys.executable, MASTERD])
        assert proc.returncode == 0, proc.stderr
        assert cluster.Pid("ganeti-masterd")
    for _ in range(3):                          # pooled LUXI clients reconnect
        assert cl.GetInfo()["name"] == CLUSTER
