"""Tests for ganeti.ssconf: the node-local ssconf_* files."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ganeti import config, errors, ssconf

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
_HEADER_RE = re.compile(rb"=== ssconf_(\S+) \((\d+) bytes\)\n")


def ParseSampleListing(path: Path) -> dict[str, bytes]:
    """Parse spec/samples/ssconf.txt: "=== ssconf_<key> (N bytes)" + N bytes."""
    data = path.read_bytes()
    files: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        match = _HEADER_RE.match(data, pos)
        assert match, f"bad listing at offset {pos}"
        size = int(match.group(2))
        start = match.end()
        files[match.group(1).decode()] = data[start:start + size]
        pos = start + size + 1  # blank separator line
    return files


SAMPLE_FILES = ParseSampleListing(DATA_DIR / "ssconf" / "ssconf.txt")


@pytest.fixture
def store(tmp_path: Path) -> ssconf.SimpleStore:
    return ssconf.SimpleStore(str(tmp_path / "data"),
                              _lockfile=str(tmp_path / "lock" / "ssconf.lock"))


@pytest.fixture
def sample_store(store: ssconf.SimpleStore) -> ssconf.SimpleStore:
    os.makedirs(os.path.dirname(store.KeyToFilename("node_list")))
    store.WriteFiles({key: content.decode() for key, content in SAMPLE_FILES.items()})
    return store


def test_valid_keys_cover_the_sample_and_every_hypervisor():
    assert set(SAMPLE_FILES) == ssconf.VALID_KEYS
    assert "hvparams_kvm" in ssconf.VALID_KEYS
    assert "nonsense" not in ssconf.VALID_KEYS


def test_write_files_produce_sample_bytes_and_mode(sample_store):
    for key, content in SAMPLE_FILES.items():
        filename = sample_store.KeyToFilename(key)
        assert Path(filename).read_bytes() == content, key
        assert stat.S_IMODE(os.stat(filename).st_mode) == 0o444
    assert os.path.basename(sample_store.KeyToFilename("master_ip")) == \
        "ssconf_master_ip"


def test_write_appends_newline_only_to_non_empty_values(store, tmp_path):
    os.makedirs(tmp_path / "data")
    store.WriteFiles({"cluster_name": "c.example.com", "cluster_tags": "",
                      "node_list": "a\nb\n"})
    assert Path(store.KeyToFilename("cluster_name")).read_bytes() == b"c.example.com\n"
    assert Path(store.KeyToFilename("cluster_tags")).read_bytes() == b""
    assert Path(store.KeyToFilename("node_list")).read_bytes() == b"a\nb\n"
    # Rewriting a read-only (0444) file works: it is replaced, not edited.
    store.WriteFiles({"cluster_name": "d.example.com"})
    assert store.GetClusterName() == "d.example.com"


def test_getters_parse_sample(sample_store):
    ss = sample_store
    node = "node1.ganeti.test"
    assert ss.GetClusterName() == "cluster.ganeti.test"
    assert ss.GetMasterNode() == node
    assert ss.GetMasterIP() == "198.18.0.100"
    assert ss.GetMasterNetdev() == "lo"
    assert ss.GetMasterNetmask() == 32
    assert ss.GetMasterCandidates() == [node]
    assert ss.GetMasterCandidatesIPList() == ["198.18.0.1"]
    assert ss.GetMasterCandidatesCertMap() == {
        "ff2df26a-d9c3-4726-80d6-308cd718fb5c":
            "8E:4B:A5:77:74:DD:89:E8:C8:46:4B:0F:01:CA:55:ED:16:7A:29:76"}
    assert ss.GetNodeList() == [node]
    assert ss.GetOnlineNodeList() == [node]
    assert ss.GetOfflineNodeList() == []
    assert ss.GetNodePrimaryIPList() == [f"{node} 198.18.0.1"]
    assert ss.GetNodeSecondaryIPList() == [f"{node} 198.18.0.1"]
    assert ss.GetNodePrimaryIPMap() == {node: "198.18.0.1"}
    assert ss.GetNodeVmCapable() == {node: True}
    assert ss.GetSshPortMap() == {node: 22}
    assert ss.GetClusterTags() == []
    assert ss.GetHypervisorList() == ["fake"]
    assert ss.GetMaintainNodeHealth() is False
    assert ss.GetEnabledUserShutdown() is False
    assert ss.GetUidPool() == []
    assert ss.GetPrimaryIPFamily() == 2
    assert ss.GetNodegroupList() == ["1743f6e6-4ffe-44a4-84b8-42f92c899889 default"]
    assert ss.GetNetworkList() == []
    assert ss.GetInstanceList() == ["sample-a.ganeti.test", "sample-b.ganeti.test",
                                    "sample-c.ganeti.test", "sample-r.ganeti.test"]
    assert ss.GetReleaseVersion() == "3.0.2"
    assert ss.GetFileStorageDir() == "/srv/ganeti/file-storage"
    assert ss.GetSharedFileStorageDir() == "/srv/ganeti/shared-file-storage"
    assert ss.GetGlusterStorageDir() == "/var/run/ganeti/gluster"


def test_hvparams(sample_store):
    kvm = sample_store.GetHvparamsForHypervisor("kvm")
    assert kvm["spice_tls_ciphers"] == "HIGH:-DES:-3DES:-EXPORT:-DH"
    assert kvm["acpi"] == "True"
    lxc = sample_store.GetHvparamsForHypervisor("lxc")
    assert lxc["devices"].startswith("c 1:3 rw,c 1:5 rw")
    all_hv = sample_store.GetHvparams()
    assert set(all_hv) == {"kvm", "xen-pvm", "xen-hvm", "fake", "chroot", "lxc"}
    assert all_hv["fake"] == {"migration_mode": "live"}
    with pytest.raises(errors.ConfigurationError, match="nohv"):
        sample_store.GetHvparamsForHypervisor("nohv")


def test_uid_pool_ranges(store, tmp_path):
    os.makedirs(tmp_path / "data")
    store.WriteFiles({"uid_pool": "1000-1009\n2000"})
    assert store.GetUidPool() == [(1000, 1009), (2000, 2000)]


def test_missing_file_and_unknown_key(store):
    with pytest.raises(errors.ConfigurationError, match="ssconf_cluster_name"):
        store.GetClusterName()
    with pytest.raises(errors.ConfigurationError, match="bogus"):
        store.ReadSsconfFile("bogus")
    with pytest.raises(errors.ProgrammerError):
        store.KeyToFilename("bogus")


def test_oversized_file_is_refused(store, tmp_path):
    os.makedirs(tmp_path / "data")
    Path(store.KeyToFilename("node_list")).write_text("n\n" * 70000)
    with pytest.raises(errors.ConfigurationError, match="larger"):
        store.GetNodeList()
    with pytest.raises(errors.ConfigurationError, match="larger"):
        store.WriteFiles({"node_list": "x" * (200 * 1024)})


def test_malformed_values(store, tmp_path):
    os.makedirs(tmp_path / "data")
    store.WriteFiles({"master_netmask": "abc", "maintain_node_health": "maybe",
                      "ssh_ports": "node1 22"})
    with pytest.raises(errors.ConfigurationError, match="master_netmask"):
        store.GetMasterNetmask()
    with pytest.raises(errors.ConfigurationError, match="maybe"):
        store.GetMaintainNodeHealth()
    with pytest.raises(errors.ConfigurationError, match="ssh_ports"):
        store.GetSshPortMap()


def test_write_refuses_bad_input_before_writing(store, tmp_path):
    os.makedirs(tmp_path / "data")
    with pytest.raises(errors.ProgrammerError, match="bogus"):
        store.WriteFiles({"cluster_name": "c", "bogus": "x"})
    with pytest.raises(errors.ProgrammerError, match="str"):
        store.WriteFiles({"cluster_name": "c", "node_list": ["a", "b"]})
    assert os.listdir(tmp_path / "data") == []


def test_dry_run_writes_nothing(store, tmp_path):
    os.makedirs(tmp_path / "data")
    store.WriteFiles({"cluster_name": "c"}, dry_run=True)
    assert os.listdir(tmp_path / "data") == []
    assert not (tmp_path / "lock").exists()


def test_write_waits_for_lock_holder(store, tmp_path, monkeypatch):
    os.makedirs(tmp_path / "data")
    lock_file = tmp_path / "lock" / "ssconf.lock"
    lock_file.parent.mkdir()
    lock_file.touch()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time\n"
         f"f = open({str(lock_file)!r})\n"
         "fcntl.flock(f, fcntl.LOCK_EX)\n"
         "print('locked', flush=True)\n"
         "time.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        monkeypatch.setattr(ssconf, "SSCONF_LOCK_TIMEOUT", 0.2)
        with pytest.raises(errors.LockError):
            store.WriteFiles({"cluster_name": "c"})
        assert os.listdir(tmp_path / "data") == []
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    store.WriteFiles({"cluster_name": "c"})
    assert store.GetClusterName() == "c"


def test_file_list(store):
    files = store.GetFileList()
    assert len(files) == len(ssconf.VALID_KEYS)
    assert store.KeyToFilename("master_node") in files


def test_get_master_and_myself_and_check_master(sample_store, monkeypatch, capsys):
    monkeypatch.setattr(ssconf, "_GetOwnHostname", lambda: "node1.ganeti.test")
    assert ssconf.GetMasterAndMyself(sample_store) == ("node1.ganeti.test",
                                                       "node1.ganeti.test")
    ssconf.CheckMaster(False, ss=sample_store)  # returns: we are the master
    monkeypatch.setattr(ssconf, "_GetOwnHostname", lambda: "node2.ganeti.test")
    with pytest.raises(SystemExit) as exc:
        ssconf.CheckMaster(True, ss=sample_store)
    assert exc.value.code == ssconf.EXIT_NOTMASTER
    assert "node1.ganeti.test" in capsys.readouterr().err


def test_check_master_without_ssconf(store, capsys):
    with pytest.raises(SystemExit) as exc:
        ssconf.CheckMaster(False, ss=store)
    assert exc.value.code == ssconf.EXIT_NODESETUP_ERROR
    assert "incomplete" in capsys.readouterr().err


def test_config_writer_values_match_sample_bytes(store, tmp_path):
    """GetSsconfValues of the sample config gives the sample's exact files."""
    cfg = config.ConfigWriter(str(DATA_DIR / "config.data.json"), offline=True)
    values = cfg.GetSsconfValues()
    assert set(values) == ssconf.VALID_KEYS
    os.makedirs(tmp_path / "data")
    store.WriteFiles(values)
    for key, content in SAMPLE_FILES.items():
        assert Path(store.KeyToFilename(key)).read_bytes() == content, key
