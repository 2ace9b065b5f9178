"""RAPI instance, node and group resources against a real master, over HTTPS.

The cluster is made as an operator makes it: tools/vcluster-setup, `node1/cmd
gnt-cluster init` (diskless, file and sharedfile templates, fake hypervisor,
routed NICs; the shared file storage directory is one host directory both
nodes see), node2 added with `gnt-node add` over a real sshd. The OS
definitions are test/data/os, found through GANETI_OS_SEARCH_PATH. ganeti-rapi
runs on node1's address and GANETI_RAPI_PORT with the cluster's rapi.pem and
a users file written here; everything goes through the client library
(ganeti.rapi.client.GanetiRapiClient) over real TLS, the requests the client
cannot send malformed through a raw TLS socket.

Every process started is stopped by pid at the end.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import socket
import ssl

import pytest

from support import sshd as sshd_support
from support.cluster import MasterCluster

from ganeti.rapi import client as rapi_client

TREE = pathlib.Path(__file__).resolve().parents[2]
OS_DIR = TREE / "test" / "data" / "os"
OS = "api20+default"
SAMPLES = pathlib.Path("/work/shared/spec/samples")
ADMIN = ("admin", "s3cret")
READER = ("reader", "readonly")
USERS = "admin s3cret write\nreader readonly read\n"
MiB = 1024 * 1024

# The keys of a bulk instance, as a Ganeti 3.0.2 master sends them
# (spec/samples/rapi-2-instances-bulk.json).
BULK_KEYS = [
    "name", "admin_state", "os", "pnode", "snodes", "disk_template", "nic.ips",
    "nic.macs", "nic.modes", "nic.uuids", "nic.names", "nic.links",
    "nic.networks", "nic.networks.names", "nic.bridges", "network_port",
    "disk.sizes", "disk.spindles", "disk_usage", "disk.uuids", "disk.names",
    "beparams", "hvparams", "oper_state", "oper_ram", "oper_vcpus", "status",
    "custom_hvparams", "custom_beparams", "custom_nicparams", "ctime", "mtime",
    "uuid", "serial_no", "tags"]

pytestmark = pytest.mark.skipif(not sshd_support.Available(),
                                reason="OpenSSH sshd is needed to add nodes")


class RapiCluster:
    """The 2-node cluster, node2's sshd and the RAPI daemon on node1."""

    def __init__(self, base: pathlib.Path) -> None:
        self.base = base
        self.shared = base / "shared"
        (base / "vc").mkdir()
        self.vc = MasterCluster.VclusterSetup(base / "vc", count=2)
        self.key = sshd_support.ClientKey(base / "ssh-key")
        self.server: sshd_support.Sshd | None = None
        self.ip = self.vc.ips["node1"]
        self.port = self.vc.rapi_port

    def Start(self) -> None:
        self.shared.mkdir()
        proc = self.vc.InitWithCli([
            "--enabled-disk-templates=diskless,file,sharedfile",
            f"--shared-file-storage-dir={self.shared}",
            "-N", "mode=routed,link=main"])
        assert proc.returncode == 0, proc.stderr
        env = sshd_support.NodeEnv(self.vc.Root("node2"), "node2",
                                   self.vc.base / "hosts",
                                   GANETI_OS_SEARCH_PATH=str(OS_DIR),
                                   GANETI_NODED_PORT=str(self.vc.port))
        self.server = sshd_support.Sshd(self.base / "sshd-node2",
                                        self.vc.ips["node2"], self.key, node_env=env)
        self.server.Start()
        proc = self.vc.Cmd(["gnt-node", "add", "--no-ssh-key-check",
                            "--node-parameters", f"ssh_port={self.server.port}",
                            "node2"], timeout=180,
                           GANETI_SSH_KEY_FILE=str(self.key.path))
        assert proc.returncode == 0, proc.stderr
        users = self.vc.Root() / "var/lib/ganeti/rapi/users"
        users.parent.mkdir(parents=True, exist_ok=True)
        users.write_text(USERS)
        if not self.vc.Pid("ganeti-rapi"):
            proc = self.vc.Cmd(["daemon-util", "start", "ganeti-rapi"])
            assert proc.returncode == 0, (proc.stdout, proc.stderr)
        assert self.vc.Pid("ganeti-rapi")
        self.vc.RecordDaemons()

    def Stop(self) -> list[int]:
        if self.server is not None:
            self.server.Stop()
        return self.vc.StopAll()

    @property
    def cert(self) -> str:
        return str(self.vc.Root() / "var/lib/ganeti/rapi.pem")

    def Client(self, user: tuple[str, str] | None = ADMIN
               ) -> rapi_client.GanetiRapiClient:
        (username, password) = user or (None, None)
        return rapi_client.GanetiRapiClient(self.ip, self.port, username, password,
                                            cafile=self.cert)

    def Request(self, method: str, path: str, body: bytes = b"",
                user: tuple[str, str] = ADMIN) -> tuple[int, dict]:
        """A raw request over TLS; (status code, decoded JSON answer)."""
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        token = base64.b64encode(":".join(user).encode()).decode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.ip}\r\n"
                f"Authorization: Basic {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}"
                "\r\nConnection: close\r\n\r\n")
        answer = b""
        with socket.create_connection((self.ip, self.port), timeout=30) as raw:
            with ctx.wrap_socket(raw) as sock:
                sock.sendall(head.encode() + body)
                while chunk := sock.recv(65536):
                    answer += chunk
        (head_text, _, payload) = answer.partition(b"\r\n\r\n")
        return int(head_text.split()[1]), json.loads(payload)

    def Config(self) -> dict:
        path = self.vc.Root() / "var/lib/ganeti/config.data"
        return json.loads(path.read_text())

    def Done(self, job_id: int, status: str = "success") -> dict:
        """Wait for a job; check its status; return its details."""
        job = self.Client().WaitForJob(job_id, timeout=120)
        assert job["status"] == status, job
        return job

    def RunsOn(self, name: str) -> list[str]:
        """The nodes whose fake hypervisor has name running."""
        return [node for node in ("node1", "node2")
                if (self.vc.Root(node) / "var/run/ganeti/fake-hypervisor" /
                    name).exists()]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("rapi-inst")
    old = os.environ.get("GANETI_OS_SEARCH_PATH")
    os.environ["GANETI_OS_SEARCH_PATH"] = str(OS_DIR)
    vc = RapiCluster(base)
    body_ok = False
    try:
        vc.Start()
        yield vc
        body_ok = True
    finally:
        left = vc.Stop()
        if old is None:
            os.environ.pop("GANETI_OS_SEARCH_PATH", None)
        else:
            os.environ["GANETI_OS_SEARCH_PATH"] = old
    if body_ok:
        assert left == [], f"processes left after daemon-util stop-all: {left}"


_NEXT_IP = iter(range(10, 250))


def _Create(cl: rapi_client.GanetiRapiClient, name: str, template: str = "diskless",
            disks: list | None = None, **kwargs) -> int:
    """Submit a version-1 create of a routed-NIC instance; the job id."""
    params = {"os": OS, "pnode": "node1", "name_check": False, "ip_check": False}
    params.update(kwargs)
    nics = [{"ip": f"192.0.2.{next(_NEXT_IP)}"}]
    return cl.CreateInstance("create", name, template, disks or [], nics, **params)


def test_create_v1_and_get_bulk_and_single(cluster):
    cl = cluster.Client()
    job_id = _Create(cl, "web1", beparams={"minmem": 128, "maxmem": 128})
    assert isinstance(job_id, int)
    job = cluster.Done(job_id)
    assert job["summary"] == ["INSTANCE_CREATE(web1)"]
    assert job["opresult"] == [["node1"]]
    assert cl.GetInstances() == ["web1"]
    (status, listing) = cluster.Request("GET", "/2/instances")
    assert (status, listing) == (200, [{"id": "web1", "uri": "/2/instances/web1"}])
    sample = json.loads((SAMPLES / "rapi-2-instances-bulk.json").read_text())
    (inst,) = cl.GetInstances(bulk=True)
    assert list(inst) == list(sample[0]) == BULK_KEYS
    for key in BULK_KEYS:
        assert type(inst[key]) is type(sample[0][key]) or None in (
            inst[key], sample[0][key]), key
    assert (inst["name"], inst["status"], inst["pnode"], inst["os"]) == (
        "web1", "running", "node1", OS)
    assert inst["beparams"]["memory"] == inst["beparams"]["maxmem"] == 128
    assert inst["custom_beparams"] == {"minmem": 128, "maxmem": 128}
    assert (inst["oper_state"], inst["oper_ram"]) == (True, 128)
    assert inst["nic.modes"] == ["routed"] and inst["disk.sizes"] == []
    assert inst["nic.ips"] == ["192.0.2.10"] and inst["nic.links"] == ["main"]
    single = cl.GetInstance("web1")
    info_sample = json.loads((SAMPLES / "rapi-2-instance-info.json").read_text())
    assert list(single) == list(info_sample) == BULK_KEYS
    assert {k: v for k, v in single.items() if k != "mtime"} == {
        k: v for k, v in inst.items() if k != "mtime"}


def test_instance_info_job(cluster):
    cl = cluster.Client()
    job = cluster.Done(cl.GetInstanceInfo("web1"))
    (result,) = job["opresult"]
    data = result["web1"]
    assert data["run_state"] == "up" and data["pnode"] == "node1"
    assert job["summary"] == ["INSTANCE_QUERY_DATA"]
    static = cluster.Done(cl.GetInstanceInfo("web1", static=True))
    assert static["opresult"][0]["web1"]["run_state"] is None


def test_dry_run_answers_a_job_and_changes_nothing(cluster):
    cl = cluster.Client()
    sample = json.loads((SAMPLES / "rapi-PUT-startup-dryrun.json").read_text())
    serial = cluster.Config()["serial_no"]
    job_id = cl.ShutdownInstance("web1", dry_run=True)
    assert type(job_id) is type(sample) is int
    cluster.Done(job_id)
    assert cl.GetInstance("web1")["status"] == "running"
    assert cluster.RunsOn("web1") == ["node1"]
    assert cluster.Config()["serial_no"] == serial


def test_shutdown_startup_reboot_console(cluster):
    cl = cluster.Client()
    cluster.Done(cl.ShutdownInstance("web1", timeout=5))
    inst = cl.GetInstance("web1")
    assert (inst["status"], inst["admin_state"], inst["oper_state"]) == (
        "ADMIN_down", "down", False)
    assert cluster.RunsOn("web1") == []
    with pytest.raises(rapi_client.GanetiApiError) as info:
        cl.GetInstanceConsole("web1")
    assert info.value.code == 503
    cluster.Done(cl.StartupInstance("web1"))
    assert cl.GetInstance("web1")["status"] == "running"
    for kind in ("soft", "hard", "full"):
        job = cluster.Done(cl.RebootInstance("web1", reboot_type=kind))
        assert job["ops"][0]["reboot_type"] == kind
        assert cl.GetInstance("web1")["status"] == "running"
    console = cluster.Client(READER).GetInstanceConsole("web1")
    assert console["instance"] == "web1"
    assert console["kind"] in ("ssh", "vnc", "spice", "msg")


def test_modify_beparams_and_tags(cluster):
    cl = cluster.Client()
    cluster.Done(cl.ModifyInstance("web1", custom_beparams={"maxmem": 256}))
    inst = cl.GetInstance("web1")
    assert inst["custom_beparams"] == {"minmem": 128, "maxmem": 256}
    assert inst["beparams"]["memory"] == 256
    cluster.Done(cl.AddInstanceTags("web1", ["role:web", "tier1"]))
    assert sorted(cl.GetInstanceTags("web1")) == ["role:web", "tier1"]
    assert sorted(cl.GetInstance("web1")["tags"]) == ["role:web", "tier1"]
    cluster.Done(cl.DeleteInstanceTags("web1", ["tier1"]))
    assert cl.GetInstanceTags("web1") == ["role:web"]


def test_rename(cluster):
    cl = cluster.Client()
    cluster.Done(cl.ShutdownInstance("web1", timeout=5))
    job = cluster.Done(cl.RenameInstance("web1", "web2", ip_check=False,
                                         name_check=False))
    assert job["opresult"] == ["web2"]
    assert cl.GetInstances() == ["web2"]
    with pytest.raises(rapi_client.GanetiApiError) as info:
        cl.GetInstance("web1")
    assert info.value.code == 404
    cluster.Done(cl.StartupInstance("web2"))


def _DiskFile(cluster, node: str, name: str) -> pathlib.Path:
    (path,) = (cluster.vc.Root(node) / "srv/ganeti/file-storage").rglob(
        "*.file.disk0")
    assert name in str(path)
    return path


def test_file_disk_grow_and_disk_activation(cluster):
    cl = cluster.Client()
    cluster.Done(_Create(cl, "fl1", "file", [{"size": 1024}]))
    disk = _DiskFile(cluster, "node1", "fl1")
    assert disk.stat().st_size == 1024 * MiB
    cluster.Done(cl.GrowInstanceDisk("fl1", 0, 512))
    assert disk.stat().st_size == 1536 * MiB
    assert cl.GetInstance("fl1")["disk.sizes"] == [1536]
    assert cl.GetInstance("fl1")["disk_usage"] == 1536
    cluster.Done(cl.ShutdownInstance("fl1", timeout=5))
    cluster.Done(cl.DeactivateInstanceDisks("fl1"))
    links = cluster.vc.Root() / "var/run/ganeti/instance-disks"
    assert not list(links.glob("fl1:*")) if links.is_dir() else True
    cluster.Done(cl.ActivateInstanceDisks("fl1"))
    assert [p.name for p in links.glob("fl1:*")] == ["fl1:0"]
    cluster.Done(cl.DeactivateInstanceDisks("fl1"))
    disk.unlink()
    cluster.Done(cl.RecreateInstanceDisks("fl1"))
    assert disk.stat().st_size == 1536 * MiB
    job = cluster.Done(cl.ReinstallInstance("fl1", no_startup=True))
    assert job["summary"] == ["INSTANCE_SHUTDOWN(fl1)", "INSTANCE_REINSTALL(fl1)"]
    assert disk.read_bytes().startswith(b"created fl1 variant=default reinstall=1")


def test_migrate_and_failover_sharedfile_between_nodes(cluster):
    cl = cluster.Client()
    cluster.Done(_Create(cl, "sh1", "sharedfile", [{"size": 1024}]))
    assert cluster.RunsOn("sh1") == ["node1"]
    cluster.Done(cl.MigrateInstance("sh1", mode="live", target_node="node2"))
    inst = cl.GetInstance("sh1")
    assert (inst["pnode"], inst["status"]) == ("node2", "running")
    assert cluster.RunsOn("sh1") == ["node2"]
    cluster.Done(cl.FailoverInstance("sh1", target_node="node1"))
    assert cl.GetInstance("sh1")["pnode"] == "node1"
    assert cluster.RunsOn("sh1") == ["node1"]


def _SubJobs(cluster, job_id: int) -> None:
    """Wait for a node job and for every job it submitted (result "jobs")."""
    job = cluster.Done(job_id)
    (result,) = job["opresult"]
    assert result["jobs"], result
    for (ok, sub_job) in result["jobs"]:
        assert ok, sub_job
        cluster.Done(sub_job)


def test_node_migrate_evacuate_role_and_modify(cluster):
    cl = cluster.Client()
    cluster.Done(_Create(cl, "dl2", pnode="node2"))
    _SubJobs(cluster, cl.MigrateNode("node2", mode="live", target_node="node1"))
    assert cl.GetInstance("dl2")["pnode"] == "node1"
    assert cluster.RunsOn("dl2") == ["node1"]
    job = cluster.Done(cl.EvacuateNode("node1", mode="primary-only",
                                       remote_node="node2"), status="error")
    assert "only secondary instances can be evacuated" in job["opresult"][0][1][0]
    job = cluster.Done(cl.EvacuateNode("node1", mode="primary-only",
                                       iallocator="hail"), status="error")
    assert ("Unable to evacuate instances fl1 (Instances of type file cannot"
            " be relocated)") in job["opresult"][0][1][0]
    assert cl.GetInstance("dl2")["pnode"] == "node1"
    cluster.Done(cl.DeleteInstance("fl1"))
    _SubJobs(cluster, cl.EvacuateNode("node1", mode="primary-only",
                                      iallocator="hail"))
    moved = ("dl2", "sh1", "web2")
    assert all(cl.GetInstance(name)["pnode"] == "node2" for name in moved)
    assert all(cluster.RunsOn(name) == ["node2"] for name in moved)
    cluster.Done(cl.SetNodeRole("node2", "drained", force=True))
    assert cl.GetNodeRole("node2") == "drained"
    cluster.Done(cl.ModifyNode("node2", drained=False))
    # Undrained, it promotes itself: the candidate pool (10) is not full.
    assert cl.GetNodeRole("node2") == "master-candidate"
    cluster.Done(cl.SetNodeRole("node2", "regular", force=True))
    assert cl.GetNodeRole("node2") == "regular"
    cluster.Done(cl.SetNodeRole("node2", "master-candidate"))
    assert cl.GetNodeRole("node2") == "master-candidate"
    result = cl.Query("node", ["name", "pinst_list"], ["=", "name", "node2"])
    ((_, name), (_, pinst_list)), = result["data"]
    assert (name, sorted(pinst_list)) == ("node2", list(moved))


def test_bulk_nodes_with_a_shared_file_storage_dir(cluster):
    nodes = cluster.Client().GetNodes(bulk=True)
    assert sorted(node["name"] for node in nodes) == ["node1", "node2"]


def test_groups_against_the_master(cluster):
    cl = cluster.Client()
    cluster.Done(cl.CreateGroup("rack2"))
    cluster.Done(cl.AssignGroupNodes("rack2", ["node2"], force=True))
    group = cl.GetGroup("rack2")
    assert group["node_list"] == ["node2"] and group["node_cnt"] == 1
    cluster.Done(cl.ModifyGroup("rack2", alloc_policy="last_resort"))
    assert cl.GetGroup("rack2")["alloc_policy"] == "last_resort"
    cluster.Done(cl.AssignGroupNodes("default", ["node2"], force=True))
    cluster.Done(cl.DeleteGroup("rack2"))
    assert "rack2" not in cl.GetGroups()


@pytest.mark.parametrize("method,path,body,code,message", [
    ("POST", "/2/instances", {"__version__": 1, "mode": "create",
                              "name": "bad1", "disk_template": "diskless",
                              "disks": [], "nics": [{"ip": "192.0.2.251"}],
                              "os": "nosuchos",
                              "pnode": "node1", "name_check": False,
                              "ip_check": False}, "job",
     "OS 'nosuchos' not in supported OS list"),
    ("POST", "/2/instances", ["not", "a", "dict"], 400,
     "Body contents: Type is 'list', but 'dict' is expected"),
    ("POST", "/2/instances", {"mode": "create", "name": "bad1"}, 400,
     "no longer supported"),
    ("POST", "/2/instances", {"__version__": 1, "mode": "create",
                              "name": "bad1", "disk_template": "diskless",
                              "disks": "many", "nics": []}, 400,
     "Invalid body parameters"),
    ("PUT", "/2/instances/nosuch/startup", None, "job",
     "Instance 'nosuch' not known"),
    ("GET", "/2/instances/nosuch", None, 404, "nosuch"),
    ("POST", "/2/instances/sh1/disk/0/grow", {"amount": "big"}, 400,
     "Invalid body parameters"),
    ("PUT", "/2/instances/sh1/modify", "beparams", 400,
     "Body contents: Type is 'str', but 'dict' is expected"),
])
def test_bad_input_gets_documented_answers(cluster, method, path, body, code,
                                           message):
    serial = cluster.Config()["serial_no"]
    instances = sorted(cluster.Client().GetInstances())
    payload = b"" if body is None else json.dumps(body).encode()
    (status, answer) = cluster.Request(method, path, payload)
    if code == "job":
        assert status == 200, answer
        job = cluster.Done(answer, status="error")
        ((kind, (text, _ecode)),) = job["opresult"]
        assert kind == "OpPrereqError" and message in text
    else:
        assert (status, answer["code"]) == (code, code)
        assert message in answer["message"]
    assert cluster.Config()["serial_no"] == serial
    assert sorted(cluster.Client().GetInstances()) == instances


def test_reader_cannot_create_or_delete(cluster):
    cl = cluster.Client(READER)
    with pytest.raises(rapi_client.GanetiApiError) as info:
        _Create(cl, "bad2")
    assert info.value.code == 403
    with pytest.raises(rapi_client.GanetiApiError) as info:
        cl.DeleteInstance("sh1")
    assert info.value.code == 403


def test_unsupported_operations_answer_with_the_masters_error(cluster):
    cl = cluster.Client()
    serial = cluster.Config()["serial_no"]
    for job_id in (cl.ReplaceInstanceDisks("sh1", mode="replace_auto"),
                   cl.PrepareExport("sh1", "local"),
                   cl.ExportInstance("sh1", "local", "node1")):
        job = cluster.Done(job_id, status="error")
        ((kind, args),) = job["opresult"]
        assert kind.startswith("Op") and args, job["opresult"]
    assert cl.GetInstance("sh1")["status"] == "running"
    assert cluster.Config()["serial_no"] == serial


def test_delete_leaves_nothing(cluster):
    cl = cluster.Client()
    for name in cl.GetInstances():
        cluster.Done(cl.DeleteInstance(name))
    assert cl.GetInstances() == [] and cl.GetInstances(bulk=True) == []
    assert cluster.Config()["instances"] == {}
    for node in ("node1", "node2"):
        storage = cluster.vc.Root(node) / "srv/ganeti/file-storage"
        assert not storage.is_dir() or not list(storage.rglob("*.disk*"))
        assert cluster.RunsOn("x") == []
    assert not list(cluster.shared.rglob("*.disk*"))
